/**
 * SparseCounter.flushRow ranks in place (insertion sort for short rows, a typed-array sort
 * for long ones): the rows must equal rankCodes' ranking of the same counts, for every
 * row length around the switch, with many ties, and leave the counter clean.
 */
import { describe, expect, it } from 'vitest';
import { ScoredRowsBuilder, SparseCounter } from '../../src/kernels/scored-rows';
import { rankCodes } from '../../src/kernels/topk';
import { Rng } from '../support/generate';
import { must } from '../support/helpers';

describe('SparseCounter.flushRow', () => {
  it('equals rankCodes over the kept codes, for short and long rows (seeded)', () => {
    const rng = new Rng(7);
    const nCodes = 500;
    const counter = new SparseCounter(nCodes);
    const out = new ScoredRowsBuilder();
    const want: Array<{ key: number; codes: number[]; scores: number[] }> = [];
    for (let row = 0; row < 400; row++) {
      const dense = new Int32Array(nCodes);
      const adds = rng.int(row % 4 === 0 ? 2000 : 80);
      for (let a = 0; a < adds; a++) {
        const code = rng.int(rng.chance(0.5) ? 40 : nCodes);
        counter.add(code);
        dense[code] = must(dense[code], 'a count per code') + 1;
      }
      const minCount = 1 + rng.int(3);
      const k = rng.pick([1, 5, 32, 33, 50, 500]);
      const keepEmpty = rng.chance(0.5);
      const kept = Int32Array.from([...dense.entries()].filter(([, count]) => count >= minCount).map(([code]) => code));
      const ranked = rankCodes(kept, dense, nCodes, k);
      if (ranked.length > 0 || keepEmpty) want.push({ key: row, codes: [...ranked], scores: Array.from(ranked, (c) => must(dense[c], 'a count per code')) });
      counter.flushRow(out, row, minCount, k, keepEmpty);
    }
    const rows = out.finish();
    const got = Array.from(rows.keys, (key, r) => ({
      key,
      codes: [...rows.codes.subarray(rows.offsets[r], rows.offsets[r + 1])],
      scores: [...rows.scores.subarray(rows.offsets[r], rows.offsets[r + 1])],
    }));
    expect(got).toEqual(want);
    expect(counter.counts.every((c) => c === 0)).toBe(true);
  });
});
