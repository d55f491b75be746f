/**
 * One publisher per (tenant, surface) (docs/contract.md §6): a run that finds the lock held by a live
 * process fails clearly (exit 1) and leaves the manifest alone; a stale lock of an exited
 * process on this host is recovered. Lock file: `<registry_dir>/locks/<tenant>/<surface>.lock`
 * with `{pid, host, started_at, token}` (src/io/store/lock.ts). The runs are in this
 * process (a live holder is this process: its pid), except the two publishers racing.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../support/cli-harness';
import { cliProcess, events, runArgs, sandboxFactory, STACK_FRAME } from '../support/cli-harness';
import { deadPid } from '../support/helpers';

const DAY1 = '2026-01-01';
const DAY2 = '2026-01-02';

const sandbox = sandboxFactory();

async function publishedDay1() {
  const sb = sandbox();
  sb.writeDay(DAY1, events(DAY1, 8));
  sb.writeDay(DAY2, events(DAY2, 9));
  const config = sb.config();
  const r = await sb.run(config, DAY1, DAY1);
  expect(r.code, r.stderr).toBe(0);
  return { sb, config, manifest: sb.manifestText()! };
}

function writeLock(sb: Sandbox, holder: Record<string, unknown> | string): string {
  const text = typeof holder === 'string' ? holder : JSON.stringify(holder, null, 2);
  mkdirSync(dirname(sb.lockPath), { recursive: true });
  writeFileSync(sb.lockPath, text);
  return text;
}

describe('publisher lock', () => {
  it('held by a live process: exit 1, "another publisher", manifest and lock untouched', async () => {
    const { sb, config, manifest } = await publishedDay1();
    const lock = writeLock(sb, { pid: process.pid, host: hostname(), started_at: '2026-01-02T00:00:00Z', token: 'abc123' });
    const r = await sb.run(config, DAY2, DAY2);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('another publisher');
    expect(r.stderr).toContain(String(process.pid));
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(sb.manifestText()).toBe(manifest);
    expect(readFileSync(sb.lockPath, 'utf8')).toBe(lock);
    expect(sb.checkpoint()).toBe(DAY1);
  });

  it('a stale lock (pid of an exited process on this host) is recovered and the run succeeds', async () => {
    const { sb, config, manifest } = await publishedDay1();
    writeLock(sb, { pid: deadPid(), host: hostname(), started_at: '2026-01-02T00:00:00Z', token: 'dead' });
    const r = await sb.run(config, DAY2, DAY2);
    expect(r.code, r.stderr).toBe(0);
    expect(sb.manifestText()).not.toBe(manifest);
    expect(sb.currentBlob('popularity').window.start).toBe(`${DAY2}T00:00:00Z`);
    expect(existsSync(sb.lockPath)).toBe(false);
    expect(sb.checkpoint()).toBe(DAY2);
  });

  it('a lock from another host is never broken automatically', async () => {
    const { sb, config, manifest } = await publishedDay1();
    const lock = writeLock(sb, { pid: deadPid(), host: `not-${hostname()}`, started_at: '2026-01-02T00:00:00Z' });
    const r = await sb.run(config, DAY2, DAY2);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('another publisher');
    expect(sb.manifestText()).toBe(manifest);
    expect(readFileSync(sb.lockPath, 'utf8')).toBe(lock);
  });

  it('an unreadable lock file is not broken either', async () => {
    const { sb, config, manifest } = await publishedDay1();
    writeLock(sb, 'garbage');
    const r = await sb.run(config, DAY2, DAY2);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('another publisher');
    expect(sb.manifestText()).toBe(manifest);
    expect(readFileSync(sb.lockPath, 'utf8')).toBe('garbage');
  });

  it('a successful run leaves no lock behind', async () => {
    const { sb } = await publishedDay1();
    expect(existsSync(sb.lockPath)).toBe(false);
  });
});

describe('two publishers at once', () => {
  // Two processes, as two schedulers starting the same job would be.
  const runAsync = cliProcess;

  it('each either succeeds or fails clearly; the manifest ends complete and the lock released', async () => {
    const sb = sandbox();
    for (const d of [DAY1, DAY2]) sb.writeDay(d, events(d, 30));
    const config = sb.config({ artifact_kinds: ['popularity', 'cooc'] });
    const args = (start: string, end: string) => runArgs(config, start, end);
    const results = await Promise.all([runAsync(args(DAY1, DAY2)), runAsync(args(DAY1, DAY2))]);
    for (const r of results) {
      if (r.code !== 0) {
        expect(r.code).toBe(1);
        expect(r.stderr).toContain('another publisher');
      }
      expect(r.stderr).not.toContain(STACK_FRAME);
    }
    expect(results.some((r) => r.code === 0)).toBe(true);
    const m = sb.manifest();
    expect(Object.keys(m.current)).toEqual(['cooc', 'popularity']);
    for (const uri of Object.values(m.current)) expect(existsSync(uri.replace(/^file:\/\//, ''))).toBe(true);
    expect(existsSync(sb.lockPath)).toBe(false);
  });
});
