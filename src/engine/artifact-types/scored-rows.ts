/**
 * What the types whose payload is one ranked list per key share (cooc: per item;
 * implicit, session_seq: per user): the row gate on the typed arrays, the row check of a
 * parsed blob, and the user-range sharding of the per-user kernels.
 */
import { gateFailed } from '../../errors';
import type { ScoredRows } from '../../kernels/scored-rows';
import type { DayIndex } from '../../kernels/day-index';
import { type ArtifactCaps, rowChecks, type RowFailure } from './artifact-type';
import { concatRows, planRanges } from './shards';

/** Kernel output before encoding: per-row caps and non-negative scores, on the typed arrays. */
export function checkScoredRows(type: string, rows: ScoredRows, maxItemsPerRow: number): void {
  for (let r = 0; r < rows.keys.length; r++) {
    const n = rows.offsets[r + 1] - rows.offsets[r];
    if (n > maxItemsPerRow) throw gateFailed(`artifact ${type}`, `row ${r} has ${n} items > ${maxItemsPerRow}`);
  }
  for (let j = 0; j < rows.scores.length; j++) {
    if (rows.scores[j] < 0) throw gateFailed(`artifact ${type}`, `negative score at ${j}`);
  }
}

/** checkRow of a rows payload: `{"<keyField>": id, "items": [{"item_id": id, "<scoreField>": n}, …]}`. */
export function scoredRowChecker(keyField: 'item_id' | 'user_id', scoreField: 'count' | 'score') {
  return (row: Record<string, unknown>, caps: ArtifactCaps, fail: RowFailure): void => {
    rowChecks.id(row[keyField], keyField, fail);
    if (!Array.isArray(row.items)) throw fail('items must be an array');
    if (row.items.length > caps.maxItemsPerRow) throw fail(`a row has ${row.items.length} items > ${caps.maxItemsPerRow}`);
    for (const it of row.items as Array<Record<string, unknown>>) {
      rowChecks.id(it.item_id, 'item_id', fail);
      rowChecks.nonNegative(it[scoreField], scoreField, fail);
    }
  };
}

/** One shard of a per-user kernel: users [lo, hi) with all of their events. */
export interface UserShard {
  nItems: number;
  userOffsets: Int32Array;
  userItems: Int32Array;
  /** Only for kernels that order a user's events by time (session_seq). */
  userTs?: Float64Array;
  lo: number;
  hi: number;
  maxItemsPerUser: number;
}

/**
 * Runs a per-user kernel over every user: contiguous user ranges of about equal event
 * counts, one task each, rows concatenated in user order (so the result is the same for
 * any number of shards).
 */
export async function userRows(
  index: DayIndex,
  shards: number,
  maxItemsPerUser: number,
  withTimestamps: boolean,
  run: (shard: UserShard) => Promise<ScoredRows>,
): Promise<ScoredRows> {
  const weights = new Float64Array(index.nUsers);
  for (let u = 0; u < index.nUsers; u++) weights[u] = index.userOffsets[u + 1] - index.userOffsets[u];
  const parts = planRanges(weights, shards).map(([lo, hi]) =>
    run({
      nItems: index.nItems,
      userOffsets: index.userOffsets,
      userItems: index.userItems,
      userTs: withTimestamps ? index.userTs : undefined,
      lo,
      hi,
      maxItemsPerUser,
    }),
  );
  return concatRows(await Promise.all(parts));
}
