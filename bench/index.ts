/**
 * npm run bench [-- --only kernels|e2e] [--sizes 1000000,5000000] [--no-duckdb] [--backfill-days 30] [--repeat 3]
 *
 * 1. Kernel and stage suites (tinybench) on a seeded 200k-event day built outside the
 *    timed region; the first run of each task is reported apart from steady state.
 * 2. End-to-end: generated days (cached under .bench/data), the full `run` with
 *    --workers 1 and with every core, per-stage times, events/s, events/s per core,
 *    speedup and peak RSS; DuckDB (load once, then the four queries) side by side;
 *    optionally a backfill of N days × 1M events (wall time and peak RSS, 1 vs all workers).
 *    With --repeat N every end-to-end run (and DuckDB) runs N times, the worker counts
 *    interleaved, and the tables show medians (peak RSS: the largest): on a shared, noisy
 *    machine one run of each is not a measurement.
 * Prints tables and writes every figure to .bench/results/<timestamp>.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { parseConfig } from '../src/config/load';
import { indexDay } from '../src/kernels/day-index';
import { publishDay } from '../src/engine/publisher';
import { userPayload } from '../src/io/artifacts/payloads';
import type { ArtifactHeader } from '../src/io/artifacts/codec';
import { encodeArtifact } from '../src/io/artifacts/codec';
import { decodeCanonical, encodeCanonical } from '../src/io/canonical/arrow-codec';
import { CanonicalDayBuilder } from '../src/io/canonical/builder';
import type { CanonicalDay } from '../src/io/canonical/day';
import { parseBlock } from '../src/io/parse/scanner';
import { parseExposureLine } from '../src/io/parse/exposure-line';
import { quoteAll } from '../src/io/artifacts/go-json';
import { readLineBlocks } from '../src/io/sources/lines';
import { coocRows, itemRange } from '../src/kernels/cooc';
import { implicitRows } from '../src/kernels/implicit';
import { itemCounts } from '../src/kernels/popularity';
import { sessionSeqRows } from '../src/kernels/session-seq';
import { rankCodes, rankPositive } from '../src/kernels/topk';
import { generate, GEN_DEFAULTS } from './gen';
import { runArgs } from './run-args';
import { addDays } from '../src/days';

const ROOT = join(__dirname, '..', '..');
const BENCH_DIR = join(ROOT, '.bench');
const DAY = '2026-01-01';
const DAY_START = Date.UTC(2026, 0, 1) * 1000;

const BENCH_USAGE = `usage: npm run bench [-- options]   (or: node dist/bench/index.js [options])

Kernel and stage suites (tinybench) on a 200k-event day, then the full \`run\` end to end on
generated days (1 worker and every core), with DuckDB side by side. Figures go to
.bench/results/<timestamp>.json.

  --only kernels|e2e      run one part only
  --sizes N,M             events per day of the end-to-end runs (default 1000000,5000000)
  --no-duckdb             skip DuckDB
  --backfill-days D       also a backfill of D days × 1M events (default 0: none)
  --repeat R              every end-to-end run R times, medians shown (default 1)
  --help, -h              print this and exit
`;

function args(): { only?: string; sizes: number[]; duckdb: boolean; backfillDays: number; repeat: number } {
  const a = process.argv.slice(2);
  if (a.includes('--help') || a.includes('-h')) {
    process.stdout.write(BENCH_USAGE);
    process.exit(0);
  }
  const get = (k: string) => {
    const i = a.indexOf(k);
    return i >= 0 ? a[i + 1] : undefined;
  };
  return {
    only: get('--only'),
    sizes: (get('--sizes') ?? '1000000,5000000').split(',').map(Number),
    duckdb: !a.includes('--no-duckdb'),
    backfillDays: Number(get('--backfill-days') ?? 0),
    repeat: Math.max(1, Number(get('--repeat') ?? 1)),
  };
}

/** Cached generated days of `events` events each; users/items scale with the size. Returns the first day's file. */
async function dataset(events: number, days = 1): Promise<string> {
  const dir = join(BENCH_DIR, 'data', days === 1 ? String(events) : `${events}x${days}`);
  const file = join(dir, 'demo', 'home', `exposure.${DAY}.jsonl`);
  const last = join(dir, 'demo', 'home', `exposure.${addDays(DAY, days - 1)}.jsonl`);
  if (!existsSync(last)) {
    process.stderr.write(`generating ${days} day(s) × ${events} events into ${dir} ...\n`);
    await generate({ ...GEN_DEFAULTS, out: dir, days, events, users: Math.max(1000, events / 5), items: Math.max(1000, events / 10), start: DAY });
  }
  return file;
}

async function loadBlocks(file: string): Promise<Buffer[]> {
  const blocks: Buffer[] = [];
  for await (const b of readLineBlocks(file, 8 << 20)) blocks.push(b);
  return blocks;
}

const params = { tenant: 'demo', surface: 'home', dayStart: DAY_START, dayEnd: DAY_START + 86_400_000_000, failFast: true, firstBlock: true };

function canonicalOf(blocks: Buffer[]): CanonicalDay {
  const builder = new CanonicalDayBuilder();
  for (const b of blocks) builder.addBlock(parseBlock(b, params).parsed, 'demo', 'home');
  return builder.finish();
}

interface KernelFigure {
  name: string;
  first_ms: number;
  mean_ms: number;
  p50_ms: number;
  samples: number;
  events_per_s: number | null;
}

async function kernels(): Promise<KernelFigure[]> {
  const file = await dataset(200_000);
  const blocks = await loadBlocks(file);
  const block = blocks[0];
  const day = canonicalOf(blocks);
  const ipc = encodeCanonical(day);
  const index = indexDay(day);
  const n = day.rows;
  const items = quoteAll(day.item.utf8);
  const users = quoteAll(day.user.utf8);
  const implicit = implicitRows(index.userOffsets, index.userItems, index.nItems, 0, index.nUsers, 500);
  const header: ArtifactHeader = {
    artifactType: 'implicit',
    payloadField: 'users',
    tenant: 'demo',
    surface: 'home',
    segment: '',
    window: { start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z' },
  };
  const candidates = Int32Array.from({ length: index.nItems }, (_, i) => i);
  const blockLines = block
    .toString('utf8')
    .split('\n')
    .filter((l) => l.length > 0);
  const pubDir = mkdtempSync(join(tmpdir(), 'bench-publish-'));
  // A fresh registry and store per round: every round publishes for real.
  const pubConfig = () => parseConfig({ out_dir: join(pubDir, String(publishRound++)), raw_source: { dir: pubDir } }, pubDir);
  const encoded = encodeArtifact(header, userPayload(implicit, users, items), '2026-01-01T00:00:00Z');
  let publishRound = 0;

  const tasks: Array<[string, () => unknown, number | null]> = [
    [`parse: 8 MiB JSONL block, byte scanner (${blockLines.length} lines)`, () => parseBlock(block, params), blockLines.length],
    [
      `parse: same block, JSON.parse per line + string dictionaries (alternative)`,
      () => {
        const builder = new CanonicalDayBuilder();
        for (const l of blockLines) {
          const r = parseExposureLine(l);
          if (r.ok) builder.add(r.event);
        }
        return builder.finish();
      },
      blockLines.length,
    ],
    [`arrow: encode partition (${n} events)`, () => encodeCanonical(day), n],
    [`arrow: decode partition`, () => decodeCanonical(ipc, 'bench'), n],
    [`index: sessions and users (CSR)`, () => indexDay(day), n],
    [`popularity: counts + rank`, () => rankPositive(itemCounts(day.item.codes, index.nItems), 1000), n],
    [`cooc: all items, support 2, 50 neighbours`, () => coocRows(index.sessions, itemRange(0, index.nItems), 2, 50), n],
    [`implicit: all users, 500 per user`, () => implicitRows(index.userOffsets, index.userItems, index.nItems, 0, index.nUsers, 500), n],
    [`session_seq: all users, 500 per user`, () => sessionSeqRows(index.userOffsets, index.userItems, index.userTs, index.nItems, 0, index.nUsers, 500), n],
    [`top-k: rank ${index.nItems} items, k=1000`, () => rankCodes(candidates, index.itemCounts, index.nItems, 1000), null],
    [
      `json: encode + hash implicit (${(encoded.blob.length / 1e6).toFixed(1)} MB)`,
      () => encodeArtifact(header, userPayload(implicit, users, items), '2026-01-01T00:00:00Z'),
      n,
    ],
    [
      `publish: blob + check + record + manifest`,
      () =>
        publishDay(
          pubConfig(),
          'demo',
          'home',
          [
            {
              expect: { ...header, version: encoded.version, maxRows: Infinity, maxItemsPerRow: 500 },
              blob: encoded.blob,
              builtAt: 'x',
              rows: 'skip',
              rowCount: null,
            },
          ],
          () => new Date(),
        ),
      null,
    ],
  ];
  const figures: KernelFigure[] = [];
  for (const [name, fn, events] of tasks) {
    const t0 = performance.now();
    await fn();
    const first = performance.now() - t0;
    const bench = new Bench({ time: 1500, iterations: 5, warmup: false });
    bench.add(name, fn);
    await bench.run();
    const r = bench.tasks[0].result as unknown as { latency: { mean: number; p50: number; samplesCount?: number; samples?: number[] } };
    const samples = r.latency.samplesCount ?? r.latency.samples?.length ?? 0;
    figures.push({
      name,
      first_ms: first,
      mean_ms: r.latency.mean,
      p50_ms: r.latency.p50,
      samples,
      events_per_s: events ? events / (r.latency.mean / 1000) : null,
    });
    process.stderr.write(`  ${name}: ${r.latency.mean.toFixed(1)} ms\n`);
  }
  rmSync(pubDir, { recursive: true, force: true });
  return figures;
}

interface RunFigure {
  events: number;
  workers: number;
  wall_ms: number;
  stages_ms: Record<string, number>;
  events_per_s: number;
  events_per_s_per_core: number;
  peak_rss_mb: number | null;
  /** With --repeat: every run's wall time (the figures above are medians). */
  wall_ms_runs?: number[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Repeated runs of one configuration as one figure: median times, largest RSS. */
function medianRun(runs: RunFigure[]): RunFigure {
  const wall = median(runs.map((r) => r.wall_ms));
  const stages = Object.fromEntries(Object.keys(runs[0].stages_ms).map((k) => [k, median(runs.map((r) => r.stages_ms[k]))]));
  const rss = runs.map((r) => r.peak_rss_mb).filter((x): x is number => x !== null);
  const { events, workers } = runs[0];
  return {
    events,
    workers,
    wall_ms: wall,
    stages_ms: stages,
    events_per_s: events / (wall / 1000),
    events_per_s_per_core: events / (wall / 1000) / workers,
    peak_rss_mb: rss.length > 0 ? Math.max(...rss) : null,
    ...(runs.length > 1 && { wall_ms_runs: runs.map((r) => r.wall_ms) }),
  };
}

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

/** Runs a command; returns wall ms, stdout and peak RSS (MB) via GNU time when present. */
function timed(cmd: string, argv: string[]): { ms: number; stdout: string; rssMb: number | null } {
  const t0 = performance.now();
  const r = TIME
    ? spawnSync(TIME, ['-f', '__RSS_KB=%M', cmd, ...argv], { encoding: 'utf8', maxBuffer: 1 << 26 })
    : spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  const rss = /__RSS_KB=(\d+)/.exec(r.stderr ?? '');
  return { ms, stdout: r.stdout, rssMb: rss ? Number(rss[1]) / 1024 : null };
}

function runPipeline(file: string, events: number, workers: number, days = 1): RunFigure {
  const out = mkdtempSync(join(tmpdir(), 'bench-run-'));
  const config = join(out, 'config.json');
  const big = 100_000_000;
  writeFileSync(
    config,
    JSON.stringify({
      raw_source: { type: 'fs', dir: join(file, '..', '..', '..') },
      out_dir: out,
      artifact_kinds: ['popularity', 'cooc', 'implicit', 'session_seq'],
      limits: { max_events_per_run: big, max_sessions_per_run: big, max_users_per_run: big, max_distinct_items_per_run: big },
    }),
  );
  const end = addDays(DAY, days - 1);
  const r = timed(process.execPath, [join(ROOT, 'bin', 'recsys-pipelines.js'), ...runArgs(config, DAY, end, [], { workers })]);
  rmSync(out, { recursive: true, force: true });
  // Stage times summed over the days of the summary table.
  const ms = (s: string) => (s.endsWith('ms') ? Number(s.slice(0, -2)) : Number(s.slice(0, -1)) * 1000);
  const [ingest, validate, compute, publish] = [0, 1, 2, 3].map((k) =>
    r.stdout
      .split('\n')
      .filter((l) => /^\d{4}-\d\d-\d\d /.test(l))
      .reduce((sum, row) => sum + ms(row.trim().split(/\s+/)[6 + k]), 0),
  );
  events *= days;
  return {
    events,
    workers,
    wall_ms: r.ms,
    stages_ms: { ingest, validate, compute, publish },
    events_per_s: events / (r.ms / 1000),
    events_per_s_per_core: events / (r.ms / 1000) / workers,
    peak_rss_mb: r.rssMb,
  };
}

function duckdb(file: string, threads: number): Record<string, number> & { peak_rss_mb: number | null } {
  const out = mkdtempSync(join(tmpdir(), 'bench-duckdb-'));
  const r = timed(process.execPath, [join(__dirname, 'duckdb.js'), file, out, String(threads)]);
  rmSync(out, { recursive: true, force: true });
  const figures = JSON.parse(r.stdout.trim().split('\n').pop() as string) as ReturnType<typeof duckdb>;
  figures.peak_rss_mb = r.rssMb;
  return figures;
}

function table(rows: Array<Record<string, string | number | null>>): string {
  const cols = Object.keys(rows[0]);
  const fmt = (v: string | number | null) => (v === null ? '-' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(1)) : v);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => fmt(r[c]).length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(width[i]) : c.padStart(width[i]))).join('  ');
  return [line(cols), ...rows.map((r) => line(cols.map((c) => fmt(r[c]))))].join('\n');
}

async function main(): Promise<void> {
  const a = args();
  const machine = { cpus: availableParallelism(), cpu_model: cpus()[0]?.model ?? '?', mem_gb: Math.round(totalmem() / 2 ** 30), node: process.version };
  const results: Record<string, unknown> = { at: new Date().toISOString(), machine };
  console.log(`machine: ${machine.cpus} cores (${machine.cpu_model}), ${machine.mem_gb} GiB, node ${machine.node}`);
  if (a.only !== 'e2e') {
    console.log('\nkernels and stages (200k-event day; first run vs steady state)');
    const figures = await kernels();
    results.kernels = figures;
    console.log(
      table(
        figures.map((f) => ({
          suite: f.name,
          'first ms': f.first_ms,
          'mean ms': f.mean_ms,
          'p50 ms': f.p50_ms,
          samples: f.samples,
          'events/s': f.events_per_s === null ? null : Math.round(f.events_per_s),
        })),
      ),
    );
  }
  if (a.only !== 'kernels') {
    const runs: RunFigure[] = [];
    const duck: Array<Record<string, unknown>> = [];
    for (const events of a.sizes) {
      const file = await dataset(events);
      const byWorkers = new Map<number, RunFigure[]>();
      const duckRuns: Array<Record<string, number | null>> = [];
      for (let rep = 1; rep <= a.repeat; rep++) {
        const of = a.repeat > 1 ? ` (run ${rep} of ${a.repeat})` : '';
        for (const workers of [...new Set([1, machine.cpus])]) {
          process.stderr.write(`run ${events} events, ${workers} worker(s)${of} ...\n`);
          byWorkers.set(workers, [...(byWorkers.get(workers) ?? []), runPipeline(file, events, workers)]);
        }
        if (a.duckdb) {
          process.stderr.write(`duckdb ${events} events${of} ...\n`);
          duckRuns.push(duckdb(file, machine.cpus));
        }
      }
      for (const figures of byWorkers.values()) runs.push(medianRun(figures));
      if (duckRuns.length > 0) {
        const keys = Object.keys(duckRuns[0]).filter((k) => k !== 'peak_rss_mb');
        const med = Object.fromEntries(keys.map((k) => [k, median(duckRuns.map((d) => d[k] as number))]));
        const rss = Math.max(...duckRuns.map((d) => d.peak_rss_mb ?? 0));
        duck.push({
          events,
          threads: machine.cpus,
          ...med,
          peak_rss_mb: rss || null,
          ...(duckRuns.length > 1 && { queries_ms_runs: duckRuns.map((d) => d.queries_ms) }),
        });
      }
    }
    results.e2e = runs;
    results.duckdb = duck;
    if (a.backfillDays > 0) {
      const perDay = 1_000_000;
      const file = await dataset(perDay, a.backfillDays);
      const backfill: RunFigure[] = [];
      for (const workers of [...new Set([1, machine.cpus])]) {
        process.stderr.write(`backfill ${a.backfillDays} days × ${perDay} events, ${workers} worker(s) ...\n`);
        backfill.push(runPipeline(file, perDay, workers, a.backfillDays));
      }
      results.backfill = backfill;
      console.log(`\nbackfill: ${a.backfillDays} days × ${perDay} events`);
      console.log(
        table(
          backfill.map((r) => ({
            workers: r.workers,
            'wall s': r.wall_ms / 1000,
            'events/s': Math.round(r.events_per_s),
            'peak RSS MB': r.peak_rss_mb === null ? null : Math.round(r.peak_rss_mb),
          })),
        ),
      );
    }
    console.log('\nend to end: full run (ingest → canonical → validate → compute → publish), 4 event artifacts');
    if (a.repeat > 1) console.log(`medians of ${a.repeat} runs each, worker counts interleaved; peak RSS is the largest`);
    console.log(
      table(
        runs.map((r) => ({
          events: r.events,
          workers: r.workers,
          'wall s': r.wall_ms / 1000,
          'ingest s': r.stages_ms.ingest / 1000,
          'validate s': r.stages_ms.validate / 1000,
          'compute s': r.stages_ms.compute / 1000,
          'publish s': r.stages_ms.publish / 1000,
          'events/s': Math.round(r.events_per_s),
          'events/s/core': Math.round(r.events_per_s_per_core),
          'peak RSS MB': r.peak_rss_mb === null ? null : Math.round(r.peak_rss_mb),
          ...(r.wall_ms_runs && { 'each run, wall s': r.wall_ms_runs.map((x) => (x / 1000).toFixed(1)).join(' ') }),
        })),
      ),
    );
    for (const events of a.sizes) {
      const one = runs.find((r) => r.events === events && r.workers === 1);
      const all = runs.find((r) => r.events === events && r.workers === machine.cpus);
      if (one && all && all !== one) {
        const s = (k: string) => (one.stages_ms[k] / all.stages_ms[k]).toFixed(2);
        console.log(
          `speedup ${events} events, 1 → ${machine.cpus} workers: end to end ${(one.wall_ms / all.wall_ms).toFixed(2)}x, ingest ${s('ingest')}x, compute ${s('compute')}x`,
        );
      }
      const d = duck.find((x) => x.events === events) as
        { load_ms: number; queries_ms: number; peak_rss_mb: number | null; queries_ms_runs?: number[] } | undefined;
      if (d && all) {
        console.log(
          `duckdb ${events} events (${machine.cpus} threads): load ${(d.load_ms / 1000).toFixed(1)} s, four queries ${(d.queries_ms / 1000).toFixed(1)} s${d.queries_ms_runs ? ` (each run: ${d.queries_ms_runs.map((x) => (x / 1000).toFixed(1)).join(' ')})` : ''}, peak RSS ${d.peak_rss_mb === null ? '-' : Math.round(d.peak_rss_mb)} MB; recsys full run ${(all.wall_ms / 1000).toFixed(1)} s → ratio duckdb queries / recsys run = ${(d.queries_ms / all.wall_ms).toFixed(2)}x`,
        );
      }
    }
  }
  mkdirSync(join(BENCH_DIR, 'results'), { recursive: true });
  const path = join(BENCH_DIR, 'results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, JSON.stringify(results, null, 2));
  console.log(`\nfigures written to ${path}`);
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
});
