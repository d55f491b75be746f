/** Shared test helpers: temp folders and a config pointing every output into one. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load';
import type { Config } from '../../src/config/types';
import type { ConfigInput } from '../../src/config/schema';

export const REPO_ROOT = join(__dirname, '..', '..');
/** The worked example of ../shared/examples/small: raw events and catalog under testdata/, expected output under test/fixtures. */
export const EXAMPLE_EXPECTED = join(REPO_ROOT, 'test', 'fixtures', 'example-small', 'expected');
export const SAMPLE_RAW = join(REPO_ROOT, 'testdata', 'raw');
export const SAMPLE_CATALOG = join(REPO_ROOT, 'testdata', 'catalog.csv');

export function tempDir(prefix = 'recsys-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A config whose outputs all live under `outDir`; `input` is merged over the defaults. */
export function testConfig(outDir: string, input: ConfigInput): Config {
  return parseConfig({ out_dir: outDir, ...input }, outDir, '<test>');
}

/**
 * `value`, or a failed test when it is missing: for reads the test expects to exist, such
 * as `days[0]` of a one-day run (tests are type-checked with noUncheckedIndexedAccess).
 */
export function must<T>(value: T | undefined | null, what = 'value'): T {
  if (value === undefined || value === null) throw new Error(`expected ${what}, got ${String(value)}`);
  return value;
}

/** Consecutive pairs `[previous, next]` of `items`, for order checks. */
export function pairs<T>(items: Iterable<T>): Array<[T, T]> {
  const out: Array<[T, T]> = [];
  let previous: { value: T } | null = null;
  for (const value of items) {
    if (previous) out.push([previous.value, value]);
    previous = { value };
  }
  return out;
}
