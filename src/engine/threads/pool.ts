/**
 * The worker pool: a fixed number of worker threads (minThreads = maxThreads, so a batch
 * run never pays for thread start-up twice) running the compiled worker module.
 *
 * Workers load JavaScript, so the pool always runs `dist/src/engine/worker/index.js`, the
 * output of `npm run build` (run by `npm ci` through `prepare`, and by `npm test`). Tests
 * that import the TypeScript sources therefore exercise the same compiled worker.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../package-root';
import { Piscina } from 'piscina';
import { PipelineError, workerError } from '../../errors';
import { CANONICAL_COLUMNS } from '../../io/canonical/day';
import type { TaskOutcome, TaskResults, WorkerTask } from './messages';

export const WORKER_SCRIPT = join(PACKAGE_ROOT, 'dist', 'src', 'engine', 'worker', 'index.js');

export interface PoolOptions {
  workers: number;
  /** V8 old-generation ceiling per worker (MiB); exceeding it fails the shard, not the process. */
  workerHeapMb: number;
}

export class WorkerPool {
  private readonly piscina: Piscina;

  constructor(readonly options: PoolOptions) {
    if (!existsSync(WORKER_SCRIPT)) {
      throw workerError(`worker module ${WORKER_SCRIPT} is missing: run "npm run build" (npm ci does it through "prepare")`);
    }
    this.piscina = new Piscina({
      filename: WORKER_SCRIPT,
      minThreads: options.workers,
      maxThreads: options.workers,
      idleTimeout: 60_000,
      resourceLimits: { maxOldGenerationSizeMb: options.workerHeapMb },
    });
    // Piscina emits 'error' when a worker dies while running no task (a task that was
    // running is rejected instead, and reported by run()). Without a listener that event
    // would crash the process with a stack trace; the dead worker is replaced either way.
    this.piscina.on('error', () => undefined);
  }

  /**
   * Runs one task; a failure (thrown in the task, worker exit, out of heap) is an E_WORKER
   * error naming the pipeline stage and the task (`taskLabel`).
   */
  async run<T extends WorkerTask>(stage: string, task: T): Promise<TaskResults[T['task']]> {
    let outcome: TaskOutcome;
    try {
      outcome = (await this.piscina.run(task)) as TaskOutcome;
    } catch (err) {
      throw workerError(`${taskLabel(stage, task)} failed: ${describeWorkerFailure(err, this.options.workerHeapMb)}`);
    }
    if (outcome.state === 'failed') {
      // A pipeline error raised in the task (E_IO naming a path) is the user's error, as it is.
      if (outcome.exitCode !== undefined) throw new PipelineError(outcome.code, outcome.exitCode, outcome.message);
      throw workerError(`${taskLabel(stage, task)} failed: ${outcome.message}`);
    }
    return outcome.result as TaskResults[T['task']];
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}

/**
 * What a failed task is called in its error: the pipeline stage and the task, e.g.
 * `ingest (parse): shard 3`, `compute cooc: shard 0`, `compute cooc (candidate ranking)`,
 * `validate (session index)`, `ingest (partition write): <path>`.
 */
export function taskLabel(stage: string, t: WorkerTask): string {
  switch (t.task) {
    case 'parse':
      return `${stage} (parse): shard ${t.shard}`;
    case 'merge':
      return `${stage} (column merge): ${CANONICAL_COLUMNS[t.column + 1]}`;
    case 'items':
      return `${stage} (session index)`;
    case 'users':
      return `${stage} (user index)`;
    case 'quote':
      return `${stage} (quoting ${t.ids} ids)`;
    case 'partition':
      return `${stage} (partition write): ${t.path}`;
    case 'encode':
      return `${stage}: shard 0`;
    case 'kernel':
      return t.label === undefined ? `${stage}: shard ${t.shard}` : `${stage} (${t.label})`;
  }
}

/**
 * Why a task was rejected by the pool: the worker ran out of its heap
 * (ERR_WORKER_OUT_OF_MEMORY), the worker thread exited (process.exit in a kernel, piscina's
 * "worker exited with code: N"), the pool was shut down, or anything else it reports.
 */
export function describeWorkerFailure(err: unknown, workerHeapMb: number): string {
  const e = err as { code?: string; message?: string } | null;
  if (e?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return `limit exceeded: engine.worker_heap_mb: the worker ran out of its heap (engine.worker_heap_mb = ${workerHeapMb}); raise engine.worker_heap_mb or lower engine.shard_rows`;
  }
  const exited = /worker exited with code:? (-?\d+)/.exec(e?.message ?? '');
  if (exited) return `the worker thread exited with code ${exited[1]} while running it`;
  return e?.message ?? String(err);
}
