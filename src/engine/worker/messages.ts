/**
 * Everything that crosses the thread boundary between the coordinator and a worker.
 *
 * Compute inputs are read-only typed arrays over SharedArrayBuffers built once per day by
 * the coordinator: structured clone shares them, nothing is copied per shard. A compute
 * shard is a range of row keys (item codes for cooc, user codes for implicit/session_seq).
 * A parse shard is a block of whole raw lines with an ArrayBuffer of its own, transferred
 * (the sender's view detaches).
 * Results are fresh, exact-size typed arrays transferred back. Failures come back as
 * plain data, never as thrown subclasses, because structured clone drops error classes.
 */
import type { SessionItemIndex } from '../../kernels/cooc';
import type { ScoredRows } from '../../kernels/scored-rows';
import { parsedBlockTransferList, type ParseResult, type ScanParams } from '../../io/exposure-scan';

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

export interface ParseTask {
  kind: 'parse';
  shard: number;
  block: Uint8Array;
  params: ScanParams;
}

export type ShardTask = CoocTask | UserTask | ParseTask;

/** What each kind of task returns. */
export interface TaskResults {
  cooc: ScoredRows;
  implicit: ScoredRows;
  session_seq: ScoredRows;
  parse: ParseResult;
}

export type ShardOutcome =
  | { state: 'ok'; shard: number; result: ScoredRows | ParseResult }
  | { state: 'failed'; shard: number; code: string; message: string };

/** Buffers to transfer (not copy) with a task: only a parse block is owned by its task. */
export function taskTransferList(task: ShardTask): ArrayBuffer[] {
  return task.kind === 'parse' ? [task.block.buffer as ArrayBuffer] : [];
}

/** Buffers of a result to transfer back to the coordinator. */
export function resultTransferList(result: ScoredRows | ParseResult): ArrayBuffer[] {
  if ('parsed' in result) return parsedBlockTransferList(result.parsed);
  return [result.keys.buffer, result.offsets.buffer, result.codes.buffer, result.scores.buffer] as ArrayBuffer[];
}
