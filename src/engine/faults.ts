/**
 * Crash points for the reliability tests: with RECSYS_FAULT=<point> in the environment the
 * process kills itself with SIGKILL when it reaches that point, as a power cut or an OOM
 * killer would. Points: after-ingest-parse, after-partition-write, after-compute,
 * after-blob-write, after-record-write, after-manifest-swap. Never set in production.
 */
const armed = process.env.RECSYS_FAULT;

export function faultPoint(name: string): void {
  if (armed === name) process.kill(process.pid, 'SIGKILL');
}
