/**
 * Metrics through the real CLI, without servers: the textfile of a run, a failed run that
 * keeps the last success, a push that fails as a warning only, the flags' and keys' errors
 * (exit 2, nothing written), `status --metrics`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, events, Sandbox, STACK_FRAME } from '../support/cli-harness';

const sb = new Sandbox();
let closedUrl = '';

beforeAll(async () => {
  sb.writeDay('2026-01-01', events('2026-01-01', 6));
  sb.writeDay('2026-01-02', events('2026-01-02', 8));
  // A port nothing listens on: a push there is refused at once.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  closedUrl = `http://127.0.0.1:${(probe.address() as { port: number }).port}`;
  await new Promise((r) => probe.close(r));
});
afterAll(() => sb.cleanup());

/** The value of the first series of `name` whose line contains every `needle`. */
function sample(text: string, name: string, ...needles: string[]): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(name + '{') && needles.every((n) => l.includes(n)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('run metrics', () => {
  const textfile = () => join(sb.dir, 'collector', 'recsys-demo-home-run.prom');

  it('a run writes its textfile; a failing push is a warning (JSON log) and the exit code stays 0', async () => {
    const r = await sb.run(sb.config(), '2026-01-01', '2026-01-02', ['--metrics-textfile', textfile(), '--pushgateway', closedUrl, '--log-format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const warning = r.stderr
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { level: string; event: string; message?: string })
      .find((l) => l.event === 'warning');
    expect(warning).toMatchObject({
      level: 'warn',
      message: expect.stringContaining(`push to ${closedUrl}/metrics/job/recsys_pipelines/command/run/tenant/demo/surface/home failed`),
    });
    const text = readFileSync(textfile(), 'utf8');
    expect(sample(text, 'recsys_pipelines_last_run_success', 'command="run"')).toBe(1);
    expect(sample(text, 'recsys_pipelines_events', 'outcome="used"')).toBe(14);
    expect(sample(text, 'recsys_pipelines_days', 'outcome="completed"')).toBe(2);
    expect(sample(text, 'recsys_pipelines_artifacts_published', 'type="popularity"')).toBe(2);
    expect(sample(text, 'recsys_pipelines_workers')).toBe(1);
    expect(sample(text, 'recsys_pipelines_last_success_timestamp_seconds')).toBeGreaterThan(0);
  });

  it('a failed run (config metrics.textfile) records the failure and keeps the last success', async () => {
    const before = sample(readFileSync(textfile(), 'utf8'), 'recsys_pipelines_last_success_timestamp_seconds');
    const config = sb.config({ limits: { max_events_per_run: 7 }, metrics: { textfile: textfile() } }, 'limited.json');
    const r = await sb.run(config, '2026-01-01', '2026-01-02');
    expect(r.code, r.stderr).toBe(3);
    const text = readFileSync(textfile(), 'utf8');
    expect(sample(text, 'recsys_pipelines_last_run_success')).toBe(0);
    expect(sample(text, 'recsys_pipelines_last_success_timestamp_seconds')).toBe(before);
    expect(sample(text, 'recsys_pipelines_last_failure_timestamp_seconds')).toBeGreaterThanOrEqual(before!);
    expect(sample(text, 'recsys_pipelines_failures', 'code="E_LIMIT"')).toBe(1);
    expect(sample(text, 'recsys_pipelines_blocked_publishes', 'reason="limit"')).toBe(1);
    expect(sample(text, 'recsys_pipelines_days', 'outcome="completed"')).toBe(1);
    expect(sample(text, 'recsys_pipelines_days', 'outcome="failed"')).toBe(1);
  });

  it('bad flags or keys: exit 2 naming them, no metrics written', async () => {
    const file = join(sb.dir, 'never.prom');
    const cases: [string[], string][] = [
      [['--metrics-textfile', join(sb.dir, 'm.txt')], '--metrics-textfile: node_exporter'],
      [['--pushgateway', 'localhost:9091'], '--pushgateway: expected an http:// or https:// URL'],
      [['--start', '2026-01-02', '--metrics-textfile', file], '--end'], // --end before --start
    ];
    for (const [extra, needle] of cases) {
      const r = await sb.run(sb.config(), '2026-01-02', '2026-01-01', extra);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(needle);
      expect(r.stderr).not.toContain(STACK_FRAME);
    }
    const bad = sb.config({ metrics: { pushgateway: { url: 'ftp://x' } } }, 'bad.json');
    const r = await sb.run(bad, '2026-01-01', '2026-01-01');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('metrics.pushgateway.url: expected an http:// or https:// URL');
    expect(existsSync(file)).toBe(false);
  });
});

describe('status --metrics', () => {
  const status = (config: string, ...extra: string[]) => cli(['status', '--config', config, '--tenant', 'demo', '--surface', 'home', ...extra]);

  it('prints the freshness as metrics with the exit code of status, and can write a textfile', async () => {
    const file = join(sb.dir, 'collector', 'status.prom');
    const r = await status(sb.config(), '--metrics', '--metrics-textfile', file);
    expect(r.code, r.stderr).toBe(0);
    expect(sample(r.stdout, 'recsys_pipelines_status', 'state="fresh"')).toBe(1);
    expect(sample(r.stdout, 'recsys_pipelines_current_artifact_ok', 'type="popularity"')).toBe(1);
    expect(sample(r.stdout, 'recsys_pipelines_current_artifact_window_end_timestamp_seconds', 'type="popularity"')).toBe(
      Date.parse('2026-01-02T00:00:00Z') / 1000,
    );
    expect(readFileSync(file, 'utf8')).toBe(r.stdout + (r.stdout.endsWith('\n') ? '' : '\n'));
  });

  it('missing: exit 1, state missing; --metrics with --json is a usage error', async () => {
    const empty = new Sandbox();
    try {
      const r = await status(empty.config(), '--metrics');
      expect(r.code).toBe(1);
      expect(sample(r.stdout, 'recsys_pipelines_status', 'state="missing"')).toBe(1);
      expect((await status(empty.config(), '--metrics', '--json')).code).toBe(2);
    } finally {
      empty.cleanup();
    }
  });
});
