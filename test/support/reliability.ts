/**
 * Shared pieces of the reliability tests: a workspace folder per case, deterministic raw
 * input, the CLI in this process or in a child process (see ./cli-harness.ts for which
 * tests need a child), and an integrity check of what a reader of the registry would see.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { isTempFile } from '../../src/io/atomic';
import { encodeCompact } from '../../src/io/artifacts/go-json';
import { type RunTarget } from '../../bench/run-args';
import { cli, cliProcess, type ProcessResult, runArgs } from './cli-harness';
import { mulberry32 } from './generate';
import { REPO_ROOT, removeDir } from './helpers';

/** Text that shows a JavaScript stack trace leaked to the user. */
export const STACK_FRAME = /^\s+at .+\(?.*:\d+:\d+\)?$/m;

/** What a run ended with; `signal` is null for an in-process run. */
export type ChildResult = ProcessResult;

/**
 * `n` raw exposure lines on `day`: sessions of a few events, skewed item popularity, most
 * events with a user. Same arguments → same lines.
 */
export function genDay(day: string, n: number, opts: { seed?: number; tenant?: string; surface?: string; items?: number } = {}): string[] {
  const r = mulberry32(opts.seed ?? Number(day.replace(/-/g, '')));
  const items = opts.items ?? 60;
  const lines: string[] = [];
  let session = 0;
  let user = 0;
  let left = 0;
  for (let i = 0; i < n; i++) {
    if (left === 0) {
      session++;
      user = Math.floor(r() * 80);
      left = 1 + Math.floor(r() * 8);
    }
    left--;
    const item = Math.floor(items * Math.pow(r(), 2));
    const sec = Math.floor((i * 86_000) / n);
    const ts = new Date(Date.parse(`${day}T00:00:00Z`) + sec * 1000).toISOString().replace('.000Z', 'Z');
    const ev: Record<string, unknown> = {
      v: 1,
      ts,
      tenant: opts.tenant ?? 'demo',
      surface: opts.surface ?? 'home',
      session_id: `s${session}`,
      item_id: `item-${item}`,
      rank: i % 10,
    };
    if (user % 7 !== 0) ev.user_id = `u${user}`;
    lines.push(JSON.stringify(ev));
  }
  return lines;
}

export const ALL_KINDS = ['popularity', 'cooc', 'implicit', 'content_sim', 'session_seq'];
export const CATALOG = join(REPO_ROOT, 'testdata', 'catalog.csv');

/** One temp folder holding raw input, configs and every output of one case. */
export class Workspace {
  readonly dir: string;
  readonly raw: string;
  readonly out: string;

  constructor(prefix = 'recsys-rel-') {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.raw = join(this.dir, 'raw');
    this.out = join(this.dir, 'out');
    mkdirSync(this.raw, { recursive: true });
  }

  cleanup(): void {
    removeDir(this.dir);
  }

  writeDay(day: string, lines: string[], tenant = 'demo', surface = 'home'): void {
    mkdirSync(join(this.raw, tenant, surface), { recursive: true });
    writeFileSync(join(this.raw, tenant, surface, `exposure.${day}.jsonl`), lines.join('\n') + '\n');
  }

  /** Writes a config: every output under `out/`, raw input from `raw/`; `extra` merged over it. */
  config(extra: Record<string, unknown> = {}, name = 'config.json'): string {
    const cfg = { out_dir: this.out, raw_source: { type: 'fs', dir: this.raw }, artifact_kinds: ['popularity'], ...extra };
    const file = join(this.dir, name);
    writeFileSync(file, JSON.stringify(cfg, null, 2));
    return file;
  }

  /** `run --config … --start … --end … --workers N`, in this process. */
  async run(config: string, start: string, end: string, opts: RunTarget = {}): Promise<ChildResult> {
    return { ...(await cli(runArgs(config, start, end, [], opts))), signal: null };
  }

  /**
   * The same run in a child process: for a run that must be killed (RECSYS_FAULT), gets fault
   * hooks through its environment (RECSYS_WORKER_FAULT, a preloaded fs fault module in
   * NODE_OPTIONS), or races other processes.
   */
  runProcess(config: string, start: string, end: string, opts: RunTarget & { env?: Record<string, string> } = {}): Promise<ChildResult> {
    return cliProcess(runArgs(config, start, end, [], opts), { env: opts.env });
  }

  get registry(): string {
    return join(this.out, 'registry');
  }

  get store(): string {
    return join(this.out, 'objectstore');
  }

  manifestPath(tenant = 'demo', surface = 'home'): string {
    return join(this.registry, 'current', tenant, surface, 'manifest.json');
  }

  manifestText(tenant = 'demo', surface = 'home'): string | null {
    const p = this.manifestPath(tenant, surface);
    return existsSync(p) ? readFileSync(p, 'utf8') : null;
  }

  lockPath(tenant = 'demo', surface = 'home'): string {
    return join(this.registry, 'locks', tenant, `${surface}.lock`);
  }

  checkpointPath(tenant = 'demo', surface = 'home'): string {
    return join(this.out, 'checkpoints', tenant, surface, '_.json');
  }

  partitionPath(day: string, tenant = 'demo', surface = 'home'): string {
    return join(this.out, 'canonical', tenant, surface, 'exposures', `${day}.arrow`);
  }

  /** `<type>@<window start day>` → version, from the registry records of (tenant, surface). */
  recordedVersions(tenant = 'demo', surface = 'home'): Record<string, string> {
    const out: Record<string, string> = {};
    const base = join(this.registry, 'records', tenant, surface);
    for (const type of listDir(base)) {
      for (const name of listDir(join(base, type))) {
        if (isTempFile(name)) continue;
        const rec = JSON.parse(readFileSync(join(base, type, name), 'utf8'));
        out[`${type}@${String(rec.window.start).slice(0, 10)}`] = rec.version;
      }
    }
    return out;
  }
}

export function listDir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** Every file under `dir` (recursively) whose name is one of our temp names. */
export function tempFilesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of listDir(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (isTempFile(name)) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

export const pathOfUri = (uri: string) => uri.replace(/^file:\/\//, '');

export interface BlobCheck {
  artifact_type: string;
  tenant: string;
  surface: string;
  version: string;
  windowStart: string;
}

/**
 * A complete, valid published blob: parses as JSON, and `build.version` equals the SHA-256 of
 * the compact artifact with `build` = {"built_at":"","version":""} (recomputed here from the
 * parsed value, independently of the engine's codec) and the file name. Throws otherwise.
 */
export function checkBlob(file: string): BlobCheck {
  const text = readFileSync(file, 'utf8');
  let value: Record<string, unknown> & { build: { version: string }; window: { start: string } };
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not complete JSON: ${(err as Error).message}`);
  }
  const hashed = encodeCompact({ ...value, build: { built_at: '', version: '' } });
  const recomputed = createHash('sha256').update(hashed).digest('hex');
  if (value.build?.version !== recomputed) throw new Error(`${file}: build.version ${value.build?.version} != recomputed ${recomputed}`);
  if (basename(file, '.json') !== recomputed) throw new Error(`${file}: file name does not match version ${recomputed}`);
  return {
    artifact_type: String(value.artifact_type),
    tenant: String(value.tenant),
    surface: String(value.surface),
    version: recomputed,
    windowStart: value.window.start,
  };
}

export interface ManifestView {
  current: Record<string, string>;
  /** type → version the manifest points at. */
  versions: Record<string, string>;
  /** type → window start day of the blob it points at. */
  days: Record<string, string>;
}

/**
 * What a reader of the live pointer sees: the manifest parses with the shape of docs/contract.md §6, and every
 * URI in it names a complete blob of that type, tenant and surface that validates.
 * Returns null when there is no manifest. Throws on anything broken.
 */
export function checkManifest(ws: Workspace, tenant = 'demo', surface = 'home'): ManifestView | null {
  const text = ws.manifestText(tenant, surface);
  if (text === null) return null;
  const m = JSON.parse(text);
  if (m.v !== 1 || m.tenant !== tenant || m.surface !== surface || typeof m.updated_at !== 'string') {
    throw new Error(`manifest has the wrong shape: ${text}`);
  }
  const view: ManifestView = { current: m.current, versions: {}, days: {} };
  for (const [type, uri] of Object.entries(m.current as Record<string, string>)) {
    const blob = checkBlob(pathOfUri(uri));
    if (blob.artifact_type !== type || blob.tenant !== tenant || blob.surface !== surface) {
      throw new Error(`manifest ${type} → ${uri} holds ${blob.artifact_type} of ${blob.tenant}/${blob.surface}`);
    }
    view.versions[type] = blob.version;
    view.days[type] = blob.windowStart.slice(0, 10);
  }
  return view;
}

/** Every registry record of (tenant, surface) names a stored blob whose bytes match its sha256 and size. */
export function checkRecords(ws: Workspace, tenant = 'demo', surface = 'home'): number {
  let n = 0;
  const base = join(ws.registry, 'records', tenant, surface);
  for (const type of listDir(base)) {
    for (const name of listDir(join(base, type))) {
      if (isTempFile(name)) continue;
      const rec = JSON.parse(readFileSync(join(base, type, name), 'utf8'));
      const bytes = readFileSync(pathOfUri(rec.uri));
      if (createHash('sha256').update(bytes).digest('hex') !== rec.sha256 || bytes.length !== rec.size_bytes) {
        throw new Error(`record ${type}/${name} does not match its blob ${rec.uri}`);
      }
      checkBlob(pathOfUri(rec.uri));
      n++;
    }
  }
  return n;
}
