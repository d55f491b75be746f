import { promises as fsp, readFileSync, readlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FsRegistry } from '../../../../src/io/store/fs/registry';
import type { RegistryRecord } from '../../../../src/io/store/registry';
import { deadPid } from '../../../support/helpers';

let dir: string;
let registry: FsRegistry;

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'recsys-registry-'));
  registry = new FsRegistry(dir);
});

afterEach(async () => {
  vi.restoreAllMocks();
  await fsp.rm(dir, { recursive: true, force: true });
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function record(type: string, version: string, publishedAt: string, segment?: string): RegistryRecord {
  // Deliberately out of file order: writeRecord must reorder.
  return {
    sha256: 'f'.repeat(64),
    size_bytes: 120,
    published_at: publishedAt,
    built_at: '2026-01-02T00:00:00Z',
    window: { end: '2026-01-02T00:00:00Z', start: '2026-01-01T00:00:00Z' },
    uri: `file:///store/demo/home/${type}/${version}.json`,
    version,
    artifact_type: type,
    segment,
    surface: 'home',
    tenant: 'demo',
    v: 1,
  };
}

describe('registry records', () => {
  it('writes a record at records/<tenant>/<surface>/<type>/<version>.json with fields in file order', async () => {
    expect(await registry.writeRecord(record('popularity', 'abc', '2026-01-02T00:00:05Z'))).toBe('created');
    const file = path.join(dir, 'records', 'demo', 'home', 'popularity', 'abc.json');
    expect(registry.recordPath('demo', 'home', 'popularity', 'abc')).toBe(file);
    expect(await fsp.readFile(file, 'utf8')).toBe(
      `{
  "v": 1,
  "tenant": "demo",
  "surface": "home",
  "artifact_type": "popularity",
  "version": "abc",
  "uri": "file:///store/demo/home/popularity/abc.json",
  "window": {
    "start": "2026-01-01T00:00:00Z",
    "end": "2026-01-02T00:00:00Z"
  },
  "built_at": "2026-01-02T00:00:00Z",
  "published_at": "2026-01-02T00:00:05Z",
  "size_bytes": 120,
  "sha256": "${'f'.repeat(64)}"
}`,
    );
  });

  it('keeps the segment after surface when set', async () => {
    await registry.writeRecord(record('cooc', 'v1', '2026-01-02T00:00:05Z', 'eu'));
    const text = await fsp.readFile(registry.recordPath('demo', 'home', 'cooc', 'v1'), 'utf8');
    expect(text).toContain('"surface": "home",\n  "segment": "eu",\n  "artifact_type": "cooc"');
  });

  it('is append-only: a second write of the same version is not applied', async () => {
    await registry.writeRecord(record('popularity', 'abc', '2026-01-02T00:00:05Z'));
    const file = registry.recordPath('demo', 'home', 'popularity', 'abc');
    const before = await fsp.readFile(file, 'utf8');
    expect(await registry.writeRecord(record('popularity', 'abc', '2026-01-09T00:00:00Z'))).toBe('exists');
    expect(await fsp.readFile(file, 'utf8')).toBe(before);
    expect((await registry.readRecord('demo', 'home', 'popularity', 'abc'))?.published_at).toBe('2026-01-02T00:00:05Z');
  });

  it('reads null for a version never published', async () => {
    expect(await registry.readRecord('demo', 'home', 'popularity', 'missing')).toBeNull();
  });

  it('lists records by published_at then version, skipping temp files', async () => {
    await registry.writeRecord(record('popularity', 'bbb', '2026-01-03T00:00:00Z'));
    await registry.writeRecord(record('cooc', 'ccc', '2026-01-02T00:00:00Z'));
    await registry.writeRecord(record('popularity', 'aaa', '2026-01-03T00:00:00Z'));
    await fsp.writeFile(path.join(dir, 'records', 'demo', 'home', 'cooc', `.zzz.json.tmp-${process.pid}-abcdef`), '{');
    expect((await registry.listRecords('demo', 'home')).map((r) => `${r.artifact_type}/${r.version}`)).toEqual([
      'cooc/ccc',
      'popularity/aaa',
      'popularity/bbb',
    ]);
    expect((await registry.listRecords('demo', 'home', 'popularity')).map((r) => r.version)).toEqual(['aaa', 'bbb']);
    expect(await registry.listRecords('demo', 'other')).toEqual([]);
  });
});

describe('manifest', () => {
  const t0 = new Date('2026-01-02T00:00:07.250Z');
  const t1 = new Date('2026-01-03T00:00:09Z');

  it('is null before the first publish', async () => {
    expect(await registry.readManifest('demo', 'home')).toBeNull();
  });

  it('writes the exact Go-compatible bytes, merging updates and sorting types', async () => {
    await registry.swapManifest('demo', 'home', { popularity: 'file:///s/pop/v1.json', cooc: 'file:///s/cooc/v1.json' }, t0);
    const file = path.join(dir, 'current', 'demo', 'home', 'manifest.json');
    expect(await fsp.readFile(file, 'utf8')).toBe(
      `{
  "v": 1,
  "tenant": "demo",
  "surface": "home",
  "current": {
    "cooc": "file:///s/cooc/v1.json",
    "popularity": "file:///s/pop/v1.json"
  },
  "updated_at": "2026-01-02T00:00:07Z"
}`,
    );

    const next = await registry.swapManifest('demo', 'home', { popularity: 'file:///s/pop/v2.json', content_sim: 'file:///s/cs/v1.json' }, t1);
    expect(next.current).toEqual({
      content_sim: 'file:///s/cs/v1.json',
      cooc: 'file:///s/cooc/v1.json',
      popularity: 'file:///s/pop/v2.json',
    });
    expect(await fsp.readFile(file, 'utf8')).toBe(
      `{
  "v": 1,
  "tenant": "demo",
  "surface": "home",
  "current": {
    "content_sim": "file:///s/cs/v1.json",
    "cooc": "file:///s/cooc/v1.json",
    "popularity": "file:///s/pop/v2.json"
  },
  "updated_at": "2026-01-03T00:00:09Z"
}`,
    );
    expect(await registry.readManifest('demo', 'home')).toEqual(next);
    expect(await fsp.readdir(path.dirname(file))).toEqual(['manifest.json']);
  });

  it('appends the replaced manifest to history on every swap', async () => {
    await registry.swapManifest('demo', 'home', { popularity: 'file:///s/pop/v1.json' }, t0);
    const first = await fsp.readFile(registry.manifestPath('demo', 'home'), 'utf8');
    expect(await registry.listHistory('demo', 'home')).toEqual([]);

    await registry.swapManifest('demo', 'home', { popularity: 'file:///s/pop/v2.json' }, t1);
    const second = await fsp.readFile(registry.manifestPath('demo', 'home'), 'utf8');
    await registry.swapManifest('demo', 'home', { popularity: 'file:///s/pop/v3.json' }, new Date('2026-01-04T00:00:00Z'));

    const historyDir = path.join(dir, 'history', 'demo', 'home');
    expect(await fsp.readdir(historyDir)).toEqual(['20260102T000007Z-000001.json', '20260103T000009Z-000002.json']);
    expect(await fsp.readFile(path.join(historyDir, '20260102T000007Z-000001.json'), 'utf8')).toBe(first);
    expect(await fsp.readFile(path.join(historyDir, '20260103T000009Z-000002.json'), 'utf8')).toBe(second);
    expect((await registry.listHistory('demo', 'home')).map((h) => h.manifest.current.popularity)).toEqual(['file:///s/pop/v1.json', 'file:///s/pop/v2.json']);
  });

  it('keeps the previous manifest when the swap fails, and a retry adds no duplicate history', async () => {
    await registry.swapManifest('demo', 'home', { popularity: 'file:///s/pop/v1.json' }, t0);
    const before = await fsp.readFile(registry.manifestPath('demo', 'home'), 'utf8');
    vi.spyOn(fsp, 'rename').mockRejectedValueOnce(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    expect(await codeOf(registry.swapManifest('demo', 'home', { popularity: 'file:///s/pop/v2.json' }, t1))).toBe('E_IO');
    vi.restoreAllMocks();
    expect(await fsp.readFile(registry.manifestPath('demo', 'home'), 'utf8')).toBe(before);

    await registry.swapManifest('demo', 'home', { popularity: 'file:///s/pop/v2.json' }, t1);
    expect((await registry.readManifest('demo', 'home'))?.current.popularity).toBe('file:///s/pop/v2.json');
    expect((await registry.listHistory('demo', 'home')).length).toBe(1);
  });

  it('reports a manifest that does not parse as E_IO', async () => {
    const file = registry.manifestPath('demo', 'home');
    await fsp.mkdir(path.dirname(file), { recursive: true });
    await fsp.writeFile(file, '{"v":1,"tenant":');
    expect(await codeOf(registry.readManifest('demo', 'home'))).toBe('E_IO');
    await fsp.writeFile(file, '{"v":1,"tenant":"demo","surface":"home","current":{"a":1},"updated_at":"x"}');
    expect(await codeOf(registry.readManifest('demo', 'home'))).toBe('E_IO');
  });
});

describe('audit log', () => {
  it('appends one file per entry, in order, fields in order', async () => {
    const entry = {
      at: '2026-01-05T10:00:00Z',
      action: 'rollback' as const,
      type: 'popularity',
      from: 'file:///s/pop/v2.json',
      to: 'file:///s/pop/v1.json',
      user: 'ops',
      host: 'box',
    };
    const first = await registry.appendAudit('demo', 'home', entry);
    await registry.appendAudit('demo', 'home', { ...entry, from: 'file:///s/pop/v1.json', to: 'file:///s/pop/v2.json' });
    expect(path.basename(first)).toBe('20260105T100000Z-000001-rollback.json');
    expect(await fsp.readFile(first, 'utf8')).toBe(
      `{
  "at": "2026-01-05T10:00:00Z",
  "action": "rollback",
  "type": "popularity",
  "from": "file:///s/pop/v2.json",
  "to": "file:///s/pop/v1.json",
  "user": "ops",
  "host": "box"
}`,
    );
    expect((await registry.listAudit('demo', 'home')).map((e) => e.to)).toEqual(['file:///s/pop/v1.json', 'file:///s/pop/v2.json']);
    expect((await fsp.readdir(path.join(dir, 'audit', 'demo', 'home'))).length).toBe(2);
  });
});

describe('publisher lock', () => {
  it('excludes a second publisher with E_LOCKED until released', async () => {
    const release = await registry.acquireLock('demo', 'home');
    const lockFile = path.join(dir, 'locks', 'demo', 'home.lock');
    const holder = JSON.parse(await fsp.readFile(lockFile, 'utf8'));
    expect(holder).toEqual({
      pid: process.pid,
      host: os.hostname(),
      started_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      token: expect.stringMatching(/^[0-9a-f]{16}$/),
      boot_id: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
      pid_ns: readlinkSync('/proc/self/ns/pid'),
    });
    expect(await codeOf(registry.acquireLock('demo', 'home'))).toBe('E_LOCKED');
    // Another surface is independent.
    const other = await registry.acquireLock('demo', 'search');
    await other();

    await release();
    await expect(fsp.stat(lockFile)).rejects.toMatchObject({ code: 'ENOENT' });
    const again = await registry.acquireLock('demo', 'home');
    await again();
  });

  it('waits up to waitMs for the holder to release', async () => {
    const release = await registry.acquireLock('demo', 'home');
    setTimeout(() => void release(), 100);
    // waitMs far beyond the release: a busy machine may delay the release timer by seconds.
    const second = await registry.acquireLock('demo', 'home', { waitMs: 10 * 60_000, pollMs: 10 });
    await second();
  });

  it('fails with E_LOCKED after waitMs when the holder stays', async () => {
    const release = await registry.acquireLock('demo', 'home');
    const started = Date.now();
    expect(await codeOf(registry.acquireLock('demo', 'home', { waitMs: 120, pollMs: 10 }))).toBe('E_LOCKED');
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    await release();
  });

  it('recovers a stale lock left by a dead process on this host', async () => {
    const lockFile = registry.lockPath('demo', 'home');
    await fsp.mkdir(path.dirname(lockFile), { recursive: true });
    const dead = deadPid();
    await fsp.writeFile(lockFile, JSON.stringify({ pid: dead, host: os.hostname(), started_at: '2026-01-01T00:00:00Z' }));

    const release = await registry.acquireLock('demo', 'home');
    expect(JSON.parse(await fsp.readFile(lockFile, 'utf8')).pid).toBe(process.pid);
    expect(await fsp.readdir(path.dirname(lockFile))).toEqual(['home.lock']);
    await release();
    await expect(fsp.stat(lockFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('does not break a lock held by a live process or by another host', async () => {
    const lockFile = registry.lockPath('demo', 'home');
    await fsp.mkdir(path.dirname(lockFile), { recursive: true });
    const dead = deadPid();
    await fsp.writeFile(lockFile, JSON.stringify({ pid: dead, host: `not-${os.hostname()}`, started_at: '2026-01-01T00:00:00Z' }));
    expect(await codeOf(registry.acquireLock('demo', 'home'))).toBe('E_LOCKED');
    await fsp.writeFile(lockFile, JSON.stringify({ pid: process.ppid, host: os.hostname(), started_at: '2026-01-01T00:00:00Z' }));
    expect(await codeOf(registry.acquireLock('demo', 'home'))).toBe('E_LOCKED');
    await fsp.writeFile(lockFile, 'garbage');
    expect(await codeOf(registry.acquireLock('demo', 'home'))).toBe('E_LOCKED');
  });

  it('release does not remove a lock that is no longer ours', async () => {
    const release = await registry.acquireLock('demo', 'home');
    const lockFile = registry.lockPath('demo', 'home');
    await fsp.unlink(lockFile);
    const other = await registry.acquireLock('demo', 'home');
    await release();
    expect(JSON.parse(await fsp.readFile(lockFile, 'utf8')).pid).toBe(process.pid);
    await other();
    await expect(fsp.stat(lockFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('serialises concurrent swaps so no update is lost', async () => {
    const types = ['popularity', 'cooc', 'implicit', 'session_seq', 'content_sim', 'extra_a', 'extra_b', 'extra_c'];
    const publishers = types.map(async (type, i) => {
      const release = await registry.acquireLock('demo', 'home', { waitMs: 10_000, pollMs: 5 });
      try {
        await sleep(5);
        await registry.swapManifest('demo', 'home', { [type]: `file:///s/${type}/v${i}.json` }, new Date(Date.UTC(2026, 0, 2, 0, 0, i)));
      } finally {
        await release();
      }
    });
    await Promise.all(publishers);
    const manifest = await registry.readManifest('demo', 'home');
    expect(Object.keys(manifest?.current ?? {})).toEqual([...types].sort());
    expect((await registry.listHistory('demo', 'home')).length).toBe(types.length - 1);
    await expect(fsp.stat(registry.lockPath('demo', 'home'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
