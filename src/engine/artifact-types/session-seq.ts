/**
 * session_seq: per user, the items that came next in their time-ordered events, by count
 * (docs/contract.md §5), at most `max_items_per_user` each. Sharded by user ranges.
 */
import { userPayload } from '../../io/artifacts/payloads';
import type { ScoredRows } from '../../kernels/scored-rows';
import { sessionSeqRows } from '../../kernels/session-seq';
import { defineArtifactType } from './artifact-type';
import { checkScoredRows, scoredRowChecker, userRows, type UserShard } from './scored-rows';

export const sessionSeq = defineArtifactType<'session_seq', UserShard, ScoredRows>({
  name: 'session_seq',
  aliases: ['session'],
  payloadField: 'users',
  summary: 'user → next-item sequence signals',
  drift: { keyField: 'user_id', listField: 'items', ranked: false, rowNoun: 'users' },
  needs: { userIds: true, catalog: false },
  // Rows are bounded by the max_users_per_run hard limit instead of a row cap.
  caps: (limits) => ({ maxRows: Infinity, maxItemsPerRow: limits.max_items_per_user }),
  checkRow: scoredRowChecker('user_id', 'score'),
  async compute(ctx) {
    const rows = await userRows(ctx.index, ctx.shards, ctx.limits.max_items_per_user, true, (shard) => ctx.runKernel(shard));
    checkScoredRows('session_seq', rows, ctx.caps.maxItemsPerRow);
    return userPayload(rows, await ctx.userIds(), await ctx.itemIds());
  },
  kernel: (s) => sessionSeqRows(s.userOffsets, s.userItems, s.userTs as Float64Array, s.nItems, s.lo, s.hi, s.maxItemsPerUser),
});
