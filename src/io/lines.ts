/**
 * Streaming line reader for raw input files (plain or gzip).
 *
 * Allocation / copy behaviour:
 * - the file is read as Buffer chunks (64 KiB from fs, ~16 KiB out of gunzip); the whole
 *   file is never held as one Buffer or string;
 * - a line that lies inside one chunk is a `subarray` view of that chunk (no copy);
 * - a line that spans chunks keeps views of the pieces and is joined with one
 *   `Buffer.concat` when its `\n` arrives (one copy of that line only, linear in its
 *   length however many chunks it spans); the pending pieces keep their chunks alive
 *   until then;
 * - each line is decoded into a new JS string by a fatal TextDecoder (the only per-line
 *   allocation besides the small result object); invalid UTF-8 is reported, never replaced.
 */
import * as fs from 'fs';
import * as zlib from 'zlib';
import { pipeline, type Readable } from 'stream';
import { ioError, isPipelineError } from '../errors';

export type RawLine = { lineNo: number; text: string } | { lineNo: number; invalidUtf8: true };

const LF = 0x0a;
const CR = 0x0d;

/**
 * Yields the physical lines of `path` (1-based line numbers), without the `\n`, one
 * trailing `\r` removed, a UTF-8 BOM removed from line 1. A last line without a trailing
 * newline is yielded; a final `\n` does not produce an extra empty line. Blank lines are
 * yielded too (the caller decides). Read and gunzip failures (missing file, truncated or
 * corrupt gzip) throw an E_IO PipelineError naming the file.
 */
export async function* readLines(path: string): AsyncGenerator<RawLine> {
  // ignoreBOM: keep U+FEFF in the output; we strip the BOM of line 1 ourselves (a fresh
  // decode() call per line would otherwise strip it from every line).
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const file = fs.createReadStream(path);
  let source: Readable = file;
  let gunzip: zlib.Gunzip | null = null;
  if (path.endsWith('.gz')) {
    gunzip = zlib.createGunzip();
    // pipeline forwards a read error of the file to gunzip (destroying it with the error),
    // so the iteration below sees every failure. The callback only keeps the error handled.
    source = pipeline(file, gunzip, () => {});
  }

  const decode = (buf: Buffer, lineNo: number): RawLine => {
    let end = buf.length;
    if (end > 0 && buf[end - 1] === CR) end--;
    let start = 0;
    if (lineNo === 1 && end >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) start = 3;
    try {
      return { lineNo, text: decoder.decode(start === 0 && end === buf.length ? buf : buf.subarray(start, end)) };
    } catch {
      return { lineNo, invalidUtf8: true };
    }
  };

  let pending: Buffer[] = []; // pieces of a line that spans chunks
  let pendingLen = 0;
  let lineNo = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      let start = 0;
      let nl = chunk.indexOf(LF);
      while (nl !== -1) {
        let line: Buffer;
        if (pendingLen > 0) {
          pending.push(chunk.subarray(start, nl));
          line = Buffer.concat(pending, pendingLen + nl - start);
          pending = [];
          pendingLen = 0;
        } else {
          line = chunk.subarray(start, nl);
        }
        yield decode(line, ++lineNo);
        start = nl + 1;
        nl = chunk.indexOf(LF, start);
      }
      if (start < chunk.length) {
        pending.push(start === 0 ? chunk : chunk.subarray(start));
        pendingLen += chunk.length - start;
      }
    }
  } catch (err) {
    throw isPipelineError(err) ? err : ioError('read', path, err);
  } finally {
    // Early exit by the consumer (break/return) or an error: release the file descriptor.
    gunzip?.destroy();
    file.destroy();
  }
  if (pendingLen > 0) yield decode(Buffer.concat(pending, pendingLen), ++lineNo);
}
