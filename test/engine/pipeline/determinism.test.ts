/**
 * docs/contract.md §5: identical input and limits → identical bytes, whatever the number of workers or
 * the shard size. One generated day large enough that shard_rows = 1024 cuts it into many
 * shards (and whose raw file spans several parse blocks, parsed in parallel and merged), run with workers 1/2/3 × shard_rows 1024/large and a fixed `now`: every published
 * blob (and staged copy) must be byte-identical across the six runs. Plus planRanges'
 * contract, directly.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardCount } from '../../../src/engine/pipeline/compute';
import { PARSE_BLOCK_BYTES } from '../../../src/engine/pipeline/ingest';
import type { RunSummary } from '../../../src/engine/pipeline/request';
import { runPipeline } from '../../../src/engine/pipeline/run';
import { planRanges } from '../../../src/engine/artifact-types/shards';
import { must, tempDir, testConfig } from '../../support/helpers';
import { generateDayLines, Rng, writeRawLayout } from '../../support/generate';
import { EVENT_KINDS } from '../../support/reference';

const TENANT = 'acme';
const SURFACE = 'home';
const DAY = '2026-02-14';
const NOW = new Date('2026-02-15T01:02:03Z');
const SETTINGS = [1, 2, 3].flatMap((workers) => [1024, 1_000_000].map((shard_rows) => ({ workers, shard_rows })));

/** Every file under `root`, relative path → bytes. */
function tree(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(root, p), readFileSync(p));
    }
  };
  walk(root);
  return out;
}

describe('determinism across workers and shard sizes', () => {
  const tmp = tempDir('recsys-determinism-');
  const rawDir = join(tmp.dir, 'raw');
  const runs: Array<{ setting: (typeof SETTINGS)[number]; out: string; summary: RunSummary }> = [];

  beforeAll(async () => {
    writeRawLayout(rawDir, TENANT, SURFACE, {
      [DAY]: generateDayLines(424242, {
        tenant: TENANT,
        surface: SURFACE,
        day: DAY,
        events: 20_000,
        users: 600,
        items: 400,
        maxSessionEvents: 30,
        padBytes: 1000,
      }),
    });
    for (const setting of SETTINGS) {
      const out = join(tmp.dir, `w${setting.workers}-s${setting.shard_rows}`);
      const config = testConfig(out, {
        raw_source: { dir: rawDir },
        artifact_kinds: [...EVENT_KINDS],
        // caps that bite: neighbour and per-user cuts, cooc row selection
        limits: { min_cooc_support: 2, max_neighbors_per_item: 5, max_items_per_artifact: 150, max_items_per_user: 4 },
        engine: setting,
      });
      const summary = await runPipeline({
        config,
        tenant: TENANT,
        surface: SURFACE,
        segment: '',
        start: DAY,
        end: DAY,
        incremental: false,
        log: () => {},
        now: () => NOW,
      });
      runs.push({ setting, out, summary });
    }
  });
  afterAll(() => tmp.cleanup());

  it('the day is big enough for several parse blocks and many shards at shard_rows = 1024', () => {
    expect(statSync(join(rawDir, TENANT, SURFACE, `exposure.${DAY}.jsonl`)).size).toBeGreaterThan(2 * PARSE_BLOCK_BYTES);
    const events = must(runs[0]?.summary.days[0]?.counts, 'the day counts').events;
    expect(events).toBeGreaterThan(15_000);
    expect(shardCount(events, 1024)).toBeGreaterThanOrEqual(15);
    expect(shardCount(events, 1_000_000)).toBe(1);
  });

  it('publishes the same versions in every run', () => {
    const versions = runs.map((r) => r.summary.days[0]?.published.map((p) => `${p.type}:${p.version}`));
    expect(versions[0]).toHaveLength(EVENT_KINDS.length);
    for (const v of versions) expect(v).toEqual(versions[0]);
  });

  it('writes byte-identical object-store blobs, staged artifacts and canonical partitions', () => {
    for (const sub of ['objectstore', 'artifacts', 'canonical']) {
      const base = tree(join(must(runs[0]).out, sub));
      expect(base.size).toBeGreaterThan(0);
      for (const r of runs.slice(1)) {
        const other = tree(join(r.out, sub));
        expect([...other.keys()], `${sub} ${JSON.stringify(r.setting)}`).toEqual([...base.keys()]);
        for (const [path, bytes] of base) {
          expect(Buffer.compare(other.get(path)!, bytes), `${sub}/${path} ${JSON.stringify(r.setting)}`).toBe(0);
        }
      }
    }
  });

  it('the payloads are not trivially empty', () => {
    for (const p of must(runs[0]?.summary.days[0]).published) {
      const blob = JSON.parse(readFileSync(p.uri.slice('file://'.length), 'utf8'));
      const payload = blob.items ?? blob.neighbors ?? blob.users;
      expect(payload.length, p.type).toBeGreaterThan(50);
    }
  });
});

/** What is wrong with `ranges` as a plan for `weights` in at most `nShards` shards, or null. */
function rangeProblem(weights: Float64Array, nShards: number, ranges: Array<[number, number]>): string | null {
  const n = weights.length;
  if (n === 0) return ranges.length === 0 ? null : 'ranges for no keys';
  if (ranges.length < 1 || ranges.length > Math.min(nShards, n)) return `${ranges.length} ranges`;
  if (ranges[0]?.[0] !== 0) return 'does not start at 0';
  if (ranges.at(-1)?.[1] !== n) return 'does not end at n';
  for (const [i, [lo, hi]] of ranges.entries()) {
    if (!Number.isInteger(lo) || !Number.isInteger(hi)) return `range ${i} not integral`;
    if (!(lo < hi)) return `range ${i} empty or reversed`;
    if (i > 0 && lo !== ranges[i - 1]?.[1]) return `gap or overlap before range ${i}`;
  }
  // Balance: no range heavier than an even share plus one key's weight.
  let total = 0;
  let maxW = 0;
  for (const w of weights) {
    total += w;
    maxW = Math.max(maxW, w);
  }
  const share = total / Math.min(nShards, n);
  for (const [lo, hi] of ranges) {
    let w = 0;
    for (const weight of weights.subarray(lo, hi)) w += weight;
    if (w > share + maxW + 1e-9) return `range [${lo}, ${hi}) weighs ${w} > ${share} + ${maxW}`;
  }
  return null;
}

describe('planRanges', () => {
  it('covers 0..n exactly once, in order, with at most nShards non-empty ranges of bounded weight', () => {
    const rng = new Rng(77);
    for (let trial = 0; trial < 3000; trial++) {
      const n = rng.int(trial < 100 ? 5 : 200);
      const shape = rng.int(4);
      const weights = Float64Array.from({ length: n }, () =>
        shape === 0 ? 0 : shape === 1 ? 1 : shape === 2 ? rng.int(10) : rng.chance(0.05) ? 1000 + rng.int(100_000) : rng.int(3),
      );
      const nShards = 1 + rng.int(n + 5);
      const ranges = planRanges(weights, nShards);
      const problem = rangeProblem(weights, nShards, ranges);
      if (problem) expect(`${problem}; n=${n} nShards=${nShards} weights=${Array.from(weights).join(',')} ranges=${JSON.stringify(ranges)}`).toBe('');
    }
  });

  it('uses every requested shard when the weights are even', () => {
    for (const [n, s] of [
      [10, 3],
      [100, 7],
      [1024, 1024],
      [5, 1],
    ] as const) {
      const ranges = planRanges(new Float64Array(n).fill(1), s);
      expect(ranges).toHaveLength(s);
    }
  });
});
