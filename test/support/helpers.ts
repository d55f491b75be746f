/** Shared test helpers: temp folders and a config pointing every output into one. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type Config, type ConfigInput } from '../../src/config/config';

export const REPO_ROOT = join(__dirname, '..', '..');
/** The worked example of ../shared/examples/small: raw events and catalog under testdata/, expected output under test/fixtures. */
export const EXAMPLE_EXPECTED = join(REPO_ROOT, 'test', 'fixtures', 'example-small', 'expected');
export const SAMPLE_RAW = join(REPO_ROOT, 'testdata', 'raw');
export const SAMPLE_CATALOG = join(REPO_ROOT, 'testdata', 'catalog.csv');

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

/** A config whose outputs all live under `outDir`; `input` is merged over the defaults. */
export function testConfig(outDir: string, input: ConfigInput): Config {
  return parseConfig({ out_dir: outDir, ...input }, outDir, '<test>');
}
