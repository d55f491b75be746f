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
import type { ArtifactHeader, FileArtifact } from '../../io/artifact-codec';
import type { RowsPayloadSpec } from '../../io/payloads';

export interface CoocTask {
  kind: 'cooc';
  shard: number;
  index: SessionItemIndex;
  /** Item codes, ascending. */
  items: Int32Array;
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

/** Encode one artifact (version hash + published blob) from its rows payload. */
export interface EncodeTask {
  kind: 'encode';
  shard: number;
  header: ArtifactHeader;
  spec: RowsPayloadSpec;
  builtAt: string;
  /** The staging folder the worker writes `<version>.json` into. */
  stageDir: string;
}

export type EncodeResult = FileArtifact;

export type ShardTask = CoocTask | UserTask | ParseTask | EncodeTask;

/** What each kind of task returns. */
export interface TaskResults {
  cooc: ScoredRows;
  implicit: ScoredRows;
  session_seq: ScoredRows;
  parse: ParseResult;
  encode: EncodeResult;
}

export type ShardOutcome =
  | { state: 'ok'; shard: number; result: ScoredRows | ParseResult | EncodeResult }
  | { state: 'failed'; shard: number; code: string; message: string };

/**
 * Buffers to transfer (not copy) with a task: a parse block and the rows of an encode task
 * belong to their task; compute inputs are shared, never transferred.
 */
export function taskTransferList(task: ShardTask): ArrayBuffer[] {
  if (task.kind === 'parse') return [task.block.buffer as ArrayBuffer];
  if (task.kind === 'encode') {
    const { rows, selected } = task.spec;
    return [rows.keys, rows.offsets, rows.codes, rows.scores, selected].map((a) => a.buffer as ArrayBuffer);
  }
  return [];
}

/** Buffers of a result to transfer back to the coordinator. */
export function resultTransferList(result: ScoredRows | ParseResult | EncodeResult): ArrayBuffer[] {
  if ('parsed' in result) return parsedBlockTransferList(result.parsed);
  if ('path' in result) return [];
  return [result.keys.buffer, result.offsets.buffer, result.codes.buffer, result.scores.buffer] as ArrayBuffer[];
}
