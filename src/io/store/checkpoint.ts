/**
 * Checkpoint for `run --incremental` (docs/contract.md §8): the last day whose artifacts were published
 * for (tenant, surface, segment). The next incremental run starts the day after it.
 *
 * File: `<checkpoint_dir>/<tenant>/<surface>/<segment or "_">.json`, content
 * `{"v":1,"last_day":"YYYY-MM-DD","updated_at":"<RFC 3339 UTC seconds>"}`, replaced atomically.
 * The empty segment is stored as `_`, so a segment literally named `_` is refused.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { dayStartMicros, rfc3339Seconds } from '../../days';
import { ioError, usageError } from '../../errors';
import { pathSegment, writeFileAtomic } from '../atomic';
import { encodePretty } from '../artifacts/go-json';

interface Checkpoint {
  v: 1;
  last_day: string;
  updated_at: string;
}

export function checkpointPath(checkpointDir: string, tenant: string, surface: string, segment: string): string {
  if (segment === '_') throw usageError('segment "_" is reserved (it names the empty segment in checkpoint files)');
  return path.join(
    path.resolve(checkpointDir),
    pathSegment('tenant', tenant),
    pathSegment('surface', surface),
    `${segment === '' ? '_' : pathSegment('segment', segment)}.json`,
  );
}

/** The last published day, or null when there is no checkpoint. An unreadable checkpoint is an E_IO error. */
export async function readCheckpoint(checkpointDir: string, tenant: string, surface: string, segment: string): Promise<string | null> {
  const file = checkpointPath(checkpointDir, tenant, surface, segment);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw ioError('read checkpoint', file, err);
  }
  let parsed: Partial<Checkpoint>;
  try {
    parsed = JSON.parse(text) as Partial<Checkpoint>;
  } catch (err) {
    throw ioError('parse checkpoint', file, err);
  }
  const day = parsed?.last_day;
  if (parsed?.v !== 1 || typeof day !== 'string' || dayStartMicros(day) === null) {
    throw ioError('parse checkpoint', file, new Error('expected {"v":1,"last_day":"YYYY-MM-DD",...}'));
  }
  return day;
}

/** Records `lastDay` as the last published day, atomically. Call only after that day's manifest swap. */
async function writeCheckpoint(
  checkpointDir: string,
  tenant: string,
  surface: string,
  segment: string,
  lastDay: string,
  now: Date = new Date(),
): Promise<void> {
  if (dayStartMicros(lastDay) === null) throw usageError(`checkpoint day must be YYYY-MM-DD, got ${JSON.stringify(lastDay)}`);
  const file = checkpointPath(checkpointDir, tenant, surface, segment);
  const checkpoint: Checkpoint = { v: 1, last_day: lastDay, updated_at: rfc3339Seconds(now.getTime()) };
  await writeFileAtomic(file, encodePretty(checkpoint));
}

/**
 * Moves the checkpoint to `day` unless it already records a later day: re-running an old
 * day (a backfill, a repair) must not send the next `--incremental` run back in time.
 */
export async function advanceCheckpoint(
  checkpointDir: string,
  tenant: string,
  surface: string,
  segment: string,
  day: string,
  now: Date = new Date(),
): Promise<void> {
  const last = await readCheckpoint(checkpointDir, tenant, surface, segment);
  if (last === null || day >= last) await writeCheckpoint(checkpointDir, tenant, surface, segment, day, now);
}
