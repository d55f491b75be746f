/**
 * Everything that crosses the thread boundary between the coordinator and a worker.
 *
 * Every large array of a message lives in a SharedArrayBuffer, and nothing is ever
 * transferred (src/engine/threads/shared-memory.ts says why): structured clone shares them, nothing is
 * copied. Compute inputs are built once per day (the index: two tasks); a compute shard is a
 * range of row keys (item codes for cooc, user codes for implicit/session_seq). A parse
 * shard is a block of whole raw lines. Results are exact-size shared typed arrays.
 * Failures come back as plain data, never as thrown subclasses, because structured clone
 * drops error classes.
 */
import type { SessionItemIndex } from '../../kernels/cooc';
import type { ScoredRows } from '../../kernels/scored-rows';
import type { UserEvents } from '../../kernels/group';
import type { ErrorCode } from '../../errors';
import type { ByteDictionarySnapshot, CodeRun, SortedColumn } from '../../io/parse/byte-dictionary';
import type { QuotedStrings } from '../../io/artifacts/go-json';
import type { EncodableDay } from '../../io/canonical/day';
import type { ParseResult, ScanParams } from '../../io/parse/scanner';
import type { ArtifactHeader, FileArtifact } from '../../io/artifacts/codec';
import type { RowsPayloadSpec } from '../../io/artifacts/payloads';

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

/** Merge one of the day's columns: its runs' sorted dictionaries into one, its rows' codes to match (ingest). */
export interface ColumnTask {
  kind: 'column';
  /** The column (0 tenant .. 5 request_id). */
  shard: number;
  runs: CodeRun[];
}

/** Index a day's events by session (validate: the cooc kernels' input). */
export interface SessionsTask {
  kind: 'sessions';
  shard: number;
  sessionCodes: Int32Array;
  nSessions: number;
  itemCodes: Int32Array;
  nItems: number;
}

/** Group a day's events by user (validate: the implicit and session_seq kernels' input). */
export interface UsersTask {
  kind: 'users';
  shard: number;
  userCodes: Int32Array;
  itemCodes: Int32Array;
  tsMicros: Float64Array;
  nUsers: number;
}

/** Rank the items that may have a cooc row, most exposed first (compute cooc under a row cap). */
export interface RankTask {
  kind: 'rank';
  shard: number;
  index: SessionItemIndex;
  itemCounts: Int32Array;
  minCount: number;
}

/** JSON-quote every value of a dictionary (compute: the ids the artifacts write). */
export interface QuoteTask {
  kind: 'quote';
  shard: number;
  values: ByteDictionarySnapshot;
}

/** Encode a day's canonical partition and replace its file (ingest, while the main thread validates). */
export interface PartitionTask {
  kind: 'partition';
  shard: number;
  day: EncodableDay;
  path: string;
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

export type ShardTask = CoocTask | UserTask | ParseTask | ColumnTask | SessionsTask | UsersTask | RankTask | QuoteTask | PartitionTask | EncodeTask;

/** What each kind of task returns. */
export interface TaskResults {
  cooc: ScoredRows;
  implicit: ScoredRows;
  session_seq: ScoredRows;
  parse: ParseResult;
  column: SortedColumn;
  sessions: SessionItemIndex;
  users: UserEvents;
  rank: Int32Array;
  quote: QuotedStrings;
  /** The partition file's size in bytes. */
  partition: number;
  encode: EncodeResult;
}

export type ShardOutcome =
  | { state: 'ok'; shard: number; result: TaskResults[ShardTask['kind']] }
  | { state: 'failed'; shard: number; code: ErrorCode; exitCode?: 1 | 2; message: string };
