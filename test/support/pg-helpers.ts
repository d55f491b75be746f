/**
 * Helpers of the Postgres CLI tests (signals.test.ts, catalog-import.test.ts): the CLI in
 * this process (the harness's `cli`), configs built from configs/local.json over the worked
 * example's data with a `db` section, and readers of what a run published.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { must, REPO_ROOT, SAMPLE_CATALOG, SAMPLE_RAW } from './helpers';

export { cli, type CliResult, STACK_FRAME } from './cli-harness';

export interface DbSection {
  dsn: string;
  auto_create_tenant?: boolean;
  statement_timeout_s?: number;
}

/**
 * configs/local.json (all five kinds, the worked example's raw events and catalog) with
 * every output under `<dir>/<name>`, one worker, and `db` as given (none when undefined); the config file
 * is `<dir>/<name>.json`. Returns its path and out_dir.
 */
export function writeConfig(dir: string, name: string, db: DbSection | undefined, over: Record<string, unknown> = {}): { file: string; outDir: string } {
  const config = JSON.parse(readFileSync(join(REPO_ROOT, 'configs', 'local.json'), 'utf8'));
  config.raw_source.dir = SAMPLE_RAW;
  config.catalog.path = SAMPLE_CATALOG;
  config.out_dir = join(dir, name);
  config.engine = { workers: 1 }; // one worker thread per run: these tests are not about parallelism
  if (db) config.db = db;
  Object.assign(config, over);
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  return { file, outDir: config.out_dir };
}

export const runArgs = (config: string, tenant: string, start: string, end: string, extra: string[] = []) => [
  'run',
  '--config',
  config,
  '--tenant',
  tenant,
  '--surface',
  'home',
  '--segment',
  'web',
  '--start',
  start,
  '--end',
  end,
  ...extra,
];

/** `{day: {type: version}}` from the "published:" lines of a run summary. */
export function publishedVersions(stdout: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const m of stdout.matchAll(/^ {2}(\d{4}-\d{2}-\d{2}) {2}(\w+)\s+([0-9a-f]{64}) {2}\d+ bytes$/gm)) {
    (out[must(m[1])] ??= {})[must(m[2])] = must(m[3]);
  }
  return out;
}

/** A published blob of the filesystem object store, parsed; a failed test when `version` is missing. */
export function readPublished(outDir: string, tenant: string, type: string, version: string | undefined): Record<string, unknown> {
  return JSON.parse(readFileSync(join(outDir, 'objectstore', tenant, 'home', type, `${must(version, `a ${type} version`)}.json`), 'utf8'));
}
