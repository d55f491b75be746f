/**
 * The day index: one window's canonical events arranged the way the kernels read them, and
 * the sizes the hard limits check. Built once per window by the validate stage (on the pool
 * when there is one: `sessions` and `users` below are its two tasks, run in parallel);
 * every array lives in a SharedArrayBuffer, so compute shards on any worker read it without
 * a copy.
 */
import type { CanonicalDay } from '../io/canonical/day';
import { sharedInt32 } from '../engine/threads/shared-memory';
import { indexSessions, maxSessionItems, type SessionItemIndex } from './cooc';
import { groupUserEvents, type UserEvents } from './group';
import { itemCounts } from './popularity';

export interface DayIndex extends UserEvents {
  events: number;
  nItems: number;
  nSessions: number;
  nUsers: number;
  maxItemsPerSession: number;
  /** Exposures per item code. */
  itemCounts: Int32Array;
  sessions: SessionItemIndex;
}

/** What the `sessions` index task builds: the session ↔ item index and the item counts. */
export interface ItemIndex {
  sessions: SessionItemIndex;
  itemCounts: Int32Array;
}

/** The session index and item counts of a window (O(events); shared arrays). */
export function indexItems(sessionCodes: Int32Array, nSessions: number, itemCodes: Int32Array, nItems: number): ItemIndex {
  return { sessions: indexSessions(sessionCodes, nSessions, itemCodes, nItems), itemCounts: itemCounts(itemCodes, nItems, sharedInt32) };
}

/** The whole index on this thread (no pool: tests, small job steps). */
export function indexDay(day: CanonicalDay): DayIndex {
  const items = indexItems(day.session.codes, day.session.size, day.item.codes, day.item.size);
  return dayIndex(day, items, groupUserEvents(day.user.codes, day.item.codes, day.tsMicros, day.user.size));
}

/** Assembles the index from its two parts (built here or by the two index tasks on the pool). */
export function dayIndex(day: CanonicalDay, items: ItemIndex, users: UserEvents): DayIndex {
  return {
    events: day.rows,
    nItems: day.item.size,
    nSessions: day.session.size,
    nUsers: day.user.size,
    maxItemsPerSession: maxSessionItems(items.sessions),
    itemCounts: items.itemCounts,
    sessions: items.sessions,
    ...users,
  };
}
