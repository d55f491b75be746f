/**
 * The validate stage: the window's canonical events (today's, plus the earlier days' of a
 * rolling window), the canonical gates, the day index, and the hard limits on it
 * (docs/contract.md §4, §7).
 */
import { promises as fs } from 'node:fs';
import type { Config } from '../../config/types';
import { addDays, dayStartMicros, daysBetween } from '../../days';
import { ioError, notIngested } from '../../errors';
import { CanonicalDayBuilder } from '../../io/canonical/builder';
import type { CanonicalDay } from '../../io/canonical/day';
import { decodeCanonical } from '../../io/canonical/arrow-codec';
import { exposuresRel, goPartitionRel, type IngestRecord, ingestRecordRel, parseIngestRecord, partitionRel } from '../../io/canonical/partitions';
import { jsonlFileDay } from '../../io/sources/fs';
import { type Folder, openFolders } from '../../io/store/folder';
import { dayIndex, type DayIndex, indexDay } from '../../kernels/day-index';
import type { Scope } from '../../scope';
import { checkCanonical, checkHardLimits } from '../gates';
import type { WorkerPool } from '../threads/pool';
import type { DayContext } from './context';
import { buildDay, readInput } from './ingest';
import type { WindowCounts } from './request';
import type { DayWindow } from './window';

export interface ValidatedWindow {
  events: CanonicalDay;
  index: DayIndex;
}

/**
 * Validates the window ending with the context's day. `today` is the day as ingest just
 * read and wrote it (`run`), or null to read its partition (job mode).
 *
 * Job mode fails with E_NOT_INGESTED (exit 1), naming every day of the window never
 * ingested, before anything is computed or staged. `run` ingests the day itself; an
 * earlier day of its window never ingested is a notice and counts as a day without events
 * (docs/backfill.md "Rolling windows").
 */
export async function validateStep(ctx: DayContext, today: CanonicalDay | null): Promise<ValidatedWindow> {
  const w = ctx.window;
  const earlierDays = w.days === 1 ? [] : daysBetween(w.startDay, addDays(w.day, -1));
  const window = await ingestedWindow(ctx.config, ctx.scope, today === null ? [...earlierDays, w.day] : earlierDays, ctx.pool, ctx.notice);
  const missing = window.filter((d) => d.events === null);
  if (missing.length > 0) {
    const message = await notIngestedMessage(ctx.config, ctx.scope, missing);
    if (today === null) throw notIngested(`${w.day}: ${message}`);
    // `run` ingested its day itself; it goes on, and says which earlier days were left out.
    ctx.notice(`${w.day}: window days counted as days without events: ${message}`);
  }
  const found = window.flatMap((d) => (d.events ? [d.events] : []));
  if (today !== null) found.push(today);
  const events = found.length === 1 ? found[0] : await concatDays(found, ctx.pool);
  return { events, index: await validateWindow(ctx.config, events, w, ctx.pool) };
}

/**
 * The canonical events of a day, or null when there are none (a day without events, or a
 * day never ingested: ingestedDay tells them apart). Ours win: our partition; else none
 * when our ingest record exists (this tool ingested the day last, and found no events);
 * else the Go tool's JSONL partition (docs/contract.md §9), parsed by the raw-line parser
 * with the same rules and the `fail` policy, so a bad line is E_BAD_INPUT naming the file
 * and line, and the events, and so the versions, are those our ingest of the same events
 * gives. `notice` is told when a Go partition is read.
 */
export async function readCanonicalDay(
  config: Config,
  scope: Pick<Scope, 'tenant' | 'surface'>,
  day: string,
  pool: WorkerPool | null = null,
  notice?: (message: string) => void,
): Promise<CanonicalDay | null> {
  return (await readDay(config, scope, day, pool, notice)).events;
}

/** readCanonicalDay, with the ingest record where it was read (no partition of ours), so no caller reads it twice. */
async function readDay(
  config: Config,
  scope: Pick<Scope, 'tenant' | 'surface'>,
  day: string,
  pool: WorkerPool | null,
  notice?: (message: string) => void,
): Promise<{ events: CanonicalDay | null; record?: IngestRecord }> {
  const { tenant, surface } = scope;
  const folder = openFolders(config).canonical;
  const rel = partitionRel(tenant, surface, day);
  const bytes = await folder.read(rel);
  if (bytes !== null) return { events: decodeCanonical(bytes, folder.where(rel)) };
  const record = await readIngestRecord(config, scope, day);
  if (record !== undefined) return { events: null, record };
  // The Go tool wrote its partitions on a local file system only: a switch-over happens there,
  // before the folders move to S3 (docs/storage-contract.md §1.6).
  if (folder.remote) return { events: null };
  const goFile = folder.localPath(goPartitionRel(tenant, surface, day));
  if (!(await isFile(goFile))) return { events: null };
  notice?.(`${day}: no partition of ours, reading the Go tool's canonical partition ${goFile}`);
  const read = await readInput(config, jsonlFileDay(goFile), { tenant, surface, day, dayStart: dayStartMicros(day)!, policy: 'fail' }, pool ?? undefined);
  return { events: read.canonical };
}

/** The day's ingest record (partitions.ts), or undefined when there is none. */
export async function readIngestRecord(config: Config, scope: Pick<Scope, 'tenant' | 'surface'>, day: string): Promise<IngestRecord | undefined> {
  const folder = openFolders(config).canonical;
  const rel = ingestRecordRel(scope.tenant, scope.surface, day);
  const bytes = await folder.read(rel);
  return bytes === null ? undefined : parseIngestRecord(folder.where(rel), Buffer.from(bytes).toString('utf8'));
}

/** True for a regular file; false when missing. A path that cannot be checked is an E_IO error naming it. */
async function isFile(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw ioError('read canonical partition', file, err);
  }
}

/** A day's events as ingested (`events`), or null with the reason it does not count as ingested. */
export type IngestedDay = { day: string; events: CanonicalDay; why?: undefined } | { day: string; events: null; why: string };

/**
 * A day counts as ingested when its canonical partition exists (readCanonicalDay), or else
 * when its ingest record does and says the day had no events. A missing partition alone is
 * never an empty day: it may be a day nobody ingested. A record that counts events for a
 * partition that is gone does not count either (re-ingest the day).
 */
export async function ingestedDay(
  config: Config,
  scope: Pick<Scope, 'tenant' | 'surface'>,
  day: string,
  pool: WorkerPool | null = null,
  notice?: (message: string) => void,
): Promise<IngestedDay> {
  const { events, record } = await readDay(config, scope, day, pool, notice);
  if (events !== null) return { day, events };
  if (record === undefined) return { day, events: null, why: 'no canonical partition, no ingest record' };
  if (record.events > 0) {
    return { day, events: null, why: `its ingest record counts ${record.events} events but the partition is missing` };
  }
  return { day, events: new CanonicalDayBuilder().finish() };
}

/** ingestedDay for each of `days`, in order. */
export async function ingestedWindow(
  config: Config,
  scope: Pick<Scope, 'tenant' | 'surface'>,
  days: readonly string[],
  pool: WorkerPool | null = null,
  notice?: (message: string) => void,
): Promise<IngestedDay[]> {
  const out: IngestedDay[] = [];
  for (const day of days) out.push(await ingestedDay(config, scope, day, pool, notice));
  return out;
}

/**
 * `not ingested: <day> (<why>), …: run ingest first …`, naming every day. Where the folder
 * holds partitions of the Go tool, it adds that the Go tool left no file for a day without
 * events, so such a day may have been empty rather than never ingested.
 */
export async function notIngestedMessage(config: Config, scope: Pick<Scope, 'tenant' | 'surface'>, missing: readonly IngestedDay[]): Promise<string> {
  const folder = openFolders(config).canonical;
  const dir = folder.where(exposuresRel(scope.tenant, scope.surface));
  const days = missing.map((d) => d.day);
  const range = `--start ${days[0]} --end ${days[days.length - 1]}`;
  const byReason = new Map<string, string[]>();
  for (const d of missing) byReason.set(d.why!, [...(byReason.get(d.why!) ?? []), d.day]);
  const reasons = [...byReason].map(([why, ds]) => `${ds.join(', ')} (${why})`);
  let message = `not ingested: ${reasons.join('; ')} in ${dir}; run ingest first (recsys-pipelines ingest … ${range}), then retry`;
  if (await holdsGoPartitions(folder, exposuresRel(scope.tenant, scope.surface))) {
    message +=
      '. The Go tool left no partition file for a day without events, so a Go-era day listed here may have been empty: ' +
      'ingesting it again with this tool records it either way';
  }
  return message;
}

/** True when `relDir` of the canonical folder holds a canonical partition of the Go tool (`YYYY-MM-DD.jsonl`). */
async function holdsGoPartitions(folder: Folder, relDir: string): Promise<boolean> {
  const names = await folder.list(relDir).catch(() => [] as string[]);
  return names.some((n) => GO_PARTITION_NAME.test(n));
}

const GO_PARTITION_NAME = /^\d{4}-\d{2}-\d{2}\.jsonl$/;

/** Days concatenated in the order given (day order, raw order within a day); nothing is re-ingested. */
function concatDays(days: readonly CanonicalDay[], pool: WorkerPool | null): Promise<CanonicalDay> {
  const builder = new CanonicalDayBuilder();
  for (const day of days) builder.addDay(day);
  return buildDay(builder, 'validate', pool ?? undefined);
}

/** Canonical gates and hard limits over the window; returns the index compute reads (built on the pool when there is one). */
export async function validateWindow(
  config: Config,
  canonical: CanonicalDay,
  w: Pick<DayWindow, 'startMicros' | 'days'>,
  pool: WorkerPool | null,
): Promise<DayIndex> {
  checkCanonical(canonical, w.startMicros, w.days);
  const index = pool ? await indexDayOn(pool, canonical) : indexDay(canonical);
  checkHardLimits(index, config.limits);
  return index;
}

/** The day index with its two parts built on the pool, in parallel. */
export async function indexDayOn(pool: WorkerPool, day: CanonicalDay): Promise<DayIndex> {
  const [items, users] = await Promise.all([
    pool.run('validate', { task: 'items', sessionCodes: day.session.codes, nSessions: day.session.size, itemCodes: day.item.codes, nItems: day.item.size }),
    pool.run('validate', { task: 'users', userCodes: day.user.codes, itemCodes: day.item.codes, tsMicros: day.tsMicros, nUsers: day.user.size }),
  ]);
  return dayIndex(day, items, users);
}

export function windowCounts(index: DayIndex): WindowCounts {
  return {
    events: index.events,
    sessions: index.nSessions,
    items: index.nItems,
    users: index.nUsers,
    max_items_per_session: index.maxItemsPerSession,
  };
}
