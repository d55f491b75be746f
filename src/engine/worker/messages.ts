/**
 * Everything that crosses the thread boundary between the coordinator and a worker.
 *
 * Inputs are read-only typed arrays over SharedArrayBuffers built once per day by the
 * coordinator: structured clone shares them, nothing is copied per shard. A shard is a
 * range of row keys (item codes for cooc, user codes for implicit/session_seq).
 * Results are fresh, exact-size typed arrays transferred back (their buffers detach in
 * the worker). Failures come back as plain data, never as thrown subclasses, because
 * structured clone drops error classes.
 */
import type { SessionItemIndex } from '../../kernels/cooc';
import type { ScoredRows } from '../../kernels/scored-rows';

export interface CoocTask {
  kind: 'cooc';
  shard: number;
  index: SessionItemIndex;
  lo: number;
  hi: number;
  minSupport: number;
  maxNeighbors: number;
}

export interface UserTask {
  kind: 'implicit' | 'session_seq';
  shard: number;
  nItems: number;
  userOffsets: Int32Array;
  userItems: Int32Array;
  /** Present for session_seq only. */
  userTs?: Float64Array;
  lo: number;
  hi: number;
  maxItemsPerUser: number;
}

export type ShardTask = CoocTask | UserTask;

export type ShardOutcome =
  | { state: 'ok'; shard: number; rows: ScoredRows }
  | { state: 'failed'; shard: number; code: string; message: string };

/** The buffers of a result to transfer (not copy) back to the coordinator. */
export function resultTransferList(rows: ScoredRows): ArrayBuffer[] {
  return [rows.keys.buffer, rows.offsets.buffer, rows.codes.buffer, rows.scores.buffer] as ArrayBuffer[];
}
