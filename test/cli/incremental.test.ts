/**
 * `run --incremental` (docs/contract.md §8): start = the day after the checkpoint; the first incremental
 * run needs --start; the checkpoint advances after each successful day.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../support/cli-harness';
import { cli, events, publishedLines, sandboxFactory, STACK_FRAME, summaryRows } from '../support/cli-harness';

const sandbox = sandboxFactory();

const incremental = (config: string, ...flags: string[]) =>
  cli(['run', '--config', config, '--tenant', 'demo', '--surface', 'home', '--incremental', '--workers', '1', ...flags]);

describe('--incremental', () => {
  it('without a checkpoint and without --start: exit 2 mentioning --start, nothing written', async () => {
    const sb = sandbox();
    sb.writeDay('2026-01-01', events('2026-01-01', 3));
    const r = await incremental(sb.config(), '--end', '2026-01-01');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--start');
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(sb.manifestText()).toBeNull();
    expect(sb.checkpoint()).toBeNull();
  });

  it('after the Go tool (its checkpoint {"day"} only, docs/contract.md §9): starts the day after it and writes both checkpoints', async () => {
    const sb = sandbox();
    for (const d of ['2026-01-01', '2026-01-02', '2026-01-03', '2026-01-04']) sb.writeDay(d, events(d, 4));
    const goCheckpoint = join(sb.out, 'checkpoints', 'demo', 'home.json');
    mkdirSync(dirname(goCheckpoint), { recursive: true });
    writeFileSync(goCheckpoint, '{\n  "day": "2026-01-02"\n}'); // as the Go tool writes it after day 2
    const r = await incremental(sb.config(), '--end', '2026-01-04');
    expect(r.code, r.stderr).toBe(0);
    expect(summaryRows(r.stdout).map((row) => row.day)).toEqual(['2026-01-03', '2026-01-04']);
    expect(sb.checkpoint()).toBe('2026-01-04');
    expect(readFileSync(goCheckpoint, 'utf8')).toBe('{\n  "day": "2026-01-04"\n}');
  });

  it('first run with --start writes the checkpoint; the next run starts the day after it', async () => {
    const sb = sandbox();
    for (const d of ['2026-01-01', '2026-01-02', '2026-01-03']) sb.writeDay(d, events(d, 4));
    const config = sb.config();

    const first = await incremental(config, '--start', '2026-01-01', '--end', '2026-01-01');
    expect(first.code, first.stderr).toBe(0);
    expect(sb.checkpoint()).toBe('2026-01-01');
    const cp = JSON.parse(readFileSync(sb.checkpointPath, 'utf8'));
    expect(Object.keys(cp)).toEqual(['v', 'last_day', 'updated_at']);
    expect(cp.v).toBe(1);

    const second = await incremental(config, '--end', '2026-01-03');
    expect(second.code, second.stderr).toBe(0);
    expect(summaryRows(second.stdout).map((r) => r.day)).toEqual(['2026-01-02', '2026-01-03']);
    expect([...new Set(publishedLines(second.stdout).map((p) => p.day))]).toEqual(['2026-01-02', '2026-01-03']);
    expect(sb.checkpoint()).toBe('2026-01-03');
    expect(sb.currentBlob('popularity').window.start).toBe('2026-01-03T00:00:00Z');

    // caught up: nothing to do, nothing changes
    const manifest = sb.manifestText();
    const third = await incremental(config, '--end', '2026-01-03');
    expect(third.code, third.stderr).toBe(0);
    expect(summaryRows(third.stdout)).toEqual([]);
    expect(sb.manifestText()).toBe(manifest);
    expect(sb.checkpoint()).toBe('2026-01-03');
  });

  it('the checkpoint advances after each successful day: a failure on day 3 leaves it at day 2, and the next run retries day 3', async () => {
    const sb = sandbox();
    sb.writeDay('2026-01-01', events('2026-01-01', 2));
    sb.writeDay('2026-01-02', events('2026-01-02', 2));
    sb.writeDay('2026-01-03', [...events('2026-01-03', 2), 'not json']);
    const config = sb.config();

    const r = await incremental(config, '--start', '2026-01-01', '--end', '2026-01-03');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${sb.dayFile('2026-01-03')}:3`);
    expect(sb.checkpoint()).toBe('2026-01-02');
    expect(sb.currentBlob('popularity').window.start).toBe('2026-01-02T00:00:00Z');

    sb.writeDay('2026-01-03', events('2026-01-03', 2));
    const retry = await incremental(config, '--end', '2026-01-03');
    expect(retry.code, retry.stderr).toBe(0);
    expect(summaryRows(retry.stdout).map((x) => x.day)).toEqual(['2026-01-03']);
    expect(sb.checkpoint()).toBe('2026-01-03');
  });

  it('a plain run (no --incremental) also advances the checkpoint', async () => {
    const sb = sandbox();
    sb.writeDay('2026-01-01', events('2026-01-01', 2));
    const config = sb.config();
    expect((await sb.run(config, '2026-01-01', '2026-01-01')).code).toBe(0);
    expect(sb.checkpoint()).toBe('2026-01-01');
    sb.writeDay('2026-01-02', events('2026-01-02', 2));
    const next = await incremental(config, '--end', '2026-01-02');
    expect(next.code, next.stderr).toBe(0);
    expect(summaryRows(next.stdout).map((x) => x.day)).toEqual(['2026-01-02']);
  });

  it('checkpoints are per segment', async () => {
    const sb = sandbox();
    sb.writeDay('2026-01-01', events('2026-01-01', 2));
    const config = sb.config();
    expect((await incremental(config, '--start', '2026-01-01', '--end', '2026-01-01')).code).toBe(0);
    const r = await incremental(config, '--segment', 'web', '--end', '2026-01-01');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--start');
  });

  it('max_days_backfill also caps an incremental run', async () => {
    const sb = sandbox();
    sb.writeDay('2026-01-01', events('2026-01-01', 2));
    const config = sb.config({ limits: { max_days_backfill: 2 } });
    expect((await incremental(config, '--start', '2026-01-01', '--end', '2026-01-01')).code).toBe(0);
    const r = await incremental(config, '--end', '2026-01-04');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('limit exceeded: max_days_backfill (3 > 2)');
    expect(sb.checkpoint()).toBe('2026-01-01');
  });
});

describe('--incremental without --end', () => {
  const utcDay = (offsetDays: number) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
  const setCheckpoint = (sb: Sandbox, text: string) => {
    mkdirSync(dirname(sb.checkpointPath), { recursive: true });
    writeFileSync(sb.checkpointPath, text);
  };

  it('runs up to yesterday (UTC): a checkpoint at the day before yesterday processes exactly yesterday', async () => {
    const sb = sandbox();
    setCheckpoint(sb, JSON.stringify({ v: 1, last_day: utcDay(-2), updated_at: '2026-01-01T00:00:00Z' }));
    const yesterday = utcDay(-1);
    sb.writeDay(yesterday, events(yesterday, 2));
    const r = await incremental(sb.config());
    expect(r.code, r.stderr).toBe(0);
    expect(summaryRows(r.stdout).map((x) => x.day)).toEqual([yesterday]);
    expect(sb.checkpoint()).toBe(yesterday);
  });

  it('days without raw files are not published (issue 14): the first one stops the run, the checkpoint stays; --allow-empty publishes them', async () => {
    const sb = sandbox();
    sb.writeDay('2026-01-01', events('2026-01-01', 2));
    const config = sb.config();
    expect((await incremental(config, '--start', '2026-01-01', '--end', '2026-01-01')).code).toBe(0);
    const manifest = sb.manifestText();
    const r = await incremental(config, '--end', '2026-01-05');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('2026-01-02 ingest failed after');
    expect(r.stderr).toContain('validation failed: raw input missing: no raw input for 2026-01-02');
    expect(r.stderr).not.toContain('2026-01-03');
    expect(sb.checkpoint()).toBe('2026-01-01');
    expect(sb.manifestText()).toBe(manifest);
    const allowed = await incremental(config, '--end', '2026-01-03', '--allow-empty');
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(sb.checkpoint()).toBe('2026-01-03');
  });

  it('a checkpoint at yesterday has nothing to do', async () => {
    const sb = sandbox();
    setCheckpoint(sb, JSON.stringify({ v: 1, last_day: utcDay(-1), updated_at: '2026-01-01T00:00:00Z' }));
    const r = await incremental(sb.config());
    expect(r.code, r.stderr).toBe(0);
    expect(summaryRows(r.stdout)).toEqual([]);
    expect(sb.manifestText()).toBeNull();
  });

  it('a corrupt checkpoint is a runtime failure (exit 1) naming the file, nothing published', async () => {
    const sb = sandbox();
    setCheckpoint(sb, '{"v":1,"last_day":"yesterday"}');
    const r = await incremental(sb.config(), '--end', '2026-01-02');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(sb.checkpointPath);
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(sb.manifestText()).toBeNull();
  });
});

describe('version', () => {
  it('prints "recsys-pipelines 0.1.0"', async () => {
    const r = await cli(['version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('recsys-pipelines 0.1.0\n');
  });
});
