import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPipelineError } from '../../../src/errors';
import { BlockBuffers, readLineBlocks } from '../../../src/io/sources/lines';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recsys-lines-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, data: Buffer | string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, data);
  return p;
}

/** The blocks of a file; checks the block invariants on the way. */
async function blocksOf(p: string, blockBytes = 64 * 1024): Promise<Buffer[]> {
  const blocks: Buffer[] = [];
  for await (const b of readLineBlocks(p, blockBytes)) blocks.push(b);
  blocks.forEach((b, i) => {
    // Each block is a view of a SharedArrayBuffer of its own (a worker parses it in place).
    expect(b.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(b.byteOffset).toBe(0);
    expect(b.buffer.byteLength).toBeLessThanOrEqual(Math.max(2 * blockBytes, 2 * b.length));
    // Whole lines: every block but the last ends with a newline.
    if (i < blocks.length - 1) expect(b[b.length - 1]).toBe(0x0a);
  });
  expect(new Set(blocks.map((b) => b.buffer)).size).toBe(blocks.length);
  return blocks;
}

const collect = async (p: string, blockBytes?: number) => Buffer.concat(await blocksOf(p, blockBytes)).toString('utf8');

describe('readLineBlocks', () => {
  it('returns the file, cut only at line ends; a last line without newline is kept', async () => {
    const text = 'a\r\nb\n\nc';
    expect(await collect(write('small.jsonl', text))).toBe(text);
    expect(await blocksOf(write('empty.jsonl', ''))).toEqual([]);
  });

  it('never splits a line (or a multi-byte character) across blocks, however long the line', async () => {
    const expected: string[] = [];
    let size = 0;
    for (let i = 0; size < 3 * 1024 * 1024; i++) {
      // lengths vary from 0 to ~9000 bytes, with 2-, 3- and 4-byte characters everywhere
      const s = `${i}:` + 'aé€𝄞'.repeat((i * 7919) % 1500);
      expected.push(s);
      size += Buffer.byteLength(s) + 1;
    }
    expected.push('one line bigger than a chunk ' + 'x€'.repeat(100_000));
    const p = write('big.jsonl', expected.join('\n'));
    expect(fs.statSync(p).size).toBeGreaterThan(4 * 64 * 1024);
    const blocks = await blocksOf(p);
    expect(blocks.length).toBeGreaterThan(10); // blocks of about 64 KiB, each cut at its last newline
    expect(Buffer.concat(blocks).toString('utf8').split('\n')).toEqual(expected);

    // and through gunzip (different chunk sizes)
    const gz = write('big.jsonl.gz', zlib.gzipSync(fs.readFileSync(p)));
    expect((await collect(gz)).split('\n')).toEqual(expected);
  });

  it('reads .gz files', async () => {
    const text = '\ufeffa\r\nb\n\nc';
    expect(await collect(write('day.jsonl.gz', zlib.gzipSync(Buffer.from(text))))).toBe(text);
  });

  it('a truncated gzip is bad input (E_BAD_INPUT, exit 3: a retry reads the same bytes), naming the file', async () => {
    const full = zlib.gzipSync(Buffer.from('line one\nline two\n'.repeat(1000)));
    const p = write('trunc.jsonl.gz', full.subarray(0, Math.floor(full.length / 2)));
    const err = await collect(p).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isPipelineError(err)).toBe(true);
    expect(err).toMatchObject({ code: 'E_BAD_INPUT', exitCode: 3 });
    expect((err as Error).message).toBe(`bad input: ${p}: truncated gzip: the stream ends before its end marker (re-export or re-copy the file)`);
  });

  it('a corrupt gzip or a plain file named .gz is bad input; a missing file is E_IO', async () => {
    const full = zlib.gzipSync(Buffer.from('abc\n'.repeat(100)));
    const corrupt = Buffer.from(full);
    corrupt.writeUInt8(corrupt.readUInt8(corrupt.length - 6) ^ 0xff, corrupt.length - 6); // CRC mismatch
    const p = write('corrupt.jsonl.gz', corrupt);
    await expect(collect(p)).rejects.toMatchObject({ code: 'E_BAD_INPUT', exitCode: 3, message: expect.stringContaining(p) });
    const notGz = write('notgz.jsonl.gz', 'plain text\n');
    await expect(collect(notGz)).rejects.toMatchObject({ code: 'E_BAD_INPUT', message: expect.stringContaining(`${notGz}: not a valid gzip stream`) });
    const missing = path.join(dir, 'missing.jsonl');
    await expect(collect(missing)).rejects.toMatchObject({ code: 'E_IO', message: expect.stringContaining(missing) });
    await expect(collect(missing + '.gz')).rejects.toMatchObject({ code: 'E_IO' });
  });

  it('can stop early without reading the rest', async () => {
    const p = write('early.jsonl', 'line\n'.repeat(1_000_000));
    let seen = 0;
    for await (const b of readLineBlocks(p, 1024)) {
      seen += b.length;
      break;
    }
    expect(seen).toBeLessThan(fs.statSync(p).size);
  });

  it('with BlockBuffers, reuses the buffers given back and still returns the file exactly (long lines included)', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => (i % 700 === 5 ? 'x'.repeat(5000) : `{"n":${i},"s":"é${'y'.repeat(i % 90)}"}`));
    const p = write('recycled.jsonl', lines.join('\n') + '\n');
    const buffers = new BlockBuffers(1024);
    const seen = new Set<ArrayBufferLike>();
    let text = '';
    for await (const b of readLineBlocks(p, 1024, buffers)) {
      expect(b[b.length - 1]).toBe(0x0a);
      text += b.toString('utf8');
      seen.add(b.buffer);
      buffers.give(b); // parsed at once: the next block may be read into it
    }
    expect(text).toBe(fs.readFileSync(p, 'utf8'));
    // Hundreds of blocks: the 1 KiB ones share a handful of buffers; each long line grew one of its own.
    expect(text.length / 1024).toBeGreaterThan(200);
    expect(seen.size).toBeLessThan(12);
  });
});
