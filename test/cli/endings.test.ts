/**
 * How a day command ends (docs/cli.md "Output streams", "Exit codes"): whatever stops it (a
 * failed day without --continue-on-error, every day failing with it, SIGINT, SIGTERM), stdout
 * has the summary of what was done and published so far, stderr ends with one `error:` line
 * (or an `error` JSON record), a terminal's progress line is not left unfinished, and no
 * `manifest:` line names a manifest that does not exist.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/helpers';
import type { Sandbox } from '../support/cli-harness';
import { cli, cliProcess, ev, events, publishedLines, runArgs, sandboxFactory, STACK_FRAME, summaryRows, versionOfUri } from '../support/cli-harness';

const DAY1 = '2026-01-01';
const DAY2 = '2026-01-02';
const DAY3 = '2026-01-03';
const FAKE_TTY = join(REPO_ROOT, 'test', 'support', 'fake-tty.cjs');

const sandbox = sandboxFactory();

/** The last line as a terminal shows it (what a clear-line sequence erased is gone). */
const lastLine = (text: string) => (text.trimEnd().split('\n').at(-1) ?? '').split('\r\x1b[2K').at(-1) ?? '';

describe('fail-fast: day 1 good, day 2 bad', () => {
  it('stdout: the summary with day 1 published, the failed day and the manifest; stderr ends with "error: …"; exit 3', async () => {
    const sb = sandbox();
    sb.writeDay(DAY1, events(DAY1, 20));
    sb.writeDay(DAY2, [ev({ ts: `${DAY2}T08:00:00Z`, v: 2 })]);
    const r = await cli(runArgs(sb.config(), DAY1, DAY3));
    expect(r.code, r.stderr).toBe(3);
    expect(summaryRows(r.stdout).map((row) => row.day)).toEqual([DAY1]);
    const published = publishedLines(r.stdout);
    expect(published.map((p) => [p.day, p.type])).toEqual([[DAY1, 'popularity']]);
    expect(published[0]?.version).toBe(versionOfUri(sb.manifest().current.popularity));
    expect(r.stdout).toMatch(new RegExp(`^failed:\\n  ${DAY2}  ingest  E_BAD_INPUT  bad input: .*v must be 1$`, 'm'));
    expect(r.stdout).toContain(`manifest: ${sb.manifestPath}`);
    expect(lastLine(r.stderr)).toMatch(/^error: bad input: .*exposure\.2026-01-02\.jsonl:1: v must be 1 \[E_BAD_INPUT\]$/);
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(sb.checkpoint()).toBe(DAY1);
  });

  it('--log-format json: the last stderr line is an "error" record with the code', async () => {
    const sb = sandbox();
    sb.writeDay(DAY1, events(DAY1, 20));
    sb.writeDay(DAY2, [ev({ ts: `${DAY2}T08:00:00Z`, v: 2 })]);
    const r = await cli(runArgs(sb.config(), DAY1, DAY2, ['--log-format', 'json']));
    expect(r.code).toBe(3);
    const last = JSON.parse(lastLine(r.stderr)) as Record<string, unknown>;
    expect(last).toMatchObject({ level: 'error', event: 'error', code: 'E_BAD_INPUT' });
    expect(String(last.message)).toContain('v must be 1');
    expect(publishedLines(r.stdout).map((p) => p.day)).toEqual([DAY1]);
  });
});

describe('--continue-on-error where every day fails', () => {
  it('no "manifest: <path>" for a manifest that does not exist; the summary lists the failures; "error: 2 of 2 day(s) failed"', async () => {
    const sb = sandbox();
    for (const d of [DAY1, DAY2]) sb.writeDay(d, [ev({ ts: `${d}T08:00:00Z`, v: 2 })]);
    const r = await cli(runArgs(sb.config(), DAY1, DAY2, ['--continue-on-error']));
    expect(r.code).toBe(3);
    expect(existsSync(sb.manifestPath)).toBe(false);
    expect(r.stdout).not.toContain(sb.manifestPath);
    expect(r.stdout).toContain('manifest: not changed (nothing published)');
    expect(r.stdout).toContain(`  ${DAY1}  ingest  E_BAD_INPUT`);
    expect(r.stdout).toContain(`  ${DAY2}  ingest  E_BAD_INPUT`);
    expect(lastLine(r.stderr)).toBe(`error: 2 of 2 day(s) failed: ${DAY1} (E_BAD_INPUT), ${DAY2} (E_BAD_INPUT)`);
  });

  it('one day published and one failed: the manifest line is there (it exists)', async () => {
    const sb = sandbox();
    sb.writeDay(DAY1, [ev({ ts: `${DAY1}T08:00:00Z`, v: 2 })]);
    sb.writeDay(DAY2, events(DAY2, 5));
    const r = await cli(runArgs(sb.config(), DAY1, DAY2, ['--continue-on-error']));
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(`manifest: ${sb.manifestPath}`);
    expect(existsSync(sb.manifestPath)).toBe(true);
  });
});

describe.each([
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const)('%s during a 3-day run (sent right after day 1 swapped the manifest)', (signal, exitCode) => {
  it(`exit ${exitCode} (E_INTERRUPTED): day 1 published and in the summary, day 2 not started, a final "error:" line`, async () => {
    const sb = sandbox();
    for (const d of [DAY1, DAY2, DAY3]) sb.writeDay(d, events(d, 20));
    const r = await cliProcess(runArgs(sb.config(), DAY1, DAY3), { env: { RECSYS_FAULT: `after-manifest-swap:${signal}` } });
    expect(r.signal).toBeNull(); // the process ended by itself, after saying what happened
    expect(r.code, r.stderr).toBe(exitCode);
    expect(summaryRows(r.stdout).map((row) => row.day)).toEqual([DAY1]);
    expect(publishedLines(r.stdout).map((p) => p.day)).toEqual([DAY1]);
    expect(r.stdout).toContain(`manifest: ${sb.manifestPath}`);
    expect(r.stderr).toContain(`${signal} received: stopping after the stage under way`);
    expect(lastLine(r.stderr)).toBe(`error: interrupted by ${signal} before ${DAY2} ingest; a rerun carries on (days published stay published)`);
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(sb.checkpoint()).toBe(DAY1);
    expect(sb.currentBlob('popularity').window.start).toBe(`${DAY1}T00:00:00Z`);
  });
});

describe('in a terminal (stderr a TTY: one progress line rewritten in place)', () => {
  const cases: Array<[string, (sb: Sandbox) => void, Record<string, string>, number]> = [
    ['a failed day', (sb) => sb.writeDay(DAY2, [ev({ ts: `${DAY2}T08:00:00Z`, v: 2 })]), {}, 3],
    ['SIGINT', (sb) => sb.writeDay(DAY2, events(DAY2, 5)), { RECSYS_FAULT: 'after-manifest-swap:SIGINT' }, 130],
  ];
  it.each(cases)('%s: the progress line is cleared before the last line, which ends with a newline', async (_name, day2, env, code) => {
    const sb = sandbox();
    sb.writeDay(DAY1, events(DAY1, 20));
    day2(sb);
    const r = await cliProcess(runArgs(sb.config(), DAY1, DAY2), { env: { NODE_OPTIONS: `--require ${FAKE_TTY}`, ...env } });
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toContain('\r\x1b[2K[1/2] 2026-01-01 ingest'); // the progress line was drawn
    expect(r.stderr.endsWith('\n')).toBe(true);
    // The text after the last clear-line is whole lines only: no progress text left open.
    const afterLastClear = r.stderr.slice(r.stderr.lastIndexOf('\r\x1b[2K') + '\r\x1b[2K'.length);
    expect(afterLastClear).toMatch(/^(.+\n)*$/);
    expect(lastLine(r.stderr)).toMatch(/^error: /);
    expect(publishedLines(r.stdout).map((p) => p.day)).toEqual([DAY1]);
    expect(readFileSync(sb.manifestPath, 'utf8')).toContain(versionOfUri(sb.manifest().current.popularity));
  });
});
