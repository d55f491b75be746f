/**
 * The folders a pipeline shares between its steps and pods (docs/storage-contract.md
 * "Shared folders"): `canonical_dir` (partitions, rejects), `artifacts_dir` (staging) and
 * `checkpoint_dir`. Each is a local folder (fs/folder.ts) or `s3://<bucket>/<prefix>` on the
 * object store's endpoint (s3/folder.ts); files are named by a relative key with `/`
 * separators (`demo/home/exposures/2026-01-01.arrow`), the same on both.
 *
 * Large files (partitions, staged blobs) are written by worker threads to a local file
 * (`localPath`) and then handed over with `commit`: on a local folder that file is the
 * folder's file already; on S3 it is a scratch copy that the main thread uploads. Every
 * write replaces its file as a whole: a reader sees the old content or the new, never a part.
 */
import type { Config } from '../../config/types';
import { configError } from '../../errors';
import { FsFolder } from './fs/folder';
import { S3Bucket } from './s3/bucket';
import { S3Folder } from './s3/folder';

export interface Folder {
  /** Where the folder is, for messages: an absolute path or `s3://<bucket>/<prefix>`. */
  readonly location: string;
  /** True when the folder is not on this machine's file system (an upload follows each local write). */
  readonly remote: boolean;
  /** The path or URI of `rel`, for messages and summaries. */
  where(rel: string): string;
  /**
   * The local file a writer writes for `rel` (complete and fsynced, atomically): the folder's
   * own file on a local folder, a scratch file of this process on S3 (then `commit` it).
   */
  localPath(rel: string): string;
  /**
   * Makes the local file of `rel` the folder's: nothing to do on a local folder; on S3 the
   * file is uploaded, then its scratch copy removed unless `keepLocal` (a `run` publishes it
   * from there after staging).
   */
  commit(rel: string, opts?: { keepLocal?: boolean }): Promise<void>;
  /** The bytes of `rel`; null when it does not exist. Any other failure is E_IO naming it. */
  read(rel: string): Promise<Uint8Array | null>;
  /** Replaces `rel` with `data` atomically. */
  write(rel: string, data: string | Uint8Array): Promise<void>;
  /** Removes `rel`; one already gone is not an error. */
  remove(rel: string): Promise<void>;
  /** Names of the files directly under `relDir` (no sub-folders, never in-flight temp files), in byte order; none when it does not exist. */
  list(relDir: string): Promise<string[]>;
}

/** A folder, or a local path standing for one (tests and tools that work on plain folders). */
export type FolderLike = Folder | string;

export function isS3FolderUri(value: string): boolean {
  return /^s3:\/\//i.test(value);
}

/** `folder` itself, or the local folder a path names; an `s3://` string must come through openFolders. */
export function asFolder(folder: FolderLike): Folder {
  if (typeof folder !== 'string') return folder;
  if (isS3FolderUri(folder)) throw configError(`${folder}: an S3 folder needs the object store's endpoint and credentials: open it with openFolders(config)`);
  return new FsFolder(folder);
}

export interface Folders {
  canonical: Folder;
  staging: Folder;
  checkpoints: Folder;
}

/** One set of folders per config object, so the days of a run share their S3 clients. */
const opened = new WeakMap<Config, Folders>();

/** The shared folders of a config. Nothing is contacted until the first read or write. */
export function openFolders(config: Config): Folders {
  let folders = opened.get(config);
  if (folders === undefined) {
    const buckets = new Map<string, S3Bucket>();
    const open = (key: 'canonical_dir' | 'artifacts_dir' | 'checkpoint_dir'): Folder => {
      const value = config[key];
      if (!isS3FolderUri(value)) return new FsFolder(value);
      const s3 = config.object_store.s3;
      if (s3 === undefined) throw configError(`${key}: ${value} is on S3: set object_store.type "s3" (its endpoint and credentials are used)`);
      const [bucket = '', ...prefix] = value.slice('s3://'.length).split('/');
      let b = buckets.get(bucket);
      if (b === undefined) {
        b = new S3Bucket({ ...s3, bucket, prefix: '' }, { configKey: 'object_store.s3' });
        buckets.set(bucket, b);
      }
      return new S3Folder(b, prefix.join('/'));
    };
    folders = { canonical: open('canonical_dir'), staging: open('artifacts_dir'), checkpoints: open('checkpoint_dir') };
    opened.set(config, folders);
  }
  return folders;
}
