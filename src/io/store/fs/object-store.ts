/**
 * The object store (../object-store.ts) on a filesystem: blobs under `object_store.dir`
 * at their key's path, named by `file://` URIs percent-encoded as `pathToFileURL` writes
 * them, so that every reader (`new URL`, `fileURLToPath`, curl, a browser) opens the blob
 * whatever the names hold (spaces, `#`, `%`, `?`, non-ASCII letters).
 *
 * URIs are read as a consumer reads them (`fileURLToPath`); a URI that does not resolve
 * inside the store that way is read as the Go tool wrote it, `file://` + the raw path.
 * Either way nothing outside the store folder is ever read or published (E_UNSAFE_URI):
 * `locate`. Blobs are created by hard link (../../atomic.ts), never replaced.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ioError, notFound, unsafeUri, unsupported } from '../../../errors';
import { fsyncDir, makeDirs, pathSegment, writeFileExclusiveAtomic } from '../../atomic';
import type { LocatedBlob, ObjectStore } from '../object-store';
import { checkExistingBlob } from '../object-store';

const FILE_SCHEME = 'file:';
/** What the Go tool put before the raw absolute path. */
const GO_FILE_PREFIX = 'file://';

/** link(2) errors that mean "copy instead": the key exists, another device, no hard links here. */
const CANNOT_LINK = new Set(['EEXIST', 'EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS']);

export class FsObjectStore implements ObjectStore {
  /** Absolute folder holding the blobs (resolved once, against the working directory). */
  readonly root: string;

  constructor(dir: string) {
    this.root = path.resolve(dir);
  }

  uriFor(key: string): string {
    return fileUri(this.pathFor(key));
  }

  /** Existing blobs are kept: one offered again must be the same artifact (checkExistingBlob). */
  async put(key: string, bytes: Uint8Array): Promise<{ uri: string; created: boolean }> {
    const target = this.pathFor(key);
    const uri = fileUri(target);
    const outcome = await writeFileExclusiveAtomic(target, bytes);
    if (outcome === 'created') return { uri, created: true };
    let existing: Uint8Array;
    try {
      existing = await fs.readFile(target);
    } catch (err) {
      throw ioError('read', target, err);
    }
    checkExistingBlob(existing, bytes, uri, target);
    return { uri, created: false };
  }

  /**
   * Hard-links `file` (complete and fsynced by its writer: a staged blob) into the store.
   * `link` fails instead of replacing, so an existing blob is never touched, and the new
   * name appears with the whole content or not at all; the folder is fsynced after. The
   * blob then shares its inode with `file`, made read-only: our writers replace files by
   * rename, never in place, so a later re-staging gives the staging name a new inode and
   * the blob stays.
   * Null when the key exists (put() then compares the contents) or the file system cannot
   * link there (another device, no hard links): put() copies.
   */
  async putFile(key: string, file: string): Promise<{ uri: string; path: string } | null> {
    const target = this.pathFor(key);
    try {
      await makeDirs(path.dirname(target));
      await fs.link(file, target);
    } catch (err) {
      if (CANNOT_LINK.has((err as NodeJS.ErrnoException).code ?? '')) return null;
      throw ioError('write', target, err);
    }
    try {
      // Read-only from now on, under both names: an in-place edit of the staged file would
      // otherwise reach the immutable blob. (Best effort: a file system may refuse.)
      await fs.chmod(target, 0o444).catch(() => undefined);
      await fsyncDir(path.dirname(target));
    } catch (err) {
      throw ioError('write', target, err);
    }
    return { uri: fileUri(target), path: target };
  }

  async get(uri: string): Promise<Uint8Array> {
    const { path: file } = this.resolve(uri, `blob ${uri}`);
    try {
      return await fs.readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`blob ${uri} does not exist`);
      throw ioError('read', file, err);
    }
  }

  async exists(uri: string): Promise<boolean> {
    const { path: file } = this.resolve(uri, `blob ${uri}`);
    try {
      return (await fs.stat(file)).isFile();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw ioError('stat', file, err);
    }
  }

  private pathFor(key: string): string {
    const parts = key.split('/');
    parts.forEach((part) => pathSegment('object key part', part));
    return path.join(this.root, ...parts);
  }

  /** The file a URI names in this store (see `resolve`). */
  pathOfUri(uri: string, where = `blob ${uri}`): string {
    return this.resolve(uri, where).path;
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- async so that a refusal rejects, as the interface says
  async locate(uri: string, where: string): Promise<LocatedBlob> {
    const { path: file, readerProblem } = this.resolve(uri, where);
    return { uri: fileUri(file), readerProblem };
  }

  /**
   * Where a `file://` URI leads in this store, read first as a consumer reads it
   * (`fileURLToPath`), then, when that does not lead to a blob inside the store, as the Go
   * tool wrote it (`file://` + the raw path: `#`, `%`, `?` and spaces literal). The reading
   * inside the store that names an existing file wins, else the first inside the store
   * (the blob is then missing, which the read reports). `readerProblem` says when a
   * consumer would not open that file from `uri`. E_UNSAFE_URI, naming `where`, when no
   * reading stays inside the store folder; E_UNSUPPORTED for other schemes.
   */
  private resolve(uri: string, where: string): { path: string; readerProblem: string | null } {
    if (!uri.startsWith(FILE_SCHEME)) {
      throw unsupported(`the filesystem object store cannot read ${JSON.stringify(uri)} (${where}): only file:// URIs`);
    }
    const asReader = readerPath(uri);
    const raw = uri.startsWith(GO_FILE_PREFIX) ? uri.slice(GO_FILE_PREFIX.length) : '';
    const asWritten = raw.startsWith('/') ? path.resolve(raw) : null;
    const readings = [asReader, asWritten].filter((p): p is string => p !== null && this.holds(p));
    if (readings.length === 0) {
      throw unsafeUri(
        `${where}: ${JSON.stringify(uri)} is outside the object store ${this.root}: refused (only blobs inside object_store.dir are read or published)`,
      );
    }
    const file = readings.find((p) => existsSync(p)) ?? readings[0];
    if (file === asReader) return { path: file, readerProblem: null };
    const opened = asReader === null ? 'no file (not a valid file URL)' : asReader;
    return {
      path: file,
      readerProblem: `a reader using fileURLToPath opens ${opened}, not the blob ${file} (a URI with its path not percent-encoded, as the Go tool wrote it; a rollback or a new publish writes the encoded URI ${fileUri(file)})`,
    };
  }

  /** True when `file` (absolute, normalised) is inside the store folder. */
  private holds(file: string): boolean {
    const rel = path.relative(this.root, file);
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  }
}

/** The percent-encoded `file://` URI of an absolute path, as every URL reader expects it. */
export function fileUri(file: string): string {
  return pathToFileURL(file).href;
}

/** The path a consumer's `fileURLToPath(new URL(uri))` gives, or null when it refuses the URI. */
function readerPath(uri: string): string | null {
  try {
    return path.resolve(fileURLToPath(new URL(uri)));
  } catch {
    return null;
  }
}
