import type { ScoredRows } from './scored-rows';
import { ScoredRowsBuilder, SparseCounter } from './scored-rows';

/**
 * Per-user item exposure counts (docs/contract.md §5 implicit) for users [userLo, userHi).
 * `userOffsets`/`userItems` are the item codes of each user's events (CSR by user code,
 * anonymous events excluded). Every user in the range has at least one event, so every
 * user gets a row. Allocates one SparseCounter(nItems) plus the output.
 */
export function implicitRows(
  userOffsets: Int32Array,
  userItems: Int32Array,
  nItems: number,
  userLo: number,
  userHi: number,
  maxItemsPerUser: number,
): ScoredRows {
  const counter = new SparseCounter(nItems);
  const out = new ScoredRowsBuilder();
  for (let u = userLo; u < userHi; u++) {
    for (let j = userOffsets[u]; j < userOffsets[u + 1]; j++) counter.add(userItems[j]);
    counter.flushRow(out, u, 1, maxItemsPerUser, true);
  }
  return out.finish();
}
