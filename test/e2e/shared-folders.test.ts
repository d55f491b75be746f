/**
 * Pods that share nothing but a bucket (issue 15 §1): raw input, canonical partitions,
 * staging, checkpoint, blobs and registry all on S3 (s3rver on loopback behind the
 * conditional-write front). Job mode split into parts (ingest ×2, compute ×3, then one
 * publish) publishes the golden versions of the worked example, the same as a `run` on the
 * filesystem; nothing of the pipeline's state is left in the local out_dir; a `run` on the
 * same folders and `--incremental` read that shared state back.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Bucket } from '../../src/io/store/s3/bucket';
import { cli, publishedLines } from '../support/cli-harness';
import { EXAMPLE_EXPECTED, REPO_ROOT, SAMPLE_CATALOG, SAMPLE_RAW, tempDir } from '../support/helpers';
import type { TestS3 } from '../support/s3-server';
import { ACCESS_KEY, SECRET_KEY, startS3 } from '../support/s3-server';

let srv: TestS3 | null = null;
try {
  srv = await startS3();
} catch (err) {
  if (process.env.CI === 'true') throw err; // never skipped in CI
  console.warn(`test/e2e/shared-folders.test.ts: skipped, s3rver could not start: ${(err as Error).message}`);
}

const DAYS = ['2026-01-01', '2026-01-02'];
const golden = readFileSync(join(EXAMPLE_EXPECTED, 'versions.txt'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => {
    const [type, day, version] = l.split(' ');
    return `${day} ${type} ${version}`;
  })
  .sort();

describe.skipIf(srv === null)('every shared folder on S3', () => {
  const s3 = srv as TestS3;
  const tmp = tempDir('recsys-shared-');
  const s3cfg = (bucket: string, prefix = '') => ({ endpoint: s3.endpoint, bucket, access_key: ACCESS_KEY, secret_key: SECRET_KEY, prefix, use_ssl: false });
  const scope = ['--tenant', 'demo', '--surface', 'home', '--segment', 'web', '--start', DAYS[0]!, '--end', DAYS[1]!];
  const key = (p: { day: string; type: string; version: string }) => `${p.day} ${p.type} ${p.version}`;

  /** configs/local.json with the worked example's data; `shared` puts every folder and the raw input in the bucket. */
  function writeConfig(name: string, shared: boolean): string {
    const config = JSON.parse(readFileSync(join(REPO_ROOT, 'configs', 'local.json'), 'utf8'));
    config.raw_source = shared ? { type: 's3', s3: s3cfg('pipeline', 'raw') } : { type: 'fs', dir: SAMPLE_RAW };
    config.catalog.path = SAMPLE_CATALOG;
    config.out_dir = join(tmp.dir, name);
    config.engine = { workers: 2 };
    if (shared) {
      config.object_store = { type: 's3', s3: s3cfg('pipeline', `${name}/store`) };
      config.canonical_dir = `s3://pipeline/${name}/canonical`;
      config.artifacts_dir = `s3://pipeline/${name}/staging/`;
      config.checkpoint_dir = `s3://pipeline/${name}/checkpoints`;
    }
    const file = join(tmp.dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(config));
    return file;
  }

  let bucket: S3Bucket;
  beforeAll(async () => {
    bucket = new S3Bucket({ ...s3cfg('pipeline', ''), region: 'us-east-1' });
    for (const day of DAYS) {
      await bucket.putObject(`raw/demo/home/exposure.${day}.jsonl`, readFileSync(join(SAMPLE_RAW, 'demo', 'home', `exposure.${day}.jsonl`)));
    }
  });
  afterAll(async () => {
    await s3.close();
    tmp.cleanup();
  });

  it('a run on the filesystem publishes the golden versions (the reference)', async () => {
    const r = await cli(['run', '--config', writeConfig('fs', false), ...scope]);
    expect(r.code, r.stderr).toBe(0);
    expect(publishedLines(r.stdout).map(key).sort()).toEqual(golden);
  });

  it('job mode in parts with every folder on S3 publishes the same versions, and keeps no state locally', async () => {
    const config = writeConfig('jobs', true);
    const steps = [
      ...[0, 1].map((i) => ['ingest', '--index', String(i), '--count', '2']),
      ...[0, 1, 2].map((i) => ['compute', '--index', String(i), '--count', '3']),
      ['publish'],
    ];
    let publish = '';
    for (const step of steps) {
      const r = await cli([...step, '--config', config, ...scope]);
      expect(r.code, `${step.join(' ')}: ${r.stderr}`).toBe(0);
      publish = r.stdout;
    }
    expect(publishedLines(publish).map(key).sort()).toEqual(golden);

    expect(await bucket.list('jobs/canonical/demo/home/exposures')).toEqual(DAYS.flatMap((d) => [`${d}.arrow`, `${d}.ingested.json`])); // the ingest record beside each partition
    expect(await bucket.list('jobs/checkpoints/demo/home')).toEqual(['web.json']);
    const staged = await bucket.list('jobs/staging/demo/home/web', true);
    expect(staged.filter((n) => n.endsWith('current.version'))).toHaveLength(golden.length);
    const manifest = JSON.parse((await bucket.getText('jobs/store/registry/current/demo/home/manifest.json'))!.text);
    expect(Object.values(manifest.current as Record<string, string>).every((u) => u.startsWith('s3://pipeline/jobs/store/'))).toBe(true);
    const local = join(tmp.dir, 'jobs');
    for (const name of ['canonical', 'artifacts', 'checkpoints', 'registry', 'objectstore']) expect(existsSync(join(local, name)), name).toBe(false);

    // The next --incremental run reads the checkpoint from the bucket: nothing left to do.
    const next = await cli(['run', '--config', config, '--tenant', 'demo', '--surface', 'home', '--segment', 'web', '--incremental', '--end', DAYS[1]!]);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toContain('nothing to do');
  });

  it('a run with every folder on S3 publishes the same versions, its scratch copies gone', async () => {
    const r = await cli(['run', '--config', writeConfig('run', true), ...scope]);
    expect(r.code, r.stderr).toBe(0);
    expect(publishedLines(r.stdout).map(key).sort()).toEqual(golden);
    expect(existsSync(join(tmp.dir, 'run')), 'the local out_dir').toBe(false);
    // This process's scratch folder (uploads go through it) holds no file any more.
    const scratch = readdirSync(tmpdir()).filter((n) => n.startsWith(`recsys-pipelines-${process.pid}-`));
    expect(scratch).toHaveLength(1);
    const files = readdirSync(join(tmpdir(), scratch[0]!), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(files.map((f) => f.name)).toEqual([]);
  });
});
