/**
 * A dictionary of byte strings: assigns codes in first-seen order to UTF-8 byte spans
 * without creating a JS string per lookup. Open addressing (linear probing) over FNV-1a
 * hashes; the distinct values live back to back in one growable byte arena.
 *
 * Used by the raw parser on worker threads: millions of id occurrences, a few hundred
 * thousand distinct values per block. Each block's values are then sorted (sortedRun), and
 * a day's column is the merge of its blocks' sorted values (mergeColumn), on the pool: the
 * main thread never looks up an id, and only distinct values are ever decoded to strings.
 */
import { sharedCopy, sharedInt32 } from '../../engine/threads/shared-memory';

export interface ByteDictionarySnapshot {
  /** Value i is arena[offsets[i] .. offsets[i+1]), UTF-8. */
  arena: Uint8Array;
  offsets: Int32Array;
}

export class ByteDictionary {
  private arena = new Uint8Array(1 << 16);
  private arenaUsed = 0;
  private offsets = new Int32Array(1025);
  private hashes = new Int32Array(1024);
  private slots = new Int32Array(2048); // code + 1; 0 = empty
  size = 0;

  /** Code of bytes[start, end), adding it when new. */
  codeOf(bytes: Uint8Array, start: number, end: number): number {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
    const mask = this.slots.length - 1;
    const len = end - start;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const entry = this.slots[s];
      if (entry === 0) return this.insert(bytes, start, end, h, s);
      const code = entry - 1;
      if (this.hashes[code] !== h) continue;
      const at = this.offsets[code];
      if (this.offsets[code + 1] - at !== len) continue;
      let same = true;
      for (let i = 0; i < len; i++) {
        if (this.arena[at + i] !== bytes[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return code;
    }
  }

  private insert(bytes: Uint8Array, start: number, end: number, hash: number, slot: number): number {
    const code = this.size++;
    const len = end - start;
    if (this.arenaUsed + len > this.arena.length) this.arena = grow(this.arena, this.arenaUsed + len);
    // Ids are short: a byte loop beats a native copy plus a subarray allocation per insert.
    const arena = this.arena;
    for (let i = 0, at = this.arenaUsed; i < len; i++) arena[at + i] = bytes[start + i];
    if (code + 2 > this.offsets.length) this.offsets = grow(this.offsets, code + 2);
    if (code + 1 > this.hashes.length) this.hashes = grow(this.hashes, code + 1);
    this.offsets[code] = this.arenaUsed;
    this.arenaUsed += len;
    this.offsets[code + 1] = this.arenaUsed;
    this.hashes[code] = hash;
    this.slots[slot] = code + 1;
    if (this.size * 2 > this.slots.length) this.rehash();
    return code;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let code = 0; code < this.size; code++) {
      let s = this.hashes[code] & mask;
      while (slots[s] !== 0) s = (s + 1) & mask;
      slots[s] = code + 1;
    }
    this.slots = slots;
  }

  /** The values as views of this dictionary's own arrays (no copy): valid until the next insert. */
  view(): ByteDictionarySnapshot {
    return { arena: this.arena.subarray(0, this.arenaUsed), offsets: this.offsets.subarray(0, this.size + 1) };
  }
}

function grow<T extends Uint8Array | Int32Array>(a: T, need: number): T {
  const next = new (a.constructor as { new (n: number): T })(Math.max(need, a.length * 2));
  next.set(a);
  return next;
}

/** Decodes every value of a snapshot (one string per distinct value). */
export function snapshotValues(s: ByteDictionarySnapshot): string[] {
  const buf = Buffer.from(s.arena.buffer, s.arena.byteOffset, s.arena.byteLength);
  const out = new Array<string>(s.offsets.length - 1);
  for (let i = 0; i + 1 < s.offsets.length; i++) out[i] = buf.toString('utf8', s.offsets[i], s.offsets[i + 1]);
  return out;
}

/**
 * A run of rows of one column, in the order they were appended (a parsed block, a day, a
 * batch of events): its own dictionary, sorted in byte order with distinct values, and each
 * row's code in it (-1 = null); `codes` null means every row holds value 0 (the tenant of
 * a parsed block).
 */
export interface CodeRun {
  rows: number;
  codes: Int32Array | null;
  dict: ByteDictionarySnapshot;
}

/** A column's dictionary in byte order and every row's final code (its value's rank), shared. */
export interface SortedColumn {
  sorted: ByteDictionarySnapshot;
  codes: Int32Array;
}

/**
 * A run from a dictionary and its rows' codes (-1 = null): the values sorted into UTF-8
 * byte order (the id order of docs/contract.md §5), each once, as new exact-size shared arrays, and `codes`
 * rewritten in place to ranks among them. `dict` is only read (it may be a ByteDictionary's
 * view); a value it holds twice (a partition written elsewhere) gets one rank.
 */
export function sortedRun(dict: ByteDictionarySnapshot, codes: Int32Array): CodeRun {
  const { arena, offsets } = dict;
  const n = offsets.length - 1;
  const order = byteOrder(dict);
  const newCode = new Int32Array(n);
  const sortedOffsets = new Int32Array(n + 1);
  const sorted = new Uint8Array(offsets[n] - offsets[0]);
  let at = 0;
  let rank = -1;
  for (let r = 0; r < n; r++) {
    const old = order[r];
    const prev = r > 0 ? order[r - 1] : -1;
    if (prev < 0 || compareBytes(arena, offsets[prev], offsets[prev + 1], arena, offsets[old], offsets[old + 1]) !== 0) {
      rank++;
      for (let i = offsets[old]; i < offsets[old + 1]; i++) sorted[at++] = arena[i];
      sortedOffsets[rank + 1] = at;
    }
    newCode[old] = rank;
  }
  for (let i = 0; i < codes.length; i++) if (codes[i] >= 0) codes[i] = newCode[codes[i]];
  const values = { arena: sharedCopy(sorted.subarray(0, at)), offsets: sharedCopy(sortedOffsets.subarray(0, rank + 2)) };
  return { rows: codes.length, codes, dict: values };
}

/**
 * The column of a day from its runs: their sorted dictionaries merged into one (equal values
 * once), and each row's code rewritten once, to its value's rank in it. The same function
 * runs on a worker (ingest: the day's columns in parallel) or on the calling thread.
 */
export function mergeColumn(runs: readonly CodeRun[]): SortedColumn {
  const { merged, remaps } = mergeSorted(runs.map((r) => r.dict));
  const codes = sharedInt32(runs.reduce((n, r) => n + r.rows, 0));
  let at = 0;
  runs.forEach((run, x) => {
    const remap = remaps[x];
    const src = run.codes;
    if (src === null) codes.fill(remap[0], at, at + run.rows);
    else for (let i = 0; i < run.rows; i++) codes[at + i] = src[i] < 0 ? -1 : remap[src[i]];
    at += run.rows;
  });
  return { sorted: { arena: sharedCopy(merged.arena), offsets: sharedCopy(merged.offsets) }, codes };
}

/**
 * Merges sorted dictionaries of distinct values into one: pairwise, in rounds (each value
 * takes part in log2(k) merges of two, each a linear pass). `remaps[x][i]` is the rank in
 * `merged` of value i of dictionary x.
 */
export function mergeSorted(dicts: readonly ByteDictionarySnapshot[]): { merged: ByteDictionarySnapshot; remaps: Int32Array[] } {
  const remaps = dicts.map((d) => {
    const r = new Int32Array(d.offsets.length - 1);
    for (let i = 0; i < r.length; i++) r[i] = i;
    return r;
  });
  if (dicts.length === 0) return { merged: { arena: new Uint8Array(0), offsets: new Int32Array(1) }, remaps };
  let round = dicts.map((dict, x) => ({ dict, members: [x] }));
  while (round.length > 1) {
    const next: typeof round = [];
    for (let p = 0; p + 1 < round.length; p += 2) {
      const [a, b] = [round[p], round[p + 1]];
      const { merged, rankA, rankB } = mergeTwo(a.dict, b.dict);
      for (const [members, rank] of [
        [a.members, rankA],
        [b.members, rankB],
      ] as const) {
        for (const x of members) {
          const r = remaps[x];
          for (let i = 0; i < r.length; i++) r[i] = rank[r[i]];
        }
      }
      next.push({ dict: merged, members: [...a.members, ...b.members] });
    }
    if (round.length % 2 === 1) next.push(round[round.length - 1]);
    round = next;
  }
  return { merged: round[0].dict, remaps };
}

/** One merge of two sorted dictionaries of distinct values: the union, and each value's rank in it. */
function mergeTwo(a: ByteDictionarySnapshot, b: ByteDictionarySnapshot): { merged: ByteDictionarySnapshot; rankA: Int32Array; rankB: Int32Array } {
  const na = a.offsets.length - 1;
  const nb = b.offsets.length - 1;
  const [aBytes, aOff, bBytes, bOff] = [a.arena, a.offsets, b.arena, b.offsets];
  const arena = new Uint8Array(aOff[na] + bOff[nb]);
  const offsets = new Int32Array(na + nb + 1);
  const rankA = new Int32Array(na);
  const rankB = new Int32Array(nb);
  let i = 0;
  let j = 0;
  let n = 0;
  let at = 0;
  while (i < na || j < nb) {
    const c = i === na ? 1 : j === nb ? -1 : compareBytes(aBytes, aOff[i], aOff[i + 1], bBytes, bOff[j], bOff[j + 1]);
    if (c <= 0) {
      for (let k = aOff[i]; k < aOff[i + 1]; k++) arena[at++] = aBytes[k];
      rankA[i++] = n;
      if (c === 0) rankB[j++] = n;
    } else {
      for (let k = bOff[j]; k < bOff[j + 1]; k++) arena[at++] = bBytes[k];
      rankB[j++] = n;
    }
    offsets[++n] = at;
  }
  return { merged: { arena: arena.subarray(0, at), offsets: offsets.subarray(0, n + 1) }, rankA, rankB };
}

/** Byte order of x[xs, xe) and y[ys, ye). */
function compareBytes(x: Uint8Array, xs: number, xe: number, y: Uint8Array, ys: number, ye: number): number {
  for (; xs < xe && ys < ye; xs++, ys++) {
    const d = x[xs] - y[ys];
    if (d !== 0) return d;
  }
  return xe - xs - (ye - ys);
}

/**
 * The values of a snapshot in UTF-8 byte order, as value indexes: a multikey quicksort
 * (Bentley & Sedgewick), which partitions on one byte at a time and so never compares a
 * shared prefix twice (ids like `sku-…` or `s123…` share a lot of it). Values need not be
 * distinct; equal values keep no particular order.
 */
export function byteOrder({ arena, offsets }: ByteDictionarySnapshot): Int32Array {
  const n = offsets.length - 1;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  multikeySort(arena, offsets, order, 0, n, 0);
  return order;
}

/** Byte `d` of value v, or -1 past its end (an ended value sorts first). */
function byteAt(arena: Uint8Array, offsets: Int32Array, v: number, d: number): number {
  const p = offsets[v] + d;
  return p < offsets[v + 1] ? arena[p] : -1;
}

/** Sorts order[lo, hi), whose values share their first d bytes. */
function multikeySort(arena: Uint8Array, offsets: Int32Array, order: Int32Array, lo: number, hi: number, d: number): void {
  for (;;) {
    const n = hi - lo;
    if (n < 12) return insertionSort(arena, offsets, order, lo, hi, d);
    const a = byteAt(arena, offsets, order[lo], d);
    const b = byteAt(arena, offsets, order[lo + (n >> 1)], d);
    const c = byteAt(arena, offsets, order[hi - 1], d);
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b; // median of three
    // Three-way partition on byte d: [lo, lt) < pivot, [lt, gt) == pivot, [gt, hi) > pivot.
    let lt = lo;
    let gt = hi;
    for (let i = lo; i < gt;) {
      const v = order[i];
      const x = byteAt(arena, offsets, v, d);
      if (x < pivot) {
        order[i++] = order[lt];
        order[lt++] = v;
      } else if (x > pivot) {
        order[i] = order[--gt];
        order[gt] = v;
      } else i++;
    }
    // Recurse into the two smaller parts and loop on the largest, so the stack stays
    // O(log n) deep whatever the input. A middle part that ended at d holds equal values.
    const below = lt - lo;
    const above = hi - gt;
    const middle = pivot < 0 ? 0 : gt - lt;
    if (pivot < 0 && below === 0 && above === 0) return;
    if (middle >= below && middle >= above) {
      multikeySort(arena, offsets, order, lo, lt, d);
      multikeySort(arena, offsets, order, gt, hi, d);
      lo = lt;
      hi = gt;
      d++;
    } else {
      if (middle > 0) multikeySort(arena, offsets, order, lt, gt, d + 1);
      if (below >= above) {
        multikeySort(arena, offsets, order, gt, hi, d);
        hi = lt;
      } else {
        multikeySort(arena, offsets, order, lo, lt, d);
        lo = gt;
      }
    }
  }
}

function insertionSort(arena: Uint8Array, offsets: Int32Array, order: Int32Array, lo: number, hi: number, d: number): void {
  for (let i = lo + 1; i < hi; i++) {
    const v = order[i];
    let j = i - 1;
    while (j >= lo && compareFrom(arena, offsets, order[j], v, d) > 0) {
      order[j + 1] = order[j];
      j--;
    }
    order[j + 1] = v;
  }
}

/** Byte order of values x and y, which share their first d bytes. */
function compareFrom(arena: Uint8Array, offsets: Int32Array, x: number, y: number, d: number): number {
  let i = offsets[x] + d;
  let j = offsets[y] + d;
  const ie = offsets[x + 1];
  const je = offsets[y + 1];
  for (; i < ie && j < je; i++, j++) {
    const t = arena[i] - arena[j];
    if (t !== 0) return t;
  }
  return ie - i - (je - j);
}
