/**
 * The setting of the Kubernetes simulations (test/deploy/k8s-sim.test.ts, the 12-day
 * `npm run sim:k8s`): an S3 test server (s3rver behind the conditional-write front), days of
 * generated raw events (bench/gen.ts) uploaded to it, the chart rendered with a config that
 * points at it, the Secret the pods read their credentials from, and a one-machine `run` of
 * the same days as the reference (a child process, timed).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate, GEN_DEFAULTS } from '../../bench/gen';
import { addDays } from '../../src/days';
import { S3Bucket } from '../../src/io/store/s3/bucket';
import { BIN, publishedLines, type PublishedLine } from './cli-harness';
import { renderChart, type K8sObject } from './helm';
import { shellQuote, tempDir } from './helpers';
import { ACCESS_KEY, SECRET_KEY, startS3, type TestS3 } from './s3-server';

export const SECRET_NAME = 'sim-credentials';
export const TENANT = 'demo';
export const SURFACE = 'home';
export const KINDS = ['popularity', 'cooc', 'implicit', 'session_seq'];

export interface Timed {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  /** User + system CPU of the process and its threads and children. */
  cpuMs: number;
}

/** Runs `argv` under sh and reads its children's CPU time with `times`. */
export function timedProcess(argv: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Timed> {
  const script = `${argv.map(shellQuote).join(' ')}; rc=$?; times >&3; exit $rc`;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('sh', ['-c', script], {
      cwd: opts.cwd,
      env: { ...process.env, NODE_OPTIONS: '', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let times = '';
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    (child.stdio[3] as NodeJS.ReadableStream).setEncoding('utf8').on('data', (s: string) => (times += s));
    child.on('error', reject);
    child.on('close', (code) => {
      const secs = [...(times.trim().split('\n')[1] ?? '').matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
      resolve({ code, stdout, stderr, wallMs: performance.now() - started, cpuMs: secs.reduce((a, b) => a + b, 0) * 1000 });
    });
  });
}

export interface Scenario {
  s3: TestS3;
  dir: string;
  start: string;
  end: string;
  days: number;
  /** The chart's config for the pods: everything under s3://artifacts/<prefix>. */
  config(prefix: string): Record<string, unknown>;
  /** The Secret the pods' envFrom names. */
  secrets: Record<string, Record<string, string>>;
  /** helm template of the backfill (values: examples' shape, config under `prefix`, extra --set-json). */
  backfill(prefix: string, extra?: Record<string, unknown>): K8sObject[];
  /** helm template of the daily job for `pairs`. */
  daily(prefix: string, pairs: Array<{ tenant: string; surface: string }>, extra?: Record<string, unknown>): K8sObject[];
  /** One machine: `run` over the days with the same config (under `prefix`), timed. */
  reference(prefix: string, workers: number): Promise<Timed & { published: PublishedLine[] }>;
  /** The store's current manifest of demo/home under `prefix` (text), or null. */
  manifest(prefix: string): Promise<string | null>;
  close(): Promise<void>;
}

/**
 * `days` days of `events` generated events for demo/home (and the other `surfaces`), ending
 * yesterday (UTC) unless `start` is given: the daily job's `run --incremental` goes up to
 * yesterday.
 */
export async function startScenario(opts: {
  days: number;
  events: number;
  start?: string;
  surfaces?: string[];
  /** Day `day` (0-based) of `surface` gets one malformed line at its end. */
  badLine?: { surface: string; day: number };
}): Promise<Scenario> {
  const start = opts.start ?? addDays(new Date().toISOString().slice(0, 10), -opts.days);
  const end = addDays(start, opts.days - 1);
  const tmp = tempDir('recsys-k8s-sim-');
  const s3 = await startS3();
  const s3cfg = (bucket: string, prefix: string) => ({
    endpoint: s3.endpoint,
    bucket,
    prefix,
    region: 'us-east-1',
    access_key: '',
    secret_key: '',
    use_ssl: false,
  });
  const raw = new S3Bucket({ ...s3cfg('raw', 'exposure'), access_key: ACCESS_KEY, secret_key: SECRET_KEY });
  for (const surface of opts.surfaces ?? [SURFACE]) {
    const files = await generate({
      ...GEN_DEFAULTS,
      out: join(tmp.dir, 'raw'),
      surface,
      days: opts.days,
      events: opts.events,
      users: Math.max(100, opts.events / 5),
      items: Math.max(100, opts.events / 10),
      start,
    });
    for (const [d, f] of files.entries()) {
      const bad = opts.badLine?.surface === surface && opts.badLine.day === d ? '{"v":1,"ts":"not a time"}\n' : '';
      await raw.putIfAbsent(raw.key(`${TENANT}/${surface}/${f.slice(f.lastIndexOf('/') + 1)}`), Buffer.concat([readFileSync(f), Buffer.from(bad)]));
    }
  }

  const config = (prefix: string) => ({
    out_dir: '/tmp/out',
    artifact_kinds: KINDS,
    raw_source: { type: 's3', s3: s3cfg('raw', 'exposure') },
    object_store: { type: 's3', s3: s3cfg('artifacts', prefix) },
    canonical_dir: `s3://artifacts/${prefix}/canonical`,
    artifacts_dir: `s3://artifacts/${prefix}/staging`,
    checkpoint_dir: `s3://artifacts/${prefix}/checkpoints`,
    limits: { max_neighbors_per_item: 20, max_items_per_artifact: 100000, max_items_per_user: 1000 },
  });
  const common = (prefix: string) => ({
    config: config(prefix),
    'credentials.secretName': SECRET_NAME,
    workers: 1,
  });
  const store = new S3Bucket({ ...s3cfg('artifacts', ''), access_key: ACCESS_KEY, secret_key: SECRET_KEY });

  return {
    s3,
    dir: tmp.dir,
    start,
    end,
    days: opts.days,
    config,
    secrets: { [SECRET_NAME]: { AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY } },
    backfill: (prefix, extra = {}) =>
      renderChart({
        release: 'sim',
        setJson: {
          ...common(prefix),
          'daily.enabled': false,
          backfill: { enabled: true, tenant: TENANT, surface: SURFACE, start, end, ingest: { parallelism: 2 }, compute: { parallelism: 2 } },
          ...extra,
        },
      }),
    daily: (prefix, pairs, extra = {}) =>
      renderChart({ release: 'sim', setJson: { ...common(prefix), daily: { enabled: true, start, parallelism: 2, pairs }, ...extra } }),
    reference: async (prefix, workers) => {
      const file = join(tmp.dir, `reference-${prefix}.json`);
      writeFileSync(file, JSON.stringify({ ...config(prefix), out_dir: join(tmp.dir, `out-${prefix}`) }));
      const r = await timedProcess(
        [
          process.execPath,
          BIN,
          'run',
          '--config',
          file,
          '--tenant',
          TENANT,
          '--surface',
          SURFACE,
          '--start',
          start,
          '--end',
          end,
          '--workers',
          String(workers),
        ],
        {
          cwd: tmp.dir,
          env: { AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY },
        },
      );
      return { ...r, published: publishedLines(r.stdout) };
    },
    manifest: async (prefix) => (await store.getText(`${prefix}/registry/current/${TENANT}/${SURFACE}/manifest.json`))?.text ?? null,
    close: async () => {
      await s3.close();
      tmp.cleanup();
    },
  };
}
