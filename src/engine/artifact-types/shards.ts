/**
 * Shard planning and result assembly for the artifact types' compute steps.
 */
import { itemRange } from '../../kernels/cooc';
import type { ScoredRows } from '../../kernels/scored-rows';
import { sharedInt32 } from '../threads/shared-memory';

/**
 * Splits keys 0..n-1 into at most `nShards` contiguous ranges of about equal total weight.
 * Ranges are in key order, so concatenating their results keeps key order.
 */
export function planRanges(weights: ArrayLike<number>, nShards: number): Array<[number, number]> {
  const n = weights.length;
  if (n === 0) return [];
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i];
  const shards = Math.max(1, Math.min(nShards, n));
  const target = total / shards;
  const ranges: Array<[number, number]> = [];
  let lo = 0;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += weights[i];
    if (acc >= target * (ranges.length + 1) && ranges.length < shards - 1) {
      ranges.push([lo, i + 1]);
      lo = i + 1;
    }
  }
  if (lo < n) ranges.push([lo, n]);
  return ranges;
}

export function concatRows(parts: ScoredRows[]): ScoredRows {
  let nKeys = 0;
  let nCodes = 0;
  for (const p of parts) {
    nKeys += p.keys.length;
    nCodes += p.codes.length;
  }
  const keys = sharedInt32(nKeys);
  const offsets = sharedInt32(nKeys + 1);
  const codes = sharedInt32(nCodes);
  const scores = sharedInt32(nCodes);
  let k = 0;
  let c = 0;
  for (const p of parts) {
    keys.set(p.keys, k);
    for (let r = 0; r < p.keys.length; r++) offsets[k + r + 1] = c + p.offsets[r + 1];
    codes.set(p.codes, c);
    scores.set(p.scores, c);
    k += p.keys.length;
    c += p.codes.length;
  }
  return { keys, offsets, codes, scores };
}

/** The same rows ordered by key (rows of several key ranges merged). */
export function sortRowsByKey(rows: ScoredRows): ScoredRows {
  const order = itemRange(0, rows.keys.length).sort((a, b) => rows.keys[a] - rows.keys[b]);
  const keys = sharedInt32(order.length);
  const offsets = sharedInt32(order.length + 1);
  const codes = sharedInt32(rows.codes.length);
  const scores = sharedInt32(rows.scores.length);
  let c = 0;
  for (let k = 0; k < order.length; k++) {
    const r = order[k];
    const from = rows.offsets[r];
    const to = rows.offsets[r + 1];
    keys[k] = rows.keys[r];
    codes.set(rows.codes.subarray(from, to), c);
    scores.set(rows.scores.subarray(from, to), c);
    c += to - from;
    offsets[k + 1] = c;
  }
  return { keys, offsets, codes, scores };
}
