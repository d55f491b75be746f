/**
 * Kernel rows (dictionary codes) → artifact payload arrays (SPEC §5), on the main thread.
 * Codes are ranks in UTF-8 byte order, so rows already come out in "id asc" order.
 */
import type { CatalogItem } from '../io/catalog';
import { rankCodes, rankPositive } from '../kernels/topk';
import type { ScoredRows } from '../kernels/scored-rows';
import { limitExceeded } from '../errors';

export interface ItemCount {
  item_id: string;
  count: number;
}

export function popularityPayload(itemCounts: Int32Array, items: string[], maxItems: number): ItemCount[] {
  const ranked = rankPositive(itemCounts, maxItems);
  return Array.from(ranked, (c) => ({ item_id: items[c], count: itemCounts[c] }));
}

/**
 * cooc rows keyed by item code. With more rows than `maxRows`, keeps the rows of the most
 * exposed items (count desc, id asc), still listed by item id.
 */
export function coocPayload(rows: ScoredRows, itemCounts: Int32Array, items: string[], maxRows: number) {
  let selected: Int32Array = Int32Array.from(rows.keys.keys());
  if (rows.keys.length > maxRows) {
    // Rank row positions by their item's exposure count; row position order == item code order.
    const rowCounts = Int32Array.from(rows.keys, (item) => itemCounts[item]);
    selected = rankCodes(selected, rowCounts, rows.keys.length, maxRows).sort();
  }
  return Array.from(selected, (r) => ({
    item_id: items[rows.keys[r]],
    items: neighbourList(rows, r, items, 'count'),
  }));
}

/** implicit and session_seq: one entry per user row, in user id order. */
export function userPayload(rows: ScoredRows, users: string[], items: string[]) {
  return Array.from(rows.keys, (user, r) => ({ user_id: users[user], items: neighbourList(rows, r, items, 'score') }));
}

function neighbourList(rows: ScoredRows, r: number, items: string[], field: 'count' | 'score') {
  const out: Array<Record<string, string | number>> = [];
  for (let j = rows.offsets[r]; j < rows.offsets[r + 1]; j++) {
    out.push({ item_id: items[rows.codes[j]], [field]: rows.scores[j] });
  }
  return out;
}

/** content_sim from the catalog (already filtered, normalised and sorted by loadCatalog). */
export function contentSimPayload(catalog: CatalogItem[], maxItems: number) {
  if (catalog.length > maxItems) throw limitExceeded('max_items_per_artifact', catalog.length, maxItems);
  return catalog.map((c) => ({ item_id: c.itemId, tags: c.tags }));
}
