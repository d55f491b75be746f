/**
 * The coordinator: turns one window's canonical events into the shared indexes the kernels
 * read, then fans shards out to the pool and assembles the rows in key order.
 *
 * Sharding respects the data: a cooc shard is a range of item codes and its worker walks
 * every session of those items (the session index is shared, so sessions are never split);
 * an implicit/session_seq shard is a range of user codes with all of their events. Rows
 * never need merging, so the output is the same for any worker count or shard size.
 */
import type { CanonicalDay } from '../../io/canonical/day';
import { coocItemWork, indexSessions, itemRange, maxSessionItems, SessionItemIndex } from '../../kernels/cooc';
import { sharedCopy } from '../threads/shared-memory';
import { groupUserEvents, UserEvents } from '../../kernels/group';
import { itemCounts } from '../../kernels/popularity';
import type { ScoredRows } from '../../kernels/scored-rows';
import type { ComputePool } from '../threads/pool';
import { concatRows, planRanges, sortRowsByKey } from './shards';
import type { ShardTask } from '../threads/messages';
import { ArtifactHeader, encodeArtifact, EncodedArtifact, FileArtifact, TypedPayload } from '../../io/artifacts/codec';
import type { RowsPayload } from '../../io/artifacts/payloads';
import { faultPoint } from '../faults';

export interface DayIndex extends UserEvents {
  events: number;
  nItems: number;
  nSessions: number;
  nUsers: number;
  maxItemsPerSession: number;
  itemCounts: Int32Array;
  sessions: SessionItemIndex;
}

/** O(events) passes, on this thread; every array workers read lives in a SharedArrayBuffer. */
export function indexDay(day: CanonicalDay): DayIndex {
  const sessions = indexSessions(day.session.codes, day.session.size, day.item.codes, day.item.size);
  return dayIndex(day, sessions, groupUserEvents(day.user.codes, day.item.codes, day.tsMicros, day.user.size));
}

/** indexDay with the session index and the users' events built on the pool, in parallel. */
export async function indexDayOn(pool: ComputePool, day: CanonicalDay): Promise<DayIndex> {
  const [sessions, users] = await Promise.all([
    pool.run('validate', { kind: 'sessions', shard: 0, sessionCodes: day.session.codes, nSessions: day.session.size, itemCodes: day.item.codes, nItems: day.item.size }),
    pool.run('validate', { kind: 'users', shard: 0, userCodes: day.user.codes, itemCodes: day.item.codes, tsMicros: day.tsMicros, nUsers: day.user.size }),
  ]);
  return dayIndex(day, sessions, users);
}

function dayIndex(day: CanonicalDay, sessions: SessionItemIndex, users: UserEvents): DayIndex {
  return {
    events: day.rows,
    nItems: day.item.size,
    nSessions: day.session.size,
    nUsers: day.user.size,
    maxItemsPerSession: maxSessionItems(sessions),
    itemCounts: sharedCopy(itemCounts(day.item.codes, day.item.size)),
    sessions,
    ...users,
  };
}

export interface ComputeLimits {
  minCoocSupport: number;
  maxNeighborsPerItem: number;
  maxItemsPerUser: number;
  /** cooc rows the artifact keeps (max_items_per_artifact): only those are computed. */
  maxCoocRows: number;
}

export type EventKind = 'cooc' | 'implicit' | 'session_seq';

/** Number of shards for a window: one per `shardRows` events, at least one. */
export function shardCount(events: number, shardRows: number): number {
  return Math.max(1, Math.ceil(events / shardRows));
}

export async function computeRows(
  pool: ComputePool,
  index: DayIndex,
  kind: EventKind,
  limits: ComputeLimits,
  shardRows: number,
): Promise<ScoredRows> {
  const nShards = shardCount(index.events, shardRows);
  if (kind === 'cooc') {
    const rows = await coocRowsCapped(pool, index, limits, nShards);
    faultPoint('after-compute');
    return rows;
  }
  const weights = new Float64Array(index.nUsers);
  for (let u = 0; u < index.nUsers; u++) weights[u] = index.userOffsets[u + 1] - index.userOffsets[u];
  const tasks: ShardTask[] = planRanges(weights, nShards).map(([lo, hi], shard) => ({
    kind,
    shard,
    nItems: index.nItems,
    userOffsets: index.userOffsets,
    userItems: index.userItems,
    userTs: kind === 'session_seq' ? index.userTs : undefined,
    lo,
    hi,
    maxItemsPerUser: limits.maxItemsPerUser,
  }));
  const rows = concatRows(await Promise.all(tasks.map((t) => pool.run(kind, t) as Promise<ScoredRows>)));
  faultPoint('after-compute');
  return rows;
}

/**
 * The cooc rows the artifact can publish. SPEC §5 keeps at most `maxCoocRows` rows, those
 * of the most exposed items (count desc, id asc) among items with a kept neighbour. With
 * more items than that, rows are computed for candidates in that rank order, as many at a
 * time as rows are still missing, until the cap is reached: the less exposed items, whose
 * rows would be dropped, are never computed. Rows come back in item order.
 */
async function coocRowsCapped(pool: ComputePool, index: DayIndex, limits: ComputeLimits, nShards: number): Promise<ScoredRows> {
  let shard = 0;
  const rowsOf = async (items: Int32Array): Promise<ScoredRows> => {
    const ranges = planRanges(coocItemWork(index.sessions, items), nShards);
    const tasks: ShardTask[] = ranges.map(([lo, hi]) => ({
      kind: 'cooc',
      shard: shard++,
      index: index.sessions,
      items: items.slice(lo, hi),
      minSupport: limits.minCoocSupport,
      maxNeighbors: limits.maxNeighborsPerItem,
    }));
    return concatRows(await Promise.all(tasks.map((t) => pool.run('cooc', t) as Promise<ScoredRows>)));
  };
  if (index.nItems <= limits.maxCoocRows) return rowsOf(itemRange(0, index.nItems));

  // The ranking runs on the pool too: this thread goes on submitting the other kinds' shards.
  const ranked = await pool.run('cooc', { kind: 'rank', shard: 0, index: index.sessions, itemCounts: index.itemCounts, minCount: Math.max(1, limits.minCoocSupport) });
  const parts: ScoredRows[] = [];
  let found = 0;
  for (let at = 0; found < limits.maxCoocRows && at < ranked.length; ) {
    // At most as many candidates as rows are missing: the cap is never overshot.
    const chunk = ranked.slice(at, at + (limits.maxCoocRows - found)).sort();
    at += chunk.length;
    const rows = await rowsOf(chunk);
    parts.push(rows);
    found += rows.keys.length;
  }
  return sortRowsByKey(concatRows(parts));
}

/**
 * Encodes an artifact. A rows payload (cooc, implicit, session_seq: the big ones) is
 * encoded on a worker, straight into its staging file, so artifacts of a day encode in
 * parallel and none is held whole in memory; its row arrays move to that worker. Small
 * payloads encode here, in memory.
 */
export async function encodeOnPool(
  pool: ComputePool,
  header: ArtifactHeader,
  payload: TypedPayload,
  builtAt: string,
  stageDir: string,
): Promise<EncodedArtifact | FileArtifact> {
  const spec = (payload as Partial<RowsPayload>).spec;
  if (!spec) return encodeArtifact(header, payload, builtAt);
  return pool.run(`encode ${header.artifactType}`, { kind: 'encode', shard: 0, header, spec, builtAt, stageDir });
}
