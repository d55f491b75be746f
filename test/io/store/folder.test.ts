/**
 * The shared folders (src/io/store/folder.ts) behave the same on the local file system and
 * on S3 (s3rver on loopback behind the conditional-write front): the same reads, writes,
 * replacements, listings and removals give the same results, a worker's local file is
 * committed to the folder, and the staging and checkpoint formats read back identically
 * from both. A config names an S3 folder as s3://<bucket>/<prefix> and needs an S3 object store.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load';
import { readStaged, stageArtifact } from '../../../src/io/artifacts/staging';
import { advanceCheckpoint, readCheckpoint } from '../../../src/io/store/checkpoint';
import { type Folder, openFolders } from '../../../src/io/store/folder';
import { FsFolder } from '../../../src/io/store/fs/folder';
import { S3Bucket } from '../../../src/io/store/s3/bucket';
import { S3Folder } from '../../../src/io/store/s3/folder';
import { isPipelineError } from '../../../src/errors';
import { tempDir } from '../../support/helpers';
import type { TestS3 } from '../../support/s3-server';
import { ACCESS_KEY, SECRET_KEY, startS3 } from '../../support/s3-server';

let srv: TestS3 | null = null;
try {
  srv = await startS3();
} catch (err) {
  if (process.env.CI === 'true') throw err; // never skipped in CI
  console.warn(`test/io/store/folder.test.ts: S3 cases skipped, s3rver could not start: ${(err as Error).message}`);
}
const tmp = tempDir('recsys-folder-');
afterAll(async () => {
  await srv?.close();
  tmp.cleanup();
});

const s3cfg = (bucket: string) => ({
  endpoint: srv!.endpoint,
  bucket,
  access_key: ACCESS_KEY,
  secret_key: SECRET_KEY,
  region: 'us-east-1',
  prefix: '',
  use_ssl: false,
});

let n = 0;
const backends: Array<[string, () => Folder]> = [['fs', () => new FsFolder(join(tmp.dir, `fs${++n}`))]];
if (srv) backends.push(['s3', () => new S3Folder(new S3Bucket(s3cfg('shared')), `team/run${++n}`)]);

/** Everything observable about a folder after a sequence of operations, for comparing backends. */
async function scenario(f: Folder): Promise<unknown> {
  const text = async (rel: string) => {
    const b = await f.read(rel);
    return b === null ? null : Buffer.from(b).toString('utf8');
  };
  const seen: unknown[] = [];
  seen.push(await text('a/b/missing.json'), await f.list('a'), await f.list('nowhere'));
  await f.write('a/b/one.json', '{"v":1}');
  await f.write('a/b/two.json', new Uint8Array([0, 1, 2, 255]));
  await f.write('a/b/one.json', '{"v":2}'); // replaced as a whole
  await f.write('a/c.txt', 'c');
  seen.push(await text('a/b/one.json'), Array.from((await f.read('a/b/two.json')) ?? []), await f.list('a/b'), await f.list('a'));
  await f.remove('a/b/two.json');
  await f.remove('a/b/two.json'); // already gone: not an error
  seen.push(await f.list('a/b'), await f.read('a/b/two.json'));
  // A worker's local file, committed.
  const local = f.localPath('big/blob.json');
  mkdirSync(dirname(local), { recursive: true });
  writeFileSync(local, 'x'.repeat(100_000));
  await f.commit('big/blob.json');
  seen.push((await f.read('big/blob.json'))?.length, existsSync(local) === !f.remote);
  writeFileSync(local, 'kept');
  await f.commit('big/blob.json', { keepLocal: true });
  seen.push(await text('big/blob.json'), existsSync(local));
  // The formats on top: staging and checkpoint.
  const key = { tenant: 'demo', surface: 'home', segment: '', type: 'popularity', startDay: '2026-01-01', endDay: '2026-01-02' };
  seen.push(await readStaged(f, key), await readCheckpoint(f, 'demo', 'home', ''));
  await stageArtifact(f, key, 'v1', '{"a":1}');
  await stageArtifact(f, key, 'v2', '{"a":2}');
  const staged = await readStaged(f, key);
  seen.push(staged?.version, Buffer.from(staged?.bytes ?? []).toString());
  await advanceCheckpoint(f, 'demo', 'home', '', '2026-01-03', new Date('2026-01-04T00:00:00Z'));
  await advanceCheckpoint(f, 'demo', 'home', '', '2026-01-02'); // never back in time
  seen.push(await readCheckpoint(f, 'demo', 'home', ''), await f.list('demo/home'));
  return seen;
}

describe('a shared folder', () => {
  it('gives the same results on every backend', async () => {
    const results = [];
    for (const [, make] of backends) results.push(await scenario(make()));
    for (const r of results.slice(1)) expect(r).toEqual(results[0]);
    // and the results are the expected ones (not merely equal)
    const fs = results[0] as unknown[];
    expect(fs.slice(0, 3)).toEqual([null, [], []]);
    expect(fs[3]).toBe('{"v":2}');
    expect(fs[5]).toEqual(['one.json', 'two.json']);
    expect(fs[6]).toEqual(['c.txt']);
    expect(fs.at(-1)).toEqual(['_.json']);
    expect(fs.at(-2)).toBe('2026-01-03');
    if (backends.length < 2) console.warn('folder.test.ts: only the fs backend ran');
  });

  it.skipIf(!srv)('names an S3 file by its URI, and the object lies under the prefix', async () => {
    const f = new S3Folder(new S3Bucket(s3cfg('shared')), '/deep/prefix/');
    expect(f.location).toBe('s3://shared/deep/prefix');
    expect(f.where('demo/x.json')).toBe('s3://shared/deep/prefix/demo/x.json');
    await f.write('demo/x.json', 'x');
    expect(await new S3Bucket(s3cfg('shared')).list('deep/prefix/demo')).toEqual(['x.json']);
  });
});

describe('s3:// folders in the config', () => {
  const s3Store = { type: 's3', s3: { endpoint: '127.0.0.1:1', bucket: 'store', access_key: 'a', secret_key: 'b' } };

  it('opens canonical_dir, artifacts_dir and checkpoint_dir on S3 with the object store credentials', () => {
    const config = parseConfig(
      {
        raw_source: { dir: tmp.dir },
        object_store: s3Store,
        canonical_dir: 's3://shared/canonical/',
        artifacts_dir: 's3://shared/staging',
        checkpoint_dir: join(tmp.dir, 'ck'),
      },
      tmp.dir,
      '<test>',
    );
    expect(config.canonical_dir).toBe('s3://shared/canonical');
    const folders = openFolders(config);
    expect(folders.canonical.location).toBe('s3://shared/canonical');
    expect(folders.staging.where('a')).toBe('s3://shared/staging/a');
    expect(folders.checkpoints.remote).toBe(false);
  });

  it('refuses an s3:// folder without an S3 object store, or a malformed one (exit 2, naming the key)', () => {
    const code = (input: Record<string, unknown>) => {
      try {
        parseConfig({ raw_source: { dir: tmp.dir }, ...input }, tmp.dir, '<test>');
      } catch (err) {
        if (isPipelineError(err)) return `${err.exitCode} ${/canonical_dir|artifacts_dir/.exec(err.message)?.[0]}`;
        throw err;
      }
      return 'ok';
    };
    expect(code({ canonical_dir: 's3://shared/c' })).toBe('2 canonical_dir');
    expect(code({ object_store: s3Store, artifacts_dir: 's3://' })).toBe('2 artifacts_dir');
    expect(code({ object_store: s3Store, artifacts_dir: 's3://b/../x' })).toBe('2 artifacts_dir');
  });
});
