/**
 * What an artifact type is made of. Each type is one module in this folder that declares
 * all of it (`defineArtifactType({...})`), and `index.ts` lists the modules: the config,
 * the CLI, the gates, the compute stage and the worker read everything about a type from
 * there. docs/adding-an-artifact-type.md walks through adding one.
 *
 * The modules run on both sides of the thread boundary: `compute` on the main thread
 * (planning shards, assembling the payload), `kernel` inside a worker. So they import
 * only kernels, payload encoders and this folder: never the pool, the store or Postgres.
 */
import type { LimitsConfig } from '../../config/types';
import type { TypedPayload } from '../../io/artifacts/codec';
import type { QuotedStrings } from '../../io/artifacts/go-json';
import type { CatalogItem } from '../../io/sources/catalog';
import type { DayIndex } from '../../kernels/day-index';

/** The row caps the artifact gate checks (docs/contract.md §4, §7). */
export interface ArtifactCaps {
  /** Most rows the payload may have. */
  maxRows: number;
  /** Most items in one row's list. */
  maxItemsPerRow: number;
}

/** What a type's compute step reads besides the day index. */
export interface ComputeNeeds {
  /** The JSON-quoted user ids (payload rows keyed by user). Item ids are always quoted. */
  userIds: boolean;
  /** The catalog (`catalog.path`), loaded once per run; the config then requires it. */
  catalog: boolean;
}

/** Everything a compute step gets for one window. */
export interface ComputeContext<KernelInput, KernelOutput> {
  index: DayIndex;
  limits: LimitsConfig;
  caps: ArtifactCaps;
  /** How many shards the window's events make (one per `engine.shard_rows` events, at least one). */
  shards: number;
  /** JSON-quoted item ids by item code (quoted on the pool while the kernels run). */
  itemIds: () => Promise<QuotedStrings>;
  /** JSON-quoted user ids by user code; only for a type with `needs.userIds`. */
  userIds: () => Promise<QuotedStrings>;
  /** The catalog's items; empty unless `needs.catalog`. */
  catalog: readonly CatalogItem[];
  /**
   * Runs one task of this type's kernel on the worker pool (or on this thread when the
   * command has no pool) and resolves to its result. `label` names a task that is not one
   * shard of rows (it appears in errors: `compute cooc (candidate ranking) failed`).
   */
  runKernel(input: KernelInput, label?: string): Promise<KernelOutput>;
}

/**
 * How the drift gate (src/engine/drift.ts) reads a payload without knowing the type: the
 * field that names a row, the list whose entries it counts as pairs, and whether rows come
 * best first (then the top-N overlap applies).
 */
export interface DriftShape {
  /** The row's id field (`item_id`, `user_id`): key overlap is over these ids. */
  readonly keyField: 'item_id' | 'user_id';
  /** The row's list (`items`, `tags`) whose entries count as pairs; null for a flat row. */
  readonly listField: string | null;
  /** Rows are in rank order, best first (popularity): `min_top_n_overlap` applies. */
  readonly ranked: boolean;
  /** What a row is, for messages and the summary: `items`, `users`. */
  readonly rowNoun: 'items' | 'users';
}

/** Throws the gate's error for one payload row (see checkRow). */
export type RowFailure = (detail: string) => Error;

export interface ArtifactTypeDef<Name extends string = string, KernelInput = never, KernelOutput = unknown> {
  /** The name in configs, flags, paths, blobs and records. Never rename: a compatibility surface. */
  readonly name: Name;
  /** Other spellings accepted in `artifact_kinds` and `--type`. */
  readonly aliases: readonly string[];
  /** The blob's payload key (`items`, `neighbors`, `users`). Never rename. */
  readonly payloadField: string;
  /** One line for `--help` and the docs. */
  readonly summary: string;
  /** The payload's shape for the drift gate and `diff`. */
  readonly drift: DriftShape;
  readonly needs: ComputeNeeds;
  caps(limits: LimitsConfig): ArtifactCaps;
  /**
   * The artifact gate's check of one row of a parsed payload (publishing a staged blob):
   * ids non-empty, counts/scores non-negative, lists within `caps.maxItemsPerRow`.
   */
  checkRow(row: Record<string, unknown>, caps: ArtifactCaps, fail: RowFailure): void;
  /**
   * Main thread: computes the window's payload, running kernel tasks through
   * `ctx.runKernel`. The main thread must stay free to hand tasks to workers: no long loop
   * here. Rows are checked against the caps here (on the typed arrays), before encoding.
   */
  compute(ctx: ComputeContext<KernelInput, KernelOutput>): Promise<TypedPayload>;
  /** Worker thread: one kernel task. Null for a type with no work on the pool. */
  readonly kernel: ((input: KernelInput) => KernelOutput | Promise<KernelOutput>) | null;
}

/** Declares a type; the compiler checks every member and ties `kernel` to `compute`'s calls. */
export function defineArtifactType<Name extends string, KernelInput = never, KernelOutput = unknown>(
  def: ArtifactTypeDef<Name, KernelInput, KernelOutput>,
): ArtifactTypeDef<Name, KernelInput, KernelOutput> {
  return def;
}

/** Row checks shared by the types' `checkRow`. */
export const rowChecks = {
  id(v: unknown, what: string, fail: RowFailure): void {
    if (typeof v !== 'string' || v === '') throw fail(`empty or missing ${what}`);
  },
  nonNegative(v: unknown, what: string, fail: RowFailure): void {
    if (typeof v !== 'number' || !(v >= 0)) throw fail(`negative or missing ${what}`);
  },
};
