/**
 * The registry (docs/contract.md §6) in the object store's bucket, beside the blobs, so the online
 * service reads the manifest where it reads the artifacts (docs/storage-contract.md):
 *
 *   <prefix>/registry/records/<tenant>/<surface>/<type>/<version>.json
 *   <prefix>/registry/current/<tenant>/<surface>/manifest.json
 *   <prefix>/registry/history/<tenant>/<surface>/<updated_at>-<seq>.json
 *   <prefix>/registry/audit/<tenant>/<surface>/<at>-<seq>-<action>.json
 *   <prefix>/registry/locks/<tenant>/<surface>.lock
 *
 * Same names and the same JSON bytes as FsRegistry (registry-json.ts).
 * Blob keys (`<prefix>/<tenant>/<surface>/<type>/<version>.json`) never collide with these,
 * even for a tenant named `registry`: the depths and suffixes differ.
 *
 * Writes that must not replace anything (records, history, audit, the lock) use
 * `If-None-Match: *`. The manifest swap reads the manifest and its ETag and writes with
 * `If-Match: <etag>` (`If-None-Match: *` for the first one): if another writer swapped it in
 * between, the store answers 412 and the swap fails with E_LOCKED; no update is lost.
 *
 * The publisher lock is an object naming its owner (lock.ts), created with
 * `If-None-Match: *` and deleted on release only if it still holds our token. A lock left
 * behind by a process that is known to be gone (same host, boot and pid namespace, pid dead)
 * or by an earlier pod of the same Kubernetes Job index is taken over with `If-Match` on its
 * ETag (`judgeLock`). Any other lock is never broken automatically: on S3 there is no safe
 * way to tell a crashed publisher from a slow one on another machine, and breaking a live
 * one would let two publishers interleave. Such a lock older than `staleLockMs` (default
 * 1 h) is reported as probably stale, with the object to delete once its publisher is known
 * to be gone; a younger one as held.
 */
import type { S3Config } from '../../../config/types';
import { ioError, isPipelineError, lockedError, PipelineError } from '../../../errors';
import { pathSegment } from '../../atomic';
import { encodePretty } from '../../artifacts/go-json';
import type { LockHolder, LockOptions, LockSite } from '../lock';
import { acquireLock, describeHolder } from '../lock';
import type { AuditEntry, HistoryEntry, Manifest, Registry, RegistryRecord } from '../registry';
import { compactTime, nextManifest, SEQ_DIGITS, SEQ_RE, sortRecords } from '../registry';
import { canonicalAudit, canonicalRecord, parseAudit, parseManifest, parseRecord } from '../registry-json';
import { S3Bucket } from './bucket';

export interface S3RegistryOptions {
  /** Age after which a held lock is reported as probably stale; default 1 h. */
  staleLockMs?: number;
}

const DEFAULT_STALE_LOCK_MS = 3_600_000;

export class S3Registry implements Registry {
  readonly bucket: S3Bucket;
  /** `<prefix>/registry`. */
  readonly root: string;
  private readonly staleLockMs: number;

  constructor(cfg: S3Config | S3Bucket, opts: S3RegistryOptions = {}) {
    this.bucket = cfg instanceof S3Bucket ? cfg : new S3Bucket(cfg);
    this.root = this.bucket.key('registry');
    this.staleLockMs = opts.staleLockMs ?? DEFAULT_STALE_LOCK_MS;
  }

  // ---- keys ----------------------------------------------------------------------------

  private scope(area: string, tenant: string, surface: string): string {
    return `${this.root}/${area}/${pathSegment('tenant', tenant)}/${pathSegment('surface', surface)}`;
  }

  recordKey(tenant: string, surface: string, type: string, version: string): string {
    return `${this.scope('records', tenant, surface)}/${pathSegment('artifact type', type)}/${pathSegment('version', version)}.json`;
  }

  manifestKey(tenant: string, surface: string): string {
    return `${this.scope('current', tenant, surface)}/manifest.json`;
  }

  lockKey(tenant: string, surface: string): string {
    return `${this.root}/locks/${pathSegment('tenant', tenant)}/${pathSegment('surface', surface)}.lock`;
  }

  recordPath(tenant: string, surface: string, type: string, version: string): string {
    return this.bucket.uri(this.recordKey(tenant, surface, type, version));
  }

  manifestPath(tenant: string, surface: string): string {
    return this.bucket.uri(this.manifestKey(tenant, surface));
  }

  // ---- records -------------------------------------------------------------------------

  async writeRecord(rec: RegistryRecord): Promise<'created' | 'exists'> {
    const key = this.recordKey(rec.tenant, rec.surface, rec.artifact_type, rec.version);
    return this.bucket.putIfAbsent(key, encodePretty(canonicalRecord(rec)));
  }

  async readRecord(tenant: string, surface: string, type: string, version: string): Promise<RegistryRecord | null> {
    const key = this.recordKey(tenant, surface, type, version);
    const seen = await this.bucket.getText(key);
    return seen === null ? null : parseRecord(this.bucket.uri(key), seen.text);
  }

  async listRecords(tenant: string, surface: string, type?: string): Promise<RegistryRecord[]> {
    const base = this.scope('records', tenant, surface);
    const dir = type === undefined ? base : `${base}/${pathSegment('artifact type', type)}`;
    const out: RegistryRecord[] = [];
    for (const name of await this.bucket.list(dir, true)) {
      const depth = name.split('/').length;
      if (!name.endsWith('.json') || depth !== (type === undefined ? 2 : 1)) continue;
      const key = `${dir}/${name}`;
      const seen = await this.bucket.getText(key);
      if (seen !== null) out.push(parseRecord(this.bucket.uri(key), seen.text));
    }
    return sortRecords(out);
  }

  // ---- manifest and history ------------------------------------------------------------

  async readManifest(tenant: string, surface: string): Promise<Manifest | null> {
    const key = this.manifestKey(tenant, surface);
    const seen = await this.bucket.getText(key);
    return seen === null ? null : parseManifest(this.bucket.uri(key), seen.text);
  }

  /**
   * As FsRegistry.swapManifest, and safe without the lock too: the write is conditional on
   * the manifest read (its ETag, or its absence). When it changed in between, E_LOCKED and
   * nothing is written but, at worst, a history entry of the manifest that was read.
   */
  async swapManifest(tenant: string, surface: string, updates: Record<string, string>, now: Date): Promise<Manifest> {
    const key = this.manifestKey(tenant, surface);
    const uri = this.bucket.uri(key);
    const seen = await this.bucket.getText(key);
    const previous = seen === null ? null : parseManifest(uri, seen.text);
    if (seen !== null && seen.etag === '') {
      throw ioError('swap manifest', uri, new Error('the store sent no ETag for the manifest, so it cannot be replaced safely'));
    }
    const manifest = nextManifest(previous, tenant, surface, updates, now);
    if (previous !== null) await this.appendHistory(tenant, surface, previous);
    const outcome = await this.bucket.putIfUnchanged(key, encodePretty(manifest), seen === null ? null : seen.etag);
    if (outcome === 'precondition') {
      throw lockedError(
        `concurrent manifest update: ${uri} changed after this ${seen === null ? 'run found none' : 'run read it'} (another writer swapped it), so this update was not applied and the other one stands; retry`,
      );
    }
    return manifest;
  }

  async listHistory(tenant: string, surface: string): Promise<HistoryEntry[]> {
    const dir = this.scope('history', tenant, surface);
    const entries: HistoryEntry[] = [];
    for (const name of await this.bucket.list(dir)) {
      const m = SEQ_RE.exec(name);
      if (!m) continue;
      const key = `${dir}/${name}`;
      const seen = await this.bucket.getText(key);
      if (seen !== null) entries.push({ seq: Number(m[2]), path: this.bucket.uri(key), manifest: parseManifest(this.bucket.uri(key), seen.text) });
    }
    return entries.sort((a, b) => a.seq - b.seq);
  }

  private async appendHistory(tenant: string, surface: string, previous: Manifest): Promise<void> {
    const bytes = encodePretty(previous);
    const history = await this.listHistory(tenant, surface);
    const last = history[history.length - 1];
    // A swap that failed after this step already recorded the same manifest.
    if (last !== undefined && encodePretty(last.manifest) === bytes) return;
    const stamp = compactTime(previous.updated_at);
    await this.appendSequenced(this.scope('history', tenant, surface), last === undefined ? 1 : last.seq + 1, (seq) => `${stamp}-${seq}.json`, bytes);
  }

  // ---- audit ---------------------------------------------------------------------------

  async appendAudit(tenant: string, surface: string, entry: AuditEntry): Promise<string> {
    const dir = this.scope('audit', tenant, surface);
    const names = (await this.bucket.list(dir)).filter((n) => n.endsWith('.json'));
    const next = names.reduce((max, n) => Math.max(max, Number(SEQ_RE.exec(n)?.[2] ?? 0)), 0) + 1;
    const stamp = compactTime(entry.at);
    return this.appendSequenced(dir, next, (seq) => `${stamp}-${seq}-${entry.action}.json`, encodePretty(canonicalAudit(entry)));
  }

  async listAudit(tenant: string, surface: string): Promise<AuditEntry[]> {
    const dir = this.scope('audit', tenant, surface);
    const found: { seq: number; entry: AuditEntry }[] = [];
    for (const name of await this.bucket.list(dir)) {
      const m = SEQ_RE.exec(name);
      if (!m) continue;
      const key = `${dir}/${name}`;
      const seen = await this.bucket.getText(key);
      if (seen !== null) found.push({ seq: Number(m[2]), entry: parseAudit(this.bucket.uri(key), seen.text) });
    }
    return found.sort((a, b) => a.seq - b.seq).map((f) => f.entry);
  }

  /** Writes `bytes` as a new object named by `nameFor(seq)`, taking the next free seq if a name is taken. Returns its URI. */
  private async appendSequenced(dir: string, firstSeq: number, nameFor: (seq: string) => string, bytes: string): Promise<string> {
    for (let seq = firstSeq; ; seq++) {
      const key = `${dir}/${nameFor(String(seq).padStart(SEQ_DIGITS, '0'))}`;
      if ((await this.bucket.putIfAbsent(key, bytes)) === 'created') return this.bucket.uri(key);
    }
  }

  // ---- publisher lock ------------------------------------------------------------------

  /** The one-publisher lock of (tenant, surface) (lock.ts), as an object (see S3LockObject). */
  async acquireLock(tenant: string, surface: string, opts: LockOptions = {}): Promise<() => Promise<void>> {
    return acquireLock(new S3LockObject(this.bucket, this.lockKey(tenant, surface), this.staleLockMs), opts);
  }
}

/**
 * The lock as an object created with `If-None-Match: *` and read back. A lock `judgeLock`
 * finds left behind (lock.ts) is taken over by a write with `If-Match` on the ETag of the
 * very lock judged, so of two processes taking it over only one succeeds; any other lock is
 * never broken, only reported (with its age when older than `staleLockMs`) and what to delete.
 */
class S3LockObject implements LockSite {
  private readonly uri: string;

  constructor(
    private readonly bucket: S3Bucket,
    private readonly key: string,
    private readonly staleLockMs: number,
  ) {
    this.uri = bucket.uri(key);
  }

  async create(text: string): Promise<'created' | 'exists'> {
    if ((await this.bucket.putIfAbsent(this.key, text)) !== 'created') return 'exists';
    return (await this.read()) === text ? 'created' : 'exists';
  }

  async read(): Promise<string | null> {
    return (await this.bucket.getText(this.key))?.text ?? null;
  }

  async remove(): Promise<void> {
    await this.bucket.delete(this.key);
  }

  async takeOver(seenText: string, ourText: string): Promise<boolean> {
    const seen = await this.bucket.getText(this.key);
    if (seen === null || seen.text !== seenText) return false;
    if (seen.etag === '') {
      throw ioError('take over lock', this.uri, new Error('the store sent no ETag for the lock, so it cannot be replaced safely'));
    }
    if ((await this.bucket.putIfUnchanged(this.key, ourText, seen.etag)) !== 'written') return false;
    // Read back: on a store that ignores If-Match, the last of two racing writers wins.
    return (await this.read()) === ourText;
  }

  private staleHint(holder: LockHolder): string | null {
    const started = Date.parse(holder.started_at);
    const ageMs = Number.isNaN(started) ? Infinity : Date.now() - started;
    return ageMs > this.staleLockMs ? `it is older than ${Math.round(this.staleLockMs / 60_000)} min` : null;
  }

  heldMessage(holder: LockHolder | null): string {
    const uri = this.uri;
    if (holder === null) {
      return `the publisher lock ${uri} exists but cannot be read as a lock; delete it (aws s3 rm ${uri}) once no publisher of this tenant/surface is running, then run again`;
    }
    const who = describeHolder(holder);
    const stale = this.staleHint(holder);
    const what =
      `locks held by another host or Job are never broken automatically: once that publisher is known to be gone, ` +
      `delete the object (aws s3 rm ${uri}) and run again`;
    if (stale !== null) return `the publisher lock ${uri} (${who}) looks stale: ${stale}. A publisher that crashed leaves its lock behind; ${what}`;
    return `another publisher holds ${uri} (${who}); wait for it to finish, or ${what}`;
  }

  releaseError(err: unknown): unknown {
    if (!isPipelineError(err)) return err;
    return new PipelineError(
      err.code,
      err.exitCode,
      `${err.message}; the publisher lock ${this.uri} may still be there: delete it once the store is reachable again (it names this process, pid ${process.pid})`,
    );
  }
}
