/**
 * The S3 raw source (`raw_source.type: "s3"`, docs/storage-contract.md §2) against a real S3 server on
 * loopback (s3rver, see s3-server.ts), through the real CLI: per-day objects, plain and
 * gzipped, streamed through the same parser and bad-input policy as files.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3Config } from '../../../src/config/types';
import { S3Bucket } from '../../../src/io/store/s3/bucket';
import { cli, events, ev, publishedLines, STACK_FRAME } from '../../support/cli-harness';
import { EXAMPLE_EXPECTED, expectSameBytes, REPO_ROOT, SAMPLE_CATALOG, SAMPLE_RAW, tempDir } from '../../support/helpers';
import type { TestS3 } from '../../support/s3-server';
import { ACCESS_KEY, SECRET_KEY, startS3 } from '../../support/s3-server';

const golden = readFileSync(join(EXAMPLE_EXPECTED, 'versions.txt'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => l.split(' ') as [string, string, string]);

let srv: TestS3 | null = null;
try {
  srv = await startS3();
} catch (err) {
  console.warn(`test/io/sources/s3.test.ts: skipped, the S3 test server (s3rver) could not start: ${(err as Error).message}`);
}

describe.skipIf(srv === null)('S3 raw source (s3rver on loopback)', () => {
  const s3 = srv as TestS3;
  const bucket = `raw-${process.pid}`;
  const prefix = 'exposures/v1';
  let tmp: { dir: string; cleanup: () => void };
  let client: S3Bucket;
  const s3cfg = (): S3Config => ({
    endpoint: s3.endpoint,
    bucket,
    access_key: ACCESS_KEY,
    secret_key: SECRET_KEY,
    region: 'us-east-1',
    prefix,
    use_ssl: false,
  });
  const upload = (surface: string, name: string, body: string | Buffer) => client.putIfAbsent(`${prefix}/demo/${surface}/${name}`, body);

  /** configs/local.json with raw input from S3 and every output under the temp folder. */
  function writeConfig(name: string, over: Record<string, unknown> = {}): { file: string; out: string } {
    const config = JSON.parse(readFileSync(join(REPO_ROOT, 'configs', 'local.json'), 'utf8'));
    const { region: _region, ...s3 } = s3cfg();
    config.raw_source = { type: 's3', s3 };
    config.catalog.path = SAMPLE_CATALOG;
    config.out_dir = join(tmp.dir, name);
    config.engine = { workers: 1 }; // one worker thread per run: these tests are not about parallelism (see determinism.test.ts)
    Object.assign(config, over);
    const file = join(tmp.dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(config));
    return { file, out: config.out_dir };
  }
  const runArgs = (config: string, surface: string, start: string, end: string, segment = 'web') => [
    'run',
    '--config',
    config,
    '--tenant',
    'demo',
    '--surface',
    surface,
    '--segment',
    segment,
    '--start',
    start,
    '--end',
    end,
  ];
  const partition = (out: string, surface: string, day: string) => join(out, 'canonical', 'demo', surface, 'exposures', `${day}.arrow`);

  beforeAll(async () => {
    tmp = tempDir('recsys-s3src-');
    client = new S3Bucket(s3cfg());
    // The worked example: day 1 as plain JSONL, day 2 gzipped.
    const day1 = readFileSync(join(SAMPLE_RAW, 'demo', 'home', 'exposure.2026-01-01.jsonl'));
    const day2 = readFileSync(join(SAMPLE_RAW, 'demo', 'home', 'exposure.2026-01-02.jsonl'));
    await upload('home', 'exposure.2026-01-01.jsonl', day1);
    await upload('home', 'exposure.2026-01-02.jsonl.gz', gzipSync(day2));
  });
  afterAll(async () => {
    await s3.close();
    tmp.cleanup();
  });

  it('a run reading the worked example from S3 (plain and .gz) publishes the golden versions', async () => {
    const { file } = writeConfig('golden');
    const r = await cli(runArgs(file, 'home', '2026-01-01', '2026-01-02'));
    expect(r.code, r.stderr).toBe(0);
    const published = publishedLines(r.stdout).map((p) => [p.type, p.day, p.version]);
    expect(published.sort()).toEqual([...golden].sort());
  });

  it('--dry-run names the object each day reads (plain, .gz, or none)', async () => {
    const { file } = writeConfig('plan');
    const r = await cli([...runArgs(file, 'home', '2026-01-01', '2026-01-03'), '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`2026-01-01 .*s3://${bucket}/${prefix}/demo/home/exposure\\.2026-01-01\\.jsonl\n`));
    expect(r.stdout).toMatch(new RegExp(`2026-01-02 .*s3://${bucket}/${prefix}/demo/home/exposure\\.2026-01-02\\.jsonl\\.gz\n`));
    expect(r.stdout).toMatch(/2026-01-03 .*missing → no events/);
  });

  it('the same versions as the filesystem source on the same events', async () => {
    const fromS3 = writeConfig('same-s3');
    const fromFs = writeConfig('same-fs', { raw_source: { type: 'fs', dir: SAMPLE_RAW } });
    const a = await cli(runArgs(fromS3.file, 'home', '2026-01-01', '2026-01-02', ''));
    const b = await cli(runArgs(fromFs.file, 'home', '2026-01-01', '2026-01-02', ''));
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(publishedLines(a.stdout)).toEqual(publishedLines(b.stdout));
    expectSameBytes(readFileSync(partition(fromS3.out, 'home', '2026-01-02')), readFileSync(partition(fromFs.out, 'home', '2026-01-02')), 'partition');
  });

  it('a missing day object is a day without events, not an error: not published by default, published empty with --allow-empty', async () => {
    const { file, out } = writeConfig('missing');
    const blocked = await cli(runArgs(file, 'home', '2026-01-03', '2026-01-03'));
    expect(blocked.code, blocked.stderr).toBe(3);
    expect(blocked.stderr).toContain(`raw input missing: no raw input for 2026-01-03 (no s3://${bucket}/${prefix}/demo/home/exposure.2026-01-03.jsonl or .gz)`);
    const r = await cli([...runArgs(file, 'home', '2026-01-03', '2026-01-03'), '--allow-empty']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/2026-01-03 +0 +0 /); // no lines, no events
    expect(publishedLines(r.stdout)).toHaveLength(5);
    expect(existsSync(partition(out, 'home', '2026-01-03'))).toBe(false);
  });

  it('a bad line in an object fails the day naming the object and line; nothing is written', async () => {
    const lines = events('2026-01-01', 5, () => ({ surface: 'badline' }));
    lines[2] = '{"v":1,"ts":"2026-01-01T08:00:00Z",'; // truncated JSON on line 3
    await upload('badline', 'exposure.2026-01-01.jsonl.gz', gzipSync(lines.join('\n') + '\n'));
    const { file, out } = writeConfig('badline');
    const r = await cli(runArgs(file, 'badline', '2026-01-01', '2026-01-01'));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`bad input: s3://${bucket}/${prefix}/demo/badline/exposure.2026-01-01.jsonl.gz:3:`);
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(existsSync(partition(out, 'badline', '2026-01-01'))).toBe(false);
  });

  it('with the quarantine policy, bad lines of an object go to the rejects file with their line numbers', async () => {
    const lines = events('2026-01-01', 200, () => ({ surface: 'quarantine' }));
    lines[9] = ev({ surface: 'quarantine', rank: -1 });
    await upload('quarantine', 'exposure.2026-01-01.jsonl', lines.join('\n') + '\n');
    const { file, out } = writeConfig('quarantine', { ingest: { bad_line_policy: 'quarantine', max_rejected_fraction: 0.1 } });
    const r = await cli(runArgs(file, 'quarantine', '2026-01-01', '2026-01-01'));
    expect(r.code, r.stderr).toBe(0);
    const rejects = readFileSync(join(out, 'canonical', 'demo', 'quarantine', 'exposures', '2026-01-01.rejects.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(rejects.map((l) => JSON.parse(l))).toEqual([{ line: 10, reason: expect.stringContaining('rank'), raw: lines[9] }]);
  });

  it('an unreachable store: exit 1 naming the endpoint and the key to read, nothing written', async () => {
    const { file, out } = writeConfig('down');
    s3.down = true;
    try {
      const r = await cli(runArgs(file, 'home', '2026-01-01', '2026-01-01'), { env: { AWS_MAX_ATTEMPTS: '1' } });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('cannot reach the S3 endpoint');
      expect(r.stderr).toContain('raw_source.s3.endpoint');
      expect(r.stderr).not.toContain(STACK_FRAME);
      expect(existsSync(partition(out, 'home', '2026-01-01'))).toBe(false);
    } finally {
      s3.down = false;
    }
  });
});
