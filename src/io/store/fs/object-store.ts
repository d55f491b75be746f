/**
 * The object store (../object-store.ts) on a filesystem: blobs under `object_store.dir`
 * at their key's path, named `file://<absolute path>` (literally `'file://' + path`, as the
 * Go tool did: no percent-encoding, so the URI can be compared and printed as a path).
 * Blobs are created by hard link (../../atomic.ts), never replaced.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ioError, notFound, unsupported } from '../../../errors';
import { fsyncDir, pathSegment, writeFileExclusiveAtomic } from '../../atomic';
import { checkExistingBlob, ObjectStore } from '../object-store';

const FILE_SCHEME = 'file://';

/** link(2) errors that mean "copy instead": the key exists, another device, no hard links here. */
const CANNOT_LINK = new Set(['EEXIST', 'EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS']);

export class FsObjectStore implements ObjectStore {
  /** Absolute folder holding the blobs (resolved once, against the working directory). */
  readonly root: string;

  constructor(dir: string) {
    this.root = path.resolve(dir);
  }

  uriFor(key: string): string {
    return FILE_SCHEME + this.pathFor(key);
  }

  /** Existing blobs are kept: one offered again must be the same artifact (checkExistingBlob). */
  async put(key: string, bytes: Uint8Array): Promise<{ uri: string; created: boolean }> {
    const target = this.pathFor(key);
    const uri = FILE_SCHEME + target;
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
  async putFile(key: string, file: string): Promise<{ uri: string } | null> {
    const target = this.pathFor(key);
    try {
      await fs.mkdir(path.dirname(target), { recursive: true });
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
    return { uri: FILE_SCHEME + target };
  }

  async get(uri: string): Promise<Uint8Array> {
    const file = this.pathOfUri(uri);
    try {
      return await fs.readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`blob ${uri} does not exist`);
      throw ioError('read', file, err);
    }
  }

  async exists(uri: string): Promise<boolean> {
    const file = this.pathOfUri(uri);
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

  /** Any `file://` URI is readable (records may point at a store folder that moved); other schemes are not ours. */
  private pathOfUri(uri: string): string {
    if (!uri.startsWith(FILE_SCHEME)) {
      throw unsupported(`the filesystem object store cannot read ${JSON.stringify(uri)}: only file:// URIs`);
    }
    return uri.slice(FILE_SCHEME.length);
  }
}
