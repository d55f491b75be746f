/**
 * Counting sort of row indices by an integer key (dictionary code): the CSR layout
 * every per-session and per-user kernel reads. Stable: rows of one key keep canonical
 * row order. Rows whose key is negative (anonymous user) are left out.
 *
 * Allocates `offsets` (nKeys + 1) and `rows` (number of non-negative keys); `alloc` lets
 * the coordinator place them in SharedArrayBuffers that workers read without copying.
 */
export interface Groups {
  /** Rows of key k are rows[offsets[k] .. offsets[k+1]). */
  offsets: Int32Array;
  rows: Int32Array;
}

export type Int32Alloc = (length: number) => Int32Array;
export const heapInt32: Int32Alloc = (length) => new Int32Array(length);

export function groupRows(keys: Int32Array, nKeys: number, alloc: Int32Alloc = heapInt32): Groups {
  const offsets = alloc(nKeys + 1);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (k >= 0) offsets[k + 1]++;
  }
  for (let k = 0; k < nKeys; k++) offsets[k + 1] += offsets[k];
  const rows = alloc(offsets[nKeys]);
  const cursor = offsets.slice(0, nKeys);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (k >= 0) rows[cursor[k]++] = i;
  }
  return { offsets, rows };
}
