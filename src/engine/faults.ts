/**
 * Fault points for the reliability tests: with RECSYS_FAULT=<point> in the environment the
 * process kills itself with SIGKILL when it reaches that point, as a power cut or an OOM
 * killer would; with RECSYS_FAULT=<point>:SIGINT (or :SIGTERM) it sends itself that signal
 * instead, as Ctrl-C or a scheduler stopping the pod would, and carries on. Points:
 * after-ingest-parse, after-partition-write, after-compute, after-blob-write,
 * after-record-write, after-manifest-swap. Never set in production.
 */
const [armedPoint, armedSignal = 'SIGKILL'] = (process.env.RECSYS_FAULT ?? '').split(':');
let fired = false;

export function faultPoint(name: string): void {
  if (armedPoint !== name || fired) return;
  fired = armedSignal !== 'SIGKILL'; // a signal the process survives is sent once
  process.kill(process.pid, armedSignal);
}
