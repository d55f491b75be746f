/**
 * Harness for the CLI behaviour tests: a sandbox folder per test (raw input, config and every
 * output under os.tmpdir()), the CLI run in this process (`cli`: `main(argv)` of
 * src/cli/main.ts with stdout and stderr captured) or, for tests about the process itself,
 * in a child process (`cliProcess`), and small readers for what a run leaves on disk
 * (manifest, partitions, checkpoint, summary table on stdout).
 *
 * In process is the default: a child pays for a Node start, loading the program and a worker
 * pool every time, and the CLI code that runs is the same. A child is for what only a
 * process shows: its exit status as the binary sets it, signals (SIGKILL at a crash point),
 * fault injection read from the environment at start-up (RECSYS_FAULT, a preloaded fs
 * fault module), the working directory of relative paths, several processes racing.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll } from 'vitest';
import { main } from '../../src/cli/main';
import { runArgs } from '../../bench/run-args';
import { must, REPO_ROOT, removeDir } from './helpers';

export const BIN = join(REPO_ROOT, 'bin', 'recsys-pipelines.js');

export interface CliResult {
  /** The exit code: main's result in process; the child's exit status (null when a signal ended it). */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ProcessResult extends CliResult {
  signal: NodeJS.Signals | null;
}

/** Whether an in-process run has changed the working directory or the environment. */
let processStateHeld = false;

/**
 * Runs the CLI in this process: `main([node, bin, ...args])` with stdout and stderr captured
 * (stderr is not a terminal). `code` is what main resolves to, which bin/recsys-pipelines.js
 * sets as the process exit code.
 *
 * `cwd`: the working directory for the run (relative --config and config paths resolve
 * against it). `env`: variables set for the run and restored after it, for settings read when
 * the run needs them (AWS_MAX_ATTEMPTS when an S3 client is made, RECSYS_WORKER_FAULT when
 * a worker starts); RECSYS_FAULT is read once, when the program loads: use cliProcess.
 * Both are process-wide, so such runs must not overlap; vitest's `forks` pool
 * (vitest.config.mts) gives every test file a process of its own.
 */
export async function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io = { out: (s: string) => void (stdout += s), err: (s: string) => void (stderr += s), errIsTTY: false };
  const run = async () => ({ code: await main([process.execPath, BIN, ...args], io), stdout, stderr });
  if (opts.cwd === undefined && opts.env === undefined) return run();
  if (opts.env && 'RECSYS_FAULT' in opts.env) throw new Error('RECSYS_FAULT is read when the program loads: run it with cliProcess');
  if (processStateHeld) throw new Error('in-process CLI runs with a cwd or env overlap: run them one after another');
  processStateHeld = true;
  const cwd = process.cwd();
  const saved = Object.entries(opts.env ?? {}).map(([k]) => [k, process.env[k]] as const);
  try {
    if (opts.cwd !== undefined) process.chdir(opts.cwd);
    Object.assign(process.env, opts.env);
    return await run();
  } finally {
    process.chdir(cwd);
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    processStateHeld = false;
  }
}

/**
 * Runs `node bin/recsys-pipelines.js <args>` in a child process and captures everything.
 * `env` is merged over this process's environment (NODE_OPTIONS cleared, the fault hooks
 * RECSYS_FAULT and RECSYS_WORKER_FAULT removed unless given). No time limit of its own: a
 * run that hangs is caught by the suite's deadlock guard (vitest.config.mts).
 */
export function cliProcess(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<ProcessResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '', ...opts.env };
  for (const k of ['RECSYS_FAULT', 'RECSYS_WORKER_FAULT'] as const) if (!opts.env?.[k]) delete env[k];
  return captureProcess(process.execPath, [BIN, ...args], { cwd: opts.cwd, env });
}

/** Runs `command args` (no shell, stdin closed) and captures its exit, stdout and stderr. */
export function captureProcess(command: string, args: string[], opts: { cwd?: string; env: NodeJS.ProcessEnv }): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export { runArgs } from '../../bench/run-args';

/** Text that shows a JavaScript stack trace leaked to the user. */
export const STACK_FRAME = '    at ';

export interface EventFields {
  v?: unknown;
  ts?: unknown;
  tenant?: unknown;
  surface?: unknown;
  session_id?: unknown;
  item_id?: unknown;
  user_id?: unknown;
  request_id?: unknown;
  rank?: unknown;
}

/** One raw exposure line; defaults: v 1, tenant demo, surface home, 2026-01-01T08:00:00Z, session s1, item i1. */
export function ev(f: EventFields & Record<string, unknown> = {}): string {
  const base: Record<string, unknown> = {
    v: 1,
    ts: '2026-01-01T08:00:00Z',
    tenant: 'demo',
    surface: 'home',
    session_id: 's1',
    item_id: 'i1',
  };
  const out: Record<string, unknown> = { ...base, ...f };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return JSON.stringify(out);
}

/** `n` events on `day`, spread over the day; fields may depend on the index. */
export function events(day: string, n: number, f: (i: number) => EventFields = () => ({})): string[] {
  return Array.from({ length: n }, (_, i) => {
    const sec = 3600 + i * 7;
    const hh = String(Math.floor(sec / 3600)).padStart(2, '0');
    const mm = String(Math.floor((sec % 3600) / 60)).padStart(2, '0');
    const ss = String(sec % 60).padStart(2, '0');
    return ev({ ts: `${day}T${hh}:${mm}:${ss}Z`, session_id: `s${i % 3}`, item_id: `i${i % 4}`, user_id: `u${i % 2}`, rank: i, ...f(i) });
  });
}

export interface PublishedLine {
  day: string;
  type: string;
  version: string;
}

/** The `published:` lines of a run summary. */
export function publishedLines(stdout: string): PublishedLine[] {
  const out: PublishedLine[] = [];
  for (const m of stdout.matchAll(/^\s+(\d{4}-\d\d-\d\d)\s+(\S+)\s+([0-9a-f]{64})\s+\d+ bytes$/gm)) {
    out.push({ day: must(m[1]), type: must(m[2]), version: must(m[3]) });
  }
  return out;
}

export interface SummaryRow {
  day: string;
  lines: number;
  events: number;
  skippedTenantSurface: number;
  skippedOutsideDay: number;
  rejected: number;
}

/** The per-day rows of the summary table (day, lines, events, skip:tenant/surface, skip:outside-day, rejected). */
export function summaryRows(stdout: string): SummaryRow[] {
  const out: SummaryRow[] = [];
  for (const m of stdout.matchAll(/^(\d{4}-\d\d-\d\d)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s/gm)) {
    out.push({
      day: must(m[1]),
      lines: Number(m[2]),
      events: Number(m[3]),
      skippedTenantSurface: Number(m[4]),
      skippedOutsideDay: Number(m[5]),
      rejected: Number(m[6]),
    });
  }
  return out;
}

/** The version in an artifact URI; a failed test when the URI is missing (say, no current version of a type). */
export const versionOfUri = (uri: string | undefined) => basename(must(uri, 'an artifact uri'), '.json');

export interface Manifest {
  v: number;
  tenant: string;
  surface: string;
  current: Record<string, string>;
  updated_at: string;
}

/**
 * A maker of sandboxes for a test file: each call gives a new Sandbox (`prefix` for its
 * folder name), and all of them are removed after the tests of the file, or of the describe
 * block the maker was made in (it registers the afterAll hook where it is called).
 */
export function sandboxFactory(prefix?: string): () => Sandbox {
  const made: Sandbox[] = [];
  afterAll(() => made.forEach((s) => s.cleanup()));
  return () => {
    const s = new Sandbox(prefix);
    made.push(s);
    return s;
  };
}

/** One temp folder holding raw input, configs and every output of a test. */
export class Sandbox {
  readonly dir: string;
  readonly raw: string;
  readonly out: string;

  constructor(prefix = 'recsys-cli-') {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.raw = join(this.dir, 'raw');
    this.out = join(this.dir, 'out');
    mkdirSync(this.raw, { recursive: true });
  }

  cleanup(): void {
    removeDir(this.dir);
  }

  /** Writes a config (out_dir and raw_source.dir preset; `extra` merged over them, `limits`/`ingest` merged key by key). */
  config(extra: Record<string, unknown> = {}, name = 'config.json'): string {
    const cfg: Record<string, unknown> = {
      out_dir: this.out,
      raw_source: { type: 'fs', dir: this.raw },
      artifact_kinds: ['popularity'],
      ...extra,
    };
    const file = join(this.dir, name);
    writeFileSync(file, JSON.stringify(cfg, null, 2));
    return file;
  }

  dayFile(day: string, tenant = 'demo', surface = 'home'): string {
    return join(this.raw, tenant, surface, `exposure.${day}.jsonl`);
  }

  writeDay(day: string, lines: string[], tenant = 'demo', surface = 'home'): string {
    const file = this.dayFile(day, tenant, surface);
    mkdirSync(join(this.raw, tenant, surface), { recursive: true });
    writeFileSync(file, lines.join('\n') + '\n');
    return file;
  }

  removeDay(day: string, tenant = 'demo', surface = 'home'): void {
    removeDir(this.dayFile(day, tenant, surface));
  }

  /** `run --config … --tenant demo --surface home --start … --end … --workers 1 [extra]`, in process. */
  run(config: string, start: string, end: string, extra: string[] = []): Promise<CliResult> {
    return cli(runArgs(config, start, end, extra));
  }

  get manifestPath(): string {
    return join(this.out, 'registry', 'current', 'demo', 'home', 'manifest.json');
  }

  manifestText(): string | null {
    return existsSync(this.manifestPath) ? readFileSync(this.manifestPath, 'utf8') : null;
  }

  manifest(): Manifest {
    return JSON.parse(readFileSync(this.manifestPath, 'utf8')) as Manifest;
  }

  /** The blob the manifest points at for `type`, parsed. */
  currentBlob(type: string): { window: { start: string; end: string }; build: { version: string }; [k: string]: unknown } {
    const uri = must(this.manifest().current[type], `a current ${type} in the manifest`);
    return JSON.parse(readFileSync(uri.replace(/^file:\/\//, ''), 'utf8'));
  }

  partitionPath(day: string): string {
    return join(this.out, 'canonical', 'demo', 'home', 'exposures', `${day}.arrow`);
  }

  rejectsPath(day: string): string {
    return join(this.out, 'canonical', 'demo', 'home', 'exposures', `${day}.rejects.jsonl`);
  }

  get checkpointPath(): string {
    return join(this.out, 'checkpoints', 'demo', 'home', '_.json');
  }

  /** `last_day` of the checkpoint, or null without one. */
  checkpoint(): string | null {
    return existsSync(this.checkpointPath) ? (JSON.parse(readFileSync(this.checkpointPath, 'utf8')).last_day as string) : null;
  }

  get lockPath(): string {
    return join(this.out, 'registry', 'locks', 'demo', 'home.lock');
  }

  recordPath(type: string, version: string): string {
    return join(this.out, 'registry', 'records', 'demo', 'home', type, `${version}.json`);
  }

  blobPath(type: string, version: string): string {
    return join(this.out, 'objectstore', 'demo', 'home', type, `${version}.json`);
  }
}
