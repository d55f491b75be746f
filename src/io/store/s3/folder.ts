/**
 * A shared folder (../folder.ts) under `s3://<bucket>/<prefix>`: `rel` is the object
 * `<prefix>/<rel>`. A PUT replaces an object atomically, so no temp objects exist. Large
 * files are written by workers to a local scratch folder of this process
 * (`<tmpdir>/recsys-pipelines-<pid>-<random>/`, removed when the process exits) and uploaded
 * by `commit` on the main thread.
 */
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Folder } from '../folder';
import type { S3Bucket } from './bucket';

let scratchRoot: string | undefined;

/** This process's scratch folder, made on first use and removed at exit. */
function scratch(): string {
  if (scratchRoot === undefined) {
    scratchRoot = mkdtempSync(path.join(tmpdir(), `recsys-pipelines-${process.pid}-`));
    const root = scratchRoot;
    process.once('exit', () => rmSync(root, { recursive: true, force: true }));
  }
  return scratchRoot;
}

export class S3Folder implements Folder {
  readonly remote = true;
  /** `<prefix>` without leading or trailing slashes; '' for the bucket's root. */
  readonly prefix: string;

  constructor(
    readonly bucket: S3Bucket,
    prefix: string,
  ) {
    this.prefix = prefix.replace(/^\/+|\/+$/g, '');
  }

  get location(): string {
    return this.prefix === '' ? `s3://${this.bucket.name}` : `s3://${this.bucket.name}/${this.prefix}`;
  }

  private key(rel: string): string {
    return this.prefix === '' ? rel : rel === '' ? this.prefix : `${this.prefix}/${rel}`;
  }

  where(rel: string): string {
    return this.bucket.uri(this.key(rel));
  }

  localPath(rel: string): string {
    return path.join(scratch(), this.bucket.name, ...this.key(rel).split('/'));
  }

  async commit(rel: string, opts: { keepLocal?: boolean } = {}): Promise<void> {
    const local = this.localPath(rel);
    await this.bucket.putFile(this.key(rel), local);
    if (!opts.keepLocal) await fs.rm(local, { force: true });
  }

  async read(rel: string): Promise<Uint8Array | null> {
    return (await this.bucket.get(this.key(rel)))?.bytes ?? null;
  }

  write(rel: string, data: string | Uint8Array): Promise<void> {
    return this.bucket.putObject(this.key(rel), data);
  }

  remove(rel: string): Promise<void> {
    return this.bucket.delete(this.key(rel));
  }

  list(relDir: string): Promise<string[]> {
    return this.bucket.list(this.key(relDir));
  }
}
