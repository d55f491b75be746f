/**
 * The S3-compatible object store and registry (docs/storage-contract.md §1) against a real S3 server on
 * loopback (s3rver, with S3's conditional writes added in front: see s3-server.ts), through
 * the real CLI (in this process; in a child process where a run's leftover lock must be a
 * gone process's) and through S3Registry/S3ObjectStore.
 *
 * Every CLI run uses configs/local.json's settings with `object_store` switched to s3 and
 * the worked example's data (testdata/), so the versions must be the golden ones.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3Config } from '../../../../src/config/types';
import { encodePretty } from '../../../../src/io/artifacts/go-json';
import { parseS3Uri, S3Bucket } from '../../../../src/io/store/s3/bucket';
import { S3ObjectStore } from '../../../../src/io/store/s3/object-store';
import { S3Registry } from '../../../../src/io/store/s3/registry';
import { EXAMPLE_EXPECTED, REPO_ROOT, SAMPLE_CATALOG, SAMPLE_RAW, tempDir } from '../../../support/helpers';
import type { CliResult } from '../../../support/cli-harness';
import { cli, cliProcess, STACK_FRAME } from '../../../support/cli-harness';
import { GO_POPULARITY, GO_STATE_FIXTURE } from '../../../support/go-state';
import type { TestS3 } from '../../../support/s3-server';
import { ACCESS_KEY, closedPort, SECRET_KEY, startS3 } from '../../../support/s3-server';

const TYPES = ['content_sim', 'cooc', 'implicit', 'popularity', 'session_seq'];
const golden = readFileSync(join(EXAMPLE_EXPECTED, 'versions.txt'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => l.split(' ') as [string, string, string]);
const goldenOf = (day: string) => Object.fromEntries(golden.filter(([, d]) => d === day).map(([t, , v]) => [t, v]));
const DAY1 = goldenOf('2026-01-01');
const DAY2 = goldenOf('2026-01-02');

let srv: TestS3 | null = null;
let startError = '';
try {
  srv = await startS3();
} catch (err) {
  startError = (err as Error).message;
  console.warn(`test/io/store/s3/store.test.ts: skipped, the S3 test server (s3rver) could not start: ${startError}`);
}

describe.skipIf(srv === null)('S3 object store and registry (s3rver on loopback)', () => {
  const s3 = srv as TestS3;
  let tmp: { dir: string; cleanup: () => void };
  const bucket = `recsys-${process.pid}`;
  const s3cfg = (prefix: string, over: Partial<S3Config> = {}): S3Config => ({
    endpoint: s3.endpoint,
    bucket,
    access_key: ACCESS_KEY,
    secret_key: SECRET_KEY,
    region: 'us-east-1',
    prefix,
    use_ssl: false,
    ...over,
  });
  let client: S3Bucket;

  /** configs/local.json with every local output under the temp folder and the object store on S3. */
  function writeConfig(name: string, prefix: string, over: Partial<S3Config> = {}): string {
    const config = JSON.parse(readFileSync(join(REPO_ROOT, 'configs', 'local.json'), 'utf8'));
    config.raw_source.dir = SAMPLE_RAW;
    config.catalog.path = SAMPLE_CATALOG;
    config.out_dir = join(tmp.dir, name);
    config.engine = { workers: 1 }; // one worker thread per run: these tests are not about parallelism (see determinism.test.ts)
    const { region: _region, ...s3 } = s3cfg(prefix, over);
    config.object_store = { type: 'minio', s3 };
    const file = join(tmp.dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(config));
    return file;
  }
  const runArgs = (config: string, start: string, end: string) => [
    'run',
    '--config',
    config,
    '--tenant',
    'demo',
    '--surface',
    'home',
    '--segment',
    'web',
    '--start',
    start,
    '--end',
    end,
  ];
  const text = async (key: string) => {
    const obj = await client.getText(key);
    return obj?.text ?? null;
  };

  beforeAll(() => {
    tmp = tempDir('recsys-s3-');
    client = new S3Bucket(s3cfg(''));
  });
  afterAll(async () => {
    await s3.close();
    tmp.cleanup();
  });

  describe('a run publishing to S3', () => {
    const prefix = 'prod/recsys';
    let config: string;
    let first: CliResult;

    beforeAll(async () => {
      config = writeConfig('main', prefix);
      first = await cli(runArgs(config, '2026-01-01', '2026-01-02'));
    });

    it('creates the bucket and publishes the golden versions of the worked example', async () => {
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).not.toContain('Warning');
      for (const [type, day, version] of golden) {
        expect(first.stdout).toContain(`${day}  ${type.padEnd(11)}  ${version}`);
        const blob = await text(`${prefix}/demo/home/${type}/${version}.json`);
        const want = readFileSync(join(EXAMPLE_EXPECTED, `${type}.${day}.published.json`), 'utf8');
        const withoutBuiltAt = (s: string) => s.replace(/"built_at": "[^"]*"/, '"built_at": ""');
        expect(withoutBuiltAt(blob ?? '<missing>')).toBe(withoutBuiltAt(want));
      }
    });

    it('writes the manifest at s3://<bucket>/<prefix>/registry/current/demo/home/manifest.json, in the filesystem JSON shape', async () => {
      expect(first.stdout).toContain(`s3://${bucket}/${prefix}/registry/current/demo/home/manifest.json`);
      const raw = await text(`${prefix}/registry/current/demo/home/manifest.json`);
      const manifest = JSON.parse(raw!);
      expect(Object.keys(manifest)).toEqual(['v', 'tenant', 'surface', 'current', 'updated_at']);
      expect(manifest).toMatchObject({ v: 1, tenant: 'demo', surface: 'home' });
      expect(manifest.updated_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(manifest.current).toEqual(Object.fromEntries(TYPES.map((t) => [t, `s3://${bucket}/${prefix}/demo/home/${t}/${DAY2[t]}.json`])));
      expect(raw).toBe(encodePretty(manifest)); // two-space indent, keys sorted, no trailing newline: as FsRegistry writes it
      // The first day's manifest went to the history; every version has its record.
      const history = await client.list(`${prefix}/registry/history/demo/home`);
      expect(history).toHaveLength(1);
      for (const [type, , version] of golden) {
        const rec = JSON.parse((await text(`${prefix}/registry/records/demo/home/${type}/${version}.json`))!);
        expect(rec).toMatchObject({ v: 1, tenant: 'demo', surface: 'home', segment: 'web', artifact_type: type, version });
        expect(rec.uri).toBe(`s3://${bucket}/${prefix}/demo/home/${type}/${version}.json`);
      }
      // The lock is gone once the run is over.
      expect(await client.exists(`${prefix}/registry/locks/demo/home.lock`)).toBe(false);
    });

    it('re-publishing is idempotent: the same versions, no blob or record rewritten', async () => {
      const blobKey = `${prefix}/demo/home/cooc/${DAY2.cooc}.json`;
      const before = (await client.get(blobKey))!.etag;
      const from = s3.requests.length;
      await new Promise((r) => setTimeout(r, 1100)); // a rewrite would carry another built_at
      const again = await cli(runArgs(config, '2026-01-01', '2026-01-02'));
      expect(again.code, again.stderr).toBe(0);
      for (const [type, day, version] of golden) expect(again.stdout).toContain(`${day}  ${type.padEnd(11)}  ${version}`);
      const puts = s3.requests
        .slice(from)
        .filter((r) => r.method === 'PUT')
        .map((r) => r.key);
      expect(puts.filter((k) => k.startsWith(`${prefix}/demo/`) || k.includes('/registry/records/'))).toEqual([]);
      expect((await client.get(blobKey))!.etag).toBe(before);
    });

    it('status, history and rollback work on S3', async () => {
      const status = await cli(['status', '--config', config, '--tenant', 'demo', '--surface', 'home', '--json']);
      expect(status.code, status.stderr + status.stdout).toBe(0);
      const st = JSON.parse(status.stdout);
      expect(st.state).toBe('fresh');
      expect(st.manifest).toBe(`s3://${bucket}/${prefix}/registry/current/demo/home/manifest.json`);
      expect(st.artifacts.map((a: { version: string }) => a.version).sort()).toEqual(Object.values(DAY2).sort());
      expect(st.artifacts.every((a: { problem: string | null }) => a.problem === null)).toBe(true);

      const rb = await cli(['rollback', '--config', config, '--tenant', 'demo', '--surface', 'home', '--type', 'popularity', '--previous', '--json']);
      expect(rb.code, rb.stderr).toBe(0);
      const result = JSON.parse(rb.stdout);
      expect(result).toMatchObject({ type: 'popularity', version: DAY1.popularity, changed: true });
      expect(result.audit).toMatch(new RegExp(`^s3://${bucket}/${prefix}/registry/audit/demo/home/\\d{8}T\\d{6}Z-000001-rollback\\.json$`));
      const manifest = JSON.parse((await text(`${prefix}/registry/current/demo/home/manifest.json`))!);
      expect(manifest.current.popularity).toBe(`s3://${bucket}/${prefix}/demo/home/popularity/${DAY1.popularity}.json`);
      expect(manifest.current.cooc).toBe(`s3://${bucket}/${prefix}/demo/home/cooc/${DAY2.cooc}.json`);

      const history = await cli(['history', '--config', config, '--tenant', 'demo', '--surface', 'home', '--type', 'popularity', '--json']);
      expect(history.code, history.stderr).toBe(0);
      const h = JSON.parse(history.stdout);
      expect(h.audit).toEqual([expect.objectContaining({ action: 'rollback', type: 'popularity', to: manifest.current.popularity })]);
      expect(h.records.map((r: { version: string }) => r.version).sort()).toEqual([DAY1.popularity, DAY2.popularity].sort());

      // --previous again: the manifest the rollback replaced had day 2's popularity.
      const forward = await cli(['rollback', '--config', config, '--tenant', 'demo', '--surface', 'home', '--type', 'popularity', '--previous']);
      expect(forward.code, forward.stderr).toBe(0);
      const back = JSON.parse((await text(`${prefix}/registry/current/demo/home/manifest.json`))!);
      expect(back.current.popularity).toBe(`s3://${bucket}/${prefix}/demo/home/popularity/${DAY2.popularity}.json`);
    });
  });

  it('the store going away mid-publish (after the blob writes) leaves current intact: exit 1, clear message; the retry takes over the lock of the dead process', async () => {
    const prefix = 'gone';
    const config = writeConfig('gone', prefix);
    const day1 = await cli(runArgs(config, '2026-01-01', '2026-01-01'));
    expect(day1.code, day1.stderr).toBe(0);
    const manifestKey = `${prefix}/registry/current/demo/home/manifest.json`;
    const before = await text(manifestKey);

    s3.onRequest = (r) => {
      if (r.method === 'PUT' && r.key.startsWith(`${prefix}/registry/records/`)) s3.down = true;
    };
    let failed: CliResult;
    try {
      // A child process: the lock it leaves must be a gone process's, as after a real outage.
      failed = await cliProcess(runArgs(config, '2026-01-02', '2026-01-02'), { env: { AWS_MAX_ATTEMPTS: '3' } });
    } finally {
      s3.onRequest = null;
      s3.down = false;
    }
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.stderr).toMatch(/\[E_IO\]/);
    expect(failed.stderr).toContain(`put s3://${bucket}/${prefix}/registry/records/demo/home/`);
    expect(failed.stderr).toContain(`cannot reach the S3 endpoint http://${s3.endpoint}`);
    expect(failed.stderr).not.toContain(STACK_FRAME);
    // Every blob of day 2 was written; the manifest still is day 1's, byte for byte.
    for (const t of TYPES) expect(await client.exists(`${prefix}/demo/home/${t}/${DAY2[t]}.json`)).toBe(true);
    expect(await text(manifestKey)).toBe(before);

    // The lock could not be released while the store was away. Its process is gone and ran on
    // this host, boot and pid namespace, so the next run takes it over (If-Match) and publishes.
    const left = JSON.parse((await text(`${prefix}/registry/locks/demo/home.lock`))!) as { pid: number };
    expect(left.pid).not.toBe(process.pid);
    const retry = await cli(runArgs(config, '2026-01-02', '2026-01-02'));
    expect(retry.code, retry.stderr).toBe(0);
    const after = JSON.parse((await text(manifestKey))!);
    expect(after.current.cooc).toBe(`s3://${bucket}/${prefix}/demo/home/cooc/${DAY2.cooc}.json`);
  });

  it('an unreachable store (closed port): exit 1 naming the bucket and key, nothing written', async () => {
    const port = await closedPort();
    const config = writeConfig('closed', 'closed', { endpoint: `127.0.0.1:${port}` });
    const r = await cli(runArgs(config, '2026-01-01', '2026-01-01'), { env: { AWS_MAX_ATTEMPTS: '2' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`s3://${bucket}/closed/registry/locks/demo/home.lock: cannot reach the S3 endpoint http://127.0.0.1:${port} (ECONNREFUSED)`);
    expect(r.stderr).not.toContain(STACK_FRAME);
  });

  it('wrong credentials: exit 1 saying which keys to check', async () => {
    const config = writeConfig('creds', 'prod/recsys', { access_key: 'WRONG', secret_key: 'WRONG' });
    const r = await cli(['status', '--config', config, '--tenant', 'demo', '--surface', 'home']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `s3://${bucket}/prod/recsys/registry/current/demo/home/manifest.json: the store refused the credentials (InvalidAccessKeyId); check object_store.s3.access_key/secret_key`,
    );
    expect(r.stderr).not.toContain(STACK_FRAME);
  });

  describe('manifest swap under a concurrent writer', () => {
    const now = new Date('2026-02-01T00:00:00Z');

    it('a swap whose manifest changed between read and write is rejected (E_LOCKED), and the other update stands', async () => {
      const a = new S3Registry(s3cfg('race'));
      const b = new S3Registry(s3cfg('race'));
      await a.swapManifest('t1', 's1', { popularity: 's3://x/pop-1.json', cooc: 's3://x/cooc-1.json' }, now);
      const key = a.manifestKey('t1', 's1');
      // Another writer swaps the manifest after `a` read it (at a's PUT, before the store checks it).
      s3.beforePut = async (_bucket, k) => {
        if (k !== key) return;
        s3.beforePut = null;
        await b.swapManifest('t1', 's1', { popularity: 's3://x/pop-B.json' }, now);
      };
      try {
        const err = await a.swapManifest('t1', 's1', { cooc: 's3://x/cooc-A.json' }, now).catch((e) => e);
        expect(err?.code, String(err?.stack ?? err)).toBe('E_LOCKED');
        expect(err.message).toContain(`concurrent manifest update: s3://${bucket}/race/registry/current/t1/s1/manifest.json changed after this run read it`);
      } finally {
        s3.beforePut = null;
      }
      expect((await a.readManifest('t1', 's1'))!.current).toEqual({ cooc: 's3://x/cooc-1.json', popularity: 's3://x/pop-B.json' });
      // Retried, the update applies on top of the other one.
      await a.swapManifest('t1', 's1', { cooc: 's3://x/cooc-A.json' }, now);
      expect((await a.readManifest('t1', 's1'))!.current).toEqual({ cooc: 's3://x/cooc-A.json', popularity: 's3://x/pop-B.json' });
    });

    it('two first manifests at once: one wins, the other is rejected', async () => {
      const a = new S3Registry(s3cfg('race'));
      const b = new S3Registry(s3cfg('race'));
      const key = a.manifestKey('t2', 's2');
      s3.beforePut = async (_bucket, k) => {
        if (k !== key) return;
        s3.beforePut = null;
        await b.swapManifest('t2', 's2', { cooc: 's3://x/B.json' }, now);
      };
      try {
        const err = await a.swapManifest('t2', 's2', { cooc: 's3://x/A.json' }, now).catch((e) => e);
        expect(err?.code, String(err?.stack ?? err)).toBe('E_LOCKED');
        expect(err.message).toContain('changed after this run found none');
      } finally {
        s3.beforePut = null;
      }
      expect((await a.readManifest('t2', 's2'))!.current).toEqual({ cooc: 's3://x/B.json' });
    });
  });

  it('Go tool records in the bucket (docs/contract.md §9): status verifies their blobs by version, history marks them, rollback uses them', async () => {
    // The hand-written Go state, its file:// URIs turned into this bucket's s3:// ones.
    const prefix = 'go-state';
    const fixture = (...parts: string[]) =>
      readFileSync(join(GO_STATE_FIXTURE, ...parts), 'utf8').replaceAll('file:///GO_ROOT/objectstore/', `s3://${bucket}/${prefix}/`);
    for (const v of Object.values(GO_POPULARITY)) {
      await client.putIfAbsent(`${prefix}/acme/home/popularity/${v}.json`, fixture('objectstore', 'acme', 'home', 'popularity', `${v}.json`));
      await client.putIfAbsent(
        `${prefix}/registry/records/acme/home/popularity/${v}.json`,
        fixture('registry', 'records', 'acme', 'home', 'popularity', `${v}.json`),
      );
    }
    await client.putIfAbsent(`${prefix}/registry/current/acme/home/manifest.json`, fixture('registry', 'current', 'acme', 'home', 'manifest.json'));
    const records = await new S3Registry(s3cfg(prefix)).listRecords('acme', 'home');
    expect(records.map((r) => [r.version, r.format, r.size_bytes])).toEqual([
      [GO_POPULARITY['2026-06-01'], 'go', null],
      [GO_POPULARITY['2026-06-02'], 'go', null],
    ]);

    const config = writeConfig('go-state', prefix);
    const flags = ['--config', config, '--tenant', 'acme', '--surface', 'home'];
    const status = await cli(['status', ...flags, '--max-age', '36500d']);
    expect(status.stdout).toContain('FRESH acme/home');
    expect(status.code).toBe(0);
    expect((await cli(['history', ...flags])).stdout.split('Go tool record')).toHaveLength(3);
    const back = await cli(['rollback', ...flags, '--type', 'popularity', '--version', GO_POPULARITY['2026-06-01']]);
    expect(back.stderr).toBe('');
    expect(back.code).toBe(0);
    const manifest = JSON.parse((await text(`${prefix}/registry/current/acme/home/manifest.json`)) as string) as { current: Record<string, string> };
    expect(manifest.current.popularity).toBe(`s3://${bucket}/${prefix}/acme/home/popularity/${GO_POPULARITY['2026-06-01']}.json`);
  });

  describe('publisher lock and immutable blobs', () => {
    it('one lock holder at a time; a stale lock is reported with what to do, never broken', async () => {
      const reg = new S3Registry(s3cfg('locks'), { staleLockMs: 60_000 });
      const release = await reg.acquireLock('t', 's');
      const held = await reg.acquireLock('t', 's').catch((e) => e);
      expect(held.code).toBe('E_LOCKED');
      expect(held.message).toContain(`another publisher holds s3://${bucket}/locks/registry/locks/t/s.lock (pid ${process.pid} on host `);
      await release();
      await release(); // harmless
      expect(await client.exists('locks/registry/locks/t/s.lock')).toBe(false);

      // A lock from another host, two hours old.
      const lockKey = 'locks/registry/locks/t/s.lock';
      const old = encodePretty({ pid: 4242, host: 'elsewhere', started_at: '2026-01-01T00:00:00Z', token: 'abc' });
      expect(await client.putIfAbsent(lockKey, old)).toBe('created');
      const stale = await reg.acquireLock('t', 's').catch((e) => e);
      expect(stale.code).toBe('E_LOCKED');
      expect(stale.message).toContain('looks stale: it is older than 1 min');
      expect(stale.message).toContain(`aws s3 rm s3://${bucket}/${lockKey}`);
      expect(await text(lockKey)).toBe(old); // not broken
      await client.delete(lockKey);
    });

    it('blobs are immutable: the same artifact with another built_at is accepted, other content is refused', async () => {
      const store = new S3ObjectStore(s3cfg(''));
      const blob = (builtAt: string, n: number) => Buffer.from(encodePretty({ v: 1, popularity: [n], build: { version: 'v1', built_at: builtAt } }));
      const key = 'demo/home/popularity/v1.json';
      expect(store.uriFor(key)).toBe(`s3://${bucket}/demo/home/popularity/v1.json`); // no leading slash without a prefix
      expect(await store.put(key, blob('2026-01-01T00:00:00Z', 1))).toEqual({ uri: store.uriFor(key), created: true });
      expect(await store.put(key, blob('2026-01-02T00:00:00Z', 1))).toEqual({ uri: store.uriFor(key), created: false });
      const err = await store.put(key, blob('2026-01-01T00:00:00Z', 2)).catch((e) => e);
      expect(err.code).toBe('E_IO');
      expect(err.message).toContain('already exists with different content');
      expect(Buffer.from(await store.get(store.uriFor(key))).equals(blob('2026-01-01T00:00:00Z', 1))).toBe(true);
      expect((await store.get(`s3://${bucket}/demo/home/popularity/none.json`).catch((e) => e)).code).toBe('E_NOT_FOUND');
    });
  });
});

describe('S3 settings (no server)', () => {
  it('endpoint host:port takes its scheme from use_ssl; a URL stays as it is; none is AWS itself', () => {
    const endpoint = (endpoint: string, use_ssl: boolean) =>
      new S3Bucket({ endpoint, use_ssl, bucket: 'b', access_key: '', secret_key: '', region: '', prefix: '' }).endpoint;
    expect(endpoint('minio:9000', false)).toBe('http://minio:9000');
    expect(endpoint('minio:9000', true)).toBe('https://minio:9000');
    expect(endpoint('https://s3.example.test', false)).toBe('https://s3.example.test');
    expect(endpoint('', true)).toBe('AWS S3 (us-east-1)');
  });

  it('s3:// URIs split into bucket and key; anything else is not one', () => {
    expect(parseS3Uri('s3://b/p/demo/home/cooc/v.json')).toEqual({ bucket: 'b', key: 'p/demo/home/cooc/v.json' });
    expect(parseS3Uri('file:///tmp/x.json')).toBeNull();
    expect(parseS3Uri('s3://bucket-only')).toBeNull();
  });

  it('access_key without secret_key is a config error (exit 2) before anything runs', async () => {
    const tmp = tempDir('recsys-s3-cfg-');
    try {
      const config = JSON.parse(readFileSync(join(REPO_ROOT, 'configs', 'local.json'), 'utf8'));
      config.raw_source.dir = SAMPLE_RAW;
      config.catalog.path = SAMPLE_CATALOG;
      config.out_dir = tmp.dir;
      config.object_store = { type: 's3', s3: { endpoint: '127.0.0.1:1', bucket: 'b', access_key: 'AK' } };
      const file = join(tmp.dir, 'config.json');
      writeFileSync(file, JSON.stringify(config));
      const r = await cli(['run', '--config', file, '--tenant', 'demo', '--surface', 'home', '--start', '2026-01-01', '--end', '2026-01-01']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('object_store.s3: access_key and secret_key go together');
      expect(r.stderr).not.toContain('ingest');
    } finally {
      tmp.cleanup();
    }
  });
});

if (srv === null) {
  it.skip(`S3 tests need the s3rver test server, which could not start: ${startError}`, () => {});
}
