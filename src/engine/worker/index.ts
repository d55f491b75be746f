/**
 * Worker-thread entry: runs one task of src/engine/threads/messages.ts. Imports parsing,
 * the canonical and artifact codecs, kernels and the artifact types only (never the store,
 * the registry or Postgres: the lint rule `worker boundary` keeps it so) and keeps its top
 * level cheap: the pool starts workers before the first task is ready.
 */
import { isPipelineError } from '../../errors';
import { encodeArtifactToFile } from '../../io/artifacts/codec';
import { quoteAll } from '../../io/artifacts/go-json';
import { payloadOfSpec } from '../../io/artifacts/payloads';
import { mergeColumn } from '../../io/parse/byte-dictionary';
import { parseBlock } from '../../io/parse/scanner';
import { indexItems } from '../../kernels/day-index';
import { groupUserEvents } from '../../kernels/group';
import { artifactType } from '../artifact-types';
import type { TaskOutcome, WorkerTask } from '../threads/messages';
import { collectGarbage } from '../threads/shared-memory';

/** After these (a few per day) the worker collects its garbage: see collectGarbage. */
const DAY_LEVEL_TASKS: ReadonlySet<WorkerTask['task']> = new Set(['partition', 'encode']);

function runTask(t: WorkerTask): unknown {
  switch (t.task) {
    case 'parse':
      return parseBlock(t.block, t.params);
    case 'merge':
      return mergeColumn(t.runs);
    case 'items':
      return indexItems(t.sessionCodes, t.nSessions, t.itemCodes, t.nItems);
    case 'users':
      return groupUserEvents(t.userCodes, t.itemCodes, t.tsMicros, t.nUsers);
    case 'quote':
      return quoteAll(t.values);
    case 'partition':
      // Loaded on first use: apache-arrow is not needed by most tasks, and workers start cheap.
      return import('../../io/canonical/partitions').then((c) => c.writePartition(t.day, t.path));
    case 'encode':
      return encodeArtifactToFile(t.header, payloadOfSpec(t.spec), t.builtAt, t.stageDir);
    case 'kernel': {
      const { kernel } = artifactType(t.type);
      if (kernel === null) throw new Error(`artifact type ${t.type} has no kernel`);
      return kernel(t.input);
    }
  }
}

/** The name the fault hook matches: the task, or for a kernel task its artifact type. */
const faultName = (t: WorkerTask) => (t.task === 'kernel' ? t.type : t.task);

/**
 * Test-only fault hook for the reliability tests: RECSYS_WORKER_FAULT=<mode>[:<name>[:<shard>]]
 * with mode `throw` (the task throws), `exit` (process.exit(3) inside the worker) or `oom`
 * (allocates until the worker's heap limit), for every task or only those of one name (a
 * task: parse, merge, items, users, quote, partition, encode; or an artifact type for its
 * kernel tasks: cooc, implicit, …) and shard. Read per task: one env lookup. Never set in
 * production.
 */
function injectedFault(t: WorkerTask): void {
  const spec = process.env.RECSYS_WORKER_FAULT;
  if (!spec) return;
  const [mode, name, shard] = spec.split(':');
  if ((name && name !== faultName(t)) || (shard && Number(shard) !== ('shard' in t ? t.shard : 0))) return;
  if (mode === 'throw') throw new Error(`injected fault (RECSYS_WORKER_FAULT=${spec})`);
  if (mode === 'exit') process.exit(3);
  if (mode === 'oom') {
    const hog: number[][] = [];
    for (;;) hog.push(Array.from({ length: 1 << 16 }, (_, i) => i + 0.5));
  }
}

export default async function runWorkerTask(t: WorkerTask): Promise<TaskOutcome> {
  try {
    injectedFault(t);
    // Results are shared arrays: returned as they are, never transferred (shared-memory.ts).
    const result = await runTask(t);
    if (DAY_LEVEL_TASKS.has(t.task)) collectGarbage();
    return { state: 'ok', result };
  } catch (err) {
    // A pipeline error (an unwritable partition: E_IO naming the path) keeps its code and exit code.
    if (isPipelineError(err)) return { state: 'failed', code: err.code, exitCode: err.exitCode, message: err.message };
    return { state: 'failed', code: 'E_WORKER', message: (err as Error)?.message ?? String(err) };
  }
}
