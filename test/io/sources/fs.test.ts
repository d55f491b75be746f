import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveRawFiles } from '../../../src/io/sources/fs';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recsys-raw-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function touch(...parts: string[]): string {
  const p = path.join(dir, ...parts);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, '');
  return p;
}

describe('resolveRawFiles', () => {
  it('finds the per-day file', () => {
    const p = touch('demo', 'home', 'exposure.2026-01-01.jsonl');
    expect(resolveRawFiles(dir, 'demo', 'home', '2026-01-01')).toEqual({ kind: 'day', path: p });
  });

  it('accepts the .jsonl.gz twin and prefers .jsonl when both exist', () => {
    const gz = touch('demo', 'home', 'exposure.2026-01-02.jsonl.gz');
    expect(resolveRawFiles(dir, 'demo', 'home', '2026-01-02')).toEqual({ kind: 'day', path: gz });
    const plain = touch('demo', 'home', 'exposure.2026-01-02.jsonl');
    expect(resolveRawFiles(dir, 'demo', 'home', '2026-01-02')).toEqual({ kind: 'day', path: plain });
  });

  it('reports a missing day as none, with the expected path', () => {
    touch('demo', 'home', 'exposure.2026-01-01.jsonl');
    expect(resolveRawFiles(dir, 'demo', 'home', '2026-01-03')).toEqual({
      kind: 'none',
      expected: path.join(dir, 'demo', 'home', 'exposure.2026-01-03.jsonl'),
    });
    // other tenant/surface folders are not used
    expect(resolveRawFiles(dir, 'demo', 'search', '2026-01-01').kind).toBe('none');
    expect(resolveRawFiles(dir, 'other', 'home', '2026-01-01').kind).toBe('none');
  });

  it('uses <dir>/exposure.jsonl for every day when it exists', () => {
    touch('demo', 'home', 'exposure.2026-01-01.jsonl');
    const flat = touch('exposure.jsonl');
    for (const day of ['2026-01-01', '2030-06-15']) {
      expect(resolveRawFiles(dir, 'demo', 'home', day)).toEqual({ kind: 'flat', path: flat });
    }
  });

  it('a folder where a raw file should be fails with E_IO naming it (the Go tool fails too), never "no events"', () => {
    for (const parts of [['demo', 'home', 'exposure.2026-01-01.jsonl'], ['demo', 'home', 'exposure.2026-01-02.jsonl.gz'], ['exposure.jsonl']]) {
      const sub = fs.mkdtempSync(path.join(dir, 'case-'));
      const at = path.join(sub, ...parts);
      fs.mkdirSync(at, { recursive: true });
      const day = parts[2]?.slice('exposure.'.length, 'exposure.'.length + 10) ?? '2026-01-01';
      expect(() => resolveRawFiles(sub, 'demo', 'home', day)).toThrow(
        expect.objectContaining({ code: 'E_IO', exitCode: 1, message: `read raw file ${at}: a folder, not a file` }),
      );
    }
  });

  it('a symbolic link to nothing, a pipe, or a path through a file fails with E_IO naming it', () => {
    const link = path.join(dir, 'demo', 'home', 'exposure.2026-01-01.jsonl');
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(path.join(dir, 'gone.jsonl'), link);
    expect(() => resolveRawFiles(dir, 'demo', 'home', '2026-01-01')).toThrow(
      expect.objectContaining({ code: 'E_IO', message: `read raw file ${link}: a symbolic link to nothing` }),
    );
    const fifo = path.join(dir, 'demo', 'home', 'exposure.2026-01-02.jsonl');
    execFileSync('mkfifo', [fifo]);
    expect(() => resolveRawFiles(dir, 'demo', 'home', '2026-01-02')).toThrow(
      expect.objectContaining({ code: 'E_IO', message: `read raw file ${fifo}: not a regular file` }),
    );
    touch('other'); // a file where the tenant's folder should be
    expect(() => resolveRawFiles(dir, 'other', 'home', '2026-01-01')).toThrow(
      expect.objectContaining({
        code: 'E_IO',
        message: expect.stringContaining(`read raw file ${path.join(dir, 'other', 'home', 'exposure.2026-01-01.jsonl')}: ENOTDIR`),
      }),
    );
    // A link to a real file is that file.
    const target = touch('real.jsonl');
    const good = path.join(dir, 'demo', 'home', 'exposure.2026-01-03.jsonl');
    fs.symlinkSync(target, good);
    expect(resolveRawFiles(dir, 'demo', 'home', '2026-01-03')).toEqual({ kind: 'day', path: good });
  });

  it('fails with E_IO naming the dir when it does not exist or is a file', () => {
    const missing = path.join(dir, 'nope');
    expect(() => resolveRawFiles(missing, 'demo', 'home', '2026-01-01')).toThrow(
      expect.objectContaining({ code: 'E_IO', message: expect.stringContaining(missing) }),
    );
    const file = touch('afile');
    expect(() => resolveRawFiles(file, 'demo', 'home', '2026-01-01')).toThrow(
      expect.objectContaining({ code: 'E_IO', message: expect.stringContaining(file) }),
    );
  });

  it('refuses days and names that would leave the layout', () => {
    expect(() => resolveRawFiles(dir, 'demo', 'home', '2026-02-30')).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    expect(() => resolveRawFiles(dir, '../x', 'home', '2026-01-01')).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    expect(() => resolveRawFiles(dir, 'demo', '..', '2026-01-01')).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
  });

  it('resolves the shared example layout', () => {
    const ex = '/work/shared/examples/small/raw';
    expect(resolveRawFiles(ex, 'demo', 'home', '2026-01-01')).toEqual({
      kind: 'day',
      path: path.join(ex, 'demo', 'home', 'exposure.2026-01-01.jsonl'),
    });
    expect(resolveRawFiles(ex, 'demo', 'home', '2026-01-05').kind).toBe('none');
  });
});
