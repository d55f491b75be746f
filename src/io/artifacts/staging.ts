/**
 * Staging area for job mode and `run` (docs/contract.md §6): a computed artifact waits here until
 * `publish` copies it to the object store.
 *
 * `<artifacts_dir>/<tenant>/<surface>/<segment>/<type>/<start>_<end>/<version>.json` plus
 * `current.version` (the version and a newline) in the same folder; an empty segment drops
 * out of the path. The blob is written before `current.version`, both atomically, so
 * `current.version` never names a blob that is not complete on disk.
 *
 * Staged blobs may be rewritten (a re-run stages the same version with a new build time);
 * immutability starts at the object store.
 */
import * as path from 'node:path';
import { dayStartMicros } from '../../days';
import { ioError, usageError } from '../../errors';
import type { Scope } from '../../scope';
import { pathSegment } from '../atomic';
import { asFolder, type Folder, type FolderLike } from '../store/folder';

export const CURRENT_VERSION_FILE = 'current.version';

export interface StagedArtifact {
  version: string;
  bytes: Uint8Array;
}

/** One staged window of one artifact type. */
export interface StageKey extends Scope {
  type: string;
  /** The window's first day and the day after its last (YYYY-MM-DD). */
  startDay: string;
  endDay: string;
}

/** The key of one staged window in the staging folder: `<tenant>/<surface>[/<segment>]/<type>/<start>_<end>`. */
export function stageRel(key: StageKey): string {
  for (const [flag, day] of [
    ['window start', key.startDay],
    ['window end', key.endDay],
  ] as const) {
    if (dayStartMicros(day) === null) throw usageError(`${flag} must be a date YYYY-MM-DD, got ${JSON.stringify(day)}`);
  }
  const parts = [pathSegment('tenant', key.tenant), pathSegment('surface', key.surface)];
  if (key.segment !== '') parts.push(pathSegment('segment', key.segment));
  parts.push(pathSegment('artifact type', key.type), `${key.startDay}_${key.endDay}`);
  return parts.join('/');
}

/** The folder of one staged window under a local `artifacts_dir`. */
export function stageDir(artifactsDir: string, key: StageKey): string {
  return path.join(path.resolve(artifactsDir), ...stageRel(key).split('/'));
}

export function stagePath(artifactsDir: string, key: StageKey, version: string): string {
  return path.join(stageDir(artifactsDir, key), `${pathSegment('version', version)}.json`);
}

/** Where a worker writes a staged window's blobs: the folder itself, or this process's scratch copy of it (S3). */
export function localStageDir(staging: FolderLike, key: StageKey): string {
  return asFolder(staging).localPath(stageRel(key));
}

/**
 * Writes the blob (unless `bytes` is null: a worker already wrote `<version>.json` at the
 * folder's local path, which is then committed, uploaded on S3), then points
 * `current.version` at it. Returns where the blob is (path or URI). `keepLocal`: keep the
 * local scratch copy of an uploaded blob (a `run` publishes from it).
 */
export async function stageArtifact(
  staging: FolderLike,
  key: StageKey,
  version: string,
  bytes: Uint8Array | string | null,
  opts: { keepLocal?: boolean } = {},
): Promise<string> {
  const folder = asFolder(staging);
  const dir = stageRel(key);
  const blob = `${dir}/${pathSegment('version', version)}.json`;
  if (bytes !== null) await folder.write(blob, bytes);
  else await folder.commit(blob, opts);
  await folder.write(`${dir}/${CURRENT_VERSION_FILE}`, `${version}\n`);
  return folder.where(blob);
}

/**
 * The artifact `current.version` names; without a `current.version`, the folder's only
 * `*.json` blob, as the Go tool publishes it (SPEC §9); null when nothing is staged for this
 * window. E_IO (naming the file or folder, never echoing file contents) for a
 * `current.version` that is not a version or names a missing blob, and for a folder without
 * `current.version` holding several blobs (which one is meant cannot be told).
 */
export async function readStaged(staging: FolderLike, key: StageKey): Promise<StagedArtifact | null> {
  const folder = asFolder(staging);
  const dir = stageRel(key);
  const pointer = `${dir}/${CURRENT_VERSION_FILE}`;
  const pointed = await folder.read(pointer);
  if (pointed === null) return readLoneBlob(folder, dir);
  const version = parseCurrentVersion(folder.where(pointer), Buffer.from(pointed).toString('utf8'));
  return { version, bytes: await readBlob(folder, `${dir}/${version}.json`) };
}

/**
 * The version in a `current.version` text (the version, optionally a newline). A bad one is
 * reported by its position only: the file is not ours to echo (it may hold anything).
 */
function parseCurrentVersion(pointer: string, text: string): string {
  const version = text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
  const bad = version === '' ? -1 : version.startsWith('.') ? 0 : version.search(/[/\\\s\u0000-\u001f\u007f]/u);
  if (version === '' || bad >= 0) {
    const where =
      version === '' ? 'it is empty' : `bad character at line ${version.slice(0, bad).split('\n').length}, column ${bad - version.lastIndexOf('\n', bad - 1)}`;
    throw ioError('read', pointer, `not a version (the version and a newline expected): ${where}`);
  }
  return version;
}

/** The Go tool's fallback: the folder's only `<version>.json`; null when it holds none. */
async function readLoneBlob(folder: Folder, dir: string): Promise<StagedArtifact | null> {
  const blobs = (await folder.list(dir)).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
  if (blobs.length === 0) return null;
  if (blobs.length > 1) {
    throw ioError(
      'read staging folder',
      folder.where(dir),
      `no ${CURRENT_VERSION_FILE} and ${blobs.length} staged blobs (${blobs.join(', ')}): write the version to publish into ${CURRENT_VERSION_FILE}`,
    );
  }
  return { version: blobs[0].slice(0, -'.json'.length), bytes: await readBlob(folder, `${dir}/${blobs[0]}`) };
}

/** A staged blob that must be there (named by current.version, or just listed): missing is E_IO naming it. */
async function readBlob(folder: Folder, rel: string): Promise<Uint8Array> {
  const bytes = await folder.read(rel);
  if (bytes === null) throw ioError('read staged blob', folder.where(rel), new Error('ENOENT: no such file or directory'));
  return bytes;
}
