/**
 * The command line of a `run` for tenant demo, surface home over [start, end], shared by the
 * benchmarks (which cannot import test/) and the tests (test/support/cli-harness.ts
 * re-exports it). `extra` goes after it; one worker thread unless `workers` says otherwise.
 */
export function runArgs(config: string, start: string, end: string, extra: readonly string[] = [], workers: number = 1): string[] {
  return ['run', '--config', config, '--tenant', 'demo', '--surface', 'home', '--start', start, '--end', end, '--workers', String(workers), ...extra];
}
