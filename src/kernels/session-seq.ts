import type { ScoredRows } from './scored-rows';
import { ScoredRowsBuilder, SparseCounter } from './scored-rows';

/**
 * Next-item signals (docs/contract.md §5 session_seq) for users [userLo, userHi): each user's events
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
      if (order.length < 2 * n) order = new Int32Array(n * 4);
      const sorted = stableSortByTs(order, lo, n, userTs);
      for (let i = 1; i < n; i++) counter.add(userItems[sorted[i]]);
    }
    counter.flushRow(out, u, 1, maxItemsPerUser, true);
  }
  return out.finish();
}

/**
 * Rows lo .. lo+n-1 ordered by userTs, equal timestamps in row order (stable): a
 * bottom-up merge sort over two halves of `scratch` (at least 2n long), with the
 * comparisons inline. Returns the view holding the result.
 */
function stableSortByTs(scratch: Int32Array, lo: number, n: number, userTs: Float64Array): Int32Array {
  let src = scratch.subarray(0, n);
  let dst = scratch.subarray(n, 2 * n);
  for (let i = 0; i < n; i++) src[i] = lo + i;
  for (let width = 1; width < n; width *= 2) {
    for (let start = 0; start < n; start += 2 * width) {
      const mid = Math.min(start + width, n);
      const end = Math.min(start + 2 * width, n);
      let a = start;
      let b = mid;
      let k = start;
      // Take from the left run unless the right one is strictly earlier: stable.
      while (a < mid && b < end) dst[k++] = userTs[src[b]] < userTs[src[a]] ? src[b++] : src[a++];
      while (a < mid) dst[k++] = src[a++];
      while (b < end) dst[k++] = src[b++];
    }
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}
