/**
 * Crash-safe file writes for the filesystem storage layer (docs/contract.md §6). Every write takes the
 * same steps: a temporary file beside the target (folders created), written and fsynced,
 * put into place (renamed over the target, or hard-linked where nothing may be replaced),
 * then the folder fsynced; on failure the temp file is removed and the error is an E_IO
 * error naming the target. A reader (or a crash) sees either the old file or the complete
 * new one. `writeThroughTemp` takes those steps for whole buffers (writeFileAtomic,
 * writeFileExclusiveAtomic); AtomicFileStream takes them synchronously, chunk by chunk,
 * for worker threads.
 *
 * Temporary files are named `.<basename>.tmp-<pid>-<writer>-<random>`, `<writer>` naming the
 * host, boot and pid namespace of the writer (`writerTag`, writer-identity.ts). Readers of our
 * folders must skip them (`isTempFile`); a crash can leave one behind, and
 * `removeStaleTempFiles` clears those whose writer is known to be gone (its pid is dead and
 * it wrote from this host, boot and pid namespace) or, from any other writer, once older
 * than a 24 h lease, so a folder shared by several hosts or pods is safe to clean.
 */
import { randomBytes } from 'node:crypto';
import * as fsSync from 'node:fs';
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { ioError, usageError } from '../errors';
import { isBlankLine } from './parse/exposure-line';
import { writerTag } from './writer-identity';

/** Whether `file`'s mtime is more than `ms` ago; a file gone meanwhile is not. */
async function olderThan(file: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await fs.stat(file)).mtimeMs > ms;
  } catch {
    return false;
  }
}

/** pid, then the writer tag (absent in names written before it existed), then the random part. */
const TEMP_RE = /^\..+\.tmp-(\d+)-(?:(w[0-9a-f]{8})-)?[0-9a-f]+$/;

/** Another writer's temp file is removed only once this old (by mtime): 24 h. */
export const TEMP_LEASE_MS = 24 * 3_600_000;

/** True for names our atomic writers use for in-flight files; readers skip these. */
export function isTempFile(name: string): boolean {
  return TEMP_RE.test(name);
}

/** `.<basename>.tmp-<pid>-<writer>-<random>` in the same folder as `target` (same file system, so rename is atomic). */
export function tempPathFor(target: string): string {
  const suffix = randomBytes(6).toString('hex');
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${writerTag()}-${suffix}`);
}

/**
 * Whether `pid` names a live process on this host. `process.kill(pid, 0)` sends no signal;
 * ESRCH means no such process, EPERM means it exists but belongs to another user.
 * A pid that is not a positive integer is reported alive: kill(0) would address our own
 * process group, and callers use "dead" to delete things.
 */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Checks that a value used as one path component (tenant, surface, segment, type, version)
 * cannot escape its folder or name a hidden/temporary file, and, as the Go tool does, is
 * not white space only (Go's unicode.IsSpace set: a folder named " " is nobody's tenant).
 */
export function pathSegment(label: string, value: string): string {
  if (isBlankLine(value)) {
    throw usageError(`${label} must be a non-empty name, got ${value === '' ? 'an empty one' : `only white space (${JSON.stringify(value)})`}`);
  }
  if (value === '.' || value === '..' || /[/\\\u0000-\u001f\u007f]/.test(value) || value.startsWith('.')) {
    throw usageError(`${label} must be a non-empty name without "/", "\\", control characters or a leading ".", got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * fsyncs a folder so a rename or link inside it survives a crash. Some platforms (Windows,
 * some network file systems) cannot open or fsync a directory; there the rename is as
 * durable as the platform allows and we carry on.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (process.platform === 'win32' || code === 'EISDIR' || code === 'EINVAL' || code === 'EPERM' || code === 'ENOTSUP') return;
    throw err;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * `mkdir -p dir`, failing with the true error of the folder that could not be made. Node's
 * recursive mkdir reports a folder it cannot create on a read-only file system as ENOENT
 * (Node 20), which sends the operator looking for a missing folder: then the missing folders
 * are made one by one from the deepest one that exists, so the error is the system's own
 * (EROFS, EACCES, ENOSPC, ENOTDIR…) and its `path` the folder it concerns.
 */
export async function makeDirs(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (err) {
    if (errCode(err) !== 'ENOENT') throw err;
    makeDirsOneByOne(dir);
  }
}

/** makeDirs, synchronously: for worker threads that write chunk by chunk (AtomicFileStream). */
export function makeDirsSync(dir: string): void {
  try {
    fsSync.mkdirSync(dir, { recursive: true });
  } catch (err) {
    if (errCode(err) !== 'ENOENT') throw err;
    makeDirsOneByOne(dir);
  }
}

/**
 * The missing folders of `dir` made one by one from the deepest one that exists, so a failure
 * is the system's own error about the folder it concerns. Synchronous: it only runs once the
 * recursive mkdir has failed, on the way to an error (or a folder made meanwhile).
 */
function makeDirsOneByOne(dir: string): void {
  const missing: string[] = [];
  for (let at = path.resolve(dir); !pathExists(at); at = path.dirname(at)) missing.unshift(at);
  for (const d of missing) {
    try {
      fsSync.mkdirSync(d);
    } catch (e) {
      if (errCode(e) !== 'EEXIST') throw e; // a folder made meanwhile by another writer is fine
    }
  }
}

const errCode = (err: unknown) => (err as NodeJS.ErrnoException | null)?.code;
/** Whether `d` exists (false for ENOENT); any other error of stat is the answer. */
function pathExists(d: string): boolean {
  try {
    fsSync.statSync(d);
    return true;
  } catch (e) {
    if (errCode(e) === 'ENOENT') return false;
    throw e;
  }
}

/** Creates `temp` exclusively, writes `data` and fsyncs it. */
async function writeTemp(temp: string, data: string | Uint8Array): Promise<void> {
  const handle = await fs.open(temp, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function removeQuietly(file: string): Promise<void> {
  await fs.unlink(file).catch(() => undefined);
}

/**
 * The steps of every buffered atomic write: `data` written and fsynced in a temp file
 * beside `target` (missing folders created), `place` puts that temp file into place and
 * removes its temp name, then the folder is fsynced when a name was created. On failure
 * the temp file is removed and an E_IO error naming `target` is thrown.
 */
async function writeThroughTemp(
  target: string,
  data: string | Uint8Array,
  place: (temp: string) => Promise<'created' | 'exists'>,
): Promise<'created' | 'exists'> {
  const dir = path.dirname(target);
  let temp: string | undefined;
  try {
    await makeDirs(dir);
    temp = tempPathFor(target);
    await writeTemp(temp, data);
    const outcome = await place(temp);
    temp = undefined;
    if (outcome === 'created') await fsyncDir(dir);
    return outcome;
  } catch (err) {
    if (temp !== undefined) await removeQuietly(temp);
    throw ioError('write', target, err);
  }
}

/**
 * Replaces `target` with `data` atomically (temp file in the same folder → fsync → rename
 * → fsync folder), creating missing folders. On failure the temp file is removed, the
 * previous `target` (if any) is left as it was, and an E_IO error naming `target` is thrown.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await writeThroughTemp(target, data, async (temp) => {
    await fs.rename(temp, target);
    return 'created';
  });
}

/**
 * Creates `target` with `data` only if it does not exist yet, for immutable files (blobs,
 * registry records, history entries, locks). The content is written and fsynced in a temp
 * file first and then hard-linked into place: `link` fails with EEXIST instead of replacing,
 * and the file appears complete or not at all. Returns 'exists' (leaving the existing file
 * untouched) when `target` was already there.
 */
export async function writeFileExclusiveAtomic(target: string, data: string | Uint8Array): Promise<'created' | 'exists'> {
  return writeThroughTemp(target, data, async (temp) => {
    let outcome: 'created' | 'exists' = 'created';
    try {
      await fs.link(temp, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      outcome = 'exists';
    }
    await fs.unlink(temp);
    return outcome;
  });
}

/**
 * A file written chunk by chunk as its bytes are produced, then committed like
 * writeFileAtomic (temp file → fsync → rename → fsync folder), with the same steps as
 * writeThroughTemp taken synchronously: for worker threads that encode large artifacts
 * straight to disk instead of holding them in memory.
 *
 * The final name may be given at commit time when it depends on the bytes written (a
 * content hash); it must be in the same folder as the name given to the constructor, which
 * then only names the temp file.
 */
export class AtomicFileStream {
  private readonly temp: string;
  private fd: number;
  private _target: string;
  size = 0;

  constructor(target: string) {
    this._target = target;
    try {
      makeDirsSync(path.dirname(target));
      this.temp = tempPathFor(target);
      this.fd = fsSync.openSync(this.temp, 'w');
    } catch (err) {
      throw ioError('write', target, err);
    }
  }

  write(chunk: Uint8Array): void {
    try {
      for (let at = 0; at < chunk.length;) at += fsSync.writeSync(this.fd, chunk, at);
      this.size += chunk.length;
    } catch (err) {
      this.abort();
      throw ioError('write', this.target, err);
    }
  }

  /** `<folder>/<name>` the file is (or will be) committed under. */
  get target(): string {
    return this._target;
  }

  /** Moves the file into place as `target` (by default the constructor's name). */
  commit(target: string = this._target): void {
    if (path.resolve(path.dirname(target)) !== path.resolve(path.dirname(this.temp))) {
      this.abort();
      throw usageError(`AtomicFileStream: ${target} is not in the folder of ${this._target}`);
    }
    this._target = target;
    try {
      fsSync.fsyncSync(this.fd);
      fsSync.closeSync(this.fd);
      this.fd = -1;
      fsSync.renameSync(this.temp, this.target);
      try {
        const dirFd = fsSync.openSync(path.dirname(this.target), 'r');
        fsSync.fsyncSync(dirFd);
        fsSync.closeSync(dirFd);
      } catch {
        // As fsyncDir: some platforms cannot fsync a folder.
      }
    } catch (err) {
      this.abort();
      throw ioError('write', this.target, err);
    }
  }

  abort(): void {
    if (this.fd >= 0) fsSync.closeSync(this.fd);
    this.fd = -1;
    try {
      fsSync.unlinkSync(this.temp);
    } catch {
      // already gone
    }
  }
}

/**
 * Removes temp files left in `dir` (not its subfolders) by writers that are gone: a file
 * tagged with this host, boot and pid namespace whose pid is dead; a file of any other
 * writer once its mtime is older than `leaseMs` (default 24 h). A name without a writer tag
 * (written before tags existed) is judged by its pid on this host, as then. Returns the
 * names removed; a missing folder removes nothing.
 */
export async function removeStaleTempFiles(dir: string, leaseMs: number = TEMP_LEASE_MS): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw ioError('list', dir, err);
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_RE.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (m[2] === undefined || m[2] === writerTag()) {
      if (pid === process.pid || isPidAlive(pid)) continue;
    } else if (!(await olderThan(path.join(dir, name), leaseMs))) continue;
    try {
      await fs.unlink(path.join(dir, name));
      removed.push(name);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue; // another cleaner got there first
      if (code === 'EISDIR' || code === 'EPERM') continue; // a folder with a temp-like name is not ours
      throw ioError('remove', path.join(dir, name), err);
    }
  }
  return removed.sort();
}
