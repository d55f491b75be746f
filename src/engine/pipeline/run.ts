/**
 * The one day loop behind `run` and job mode (docs/contract.md §2, §8).
 *
 * Every command walks the days of [start, end] in order, each day its own window, and runs
 * its stages for that day (one file each beside this one):
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
import { artifactType } from '../artifact-types';
import { parseDayFlag, rfc3339Seconds } from '../../days';
import { interrupted, isPipelineError, type StopSignal } from '../../errors';
import { isDriftBlocked } from '../drift';
import { loadCatalog } from '../../io/sources/catalog';
import { openStorage } from '../../io/store/open';
import type { PreparedArtifact } from '../publisher';
import { WorkerPool } from '../threads/pool';
import { collectGarbage } from '../threads/shared-memory';
import { computeStep } from './compute';
import type { DayContext, RunContext } from './context';
import { readDay, type ReadDay, writeDay } from './ingest';
import { type Counts, createReporter, type Stage } from './progress';
import { partDays, unitCount } from './part';
import { publishStep, PublishedNotCheckpointedError, rawInputGate } from './publish';
import { COMMAND_STAGES, type DayFailure, type DaySummary, type RunRequest, type RunSummary } from './request';
import { validateStep, windowCounts } from './validate';
import { dayWindow, resolveDays } from './window';

export async function runPipeline(req: RunRequest): Promise<RunSummary> {
  const command = req.command ?? 'run';
  const stages = COMMAND_STAGES[command];
  const has = (s: Stage) => stages.includes(s);
  const { config } = req;
  const now = req.now ?? (() => new Date());
  const reporter = req.reporter ?? createReporter({ format: 'text', write: (text) => req.log?.(text.replace(/\n$/, '')) });
  const types = req.types ?? config.artifact_kinds;
  const allDays = await resolveDays(req);
  // An Indexed Job's pod does its part of the units only (part.ts); the days keep their order.
  const perType = has('compute');
  const partOfDays = req.part ? partDays(allDays, types, req.part, perType) : allDays.map((day) => ({ day, types: [...types] }));
  const days = partOfDays.map((p) => p.day);
  const typesOfDay = new Map(partOfDays.map((p) => [p.day, p.types]));
  const needsCatalog = has('compute') && partOfDays.some((p) => p.types.some((t) => artifactType(t).needs.catalog));
  const run: RunContext = {
    config,
    scope: { tenant: req.tenant, surface: req.surface, segment: req.segment },
    stages,
    types,
    // Ingest parses raw blocks on the pool; validate builds the index there; compute runs the kernels there.
    pool: has('ingest') || has('compute') ? new WorkerPool({ workers: config.engine.workers, workerHeapMb: config.engine.worker_heap_mb }) : null,
    catalog: needsCatalog ? loadCatalog(config.catalog!.path, config.catalog!.format, req.surface) : [],
    builtAt: rfc3339Seconds(now().getTime()),
    now,
    allow: { drift: Boolean(req.allowDrift), empty: Boolean(req.allowEmpty) || config.gates.allow_empty },
    notice: (m) => reporter.notice(m),
  };
  const done: DaySummary[] = [];
  const failed: DayFailure[] = [];
  const clock = req.clock ?? (() => performance.now());
  const reads = new ReadAhead(days, (day, signal) => readRaw(run, day, signal), clock);
  reporter.plan(days.length);
  try {
    if (req.part && allDays.length > 0 && days.length === 0) {
      const units = unitCount(allDays, types, perType);
      reporter.notice(`nothing to do: part ${req.part.index} of ${req.part.count} is empty (${units} unit(s) for ${req.part.count} parts)`);
    } else if (days.length === 0) reporter.notice('nothing to do: the checkpoint is already at or past --end');
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
      // Ingest's time is the wall time of the day's own read, wherever it ran (a day read
      // ahead while the previous one computed waits ~0 ms for it), plus the time from the read's
      // end (or the stage's start, when it was read ahead) to the partition being durable: the
      // same meaning every day.
      const sinceRead = () => clock() - Math.max(stageStart, reads.endedAt(day) ?? clock());
      const elapsed = (s: Stage) => (s === 'ingest' ? reads.ms(day) + sinceRead() : clock() - stageStart);
      const timed: Timed = async (s, f, counts) => {
        stage = s;
        stopIfAsked(`before ${day} ${s}`);
        reporter.begin(day, s);
        stageStart = clock();
        const result = await f();
        const ms = elapsed(s);
        d.ms[s] += ms;
        reporter.done(day, s, counts(result), ms);
        return result;
      };
      try {
        const ctx: DayContext = { ...run, day, types: typesOfDay.get(day) ?? types, window: dayWindow(day, config.window_days) };
        await runDay(ctx, d, timed, { ingest: () => reads.take(day), readNext: () => reads.readNext(day), advanceCheckpoint: failed.length === 0 });
        if (d.published.length > 0)
          reporter.drift(
            day,
            d.published.map((p) => p.drift),
            false,
          );
        done.push(d);
      } catch (err) {
        if (!isPipelineError(err)) throw err;
        if (err.code === 'E_INTERRUPTED') {
          reads.stop();
          throw err; // not a failed day: the summary lists what was done, the error says where it stopped
        }
        if (isDriftBlocked(err)) reporter.drift(day, err.figures, true);
        reporter.dayFailed(day, stage, err, elapsed(stage));
        failed.push({
          day,
          stage,
          code: err.code,
          exitCode: err.exitCode,
          message: err.message,
          ...(isDriftBlocked(err) && { drift: err.figures }),
          ...(err instanceof PublishedNotCheckpointedError && { live: true as const }),
        });
        if (!req.continueOnError) {
          reads.stop();
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
    await reads.settle();
    await run.pool?.close();
    reporter.close();
    req.onFinish?.(summary());
  }
  return summary();

  function summary(): RunSummary {
    // Only a manifest this command wrote is named: with every day failed there may be none.
    const published = done.some((d) => d.published.length > 0) || failed.some((f) => f.live);
    const manifest = published ? openStorage(config).registry.manifestPath(req.tenant, req.surface) : null;
    const part = req.part && {
      ...req.part,
      units: unitCount(allDays, types, perType),
      partUnits: partOfDays.reduce((n, p) => n + (perType ? p.types.length : 1), 0),
    };
    return { command, stages, ...run.scope, days: done, failed, manifest, ...(part && { part }) };
  }

  function stopIfAsked(where: string): void {
    if (req.stop?.aborted) throw interrupted(req.stop.reason as StopSignal, where);
  }
}

/** Reads a day's raw input on the run's pool (nothing is written). */
function readRaw(run: RunContext, day: string, signal: AbortSignal): Promise<ReadDay> {
  const { config, scope, pool } = run;
  return readDay(config, scope.tenant, scope.surface, day, parseDayFlag('--start', day), pool ?? undefined, signal);
}

/**
 * Backfills overlap days: once day k's partition is written, day k+1 is read and parsed on
 * the pool while day k validates, computes and publishes. Day k+1 writes nothing until its
 * own turn, so a failed day still stops the run with later days untouched; days commit in
 * order. Each read's own wall time (its start to its end, `ms`) counts in the day's ingest
 * time, not the time its day waited for it.
 */
export class ReadAhead {
  private readonly reads = new Map<string, Promise<ReadDay>>();
  /** When each day's read started and (once settled) ended, by `clock`. */
  private readonly spans = new Map<string, { start: number; end?: number }>();
  /** A failed day stops the read-ahead at its next block. */
  private readonly stopped = new AbortController();

  constructor(
    private readonly days: readonly string[],
    private readonly read: (day: string, signal: AbortSignal) => Promise<ReadDay>,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Wall time of the day's read: start to end, or to now while it runs (0 if never started). */
  ms(day: string): number {
    const span = this.spans.get(day);
    return span ? (span.end ?? this.clock()) - span.start : 0;
  }

  /** When the day's read ended (by `clock`), or undefined while it runs or was never started. */
  endedAt(day: string): number | undefined {
    return this.spans.get(day)?.end;
  }

  /** The day's read (started now, or ahead of time). */
  async take(day: string): Promise<ReadDay> {
    try {
      return await this.start(day);
    } finally {
      this.reads.delete(day);
    }
  }

  /** Starts reading the day after `day`, ahead of its turn. */
  readNext(day: string): void {
    const next = this.days[this.days.indexOf(day) + 1];
    if (next !== undefined) void this.start(next);
  }

  stop(): void {
    this.stopped.abort();
  }

  async settle(): Promise<void> {
    await Promise.allSettled([...this.reads.values()]);
  }

  private start(day: string): Promise<ReadDay> {
    let pending = this.reads.get(day);
    if (!pending) {
      const span: { start: number; end?: number } = { start: this.clock() };
      this.spans.set(day, span);
      pending = this.read(day, this.stopped.signal);
      const ended = () => (span.end = this.clock());
      // Registered first, so the end is taken before the day's own await resumes; it also handles
      // a rejection (awaited by its own day): never an unhandled one.
      pending.then(ended, ended);
      this.reads.set(day, pending);
    }
    return pending;
  }
}

type Timed = <T>(s: Stage, f: () => Promise<T> | T, counts: (r: T) => Counts) => Promise<T>;

interface DayInputs {
  /** Reads the day (possibly started ahead of time); runDay writes it. */
  ingest: () => Promise<ReadDay>;
  /** Starts reading the next day ahead, once this day's partition is written. */
  readNext: () => void;
  advanceCheckpoint: boolean;
}

/**
 * The stages of one day; fills `d`. A stage is reported done only once what it writes is
 * durable (fsynced and renamed into place, src/io/atomic.ts): ingest once the partition,
 * rejects file and ingest record are, so a folder that cannot be written fails ingest itself,
 * naming the folder and the system error, and no later stage runs on a partition that is
 * not there.
 */
async function runDay(ctx: DayContext, d: DaySummary, timed: Timed, inputs: DayInputs): Promise<void> {
  const has = (s: Stage) => ctx.stages.includes(s);
  let ingested: ReadDay | null = null;
  let prepared: PreparedArtifact[] | null = null;
  if (has('ingest')) {
    ingested = await timed(
      'ingest',
      async () => {
        const read = await inputs.ingest();
        // A day that will not be published leaves its partition as it was (not removed for a missing file).
        if (has('publish')) await rawInputGate(ctx, read.input);
        await writeDay(ctx.config, read, ctx.pool ?? undefined);
        inputs.readNext(); // the next day is read while this one validates, computes and publishes
        return read;
      },
      (r) => ({
        events: r.counts.events,
        lines: r.counts.lines,
        skipped_other_tenant_surface: r.counts.skippedOtherTenantSurface,
        skipped_outside_day: r.counts.skippedOutsideDay,
        rejected: Object.values(r.counts.rejected).reduce((a, b) => a + b, 0),
      }),
    );
    d.input = ingested.input;
    d.counts = ingested.counts;
  }
  if (has('validate')) {
    const validated = await timed(
      'validate',
      () => validateStep(ctx, ingested?.canonical ?? null),
      (r) => ({ ...windowCounts(r.index) }),
    );
    d.window = windowCounts(validated.index);
    if (has('compute')) {
      const computed = await timed(
        'compute',
        () => computeStep(ctx, validated.events, validated.index),
        (r) => ({ artifacts: r.staged.length, bytes: r.staged.reduce((a, s) => a + s.bytes, 0) }),
      );
      prepared = computed.prepared;
      d.staged = computed.staged;
    }
  }
  if (has('publish')) {
    const result = await timed(
      'publish',
      () => publishStep(ctx, { prepared, advanceCheckpoint: inputs.advanceCheckpoint, rawInput: ingested ? ingested.input : undefined }),
      (r) => ({ artifacts: r.published.length, bytes: r.published.reduce((a, x) => a + x.bytes, 0) }),
    );
    d.published = result.published;
    if (result.signals) d.signals = result.signals;
  }
}
