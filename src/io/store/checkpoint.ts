/**
 * Checkpoint for `run --incremental` (docs/contract.md §8): the last day whose artifacts were published
 * for (tenant, surface, segment). The next incremental run starts the day after it.
 *
 * File: `<checkpoint_dir>/<tenant>/<surface>/<segment or "_">.json`, content
 * `{"v":1,"last_day":"YYYY-MM-DD","updated_at":"<RFC 3339 UTC seconds>"}`, replaced atomically.
 * The empty segment is stored as `_`, so a segment literally named `_` is refused.
 *
 * The Go tool's checkpoint (docs/contract.md §9) sits beside it: `<checkpoint_dir>/<tenant>/<surface>.json`
 * = `{"day": "YYYY-MM-DD"}`, with no segment. For a run without a segment both are read and
 * the later day counts, and both are written when the checkpoint advances, so a switch from
 * the Go tool carries on after its last day and a switch back to it carries on after ours.
 */
import * as path from 'node:path';
import { dayStartMicros, rfc3339Seconds } from '../../days';
import { ioError, parseStateJson, usageError } from '../../errors';
import { pathSegment } from '../atomic';
import { asFolder, type Folder, type FolderLike } from './folder';
import { encodePretty } from '../artifacts/go-json';

interface Checkpoint {
  v: 1;
  last_day: string;
  updated_at: string;
}

/** The checkpoint's key in the checkpoint folder (./folder.ts): `<tenant>/<surface>/<segment or "_">.json`. */
export function checkpointRel(tenant: string, surface: string, segment: string): string {
  if (segment === '_') throw usageError('segment "_" is reserved (it names the empty segment in checkpoint files)');
  return `${pathSegment('tenant', tenant)}/${pathSegment('surface', surface)}/${segment === '' ? '_' : pathSegment('segment', segment)}.json`;
}

/** The Go tool's checkpoint key of (tenant, surface): `<tenant>/<surface>.json`. It has no segment. */
export function goCheckpointRel(tenant: string, surface: string): string {
  return `${pathSegment('tenant', tenant)}/${pathSegment('surface', surface)}.json`;
}

/** Our checkpoint file under a local `checkpoint_dir`. */
export function checkpointPath(checkpointDir: string, tenant: string, surface: string, segment: string): string {
  return path.join(path.resolve(checkpointDir), ...checkpointRel(tenant, surface, segment).split('/'));
}

/** The Go tool's checkpoint of (tenant, surface) under a local `checkpoint_dir`: `<checkpoint_dir>/<tenant>/<surface>.json`. */
export function goCheckpointPath(checkpointDir: string, tenant: string, surface: string): string {
  return path.join(path.resolve(checkpointDir), ...goCheckpointRel(tenant, surface).split('/'));
}

/** Where the checkpoint day came from: our file or the Go tool's. */
export interface CheckpointDay {
  day: string;
  file: string;
  format: 'ours' | 'go';
}

async function readJson(folder: Folder, rel: string): Promise<Record<string, unknown> | null> {
  const file = folder.where(rel);
  const bytes = await folder.read(rel);
  if (bytes === null) return null;
  const text = Buffer.from(bytes).toString('utf8');
  const parsed = parseStateJson(file, text, 'checkpoint');
  return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
}

async function readOurs(folder: Folder, rel: string): Promise<string | null> {
  const file = folder.where(rel);
  const parsed = await readJson(folder, rel);
  if (parsed === null) return null;
  const day = parsed.last_day;
  if (parsed.v !== 1 || typeof day !== 'string' || dayStartMicros(day) === null) {
    throw ioError('parse checkpoint', file, new Error('expected {"v":1,"last_day":"YYYY-MM-DD",...}'));
  }
  return day;
}

async function readGo(folder: Folder, rel: string): Promise<string | null> {
  const file = folder.where(rel);
  const parsed = await readJson(folder, rel);
  if (parsed === null) return null;
  const day = parsed.day;
  if (typeof day !== 'string' || dayStartMicros(day) === null) {
    throw ioError('parse checkpoint', file, new Error('expected the Go tool checkpoint {"day": "YYYY-MM-DD"}'));
  }
  return day;
}

/**
 * The last published day and the file that says so, or null when there is no checkpoint:
 * ours, or, for a run without a segment, the Go tool's when it names a later day. An
 * unreadable checkpoint is an E_IO error naming the file.
 */
export async function readCheckpointDay(checkpoints: FolderLike, tenant: string, surface: string, segment: string): Promise<CheckpointDay | null> {
  const folder = asFolder(checkpoints);
  const rel = checkpointRel(tenant, surface, segment);
  const ours = await readOurs(folder, rel);
  const found: CheckpointDay | null = ours === null ? null : { day: ours, file: folder.where(rel), format: 'ours' };
  if (segment !== '') return found;
  const goRel = goCheckpointRel(tenant, surface);
  const goFile = folder.where(goRel);
  const go = await readGo(folder, goRel);
  if (go !== null && (found === null || go > found.day)) return { day: go, file: goFile, format: 'go' };
  return found;
}

/** The last published day, or null when there is no checkpoint (`readCheckpointDay`). */
export async function readCheckpoint(checkpoints: FolderLike, tenant: string, surface: string, segment: string): Promise<string | null> {
  return (await readCheckpointDay(checkpoints, tenant, surface, segment))?.day ?? null;
}

/** Records `lastDay` as the last published day, atomically. Call only after that day's manifest swap. */
async function writeCheckpoint(
  checkpoints: FolderLike,
  tenant: string,
  surface: string,
  segment: string,
  lastDay: string,
  now: Date = new Date(),
): Promise<void> {
  if (dayStartMicros(lastDay) === null) throw usageError(`checkpoint day must be YYYY-MM-DD, got ${JSON.stringify(lastDay)}`);
  const folder = asFolder(checkpoints);
  const checkpoint: Checkpoint = { v: 1, last_day: lastDay, updated_at: rfc3339Seconds(now.getTime()) };
  await folder.write(checkpointRel(tenant, surface, segment), encodePretty(checkpoint));
  // The Go tool's, for a switch back to it: `{"day"}`, two-space indent, as it writes it.
  if (segment === '') await folder.write(goCheckpointRel(tenant, surface), encodePretty({ day: lastDay }));
}

/**
 * Moves the checkpoint to `day` unless it already records a later day (ours or, without a
 * segment, the Go tool's): re-running an old day (a backfill, a repair) must not send the
 * next `--incremental` run back in time. Without a segment the Go tool's checkpoint is
 * written too.
 */
export async function advanceCheckpoint(
  checkpoints: FolderLike,
  tenant: string,
  surface: string,
  segment: string,
  day: string,
  now: Date = new Date(),
): Promise<void> {
  const last = await readCheckpoint(checkpoints, tenant, surface, segment);
  if (last === null || day >= last) await writeCheckpoint(checkpoints, tenant, surface, segment, day, now);
}
