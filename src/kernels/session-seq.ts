import { ScoredRows, ScoredRowsBuilder, SparseCounter } from './scored-rows';

/**
 * Next-item signals (SPEC §5 session_seq) for users [userLo, userHi): each user's events
 * ordered by timestamp (ties: canonical row order), and every consecutive pair adds 1 to
 * the later event's item. `userItems`/`userTs` hold each user's events in canonical row
 * order (CSR by user code), so a stable sort by ts is the required order; most users'
 * events already arrive sorted and skip the sort. Every user gets a row, possibly empty.
 */
export function sessionSeqRows(
  userOffsets: Int32Array,
  userItems: Int32Array,
  userTs: Float64Array,
  nItems: number,
  userLo: number,
  userHi: number,
  maxItemsPerUser: number,
): ScoredRows {
  const counter = new SparseCounter(nItems);
  const out = new ScoredRowsBuilder();
  let order = new Int32Array(64);
  for (let u = userLo; u < userHi; u++) {
    const lo = userOffsets[u];
    const hi = userOffsets[u + 1];
    let sorted = true;
    for (let j = lo + 1; j < hi && sorted; j++) sorted = userTs[j] >= userTs[j - 1];
    if (sorted) {
      for (let j = lo + 1; j < hi; j++) counter.add(userItems[j]);
    } else {
      const n = hi - lo;
      if (order.length < n) order = new Int32Array(n * 2);
      const view = order.subarray(0, n);
      for (let i = 0; i < n; i++) view[i] = lo + i;
      // Index tie-break keeps canonical row order for equal timestamps (a stable sort).
      view.sort((x, y) => userTs[x] - userTs[y] || x - y);
      for (let i = 1; i < n; i++) counter.add(userItems[view[i]]);
    }
    counter.flushRow(out, u, 1, maxItemsPerUser, true);
  }
  return out.finish();
}
