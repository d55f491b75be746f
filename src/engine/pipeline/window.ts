/**
 * Which days a command covers, and the window each day's artifacts describe
 * (docs/contract.md §2).
 */
import type { ArtifactType } from '../artifact-types';
import { artifactType } from '../artifact-types';
import type { ArtifactHeader } from '../../io/artifacts/codec';
import { readCheckpoint } from '../../io/store/checkpoint';
import { openFolders } from '../../io/store/folder';
import { addDays, dayCount, dayOfMicros, daysBetween, MICROS_PER_DAY, parseDayFlag, rfc3339Seconds } from '../../days';
import { limitExceeded, usageError } from '../../errors';
import type { Scope } from '../../scope';
import type { RunRequest } from './request';

/**
 * The window of a day: `[startDay 00:00, endDay 00:00)` UTC, the `days` days ending with
 * `day` (window_days, default 1: the day itself).
 */
export interface DayWindow {
  day: string;
  days: number;
  startDay: string;
  endDay: string;
  startMicros: number;
}

export function dayWindow(day: string, days = 1): DayWindow {
  const startDay = addDays(day, 1 - days);
  return { day, days, startDay, endDay: addDays(day, 1), startMicros: parseDayFlag('--start', startDay) };
}

/** The header of a type's artifact for a window. */
export function artifactHeader(scope: Scope, w: DayWindow, type: ArtifactType): ArtifactHeader {
  return {
    artifactType: type,
    payloadField: artifactType(type).payloadField,
    tenant: scope.tenant,
    surface: scope.surface,
    segment: scope.segment,
    window: { start: rfc3339Seconds(w.startMicros / 1000), end: rfc3339Seconds((w.startMicros + w.days * MICROS_PER_DAY) / 1000) },
  };
}

/** The days a command covers (flags, checkpoint, max_days_backfill), in order. Reads, never writes. */
export async function resolveDays(req: RunRequest): Promise<string[]> {
  const { config } = req;
  let start = req.start;
  if (req.incremental) {
    const last = await readCheckpoint(openFolders(config).checkpoints, req.tenant, req.surface, req.segment);
    if (last) start = addDays(last, 1);
    else if (!start) throw usageError('--incremental: no checkpoint yet, so the first incremental run needs --start');
  }
  if (!start) throw usageError('--start is required (or --incremental with a checkpoint)');
  parseDayFlag('--start', start);
  // Incremental runs default to the last complete UTC day.
  const nowMs = (req.now ?? (() => new Date()))().getTime();
  const end = req.end ?? (req.incremental ? dayOfMicros(nowMs * 1000 - MICROS_PER_DAY) : undefined);
  if (!end) throw usageError('--end is required');
  parseDayFlag('--end', end);
  if (end < start && !req.incremental) throw usageError(`--end ${end} is before --start ${start}`);
  const count = dayCount(start, end);
  if (count > config.limits.max_days_backfill) throw limitExceeded('max_days_backfill', count, config.limits.max_days_backfill);
  return daysBetween(start, end);
}
