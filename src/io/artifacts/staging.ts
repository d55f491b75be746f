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
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { dayStartMicros } from '../../days';
import { ioError, usageError } from '../../errors';
import type { Scope } from '../../scope';
import { pathSegment, writeFileAtomic } from '../atomic';

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

/** The folder of one staged window: `<artifacts_dir>/<tenant>/<surface>[/<segment>]/<type>/<start>_<end>`. */
export function stageDir(artifactsDir: string, key: StageKey): string {
  for (const [flag, day] of [
    ['window start', key.startDay],
    ['window end', key.endDay],
  ] as const) {
    if (dayStartMicros(day) === null) throw usageError(`${flag} must be a date YYYY-MM-DD, got ${JSON.stringify(day)}`);
  }
  const parts = [pathSegment('tenant', key.tenant), pathSegment('surface', key.surface)];
  if (key.segment !== '') parts.push(pathSegment('segment', key.segment));
  parts.push(pathSegment('artifact type', key.type), `${key.startDay}_${key.endDay}`);
  return path.join(path.resolve(artifactsDir), ...parts);
}

export function stagePath(artifactsDir: string, key: StageKey, version: string): string {
  return path.join(stageDir(artifactsDir, key), `${pathSegment('version', version)}.json`);
}

/**
 * Writes the blob (unless `bytes` is null: a worker already wrote `<version>.json` there),
 * then points `current.version` at it. Returns the blob's path.
 */
export async function stageArtifact(artifactsDir: string, key: StageKey, version: string, bytes: Uint8Array | string | null): Promise<string> {
  const blob = stagePath(artifactsDir, key, version);
  if (bytes !== null) await writeFileAtomic(blob, bytes);
  await writeFileAtomic(path.join(path.dirname(blob), CURRENT_VERSION_FILE), `${version}\n`);
  return blob;
}

/**
 * The artifact `current.version` names, or null when nothing is staged for this window.
 * A `current.version` naming a missing blob is an E_IO error (the staging area was altered).
 */
export async function readStaged(artifactsDir: string, key: StageKey): Promise<StagedArtifact | null> {
  const dir = stageDir(artifactsDir, key);
  const pointer = path.join(dir, CURRENT_VERSION_FILE);
  let text: string;
  try {
    text = await fs.readFile(pointer, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw ioError('read', pointer, err);
  }
  const version = text.trim();
  if (version === '' || /[/\\\s]/.test(version) || version.startsWith('.')) {
    throw ioError('read', pointer, new Error(`not a version: ${JSON.stringify(text)}`));
  }
  const blob = path.join(dir, `${version}.json`);
  try {
    return { version, bytes: await fs.readFile(blob) };
  } catch (err) {
    throw ioError('read staged blob', blob, err);
  }
}
