/**
 * item_reach: per item, how many distinct known users were exposed to it in the window,
 * `{item_id, users}` by users desc, id asc, at most `max_items_per_artifact`.
 *
 * The worked example of docs/adding-an-artifact-type.md. As a real type this file would be
 * src/engine/artifact-types/item-reach.ts (imports from '../../' instead of '../../src/'),
 * listed in src/engine/artifact-types/index.ts.
 */
import { defineArtifactType, rowChecks } from '../../src/engine/artifact-types/artifact-type';
import { planRanges } from '../../src/engine/artifact-types/shards';
import { sharedInt32 } from '../../src/engine/threads/shared-memory';
import { rankPositive } from '../../src/kernels/topk';

/** One shard: users [lo, hi) with all of their events (the day index's per-user lists). */
export interface ReachShard {
  nItems: number;
  userOffsets: Int32Array;
  userItems: Int32Array;
  lo: number;
  hi: number;
}

/** Worker: distinct users per item code over the shard's users (each user counted once per item). */
function reachOfUsers(s: ReachShard): Int32Array {
  const reach = sharedInt32(s.nItems);
  const lastUser = new Int32Array(s.nItems).fill(-1);
  for (let u = s.lo; u < s.hi; u++) {
    for (let j = s.userOffsets[u]; j < s.userOffsets[u + 1]; j++) {
      const item = s.userItems[j];
      if (lastUser[item] !== u) {
        lastUser[item] = u;
        reach[item]++;
      }
    }
  }
  return reach;
}

export const itemReach = defineArtifactType<'item_reach', ReachShard, Int32Array>({
  name: 'item_reach',
  aliases: ['reach'],
  payloadField: 'items',
  summary: 'distinct users exposed to each item',
  drift: { keyField: 'item_id', listField: null, ranked: true, rowNoun: 'items' },
  needs: { userIds: false, catalog: false },
  caps: (limits) => ({ maxRows: limits.max_items_per_artifact, maxItemsPerRow: Infinity }),
  checkRow(row, _caps, fail) {
    rowChecks.id(row.item_id, 'item_id', fail);
    rowChecks.nonNegative(row.users, 'users', fail);
  },
  async compute(ctx) {
    const { index } = ctx;
    // Users never span two shards, so the shards' counts add up to the exact reach.
    const weights = Float64Array.from({ length: index.nUsers }, (_, u) => index.userOffsets[u + 1] - index.userOffsets[u]);
    const parts = await Promise.all(
      planRanges(weights, ctx.shards).map(([lo, hi]) =>
        ctx.runKernel({ nItems: index.nItems, userOffsets: index.userOffsets, userItems: index.userItems, lo, hi }),
      ),
    );
    const reach = new Int32Array(index.nItems);
    for (const part of parts) for (let i = 0; i < reach.length; i++) reach[i] += part[i];
    const ranked = rankPositive(reach, ctx.limits.max_items_per_artifact);
    const items = await ctx.itemIds();
    return {
      length: ranked.length,
      write(w) {
        w.beginArray();
        for (const c of ranked) w.beginObject().key('item_id').quoted(items, c).key('users').number(reach[c]).endObject();
        w.endArray();
      },
    };
  },
  kernel: reachOfUsers,
});
