/**
 * Real storage faults for tests that run as root (CI does), where chmod blocks nothing:
 * the CLI runs in a child process inside its own mount namespace (`unshare --mount`, whose
 * mounts vanish with it and never reach the host), after shell steps that make a folder a
 * read-only bind mount (EROFS) or a tiny tmpfs (ENOSPC), and optionally as an unprivileged
 * user (`setpriv --reuid 65534 --regid 65534 --clear-groups`: EACCES where file modes say so).
 *
 * `storageFaultsUnavailable()` says why such runs cannot happen here (not root, unshare or
 * setpriv refused), or null. A test file skips with that reason, except under CI=true,
 * where a missing capability fails the file instead of hiding the tests.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BIN, captureProcess, type ProcessResult } from './cli-harness';
import { shellQuote as q } from './helpers';

/** The user nobody (65534) of most distributions: no folder of the tests belongs to it. */
export const NOBODY = 65534;

export function storageFaultsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (unshare --mount, setpriv)';
  const probe = spawnSync('unshare', ['--mount', 'sh', '-c', 'd=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs "$d" && umount "$d" && rmdir "$d"']);
  if (probe.status !== 0) return `unshare --mount refused: ${String(probe.stderr).trim() || `status ${probe.status}`}`;
  const setpriv = spawnSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', 'true']);
  if (setpriv.status !== 0) return `setpriv refused: ${String(setpriv.stderr).trim() || `status ${setpriv.status}`}`;
  return null;
}

/** Shell step: `dir` becomes a read-only bind mount of itself (writes fail with EROFS). */
export const readOnly = (dir: string) => `mount --bind ${q(dir)} ${q(dir)} && mount -o remount,ro,bind ${q(dir)}`;

/** Shell step: an empty tmpfs of `size` (mount's syntax: 64k) over `dir` (a full disk: ENOSPC). */
export const tinyDisk = (dir: string, size: string) => `mount -t tmpfs -o size=${size},mode=0755 tmpfs ${q(dir)}`;

/** Shell step: every file name under `dir` (inside the namespace) into `listFile`, one a line, after the CLI ran. */
export const listFilesInto = (dir: string, listFile: string) => `find ${q(dir)} -type f > ${q(listFile)}`;

export interface FaultRun {
  /** Shell steps run before the CLI, inside the mount namespace. */
  mounts?: string[];
  /** Shell steps run after the CLI, inside the namespace (the exit status stays the CLI's). */
  after?: string[];
  /** Run the CLI as this uid/gid (setpriv), with no supplementary groups. */
  uid?: number;
  cwd?: string;
}

/** `node bin/recsys-pipelines.js <args>` inside `unshare --mount`, after `mounts`, as `uid` when given. */
export function cliWithFaults(args: string[], opts: FaultRun): Promise<ProcessResult> {
  const asUser = opts.uid === undefined ? '' : `setpriv --reuid ${opts.uid} --regid ${opts.uid} --clear-groups `;
  const script = [
    ...(opts.mounts ?? []).map((m) => `${m} || exit 99`),
    `${asUser}${q(process.execPath)} ${q(BIN)} "$@"`,
    'rc=$?',
    ...(opts.after ?? []),
    'exit $rc',
  ].join('\n');
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: opts.cwd ?? '/', LANG: 'C' };
  return captureProcess('unshare', ['--mount', 'sh', '-c', script, 'sh', ...args], { cwd: opts.cwd, env });
}

/**
 * Lets another user work under `dir` as a deployment would let the pipeline's user: `dir`'s
 * parents searchable, every folder under it writable (0777) and every file readable (0644),
 * except the folders of `rootOnly` (and everything under them), which stay root's (0755).
 */
export function openTo(dir: string, rootOnly: string[] = []): void {
  for (let up = dirname(dir); up !== dirname(up); up = dirname(up)) chmodSync(up, statSync(up).mode | 0o111);
  const walk = (d: string, mode: number) => {
    const m = rootOnly.includes(d) ? 0o755 : mode;
    chmodSync(d, m);
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), m);
      else chmodSync(join(d, e.name), 0o644);
    }
  };
  walk(dir, 0o777);
}

/** The JSON log records on stderr (`--log-format json`). */
export interface LogRecord {
  level: string;
  event: string;
  day: string | null;
  stage: string | null;
  code?: string;
  message?: string;
}

export function logRecords(stderr: string): LogRecord[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogRecord);
}

/** `day stage` of every stage_done record, in order. */
export function stagesDone(stderr: string): string[] {
  return logRecords(stderr)
    .filter((r) => r.event === 'stage_done')
    .map((r) => `${r.day} ${r.stage}`);
}
