/**
 * Streaming reader of raw input (files or S3 objects, plain or gzip) in blocks of whole lines; splitting
 * blocks into lines, BOM/CRLF handling and UTF-8 checks are the parser's job
 * (src/io/exposure-scan.ts).
 *
 * Allocation / copy behaviour: the file is read as 1 MiB chunks (fs, or gunzip output);
 * the chunks of one block are copied once into the block's own exact-size buffer; the
 * whole file is never held at once, only the blocks in flight.
 */
import * as fs from 'fs';
import * as zlib from 'zlib';
import { pipeline, type Readable } from 'stream';
import { ioError, isPipelineError } from '../errors';
import { sharedBytes } from '../shared-memory';

const LF = 0x0a;

/**
 * Streams `path` (gunzipped when it ends in `.gz`) as blocks of whole lines: each block
 * ends just after a `\n` (the last one may end without it) and is at least `blockBytes`
 * long unless the file ends first; a line longer than `blockBytes` makes a longer block.
 *
 * Each block is an exact-size copy over a SharedArrayBuffer of its own, so a worker
 * parses it where it is (src/shared-memory.ts). Read and gunzip failures
 * (missing file, truncated or corrupt gzip) throw an E_IO PipelineError naming the file.
 */
export async function* readLineBlocks(path: string, blockBytes: number): AsyncGenerator<Buffer> {
  yield* lineBlocks(fs.createReadStream(path, { highWaterMark: 1 << 20 }), path, blockBytes);
}

/**
 * `readLineBlocks` over any byte stream (a file, an S3 object's body): gunzipped when
 * `name` ends in `.gz`; failures are E_IO errors naming `name`. The stream is destroyed
 * when the iteration ends, early or not.
 */
export async function* lineBlocks(raw: Readable, name: string, blockBytes: number): AsyncGenerator<Buffer> {
  let source: Readable = raw;
  let gunzip: zlib.Gunzip | null = null;
  if (name.endsWith('.gz')) {
    gunzip = zlib.createGunzip({ chunkSize: 1 << 20 });
    // pipeline forwards a read error of the source to gunzip (destroying it with the error),
    // so the iteration below sees every failure. The callback only keeps the error handled.
    source = pipeline(raw, gunzip, () => {});
  }
  let pending: Buffer[] = [];
  let pendingLen = 0;
  const take = (upTo: number): Buffer => {
    // Copies the first `upTo` pending bytes into a block of its own.
    const block = sharedBytes(upTo);
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
    throw isPipelineError(err) ? err : ioError('read', name, err);
  } finally {
    gunzip?.destroy();
    raw.destroy();
  }
  if (pendingLen > 0) yield take(pendingLen);
}
