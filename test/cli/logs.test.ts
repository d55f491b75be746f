/**
 * Progress and logs: stderr carries one line per day per stage (text) or one JSON object per
 * line (json); stdout keeps only the summary. Failures are logged with their error code;
 * --continue-on-error reports a failed day, runs the others and exits 3 when no failure is one a retry may fix.
 */
import { describe, expect, it } from 'vitest';
import { createReporter } from '../../src/engine/pipeline/progress';
import { PipelineError } from '../../src/errors';
import type { Sandbox } from '../support/cli-harness';
import { cli, ev, events, publishedLines, sandboxFactory } from '../support/cli-harness';

const sandbox = sandboxFactory('recsys-logs-');

const DAYS = ['2026-01-01', '2026-01-02'] as const;
const STAGES = ['ingest', 'validate', 'compute', 'publish'];

function twoDays(): { sb: Sandbox; config: string } {
  const sb = sandbox();
  sb.writeDay(DAYS[0], events(DAYS[0], 12));
  sb.writeDay(DAYS[1], events(DAYS[1], 7));
  // min_cooc_support 1: day 2's few events still make cooc rows (an empty cooc would not replace day 1's: drift gate).
  return { sb, config: sb.config({ artifact_kinds: ['popularity', 'cooc'], limits: { min_cooc_support: 1 } }) };
}

const jsonLines = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('--log-format text (default)', () => {
  it('prints one line per day per stage on stderr, and the summary alone on stdout', async () => {
    const { sb, config } = twoDays();
    const r = await sb.run(config, DAYS[0], DAYS[1]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    const expected = DAYS.flatMap((d) => STAGES.map((s) => `${d} ${s}`));
    expect(lines.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(expected);
    for (const l of lines) expect(l).toMatch(/ \d+\.\ds$/);
    expect(lines[0]).toMatch(/^2026-01-01 ingest 12 events /);
    // stdout: the summary, no progress lines
    expect(r.stdout).not.toMatch(/^2026-01-01 ingest/m);
    expect(publishedLines(r.stdout)).toHaveLength(4);
  });

  it('on a terminal, rewrites one progress line in place and clears it at the end', () => {
    let written = '';
    const reporter = createReporter({ format: 'text', tty: true, write: (s) => (written += s) });
    reporter.plan(2);
    reporter.begin('2026-01-01', 'ingest');
    reporter.done('2026-01-01', 'ingest', { events: 5, lines: 5 }, 1200);
    reporter.begin('2026-01-02', 'ingest');
    reporter.done('2026-01-02', 'ingest', { events: 3, lines: 3 }, 800);
    reporter.close();
    expect(written).not.toContain('\n');
    expect(written).toContain('[1/2] 2026-01-01 ingest 5 events 1.2s');
    expect(written).toContain('[2/2] 2026-01-02 ingest 3 events 0.8s');
    expect(written.endsWith('\r\x1b[2K')).toBe(true);
    // a failure gets a line of its own
    reporter.dayFailed('2026-01-03', 'validate', new PipelineError('E_LIMIT', 1, 'limit exceeded: x (2 > 1)'), 5);
    expect(written.endsWith('\n')).toBe(true);
  });
});

describe('--log-format json', () => {
  it('prints only JSON objects with ts, level, event, day, stage, counts and ms on stderr', async () => {
    const { sb, config } = twoDays();
    const r = await sb.run(config, DAYS[0], DAYS[1], ['--log-format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const all = jsonLines(r.stderr);
    // After each publish, one drift record with the figures of the day's artifacts.
    const drift = all.filter((x) => x.event === 'drift');
    expect(drift.map((x) => [x.day, x.stage, x.level, x.blocked, (x.drift as Array<{ type: string }>).map((f) => f.type)])).toEqual(
      DAYS.map((d) => [d, 'publish', 'info', false, ['popularity', 'cooc']]),
    );
    const records = all.filter((x) => x.event !== 'drift');
    expect(records).toHaveLength(DAYS.length * STAGES.length);
    for (const rec of records) {
      expect(Object.keys(rec).slice(0, 7)).toEqual(['ts', 'level', 'event', 'day', 'stage', 'counts', 'ms']);
      expect(rec.level).toBe('info');
      expect(rec.event).toBe('stage_done');
      expect(Number.isNaN(Date.parse(rec.ts as string))).toBe(false);
      expect(typeof rec.ms).toBe('number');
    }
    expect(records.map((x) => `${String(x.day)} ${String(x.stage)}`)).toEqual(DAYS.flatMap((d) => STAGES.map((s) => `${d} ${s}`)));
    const ingest = records.find((x) => x.day === DAYS[1] && x.stage === 'ingest')!;
    expect(ingest.counts).toMatchObject({ events: 7, lines: 7, rejected: 0 });
    const publish = records.find((x) => x.day === DAYS[1] && x.stage === 'publish')!;
    expect(publish.counts).toMatchObject({ artifacts: 2 });
    expect(publishedLines(r.stdout)).toHaveLength(4);
  });

  it('logs a failure as a day_failed record with its error code, and nothing but JSON on stderr', async () => {
    const sb = sandbox();
    sb.writeDay(DAYS[0], [ev({ ts: `${DAYS[0]}T01:00:00Z` }), '{"v":2}']);
    const r = await sb.run(sb.config(), DAYS[0], DAYS[0], ['--log-format', 'json']);
    expect(r.code).toBe(3);
    const records = jsonLines(r.stderr); // throws if any line is not JSON
    const failed = records.filter((x) => x.event === 'day_failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ level: 'error', day: DAYS[0], stage: 'ingest', code: 'E_BAD_INPUT' });
  });

  it('reports a usage or config error as one JSON error record (exit 2)', async () => {
    const sb = sandbox();
    const r = await cli([
      'ingest',
      '--config',
      sb.config({ bogus_key: 1 }),
      '--tenant',
      'demo',
      '--surface',
      'home',
      '--start',
      DAYS[0],
      '--end',
      DAYS[0],
      '--log-format',
      'json',
    ]);
    expect(r.code).toBe(2);
    const records = jsonLines(r.stderr);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ level: 'error', event: 'error', code: 'E_CONFIG' });
  });

  it('an unknown --log-format is a usage error (exit 2)', async () => {
    const { sb, config } = twoDays();
    expect((await sb.run(config, DAYS[0], DAYS[0], ['--log-format', 'xml'])).code).toBe(2);
  });
});

describe('--continue-on-error', () => {
  it('reports the failed day, runs the later ones and exits 3 (bad input: a retry cannot help); without it the run stops there', async () => {
    const sb = sandbox();
    const days = ['2026-01-01', '2026-01-02', '2026-01-03'] as const;
    sb.writeDay(days[0], events(days[0], 5));
    sb.writeDay(days[1], ['{"v":1}']); // a bad line: the day fails in ingest
    sb.writeDay(days[2], events(days[2], 6));
    const config = sb.config();

    const stop = await sb.run(config, days[0], days[2], ['--log-format', 'json']);
    expect(stop.code).toBe(3);
    const stopRecords = jsonLines(stop.stderr);
    expect(stopRecords.some((x) => x.day === days[2])).toBe(false);
    expect(sb.currentBlob('popularity').window.start).toBe(`${days[0]}T00:00:00Z`);

    const go = await sb.run(config, days[0], days[2], ['--continue-on-error', '--log-format', 'json']);
    expect(go.code).toBe(3);
    const records = jsonLines(go.stderr);
    expect(records.filter((x) => x.event === 'day_failed').map((x) => [x.day, x.code])).toEqual([[days[1], 'E_BAD_INPUT']]);
    expect(records.filter((x) => x.stage === 'publish' && x.event === 'stage_done').map((x) => x.day)).toEqual([days[0], days[2]]);
    expect(records[records.length - 1]).toMatchObject({ level: 'error', event: 'error', code: 'E_BAD_INPUT' });
    expect(publishedLines(go.stdout).map((p) => p.day)).toEqual([days[0], days[2]]);
    expect(go.stdout).toMatch(/^failed:\n\s+2026-01-02\s+ingest\s+E_BAD_INPUT/m);
    expect(sb.currentBlob('popularity').window.start).toBe(`${days[2]}T00:00:00Z`);
    expect(sb.checkpoint()).toBe(days[0]);
  });
});
