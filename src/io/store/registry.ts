/**
 * Filesystem registry (docs/contract.md §6): append-only records of published blobs, the current
 * manifest per (tenant, surface), its history, a rollback/publish audit log and the
 * one-publisher-at-a-time lock.
 *
 * Layout under `registry_dir`:
 *   records/<tenant>/<surface>/<type>/<version>.json   one per published version, never rewritten
 *   current/<tenant>/<surface>/manifest.json            replaced atomically by swapManifest
 *   history/<tenant>/<surface>/<updated_at>-<seq>.json  each manifest that a swap replaced
 *   audit/<tenant>/<surface>/<at>-<seq>-<action>.json   one file per publish/rollback entry
 *   locks/<tenant>/<surface>.lock                       {pid, host, started_at} of the publisher
 *
 * Every JSON file is Go-compatible pretty JSON (two-space indent, no trailing newline).
 * Readers skip temp files (`.<name>.tmp-<pid>-<random>`) left by interrupted writes.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { rfc3339Seconds } from '../../days';
import { ioError, lockedError } from '../../errors';
import { isPidAlive, isTempFile, pathSegment, tempPathFor, writeFileAtomic, writeFileExclusiveAtomic } from '../atomic';
import { encodePretty } from '../artifacts/go-json';
import { compareUtf8 } from '../parse/utf8';

/** One published blob. Field order is the file format. `sha256` and `size_bytes` describe the stored blob bytes. */
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
  size_bytes: number;
  sha256: string;
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

export interface LockOptions {
  /** How long to wait for another publisher to finish, in ms. Default 0: fail at once. */
  waitMs?: number;
  /** Poll interval while waiting, in ms. Default 50. */
  pollMs?: number;
}

/**
 * Content of a lock file. `token` (random, per acquisition) lets release and stale-lock
 * recovery tell two locks apart: the same pid can take the lock twice within one second,
 * and file systems reuse inode numbers at once.
 */
export interface LockHolder {
  pid: number;
  host: string;
  started_at: string;
  token?: string;
}

/**
 * What the publisher, rollback, history and status need from a registry. `FsRegistry`
 * keeps it under `registry_dir`; `S3Registry` (s3-registry.ts) under `registry/` in the
 * object store's bucket, with the same JSON bytes. Where a method returns a location
 * (`recordPath`, `manifestPath`, `HistoryEntry.path`, `appendAudit`), it is a file path
 * for the filesystem and an `s3://` URI for S3: it is for messages and people.
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
  /** The one-publisher lock of (tenant, surface); resolves to its release function. */
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

/** The audit entry with its fields in file order. */
export function canonicalAudit(entry: AuditEntry): AuditEntry {
  return {
    at: entry.at,
    action: entry.action,
    type: entry.type,
    from: entry.from,
    to: entry.to,
    user: entry.user,
    host: entry.host,
  };
}

/** Records sorted as `listRecords` returns them. */
export function sortRecords(records: RegistryRecord[]): RegistryRecord[] {
  return records.sort(
    (a, b) =>
      compareUtf8(a.published_at, b.published_at) ||
      compareUtf8(a.version, b.version) ||
      compareUtf8(a.artifact_type, b.artifact_type),
  );
}

export class FsRegistry implements Registry {
  readonly root: string;

  constructor(registryDir: string) {
    this.root = path.resolve(registryDir);
  }

  // ---- records -------------------------------------------------------------------------

  recordPath(tenant: string, surface: string, type: string, version: string): string {
    return path.join(
      this.root,
      'records',
      pathSegment('tenant', tenant),
      pathSegment('surface', surface),
      pathSegment('artifact type', type),
      `${pathSegment('version', version)}.json`,
    );
  }

  /**
   * Writes the record of a published version. Append-only: when a record for this
   * (tenant, surface, type, version) exists it is kept as it is and 'exists' is returned.
   */
  async writeRecord(rec: RegistryRecord): Promise<'created' | 'exists'> {
    const file = this.recordPath(rec.tenant, rec.surface, rec.artifact_type, rec.version);
    return writeFileExclusiveAtomic(file, encodePretty(canonicalRecord(rec)));
  }

  /** The record, or null when this version was never published. */
  async readRecord(tenant: string, surface: string, type: string, version: string): Promise<RegistryRecord | null> {
    const file = this.recordPath(tenant, surface, type, version);
    const text = await readTextOrNull(file);
    return text === null ? null : parseRecord(file, text);
  }

  /** Records of one type (or of every type), oldest publish first (ties: version, then type). */
  async listRecords(tenant: string, surface: string, type?: string): Promise<RegistryRecord[]> {
    const base = path.join(this.root, 'records', pathSegment('tenant', tenant), pathSegment('surface', surface));
    const types = type !== undefined ? [pathSegment('artifact type', type)] : await listNames(base, (n) => !isTempFile(n));
    const out: RegistryRecord[] = [];
    for (const t of types) {
      const dir = path.join(base, t);
      for (const name of await listNames(dir, isJsonFile)) {
        const file = path.join(dir, name);
        const text = await readTextOrNull(file);
        if (text !== null) out.push(parseRecord(file, text));
      }
    }
    return sortRecords(out);
  }

  // ---- manifest and history ------------------------------------------------------------

  manifestPath(tenant: string, surface: string): string {
    return path.join(this.root, 'current', pathSegment('tenant', tenant), pathSegment('surface', surface), 'manifest.json');
  }

  historyDir(tenant: string, surface: string): string {
    return path.join(this.root, 'history', pathSegment('tenant', tenant), pathSegment('surface', surface));
  }

  /** The current manifest, or null when nothing was published yet. A manifest that does not parse is an E_IO error. */
  async readManifest(tenant: string, surface: string): Promise<Manifest | null> {
    const file = this.manifestPath(tenant, surface);
    const text = await readTextOrNull(file);
    return text === null ? null : parseManifest(file, text);
  }

  /**
   * Points `current.<type>` at `updates[type]` for each given type; other types keep their
   * previous URI. The manifest being replaced is first appended to the history folder (so
   * `history` and `rollback --previous` can find it), then the new one is written atomically.
   * A crash leaves the previous manifest in place; at worst a history entry for it exists
   * already, and the retry does not add a duplicate.
   *
   * Callers must hold `acquireLock(tenant, surface)`: the read-merge-write is not atomic
   * against another writer.
   */
  async swapManifest(tenant: string, surface: string, updates: Record<string, string>, now: Date): Promise<Manifest> {
    const previous = await this.readManifest(tenant, surface);
    const manifest = nextManifest(previous, tenant, surface, updates, now);
    if (previous !== null) await this.appendHistory(tenant, surface, previous);
    await writeFileAtomic(this.manifestPath(tenant, surface), encodePretty(manifest));
    return manifest;
  }

  /** Manifests that were replaced, oldest first. */
  async listHistory(tenant: string, surface: string): Promise<HistoryEntry[]> {
    const dir = this.historyDir(tenant, surface);
    const entries: HistoryEntry[] = [];
    for (const name of await listNames(dir, isJsonFile)) {
      const m = SEQ_RE.exec(name);
      if (!m) continue;
      const file = path.join(dir, name);
      const text = await readTextOrNull(file);
      if (text !== null) entries.push({ seq: Number(m[2]), path: file, manifest: parseManifest(file, text) });
    }
    return entries.sort((a, b) => a.seq - b.seq);
  }

  private async appendHistory(tenant: string, surface: string, previous: Manifest): Promise<void> {
    const dir = this.historyDir(tenant, surface);
    const bytes = encodePretty(previous);
    const history = await this.listHistory(tenant, surface);
    const last = history[history.length - 1];
    // A swap that crashed after this step already recorded the same manifest.
    if (last !== undefined && encodePretty(last.manifest) === bytes) return;
    const stamp = compactTime(previous.updated_at);
    await appendSequenced(dir, last === undefined ? 1 : last.seq + 1, (seq) => `${stamp}-${seq}.json`, bytes);
  }

  // ---- audit ---------------------------------------------------------------------------

  auditDir(tenant: string, surface: string): string {
    return path.join(this.root, 'audit', pathSegment('tenant', tenant), pathSegment('surface', surface));
  }

  /** Appends one audit entry as its own file (never rewritten). Returns its path. */
  async appendAudit(tenant: string, surface: string, entry: AuditEntry): Promise<string> {
    const dir = this.auditDir(tenant, surface);
    const ordered = canonicalAudit(entry);
    const names = await listNames(dir, isJsonFile);
    const next = names.reduce((max, n) => Math.max(max, Number(SEQ_RE.exec(n)?.[2] ?? 0)), 0) + 1;
    const stamp = compactTime(entry.at);
    return appendSequenced(dir, next, (seq) => `${stamp}-${seq}-${entry.action}.json`, encodePretty(ordered));
  }

  /** Audit entries in the order they were appended. */
  async listAudit(tenant: string, surface: string): Promise<AuditEntry[]> {
    const dir = this.auditDir(tenant, surface);
    const found: { seq: number; entry: AuditEntry }[] = [];
    for (const name of await listNames(dir, isJsonFile)) {
      const m = SEQ_RE.exec(name);
      if (!m) continue;
      const file = path.join(dir, name);
      const text = await readTextOrNull(file);
      if (text !== null) found.push({ seq: Number(m[2]), entry: parseAudit(file, text) });
    }
    return found.sort((a, b) => a.seq - b.seq).map((f) => f.entry);
  }

  // ---- publisher lock ------------------------------------------------------------------

  lockPath(tenant: string, surface: string): string {
    return path.join(this.root, 'locks', pathSegment('tenant', tenant), `${pathSegment('surface', surface)}.lock`);
  }

  /**
   * Takes the one-publisher lock of (tenant, surface) and returns its release function.
   *
   * The lock file holds `{pid, host, started_at, token}` and appears complete or not at all (it is
   * written to a temp file and hard-linked into place, which fails if a lock exists).
   * Stale lock recovery: when the holder ran on this host (`host` = os.hostname()) and its
   * pid is no longer a live process, the lock is a leftover of a crash and is removed, then
   * acquisition is retried. A lock from another host, or one that cannot be read, is never
   * removed automatically, and neither is one whose pid was reused by a live process: an
   * operator removes such a file after checking that its publisher is gone.
   * Otherwise waits up to `waitMs`, polling, then fails with E_LOCKED.
   *
   * Release removes the lock only if it is still the one this call wrote (same token);
   * releasing twice is harmless.
   */
  async acquireLock(tenant: string, surface: string, opts: LockOptions = {}): Promise<() => Promise<void>> {
    const file = this.lockPath(tenant, surface);
    const waitMs = opts.waitMs ?? 0;
    const pollMs = Math.max(1, opts.pollMs ?? 50);
    const deadline = Date.now() + waitMs;
    const host = os.hostname();
    for (;;) {
      const holder: LockHolder = {
        pid: process.pid,
        host,
        started_at: rfc3339Seconds(Date.now()),
        token: randomBytes(8).toString('hex'),
      };
      const ourText = encodePretty(holder);
      if ((await writeFileExclusiveAtomic(file, ourText)) === 'created') {
        return async () => {
          const seen = await readLock(file);
          if (seen === null || seen.text !== ourText) return;
          await fs.unlink(file).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== 'ENOENT') throw ioError('remove lock', file, err);
          });
        };
      }
      const seen = await readLock(file);
      if (seen === null) continue; // released between our attempt and the read: try again
      if (seen.holder !== null && seen.holder.host === host && !isPidAlive(seen.holder.pid)) {
        await breakStaleLock(file, seen.text);
        continue;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        const who =
          seen.holder === null
            ? 'an unreadable lock file'
            : `pid ${seen.holder.pid} on host ${seen.holder.host} since ${seen.holder.started_at}`;
        throw lockedError(
          `another publisher holds ${file} (${who}); wait for it to finish, or remove the file once that process is known to be gone`,
        );
      }
      await sleep(Math.min(pollMs, remaining));
    }
  }
}

// ---- helpers -----------------------------------------------------------------------------

export function isJsonFile(name: string): boolean {
  return name.endsWith('.json') && !isTempFile(name);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function readTextOrNull(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw ioError('read', file, err);
  }
}

/** Names in `dir` passing `keep`, in byte order; a missing folder has none. */
async function listNames(dir: string, keep: (name: string) => boolean): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).filter(keep).sort(compareUtf8);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    throw ioError('list', dir, err);
  }
}

/** Writes `bytes` as a new file named by `nameFor(seq)`, taking the next free seq if a name is taken. */
async function appendSequenced(dir: string, firstSeq: number, nameFor: (seq: string) => string, bytes: string): Promise<string> {
  for (let seq = firstSeq; ; seq++) {
    const file = path.join(dir, nameFor(String(seq).padStart(SEQ_DIGITS, '0')));
    if ((await writeFileExclusiveAtomic(file, bytes)) === 'created') return file;
  }
}

export function parseJson(file: string, text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw ioError(`parse ${what}`, file, err);
  }
}

function isStringMap(value: unknown): value is Record<string, string> {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.values(value as object).every((v) => typeof v === 'string')
  );
}

export function parseManifest(file: string, text: string): Manifest {
  const m = parseJson(file, text, 'manifest') as Partial<Manifest> | null;
  if (
    m === null ||
    typeof m !== 'object' ||
    m.v !== 1 ||
    typeof m.tenant !== 'string' ||
    typeof m.surface !== 'string' ||
    !isStringMap(m.current) ||
    typeof m.updated_at !== 'string'
  ) {
    throw ioError('parse manifest', file, new Error('expected {"v":1,"tenant","surface","current":{type:uri},"updated_at"}'));
  }
  return { v: 1, tenant: m.tenant, surface: m.surface, current: m.current, updated_at: m.updated_at };
}

export function parseRecord(file: string, text: string): RegistryRecord {
  const r = parseJson(file, text, 'registry record') as Partial<RegistryRecord> | null;
  if (
    r === null ||
    typeof r !== 'object' ||
    r.v !== 1 ||
    typeof r.artifact_type !== 'string' ||
    typeof r.version !== 'string' ||
    typeof r.uri !== 'string' ||
    typeof r.published_at !== 'string' ||
    typeof r.tenant !== 'string' ||
    typeof r.surface !== 'string' ||
    typeof r.window?.start !== 'string' ||
    typeof r.window?.end !== 'string' ||
    typeof r.size_bytes !== 'number' ||
    typeof r.sha256 !== 'string'
  ) {
    throw ioError(
      'parse registry record',
      file,
      new Error('expected v 1 with tenant, surface, artifact_type, version, uri, window {start, end}, published_at, size_bytes and sha256'),
    );
  }
  return r as RegistryRecord;
}

/** An audit entry, checked enough that readers never meet a null or a missing field. */
export function parseAudit(file: string, text: string): AuditEntry {
  const a = parseJson(file, text, 'audit entry') as Partial<AuditEntry> | null;
  if (a === null || typeof a !== 'object' || typeof a.type !== 'string' || typeof a.action !== 'string' || typeof a.to !== 'string' || typeof a.at !== 'string') {
    throw ioError('parse audit entry', file, new Error('expected an object with at, action, type, from and to'));
  }
  return a as AuditEntry;
}

/** The record with its fields in file order (encodePretty keeps insertion order). */
export function canonicalRecord(rec: RegistryRecord): RegistryRecord {
  return {
    v: 1,
    tenant: rec.tenant,
    surface: rec.surface,
    segment: rec.segment === '' ? undefined : rec.segment,
    artifact_type: rec.artifact_type,
    version: rec.version,
    uri: rec.uri,
    window: { start: rec.window.start, end: rec.window.end },
    built_at: rec.built_at,
    published_at: rec.published_at,
    size_bytes: rec.size_bytes,
    sha256: rec.sha256,
  };
}

interface SeenLock {
  /** null when the file does not hold a lock we can interpret. */
  holder: LockHolder | null;
  text: string;
}

/** The current lock (its holder and exact text), or null when there is no lock. */
async function readLock(file: string): Promise<SeenLock | null> {
  const text = await readTextOrNull(file);
  if (text === null) return null;
  return { holder: parseLockHolder(text), text };
}

export function parseLockHolder(text: string): LockHolder | null {
  try {
    const h = JSON.parse(text) as Partial<LockHolder> | null;
    if (h && typeof h.pid === 'number' && typeof h.host === 'string' && typeof h.started_at === 'string') {
      return { pid: h.pid, host: h.host, started_at: h.started_at, token: typeof h.token === 'string' ? h.token : undefined };
    }
  } catch {
    // fall through: unreadable
  }
  return null;
}

/**
 * Removes a stale lock without racing another process that does the same: the lock is
 * renamed aside first, and only deleted if the file moved is the stale one we inspected
 * (same text, which names the dead pid). If another recoverer replaced it with a fresh
 * lock in between, that fresh lock is linked back into place.
 */
async function breakStaleLock(file: string, staleText: string): Promise<void> {
  const aside = tempPathFor(file);
  try {
    await fs.rename(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw ioError('remove stale lock', file, err);
  }
  try {
    const movedText = await fs.readFile(aside, 'utf8');
    if (movedText !== staleText) {
      await fs.link(aside, file).catch(() => undefined);
    }
  } finally {
    await fs.unlink(aside).catch(() => undefined);
  }
}
