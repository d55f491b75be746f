/**
 * The registry on a filesystem, under `registry_dir`, in the layout ../registry.ts
 * describes. Every file is written atomically (../../atomic.ts); files that are never
 * rewritten (records, history and audit entries, the lock) are created by hard link, which
 * fails instead of replacing. Readers skip temp files (`.<name>.tmp-<pid>-<random>`)
 * left by interrupted writes.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ioError } from '../../../errors';
import { isTempFile, pathSegment, tempPathFor, writeFileAtomic, writeFileExclusiveAtomic } from '../../atomic';
import { encodePretty } from '../../artifacts/go-json';
import { compareUtf8 } from '../../parse/utf8';
import type { LockHolder, LockOptions, LockSite } from '../lock';
import { acquireLock, describeHolder } from '../lock';
import type { AuditEntry, HistoryEntry, Manifest, Registry, RegistryRecord } from '../registry';
import { compactTime, nextManifest, SEQ_DIGITS, SEQ_RE, sortRecords } from '../registry';
import { canonicalAudit, canonicalRecord, parseAudit, parseManifest, parseRecord } from '../registry-json';

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

  /** The one-publisher lock of (tenant, surface) (lock.ts), in a lock file (see FsLockFile). */
  async acquireLock(tenant: string, surface: string, opts: LockOptions = {}): Promise<() => Promise<void>> {
    return acquireLock(new FsLockFile(this.lockPath(tenant, surface)), opts);
  }
}

/**
 * The lock as a file. It is written to a temp file and hard-linked into place, which fails
 * if a lock exists, so it appears complete or not at all. A lock `judgeLock` finds left
 * behind (lock.ts) is taken over by renaming it aside, checking it is still the one judged,
 * deleting it, and creating ours by hard link again: of several processes taking over the
 * same lock, exactly one links its own.
 */
class FsLockFile implements LockSite {
  constructor(private readonly file: string) {}

  create(text: string): Promise<'created' | 'exists'> {
    return writeFileExclusiveAtomic(this.file, text);
  }

  read(): Promise<string | null> {
    return readTextOrNull(this.file);
  }

  async remove(): Promise<void> {
    await fs.unlink(this.file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw ioError('remove lock', this.file, err);
    });
  }

  async takeOver(seenText: string, ourText: string): Promise<boolean> {
    await this.removeIfStill(seenText);
    return (await this.create(ourText)) === 'created';
  }

  /**
   * Removes the lock only if it still holds `staleText`, without racing another process that
   * does the same: the lock is renamed aside first, and only deleted if the file moved is the
   * one inspected. If another process replaced it with a fresh lock in between, that fresh
   * lock is linked back into place.
   */
  private async removeIfStill(staleText: string): Promise<void> {
    const file = this.file;
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

  heldMessage(holder: LockHolder | null): string {
    const who = holder === null ? 'an unreadable lock file' : describeHolder(holder);
    return (
      `another publisher holds ${this.file} (${who}); wait for it to finish, or, once that process is known to be gone, ` +
      `delete the lock (rm ${this.file}) and run again`
    );
  }
}

// ---- helpers -----------------------------------------------------------------------------

function isJsonFile(name: string): boolean {
  return name.endsWith('.json') && !isTempFile(name);
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
