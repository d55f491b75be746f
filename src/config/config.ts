/**
 * Config file (docs/contract.md §7): a JSON file with snake_case keys, as in the Go tool, plus the
 * project's `engine`, `ingest` and `db` sections. `ConfigInput` is what a user writes;
 * `Config` is the filled result: every default applied, legacy keys folded in, aliases
 * resolved, every path absolute. Unknown or ill-typed keys are a config error (exit 2)
 * whose message names the full key path.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { z } from 'zod';
import { configError, describeCause, usageError } from '../errors';
import { artifactAliases, ARTIFACT_TYPES, artifactType, artifactTypeOf, describeArtifactTypes, type ArtifactType } from '../engine/artifact-types';

const MiB = 1024 * 1024;
/** More threads than this only costs memory (one V8 heap each) on any machine we run on. */
export const MAX_WORKERS = 256;

// ---------------------------------------------------------------------------------------
// Filled config (what the rest of the program reads)
// ---------------------------------------------------------------------------------------

/** An S3-compatible bucket (AWS, MinIO, Ceph, R2…), always addressed path-style. */
export interface S3Config {
  /**
   * `host:port` or a URL. Default `""`: the AWS endpoint for `region`.
   */
  endpoint: string;
  /** Required. Created on first use when missing and the credentials allow it. */
  bucket: string;
  /**
   * Default `""`. When both keys are empty the standard AWS environment/credential chain
   * is used; prefer that in production so secrets stay out of config files.
   */
  access_key: string;
  /** Default `""`; see `access_key`. */
  secret_key: string;
  /** Default `"us-east-1"` (what MinIO and most S3-compatible stores expect). */
  region: string;
  /**
   * Key prefix, default `""`. Leading and trailing slashes are removed, so keys never
   * start with `/` and never hold `//`.
   */
  prefix: string;
  /**
   * Default: true when `endpoint` starts with `https://`, else false (the Go tool's zero
   * value; a local MinIO on `localhost:9000` speaks plain HTTP).
   */
  use_ssl: boolean;
}

/** Postgres exposure log of the online service (docs/storage-contract.md §3). */
export interface PostgresSourceConfig {
  /** Required, e.g. `postgres://user:pass@host:5432/db?sslmode=disable`. */
  dsn: string;
  /** Default `"tenants"`. */
  tenant_table: string;
  /** Default `"exposure_events"`. */
  exposure_table: string;
}

export interface RawSourceConfig {
  /** Default `"fs"`. The input alias `"minio"` is folded into `"s3"`. */
  type: 'fs' | 's3' | 'postgres';
  /** Absolute; present (and required) exactly when `type` is `"fs"`. Legacy key: `raw_events_dir`. */
  dir?: string;
  /** Present exactly when `type` is `"s3"`. */
  s3?: S3Config;
  /** Present exactly when `type` is `"postgres"`. */
  postgres?: PostgresSourceConfig;
}

export interface ObjectStoreConfig {
  /** Default `"fs"`. The input alias `"minio"` is folded into `"s3"`. */
  type: 'fs' | 's3';
  /**
   * Absolute; default `<out_dir>/objectstore`. Always filled, also for `s3`, so local
   * tools have a place to stage. Legacy key: `object_store_dir`.
   */
  dir: string;
  /** Present exactly when `type` is `"s3"`. */
  s3?: S3Config;
}

export interface CatalogConfig {
  /** Absolute path of the item catalog. Required when `content_sim` is selected. */
  path: string;
  /** Default: from the extension, `.jsonl`/`.ndjson` → `"jsonl"`, anything else `"csv"`. */
  format: 'csv' | 'jsonl';
}

/**
 * Guardrails (docs/contract.md §7). All are non-negative integers and 0 is taken literally (a hard
 * limit of 0 refuses any event). Hard limits stop the day with `limit exceeded`, exit 1,
 * nothing published; caps trim the output.
 */
export interface LimitsConfig {
  /** Hard. Default 365. Days one run may cover (`--start`..`--end` inclusive). */
  max_days_backfill: number;
  /** Hard. Default 1,000,000 events per day window. */
  max_events_per_run: number;
  /** Hard. Default 1,000,000 distinct sessions per day window. */
  max_sessions_per_run: number;
  /** Hard. Default 200 distinct items in one session (the set cooc pairs up; repeats do not count). */
  max_items_per_session: number;
  /** Hard. Default 2,000,000 distinct items per day window. */
  max_distinct_items_per_run: number;
  /** Cap. Default 50 neighbours kept per cooc item. */
  max_neighbors_per_item: number;
  /** Cap. Default 1000 rows kept per artifact. */
  max_items_per_artifact: number;
  /** Cap. Default 2: a pair seen fewer times than this is dropped from cooc. */
  min_cooc_support: number;
  /** Hard. Default 100,000 distinct users per day window. */
  max_users_per_run: number;
  /** Cap. Default 500 items kept per user (implicit, session_seq). */
  max_items_per_user: number;
  /**
   * Gate (project extension). Default 0 = no gate: a day without events still publishes
   * empty artifacts. Above 0, a day with fewer events fails validation and publishes
   * nothing, which protects `current` from an upstream outage at the cost of a stale day.
   */
  min_events_per_run: number;
}

/** The parallel engine (project extension, docs/contract.md §7). */
export interface EngineConfig {
  /**
   * Worker threads, integer >= 1. Default `os.availableParallelism()`. Output does not
   * depend on it; more workers cost one V8 heap each (see `worker_heap_mb`). The CLI flag
   * `--workers` overrides it (`configWithOverrides`).
   */
  workers: number;
  /**
   * Events per shard sent to a worker, integer >= 1024. Default 262,144. Larger shards
   * amortise message and transfer overhead; smaller ones balance load better and lower the
   * peak memory of each task.
   */
  shard_rows: number;
  /**
   * Backpressure ceiling on the bytes of shards in flight (queued or running), integer
   * >= 1 MiB. Default 256 MiB. The coordinator stops reading input while at the ceiling,
   * so main-thread memory stays bounded whatever the input size; too low starves workers.
   */
  max_inflight_bytes: number;
  /**
   * V8 old-generation ceiling per worker thread in MiB (`resourceLimits.maxOldGenerationSizeMb`),
   * integer >= 64. Default 2048. A worker that crosses it fails its task with E_WORKER
   * instead of taking the whole process down; raise it for very large days.
   */
  worker_heap_mb: number;
}

/** Malformed raw lines (docs/contract.md §1). */
export interface IngestConfig {
  /**
   * Default `"fail"`: the first bad line stops the day before anything is written,
   * naming file, line and rule. `"quarantine"` writes rejected lines to a rejects file
   * beside the canonical partition and carries on, bounded by `max_rejected_fraction`.
   */
  bad_line_policy: 'fail' | 'quarantine';
  /**
   * With `quarantine`: the day fails when rejected / total lines exceeds this, a number in
   * [0, 1]. Default 0.01; 0 makes quarantine record the first bad line and then fail.
   */
  max_rejected_fraction: number;
}

/** Postgres signal tables (docs/storage-contract.md §4). */
export interface DbConfig {
  /** The connection string; the whole `db` section is `undefined` when it is absent or empty. */
  dsn: string;
  /**
   * Default false: an unknown tenant is an error. True inserts it (`external_id` = `name`
   * = the tenant), convenient for demos but a typo then creates a tenant.
   */
  auto_create_tenant: boolean;
  /** Per-statement timeout in seconds, integer >= 1. Default 30. */
  statement_timeout_s: number;
}

export interface Config {
  /** Absolute; default `<cwd>/.out`. Base of the directory defaults below. */
  out_dir: string;
  raw_source: RawSourceConfig;
  /** Absolute; default `<out_dir>/canonical`. */
  canonical_dir: string;
  /** Absolute; default `<out_dir>/checkpoints`. */
  checkpoint_dir: string;
  /** Absolute; default `<out_dir>/artifacts`. */
  artifacts_dir: string;
  object_store: ObjectStoreConfig;
  /** Absolute; default `<out_dir>/registry`. */
  registry_dir: string;
  /** Default `["popularity", "cooc"]`. Aliases resolved, deduplicated, canonical order. */
  artifact_kinds: ArtifactType[];
  catalog?: CatalogConfig;
  /**
   * Days of events each artifact covers, ending with the run day, integer >= 1. Default 1
   * (docs/contract.md §2). Larger windows smooth sparse traffic but read N partitions per day.
   */
  window_days: number;
  limits: LimitsConfig;
  engine: EngineConfig;
  ingest: IngestConfig;
  db?: DbConfig;
}

// ---------------------------------------------------------------------------------------
// Input schema (what a user writes). Every key optional; defaults and cross-key rules are
// applied by `fill` so that they can depend on `out_dir` and `cwd`.
// ---------------------------------------------------------------------------------------

/** One message for every way an integer can be wrong: type, fraction, range. */
const int = (min: number, text = min === 0 ? 'expected a non-negative integer' : `expected an integer >= ${min}`) =>
  z.number({ error: text }).int({ error: text }).min(min, { error: text });

const pathString = z.string().min(1, { error: 'expected a non-empty path' });

const s3Schema = z.strictObject({
  endpoint: z.string().optional(),
  bucket: z.string().optional(),
  access_key: z.string().optional(),
  secret_key: z.string().optional(),
  region: z.string().optional(),
  prefix: z.string().optional(),
  use_ssl: z.boolean().optional(),
});

const limitsSchema = z.strictObject({
  max_days_backfill: int(0).optional(),
  max_events_per_run: int(0).optional(),
  max_sessions_per_run: int(0).optional(),
  max_items_per_session: int(0).optional(),
  max_distinct_items_per_run: int(0).optional(),
  max_neighbors_per_item: int(0).optional(),
  max_items_per_artifact: int(0).optional(),
  min_cooc_support: int(0).optional(),
  max_users_per_run: int(0).optional(),
  max_items_per_user: int(0).optional(),
  min_events_per_run: int(0).optional(),
});

const artifactKindNames = [...ARTIFACT_TYPES, ...artifactAliases().map(([alias]) => alias)] as [string, ...string[]];

const configSchema = z.strictObject({
  out_dir: pathString.optional(),
  raw_source: z
    .strictObject({
      type: z.enum(['fs', 's3', 'minio', 'postgres']).optional(),
      dir: pathString.optional(),
      s3: s3Schema.optional(),
      postgres: z
        .strictObject({
          dsn: z.string().optional(),
          tenant_table: z.string().min(1).optional(),
          exposure_table: z.string().min(1).optional(),
        })
        .optional(),
    })
    .optional(),
  raw_events_dir: pathString.optional(),
  canonical_dir: pathString.optional(),
  checkpoint_dir: pathString.optional(),
  artifacts_dir: pathString.optional(),
  object_store: z
    .strictObject({
      type: z.enum(['fs', 's3', 'minio']).optional(),
      dir: pathString.optional(),
      s3: s3Schema.optional(),
    })
    .optional(),
  object_store_dir: pathString.optional(),
  registry_dir: pathString.optional(),
  artifact_kinds: z
    .array(
      z.enum(artifactKindNames, {
        error: `unknown artifact kind (valid: ${describeArtifactTypes()})`,
      }),
    )
    .min(1, { error: 'expected at least one artifact kind' })
    .optional(),
  catalog: z
    .strictObject({
      path: pathString.optional(),
      format: z.enum(['csv', 'jsonl']).optional(),
    })
    .optional(),
  window_days: int(1).optional(),
  limits: limitsSchema.optional(),
  engine: z
    .strictObject({
      workers: int(1).max(MAX_WORKERS, { error: `expected an integer from 1 to ${MAX_WORKERS}` }).optional(),
      shard_rows: int(1024).optional(),
      max_inflight_bytes: int(MiB, 'expected an integer >= 1048576 (1 MiB)').optional(),
      worker_heap_mb: int(64).optional(),
    })
    .optional(),
  ingest: z
    .strictObject({
      bad_line_policy: z.enum(['fail', 'quarantine']).optional(),
      max_rejected_fraction: z
        .number({ error: 'expected a number in [0, 1]' })
        .min(0, { error: 'expected a number in [0, 1]' })
        .max(1, { error: 'expected a number in [0, 1]' })
        .optional(),
    })
    .optional(),
  db: z
    .strictObject({
      dsn: z.string().optional(),
      auto_create_tenant: z.boolean().optional(),
      statement_timeout_s: int(1).optional(),
    })
    .optional(),
});

/** The config as written in the file: every key optional, legacy keys and aliases allowed. */
export type ConfigInput = z.input<typeof configSchema>;
type ParsedInput = z.output<typeof configSchema>;

// ---------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------

/**
 * Reads and validates a JSON config file. `path` is relative to `cwd`, and so are the
 * relative paths inside the file (docs/contract.md §7). Throws a PipelineError E_CONFIG (exit 2).
 */
export function loadConfig(path: string, cwd = process.cwd()): Config {
  const file = resolve(cwd, path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw configError(`config error in ${path}: cannot read config file ${file}: ${describeCause(cause)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (cause) {
    throw configError(`config error in ${path}: invalid JSON${jsonErrorPosition(text, cause)}: ${describeCause(cause)}`);
  }
  return parseConfig(raw, cwd, path);
}

/** Validates an already-parsed config value; `source` names it in error messages. */
export function parseConfig(raw: unknown, cwd = process.cwd(), source = '<config>'): Config {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw configError(`config error in ${source}: expected a JSON object at the top level, got ${describeValue(raw)}`);
  }
  const result = configSchema.safeParse(raw, { error: problemText });
  if (!result.success) {
    const problems = result.error.issues.map((issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.message
        : `${formatPath(issue.path) || '<root>'}: ${issue.message}, got ${describeValue(valueAt(raw, issue.path))}`,
    );
    throw configError(`config error in ${source}: ${problems.join('; ')}`);
  }
  return fill(result.data, resolve(cwd), source);
}

/** Applies CLI overrides (`--workers`) on top of a loaded config; returns a new object. */
export function configWithOverrides(c: Config, o: { workers?: number; windowDays?: number }): Config {
  for (const [flag, v] of [['--workers', o.workers], ['--window-days', o.windowDays]] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw usageError(`${flag}: expected an integer >= 1, got ${v}`);
  }
  if (o.workers !== undefined && o.workers > MAX_WORKERS) {
    throw usageError(`--workers: expected an integer from 1 to ${MAX_WORKERS}, got ${o.workers}`);
  }
  return {
    ...c,
    engine: o.workers === undefined ? c.engine : { ...c.engine, workers: o.workers },
    window_days: o.windowDays ?? c.window_days,
  };
}

// ---------------------------------------------------------------------------------------
// Defaults and cross-key rules
// ---------------------------------------------------------------------------------------

function fill(input: ParsedInput, cwd: string, source: string): Config {
  const fail = (keyPath: string, problem: string) => configError(`config error in ${source}: ${keyPath}: ${problem}`);
  const abs = (p: string) => resolve(cwd, p);
  const outDir = abs(input.out_dir ?? '.out');

  // raw_source, with the legacy raw_events_dir = raw_source {type: "fs", dir}
  const rawIn = input.raw_source ?? {};
  const rawType = rawIn.type === 'minio' ? 's3' : (rawIn.type ?? 'fs');
  let rawDir = rawIn.dir === undefined ? undefined : abs(rawIn.dir);
  if (input.raw_events_dir !== undefined) {
    const legacy = abs(input.raw_events_dir);
    if (rawType !== 'fs') {
      throw fail('raw_events_dir', `conflicts with raw_source.type "${rawIn.type}" (raw_events_dir is the legacy form of raw_source {type: "fs", dir}); keep one`);
    }
    if (rawDir !== undefined && rawDir !== legacy) {
      throw fail('raw_events_dir', `conflicts with raw_source.dir ("${input.raw_events_dir}" vs "${rawIn.dir}"); keep one`);
    }
    rawDir = legacy;
  }
  const raw_source: RawSourceConfig = { type: rawType };
  if (rawType === 'fs') {
    if (rawDir === undefined) throw fail('raw_source.dir', 'required when raw_source.type is "fs" (or give the legacy raw_events_dir)');
    raw_source.dir = rawDir;
  } else if (rawType === 's3') {
    raw_source.s3 = fillS3(rawIn.s3, 'raw_source.s3', fail);
  } else {
    const pg = rawIn.postgres;
    if (!pg?.dsn) throw fail('raw_source.postgres.dsn', 'required when raw_source.type is "postgres"');
    raw_source.postgres = {
      dsn: pg.dsn,
      tenant_table: pg.tenant_table ?? 'tenants',
      exposure_table: pg.exposure_table ?? 'exposure_events',
    };
  }

  // object_store, with the legacy object_store_dir = object_store.dir
  const storeIn = input.object_store ?? {};
  const storeType = storeIn.type === 'minio' ? 's3' : (storeIn.type ?? 'fs');
  let storeDir = storeIn.dir === undefined ? undefined : abs(storeIn.dir);
  if (input.object_store_dir !== undefined) {
    const legacy = abs(input.object_store_dir);
    if (storeDir !== undefined && storeDir !== legacy) {
      throw fail('object_store_dir', `conflicts with object_store.dir ("${input.object_store_dir}" vs "${storeIn.dir}"); keep one`);
    }
    storeDir = legacy;
  }
  const object_store: ObjectStoreConfig = { type: storeType, dir: storeDir ?? join(outDir, 'objectstore') };
  if (storeType === 's3') object_store.s3 = fillS3(storeIn.s3, 'object_store.s3', fail);

  // artifact kinds: aliases resolved, duplicates dropped, canonical order
  const selected = new Set<ArtifactType>(
    (input.artifact_kinds ?? ['popularity', 'cooc']).map((k) => artifactTypeOf(k) as ArtifactType),
  );
  const artifact_kinds = ARTIFACT_TYPES.filter((t) => selected.has(t));

  let catalog: CatalogConfig | undefined;
  if (input.catalog !== undefined) {
    if (input.catalog.path === undefined) throw fail('catalog.path', 'required when catalog is given');
    const ext = extname(input.catalog.path).toLowerCase();
    catalog = {
      path: abs(input.catalog.path),
      format: input.catalog.format ?? (ext === '.jsonl' || ext === '.ndjson' ? 'jsonl' : 'csv'),
    };
  }
  const needsCatalog = artifact_kinds.find((t) => artifactType(t).needs.catalog);
  if (needsCatalog !== undefined && catalog === undefined) {
    throw fail('catalog.path', `required when artifact_kinds includes "${needsCatalog}"`);
  }

  const l = input.limits ?? {};
  const limits: LimitsConfig = {
    max_days_backfill: l.max_days_backfill ?? 365,
    max_events_per_run: l.max_events_per_run ?? 1_000_000,
    max_sessions_per_run: l.max_sessions_per_run ?? 1_000_000,
    max_items_per_session: l.max_items_per_session ?? 200,
    max_distinct_items_per_run: l.max_distinct_items_per_run ?? 2_000_000,
    max_neighbors_per_item: l.max_neighbors_per_item ?? 50,
    max_items_per_artifact: l.max_items_per_artifact ?? 1000,
    min_cooc_support: l.min_cooc_support ?? 2,
    max_users_per_run: l.max_users_per_run ?? 100_000,
    max_items_per_user: l.max_items_per_user ?? 500,
    min_events_per_run: l.min_events_per_run ?? 0,
  };

  const e = input.engine ?? {};
  const engine: EngineConfig = {
    workers: e.workers ?? availableParallelism(),
    shard_rows: e.shard_rows ?? 262_144,
    max_inflight_bytes: e.max_inflight_bytes ?? 256 * MiB,
    worker_heap_mb: e.worker_heap_mb ?? 2048,
  };

  const ingest: IngestConfig = {
    bad_line_policy: input.ingest?.bad_line_policy ?? 'fail',
    max_rejected_fraction: input.ingest?.max_rejected_fraction ?? 0.01,
  };

  // An empty dsn disables the signal upsert, as in the Go tool.
  const db: DbConfig | undefined = input.db?.dsn
    ? {
        dsn: input.db.dsn,
        auto_create_tenant: input.db.auto_create_tenant ?? false,
        statement_timeout_s: input.db.statement_timeout_s ?? 30,
      }
    : undefined;

  return {
    out_dir: outDir,
    raw_source,
    canonical_dir: input.canonical_dir === undefined ? join(outDir, 'canonical') : abs(input.canonical_dir),
    checkpoint_dir: input.checkpoint_dir === undefined ? join(outDir, 'checkpoints') : abs(input.checkpoint_dir),
    artifacts_dir: input.artifacts_dir === undefined ? join(outDir, 'artifacts') : abs(input.artifacts_dir),
    object_store,
    registry_dir: input.registry_dir === undefined ? join(outDir, 'registry') : abs(input.registry_dir),
    artifact_kinds,
    ...(catalog && { catalog }),
    window_days: input.window_days ?? 1,
    limits,
    engine,
    ingest,
    ...(db && { db }),
  };
}

function fillS3(
  s3: z.output<typeof s3Schema> | undefined,
  at: string,
  fail: (keyPath: string, problem: string) => Error,
): S3Config {
  if (!s3?.bucket) throw fail(`${at}.bucket`, `required when ${at.replace(/\.s3$/, '.type')} is "s3" or "minio"`);
  const endpoint = s3.endpoint ?? '';
  return {
    endpoint,
    bucket: s3.bucket,
    access_key: s3.access_key ?? '',
    secret_key: s3.secret_key ?? '',
    region: s3.region || 'us-east-1',
    prefix: (s3.prefix ?? '').replace(/^\/+|\/+$/g, ''),
    use_ssl: s3.use_ssl ?? /^https:\/\//i.test(endpoint),
  };
}

// ---------------------------------------------------------------------------------------
// Error text
// ---------------------------------------------------------------------------------------

/**
 * Per-parse zod error map: the problem part of each message (the path and the offending
 * value are added by `parseConfig`). Schema-level messages, such as the integer ones,
 * take precedence over this map.
 */
function problemText(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(issue.inst);
      return issue.keys
        .map((key) => {
          const hint = closest(key, known);
          return `unknown key "${formatPath([...(issue.path ?? []), key])}"${hint ? ` (did you mean "${hint}"?)` : ''}`;
        })
        .join('; ');
    }
    case 'invalid_type':
      return `expected ${withArticle(issue.expected)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return issue.origin === 'string' ? 'expected a non-empty string' : `expected at least ${issue.minimum}`;
    default:
      return 'invalid value';
  }
}

function withArticle(expected: string): string {
  if (expected === 'object' || expected === 'array') return `an ${expected}`;
  return `a ${expected}`;
}

function knownKeys(inst: unknown): string[] {
  const shape = (inst as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

/** The known key nearest to a misspelt one, if it is plausibly a typo. */
function closest(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    const d = editDistance(key, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** `limits.max_events_per_run`, `artifact_kinds[2]`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}

/** ` at line L, column C` from V8's `… at position N` (Node 20), else ``. */
function jsonErrorPosition(text: string, cause: unknown): string {
  const match = /position (\d+)/.exec(cause instanceof Error ? cause.message : '');
  if (!match) return '';
  const offset = Number(match[1]);
  const before = text.replace(/^\uFEFF/, '').slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return ` at line ${line}, column ${column}`;
}
