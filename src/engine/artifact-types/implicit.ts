/**
 * implicit: per user, the items they were exposed to by count (docs/contract.md §5),
 * at most `max_items_per_user` each. Sharded by user ranges.
 */
import { userPayload } from '../../io/artifacts/payloads';
import { implicitRows } from '../../kernels/implicit';
import type { ScoredRows } from '../../kernels/scored-rows';
import { defineArtifactType } from './artifact-type';
import { checkScoredRows, scoredRowChecker, userRows, type UserShard } from './scored-rows';

export const implicit = defineArtifactType<'implicit', UserShard, ScoredRows>({
  name: 'implicit',
  aliases: [],
  payloadField: 'users',
  summary: 'user → item scores from implicit feedback (exposure counts)',
  drift: { keyField: 'user_id', listField: 'items', ranked: false, rowNoun: 'users' },
  needs: { userIds: true, catalog: false },
  // Rows are bounded by the max_users_per_run hard limit instead of a row cap.
  caps: (limits) => ({ maxRows: Infinity, maxItemsPerRow: limits.max_items_per_user }),
  checkRow: scoredRowChecker('user_id', 'score'),
  async compute(ctx) {
    const rows = await userRows(ctx.index, ctx.shards, ctx.limits.max_items_per_user, false, (shard) => ctx.runKernel(shard));
    checkScoredRows('implicit', rows, ctx.caps.maxItemsPerRow);
    return userPayload(rows, await ctx.userIds(), await ctx.itemIds());
  },
  kernel: (s) => implicitRows(s.userOffsets, s.userItems, s.nItems, s.lo, s.hi, s.maxItemsPerUser),
});
