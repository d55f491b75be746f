/**
 * `--dry-run`: the plan of a run or ingest — the days, the raw file each day reads with its
 * size, and an estimated event count — computed without writing anything (it reads the
 * checkpoint for --incremental, stats the raw files and reads the first 64 KiB of each).
 *
 * The estimate is file size / average line size of the first 64 KiB (for `.gz` files the
 * size is scaled by the compression ratio of that head). It counts lines, so events of
 * other tenants/surfaces and, in the flat layout, of other days are included.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import type { ArtifactType } from '../artifact-types';
import { ioError } from '../../errors';
import { resolveRawFiles } from '../../io/sources/fs';
import type { CheckpointDay } from '../../io/store/checkpoint';
import { readCheckpointDay } from '../../io/store/checkpoint';
import { openFolders } from '../../io/store/folder';
import { openRawDay } from '../../io/sources/raw-day';
import type { RunRequest } from '../pipeline/request';
import { workPartOf } from '../pipeline/part';
import { resolveDays } from '../pipeline/window';

const ESTIMATE_HEAD_BYTES = 64 * 1024;

export interface DayInputPlan {
  day: string;
  /** The raw file the day reads; null when there is none (the day has no events). */
  input: string | null;
  /** 'flat': `<dir>/exposure.jsonl`, shared by every day (events are selected by ts). */
  layout: 'flat' | 'day' | 'none';
  /** Bytes on disk (compressed for `.gz`); 0 for S3 and Postgres inputs (not estimated). */
  bytes: number;
  /** Estimated lines of the file (0 without a file). */
  estimatedEvents: number;
}

export interface RunPlan {
  command: 'run' | 'ingest';
  tenant: string;
  surface: string;
  segment: string;
  days: DayInputPlan[];
  artifactKinds: ArtifactType[];
  workers: number;
  /** The catalog content_sim reads, if selected, and whether it exists. */
  catalog: { path: string; bytes: number | null } | null;
  /** Estimated events over all days; a flat file counts once. */
  totalEstimatedEvents: number;
  /** `--incremental`: the checkpoint the days start after (ours or the Go tool's), null without one. */
  checkpoint?: CheckpointDay | null;
  /**
   * A day without raw input would fail the run (the drift gate's raw-input rule: `run`
   * without `--allow-empty` or `gates.allow_empty`); `ingest` records it as a day without events.
   */
  missingBlocks: boolean;
}

export async function planRun(req: RunRequest & { command: 'run' | 'ingest' }): Promise<RunPlan> {
  const { config } = req;
  const allDays = await resolveDays(req);
  const checkpoint = req.incremental ? await readCheckpointDay(openFolders(config).checkpoints, req.tenant, req.surface, req.segment) : undefined;
  // `ingest --dry-run --index/--count`: the days of that part (units are days for ingest).
  const days = req.part ? workPartOf(allDays, req.part.index, req.part.count) : allDays;
  const estimates = new Map<string, { bytes: number; lines: number }>();
  const plans: DayInputPlan[] = [];
  for (const day of days) {
    if (config.raw_source.type !== 'fs') {
      // S3 objects and Postgres rows are located (one HEAD or a tenant lookup), not estimated.
      const input = await openRawDay(config, req.tenant, req.surface, day);
      plans.push({ day, input: input.name, layout: input.name === null ? 'none' : 'day', bytes: 0, estimatedEvents: 0 });
      continue;
    }
    const source = resolveRawFiles(config.raw_source.dir as string, req.tenant, req.surface, day);
    if (source.kind === 'none') {
      plans.push({ day, input: null, layout: 'none', bytes: 0, estimatedEvents: 0 });
      continue;
    }
    let est = estimates.get(source.path);
    if (!est) {
      est = estimateLines(source.path);
      estimates.set(source.path, est);
    }
    plans.push({ day, input: source.path, layout: source.kind, bytes: est.bytes, estimatedEvents: est.lines });
  }
  const kinds = config.artifact_kinds;
  let catalog: RunPlan['catalog'] = null;
  if (req.command === 'run' && kinds.includes('content_sim') && config.catalog) {
    catalog = { path: config.catalog.path, bytes: sizeOrNull(config.catalog.path) };
  }
  return {
    command: req.command,
    tenant: req.tenant,
    surface: req.surface,
    segment: req.segment,
    days: plans,
    artifactKinds: kinds,
    workers: config.engine.workers,
    catalog,
    totalEstimatedEvents: [...estimates.values()].reduce((a, e) => a + e.lines, 0),
    ...(checkpoint !== undefined && { checkpoint }),
    missingBlocks: req.command === 'run' && !req.allowEmpty && !config.gates.allow_empty,
  };
}

function sizeOrNull(file: string): number | null {
  try {
    return fs.statSync(file).size;
  } catch {
    return null;
  }
}

/** Size of `file` and its estimated number of non-blank lines, from its first 64 KiB. */
export function estimateLines(file: string): { bytes: number; lines: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw ioError('read', file, err);
  }
  try {
    const bytes = fs.fstatSync(fd).size;
    const raw = Buffer.alloc(Math.min(bytes, ESTIMATE_HEAD_BYTES));
    const got = fs.readSync(fd, raw, 0, raw.length, 0);
    let head = raw.subarray(0, got);
    let totalText = bytes; // uncompressed size, estimated for .gz
    if (file.endsWith('.gz')) {
      try {
        head = zlib.gunzipSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      } catch (err) {
        throw ioError('read gzip', file, err);
      }
      totalText = got === 0 ? 0 : Math.round((bytes * head.length) / got);
    }
    return { bytes, lines: estimateFromHead(head, totalText, got === bytes) };
  } finally {
    fs.closeSync(fd);
  }
}

/** Non-blank lines in `head` when it is the whole text, else total size / average complete-line size. */
function estimateFromHead(head: Buffer, totalText: number, wholeText: boolean): number {
  const lastNewline = head.lastIndexOf(0x0a);
  const complete = wholeText ? head : head.subarray(0, lastNewline + 1);
  let lines = 0;
  let start = 0;
  while (start < complete.length) {
    let end = complete.indexOf(0x0a, start);
    if (end < 0) end = complete.length;
    if (complete.subarray(start, end).toString('utf8').trim() !== '') lines++;
    start = end + 1;
  }
  if (wholeText) return lines;
  if (lines === 0) return totalText > 0 ? Math.max(1, Math.round(totalText / Math.max(head.length, 1))) : 0;
  return Math.round((totalText * lines) / complete.length);
}
