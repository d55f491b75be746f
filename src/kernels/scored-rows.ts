import { rankCodes } from './topk';

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

/**
 * Sparse accumulator over codes 0..n-1: a dense count array plus the list of touched codes,
 * so draining costs O(touched), not O(n). One instance per kernel call is reused for every
 * row; it allocates 2 * n Int32 once.
 */
export class SparseCounter {
  readonly counts: Int32Array;
  private readonly touched: Int32Array;
  private nTouched = 0;

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
    const ranked = rankCodes(this.touched.subarray(0, kept), this.counts, this.n, k);
    if (ranked.length > 0 || keepEmpty) out.push(key, ranked, this.counts);
    for (let i = 0; i < kept; i++) this.counts[this.touched[i]] = 0;
    this.nTouched = 0;
  }
}

/** Growable builder of ScoredRows (amortised doubling; one copy at finish). */
export class ScoredRowsBuilder {
  private keys: number[] = [];
  private offsets: number[] = [0];
  private codes = new Int32Array(1024);
  private scores = new Int32Array(1024);
  private size = 0;

  push(key: number, codes: Int32Array, counts: Int32Array): void {
    const need = this.size + codes.length;
    if (need > this.codes.length) {
      const cap = Math.max(need, this.codes.length * 2);
      const nc = new Int32Array(cap);
      nc.set(this.codes.subarray(0, this.size));
      const ns = new Int32Array(cap);
      ns.set(this.scores.subarray(0, this.size));
      this.codes = nc;
      this.scores = ns;
    }
    for (let i = 0; i < codes.length; i++) {
      this.codes[this.size] = codes[i];
      this.scores[this.size++] = counts[codes[i]];
    }
    this.keys.push(key);
    this.offsets.push(this.size);
  }

  finish(): ScoredRows {
    return {
      keys: Int32Array.from(this.keys),
      offsets: Int32Array.from(this.offsets),
      codes: this.codes.slice(0, this.size),
      scores: this.scores.slice(0, this.size),
    };
  }
}
