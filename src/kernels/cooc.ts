import type { ScoredRows } from './scored-rows';
import { ScoredRowsBuilder, SparseCounter } from './scored-rows';
import type { Groups, Int32Alloc } from './group';
import { groupRows, heapInt32 } from './group';
import { sharedCopy, sharedInt32 } from '../engine/threads/shared-memory';
import { rankCodes } from './topk';

/**
 * Item co-occurrence within sessions (docs/contract.md §5 cooc).
 *
 * The session → distinct-items lists and their inverse (item → sessions) are built once
 * by the validate stage and shared read-only with every worker. A shard is a range of item
 * codes (or, under a row cap, a list of them): the worker computes the complete neighbour row of each item by
 * walking that item's sessions, so rows never need merging across shards and the result
 * is the same for any number of shards. Work per item is the sum of the sizes of its
 * sessions; `coocItemWork` gives it so shards can be balanced.
 */
export interface SessionItemIndex {
  nItems: number;
  /** Distinct items of session s: sessionItems[sessionOffsets[s] .. sessionOffsets[s+1]). */
  sessionOffsets: Int32Array;
  sessionItems: Int32Array;
  /** Sessions containing item i: itemSessions[itemSessionOffsets[i] .. itemSessionOffsets[i+1]). */
  itemSessionOffsets: Int32Array;
  itemSessions: Int32Array;
}

/**
 * Builds the index from sessions grouped by row (groupRows over session codes).
 * Allocates 2 * (nItems + sessions + distinct pairs) Int32s through `alloc`.
 */
export function buildSessionItemIndex(sessions: Groups, itemCodes: Int32Array, nItems: number, alloc: Int32Alloc = heapInt32): SessionItemIndex {
  const nSessions = sessions.offsets.length - 1;
  // lastSession[item] = last session that listed the item, to de-duplicate within a session.
  const lastSession = new Int32Array(nItems).fill(-1);
  const scratch = new Int32Array(sessions.rows.length);
  const sessionOffsets = alloc(nSessions + 1);
  const itemSessionCounts = new Int32Array(nItems + 1);
  let n = 0;
  for (let s = 0; s < nSessions; s++) {
    for (let j = sessions.offsets[s]; j < sessions.offsets[s + 1]; j++) {
      const item = itemCodes[sessions.rows[j]];
      if (lastSession[item] !== s) {
        lastSession[item] = s;
        scratch[n++] = item;
        itemSessionCounts[item + 1]++;
      }
    }
    sessionOffsets[s + 1] = n;
  }
  const sessionItems = alloc(n);
  sessionItems.set(scratch.subarray(0, n));

  const itemSessionOffsets = alloc(nItems + 1);
  for (let i = 0; i < nItems; i++) itemSessionOffsets[i + 1] = itemSessionOffsets[i] + itemSessionCounts[i + 1];
  const itemSessions = alloc(n);
  const cursor = itemSessionOffsets.slice(0, nItems);
  for (let s = 0; s < nSessions; s++) {
    for (let j = sessionOffsets[s]; j < sessionOffsets[s + 1]; j++) itemSessions[cursor[sessionItems[j]]++] = s;
  }
  return { nItems, sessionOffsets, sessionItems, itemSessionOffsets, itemSessions };
}

/** The index of a day's events by session code (shared arrays: the cooc shards read it on workers). */
export function indexSessions(sessionCodes: Int32Array, nSessions: number, itemCodes: Int32Array, nItems: number): SessionItemIndex {
  return buildSessionItemIndex(groupRows(sessionCodes, nSessions), itemCodes, nItems, sharedInt32);
}

/** Largest number of distinct items in one session (the max_items_per_session limit). */
export function maxSessionItems(index: SessionItemIndex): number {
  let max = 0;
  const off = index.sessionOffsets;
  for (let s = 0; s + 1 < off.length; s++) max = Math.max(max, off[s + 1] - off[s]);
  return max;
}

/** Cost of computing the row of each of `items`: the summed size of its sessions. */
export function coocItemWork(index: SessionItemIndex, items: Int32Array): Float64Array {
  const work = new Float64Array(items.length);
  const { sessionOffsets, itemSessionOffsets, itemSessions } = index;
  for (let x = 0; x < items.length; x++) {
    const i = items[x];
    let w = 0;
    for (let j = itemSessionOffsets[i]; j < itemSessionOffsets[i + 1]; j++) {
      const s = itemSessions[j];
      w += sessionOffsets[s + 1] - sessionOffsets[s];
    }
    work[x] = w;
  }
  return work;
}

/**
 * Items that may have a row: those in at least `minCount` sessions with another item (a
 * kept neighbour is seen in at least `minCount` sessions). Exact for minCount 1.
 */
export function coocCandidates(index: SessionItemIndex, minCount: number): Int32Array {
  const { sessionOffsets, itemSessionOffsets, itemSessions } = index;
  const out = new Int32Array(index.nItems);
  let n = 0;
  for (let i = 0; i < index.nItems; i++) {
    let paired = 0;
    for (let j = itemSessionOffsets[i]; j < itemSessionOffsets[i + 1] && paired < minCount; j++) {
      const s = itemSessions[j];
      if (sessionOffsets[s + 1] - sessionOffsets[s] > 1) paired++;
    }
    if (paired >= minCount) out[n++] = i;
  }
  return out.slice(0, n);
}

/**
 * The items that may have a cooc row (coocCandidates), most exposed first (count desc, id
 * asc): the order in which a row cap keeps them. Shared (a pool task's result).
 */
export function rankedCandidates(index: SessionItemIndex, itemCounts: Int32Array, minCount: number): Int32Array {
  const candidates = coocCandidates(index, minCount);
  return sharedCopy(rankCodes(candidates, itemCounts, index.nItems, candidates.length));
}

/** The codes (or row positions) lo..hi-1. */
export function itemRange(lo: number, hi: number): Int32Array {
  const out = new Int32Array(Math.max(0, hi - lo));
  for (let i = 0; i < out.length; i++) out[i] = lo + i;
  return out;
}

/**
 * Neighbour rows of `items` (codes in ascending order): neighbours with count >= minSupport, ranked
 * (count desc, code asc), at most maxNeighbors. Items without a kept neighbour get no row.
 * Allocates one SparseCounter(nItems) plus the output.
 */
export function coocRows(index: SessionItemIndex, items: Int32Array, minSupport: number, maxNeighbors: number): ScoredRows {
  const { sessionOffsets, sessionItems, itemSessionOffsets, itemSessions } = index;
  const counter = new SparseCounter(index.nItems);
  const out = new ScoredRowsBuilder();
  const minCount = Math.max(1, minSupport);
  for (let x = 0; x < items.length; x++) {
    const a = items[x];
    for (let j = itemSessionOffsets[a]; j < itemSessionOffsets[a + 1]; j++) {
      const s = itemSessions[j];
      for (let k = sessionOffsets[s]; k < sessionOffsets[s + 1]; k++) {
        const b = sessionItems[k];
        if (b !== a) counter.add(b);
      }
    }
    counter.flushRow(out, a, minCount, maxNeighbors, false);
  }
  return out.finish();
}
