/**
 * content_sim: the catalog's items with their tags, by id (docs/contract.md §5). Built
 * from the catalog alone (loaded once per run), not from events: no kernel, no pool work.
 */
import { contentSimPayload } from '../../io/artifacts/payloads';
import { defineArtifactType, rowChecks } from './artifact-type';

export const contentSim = defineArtifactType<'content_sim'>({
  name: 'content_sim',
  aliases: ['content'],
  payloadField: 'items',
  summary: 'item tags for content-based similarity (from the catalog)',
  drift: { keyField: 'item_id', listField: 'tags', ranked: false, rowNoun: 'items' },
  needs: { userIds: false, catalog: true },
  caps: (limits) => ({ maxRows: limits.max_items_per_artifact, maxItemsPerRow: Infinity }),
  checkRow(row, _caps, fail) {
    rowChecks.id(row.item_id, 'item_id', fail);
    if (!Array.isArray(row.tags) || row.tags.length === 0 || row.tags.some((t) => typeof t !== 'string' || t === '')) {
      throw fail(`item ${String(row.item_id)} has no tags or an empty tag`);
    }
  },
  compute: (ctx) => Promise.resolve(contentSimPayload(ctx.catalog, ctx.limits.max_items_per_artifact)),
  kernel: null,
});
