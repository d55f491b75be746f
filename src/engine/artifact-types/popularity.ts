/**
 * popularity: the most exposed items of the window, `{item_id, count}` by count desc, id
 * asc, at most `max_items_per_artifact` (docs/contract.md §5). Counts come with the day
 * index (built on the pool); the ranking is this type's one kernel task.
 */
import { popularityPayload } from '../../io/artifacts/payloads';
import { sharedCopy } from '../threads/shared-memory';
import { rankPositive } from '../../kernels/topk';
import { defineArtifactType, rowChecks } from './artifact-type';

export interface PopularityTask {
  itemCounts: Int32Array;
  maxItems: number;
}

export const popularity = defineArtifactType<'popularity', PopularityTask, Int32Array>({
  name: 'popularity',
  aliases: [],
  payloadField: 'items',
  summary: 'top-N items by exposure count',
  drift: { keyField: 'item_id', listField: null, ranked: true, rowNoun: 'items' },
  needs: { userIds: false, catalog: false },
  caps: (limits) => ({ maxRows: limits.max_items_per_artifact, maxItemsPerRow: Infinity }),
  checkRow(row, _caps, fail) {
    rowChecks.id(row.item_id, 'item_id', fail);
    rowChecks.nonNegative(row.count, 'count', fail);
  },
  async compute(ctx) {
    const ranked = await ctx.runKernel({ itemCounts: ctx.index.itemCounts, maxItems: ctx.limits.max_items_per_artifact });
    return popularityPayload(ranked, ctx.index.itemCounts, await ctx.itemIds());
  },
  kernel: (task) => sharedCopy(rankPositive(task.itemCounts, task.maxItems)),
});
