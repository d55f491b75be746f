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
 * Streams `path` (gunzipped when it ends in `.gz`) as blocks of whole lines: each block
 * ends just after a `\n` (the last one may end without it) and is at least `blockBytes`
 * long unless the file ends first; a line longer than `blockBytes` makes a longer block.
 *
 * Each block is an exact-size copy with an ArrayBuffer of its own, so it can be
 * transferred to a worker without detaching anything else. Read and gunzip failures
 * (missing file, truncated or corrupt gzip) throw an E_IO PipelineError naming the file.
 */
export async function* readLineBlocks(path: string, blockBytes: number): AsyncGenerator<Buffer> {
  const file = fs.createReadStream(path, { highWaterMark: 1 << 20 });
  let source: Readable = file;
  let gunzip: zlib.Gunzip | null = null;
  if (path.endsWith('.gz')) {
    gunzip = zlib.createGunzip({ chunkSize: 1 << 20 });
    // pipeline forwards a read error of the file to gunzip (destroying it with the error),
    // so the iteration below sees every failure. The callback only keeps the error handled.
    source = pipeline(file, gunzip, () => {});
  }
  let pending: Buffer[] = [];
  let pendingLen = 0;
  const take = (upTo: number): Buffer => {
    // Copies the first `upTo` pending bytes into a block of its own.
    const block = Buffer.allocUnsafeSlow(upTo);
    let at = 0;
    const rest: Buffer[] = [];
    for (const piece of pending) {
      const n = Math.min(piece.length, upTo - at);
      piece.copy(block, at, 0, n);
      at += n;
      if (n < piece.length) rest.push(piece.subarray(n));
    }
    pending = rest;
    pendingLen -= upTo;
    return block;
  };
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      pending.push(chunk);
      pendingLen += chunk.length;
      if (pendingLen < blockBytes) continue;
      const nl = chunk.lastIndexOf(LF);
      if (nl === -1) continue; // the line goes on: keep reading
      yield take(pendingLen - (chunk.length - nl - 1));
    }
  } catch (err) {
    throw isPipelineError(err) ? err : ioError('read', path, err);
  } finally {
    gunzip?.destroy();
    file.destroy();
  }
  if (pendingLen > 0) yield take(pendingLen);
}

/**
 * Yields the physical lines of `path` (1-based line numbers), without the `\n`, one
 * trailing `\r` removed, a UTF-8 BOM removed from line 1. A last line without a trailing
 * newline is yielded; a final `\n` does not produce an extra empty line. Blank lines are
 * yielded too (the caller decides). Errors as readLineBlocks.
 */
export async function* readLines(path: string): AsyncGenerator<RawLine> {
  // ignoreBOM: keep U+FEFF in the output; we strip the BOM of line 1 ourselves.
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let lineNo = 0;
  for await (const block of readLineBlocks(path, 1 << 16)) {
    let start = 0;
    while (start < block.length) {
      let nl = block.indexOf(LF, start);
      if (nl === -1) nl = block.length;
      let end = nl;
      if (end > start && block[end - 1] === CR) end--;
      let from = start;
      if (++lineNo === 1 && end - from >= 3 && block[0] === 0xef && block[1] === 0xbb && block[2] === 0xbf) from = 3;
      try {
        yield { lineNo, text: decoder.decode(block.subarray(from, end)) };
      } catch {
        yield { lineNo, invalidUtf8: true };
      }
      start = nl + 1;
    }
  }
}
