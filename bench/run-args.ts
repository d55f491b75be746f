/** Who a `run` (or another day-range command) is for and on how many worker threads; by default `run`, tenant demo, surface home, one worker. */
export interface RunTarget {
  command?: string;
  tenant?: string;
  surface?: string;
  workers?: number;
}

/**
 * The command line of a `run` over [start, end], shared by the benchmarks (which cannot
 * import test/) and the tests (test/support/cli-harness.ts re-exports it). `extra` goes after it.
 */
export function runArgs(config: string, start: string, end: string, extra: readonly string[] = [], target: RunTarget = {}): string[] {
  const { command = 'run', tenant = 'demo', surface = 'home', workers = 1 } = target;
  return [command, '--config', config, '--tenant', tenant, '--surface', surface, '--start', start, '--end', end, '--workers', String(workers), ...extra];
}
