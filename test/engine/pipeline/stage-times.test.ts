/**
 * Per-stage times that mean the same on every day (issue 14 item 5): over several days the
 * next day's raw input is read ahead while the previous day computes, so the time a day
 * waited for its read was ~0 ms on days 2..N. A day's ingest time is now the wall time of
 * its own read, start to end, wherever it ran: in the summary (`ms`), the JSON logs and the
 * stage-duration metric.
 *
 * No timing thresholds: the clock is injected. ReadAhead is driven with reads the test
 * resolves by hand; the day loop runs with a clock that only the (real) reads move, by a
 * fixed amount each, so every day's ingest time is exactly that amount if and only if it is
 * measured around the read itself, and a one-day run gives the same figure.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type * as ingest from '../../../src/engine/pipeline/ingest';
import type { ReadDay } from '../../../src/engine/pipeline/ingest';
import { METRIC, runMetrics } from '../../../src/engine/ops/metrics';
import { createReporter } from '../../../src/engine/pipeline/progress';
import type { RunSummary } from '../../../src/engine/pipeline/request';
import { ReadAhead, runPipeline } from '../../../src/engine/pipeline/run';
import { events } from '../../support/cli-harness';
import { tempDir, testConfig } from '../../support/helpers';

/** The injected clock of the day loop; each real read moves it by `readMs` when it ends, each partition write by `writeMs`. */
const fake = vi.hoisted(() => ({ now: 0, readMs: 0, writeMs: 0 }));
vi.mock('../../../src/engine/pipeline/ingest', async (importOriginal) => {
  const original = await importOriginal<typeof ingest>();
  return {
    ...original,
    readDay: async (...args: Parameters<typeof original.readDay>) => {
      const read = await original.readDay(...args);
      fake.now += fake.readMs;
      return read;
    },
    writeDay: async (...args: Parameters<typeof original.writeDay>) => {
      await original.writeDay(...args);
      fake.now += fake.writeMs;
    },
  };
});

const tmp = tempDir('recsys-stage-times-');
afterAll(() => tmp.cleanup());

describe('ReadAhead: a day read ahead is timed by its own read', () => {
  /** Reads that end when the test says so. */
  function handReads() {
    const finish = new Map<string, (fail?: Error) => void>();
    const read = (day: string) => new Promise<ReadDay>((resolve, reject) => finish.set(day, (fail) => (fail ? reject(fail) : resolve({ day } as ReadDay))));
    return { finish: (day: string, fail?: Error) => finish.get(day)!(fail), read };
  }

  it('reports each read from its start to its end: not the wait of its day, not the previous day compute', async () => {
    let now = 100;
    const hand = handReads();
    const reads = new ReadAhead(['d1', 'd2', 'd3'], hand.read, () => now);
    const d1 = reads.take('d1'); // d1 read starts at 100
    now = 107;
    hand.finish('d1');
    await d1;
    reads.readNext('d1'); // once d1's partition is written, d2's read starts ahead, at 107
    expect(reads.ms('d1')).toBe(7);
    now = 110;
    hand.finish('d2'); // d2's read took 3 ms, while d1 computed
    await new Promise((r) => setImmediate(r)); // its end is seen
    now = 5000; // d1 computes and publishes for a long time
    await reads.take('d2'); // waits ~0: the read had ended
    reads.readNext('d2');
    expect(reads.ms('d2')).toBe(3);
    now = 5040; // d2 computes; d3's read, started at 5000, is still running
    expect(reads.ms('d3')).toBe(40); // a running read: so far
    const d3 = expect(reads.take('d3')).rejects.toThrow('bad line');
    now = 5050;
    hand.finish('d3', new Error('bad line'));
    await new Promise((r) => setImmediate(r));
    await d3;
    now = 9999;
    expect(reads.ms('d3')).toBe(50); // a failed read is timed to its failure
    expect(reads.ms('never')).toBe(0);
  });
});

describe('the day loop', () => {
  const DAYS = ['2026-01-01', '2026-01-02', '2026-01-03'] as const;
  const READ_MS = 1000;

  function config() {
    const raw = join(tmp.dir, 'raw');
    mkdirSync(join(raw, 'demo', 'home'), { recursive: true });
    for (const [i, day] of DAYS.entries()) writeFileSync(join(raw, 'demo', 'home', `exposure.${day}.jsonl`), events(day, 40 + i).join('\n') + '\n');
    return testConfig(join(tmp.dir, `out-${Math.random().toString(36).slice(2)}`), {
      raw_source: { type: 'fs', dir: raw },
      artifact_kinds: ['popularity', 'cooc'],
      limits: { min_cooc_support: 1 },
    });
  }

  async function timedRun(start: string, end: string, writeMs = 0): Promise<{ summary: RunSummary; logged: Array<Record<string, unknown>> }> {
    fake.now = 0;
    fake.readMs = READ_MS;
    fake.writeMs = writeMs;
    const logged: Array<Record<string, unknown>> = [];
    const reporter = createReporter({ format: 'json', write: (text) => logged.push(JSON.parse(text) as Record<string, unknown>) });
    const summary = await runPipeline({
      config: config(),
      tenant: 'demo',
      surface: 'home',
      segment: '',
      start,
      end,
      incremental: false,
      allowEmpty: true,
      reporter,
      clock: () => fake.now,
    });
    return { summary, logged };
  }

  it('gives every day of a backfill the time of its own read, in the summary, the JSON logs and the metric, as a one-day run', async () => {
    const one = await timedRun(DAYS[0], DAYS[0]);
    expect(one.summary.days.map((d) => d.ms.ingest)).toEqual([READ_MS]);

    const { summary, logged } = await timedRun(DAYS[0], DAYS[2]);
    expect(summary.days.map((d) => d.day)).toEqual(DAYS);
    expect(summary.days.map((d) => d.ms.ingest)).toEqual(DAYS.map(() => READ_MS));
    const ingestLogs = logged.filter((x) => x.event === 'stage_done' && x.stage === 'ingest');
    expect(ingestLogs.map((x) => [x.day, x.ms])).toEqual(DAYS.map((d) => [d, READ_MS]));

    const registry = runMetrics(
      {
        command: 'run',
        tenant: 'demo',
        surface: 'home',
        finishedAtMs: 0,
        durationSeconds: 0,
        summary,
        errorCode: null,
        types: ['popularity', 'cooc'],
        workers: 1,
        peakRssBytes: 0,
        version: 'test',
      },
      { carried: 'omit' },
    );
    const stage = await registry.getSingleMetric(METRIC.stageDuration)!.get();
    expect(stage.values.find((v) => v.labels.stage === 'ingest')?.value).toBe((DAYS.length * READ_MS) / 1000);
  });

  it('ingest is done once its partition is written: its time is the read plus the write, on every day (issue 14 item 3)', async () => {
    const WRITE_MS = 300;
    const { summary, logged } = await timedRun(DAYS[0], DAYS[2], WRITE_MS);
    expect(summary.days.map((d) => d.ms.ingest)).toEqual(DAYS.map(() => READ_MS + WRITE_MS));
    const ingestLogs = logged.filter((x) => x.event === 'stage_done' && x.stage === 'ingest');
    expect(ingestLogs.map((x) => [x.day, x.ms])).toEqual(DAYS.map((d) => [d, READ_MS + WRITE_MS]));
  });

  it('with the real clock, every day of a backfill has an ingest time above zero', async () => {
    fake.readMs = 0;
    fake.writeMs = 0;
    const summary = await runPipeline({
      config: config(),
      tenant: 'demo',
      surface: 'home',
      segment: '',
      start: DAYS[0],
      end: DAYS[2],
      incremental: false,
      log: () => undefined,
    });
    expect(summary.days).toHaveLength(DAYS.length);
    for (const d of summary.days) expect(d.ms.ingest, d.day).toBeGreaterThan(0);
  });
});
