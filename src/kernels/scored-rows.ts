import { sharedCopy } from '../engine/threads/shared-memory';
/**
 * Ranked per-key lists, the output of cooc, implicit and session_seq kernels:
 * row r is key `keys[r]` (item or user code) with items codes[offsets[r] .. offsets[r+1])
 * and their integer scores, already ordered (score desc, code asc) and capped.
 */
export interface ScoredRows {
  keys: Int32Array;
  offsets: Int32Array;
  codes: Int32Array;
  scores: Int32Array;
}

/** Rows with at most this many kept codes are ranked by insertion sort. */
const SMALL_ROW = 32;

/**
 * Sparse accumulator over codes 0..n-1: a dense count array plus the list of touched codes,
 * so draining costs O(touched), not O(n). One instance per kernel call is reused for every
 * row; it allocates 2 * n Int32 once.
 */
export class SparseCounter {
  readonly counts: Int32Array;
  private readonly touched: Int32Array;
  private nTouched = 0;
  /** Ranking scratch (rankCodes' packed keys), grown on demand: nothing allocated per row. */
  private keys = new Float64Array(64);

  constructor(readonly n: number) {
    this.counts = new Int32Array(n);
    this.touched = new Int32Array(n);
  }

  add(code: number): void {
    if (this.counts[code]++ === 0) this.touched[this.nTouched++] = code;
  }

  /**
   * Appends row `key` to `out` with the codes whose count >= minCount, ranked
   * (count desc, code asc), at most k; then clears the counter for the next row.
   * A row left with no codes is appended only when keepEmpty.
   */
  flushRow(out: ScoredRowsBuilder, key: number, minCount: number, k: number, keepEmpty: boolean): void {
    let kept = 0;
    for (let i = 0; i < this.nTouched; i++) {
      const c = this.touched[i];
      if (this.counts[c] >= minCount) this.touched[kept++] = c;
      else this.counts[c] = 0;
    }
    const take = this.rank(kept, k);
    if (take > 0 || keepEmpty) out.push(key, this.touched, this.counts, take);
    const n = this.n;
    for (let i = 0; i < kept; i++) this.counts[n - 1 - (this.keys[i] % n)] = 0;
    this.nTouched = 0;
  }

  /**
   * Ranks touched[0 .. kept) as rankCodes does (the same packed keys, score * n +
   * (n - 1 - code), ascending in `keys`), and writes the best `k` codes, best first, over
   * touched[0 .. take). Short rows, the common case, use an insertion sort. Returns take.
   */
  private rank(kept: number, k: number): number {
    if (this.keys.length < kept) this.keys = new Float64Array(Math.max(kept, this.keys.length * 2));
    const { keys, touched, counts, n } = this;
    for (let i = 0; i < kept; i++) keys[i] = counts[touched[i]] * n + (n - 1 - touched[i]);
    if (kept <= SMALL_ROW) {
      for (let i = 1; i < kept; i++) {
        const v = keys[i];
        let j = i - 1;
        for (; j >= 0 && keys[j] > v; j--) keys[j + 1] = keys[j];
        keys[j + 1] = v;
      }
    } else {
      keys.subarray(0, kept).sort();
    }
    const take = Math.min(k, kept);
    for (let i = 0; i < take; i++) touched[i] = n - 1 - (keys[kept - 1 - i] % n);
    return take;
  }
}

/** Growable builder of ScoredRows (amortised doubling; one shared copy at finish, read by the main thread). */
export class ScoredRowsBuilder {
  private keys: number[] = [];
  private offsets: number[] = [0];
  private codes = new Int32Array(1024);
  private scores = new Int32Array(1024);
  private size = 0;

  /** Appends row `key` with codes[0 .. length) and their counts. */
  push(key: number, codes: Int32Array, counts: Int32Array, length = codes.length): void {
    const need = this.size + length;
    if (need > this.codes.length) {
      const cap = Math.max(need, this.codes.length * 2);
      const nc = new Int32Array(cap);
      nc.set(this.codes.subarray(0, this.size));
      const ns = new Int32Array(cap);
      ns.set(this.scores.subarray(0, this.size));
      this.codes = nc;
      this.scores = ns;
    }
    for (let i = 0; i < length; i++) {
      this.codes[this.size] = codes[i];
      this.scores[this.size++] = counts[codes[i]];
    }
    this.keys.push(key);
    this.offsets.push(this.size);
  }

  finish(): ScoredRows {
    return {
      keys: sharedCopy(Int32Array.from(this.keys)),
      offsets: sharedCopy(Int32Array.from(this.offsets)),
      codes: sharedCopy(this.codes.subarray(0, this.size)),
      scores: sharedCopy(this.scores.subarray(0, this.size)),
    };
  }
}
