import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isTempFile, removeStaleTempFiles, TEMP_LEASE_MS, tempPathFor, writeFileAtomic, writeFileExclusiveAtomic } from '../../src/io/atomic';
import { writerIdentity, writerTag } from '../../src/io/writer-identity';
import { deadPid } from '../support/helpers';

let dir: string;

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'recsys-atomic-'));
});

afterEach(async () => {
  vi.restoreAllMocks();
  await fsp.rm(dir, { recursive: true, force: true });
});

async function tempFilesIn(folder: string): Promise<string[]> {
  return (await fsp.readdir(folder)).filter((n) => n.includes('.tmp-'));
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('writeFileAtomic', () => {
  it('creates missing folders and replaces content, leaving no temp files', async () => {
    const target = path.join(dir, 'a', 'b', 'file.json');
    await writeFileAtomic(target, 'first');
    expect(await fsp.readFile(target, 'utf8')).toBe('first');
    await writeFileAtomic(target, new Uint8Array([0x7b, 0x7d]));
    expect(await fsp.readFile(target, 'utf8')).toBe('{}');
    expect(await fsp.readdir(path.dirname(target))).toEqual(['file.json']);
  });

  it('fails with E_IO when the folder cannot exist (a path under a regular file)', async () => {
    const file = path.join(dir, 'plain');
    await fsp.writeFile(file, 'x');
    expect(await codeOf(writeFileAtomic(path.join(file, 'sub', 'out.json'), 'data'))).toBe('E_IO');
    expect(await fsp.readFile(file, 'utf8')).toBe('x');
  });

  it('fails with E_IO when the target is a folder, keeping it and removing the temp file', async () => {
    const target = path.join(dir, 'is-a-dir');
    await fsp.mkdir(path.join(target, 'child'), { recursive: true });
    expect(await codeOf(writeFileAtomic(target, 'data'))).toBe('E_IO');
    expect((await fsp.stat(target)).isDirectory()).toBe(true);
    expect(await tempFilesIn(dir)).toEqual([]);
  });

  it('keeps the previous file intact and removes the temp file when the rename fails', async () => {
    const target = path.join(dir, 'manifest.json');
    await writeFileAtomic(target, 'previous');
    const rename = vi.spyOn(fsp, 'rename').mockRejectedValueOnce(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
    const err = await writeFileAtomic(target, 'next').catch((e: unknown) => e);
    expect(rename).toHaveBeenCalledTimes(1);
    expect((err as { code?: string }).code).toBe('E_IO');
    expect((err as Error).message).toContain(target);
    expect(await fsp.readFile(target, 'utf8')).toBe('previous');
    expect(await tempFilesIn(dir)).toEqual([]);
  });

  it('keeps the previous file intact when writing the data fails', async () => {
    const target = path.join(dir, 'record.json');
    await writeFileAtomic(target, 'previous');
    // Not a string or byte array: the write into the temp file throws.
    expect(await codeOf(writeFileAtomic(target, 42 as unknown as string))).toBe('E_IO');
    expect(await fsp.readFile(target, 'utf8')).toBe('previous');
    expect(await tempFilesIn(dir)).toEqual([]);
  });
});

describe('writeFileExclusiveAtomic', () => {
  it('creates once and then reports exists without touching the file', async () => {
    const target = path.join(dir, 'blobs', 'v1.json');
    expect(await writeFileExclusiveAtomic(target, 'original')).toBe('created');
    const before = await fsp.stat(target);
    expect(await writeFileExclusiveAtomic(target, 'other bytes')).toBe('exists');
    const after = await fsp.stat(target);
    expect(await fsp.readFile(target, 'utf8')).toBe('original');
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(await fsp.readdir(path.dirname(target))).toEqual(['v1.json']);
  });

  it('fails with E_IO (not exists) when the folder cannot be created', async () => {
    const file = path.join(dir, 'plain');
    await fsp.writeFile(file, 'x');
    expect(await codeOf(writeFileExclusiveAtomic(path.join(file, 'v1.json'), 'data'))).toBe('E_IO');
  });
});

describe('temp files', () => {
  it('recognises temp names', () => {
    expect(isTempFile('.manifest.json.tmp-123-0a1b2c')).toBe(true);
    expect(isTempFile('manifest.json')).toBe(false);
    expect(isTempFile('.manifest.json')).toBe(false);
    expect(isTempFile('manifest.json.tmp-123-abc')).toBe(false);
  });

  it('removes temp files of dead writers only, not recursively', async () => {
    const dead = deadPid();
    const stale = `.a.json.tmp-${dead}-abc123`;
    const live = `.b.json.tmp-${process.pid}-def456`;
    await fsp.writeFile(path.join(dir, stale), 'partial');
    await fsp.writeFile(path.join(dir, live), 'in flight');
    await fsp.writeFile(path.join(dir, 'keep.json'), '{}');
    await fsp.mkdir(path.join(dir, 'sub'));
    await fsp.writeFile(path.join(dir, 'sub', stale), 'nested');

    expect(await removeStaleTempFiles(dir)).toEqual([stale]);
    expect((await fsp.readdir(dir)).sort()).toEqual([live, 'keep.json', 'sub'].sort());
    expect(await fsp.readdir(path.join(dir, 'sub'))).toEqual([stale]);
    expect(await removeStaleTempFiles(path.join(dir, 'missing'))).toEqual([]);
  });

  it('a temp file of another writer (host, boot or pid namespace) is never judged by its pid: kept until its 24 h lease ends', async () => {
    const dead = deadPid();
    const me = writerIdentity();
    const ours = `.a.json.tmp-${dead}-${writerTag()}-abc123`;
    const otherPod = `.b.json.tmp-${dead}-${writerTag({ ...me, pid_ns: 'pid:[1]' })}-def456`;
    const otherHost = `.c.json.tmp-${dead}-${writerTag({ ...me, host: 'pod-b' })}-0a0b0c`;
    const oldOther = `.d.json.tmp-${dead}-${writerTag({ ...me, boot_id: 'other-boot' })}-0d0e0f`;
    for (const n of [ours, otherPod, otherHost, oldOther]) {
      expect(isTempFile(n)).toBe(true);
      await fsp.writeFile(path.join(dir, n), 'partial');
    }
    const day = 24 * 3600 * 1000;
    const old = new Date(Date.now() - day - 60_000);
    await fsp.utimes(path.join(dir, oldOther), old, old);
    expect(TEMP_LEASE_MS).toBe(day);
    expect((await removeStaleTempFiles(dir)).sort()).toEqual([ours, oldOther].sort());
    expect((await fsp.readdir(dir)).sort()).toEqual([otherPod, otherHost].sort());
    // Our own writes carry our tag.
    expect(path.basename(tempPathFor(path.join(dir, 'x.json')))).toMatch(new RegExp(`^\\.x\\.json\\.tmp-${process.pid}-${writerTag()}-[0-9a-f]{12}$`));
  });
});
