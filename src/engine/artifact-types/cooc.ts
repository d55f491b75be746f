/**
 * cooc: per item, the items seen in the same sessions, by number of shared sessions
 * (docs/contract.md §5): at least `min_cooc_support`, at most `max_neighbors_per_item`,
 * rows of the `max_items_per_artifact` most exposed items.
 *
 * A shard is a list of item codes and its worker walks every session of those items (the
 * session index is shared, so sessions are never split): rows never need merging, and the
 * output is the same for any worker count or shard size.
 */
import { coocPayload } from '../../io/artifacts/payloads';
import { coocItemWork, coocRows, itemRange, rankedCandidates, type SessionItemIndex } from '../../kernels/cooc';
import type { ScoredRows } from '../../kernels/scored-rows';
import { defineArtifactType, type ComputeContext } from './artifact-type';
import { checkScoredRows, scoredRowChecker } from './scored-rows';
import { concatRows, planRanges, sortRowsByKey } from './shards';

/** The two kernel tasks: rank the candidate items, or compute the rows of some items. */
export type CoocTask =
  | { step: 'rank'; index: SessionItemIndex; itemCounts: Int32Array; minCount: number }
  | { step: 'rows'; index: SessionItemIndex; /** ascending */ items: Int32Array; minSupport: number; maxNeighbors: number };

type CoocContext = ComputeContext<CoocTask, ScoredRows | Int32Array>;

export const cooc = defineArtifactType<'cooc', CoocTask, ScoredRows | Int32Array>({
  name: 'cooc',
  aliases: [],
  payloadField: 'neighbors',
  summary: 'item → item co-occurrence neighbours within a session',
  drift: { keyField: 'item_id', listField: 'items', ranked: false, rowNoun: 'items' },
  needs: { userIds: false, catalog: false },
  caps: (limits) => ({ maxRows: limits.max_items_per_artifact, maxItemsPerRow: limits.max_neighbors_per_item }),
  checkRow: scoredRowChecker('item_id', 'count'),
  async compute(ctx) {
    const rows = await publishableRows(ctx);
    checkScoredRows('cooc', rows, ctx.caps.maxItemsPerRow);
    return coocPayload(rows, ctx.index.itemCounts, await ctx.itemIds(), ctx.limits.max_items_per_artifact);
  },
  kernel: (task) =>
    task.step === 'rank' ? rankedCandidates(task.index, task.itemCounts, task.minCount) : coocRows(task.index, task.items, task.minSupport, task.maxNeighbors),
});

/**
 * The rows the artifact can publish. docs/contract.md §5 keeps at most
 * `max_items_per_artifact` rows, those of the most exposed items (count desc, id asc)
 * among items with a kept neighbour. With more items than that, rows are computed for
 * candidates in that rank order, as many at a time as rows are still missing, until the
 * cap is reached: the less exposed items, whose rows would be dropped, are never computed.
 * Rows come back in item order.
 */
async function publishableRows(ctx: CoocContext): Promise<ScoredRows> {
  const { index, limits, shards } = ctx;
  const maxRows = limits.max_items_per_artifact;
  const rowsOf = async (items: Int32Array): Promise<ScoredRows> => {
    const ranges = planRanges(coocItemWork(index.sessions, items), shards);
    const parts = ranges.map(([lo, hi]) =>
      ctx.runKernel({
        step: 'rows',
        index: index.sessions,
        items: items.slice(lo, hi),
        minSupport: limits.min_cooc_support,
        maxNeighbors: limits.max_neighbors_per_item,
      }),
    );
    return concatRows((await Promise.all(parts)) as ScoredRows[]);
  };
  if (index.nItems <= maxRows) return rowsOf(itemRange(0, index.nItems));

  // The ranking runs on the pool too: this thread goes on submitting the other types' shards.
  const rankTask: CoocTask = { step: 'rank', index: index.sessions, itemCounts: index.itemCounts, minCount: Math.max(1, limits.min_cooc_support) };
  const ranked = (await ctx.runKernel(rankTask, 'candidate ranking')) as Int32Array;
  const parts: ScoredRows[] = [];
  let found = 0;
  for (let at = 0; found < maxRows && at < ranked.length;) {
    // At most as many candidates as rows are missing: the cap is never overshot.
    const chunk = ranked.slice(at, at + (maxRows - found)).sort();
    at += chunk.length;
    const rows = await rowsOf(chunk);
    parts.push(rows);
    found += rows.keys.length;
  }
  return sortRowsByKey(concatRows(parts));
}
