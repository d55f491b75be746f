/**
 * An emulator of the Go tool's `run`, for trying a switch-over without a Go binary
 * (docs/migrate-from-go.md, test/e2e/go-switch.test.ts). It leaves exactly the state the Go
 * tool leaves (docs/contract.md §9), in the folders of a config:
 *
 *   <canonical_dir>/<t>/<s>/exposures/<day>.jsonl      Go canonical partition (no file for a day without events)
 *   <object_store.dir>/<t>/<s>/<type>/<version>.json   the blob (the same bytes as ours: the artifacts are byte-identical)
 *   <registry_dir>/records/<t>/<s>/<type>/<v>.json     Go record: Key, Window, Version, URI (raw, unencoded path), BuiltAt
 *   <registry_dir>/current/<t>/<s>/manifest.json       the §6 manifest, raw URIs, no history kept
 *   <checkpoint_dir>/<t>/<s>.json                      {"day": …}; --incremental reads only this one
 *
 *   npm run go-tool -- run --config <path> --tenant <t> --surface <s> (--start D | --incremental) --end D
 *
 * The artifacts are computed by this project's own pipeline in a scratch folder (one day,
 * no segment, window_days 1: the Go tool has neither), then placed in the Go layout. Not a
 * reference for tests of our readers: those use hand-written fixtures (test/fixtures/go-state).
 * Filesystem object store only. Events of other tenants/surfaces are left out of the
 * partition (the Go tool kept them; generated data has none).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { loadConfig } from '../src/config/load';
import type { Config } from '../src/config/types';
import { addDays, daysBetween, rfc3339Seconds } from '../src/days';
import { runPipeline } from '../src/engine/pipeline/run';
import { goPartitionPath } from '../src/io/canonical/partitions';
import { resolveRawFiles } from '../src/io/sources/fs';
import { goCheckpointPath } from '../src/io/store/checkpoint';

interface GoRunArgs {
  config: string;
  tenant: string;
  surface: string;
  start?: string;
  end: string;
  incremental: boolean;
}

function parseArgs(argv: string[]): GoRunArgs {
  const [command, ...rest] = argv;
  if (command !== 'run') throw new Error('usage: go-tool run --config <path> --tenant <t> --surface <s> (--start D | --incremental) --end D');
  const o: Record<string, string> = {};
  let incremental = false;
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    if (flag === '--incremental') incremental = true;
    else if (flag.startsWith('--') && rest[i + 1] !== undefined) o[flag.slice(2)] = rest[++i]!;
    else throw new Error(`bad argument ${flag}`);
  }
  for (const k of ['config', 'tenant', 'surface', 'end']) if (!o[k]) throw new Error(`--${k} is required`);
  if (!incremental && !o.start) throw new Error('--start is required (or --incremental)');
  return { config: o.config, tenant: o.tenant, surface: o.surface, start: o.start, end: o.end, incremental };
}

/** JSON as Go's json.MarshalIndent(v, "", "  ") prints these ASCII-only values. */
const pretty = (value: unknown) => JSON.stringify(value, null, 2);

function writeAtomic(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** RFC 3339 in UTC as Go's time.Time prints it: no fraction when it is zero, no trailing zeros. */
function goTime(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/\.000Z$/, 'Z')
    .replace(/(\.\d*?)0+Z$/, '$1Z');
}

/** The day's events in the Go partition line format (field order of docs/contract.md §9). */
function goPartitionLines(config: Config, tenant: string, surface: string, day: string): string[] {
  const input = resolveRawFiles(config.raw_source.dir!, tenant, surface, day);
  if (input.kind === 'none') return [];
  const bytes = readFileSync(input.path);
  const text = (input.path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
  const start = Date.parse(`${day}T00:00:00Z`);
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const e = JSON.parse(line) as Record<string, unknown>;
    const str = (k: string) => (typeof e[k] === 'string' ? e[k].trim() : '');
    const ts = Date.parse(String(e.ts));
    if (str('tenant') !== tenant || str('surface') !== surface || !(ts >= start && ts < start + 86_400_000)) continue;
    const ev: Record<string, unknown> = { v: 1, ts: goTime(ts), tenant, surface };
    if (str('user_id')) ev.user_id = str('user_id');
    ev.session_id = str('session_id');
    if (str('request_id')) ev.request_id = str('request_id');
    ev.item_id = str('item_id');
    if (typeof e.rank === 'number' && e.rank !== 0) ev.rank = e.rank;
    out.push(JSON.stringify(ev));
  }
  return out;
}

/** One day as the Go tool runs it; returns the published (type, version) pairs. */
async function goDay(config: Config, tenant: string, surface: string, day: string): Promise<Array<{ type: string; version: string; uri: string }>> {
  const scratch = mkdtempSync(join(tmpdir(), 'go-tool-'));
  try {
    const scratchConfig: Config = {
      ...config,
      out_dir: scratch,
      canonical_dir: join(scratch, 'canonical'),
      checkpoint_dir: join(scratch, 'checkpoints'),
      artifacts_dir: join(scratch, 'artifacts'),
      registry_dir: join(scratch, 'registry'),
      object_store: { type: 'fs', dir: join(scratch, 'objectstore') },
      window_days: 1,
      gates: { ...config.gates, allow_empty: true }, // the Go tool publishes empty days
      metrics: { textfile: null, pushgateway: null },
      db: undefined,
    };
    const summary = await runPipeline({ config: scratchConfig, tenant, surface, segment: '', start: day, end: day, incremental: false, log: () => undefined });
    const published = summary.days[0]?.published ?? [];

    // The canonical partition: JSONL, removed for a day without events.
    const partition = goPartitionPath(config.canonical_dir, tenant, surface, day);
    const lines = goPartitionLines(config, tenant, surface, day);
    if (lines.length > 0) writeAtomic(partition, lines.join('\n') + '\n');
    else rmSync(partition, { force: true });

    const current: Record<string, string> = {};
    const out: Array<{ type: string; version: string; uri: string }> = [];
    for (const p of published) {
      const key = join(tenant, surface, p.type, `${p.version}.json`);
      const blob = readFileSync(join(scratch, 'objectstore', key));
      const target = resolve(config.object_store.dir, key);
      if (!existsSync(target)) writeAtomic(target, blob.toString('utf8'));
      const uri = `file://${target}`; // raw, unencoded, as the Go tool writes it
      const build = (JSON.parse(blob.toString('utf8')) as { build: { built_at: string } }).build;
      const window = { Start: `${day}T00:00:00Z`, End: `${addDays(day, 1)}T00:00:00Z` };
      const record = join(config.registry_dir, 'records', key);
      if (!existsSync(record)) {
        writeAtomic(
          record,
          pretty({
            Key: { Tenant: tenant, Surface: surface, Segment: '', Type: p.type },
            Window: window,
            Version: p.version,
            URI: uri,
            BuiltAt: build.built_at,
          }),
        );
      }
      current[p.type] = uri;
      out.push({ type: p.type, version: p.version, uri });
    }

    // The manifest (§6 shape), swapped in place; the Go tool keeps no history.
    const manifestFile = join(config.registry_dir, 'current', tenant, surface, 'manifest.json');
    const previous = existsSync(manifestFile) ? (JSON.parse(readFileSync(manifestFile, 'utf8')) as { current: Record<string, string> }).current : {};
    const merged: Record<string, string> = { ...previous, ...current };
    const sorted = Object.fromEntries(
      Object.keys(merged)
        .sort()
        .map((k) => [k, merged[k]]),
    );
    writeAtomic(manifestFile, pretty({ v: 1, tenant, surface, current: sorted, updated_at: rfc3339Seconds(Date.now()) }));

    writeAtomic(goCheckpointPath(config.checkpoint_dir, tenant, surface), pretty({ day }));
    return out;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** `go-tool run …` with paths relative to `cwd`; returns its output lines. */
export async function goTool(argv: string[], cwd = process.cwd()): Promise<string[]> {
  const args = parseArgs(argv);
  const config = loadConfig(args.config, cwd);
  if (config.object_store.type !== 'fs') throw new Error('the go-tool emulator writes a filesystem object store only');
  let start = args.start;
  if (args.incremental) {
    const file = goCheckpointPath(config.checkpoint_dir, args.tenant, args.surface);
    if (existsSync(file)) start = addDays((JSON.parse(readFileSync(file, 'utf8')) as { day: string }).day, 1);
    else if (!start) throw new Error('--incremental: no checkpoint, --start is required');
  }
  const lines: string[] = [];
  if (start! > args.end) return ['go-tool: nothing to do'];
  for (const day of daysBetween(start!, args.end)) {
    for (const p of await goDay(config, args.tenant, args.surface, day)) lines.push(`go-tool ${day} ${p.type} ${p.version}`);
  }
  return lines;
}

if (require.main === module) {
  goTool(process.argv.slice(2)).then(
    (lines) => console.log(lines.join('\n')),
    (err: unknown) => {
      console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 2;
    },
  );
}
