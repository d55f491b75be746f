import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPipelineError } from '../../src/errors';
import { readLines, type RawLine } from '../../src/io/lines';

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

async function collect(p: string): Promise<RawLine[]> {
  const out: RawLine[] = [];
  for await (const l of readLines(p)) out.push(l);
  return out;
}

const texts = (lines: RawLine[]) => lines.map((l) => ('text' in l ? l.text : '<invalid>'));

describe('readLines', () => {
  it('splits on LF, strips one CR, keeps blank lines with their numbers', async () => {
    const p = write('crlf.jsonl', 'a\r\nb\n\n  \r\nc\r\r\nlast');
    const lines = await collect(p);
    expect(lines).toEqual([
      { lineNo: 1, text: 'a' },
      { lineNo: 2, text: 'b' },
      { lineNo: 3, text: '' },
      { lineNo: 4, text: '  ' },
      { lineNo: 5, text: 'c\r' },
      { lineNo: 6, text: 'last' },
    ]);
  });

  it('does not yield an extra line after a final newline; empty file yields nothing', async () => {
    expect(texts(await collect(write('nl.jsonl', 'x\ny\n')))).toEqual(['x', 'y']);
    expect(await collect(write('empty.jsonl', ''))).toEqual([]);
    expect(await collect(write('one-nl.jsonl', '\n'))).toEqual([{ lineNo: 1, text: '' }]);
  });

  it('strips a UTF-8 BOM on line 1 only', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const p = write('bom.jsonl', Buffer.concat([bom, Buffer.from('{"a":1}\n'), bom, Buffer.from('x\n')]));
    const lines = await collect(p);
    expect(lines[0]).toEqual({ lineNo: 1, text: '{"a":1}' });
    expect(lines[1]).toEqual({ lineNo: 2, text: '\ufeffx' });
  });

  it('reports invalid UTF-8 per line instead of replacing it', async () => {
    const p = write(
      'bad.jsonl',
      Buffer.concat([
        Buffer.from('ok é\n'),
        Buffer.from([0x61, 0xff, 0x62, 0x0a]), // invalid byte
        Buffer.from([0xc3, 0x0a]), // truncated 2-byte sequence
        Buffer.from([0xed, 0xa0, 0x80, 0x0a]), // encoded surrogate
        Buffer.from('fine'),
      ]),
    );
    expect(await collect(p)).toEqual([
      { lineNo: 1, text: 'ok é' },
      { lineNo: 2, invalidUtf8: true },
      { lineNo: 3, invalidUtf8: true },
      { lineNo: 4, invalidUtf8: true },
      { lineNo: 5, text: 'fine' },
    ]);
  });

  it('joins lines (and multi-byte characters) split across stream chunks of a large file', async () => {
    const expected: string[] = [];
    let size = 0;
    for (let i = 0; size < 600 * 1024; i++) {
      // lengths vary from 0 to ~9000 bytes, with 2-, 3- and 4-byte characters everywhere
      const s = `${i}:` + 'aé€𝄞'.repeat((i * 7919) % 1500);
      expected.push(s);
      size += Buffer.byteLength(s) + 1;
    }
    expected.push('one line bigger than a chunk ' + 'x€'.repeat(100_000));
    const p = write('big.jsonl', expected.join('\n'));
    expect(fs.statSync(p).size).toBeGreaterThan(4 * 64 * 1024);
    const lines = await collect(p);
    expect(lines.map((l) => l.lineNo)).toEqual(expected.map((_, i) => i + 1));
    expect(texts(lines)).toEqual(expected);

    // and through gunzip (different chunk sizes)
    const gz = write('big.jsonl.gz', zlib.gzipSync(fs.readFileSync(p)));
    expect(texts(await collect(gz))).toEqual(expected);
  });

  it('reads .gz files', async () => {
    const p = write('day.jsonl.gz', zlib.gzipSync(Buffer.from('\ufeffa\r\nb\n\nc')));
    expect(await collect(p)).toEqual([
      { lineNo: 1, text: 'a' },
      { lineNo: 2, text: 'b' },
      { lineNo: 3, text: '' },
      { lineNo: 4, text: 'c' },
    ]);
  });

  it('fails with E_IO on a truncated gzip, naming the file', async () => {
    const full = zlib.gzipSync(Buffer.from('line one\nline two\n'.repeat(1000)));
    const p = write('trunc.jsonl.gz', full.subarray(0, Math.floor(full.length / 2)));
    const err = await collect(p).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isPipelineError(err)).toBe(true);
    expect(err).toMatchObject({ code: 'E_IO', exitCode: 1 });
    expect((err as Error).message).toContain(p);
  });

  it('fails with E_IO on a corrupt gzip and on a missing file', async () => {
    const full = zlib.gzipSync(Buffer.from('abc\n'.repeat(100)));
    const corrupt = Buffer.from(full);
    corrupt[corrupt.length - 6] ^= 0xff; // CRC mismatch
    const p = write('corrupt.jsonl.gz', corrupt);
    await expect(collect(p)).rejects.toMatchObject({ code: 'E_IO' });
    await expect(collect(write('notgz.jsonl.gz', 'plain text\n'))).rejects.toMatchObject({ code: 'E_IO' });
    const missing = path.join(dir, 'missing.jsonl');
    await expect(collect(missing)).rejects.toMatchObject({ code: 'E_IO', message: expect.stringContaining(missing) });
    await expect(collect(missing + '.gz')).rejects.toMatchObject({ code: 'E_IO' });
  });

  it('can stop early without reading the rest', async () => {
    const p = write('early.jsonl', 'a\nb\nc\n');
    const seen: string[] = [];
    for await (const l of readLines(p)) {
      if ('text' in l) seen.push(l.text);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual(['a', 'b']);
  });
});
