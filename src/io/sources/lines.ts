/**
 * Streaming reader of raw input (files or S3 objects, plain or gzip) in blocks of whole lines; splitting
 * blocks into lines, BOM/CRLF handling and UTF-8 checks are the parser's job
 * (src/io/parse/scanner.ts).
 *
 * Allocation / copy behaviour: a plain file is read straight into each block's own
 * SharedArrayBuffer (the main thread copies nothing but the partial line carried over to
 * the next block); a stream (gunzip output, an S3 object) comes as chunks, copied once into
 * the block. The whole input is never held at once, only the blocks in flight; with
 * BlockBuffers, a plain file's blocks reuse the buffers of blocks already parsed.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { pipeline, type Readable } from 'node:stream';
import { badInput, ioError, isPipelineError, type PipelineError } from '../../errors';
import { sharedBytes } from '../../engine/threads/shared-memory';

const LF = 0x0a;

/**
 * Recycled block buffers (shared, `size` bytes each). A block's buffer is given back once
 * nothing reads it any more (its parse task settled) and the next block is read into it:
 * memory for raw blocks stays bounded by the blocks in flight, instead of waiting for
 * every thread that saw a block to collect it (hundreds of MB on a 5M-event day).
 */
export class BlockBuffers {
  private readonly free: Buffer[] = [];
  private readonly mine = new WeakSet<ArrayBufferLike>();

  constructor(readonly size: number) {}

  take(): Buffer {
    const buf = this.free.pop() ?? sharedBytes(this.size);
    this.mine.add(buf.buffer);
    return buf;
  }

  /** Gives back the buffer under `block` when take() made it; any other block is left to the GC. */
  give(block: Uint8Array): void {
    if (this.mine.has(block.buffer)) this.free.push(Buffer.from(block.buffer));
  }
}

/**
 * Reads `path` (gunzipped when it ends in `.gz`) as blocks of whole lines: each block
 * ends just after a `\n` (the last one may end without it) and holds about `blockBytes`
 * (at least one whole line: a longer line makes a longer block).
 *
 * Each block is a view of a SharedArrayBuffer of its own, so a worker parses it where it
 * is (src/engine/threads/shared-memory.ts); with `buffers`, a buffer given back is reused for a later block. A read failure (missing
 * file, permissions, a dropped connection) throws an E_IO PipelineError naming the file; a
 * truncated or corrupt gzip stream is bad input (E_BAD_INPUT: the same bytes fail again, a
 * retry cannot help).
 */
export async function* readLineBlocks(path: string, blockBytes: number, buffers?: BlockBuffers): AsyncGenerator<Buffer> {
  if (path.endsWith('.gz')) yield* lineBlocks(fs.createReadStream(path, { highWaterMark: 1 << 20 }), path, blockBytes);
  else yield* fileLineBlocks(path, blockBytes, buffers);
}

/**
 * A plain file's blocks, each read by the kernel straight into its buffer (see
 * readLineBlocks); from `buffers` when given (their size must be blockBytes).
 */
async function* fileLineBlocks(path: string, blockBytes: number, buffers?: BlockBuffers): AsyncGenerator<Buffer> {
  const fail = (err: unknown) => ioError('read', path, err);
  const newBuffer = (atLeast: number) => (buffers && atLeast <= buffers.size ? buffers.take() : sharedBytes(Math.max(blockBytes, atLeast)));
  const file = await fs.promises.open(path, 'r').catch((err) => Promise.reject(fail(err)));
  try {
    let buf = newBuffer(blockBytes);
    let used = 0; // bytes of buf read and not yet yielded
    for (;;) {
      if (used === buf.length) {
        // No newline in a whole buffer: one line longer than a block. Grow until it ends.
        const bigger = sharedBytes(buf.length * 2);
        buf.copy(bigger, 0, 0, used);
        buf = bigger;
      }
      const { bytesRead } = await file.read(buf, used, buf.length - used, null).catch((err) => Promise.reject(fail(err)));
      if (bytesRead === 0) break;
      used += bytesRead;
      if (used < buf.length) continue; // a short read: fill the block first
      const nl = buf.lastIndexOf(LF, used - 1);
      if (nl === -1) continue;
      // The partial line after the last newline starts the next block.
      const tail = used - nl - 1;
      const next = newBuffer(2 * tail);
      buf.copy(next, 0, nl + 1, used);
      yield buf.subarray(0, nl + 1);
      buf = next;
      used = tail;
    }
    if (used > 0) yield buf.subarray(0, used);
  } finally {
    await file.close();
  }
}

/**
 * `readLineBlocks` over any byte stream (a gzip file, an S3 object's body): gunzipped
 * when `name` ends in `.gz`; each block is an exact-size copy of at least `blockBytes`
 * (unless the stream ends first) over a SharedArrayBuffer of its own; failures are E_IO
 * errors naming `name` (E_BAD_INPUT for a truncated or corrupt gzip stream). The stream is destroyed when the iteration ends, early or not.
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
    throw isPipelineError(err) ? err : (gzipStreamError(name, err) ?? ioError('read', name, err));
  } finally {
    gunzip?.destroy();
    raw.destroy();
  }
  if (pendingLen > 0) yield take(pendingLen);
}

/**
 * A gunzip failure of the stream's own bytes (zlib's Z_BUF_ERROR: it ended mid-stream;
 * Z_DATA_ERROR: not gzip, or corrupt) as bad input naming the file; null for anything else.
 * A read error of the source (ECONNRESET, EIO) reaches gunzip as itself and stays E_IO.
 */
function gzipStreamError(name: string, err: unknown): PipelineError | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'Z_BUF_ERROR') return badInput(name, 'truncated gzip: the stream ends before its end marker (re-export or re-copy the file)');
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return badInput(name, `not a valid gzip stream (${(err as Error).message}): the file is corrupt or not gzip`);
  }
  return null;
}
