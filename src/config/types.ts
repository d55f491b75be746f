/**
 * The filled config (what the rest of the program reads): every default applied, legacy
 * keys folded in, aliases resolved, every path absolute (docs/contract.md §7). Each key's
 * default and trade-off is documented where it is declared; docs/config.md is the reference.
 */
import type { ArtifactType } from '../engine/artifact-types';

/** More threads than this only costs memory (one V8 heap each) on any machine we run on. */
export const MAX_WORKERS = 256;

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
   * >= 1 MiB. Default 256 MiB. The main thread stops reading input while at the ceiling,
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

/** The Prometheus Pushgateway the day commands and `rollback` push their metrics to (docs/observability.md). */
export interface PushgatewayConfig {
  /**
   * Required: `http://host:port` (or https, with a path prefix if the gateway is behind
   * one). The CLI flag `--pushgateway <url>` overrides it.
   */
  url: string;
  /**
   * Seconds one push may take, connect to response, a number > 0. Default 10. A push that
   * fails or times out is a warning on stderr, never a failed run, so a slow gateway
   * delays the end of the job by at most this much.
   */
  timeout_s: number;
}

/**
 * Where the metrics of a state-changing command go (docs/observability.md). Both are off by
 * default; the CLI flags `--metrics-textfile` and `--pushgateway` override them.
 */
export interface MetricsConfig {
  /**
   * Absolute path of a node_exporter textfile-collector file (must end in `.prom`),
   * replaced atomically after every run; null (default) writes none. One file per scheduled
   * job (command, tenant, surface): the file describes only the last run of that job.
   */
  textfile: string | null;
  /** Null (default): no push. */
  pushgateway: PushgatewayConfig | null;
}

/**
 * Drift thresholds of one artifact type (docs/config.md "gates"): each compares the new
 * artifact with the one it replaces (src/engine/drift.ts). Null (the default) turns the
 * check off: daily windows legitimately change most keys from one day to the next.
 */
export interface DriftThresholds {
  /** A fraction in [0, 1]: block when (old rows - new rows) / old rows is above it. */
  max_row_shrink: number | null;
  /** A fraction in [0, 1]: block when |old keys ∩ new keys| / |old keys| is below it. */
  min_key_overlap: number | null;
  /** A fraction in [0, 1], ranked types only (popularity): block when the top-N overlap is below it. */
  min_top_n_overlap: number | null;
  /** N of the top-N overlap, integer >= 1. Default 100; ranked types only. */
  top_n: number;
}

/** Publish gates beyond the validation gates (docs/contract.md §4). */
export interface GatesConfig {
  /**
   * Default false: a day whose raw input is missing is not published, and an empty artifact
   * never replaces a non-empty one. True restores the Go tool's behaviour (a missing file
   * is a day without events that publishes empty artifacts); `--allow-empty` does it for
   * one run.
   */
  allow_empty: boolean;
  /** Per artifact type; every type is present, all thresholds off unless configured. */
  drift: Record<ArtifactType, DriftThresholds>;
}

export interface Config {
  /** Absolute; default `<cwd>/.out`. Base of the directory defaults below. */
  out_dir: string;
  raw_source: RawSourceConfig;
  /**
   * Absolute; default `<out_dir>/canonical`. Or `s3://<bucket>/<prefix>` (with an S3
   * `object_store`, whose endpoint and credentials it uses): pods on several hosts then share
   * the partitions (src/io/store/folder.ts). The same holds for the two folders below.
   */
  canonical_dir: string;
  /** Absolute; default `<out_dir>/checkpoints`. Or `s3://<bucket>/<prefix>`. */
  checkpoint_dir: string;
  /** Absolute; default `<out_dir>/artifacts` (staging). Or `s3://<bucket>/<prefix>`. */
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
  metrics: MetricsConfig;
  gates: GatesConfig;
}
