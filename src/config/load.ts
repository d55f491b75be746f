/**
 * Loading a config file: JSON → schema (schema.ts) → the filled Config (types.ts). A config
 * file is JSON with snake_case keys, as in the Go tool, plus the project's `engine`,
 * `ingest` and `db` sections. Unknown or ill-typed keys are a config error (exit 2) whose
 * message names the full key path.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { configError, describeCause, describeJsonError, isMissingPath, relativePathHint, usageError } from '../errors';
import { ARTIFACT_TYPES, artifactType, artifactTypeOf, type ArtifactType } from '../engine/artifact-types';
import { checkConfigInput, type DriftThresholdsInput, type ParsedInput, type S3Input } from './schema';
import type {
  CatalogConfig,
  Config,
  DbConfig,
  EngineConfig,
  GatesConfig,
  IngestConfig,
  LimitsConfig,
  MetricsConfig,
  ObjectStoreConfig,
  RawSourceConfig,
  S3Config,
} from './types';
import { MAX_WORKERS } from './types';

const MiB = 1024 * 1024;

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
    const hint = isMissingPath(cause) ? ` ${relativePathHint(resolve(cwd))}` : '';
    throw configError(`config error in ${path}: cannot read config file ${file}: ${describeCause(cause)}${hint}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    throw configError(`config error in ${path}: ${describeJsonError(text)}`);
  }
  return parseConfig(raw, cwd, path);
}

/** Validates an already-parsed config value; `source` names it in error messages. */
export function parseConfig(raw: unknown, cwd = process.cwd(), source = '<config>'): Config {
  return fill(checkConfigInput(raw, source), resolve(cwd), source);
}

/** Applies CLI overrides (`--workers`, `--metrics-textfile`…) on top of a loaded config; returns a new object. */
export function configWithOverrides(
  c: Config,
  o: { workers?: number; windowDays?: number; metricsTextfile?: string; pushgateway?: string },
  cwd = process.cwd(),
): Config {
  for (const [flag, v] of [
    ['--workers', o.workers],
    ['--window-days', o.windowDays],
  ] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw usageError(`${flag}: expected an integer >= 1, got ${v}`);
  }
  if (o.workers !== undefined && o.workers > MAX_WORKERS) {
    throw usageError(`--workers: expected an integer from 1 to ${MAX_WORKERS}, got ${o.workers}`);
  }
  return {
    ...c,
    engine: o.workers === undefined ? c.engine : { ...c.engine, workers: o.workers },
    window_days: o.windowDays ?? c.window_days,
    metrics: metricsWithOverrides(c.metrics, o, cwd),
  };
}

function metricsWithOverrides(m: Config['metrics'], o: { metricsTextfile?: string; pushgateway?: string }, cwd: string): MetricsConfig {
  if (o.metricsTextfile === undefined && o.pushgateway === undefined) return m;
  const problem = (flag: string) => (text: string) => usageError(`${flag}: ${text}`);
  return {
    textfile: o.metricsTextfile === undefined ? m.textfile : metricsTextfileFlag(o.metricsTextfile, cwd),
    pushgateway:
      o.pushgateway === undefined
        ? m.pushgateway
        : { url: pushgatewayUrl(o.pushgateway, problem('--pushgateway')), timeout_s: m.pushgateway?.timeout_s ?? DEFAULT_PUSH_TIMEOUT_S },
  };
}

const DEFAULT_PUSH_TIMEOUT_S = 10;

/** A `--metrics-textfile` flag as an absolute `.prom` path (E_USAGE naming the flag otherwise). */
export function metricsTextfileFlag(path: string, cwd = process.cwd()): string {
  return textfilePath(resolve(cwd, path), (problem) => usageError(`--metrics-textfile: ${problem}`));
}

/** node_exporter's textfile collector reads `*.prom` files only; anything else would be silently ignored. */
function textfilePath(path: string, fail: (problem: string) => Error): string {
  if (!path.endsWith('.prom')) throw fail(`node_exporter's textfile collector reads only files ending in .prom, got ${JSON.stringify(path)}`);
  return path;
}

/** An http(s) URL without query or fragment (the grouping key is appended to its path). */
function pushgatewayUrl(text: string, fail: (problem: string) => Error): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw fail(`expected an http:// or https:// URL such as http://127.0.0.1:9091, got ${JSON.stringify(text)}`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
    throw fail(`expected an http:// or https:// URL without ?query or #fragment, such as http://127.0.0.1:9091, got ${JSON.stringify(text)}`);
  }
  return text.replace(/\/+$/, '');
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
      throw fail(
        'raw_events_dir',
        `conflicts with raw_source.type "${rawIn.type}" (raw_events_dir is the legacy form of raw_source {type: "fs", dir}); keep one`,
      );
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

  // artifact kinds: aliases resolved, duplicates dropped, canonical order; missing or [] = the
  // default, as in the Go tool (entries are already trimmed and lower-cased by the schema)
  const kinds = input.artifact_kinds === undefined || input.artifact_kinds.length === 0 ? ['popularity', 'cooc'] : input.artifact_kinds;
  const selected = new Set<ArtifactType>(kinds.map((k) => artifactTypeOf(k) as ArtifactType));
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

  const m = input.metrics ?? {};
  if (m.pushgateway !== undefined && m.pushgateway.url === undefined) throw fail('metrics.pushgateway.url', 'required when metrics.pushgateway is given');
  const metrics: MetricsConfig = {
    textfile: m.textfile === undefined ? null : textfilePath(abs(m.textfile), (problem) => fail('metrics.textfile', problem)),
    pushgateway:
      m.pushgateway?.url === undefined
        ? null
        : {
            url: pushgatewayUrl(m.pushgateway.url, (problem) => fail('metrics.pushgateway.url', problem)),
            timeout_s: m.pushgateway.timeout_s ?? DEFAULT_PUSH_TIMEOUT_S,
          },
  };

  const gates = fillGates(input.gates, fail);

  // The shared folders: a local path, or s3://<bucket>/<prefix> on the object store's endpoint.
  const folder = (key: 'canonical_dir' | 'checkpoint_dir' | 'artifacts_dir', fallback: string): string => {
    const value = input[key];
    if (value === undefined) return join(outDir, fallback);
    if (!/^s3:\/\//i.test(value)) return abs(value);
    const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/i.exec(value);
    if (!m || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1])) {
      throw fail(key, `expected s3://<bucket>/<prefix> with a valid bucket name, got ${JSON.stringify(value)}`);
    }
    const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
    if (prefix.split('/').some((part) => part === '.' || part === '..') || /\/\//.test(prefix)) {
      throw fail(key, `the prefix of ${JSON.stringify(value)} must not hold ".", ".." or empty parts`);
    }
    if (object_store.s3 === undefined) {
      throw fail(key, `${JSON.stringify(value)} is on S3: set object_store.type "s3" (its endpoint and credentials are used for this folder too)`);
    }
    return prefix === '' ? `s3://${m[1]}` : `s3://${m[1]}/${prefix}`;
  };

  return {
    out_dir: outDir,
    raw_source,
    canonical_dir: folder('canonical_dir', 'canonical'),
    checkpoint_dir: folder('checkpoint_dir', 'checkpoints'),
    artifacts_dir: folder('artifacts_dir', 'artifacts'),
    object_store,
    registry_dir: input.registry_dir === undefined ? join(outDir, 'registry') : abs(input.registry_dir),
    artifact_kinds,
    ...(catalog && { catalog }),
    window_days: input.window_days ?? 1,
    limits,
    engine,
    ingest,
    ...(db && { db }),
    metrics,
    gates,
  };
}

/** Default N of the top-N overlap (`gates.drift.<type>.top_n`). */
export const DEFAULT_TOP_N = 100;

/** `gates`: every type present with its thresholds (null = off); top-N keys only on ranked types. */
function fillGates(input: ParsedInput['gates'], fail: (keyPath: string, problem: string) => Error): GatesConfig {
  const drift = {} as GatesConfig['drift'];
  for (const type of ARTIFACT_TYPES) {
    const t: DriftThresholdsInput = input?.drift?.[type] ?? {};
    if (!artifactType(type).drift.ranked) {
      for (const key of ['min_top_n_overlap', 'top_n'] as const) {
        if (t[key] !== undefined) throw fail(`gates.drift.${type}.${key}`, `only for ranked types (${rankedTypes().join(', ')}): ${type} rows have no rank`);
      }
    }
    drift[type] = {
      max_row_shrink: t.max_row_shrink ?? null,
      min_key_overlap: t.min_key_overlap ?? null,
      min_top_n_overlap: t.min_top_n_overlap ?? null,
      top_n: t.top_n ?? DEFAULT_TOP_N,
    };
  }
  return { allow_empty: input?.allow_empty ?? false, drift };
}

function rankedTypes(): string[] {
  return ARTIFACT_TYPES.filter((t) => artifactType(t).drift.ranked);
}

function fillS3(s3: S3Input | undefined, at: string, fail: (keyPath: string, problem: string) => Error): S3Config {
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
