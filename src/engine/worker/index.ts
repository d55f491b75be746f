/**
 * Worker-thread entry. Imports kernels and the pure raw parser only (nothing from the
 * main-thread side) and keeps its top level cheap: the pool starts workers before the
 * first shard is ready.
 */
import { isPipelineError } from '../../errors';
import { encodeArtifactToFile } from '../../io/artifacts/codec';
import { mergeColumn } from '../../io/parse/byte-dictionary';
import { parseBlock } from '../../io/parse/scanner';
import { quoteAll } from '../../io/artifacts/go-json';
import { payloadOfSpec } from '../../io/artifacts/payloads';
import { coocRows, indexSessions, rankedCandidates } from '../../kernels/cooc';
import { groupUserEvents } from '../../kernels/group';
import { implicitRows } from '../../kernels/implicit';
import { sessionSeqRows } from '../../kernels/session-seq';
import { ShardOutcome, ShardTask } from '../threads/messages';
import { collectGarbage } from '../threads/shared-memory';

/** After these (a few per day) the worker collects its garbage: see collectGarbage. */
const DAY_LEVEL_TASKS: ReadonlySet<ShardTask['kind']> = new Set(['partition', 'encode']);

function runShard(task: ShardTask) {
  switch (task.kind) {
    case 'parse':
      return parseBlock(task.block, task.params);
    case 'column':
      return mergeColumn(task.runs);
    case 'sessions':
      return indexSessions(task.sessionCodes, task.nSessions, task.itemCodes, task.nItems);
    case 'users':
      return groupUserEvents(task.userCodes, task.itemCodes, task.tsMicros, task.nUsers);
    case 'rank':
      return rankedCandidates(task.index, task.itemCounts, task.minCount);
    case 'quote':
      return quoteAll(task.values);
    case 'partition':
      // Loaded on first use: apache-arrow is not needed by most tasks, and workers start cheap.
      return import('../../io/canonical/partitions').then((c) => c.writePartition(task.day, task.path));
    case 'encode':
      return encodeArtifactToFile(task.header, payloadOfSpec(task.spec), task.builtAt, task.stageDir);
    case 'cooc':
      return coocRows(task.index, task.items, task.minSupport, task.maxNeighbors);
    case 'implicit':
      return implicitRows(task.userOffsets, task.userItems, task.nItems, task.lo, task.hi, task.maxItemsPerUser);
    case 'session_seq':
      return sessionSeqRows(
        task.userOffsets,
        task.userItems,
        task.userTs as Float64Array,
        task.nItems,
        task.lo,
        task.hi,
        task.maxItemsPerUser,
      );
  }
}

/**
 * Test-only fault hook for the reliability tests: RECSYS_WORKER_FAULT=<mode>[:<kind>[:<shard>]]
 * with mode `throw` (the kernel throws), `exit` (process.exit(3) inside the worker) or `oom`
 * (allocates until the worker's heap limit), for every task or only those of one kind
 * (parse, column, sessions, users, rank, quote, partition, cooc, implicit, session_seq, encode) and shard. Read per task: one env lookup. Never set
 * in production.
 */
function injectedFault(task: ShardTask): void {
  const spec = process.env.RECSYS_WORKER_FAULT;
  if (!spec) return;
  const [mode, kind, shard] = spec.split(':');
  if ((kind && kind !== task.kind) || (shard && Number(shard) !== task.shard)) return;
  if (mode === 'throw') throw new Error(`injected fault (RECSYS_WORKER_FAULT=${spec})`);
  if (mode === 'exit') process.exit(3);
  if (mode === 'oom') {
    const hog: number[][] = [];
    for (;;) hog.push(Array.from({ length: 1 << 16 }, (_, i) => i + 0.5));
  }
}

export default async function computeShard(task: ShardTask): Promise<ShardOutcome> {
  try {
    injectedFault(task);
    // Results are shared arrays: returned as they are, never transferred (src/engine/threads/shared-memory.ts).
    const result = await runShard(task);
    if (DAY_LEVEL_TASKS.has(task.kind)) collectGarbage();
    return { state: 'ok', shard: task.shard, result };
  } catch (err) {
    // A pipeline error (an unwritable partition: E_IO naming the path) keeps its code and exit code.
    if (isPipelineError(err)) return { state: 'failed', shard: task.shard, code: err.code, exitCode: err.exitCode, message: err.message };
    return { state: 'failed', shard: task.shard, code: 'E_WORKER', message: (err as Error)?.message ?? String(err) };
  }
}
