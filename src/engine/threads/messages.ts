/**
 * Everything that crosses the thread boundary between the main thread and a worker: the
 * tasks (a union on `task`), what each returns, and the outcome envelope.
 *
 * Every large array of a message lives in a SharedArrayBuffer, and nothing is ever
 * transferred (src/engine/threads/shared-memory.ts says why): structured clone shares
 * them, nothing is copied. Failures come back as plain data, never as thrown subclasses,
 * because structured clone drops error classes.
 */
import type { ErrorCode, ExitCode } from '../../errors';
import type { ArtifactHeader, FileArtifact } from '../../io/artifacts/codec';
import type { QuotedStrings } from '../../io/artifacts/go-json';
import type { RowsPayloadSpec } from '../../io/artifacts/payloads';
import type { EncodableDay } from '../../io/canonical/day';
import type { ByteDictionarySnapshot, CodeRun, SortedColumn } from '../../io/parse/byte-dictionary';
import type { ParseResult, ScanParams } from '../../io/parse/scanner';
import type { ItemIndex } from '../../kernels/day-index';
import type { UserEvents } from '../../kernels/group';
import type { ArtifactType } from '../artifact-types';

/** Parse one block of whole raw lines (ingest); `shard` is the block's number in the input. */
export interface ParseTask {
  task: 'parse';
  shard: number;
  block: Uint8Array;
  params: ScanParams;
}

/** Merge one of the day's dictionary columns: its runs' sorted dictionaries into one, its rows' codes to match. */
export interface MergeTask {
  task: 'merge';
  /** The dictionary column: 0 tenant … 5 request_id (CANONICAL_COLUMNS[column + 1]). */
  column: number;
  runs: CodeRun[];
}

/** Index a window's events by session, and count them by item (validate). */
export interface ItemsTask {
  task: 'items';
  sessionCodes: Int32Array;
  nSessions: number;
  itemCodes: Int32Array;
  nItems: number;
}

/** Group a window's events by user (validate: the per-user kernels' input). */
export interface UsersTask {
  task: 'users';
  userCodes: Int32Array;
  itemCodes: Int32Array;
  tsMicros: Float64Array;
  nUsers: number;
}

/** JSON-quote every value of a dictionary (compute: the ids the artifacts write). */
export interface QuoteTask {
  task: 'quote';
  ids: 'item' | 'user';
  values: ByteDictionarySnapshot;
}

/** Encode a day's canonical partition and replace its file (ingest, while the main thread validates). */
export interface PartitionTask {
  task: 'partition';
  day: EncodableDay;
  path: string;
}

/** Encode one artifact (version hash + published blob) from its rows payload, into its staging folder. */
export interface EncodeTask {
  task: 'encode';
  header: ArtifactHeader;
  spec: RowsPayloadSpec;
  builtAt: string;
  /** The staging folder the worker writes `<version>.json` into. */
  stageDir: string;
}

/** One task of an artifact type's kernel (src/engine/artifact-types/<type>.ts). */
export interface KernelTask {
  task: 'kernel';
  type: ArtifactType;
  /** The shard's number among the type's tasks for the window (-1: a task that is not a shard, see `label`). */
  shard: number;
  /** Names a task that is not one shard of rows (`candidate ranking`). */
  label?: string;
  /** The type's kernel input (the compiler ties it to the type in its module). */
  input: unknown;
}

export type WorkerTask = ParseTask | MergeTask | ItemsTask | UsersTask | QuoteTask | PartitionTask | EncodeTask | KernelTask;

/** What each task returns. */
export interface TaskResults {
  parse: ParseResult;
  merge: SortedColumn;
  items: ItemIndex;
  users: UserEvents;
  quote: QuotedStrings;
  /** The partition file's size in bytes. */
  partition: number;
  encode: FileArtifact;
  /** The type's kernel output. */
  kernel: unknown;
}

export type TaskOutcome<R = TaskResults[WorkerTask['task']]> =
  { state: 'ok'; result: R } | { state: 'failed'; code: ErrorCode; exitCode?: ExitCode; message: string };
