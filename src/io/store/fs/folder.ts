/**
 * A shared folder (../folder.ts) on the local file system: `rel` is the file
 * `<root>/<rel>`, written with the crash-safe writes of ../../atomic.ts.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ioError } from '../../../errors';
import { isTempFile, writeFileAtomic } from '../../atomic';
import { compareUtf8 } from '../../parse/utf8';
import type { Folder } from '../folder';

export class FsFolder implements Folder {
  /** Absolute (resolved once, against the working directory). */
  readonly root: string;
  readonly remote = false;

  constructor(dir: string) {
    this.root = path.resolve(dir);
  }

  get location(): string {
    return this.root;
  }

  where(rel: string): string {
    return rel === '' ? this.root : path.join(this.root, ...rel.split('/'));
  }

  localPath(rel: string): string {
    return this.where(rel);
  }

  /** The writer wrote the folder's own file: nothing to do. */
  async commit(): Promise<void> {}

  async read(rel: string): Promise<Uint8Array | null> {
    const file = this.where(rel);
    try {
      return await fs.readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw ioError('read', file, err);
    }
  }

  write(rel: string, data: string | Uint8Array): Promise<void> {
    return writeFileAtomic(this.where(rel), data);
  }

  async remove(rel: string): Promise<void> {
    const file = this.where(rel);
    try {
      await fs.unlink(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('remove', file, err);
    }
  }

  async list(relDir: string): Promise<string[]> {
    const dir = this.where(relDir);
    try {
      const entries = await fs.readdir(dir, { withFileTypes: true });
      return entries
        .filter((e) => !e.isDirectory() && !isTempFile(e.name))
        .map((e) => e.name)
        .sort(compareUtf8);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw ioError('list', dir, err);
    }
  }
}
