/**
 * Ranking by (score desc, code asc). Dictionary codes are assigned in UTF-8 byte order of
 * the ids, so "code asc" is exactly the "id asc" tie-break of docs/contract.md §5.
 *
 * Each candidate is packed into one float64 key, score * nCodes + (nCodes - 1 - code):
 * a plain descending numeric sort of the keys is the ranking. Exact while
 * score * nCodes < 2^53 (scores are counts bounded by events per run, codes by distinct
 * ids: 10^9 * 10^6 is far below 2^53 ≈ 9 * 10^15).
 */

/** Codes of `candidates` ranked by (scores[code] desc, code asc), at most `k` of them. */
export function rankCodes(candidates: Int32Array, scores: ArrayLike<number>, nCodes: number, k: number): Int32Array {
  const n = candidates.length;
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = candidates[i];
    keys[i] = scores[c] * nCodes + (nCodes - 1 - c);
  }
  keys.sort();
  const take = Math.min(k, n);
  const out = new Int32Array(take);
  for (let i = 0; i < take; i++) {
    const key = keys[n - 1 - i];
    out[i] = nCodes - 1 - (key % nCodes);
  }
  return out;
}

/** All codes 0..n-1 with a positive score, ranked as rankCodes. */
export function rankPositive(scores: ArrayLike<number>, k: number): Int32Array {
  let m = 0;
  for (let c = 0; c < scores.length; c++) if (scores[c] > 0) m++;
  const candidates = new Int32Array(m);
  m = 0;
  for (let c = 0; c < scores.length; c++) if (scores[c] > 0) candidates[m++] = c;
  return rankCodes(candidates, scores, scores.length, k);
}
