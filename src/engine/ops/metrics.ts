/**
 * The Prometheus metrics of a command (docs/observability.md): a prom-client Registry built
 * from what one run did (`runMetrics`) or what `status` found (`statusMetrics`). Main
 * thread only; nothing here runs in a worker.
 *
 * Batch-job conventions: every gauge describes the LAST run of a (command, tenant,
 * surface); nothing accumulates across runs, so there are no counters. Every label has a
 * bounded set of values: commands, stages, outcomes, error codes and artifact types are
 * closed lists, and tenants/surfaces are the ones an operator schedules. The label sets a
 * run emits do not depend on what happened (zeros, not missing series), so that a push
 * that replaces metric families by name (Pushgateway POST) replaces every series of the
 * previous run, and alert expressions never meet an absent series after a good run.
 */
import { Gauge, Registry } from 'prom-client';
import type { ErrorCode } from '../../errors';
import type { PipelineCommand, RunSummary, Stage } from '../pipeline/request';
import type { Status } from './status';

/** The commands that change state, and so report a run. */
export type MetricsCommand = PipelineCommand | 'rollback';

/** What happened to the valid and invalid lines ingest read (lines = the sum). */
export const EVENT_OUTCOMES = ['used', 'skipped_other_tenant_surface', 'skipped_outside_day', 'rejected'] as const;
export type EventOutcome = (typeof EVENT_OUTCOMES)[number];

/**
 * Why a day was not published although it ran: a validation gate (E_GATE), a hard limit
 * (E_LIMIT), or the drift gate (E_GATE too, told apart by the figures its failure carries:
 * thresholds, an empty artifact over a non-empty one, a missing raw input).
 */
export const BLOCK_REASONS = ['gate', 'limit', 'drift'] as const;
export type BlockReason = (typeof BLOCK_REASONS)[number];

/**
 * The codes of runtime failures (exit 1), plus E_INTERNAL for a bug. Usage and config errors
 * (exit 2) emit no metrics: nothing was read or written, and the metrics targets may be
 * exactly what is misconfigured.
 */
export const FAILURE_CODES = ['E_BAD_INPUT', 'E_LIMIT', 'E_GATE', 'E_IO', 'E_LOCKED', 'E_WORKER', 'E_NOT_FOUND', 'E_INTERNAL'] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

const BLOCK_REASON_OF: Partial<Record<FailureCode, BlockReason>> = { E_GATE: 'gate', E_LIMIT: 'limit' };

const STAGES: readonly Stage[] = ['ingest', 'validate', 'compute', 'publish'];

/** Metric names, for the docs, the rules and the tests. */
export const METRIC = {
  buildInfo: 'recsys_pipelines_build_info',
  lastRunTimestamp: 'recsys_pipelines_last_run_timestamp_seconds',
  lastSuccessTimestamp: 'recsys_pipelines_last_success_timestamp_seconds',
  lastFailureTimestamp: 'recsys_pipelines_last_failure_timestamp_seconds',
  lastRunSuccess: 'recsys_pipelines_last_run_success',
  runDuration: 'recsys_pipelines_run_duration_seconds',
  stageDuration: 'recsys_pipelines_stage_duration_seconds',
  days: 'recsys_pipelines_days',
  events: 'recsys_pipelines_events',
  artifactsPublished: 'recsys_pipelines_artifacts_published',
  artifactSize: 'recsys_pipelines_artifact_size_bytes',
  artifactRows: 'recsys_pipelines_artifact_rows',
  blockedPublishes: 'recsys_pipelines_blocked_publishes',
  failures: 'recsys_pipelines_failures',
  workers: 'recsys_pipelines_workers',
  peakRss: 'recsys_pipelines_peak_rss_bytes',
  status: 'recsys_pipelines_status',
  manifestUpdated: 'recsys_pipelines_manifest_updated_timestamp_seconds',
  manifestAge: 'recsys_pipelines_manifest_age_seconds',
  manifestMaxAge: 'recsys_pipelines_manifest_max_age_seconds',
  currentArtifactOk: 'recsys_pipelines_current_artifact_ok',
  currentArtifactWindowEnd: 'recsys_pipelines_current_artifact_window_end_timestamp_seconds',
  currentArtifactDataAge: 'recsys_pipelines_current_artifact_data_age_seconds',
  currentArtifactSize: 'recsys_pipelines_current_artifact_size_bytes',
} as const;

/** What a state-changing command did, as the CLI saw it. */
export interface RunOutcome {
  command: MetricsCommand;
  tenant: string;
  surface: string;
  /** Epoch milliseconds at the end of the command. */
  finishedAtMs: number;
  /** Wall time of the command (config loaded → summary ready). */
  durationSeconds: number;
  /**
   * The day loop's summary, also for a failed command (the days done and the failed one);
   * null for `rollback` and for a command that failed before its first day (e.g. the
   * `max_days_backfill` limit).
   */
  summary: RunSummary | null;
  /** Null on success; else the code of the error that ended the command. */
  errorCode: ErrorCode | 'E_INTERNAL' | null;
  /** The artifact types the command handles (zeros for those it did not write). */
  types: readonly string[];
  /** Worker threads of the pool; null for commands without one (publish, rollback). */
  workers: number | null;
  /** Peak resident set of the process, worker threads included. */
  peakRssBytes: number;
  version: string;
}

/**
 * Values carried over from the previous file of a textfile target, which is replaced as a
 * whole: a failed run keeps the last success, a good run the last failure. (A Pushgateway
 * push replaces only the metric families sent, so it needs no carrying: the family is left
 * out instead.)
 */
export interface Carried {
  lastSuccessMs?: number;
  lastFailureMs?: number;
}

export interface RunMetricsOptions {
  /** Leave out the timestamp this run does not set instead of carrying it (push). */
  carried: Carried | 'omit';
}

/** The registry of one run of a state-changing command. */
export function runMetrics(o: RunOutcome, opts: RunMetricsOptions): Registry {
  const registry = new Registry();
  const scope = { command: o.command, tenant: o.tenant, surface: o.surface };
  const labelNames = ['command', 'tenant', 'surface'] as const;
  const gauge = <L extends string>(name: string, help: string, extra: readonly L[] = []) =>
    new Gauge<(typeof labelNames)[number] | L>({ name, help, labelNames: [...labelNames, ...extra], registers: [registry] });
  const ok = o.errorCode === null;
  const finished = o.finishedAtMs / 1000;

  // Scoped like the rest: two textfiles in one collector folder must not hold the same series.
  gauge(METRIC.buildInfo, 'Always 1; the version of recsys-pipelines that ran last.', ['version']).set({ ...scope, version: o.version }, 1);
  gauge(METRIC.lastRunTimestamp, 'End of the last run, success or failure (Unix seconds).').set(scope, finished);
  const lastSuccess = ok ? finished : carriedSeconds(opts.carried, 'lastSuccessMs');
  const lastFailure = ok ? carriedSeconds(opts.carried, 'lastFailureMs') : finished;
  // A failed run never resets the last success: the family is left out (push) or carried (textfile).
  if (lastSuccess !== undefined)
    gauge(METRIC.lastSuccessTimestamp, 'End of the last run that succeeded, every day done (Unix seconds).').set(scope, lastSuccess);
  if (lastFailure !== undefined) gauge(METRIC.lastFailureTimestamp, 'End of the last run that failed (Unix seconds).').set(scope, lastFailure);
  gauge(METRIC.lastRunSuccess, '1 when the last run succeeded (exit 0), 0 when it failed (exit 1).').set(scope, ok ? 1 : 0);
  gauge(METRIC.runDuration, 'Wall time of the last run.').set(scope, o.durationSeconds);
  gauge(METRIC.peakRss, 'Peak resident set size of the last run (main and worker threads).').set(scope, o.peakRssBytes);
  if (o.workers !== null) gauge(METRIC.workers, 'Worker threads of the last run.').set(scope, o.workers);

  const failures = failureCounts(o);
  const failed = gauge(METRIC.failures, 'Failures of the last run by error code: failed days, or 1 for a run that failed before or outside its days.', [
    'code',
  ]);
  for (const code of FAILURE_CODES) failed.set({ ...scope, code }, failures.get(code) ?? 0);
  const blocked = gauge(METRIC.blockedPublishes, 'Days of the last run stopped before publishing by a validation gate, a hard limit or the drift gate.', [
    'reason',
  ]);
  const drifted = (o.summary?.failed ?? []).filter((f) => f.drift !== undefined).length;
  for (const reason of BLOCK_REASONS) {
    let n = reason === 'drift' ? drifted : 0;
    for (const [code, count] of failures) if (BLOCK_REASON_OF[code] === reason) n += count;
    // Drift blocks are E_GATE failures too: counted once, as drift.
    if (reason === 'gate') n -= drifted;
    blocked.set({ ...scope, reason }, n);
  }

  const s = o.summary;
  if (o.command === 'rollback') return registry;
  const stagesRun = s?.stages ?? STAGES;
  const days = s?.days ?? [];
  const dayGauge = gauge(METRIC.days, 'Days of the last run by outcome.', ['outcome']);
  dayGauge.set({ ...scope, outcome: 'completed' }, days.length);
  dayGauge.set({ ...scope, outcome: 'failed' }, s?.failed.length ?? 0);

  const stageGauge = gauge(METRIC.stageDuration, 'Time of each stage in the last run, summed over its completed days.', ['stage']);
  for (const stage of STAGES) {
    if (!stagesRun.includes(stage)) continue;
    stageGauge.set({ ...scope, stage }, days.reduce((sum, d) => sum + d.ms[stage], 0) / 1000);
  }

  if (stagesRun.includes('ingest')) {
    const totals: Record<EventOutcome, number> = { used: 0, skipped_other_tenant_surface: 0, skipped_outside_day: 0, rejected: 0 };
    for (const d of days) {
      if (!d.counts) continue;
      totals.used += d.counts.events;
      totals.skipped_other_tenant_surface += d.counts.skippedOtherTenantSurface;
      totals.skipped_outside_day += d.counts.skippedOutsideDay;
      totals.rejected += Object.values(d.counts.rejected).reduce((a, b) => a + b, 0);
    }
    const events = gauge(METRIC.events, 'Lines ingest read in the last run, by outcome (completed days).', ['outcome']);
    for (const outcome of EVENT_OUTCOMES) events.set({ ...scope, outcome }, totals[outcome]);
  }

  const publishes = stagesRun.includes('publish');
  if (publishes || stagesRun.includes('compute')) {
    // Newest first wins: the size is the one of the last day that wrote the type.
    const size = new Map<string, number>();
    const rows = new Map<string, number>();
    const count = new Map<string, number>();
    for (const d of days) {
      for (const a of publishes ? d.published : d.staged) {
        size.set(a.type, a.bytes);
        rows.set(a.type, a.rows);
        count.set(a.type, (count.get(a.type) ?? 0) + 1);
      }
    }
    const sizeGauge = gauge(
      METRIC.artifactSize,
      'Bytes of the newest artifact of each type the last run wrote (published by run and publish, staged by compute); 0 when it wrote none.',
      ['type'],
    );
    for (const type of o.types) sizeGauge.set({ ...scope, type }, size.get(type) ?? 0);
    const rowsGauge = gauge(
      METRIC.artifactRows,
      'Payload rows (items, neighbour rows or users) of the newest artifact of each type the last run wrote; 0 when it wrote none.',
      ['type'],
    );
    for (const type of o.types) rowsGauge.set({ ...scope, type }, rows.get(type) ?? 0);
    if (publishes) {
      const published = gauge(METRIC.artifactsPublished, 'Artifacts of each type the last run published (one per completed day).', ['type']);
      for (const type of o.types) published.set({ ...scope, type }, count.get(type) ?? 0);
    }
  }
  return registry;
}

function carriedSeconds(carried: Carried | 'omit', key: keyof Carried): number | undefined {
  const ms = carried === 'omit' ? undefined : carried[key];
  return ms === undefined ? undefined : ms / 1000;
}

/** Failed days by code; the error that ended the command counts once when no day carries it. */
function failureCounts(o: RunOutcome): Map<FailureCode, number> {
  const counts = new Map<FailureCode, number>();
  const add = (code: string) => {
    const c = (FAILURE_CODES as readonly string[]).includes(code) ? (code as FailureCode) : 'E_INTERNAL';
    counts.set(c, (counts.get(c) ?? 0) + 1);
  };
  for (const f of o.summary?.failed ?? []) add(f.code);
  if (o.errorCode !== null && (o.summary?.failed.length ?? 0) === 0) add(o.errorCode);
  return counts;
}

/**
 * `status --metrics`: the freshness `status` computed, as gauges. Timestamps are what
 * alert rules should use (`time() - …`, right whenever the file is scraped); the ages
 * are what this `status` saw at `now`.
 */
export function statusMetrics(status: Status, now: Date = new Date()): Registry {
  const registry = new Registry();
  const scope = { tenant: status.tenant, surface: status.surface };
  const gauge = (name: string, help: string, extra: string[] = []) =>
    new Gauge({ name, help, labelNames: ['tenant', 'surface', ...extra], registers: [registry] });

  const state = gauge(METRIC.status, '1 for the state status reports (fresh, stale, missing), 0 for the others.', ['state']);
  for (const s of ['fresh', 'stale', 'missing'] as const) state.set({ ...scope, state: s }, status.state === s ? 1 : 0);
  gauge(METRIC.manifestMaxAge, 'The --max-age status compared the manifest age with.').set(scope, status.max_age_seconds);
  const updatedMs = status.updated_at === null ? NaN : Date.parse(status.updated_at);
  if (!Number.isNaN(updatedMs)) {
    gauge(METRIC.manifestUpdated, 'updated_at of the current manifest: the last publish or rollback (Unix seconds).').set(scope, updatedMs / 1000);
  }
  if (status.age_seconds !== null) gauge(METRIC.manifestAge, 'Age of the current manifest when status ran.').set(scope, status.age_seconds);

  if (status.artifacts.length === 0) return registry;
  const okGauge = gauge(METRIC.currentArtifactOk, '1 when the current artifact of the type has its registry record and an intact blob.', ['type']);
  const endGauge = gauge(
    METRIC.currentArtifactWindowEnd,
    'End of the window of the current artifact of the type: the newest events it reflects (Unix seconds).',
    ['type'],
  );
  const ageGauge = gauge(METRIC.currentArtifactDataAge, 'Time from the window end of the current artifact of the type to when status ran.', ['type']);
  const sizeGauge = gauge(METRIC.currentArtifactSize, 'Bytes of the blob of the current artifact of the type.', ['type']);
  for (const a of status.artifacts) {
    const labels = { ...scope, type: a.type };
    okGauge.set(labels, a.problem === null ? 1 : 0);
    const endMs = a.window === null ? NaN : Date.parse(a.window.end);
    if (!Number.isNaN(endMs)) {
      endGauge.set(labels, endMs / 1000);
      ageGauge.set(labels, Math.max(0, Math.floor((now.getTime() - endMs) / 1000)));
    }
    if (a.size_bytes !== null) sizeGauge.set(labels, a.size_bytes);
  }
  return registry;
}
