/**
 * Worker-thread entry. Imports kernels and the pure raw parser only (nothing from the
 * main-thread side) and keeps its top level cheap: the pool starts workers before the
 * first shard is ready.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { parseBlock } from '../../io/exposure-scan';
import { coocRows } from '../../kernels/cooc';
import { implicitRows } from '../../kernels/implicit';
import { sessionSeqRows } from '../../kernels/session-seq';
import { resultTransferList, ShardOutcome, ShardTask } from './messages';

function runShard(task: ShardTask) {
  switch (task.kind) {
    case 'parse':
      return parseBlock(task.block, task.params);
    case 'cooc':
      return coocRows(task.index, task.lo, task.hi, task.minSupport, task.maxNeighbors);
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

export default async function computeShard(task: ShardTask): Promise<ShardOutcome> {
  try {
    const result = runShard(task);
    const outcome: ShardOutcome = { state: 'ok', shard: task.shard, result };
    // Piscina's Transferable protocol: the value to send plus the buffers to move with it.
    const movable = { [transferableSymbol]: resultTransferList(result), [valueSymbol]: outcome };
    return move(movable as never) as unknown as ShardOutcome;
  } catch (err) {
    return { state: 'failed', shard: task.shard, code: 'E_WORKER', message: (err as Error)?.message ?? String(err) };
  }
}
