/**
 * Property test: the kernels (src/kernels) + payload builders (src/engine/payloads) against
 * the naive reference (test/reference), on seeded adversarial days and limit settings
 * that make every cap and the cooc row selection bite.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cooc, type CoocTask } from '../../src/engine/artifact-types/cooc';
import type { ScoredRows } from '../../src/kernels/scored-rows';
import { rankPositive } from '../../src/kernels/topk';
import { concatRows } from '../../src/engine/artifact-types/shards';
import type { LimitsConfig } from '../../src/config/types';
import { kernelRunner, shardCount } from '../../src/engine/pipeline/compute';
import { indexDayOn } from '../../src/engine/pipeline/validate';
import { WorkerPool } from '../../src/engine/threads/pool';
import { indexDay } from '../../src/kernels/day-index';
import { coocPayload, popularityPayload, userPayload } from '../../src/io/artifacts/payloads';
import type { Payload } from '../../src/io/artifacts/codec';
import { payloadValue } from '../../src/io/artifacts/codec';
import type { CanonicalDay } from '../../src/io/canonical/day';
import { quoteAll } from '../../src/io/artifacts/go-json';
import { coocRows, itemRange } from '../../src/kernels/cooc';
import { implicitRows } from '../../src/kernels/implicit';
import { sessionSeqRows } from '../../src/kernels/session-seq';
import { canonicalDayOf } from '../support/canonical';
import { generateDayLines, Rng } from '../support/generate';
import type { RefEvent, RefLimits } from '../support/reference';
import { parseRawDay, refCooc, refImplicit, refPopularity, refSessionSeq, tsMicros } from '../support/reference';
import { pairs } from '../support/helpers';

const TENANT = 'demo';
const SURFACE = 'home';
const DAY = '2026-01-01';

/** A payload builder's output as plain JSON values; its declared length must match. */
function materialise(payload: Payload): unknown[] {
  const out = payloadValue(payload);
  expect(out).toHaveLength(payload.length);
  return out;
}

function enginePayloads(day: CanonicalDay, L: RefLimits) {
  const index = indexDay(day);
  const items = quoteAll(day.item.utf8);
  const users = quoteAll(day.user.utf8);
  const payloads = {
    popularity: popularityPayload(rankPositive(index.itemCounts, L.max_items_per_artifact), index.itemCounts, items),
    cooc: coocPayload(
      coocRows(index.sessions, itemRange(0, index.nItems), L.min_cooc_support, L.max_neighbors_per_item),
      index.itemCounts,
      items,
      L.max_items_per_artifact,
    ),
    implicit: userPayload(implicitRows(index.userOffsets, index.userItems, index.nItems, 0, index.nUsers, L.max_items_per_user), users, items),
    session_seq: userPayload(
      sessionSeqRows(index.userOffsets, index.userItems, index.userTs, index.nItems, 0, index.nUsers, L.max_items_per_user),
      users,
      items,
    ),
  };
  return {
    popularity: materialise(payloads.popularity),
    cooc: materialise(payloads.cooc),
    implicit: materialise(payloads.implicit),
    session_seq: materialise(payloads.session_seq),
  };
}

function kernelRows(day: CanonicalDay, L: RefLimits, cuts: (n: number) => Array<[number, number]>) {
  const ix = indexDay(day);
  return {
    cooc: concatRows(cuts(ix.nItems).map(([lo, hi]) => coocRows(ix.sessions, itemRange(lo, hi), L.min_cooc_support, L.max_neighbors_per_item))),
    implicit: concatRows(cuts(ix.nUsers).map(([lo, hi]) => implicitRows(ix.userOffsets, ix.userItems, ix.nItems, lo, hi, L.max_items_per_user))),
    session_seq: concatRows(
      cuts(ix.nUsers).map(([lo, hi]) => sessionSeqRows(ix.userOffsets, ix.userItems, ix.userTs, ix.nItems, lo, hi, L.max_items_per_user)),
    ),
  };
}

const whole = (day: CanonicalDay, L: RefLimits) => kernelRows(day, L, (n) => [[0, n]]);

/** Random contiguous cuts of 0..n, empty ranges included. */
function sharded(day: CanonicalDay, L: RefLimits, rng: Rng) {
  return kernelRows(day, L, (n) => {
    const points = Array.from({ length: rng.int(6) }, () => rng.int(n + 1)).sort((a, b) => a - b);
    const bounds = [0, ...points, n];
    return bounds.slice(1).map((hi, i) => [bounds[i], hi] as [number, number]);
  });
}

/** A seeded adversarial day (sizes from the seed) as reference events, and the seed's Rng for later choices. */
function generatedDay(seed: number): { rng: Rng; events: RefEvent[] } {
  const rng = new Rng(seed);
  const raw = generateDayLines(seed, {
    tenant: TENANT,
    surface: SURFACE,
    day: DAY,
    events: 80 + rng.int(400),
    users: 3 + rng.int(15),
    items: 4 + rng.int(30),
    maxSessionEvents: 2 + rng.int(12),
  });
  return { rng, events: parseRawDay(raw, TENANT, SURFACE, DAY).events };
}

const SEEDS = Array.from({ length: 30 }, (_, i) => 1000 + i * 7919);

/** Limit settings per seed: min_cooc_support 1..3, neighbours 1/3/50, items per user 1/2/500, small artifact caps. */
function limitsFor(seed: number): RefLimits[] {
  const rng = new Rng(seed ^ 0x5eed);
  const out: RefLimits[] = [];
  for (const min_cooc_support of [1, 2, 3]) {
    for (const [max_neighbors_per_item, max_items_per_user] of [
      [1, 1],
      [3, 2],
      [50, 500],
    ] as const) {
      out.push({
        min_cooc_support,
        max_neighbors_per_item,
        max_items_per_user,
        // small enough that cooc rows and popularity get cut; sometimes roomy
        max_items_per_artifact: rng.pick([1, 3, 7, 15, 1000]),
      });
    }
  }
  // Degenerate caps: nothing may be kept, and nothing may crash.
  out.push({ min_cooc_support: 0, max_neighbors_per_item: 0, max_items_per_user: 0, max_items_per_artifact: 0 });
  out.push({ min_cooc_support: 0, max_neighbors_per_item: 2, max_items_per_user: 1, max_items_per_artifact: 2 });
  return out;
}

describe('kernels + payload builders vs the reference', () => {
  it.each(SEEDS)('seed %i: popularity, cooc, implicit, session_seq equal the reference for 11 limit settings', (seed) => {
    const { rng, events } = generatedDay(seed);
    expect(events.length).toBeGreaterThan(0);
    const day = canonicalDayOf(events);
    let selectionsTriggered = 0;
    for (const L of limitsFor(seed)) {
      const got = enginePayloads(day, L);
      const ctx = JSON.stringify(L);
      expect(got.popularity, `popularity ${ctx}`).toEqual(refPopularity(events, L));
      const wantCooc = refCooc(events, { ...L, max_items_per_artifact: Infinity });
      if (wantCooc.length > L.max_items_per_artifact) selectionsTriggered++;
      expect(got.cooc, `cooc ${ctx}`).toEqual(refCooc(events, L));
      expect(got.implicit, `implicit ${ctx}`).toEqual(refImplicit(events, L));
      expect(got.session_seq, `session_seq ${ctx}`).toEqual(refSessionSeq(events, L));
      // Sharded as the coordinator does (contiguous key ranges, results concatenated): same rows.
      expect(sharded(day, L, rng), `sharded ${ctx}`).toEqual(whole(day, L));
    }
    // the settings must actually exercise cooc row selection
    expect(selectionsTriggered).toBeGreaterThan(0);
  });

  it('the generated days hold the adversarial cases the property tests rely on', () => {
    let ties = 0;
    let anonymous = 0;
    let repeated = 0;
    let astralAndHighBmp = 0;
    let outOfOrder = 0;
    let onEdges = 0;
    let singleEventUsers = 0;
    let offsets = 0;
    const start = tsMicros(`${DAY}T00:00:00Z`);
    for (const seed of SEEDS) {
      const raw = generateDayLines(seed, { tenant: TENANT, surface: SURFACE, day: DAY, events: 300, users: 10, items: 20 });
      const { events, skippedOtherTenantSurface, skippedOutsideDay } = parseRawDay(raw, TENANT, SURFACE, DAY);
      expect(skippedOtherTenantSurface + skippedOutsideDay).toBeGreaterThan(0);
      const perUser = new Map<string, number[]>();
      const perSession = new Map<string, string[]>();
      for (const e of events) {
        const t = tsMicros(e.ts);
        if (t === start || t === start + 86_400_000_000 - 1) onEdges++;
        if (!/[Zz]$/.test(e.ts) && !e.ts.startsWith(DAY)) offsets++; // local date differs from the UTC day
        if (!e.user_id) anonymous++;
        else perUser.set(e.user_id, [...(perUser.get(e.user_id) ?? []), tsMicros(e.ts)]);
        perSession.set(e.session_id, [...(perSession.get(e.session_id) ?? []), e.item_id]);
      }
      for (const ts of perUser.values()) {
        if (ts.length === 1) singleEventUsers++;
        for (const [previous, next] of pairs(ts)) {
          if (next === previous) ties++;
          if (next < previous) outOfOrder++;
        }
      }
      for (const its of perSession.values()) if (new Set(its).size < its.length) repeated++;
      const ids = new Set(events.map((e) => e.item_id));
      if ([...ids].some((i) => i.includes('ｚ')) && [...ids].some((i) => /[\u{10000}-\u{10ffff}]/u.test(i))) astralAndHighBmp++;
    }
    expect(ties).toBeGreaterThan(10);
    expect(anonymous).toBeGreaterThan(10);
    expect(repeated).toBeGreaterThan(10);
    expect(outOfOrder).toBeGreaterThan(10);
    expect(astralAndHighBmp).toBeGreaterThan(3);
    expect(onEdges).toBeGreaterThan(5);
    expect(singleEventUsers).toBeGreaterThan(10);
    expect(offsets).toBeGreaterThan(10);
  });
});

/** Full limits with the reference's four settings; every other limit out of the way. */
function limitsConfig(L: RefLimits): LimitsConfig {
  const big = 1e9;
  return {
    max_days_backfill: big,
    max_events_per_run: big,
    max_sessions_per_run: big,
    max_items_per_session: big,
    max_distinct_items_per_run: big,
    max_users_per_run: big,
    min_events_per_run: 0,
    ...L,
  };
}

describe('cooc on the pool under the artifact row cap (only the publishable rows computed) vs the reference', () => {
  const pool = new WorkerPool({ workers: 2, workerHeapMb: 256 });
  afterAll(() => pool.close());

  it.each(SEEDS.slice(0, 12))('seed %i: the capped cooc payload equals the reference for every limit setting and shard size', async (seed) => {
    const { rng, events } = generatedDay(seed);
    const day = canonicalDayOf(events);
    const index = indexDay(day);
    expect(await indexDayOn(pool, day)).toEqual(index); // the pool builds the same index
    const items = quoteAll(day.item.utf8);
    for (const L of limitsFor(seed)) {
      const limits = limitsConfig(L);
      const payload = await cooc.compute({
        index,
        limits,
        caps: cooc.caps(limits),
        shards: shardCount(index.events, 1 + rng.int(200)),
        itemIds: async () => items,
        userIds: () => Promise.reject(new Error('cooc reads no user ids')),
        catalog: [],
        runKernel: kernelRunner(pool, cooc) as (input: CoocTask, label?: string) => Promise<ScoredRows | Int32Array>,
      });
      const got = payloadValue(payload);
      expect(got, `cooc ${JSON.stringify(L)}`).toEqual(refCooc(events, L));
    }
  });
});
