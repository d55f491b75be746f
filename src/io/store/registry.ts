/**
 * The registry (docs/contract.md §6): append-only records of published blobs, the current manifest per
 * (tenant, surface), its history, a rollback/publish audit log and the one-publisher-at-a-time
 * lock. This file holds the interface and the model; the backends are fs/registry.ts (under
 * `registry_dir`) and s3/registry.ts (under `registry/` in the object store's bucket), with
 * the same layout and the same JSON bytes (registry-json.ts), the lock protocol in lock.ts:
 *
 *   records/<tenant>/<surface>/<type>/<version>.json   one per published version, never rewritten
 *   current/<tenant>/<surface>/manifest.json            replaced by swapManifest
 *   history/<tenant>/<surface>/<updated_at>-<seq>.json  each manifest that a swap replaced
 *   audit/<tenant>/<surface>/<at>-<seq>-<action>.json   one file per publish/rollback entry
 *   locks/<tenant>/<surface>.lock                       {pid, host, started_at, token} of the publisher
 */
import { rfc3339Seconds } from '../../days';
import { recomputeVersion, sha256Hex } from '../artifacts/codec';
import { pathSegment } from '../atomic';
import { compareUtf8 } from '../parse/utf8';
import type { LockOptions } from './lock';

/**
 * One published blob. Field order is the file format. `sha256` and `size_bytes` describe the
 * stored blob bytes. A record the Go tool wrote (docs/contract.md §9, `format: 'go'`) is read
 * into the same shape: it has no size, no SHA-256 and no publish time, so `size_bytes` and
 * `sha256` are null and `published_at` is its build time to the second (`recordedBlobProblem`
 * verifies such a blob by recomputing its version instead). Records are only ever written
 * in our format (`canonicalRecord`).
 */
export interface RegistryRecord {
  v: 1;
  tenant: string;
  surface: string;
  segment?: string;
  artifact_type: string;
  version: string;
  uri: string;
  window: { start: string; end: string };
  built_at: string;
  published_at: string;
  size_bytes: number | null;
  sha256: string | null;
  /** Set on a record read from the Go tool's format; never written. */
  format?: 'go';
}

/**
 * What is wrong with a blob read from the store, measured against its record, or null when
 * it is the blob the record describes: our records by size and SHA-256 of the stored bytes;
 * Go tool records, which carry neither, by the version recomputed from the blob's content
 * (the version is a hash of everything but `build`, codec.ts).
 */
export function recordedBlobProblem(record: RegistryRecord, blob: Uint8Array): string | null {
  if (record.size_bytes === null || record.sha256 === null) {
    const version = recomputeVersion(blob);
    if (version === null) return 'blob is not an artifact (Go tool record: checked by recomputing the version from the blob)';
    if (version !== record.version) return `blob content has version ${version}, its Go tool record says ${record.version} (corrupt)`;
    return null;
  }
  if (record.size_bytes !== blob.length) return `blob has ${blob.length} bytes, its record says ${record.size_bytes}`;
  if (sha256Hex(blob) !== record.sha256) return 'blob sha256 differs from its record (corrupt)';
  return null;
}

export interface Manifest {
  v: 1;
  tenant: string;
  surface: string;
  /** artifact type → blob URI, keys in byte order. */
  current: Record<string, string>;
  updated_at: string;
}

export interface HistoryEntry {
  /** Position in the history folder, increasing with every swap. */
  seq: number;
  path: string;
  manifest: Manifest;
}

export interface AuditEntry {
  at: string;
  action: 'rollback' | 'publish';
  type: string;
  /** The URI that was current before, or null when the type had none. */
  from: string | null;
  to: string;
  user: string;
  host: string;
}

/**
 * What the publisher, rollback, history and status need from a registry. `FsRegistry`
 * keeps it under `registry_dir`; `S3Registry` under `registry/` in the object store's
 * bucket, with the same JSON bytes. Where a method returns a location (`recordPath`,
 * `manifestPath`, `HistoryEntry.path`, `appendAudit`), it is a file path for the
 * filesystem and an `s3://` URI for S3: it is for messages and people.
 */
export interface Registry {
  recordPath(tenant: string, surface: string, type: string, version: string): string;
  /** Append-only: an existing record is kept as it is and 'exists' is returned. */
  writeRecord(rec: RegistryRecord): Promise<'created' | 'exists'>;
  readRecord(tenant: string, surface: string, type: string, version: string): Promise<RegistryRecord | null>;
  /** Oldest publish first (ties: version, then type). */
  listRecords(tenant: string, surface: string, type?: string): Promise<RegistryRecord[]>;
  manifestPath(tenant: string, surface: string): string;
  readManifest(tenant: string, surface: string): Promise<Manifest | null>;
  /** Points `current.<type>` at `updates[type]`; the replaced manifest goes to the history first. */
  swapManifest(tenant: string, surface: string, updates: Record<string, string>, now: Date): Promise<Manifest>;
  /** Replaced manifests, oldest first. */
  listHistory(tenant: string, surface: string): Promise<HistoryEntry[]>;
  /** Returns where the entry was written. */
  appendAudit(tenant: string, surface: string, entry: AuditEntry): Promise<string>;
  listAudit(tenant: string, surface: string): Promise<AuditEntry[]>;
  /** The one-publisher lock of (tenant, surface) (lock.ts); resolves to its release function. */
  acquireLock(tenant: string, surface: string, opts?: LockOptions): Promise<() => Promise<void>>;
}

/** `2026-01-02T03:04:05Z` → `20260102T030405Z`, for file names that sort by time. */
export function compactTime(rfc3339: string): string {
  return rfc3339.replace(/[-:]/g, '').replace(/\.\d+/, '');
}

/** Digits of the sequence number in history and audit names. */
export const SEQ_DIGITS = 6;
/** `<stamp>-<seq>.json` (history) and `<stamp>-<seq>-<action>.json` (audit). */
export const SEQ_RE = /^(.+)-(\d+)(?:-[a-z]+)?\.json$/;

/**
 * The manifest a swap writes: `previous.current` with `updates` applied, keys in byte
 * order, `updated_at` = `now` to the second.
 */
export function nextManifest(previous: Manifest | null, tenant: string, surface: string, updates: Record<string, string>, now: Date): Manifest {
  const merged: Record<string, string> = { ...(previous?.current ?? {}) };
  for (const [type, uri] of Object.entries(updates)) merged[pathSegment('artifact type', type)] = uri;
  const current: Record<string, string> = {};
  for (const type of Object.keys(merged).sort(compareUtf8)) current[type] = merged[type];
  return {
    v: 1,
    tenant,
    surface,
    current,
    updated_at: rfc3339Seconds(now.getTime()),
  };
}

/** Records sorted as `listRecords` returns them. */
export function sortRecords(records: RegistryRecord[]): RegistryRecord[] {
  return records.sort(
    (a, b) => compareUtf8(a.published_at, b.published_at) || compareUtf8(a.version, b.version) || compareUtf8(a.artifact_type, b.artifact_type),
  );
}
