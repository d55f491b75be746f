/**
 * npm run bench:storage [-- --events 1000000] [--workers N]
 *
 * One generated day (cached under .bench/data, the same data as `npm run bench`) through
 * the real CLI with each storage backend, side by side on this machine:
 *   fs            raw files → filesystem store and registry (the default)
 *   s3+pg         raw object in S3 → S3 store and registry → Postgres signals (db.dsn)
 *   pg-source     raw rows in Postgres exposure_events → filesystem store
 * S3 is s3rver (the npm package the tests use) on loopback in this process, so its own
 * cost (a filesystem-backed JavaScript server) is part of the figure. Postgres is the
 * server of RECSYS_TEST_PG_DSN (default postgres://recsys:recsys@127.0.0.1:5432/recsys_test;
 * scripts/pg-test-server.sh starts one); a fresh database is created and dropped.
 * Uploading the object and loading the rows happen before the timed runs.
 *
 * The Postgres source has no user ids (docs/storage-contract.md §3), so its implicit and session_seq are
 * empty; its rows group each generated request's events (ts of the request's first event).
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from 'pg';
import { S3Bucket } from '../src/io/store/s3/bucket';
import { generate, GEN_DEFAULTS } from './gen';
import { runArgs } from './run-args';

/** s3rver ships no types: the part of its API this bench uses. */
type S3rverServer = { run(): Promise<{ port: number }>; close(): Promise<void> };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: { port: number; address: string; silent: boolean; directory: string }) => S3rverServer;

const ROOT = join(__dirname, '..', '..');
const DAY = '2026-01-01';
const PG_DSN = process.env.RECSYS_TEST_PG_DSN || 'postgres://recsys:recsys@127.0.0.1:5432/recsys_test';
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

interface Figure {
  backend: string;
  wall_ms: number;
  stages_ms: Record<string, number>;
  peak_rss_mb: number | null;
  lines: number;
}

/** The CLI as a child process (asynchronously: the S3 server lives in this process). */
function run(backend: string, config: string, workers: number): Promise<Figure> {
  const argv = [join(ROOT, 'bin', 'recsys-pipelines.js'), ...runArgs(config, DAY, DAY, [], { workers })];
  const [cmd, args] = TIME ? [TIME, ['-f', '__RSS_KB=%M', process.execPath, ...argv]] : [process.execPath, argv];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = performance.now() - t0;
      if (code !== 0) return reject(new Error(`${backend}: run failed (${code}): ${stderr}`));
      const row = stdout
        .split('\n')
        .find((l) => l.startsWith(DAY))!
        .trim()
        .split(/\s+/);
      const ms = (s: string) => (s.endsWith('ms') ? Number(s.slice(0, -2)) : Number(s.slice(0, -1)) * 1000);
      const [ingest, validate, compute, publish] = [6, 7, 8, 9].map((k) => ms(row[k]));
      const rss = /__RSS_KB=(\d+)/.exec(stderr);
      resolve({
        backend,
        wall_ms: wall,
        stages_ms: { ingest, validate, compute, publish },
        peak_rss_mb: rss ? Number(rss[1]) / 1024 : null,
        lines: Number(row[1]),
      });
    });
  });
}

/** Loads the day's JSONL into exposure_events: one row per generated request, its events as response.items. */
async function loadRows(client: Client, file: string): Promise<number> {
  const tenant = (await client.query<{ id: string }>(`INSERT INTO tenants (external_id, name) VALUES ('demo', 'demo') RETURNING id::text AS id`)).rows[0].id;
  let batch: Array<[string, string, string, string]> = [];
  let rows = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await client.query(
      `INSERT INTO exposure_events (tenant_id, occurred_at, request_id, surface, segment, session_id, algo_version, request, response)
       SELECT $1::uuid, ts::timestamptz, rid::uuid, 'home', '', sid, 'bench', '{}'::jsonb, resp::jsonb
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS r(ts, rid, sid, resp)`,
      [tenant, batch.map((b) => b[0]), batch.map((b) => b[1]), batch.map((b) => b[2]), batch.map((b) => b[3])],
    );
    rows += batch.length;
    batch = [];
  };
  let current: { request: string; ts: string; session: string; items: Array<{ item_id: string; rank: number }> } | null = null;
  const close = () => {
    if (current === null) return;
    const n = Number(current.request.slice(1));
    const uuid = `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
    batch.push([current.ts, uuid, current.session, JSON.stringify({ items: current.items })]);
  };
  for await (const line of createInterface({ input: createReadStream(file) })) {
    if (line === '') continue;
    const e = JSON.parse(line) as { ts: string; session_id: string; request_id: string; item_id: string; rank: number };
    if (current === null || current.request !== e.request_id) {
      close();
      if (batch.length >= 5000) await flush();
      current = { request: e.request_id, ts: e.ts, session: e.session_id, items: [] };
    }
    current.items.push({ item_id: e.item_id, rank: e.rank });
  }
  close();
  await flush();
  await client.query('ANALYZE exposure_events');
  return rows;
}

async function main(): Promise<void> {
  const events = flag('--events', 1_000_000);
  const workers = flag('--workers', availableParallelism());
  const machine = `${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`;
  console.log(`machine: ${machine}`);

  const dataDir = join(ROOT, '.bench', 'data', String(events));
  const file = join(dataDir, 'demo', 'home', `exposure.${DAY}.jsonl`);
  if (!existsSync(file)) {
    process.stderr.write(`generating ${events} events into ${dataDir} ...\n`);
    await generate({ ...GEN_DEFAULTS, out: dataDir, days: 1, events, users: Math.max(1000, events / 5), items: Math.max(1000, events / 10), start: DAY });
  }

  const tmp = mkdtempSync(join(tmpdir(), 'bench-storage-'));
  const s3dir = join(tmp, 's3rver');
  const s3rver = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3dir });
  const { port } = await s3rver.run();
  const s3 = { endpoint: `127.0.0.1:${port}`, access_key: 'S3RVER', secret_key: 'S3RVER', use_ssl: false };

  const admin = new Client({ connectionString: PG_DSN });
  await admin.connect();
  const version = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0].server_version;
  const database = `recsys_bench_${process.pid}`;
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(PG_DSN);
  url.pathname = `/${database}`;
  const dsn = url.toString();
  const client = new Client({ connectionString: dsn });
  await client.connect();
  try {
    await client.query(readFileSync(join(ROOT, 'test', 'fixtures', 'postgres-schema.sql'), 'utf8'));
    process.stderr.write('uploading the raw object to S3 ...\n');
    await new S3Bucket({ ...s3, bucket: 'raw', region: 'us-east-1', prefix: '' }).putIfAbsent(`demo/home/exposure.${DAY}.jsonl`, readFileSync(file));
    process.stderr.write('loading exposure_events ...\n');
    const rows = await loadRows(client, file);
    console.log(`postgres ${version} (database ${database}); s3rver on 127.0.0.1:${port}; ${events} events; ${rows} exposure_events rows`);

    const big = 100_000_000;
    const base = {
      artifact_kinds: ['popularity', 'cooc', 'implicit', 'session_seq'],
      limits: { max_events_per_run: big, max_sessions_per_run: big, max_users_per_run: big, max_distinct_items_per_run: big },
    };
    const configOf = (name: string, over: Record<string, unknown>) => {
      const path = join(tmp, `${name}.json`);
      writeFileSync(path, JSON.stringify({ ...base, out_dir: join(tmp, name), ...over }));
      return path;
    };
    const configs: Array<[string, string]> = [
      ['fs', configOf('fs', { raw_source: { type: 'fs', dir: dataDir } })],
      [
        's3+pg',
        configOf('s3pg', {
          raw_source: { type: 's3', s3: { ...s3, bucket: 'raw' } },
          object_store: { type: 's3', s3: { ...s3, bucket: 'artifacts', prefix: 'recsys' } },
          db: { dsn },
        }),
      ],
      ['pg-source', configOf('pgsrc', { raw_source: { type: 'postgres', postgres: { dsn } } })],
    ];
    const figures: Figure[] = [];
    for (const [backend, config] of configs) {
      process.stderr.write(`run ${backend} ...\n`);
      figures.push(await run(backend, config, workers));
    }
    const fs = figures[0];
    console.log(`\none ${events}-event day, --workers ${workers}, 4 event artifacts`);
    console.log('backend    wall s  ingest s  compute s  publish s  lines    peak RSS MB  vs fs');
    for (const f of figures) {
      const s = (k: string) => (f.stages_ms[k] / 1000).toFixed(1).padStart(k === 'ingest' ? 8 : 9);
      console.log(
        `${f.backend.padEnd(9)}  ${(f.wall_ms / 1000).toFixed(1).padStart(6)}  ${s('ingest')}  ${s('compute')}  ${s('publish')}  ${String(f.lines).padEnd(7)}  ${f.peak_rss_mb === null ? '-'.padStart(11) : String(Math.round(f.peak_rss_mb)).padStart(11)}  ${(f.wall_ms / fs.wall_ms).toFixed(2)}x`,
      );
    }
  } finally {
    await client.end();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
    await s3rver.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench:storage failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
});
