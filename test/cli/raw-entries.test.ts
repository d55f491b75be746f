/**
 * Something other than a readable file where a day's raw file should be fails the day
 * (SPEC §9, the Go tool's rule): exit 1, E_IO naming the path, nothing published, no
 * ingest record (the day is not taken for a day without events). Unreadable is made real
 * as root by running the CLI as uid 65534 (setpriv), where file modes apply.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../support/cli-harness';
import { BIN, cli, events, runArgs, sandboxFactory, STACK_FRAME } from '../support/cli-harness';

const D1 = '2026-01-01';
const sandbox = sandboxFactory('recsys-raw-entries-');

const record = (sb: Sandbox) => join(sb.out, 'canonical', 'demo', 'home', 'exposures', `${D1}.ingested.json`);

describe('a raw day file that is not a readable file', () => {
  it('a folder in its place: run exits 1 naming the path; nothing published, no ingest record', async () => {
    const sb = sandbox();
    const config = sb.config();
    mkdirSync(sb.dayFile(D1), { recursive: true });
    const r = await sb.run(config, D1, D1);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`read raw file ${sb.dayFile(D1)}: a folder, not a file [E_IO]`);
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(sb.manifestText()).toBeNull();
    expect(existsSync(record(sb))).toBe(false);
  });

  it('a symbolic link to nothing in its place: ingest exits 1 naming the path', async () => {
    const sb = sandbox();
    const config = sb.config();
    mkdirSync(join(sb.raw, 'demo', 'home'), { recursive: true });
    symlinkSync(join(sb.dir, 'moved-away.jsonl'), sb.dayFile(D1));
    const r = await cli(runArgs(config, D1, D1, [], { command: 'ingest' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`read raw file ${sb.dayFile(D1)}: a symbolic link to nothing [E_IO]`);
    expect(existsSync(record(sb))).toBe(false);
  });

  it.runIf(process.getuid?.() === 0)('a file the user may not read: exit 1, E_IO naming the path (run as uid 65534)', () => {
    const sb = sandbox();
    chmodSync(sb.dir, 0o755);
    const config = sb.config();
    chmodSync(config, 0o644);
    mkdirSync(sb.out, { mode: 0o777 });
    chmodSync(sb.out, 0o777);
    const file = sb.writeDay(D1, events(D1, 3));
    for (const d of [sb.raw, join(sb.raw, 'demo'), join(sb.raw, 'demo', 'home')]) chmodSync(d, 0o755);
    chmodSync(file, 0o600); // root's; uid 65534 may not read it
    const args = runArgs(config, D1, D1);
    const r = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, BIN, ...args], {
      cwd: sb.dir,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: sb.dir },
    });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain('EACCES');
    expect(r.stderr).toContain('[E_IO]');
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(sb.manifestText()).toBeNull();
    expect(existsSync(record(sb))).toBe(false);
  });
});
