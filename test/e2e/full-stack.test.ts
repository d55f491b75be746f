/**
 * Every production backend at once, through the real CLI: raw objects in S3 (s3rver on
 * loopback), blobs and registry in S3, signals in Postgres — the same versions as the
 * filesystem run on the same events (the worked example's golden ones), and signal rows
 * equal to the blobs the online service reads from the bucket.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3Config } from '../../src/config/types';
import { S3Bucket } from '../../src/io/store/s3/bucket';
import { cli } from '../support/cli-harness';
import { EXAMPLE_EXPECTED, must, SAMPLE_RAW, tempDir } from '../support/helpers';
import { publishedVersions, runArgs, writeConfig } from '../support/pg-helpers';
import type { TestPg } from '../support/pg-server';
import { pgSkipReason, pgTestDatabase } from '../support/pg-server';
import type { TestS3 } from '../support/s3-server';
import { ACCESS_KEY, SECRET_KEY, startS3 } from '../support/s3-server';

const FILE = 'test/e2e/full-stack.test.ts';
const pgSkip = await pgSkipReason(FILE);
let srv: TestS3 | null = null;
try {
  srv = await startS3();
} catch (err) {
  console.warn(`${FILE}: skipped, the S3 test server (s3rver) could not start: ${(err as Error).message}`);
}

const golden: Record<string, Record<string, string>> = {};
for (const line of readFileSync(join(EXAMPLE_EXPECTED, 'versions.txt'), 'utf8').trim().split('\n')) {
  const [type, day, version] = line.split(' ');
  if (!type || !day || !version) throw new Error(`versions.txt: not "type day version": ${line}`);
  (golden[day] ??= {})[type] = version;
}
const goldenVersion = (day: string, type: string) => must(golden[day]?.[type], `a golden ${type} version for ${day}`);

describe.skipIf(pgSkip !== null || srv === null)('S3 raw source + S3 store and registry + Postgres signals', () => {
  const s3 = srv as TestS3;
  let pg: TestPg;
  let tmp: { dir: string; cleanup: () => void };
  const s3cfg = (bucket: string, prefix: string): Omit<S3Config, 'region'> => ({
    endpoint: s3.endpoint,
    bucket,
    access_key: ACCESS_KEY,
    secret_key: SECRET_KEY,
    prefix,
    use_ssl: false,
  });
  let s3Run: { code: number | null; stdout: string; stderr: string };
  let fsRun: { code: number | null; stdout: string; stderr: string };
  let store: S3Bucket;

  beforeAll(async () => {
    pg = (await pgTestDatabase(FILE))!;
    tmp = tempDir('recsys-fullstack-');
    const raw = new S3Bucket({ ...s3cfg('raw', 'exposures'), region: 'us-east-1' });
    for (const day of ['2026-01-01', '2026-01-02']) {
      const body = readFileSync(join(SAMPLE_RAW, 'demo', 'home', `exposure.${day}.jsonl`));
      await raw.putIfAbsent(`exposures/demo/home/exposure.${day}.jsonl.gz`, gzipSync(body));
    }
    store = new S3Bucket({ ...s3cfg('artifacts', 'prod'), region: 'us-east-1' });
    const onS3 = writeConfig(
      tmp.dir,
      's3',
      { dsn: pg.dsn, auto_create_tenant: true },
      {
        raw_source: { type: 's3', s3: s3cfg('raw', 'exposures') },
        object_store: { type: 's3', s3: s3cfg('artifacts', 'prod') },
      },
    );
    const onFs = writeConfig(tmp.dir, 'fs', undefined);
    s3Run = await cli(runArgs(onS3.file, 'demo', '2026-01-01', '2026-01-02'));
    fsRun = await cli(runArgs(onFs.file, 'demo', '2026-01-01', '2026-01-02'));
  });
  afterAll(async () => {
    await pg?.drop();
    await s3?.close();
    tmp?.cleanup();
  });

  it('publishes the same versions as the filesystem run, the golden ones', () => {
    expect(s3Run.code, s3Run.stderr).toBe(0);
    expect(fsRun.code, fsRun.stderr).toBe(0);
    expect(publishedVersions(s3Run.stdout)).toEqual(publishedVersions(fsRun.stdout));
    expect(publishedVersions(s3Run.stdout)).toEqual(golden);
  });

  it('the manifest in the bucket points at day 2, and the signal rows equal the blobs it points at', async () => {
    const manifest = JSON.parse((await store.getText('prod/registry/current/demo/home/manifest.json'))!.text);
    expect(manifest.current.popularity).toBe(`s3://artifacts/prod/demo/home/popularity/${goldenVersion('2026-01-02', 'popularity')}.json`);
    for (const day of ['2026-01-01', '2026-01-02']) {
      const pop = JSON.parse((await store.getText(`prod/demo/home/popularity/${goldenVersion(day, 'popularity')}.json`))!.text) as {
        items: Array<{ item_id: string; count: number }>;
      };
      const cooc = JSON.parse((await store.getText(`prod/demo/home/cooc/${goldenVersion(day, 'cooc')}.json`))!.text) as {
        neighbors: Array<{ item_id: string; items: Array<{ item_id: string; count: number }> }>;
      };
      const rows = await pg.client.query<{ item_id: string; score: string }>(`SELECT item_id, score::text AS score FROM item_popularity_daily WHERE day = $1`, [
        day,
      ]);
      const byId = (a: { item_id: string }, b: { item_id: string }) => (a.item_id < b.item_id ? -1 : a.item_id > b.item_id ? 1 : 0);
      const expected = pop.items.map((i) => ({ item_id: i.item_id, score: `${i.count}.000000` }));
      expect(rows.rows.sort(byId)).toEqual(expected.sort(byId));
      const covisit = await pg.client.query<{ n: string }>(`SELECT count(*)::text AS n FROM item_covisit_daily WHERE day = $1`, [day]);
      expect(Number(covisit.rows[0]?.n)).toBe(cooc.neighbors.reduce((n, r) => n + r.items.length, 0));
    }
  });
});
