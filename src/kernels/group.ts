import { sharedFloat64, sharedInt32 } from '../engine/threads/shared-memory';

/**
 * Counting sort of row indices by an integer key (dictionary code): the CSR layout
 * every per-session and per-user kernel reads. Stable: rows of one key keep canonical
 * row order. Rows whose key is negative (anonymous user) are left out.
 *
 * Allocates `offsets` (nKeys + 1) and `rows` (number of non-negative keys); `alloc` lets
 * the main thread place them in SharedArrayBuffers that workers read without copying.
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

/** Each user's events (anonymous excluded) in canonical row order, as CSR: items and timestamps. */
export interface UserEvents {
  /** Events of user u are [userOffsets[u], userOffsets[u+1]) of userItems / userTs. */
  userOffsets: Int32Array;
  userItems: Int32Array;
  userTs: Float64Array;
}

/**
 * Groups events by user code: one sequential pass scatters item codes and timestamps, so
 * each user's events keep canonical row order. Arrays are shared (the kernels read them on
 * workers).
 */
export function groupUserEvents(userCodes: Int32Array, itemCodes: Int32Array, tsMicros: Float64Array, nUsers: number): UserEvents {
  const userOffsets = sharedInt32(nUsers + 1);
  for (let i = 0; i < userCodes.length; i++) if (userCodes[i] >= 0) userOffsets[userCodes[i] + 1]++;
  for (let u = 0; u < nUsers; u++) userOffsets[u + 1] += userOffsets[u];
  const userItems = sharedInt32(userOffsets[nUsers]);
  const userTs = sharedFloat64(userOffsets[nUsers]);
  const cursor = userOffsets.slice(0, nUsers);
  for (let i = 0; i < userCodes.length; i++) {
    const u = userCodes[i];
    if (u < 0) continue;
    const at = cursor[u]++;
    userItems[at] = itemCodes[i];
    userTs[at] = tsMicros[i];
  }
  return { userOffsets, userItems, userTs };
}
