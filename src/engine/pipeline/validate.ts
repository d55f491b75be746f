/**
 * The validate stage: the window's canonical events (today's, plus the earlier days' of a
 * rolling window), the canonical gates, the day index, and the hard limits on it
 * (docs/contract.md §4, §7).
 */
import type { Config } from '../../config/types';
import { addDays, daysBetween } from '../../days';
import { CanonicalDayBuilder } from '../../io/canonical/builder';
import type { CanonicalDay } from '../../io/canonical/day';
import { partitionPath, readPartition } from '../../io/canonical/partitions';
import { dayIndex, type DayIndex, indexDay } from '../../kernels/day-index';
import type { Scope } from '../../scope';
import { checkCanonical, checkHardLimits } from '../gates';
import type { WorkerPool } from '../threads/pool';
import type { DayContext } from './context';
import { buildDay } from './ingest';
import type { WindowCounts } from './request';
import type { DayWindow } from './window';

export interface ValidatedWindow {
  events: CanonicalDay;
  index: DayIndex;
}

/**
 * Validates the window ending with the context's day. `today` is the day as ingest just
 * read it, or null to read its partition. `afterIndexQueued` runs once the index tasks are
 * queued on the pool (the day's partition write goes behind them).
 */
export async function validateStep(ctx: DayContext, today: CanonicalDay | null, afterIndexQueued: () => void): Promise<ValidatedWindow> {
  let day = today ?? (await readCanonicalDay(ctx.config, ctx.scope, ctx.day));
  if (day === null) {
    ctx.notice(`${ctx.day}: no canonical partition, validated as a day without events (run ingest first if it had some)`);
    day = new CanonicalDayBuilder().finish();
  }
  const events = ctx.window.days === 1 ? day : await windowEvents(ctx, day);
  const index = validateWindow(ctx.config, events, ctx.window, ctx.pool);
  afterIndexQueued();
  return { events, index: await index };
}

/**
 * The canonical partition of a day as ingest wrote it, or null when there is none (ingest
 * removes the partition of a day without events, so job mode treats null as such a day).
 */
export function readCanonicalDay(config: Config, scope: Pick<Scope, 'tenant' | 'surface'>, day: string): Promise<CanonicalDay | null> {
  return readPartition(partitionPath(config.canonical_dir, scope.tenant, scope.surface, day));
}

/**
 * The events of a rolling window: the canonical partitions of the earlier days of the
 * window (as ingested before; a missing one is a day without events), then `today`, in day
 * order and raw order within a day. Nothing is re-ingested.
 */
async function windowEvents(ctx: DayContext, today: CanonicalDay): Promise<CanonicalDay> {
  const w = ctx.window;
  const builder = new CanonicalDayBuilder();
  for (const day of daysBetween(w.startDay, addDays(w.day, -1))) {
    const earlier = await readCanonicalDay(ctx.config, ctx.scope, day);
    if (earlier) builder.addDay(earlier);
    else ctx.notice(`${w.day}: window day ${day} has no canonical partition, counted as a day without events (ingest it first if it had some)`);
  }
  builder.addDay(today);
  return buildDay(builder, 'validate', ctx.pool ?? undefined);
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
