/** Shared test helpers: temp folders and a config pointing every output into one. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { expect } from 'vitest';
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

/** The pid of a process that has exited (and been reaped): what a crashed writer or lock holder leaves behind. */
export function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid;
}

/** `s` single-quoted for sh. */
export const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function tempDir(prefix = 'recsys-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => removeDir(dir) };
}

/**
 * Removes a test folder (or file) and everything in it; no error when it is gone. Retries
 * (ENOTEMPTY, EBUSY) cover a writer that is still finishing inside it, such as a worker
 * thread's last temp file or a child process being reaped, instead of failing the cleanup.
 */
export function removeDir(path: string): void {
  rmSync(path, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}

/**
 * A config whose outputs all live under `outDir`; `input` is merged over the defaults. One
 * worker thread unless `input.engine.workers` says otherwise (the product's default is one per
 * core): a run's cost then does not grow with the machine, and tests about parallelism say
 * how many workers they use.
 */
export function testConfig(outDir: string, input: ConfigInput): Config {
  return parseConfig({ out_dir: outDir, ...input, engine: { workers: 1, ...input.engine } }, outDir, '<test>');
}

/**
 * `actual` holds exactly the bytes of `expected`. Compared with Buffer#equals: toEqual walks
 * a byte array element by element (seconds for a partition of a few hundred KB); a mismatch
 * reports the lengths and the first differing offset.
 */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array, what = 'bytes'): void {
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  if (a.equals(b)) return;
  let at = 0;
  while (at < a.length && at < b.length && a[at] === b[at]) at++;
  expect.fail(`${what}: ${a.length} bytes, expected ${b.length}; first difference at offset ${at}`);
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
