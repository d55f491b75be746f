/**
 * The metrics of a CLI command, sent where the config and the flags say
 * (`metrics.textfile` / `--metrics-textfile`, `metrics.pushgateway` / `--pushgateway`).
 *
 * Metrics never change the outcome of a command: a write or a push that fails is one
 * warning on stderr, and the exit code is the command's own. Usage and config errors
 * (exit 2) send nothing: nothing ran.
 */
import type { Config, MetricsConfig } from '../config/types';
import { isPipelineError, type ErrorCode } from '../errors';
import { METRIC, runMetrics, statusMetrics, type MetricsCommand, type RunOutcome } from '../engine/ops/metrics';
import type { Status } from '../engine/ops/status';
import type { RunSummary } from '../engine/pipeline/request';
import { groupingKey, pushMetrics } from '../io/metrics/pushgateway';
import { readTextfileSample, writeTextfile } from '../io/metrics/textfile';
import { PACKAGE_VERSION } from '../package-root';

export interface RunMetricsScope {
  config: Config;
  command: MetricsCommand;
  tenant: string;
  surface: string;
  segment: string;
  /** Artifact types the command handles. */
  types: readonly string[];
  /** Worker threads, for commands that start the pool. */
  workers: number | null;
  warn: (message: string) => void;
}

const hasTargets = (m: MetricsConfig) => m.textfile !== null || m.pushgateway !== null;

/**
 * Runs a state-changing command and then sends its metrics, whether it succeeded or failed
 * at run time. `action` gets the hook that receives the day loop's summary (also on failure).
 */
export async function withRunMetrics<T>(scope: RunMetricsScope, action: (onFinish: (summary: RunSummary) => void) => Promise<T>): Promise<T> {
  if (!hasTargets(scope.config.metrics)) return action(() => undefined);
  const started = performance.now();
  let summary: RunSummary | null = null;
  let errorCode: ErrorCode | 'E_INTERNAL' | null = null;
  let send = true;
  try {
    return await action((s) => (summary = s));
  } catch (err) {
    send = !(isPipelineError(err) && err.exitCode === 2);
    errorCode = isPipelineError(err) ? err.code : 'E_INTERNAL';
    throw err;
  } finally {
    if (send) {
      const outcome: RunOutcome = {
        command: scope.command,
        tenant: scope.tenant,
        surface: scope.surface,
        finishedAtMs: Date.now(),
        durationSeconds: (performance.now() - started) / 1000,
        summary,
        errorCode,
        types: scope.types,
        workers: scope.workers,
        peakRssBytes: process.resourceUsage().maxRSS * 1024,
        version: PACKAGE_VERSION,
      };
      await sendRunMetrics(scope.config.metrics, outcome, scope.segment, scope.warn);
    }
  }
}

/** Writes the textfile (carrying the timestamp this run does not set) and pushes, in parallel. */
export async function sendRunMetrics(targets: MetricsConfig, outcome: RunOutcome, segment: string, warn: (message: string) => void): Promise<void> {
  const sends: Promise<void>[] = [];
  if (targets.textfile !== null) {
    const file = targets.textfile;
    sends.push(
      (async () => {
        const labels = { command: outcome.command, tenant: outcome.tenant, surface: outcome.surface };
        const seconds = async (name: string) => {
          const s = await readTextfileSample(file, name, labels);
          return s === undefined ? undefined : s * 1000;
        };
        const carried = { lastSuccessMs: await seconds(METRIC.lastSuccessTimestamp), lastFailureMs: await seconds(METRIC.lastFailureTimestamp) };
        await writeTextfile(file, runMetrics(outcome, { carried }));
      })().catch((err: unknown) => warn(`metrics: cannot write the textfile: ${message(err)}`)),
    );
  }
  if (targets.pushgateway !== null) {
    const { url, timeout_s } = targets.pushgateway;
    sends.push(
      (async () => {
        const key = groupingKey({ command: outcome.command, tenant: outcome.tenant, surface: outcome.surface, segment });
        await pushMetrics(runMetrics(outcome, { carried: 'omit' }), { url, timeoutMs: timeout_s * 1000, groupingKey: key });
      })().catch((err: unknown) => warn(`metrics: ${message(err)} (the command's own outcome and exit code are unchanged)`)),
    );
  }
  await Promise.all(sends);
}

/** `status --metrics` / `--metrics-textfile`: the status as exposition text, printed or written. */
export async function statusMetricsText(status: Status): Promise<string> {
  return statusMetrics(status).metrics();
}

export async function writeStatusTextfile(path: string, status: Status): Promise<void> {
  await writeTextfile(path, statusMetrics(status));
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
