/**
 * The pipeline steps and the one day loop behind `run` and job mode (SPEC §2, §8).
 *
 * Every command walks the days of [start, end] in order, each day its own window, and runs
 * its stages for that day:
 *
 *   run       ingest → validate → compute + stage → publish → checkpoint
 *   ingest    ingest
 *   validate  read the partition → validate
 *   compute   read the partition → validate → compute one type + stage
 *   publish   read what is staged → publish → checkpoint
 *
 * Each stage is one piece of code whichever command runs it, so running the job steps in
 * order yields the same versions as `run`. A failed day stops the command (earlier days
 * stay done); with `continueOnError` it is reported and skipped, and the checkpoint stops
 * advancing at the day before the first failure so that `--incremental` retries it.
 */
import { collectGarbage } from '../threads/shared-memory';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Config, ArtifactType, LimitsConfig } from '../../config/config';
import { addDays, dayCount, dayOfMicros, daysBetween, MICROS_PER_DAY, parseDayFlag, rfc3339Seconds } from '../../days';
import { ErrorCode, ioError, isPipelineError, limitExceeded, notFound, usageError } from '../../errors';
import { encodeArtifact, ArtifactHeader, splitBlob, ARTIFACT_PAYLOAD_FIELD, TypedPayload } from '../../io/artifacts/codec';
import { quoteAll } from '../../io/artifacts/go-json';
import type { ByteDictionarySnapshot } from '../../io/parse/byte-dictionary';
import { decodeCanonical } from '../../io/canonical/arrow-codec';
import { CanonicalDayBuilder } from '../../io/canonical/builder';
import type { CanonicalDay } from '../../io/canonical/day';
import { partitionPath } from '../../io/canonical/partitions';
import { loadCatalog } from '../../io/sources/catalog';
import { advanceCheckpoint, readCheckpoint } from '../../io/store/checkpoint';
import { openStorage } from '../../io/store/open';
import { CURRENT_VERSION_FILE, readStaged, stageArtifact, stageDir } from '../../io/artifacts/staging';
import { Counts, createReporter, Reporter, Stage } from './progress';
import { computeRows, encodeOnPool, DayIndex, EventKind, indexDay, indexDayOn } from './coordinator';
import { checkCanonical, checkHardLimits, checkScoredRows } from '../gates';
import { finishDay, IngestCounts, readDay, ReadDay, writeDay } from './ingest';
import { contentSimPayload, coocPayload, popularityPayload, userPayload } from '../../io/artifacts/payloads';
import { ComputePool } from '../threads/pool';
import { PreparedArtifact, publishDay, PublishedArtifact } from '../publisher';
import { publishSignals, SignalCounts } from '../../io/postgres/signals';

export type { Stage } from './progress';
export type Command = 'run' | 'ingest' | 'validate' | 'compute' | 'publish';

/** The stages each command runs for every day, in order. */
export const COMMAND_STAGES: Readonly<Record<Command, readonly Stage[]>> = {
  run: ['ingest', 'validate', 'compute', 'publish'],
  ingest: ['ingest'],
  validate: ['validate'],
  compute: ['validate', 'compute'],
  publish: ['publish'],
};

export interface RunRequest {
  config: Config;
  tenant: string;
  surface: string;
  segment: string;
  start?: string;
  end?: string;
  incremental: boolean;
  /** Default 'run'. */
  command?: Command;
  /** The types compute and publish handle; default `config.artifact_kinds` (`compute --type` gives one). */
  types?: ArtifactType[];
  /** Report a failed day and go on with the next one (the command still fails at the end). */
  continueOnError?: boolean;
  /** Progress on stderr; default: text lines to `log`. */
  reporter?: Reporter;
  /** Sink of the default text reporter, one line per call (no trailing newline). */
  log?: (line: string) => void;
  now?: () => Date;
}

/** Size of a validated window (what the hard limits looked at). */
export interface WindowCounts {
  events: number;
  sessions: number;
  items: number;
  users: number;
  max_items_per_session: number;
}

export interface StagedInfo {
  type: ArtifactType;
  version: string;
  bytes: number;
  path: string;
}

export interface DaySummary {
  day: string;
  /** The raw file ingest read (null: no file, the day has no events, or ingest did not run). */
  input: string | null;
  /** Ingest counts; null when the command does not ingest. */
  counts: IngestCounts | null;
  /** Validated window; null when the command does not validate. */
  window: WindowCounts | null;
  /** Milliseconds per stage (0 for stages the command does not run). */
  ms: Record<Stage, number>;
  staged: StagedInfo[];
  published: PublishedArtifact[];
  /** Rows upserted into the Postgres signal tables after publish (with db.dsn). */
  signals?: SignalCounts;
}

export interface DayFailure {
  day: string;
  stage: Stage;
  code: ErrorCode;
  message: string;
}

export interface RunSummary {
  command: Command;
  stages: readonly Stage[];
  tenant: string;
  surface: string;
  segment: string;
  /** Days that completed, in order. */
  days: DaySummary[];
  /** Days that failed (only more than one with continueOnError). */
  failed: DayFailure[];
  manifest: string;
}

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

export function artifactHeader(req: Pick<RunRequest, 'tenant' | 'surface' | 'segment'>, w: DayWindow, artifactType: ArtifactType): ArtifactHeader {
  return {
    artifactType,
    tenant: req.tenant,
    surface: req.surface,
    segment: req.segment,
    window: { start: rfc3339Seconds(w.startMicros / 1000), end: rfc3339Seconds((w.startMicros + w.days * MICROS_PER_DAY) / 1000) },
  };
}

/** Row caps the artifact gate checks (SPEC §4, §7), per type. */
export function artifactCaps(kind: ArtifactType, L: LimitsConfig): { maxRows: number; maxItemsPerRow: number } {
  switch (kind) {
    case 'cooc':
      return { maxRows: L.max_items_per_artifact, maxItemsPerRow: L.max_neighbors_per_item };
    case 'implicit':
    case 'session_seq':
      // Rows are bounded by the max_users_per_run hard limit instead.
      return { maxRows: Infinity, maxItemsPerRow: L.max_items_per_user };
    default:
      return { maxRows: L.max_items_per_artifact, maxItemsPerRow: Infinity };
  }
}

/** Resolves the day range of a command (flags, checkpoint, max_days_backfill). Reads, never writes. */
export async function planDays(req: RunRequest): Promise<string[]> {
  const { config } = req;
  let start = req.start;
  if (req.incremental) {
    const last = await readCheckpoint(config.checkpoint_dir, req.tenant, req.surface, req.segment);
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

/** The kinds computed from events by kernels on the pool (popularity and content_sim are not). */
const isEventKind = (k: ArtifactType): k is EventKind => k === 'cooc' || k === 'implicit' || k === 'session_seq';
const needsPool = (kinds: readonly ArtifactType[]) => kinds.some(isEventKind);

export async function runPipeline(req: RunRequest): Promise<RunSummary> {
  const command = req.command ?? 'run';
  const stages = COMMAND_STAGES[command];
  const has = (s: Stage) => stages.includes(s);
  const { config } = req;
  const now = req.now ?? (() => new Date());
  const builtAt = rfc3339Seconds(now().getTime());
  const reporter = req.reporter ?? createReporter({ format: 'text', write: (text) => req.log?.(text.replace(/\n$/, '')) });
  const kinds = req.types ?? config.artifact_kinds;
  const days = await planDays(req);
  const catalog = has('compute') && kinds.includes('content_sim') ? loadCatalog(config.catalog!.path, config.catalog!.format, req.surface) : [];
  // Ingest parses raw blocks on the pool; compute runs the event kernels there.
  const pool =
    has('ingest') || (has('compute') && needsPool(kinds))
      ? new ComputePool({ workers: config.engine.workers, workerHeapMb: config.engine.worker_heap_mb })
      : null;
  const done: DaySummary[] = [];
  const failed: DayFailure[] = [];
  // Backfills overlap days: once day k is read, day k+1 is read and parsed on the pool
  // while day k computes and publishes. Day k+1 writes nothing until its own turn, so a
  // failed day still stops the run with later days untouched; days commit in order.
  const reads = new Map<string, Promise<ReadDay>>();
  const stopReading = new AbortController(); // a failed day stops the read-ahead at its next block
  const readAhead = (day: string): Promise<ReadDay> => {
    let pending = reads.get(day);
    if (!pending) {
      pending = readDay(config, req.tenant, req.surface, day, parseDayFlag('--start', day), pool ?? undefined, stopReading.signal);
      pending.catch(() => undefined); // awaited by its own day; never an unhandled rejection
      reads.set(day, pending);
    }
    return pending;
  };
  const ingest = async (day: string): Promise<ReadDay> => {
    let read: ReadDay;
    try {
      read = await readAhead(day);
    } finally {
      reads.delete(day);
    }
    const next = days[days.indexOf(day) + 1];
    if (next !== undefined) void readAhead(next);
    return read;
  };
  reporter.plan(days.length);
  try {
    if (days.length === 0) reporter.notice('nothing to do: the checkpoint is already at or past --end');
    for (const day of days) {
      const d: DaySummary = {
        day,
        input: null,
        counts: null,
        window: null,
        ms: { ingest: 0, validate: 0, compute: 0, publish: 0 },
        staged: [],
        published: [],
      };
      let stage: Stage = stages[0];
      let stageStart = 0;
      const timed = async <T>(s: Stage, f: () => Promise<T> | T, counts: (r: T) => Counts): Promise<T> => {
        stage = s;
        reporter.begin(day, s);
        stageStart = performance.now();
        const result = await f();
        const ms = performance.now() - stageStart;
        d.ms[s] += ms;
        reporter.done(day, s, counts(result), ms);
        return result;
      };
      try {
        const plan: DayPlan = { stages, kinds, pool, catalog, builtAt, now, advanceCheckpoint: failed.length === 0, notice: (m) => reporter.notice(m), ingest };
        await runDay(req, plan, d, timed);
        done.push(d);
      } catch (err) {
        if (!isPipelineError(err)) throw err;
        reporter.dayFailed(day, stage, err, performance.now() - stageStart);
        failed.push({ day, stage, code: err.code, message: err.message });
        if (!req.continueOnError) {
          stopReading.abort();
          throw err;
        }
      }
      collectGarbage(); // the day's shared arrays are garbage now: free them (see collectGarbage)
    }
    if (failed.length > 0 && has('publish')) {
      reporter.notice(`the checkpoint stays before ${failed[0].day}, the first failed day, so that --incremental retries it`);
    }
  } finally {
    // A day read ahead must finish with the pool before the pool goes.
    await Promise.allSettled([...reads.values()]);
    await pool?.close();
    reporter.close();
  }
  return {
    command,
    stages,
    tenant: req.tenant,
    surface: req.surface,
    segment: req.segment,
    days: done,
    failed,
    manifest: openStorage(config).registry.manifestPath(req.tenant, req.surface),
  };
}

interface DayPlan {
  stages: readonly Stage[];
  kinds: readonly ArtifactType[];
  pool: ComputePool | null;
  catalog: ReturnType<typeof loadCatalog>;
  builtAt: string;
  now: () => Date;
  advanceCheckpoint: boolean;
  notice: (message: string) => void;
  /** Reads a day (possibly started ahead of time); runDay writes it. */
  ingest: (day: string) => Promise<ReadDay>;
}

type Timed = <T>(s: Stage, f: () => Promise<T> | T, counts: (r: T) => Counts) => Promise<T>;

/**
 * The stages of one day; fills `d`. The canonical partition is written in the background
 * (on the pool), queued once the validate stage has queued its index tasks; it is in place
 * before anything is staged or published, and before the day ends whatever happens.
 */
async function runDay(req: RunRequest, p: DayPlan, d: DaySummary, timed: Timed): Promise<void> {
  const { config, tenant, surface, segment } = req;
  const w = dayWindow(d.day, config.window_days);
  let canonical: CanonicalDay | null = null;
  let prepared: PreparedArtifact[] | null = null;
  // The canonical partition is written in the background (on the pool) while the day
  // indexes and computes: in place before anything is staged or published, and before the
  // day ends. A failed write fails the day at the first of those points.
  let written: Promise<void> = Promise.resolve();
  let unwritten: ReadDay | null = null;
  const startWrite = () => {
    if (unwritten) written = writeDay(config, unwritten, p.pool ?? undefined);
    unwritten = null;
  };
  try {
    if (p.stages.includes('ingest')) {
      const read = await timed(
        'ingest',
        () => p.ingest(d.day),
        (r) => ({
          events: r.counts.events,
          lines: r.counts.lines,
          skipped_other_tenant_surface: r.counts.skippedOtherTenantSurface,
          skipped_outside_day: r.counts.skippedOutsideDay,
          rejected: Object.values(r.counts.rejected).reduce((a, b) => a + b, 0),
        }),
      );
      d.input = read.input;
      d.counts = read.counts;
      canonical = read.canonical;
      unwritten = read;
    }

    if (p.stages.includes('validate')) {
      const validated = await timed(
        'validate',
        async () => {
          let today = canonical ?? (await readCanonicalDay(config, tenant, surface, d.day));
          if (today === null) {
            p.notice(`${d.day}: no canonical partition, validated as a day without events (run ingest first if it had some)`);
            today = new CanonicalDayBuilder().finish();
          }
          const events = w.days === 1 ? today : await windowEvents(config, tenant, surface, w, today, p.notice, p.pool);
          // The index tasks go to the pool first, the partition write behind them: the
          // write is needed only before staging, the index before anything computes.
          const index = validateWindow(config, events, w, p.pool);
          startWrite();
          return { events, index: await index };
        },
        (r) => ({ ...windowCounts(r.index) }),
      );
      d.window = windowCounts(validated.index);
      if (p.stages.includes('compute')) {
        const computed = await timed(
          'compute',
          () => computeStep(req, p, w, validated.events, validated.index, written),
          (r) => ({ artifacts: r.staged.length, bytes: r.staged.reduce((a, s) => a + s.bytes, 0) }),
        );
        prepared = computed.prepared;
        d.staged = computed.staged;
      }
    }
    startWrite(); // an ingest without validate

    if (p.stages.includes('publish')) {
      d.published = await timed(
        'publish',
        async () => {
          await written; // the canonical partition first: never an artifact without it
          const artifacts = prepared ?? (await readStagedDay(req, w, p.kinds));
          // After the manifest swap, under the publish lock: the Postgres signals (db.dsn), then
          // the checkpoint, so a signal failure leaves the checkpoint behind and a rerun retries them.
          const afterSwap = async () => {
            if (config.db) {
              const signals = await publishSignals(config.db, { tenant, surface, day: d.day, signalDay: w.startDay }, artifacts);
              if (signals) d.signals = signals;
            }
            if (p.advanceCheckpoint) await advanceCheckpoint(config.checkpoint_dir, tenant, surface, segment, d.day, p.now());
          };
          return publishDay(config, tenant, surface, artifacts, p.now, afterSwap);
        },
        (r) => ({ artifacts: r.length, bytes: r.reduce((a, x) => a + x.bytes, 0) }),
      );
    }
    await written;
  } finally {
    startWrite(); // a day that failed validation keeps its ingested partition, as a day that passed
    await written.catch(() => undefined); // settled before the day ends, whatever happened
  }
}

function windowCounts(index: DayIndex): WindowCounts {
  return {
    events: index.events,
    sessions: index.nSessions,
    items: index.nItems,
    users: index.nUsers,
    max_items_per_session: index.maxItemsPerSession,
  };
}

/**
 * The canonical partition of a day as ingest wrote it, or null when there is none (ingest
 * removes the partition of a day without events, so job mode treats null as such a day).
 */
export async function readCanonicalDay(config: Config, tenant: string, surface: string, day: string): Promise<CanonicalDay | null> {
  const file = partitionPath(config.canonical_dir, tenant, surface, day);
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw ioError('read canonical partition', file, err);
  }
  return decodeCanonical(bytes, file);
}

/**
 * The events of a rolling window: the canonical partitions of the earlier days of the
 * window (as ingested before; a missing one is a day without events), then `today`, in day
 * order and raw order within a day. Nothing is re-ingested.
 */
async function windowEvents(
  config: Config,
  tenant: string,
  surface: string,
  w: DayWindow,
  today: CanonicalDay,
  notice: (message: string) => void,
  pool: ComputePool | null,
): Promise<CanonicalDay> {
  const builder = new CanonicalDayBuilder();
  for (const day of daysBetween(w.startDay, addDays(w.day, -1))) {
    const earlier = await readCanonicalDay(config, tenant, surface, day);
    if (earlier) builder.addDay(earlier);
    else notice(`${w.day}: window day ${day} has no canonical partition, counted as a day without events (ingest it first if it had some)`);
  }
  builder.addDay(today);
  return finishDay(builder, 'validate', pool ?? undefined);
}

/** Canonical gates and hard limits over the window; returns the index compute reads (built on the pool when there is one). */
export async function validateWindow(config: Config, canonical: CanonicalDay, w: Pick<DayWindow, 'startMicros' | 'days'>, pool: ComputePool | null): Promise<DayIndex> {
  checkCanonical(canonical, w.startMicros, w.days);
  const index = pool ? await indexDayOn(pool, canonical) : indexDay(canonical);
  checkHardLimits(index, config.limits);
  return index;
}

/** Computes the day's artifacts of `p.kinds` and stages each one. */
async function computeStep(
  req: RunRequest,
  p: DayPlan,
  w: DayWindow,
  canonical: CanonicalDay,
  index: DayIndex,
  /** The day's canonical partition write (see writeDay). */
  partitionWritten: Promise<void>,
): Promise<{ prepared: PreparedArtifact[]; staged: StagedInfo[] }> {
  const { config, tenant, surface, segment } = req;
  const stageDirOf = (t: ArtifactType) => stageDir(config.artifacts_dir, tenant, surface, segment, t, w.startDay, w.endDay);
  const prepared = await computeArtifacts(config, p.kinds, p.pool, canonical, index, p.catalog, (t) => artifactHeader(req, w, t), p.builtAt, stageDirOf);
  // The partition first: nothing is staged (and so nothing can be published later by a
  // `publish` job) for a day whose canonical partition failed to be written.
  await partitionWritten;
  const staged: StagedInfo[] = [];
  for (const a of prepared) {
    const type = a.expect.artifactType;
    const inMemory = a.blob instanceof Uint8Array ? a.blob : null;
    const file = await stageArtifact(config.artifacts_dir, tenant, surface, segment, type, w.startDay, w.endDay, a.expect.version, inMemory);
    staged.push({ type, version: a.expect.version, bytes: inMemory ? inMemory.length : (a.blob as { size: number }).size, path: file });
  }
  return { prepared, staged };
}

export async function computeArtifacts(
  config: Config,
  kinds: readonly ArtifactType[],
  pool: ComputePool | null,
  canonical: CanonicalDay,
  index: DayIndex,
  catalog: ReturnType<typeof loadCatalog>,
  header: (t: ArtifactType) => ArtifactHeader,
  builtAt: string,
  /** Where big artifacts encoded on the pool are written (their staging folder). */
  stageDirOf: (t: ArtifactType) => string,
): Promise<PreparedArtifact[]> {
  const L = config.limits;
  const computeLimits = {
    minCoocSupport: L.min_cooc_support,
    maxNeighborsPerItem: L.max_neighbors_per_item,
    maxItemsPerUser: L.max_items_per_user,
    maxCoocRows: L.max_items_per_artifact,
  };
  // The quoted id tables and every event kind's shards go to the pool at once (no worker
  // idles while one kind finishes). This thread does no long work meanwhile: it must stay
  // free to hand the next task to whichever worker finishes.
  // Shard 0: the item ids; shard 1: the user ids.
  const quote = (shard: number, values: ByteDictionarySnapshot) =>
    pool ? pool.run('compute', { kind: 'quote', shard, values }) : Promise.resolve(quoteAll(values));
  const quoted = Promise.all([quote(0, canonical.item.utf8), kinds.some((k) => k === 'implicit' || k === 'session_seq') ? quote(1, canonical.user.utf8) : null]);
  quoted.catch(() => undefined); // awaited below, with the other kinds
  const rowsOf = new Map(
    kinds.filter(isEventKind).map((kind) => {
      const rows = computeRows(pool!, index, kind, computeLimits, config.engine.shard_rows);
      rows.catch(() => undefined); // awaited below, with the other kinds
      return [kind, rows] as const;
    }),
  );
  const payloadOf = async (kind: ArtifactType, maxItemsPerRow: number): Promise<TypedPayload> => {
    const [items, users] = await quoted;
    switch (kind) {
      case 'popularity':
        return popularityPayload(index.itemCounts, items, L.max_items_per_artifact);
      case 'content_sim':
        return contentSimPayload(catalog, L.max_items_per_artifact);
      case 'cooc':
      case 'implicit':
      case 'session_seq': {
        const rows = await rowsOf.get(kind)!;
        rowsOf.delete(kind); // held by its payload from now on, and dropped with it
        checkScoredRows(kind, rows, maxItemsPerRow);
        return kind === 'cooc' ? coocPayload(rows, index.itemCounts, items, L.max_items_per_artifact) : userPayload(rows, users!, items);
      }
    }
  };
  // Each kind's encode task goes to the pool as soon as its rows are in; results keep the
  // config's kind order. When one kind fails, the others are let finish first: an encode
  // task killed by the pool's shutdown would leave its staging temp file behind.
  const settled = await Promise.allSettled(
    kinds.map(async (kind): Promise<PreparedArtifact> => {
      const caps = artifactCaps(kind, L);
      const h = header(kind);
      const payload = await payloadOf(kind, caps.maxItemsPerRow);
      const encoded = pool ? await encodeOnPool(pool, h, payload, builtAt, stageDirOf(kind)) : encodeArtifact(h, payload, builtAt);
      const blob = 'blob' in encoded ? encoded.blob : { path: encoded.path, size: encoded.size };
      // The blob is validated by the publisher, after it is written and read back.
      return { expect: { ...h, version: encoded.version, ...caps, sha256: encoded.sha256 }, blob, builtAt, rows: 'skip' };
    }),
  );
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<PreparedArtifact>).value);
}

/**
 * What `compute` staged for the window, one artifact per type, ready for the publisher,
 * which validates every row of it ('inspect'). Nothing staged for a type is E_NOT_FOUND
 * naming the type, the window and the file expected.
 */
async function readStagedDay(req: RunRequest, w: DayWindow, kinds: readonly ArtifactType[]): Promise<PreparedArtifact[]> {
  const { config, tenant, surface, segment } = req;
  const out: PreparedArtifact[] = [];
  for (const kind of kinds) {
    const staged = await readStaged(config.artifacts_dir, tenant, surface, segment, kind, w.startDay, w.endDay);
    if (staged === null) {
      const expected = path.join(stageDir(config.artifacts_dir, tenant, surface, segment, kind, w.startDay, w.endDay), CURRENT_VERSION_FILE);
      throw notFound(
        `nothing staged for ${kind}, window ${w.startDay}_${w.endDay}: expected ${expected} (run "compute --type ${kind}" for ${w.day} first)`,
      );
    }
    // The record keeps the build time the blob carries; a blob without one fails the publisher's check.
    const builtAt = splitBlob(staged.bytes, ARTIFACT_PAYLOAD_FIELD[kind])?.build.built_at;
    out.push({
      expect: { ...artifactHeader(req, w, kind), version: staged.version, ...artifactCaps(kind, config.limits) },
      blob: staged.bytes,
      builtAt: typeof builtAt === 'string' ? builtAt : '',
      rows: 'inspect',
    });
  }
  return out;
}
