/**
 * The metrics of a run and of status: values from the run summary, stable label sets
 * (zeros, not missing series), and a failed run that never resets the last success.
 */
import type { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BLOCK_REASONS, FAILURE_CODES, METRIC, runMetrics, statusMetrics, type RunOutcome } from '../../../src/engine/ops/metrics';
import type { Status } from '../../../src/engine/ops/status';
import type { DaySummary, RunSummary } from '../../../src/engine/pipeline/request';

/** name → [{labels, value}] */
async function samples(registry: Registry): Promise<Map<string, { labels: Record<string, string | number>; value: number }[]>> {
  const out = new Map<string, { labels: Record<string, string | number>; value: number }[]>();
  for (const m of await registry.getMetricsAsJSON())
    out.set(
      m.name,
      m.values.map((v) => ({ labels: v.labels as Record<string, string>, value: v.value })),
    );
  return out;
}

function value(all: Awaited<ReturnType<typeof samples>>, name: string, labels: Record<string, string> = {}): number | undefined {
  return all.get(name)?.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

function day(d: string, events: number, published: { type: string; bytes: number; rows?: number }[]): DaySummary {
  return {
    day: d,
    input: null,
    counts: { lines: events + 3, events, skippedOtherTenantSurface: 1, skippedOutsideDay: 2, rejected: { empty_item: 0 } },
    window: null,
    ms: { ingest: 100, validate: 10, compute: 200, publish: 50 },
    staged: [],
    published: published.map((p) => ({
      rows: 0,
      ...p,
      version: 'v',
      uri: 'file:///x',
      drift: {
        type: 'popularity',
        rows_of: 'items',
        from: null,
        to: { version: 'v', rows: 0, pairs: null },
        row_shrink: null,
        key_overlap: null,
        top_n: 100,
        top_n_overlap: null,
      },
    })),
  };
}

const summary = (days: DaySummary[], failed: RunSummary['failed'] = []): RunSummary => ({
  command: 'run',
  stages: ['ingest', 'validate', 'compute', 'publish'],
  tenant: 'demo',
  surface: 'home',
  segment: '',
  days,
  failed,
  manifest: '/m.json',
});

const outcome = (o: Partial<RunOutcome>): RunOutcome => ({
  command: 'run',
  tenant: 'demo',
  surface: 'home',
  finishedAtMs: 1_800_000_000_000,
  durationSeconds: 12.5,
  summary: null,
  errorCode: null,
  types: ['popularity', 'cooc'],
  workers: 2,
  peakRssBytes: 123_456_789,
  version: '0.1.0',
  ...o,
});

const scope = { command: 'run', tenant: 'demo', surface: 'home' };

describe('runMetrics', () => {
  it('a good run: counts, sizes and stage times from the summary, every label set present', async () => {
    const s = summary([
      day('2026-01-01', 1000, [
        { type: 'popularity', bytes: 10 },
        { type: 'cooc', bytes: 20 },
      ]),
      day('2026-01-02', 2000, [
        { type: 'popularity', bytes: 11, rows: 3 },
        { type: 'cooc', bytes: 21, rows: 7 },
      ]),
    ]);
    const m = await samples(runMetrics(outcome({ summary: s }), { carried: 'omit' }));
    expect(value(m, METRIC.lastSuccessTimestamp, scope)).toBe(1_800_000_000);
    expect(value(m, METRIC.lastRunTimestamp, scope)).toBe(1_800_000_000);
    expect(m.has(METRIC.lastFailureTimestamp)).toBe(false); // left as the Pushgateway has it
    expect(value(m, METRIC.lastRunSuccess, scope)).toBe(1);
    expect(value(m, METRIC.runDuration, scope)).toBe(12.5);
    expect(value(m, METRIC.events, { ...scope, outcome: 'used' })).toBe(3000);
    expect(value(m, METRIC.events, { outcome: 'skipped_other_tenant_surface' })).toBe(2);
    expect(value(m, METRIC.events, { outcome: 'skipped_outside_day' })).toBe(4);
    expect(value(m, METRIC.events, { outcome: 'rejected' })).toBe(0);
    expect(value(m, METRIC.stageDuration, { stage: 'compute' })).toBe(0.4);
    expect(value(m, METRIC.days, { outcome: 'completed' })).toBe(2);
    expect(value(m, METRIC.days, { outcome: 'failed' })).toBe(0);
    // The newest day's size; one artifact per day.
    expect(value(m, METRIC.artifactSize, { type: 'cooc' })).toBe(21);
    expect(value(m, METRIC.artifactRows, { type: 'cooc' })).toBe(7);
    expect(value(m, METRIC.artifactRows, { type: 'popularity' })).toBe(3);
    expect(value(m, METRIC.artifactsPublished, { type: 'popularity' })).toBe(2);
    expect(value(m, METRIC.workers, scope)).toBe(2);
    expect(value(m, METRIC.peakRss, scope)).toBe(123_456_789);
    expect(m.get(METRIC.failures)?.map((x) => [x.labels.code, x.value])).toEqual(FAILURE_CODES.map((c) => [c, 0]));
    expect(m.get(METRIC.blockedPublishes)?.map((x) => [x.labels.reason, x.value])).toEqual(BLOCK_REASONS.map((r) => [r, 0]));
  });

  it('a failed run keeps the last success: left out for a push, carried for a textfile', async () => {
    const s = summary(
      [day('2026-01-01', 5, [{ type: 'popularity', bytes: 10 }])],
      [{ day: '2026-01-02', stage: 'validate', code: 'E_LIMIT', exitCode: 3, message: 'limit exceeded' }],
    );
    const failed = outcome({ summary: s, errorCode: 'E_LIMIT' });
    const pushed = await samples(runMetrics(failed, { carried: 'omit' }));
    expect(pushed.has(METRIC.lastSuccessTimestamp)).toBe(false);
    expect(value(pushed, METRIC.lastFailureTimestamp, scope)).toBe(1_800_000_000);
    expect(value(pushed, METRIC.lastRunSuccess, scope)).toBe(0);
    expect(value(pushed, METRIC.failures, { code: 'E_LIMIT' })).toBe(1);
    expect(value(pushed, METRIC.blockedPublishes, { reason: 'limit' })).toBe(1);
    expect(value(pushed, METRIC.blockedPublishes, { reason: 'gate' })).toBe(0);
    expect(value(pushed, METRIC.blockedPublishes, { reason: 'drift' })).toBe(0);
    expect(value(pushed, METRIC.days, { outcome: 'failed' })).toBe(1);
    expect(value(pushed, METRIC.artifactSize, { type: 'cooc' })).toBe(0);

    const written = await samples(runMetrics(failed, { carried: { lastSuccessMs: 1_700_000_000_000, lastFailureMs: 1_600_000_000_000 } }));
    expect(value(written, METRIC.lastSuccessTimestamp, scope)).toBe(1_700_000_000);
    expect(value(written, METRIC.lastFailureTimestamp, scope)).toBe(1_800_000_000);
    // A good run carries the last failure.
    const good = await samples(runMetrics(outcome({ summary: summary([]) }), { carried: { lastFailureMs: 1_600_000_000_000 } }));
    expect(value(good, METRIC.lastFailureTimestamp, scope)).toBe(1_600_000_000);
    expect(value(good, METRIC.lastSuccessTimestamp, scope)).toBe(1_800_000_000);
  });

  it('a day the drift gate blocked counts as reason="drift", not "gate" (both are E_GATE)', async () => {
    const s = summary(
      [],
      [
        { day: '2026-01-01', stage: 'publish', code: 'E_GATE', exitCode: 3, message: 'validation failed: drift: …', drift: [] },
        { day: '2026-01-02', stage: 'validate', code: 'E_GATE', exitCode: 3, message: 'validation failed: canonical: …' },
        { day: '2026-01-03', stage: 'publish', code: 'E_GATE', exitCode: 3, message: 'validation failed: raw input missing: …', drift: [] },
      ],
    );
    const m = await samples(runMetrics(outcome({ summary: s, errorCode: 'E_GATE' }), { carried: 'omit' }));
    expect(value(m, METRIC.failures, { code: 'E_GATE' })).toBe(3);
    expect(value(m, METRIC.blockedPublishes, { reason: 'drift' })).toBe(2);
    expect(value(m, METRIC.blockedPublishes, { reason: 'gate' })).toBe(1);
    expect(value(m, METRIC.blockedPublishes, { reason: 'limit' })).toBe(0);
  });

  it('a run that failed before its days counts its error once; an unknown error is E_INTERNAL', async () => {
    const m = await samples(runMetrics(outcome({ errorCode: 'E_LIMIT' }), { carried: 'omit' }));
    expect(value(m, METRIC.failures, { code: 'E_LIMIT' })).toBe(1);
    expect(value(m, METRIC.blockedPublishes, { reason: 'limit' })).toBe(1);
    expect(value(m, METRIC.days, { outcome: 'failed' })).toBe(0);
    const internal = await samples(runMetrics(outcome({ errorCode: 'E_INTERNAL' }), { carried: 'omit' }));
    expect(value(internal, METRIC.failures, { code: 'E_INTERNAL' })).toBe(1);
  });

  it('each command emits the families of the stages it runs', async () => {
    const validate = await samples(
      runMetrics(outcome({ command: 'validate', summary: { ...summary([]), command: 'validate', stages: ['validate'] } }), { carried: 'omit' }),
    );
    expect(validate.get(METRIC.stageDuration)?.map((x) => x.labels.stage)).toEqual(['validate']);
    expect(validate.has(METRIC.events)).toBe(false);
    expect(validate.has(METRIC.artifactSize)).toBe(false);
    const compute = await samples(
      runMetrics(outcome({ command: 'compute', summary: { ...summary([]), command: 'compute', stages: ['validate', 'compute'] } }), { carried: 'omit' }),
    );
    expect(compute.has(METRIC.artifactSize)).toBe(true);
    expect(compute.has(METRIC.artifactsPublished)).toBe(false);
    const rollback = await samples(runMetrics(outcome({ command: 'rollback', workers: null, types: ['cooc'] }), { carried: 'omit' }));
    expect([...rollback.keys()].sort()).toEqual(
      [
        METRIC.buildInfo,
        METRIC.lastRunTimestamp,
        METRIC.lastSuccessTimestamp,
        METRIC.lastRunSuccess,
        METRIC.runDuration,
        METRIC.peakRss,
        METRIC.failures,
        METRIC.blockedPublishes,
      ].sort(),
    );
  });

  it('the exposition text names only recsys_pipelines_* metrics in base units', async () => {
    const text = await runMetrics(outcome({ summary: summary([day('2026-01-01', 1, [])]) }), { carried: 'omit' }).metrics();
    const names = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`));
    for (const n of names) expect(n).toMatch(/^recsys_pipelines_[a-z_]+ gauge$/);
    expect(text).not.toMatch(/_total\b|_ms\b|_milliseconds\b/); // gauges of the last run; seconds and bytes
  });
});

describe('statusMetrics', () => {
  const status: Status = {
    tenant: 'demo',
    surface: 'home',
    manifest: '/m.json',
    state: 'stale',
    updated_at: '2026-01-03T02:00:00Z',
    age_seconds: 7200,
    max_age_seconds: 3600,
    artifacts: [
      { type: 'cooc', uri: 'file:///c', version: 'c', window: { start: '2026-01-02T00:00:00Z', end: '2026-01-03T00:00:00Z' }, size_bytes: 99, problem: null },
      { type: 'popularity', uri: 'file:///p', version: 'p', window: null, size_bytes: null, problem: 'no registry record' },
    ],
  };

  it('state as an enum, manifest times, per-type window end, data age, size and health', async () => {
    const m = await samples(statusMetrics(status, new Date('2026-01-03T04:00:00Z')));
    const s = { tenant: 'demo', surface: 'home' };
    expect(m.get(METRIC.status)?.map((x) => [x.labels.state, x.value])).toEqual([
      ['fresh', 0],
      ['stale', 1],
      ['missing', 0],
    ]);
    expect(value(m, METRIC.manifestUpdated, s)).toBe(Date.parse('2026-01-03T02:00:00Z') / 1000);
    expect(value(m, METRIC.manifestAge, s)).toBe(7200);
    expect(value(m, METRIC.manifestMaxAge, s)).toBe(3600);
    expect(value(m, METRIC.currentArtifactWindowEnd, { type: 'cooc' })).toBe(Date.parse('2026-01-03T00:00:00Z') / 1000);
    expect(value(m, METRIC.currentArtifactDataAge, { type: 'cooc' })).toBe(4 * 3600);
    expect(value(m, METRIC.currentArtifactSize, { type: 'cooc' })).toBe(99);
    expect(value(m, METRIC.currentArtifactOk, { type: 'cooc' })).toBe(1);
    expect(value(m, METRIC.currentArtifactOk, { type: 'popularity' })).toBe(0);
    expect(value(m, METRIC.currentArtifactWindowEnd, { type: 'popularity' })).toBeUndefined();
  });

  it('no manifest: missing, and no manifest times', async () => {
    const m = await samples(statusMetrics({ ...status, state: 'missing', updated_at: null, age_seconds: null, artifacts: [] }));
    expect(value(m, METRIC.status, { state: 'missing' })).toBe(1);
    expect(m.has(METRIC.manifestUpdated)).toBe(false);
    expect(m.has(METRIC.currentArtifactOk)).toBe(false);
  });
});
