/**
 * Kernel rows (dictionary codes) → artifact payloads (SPEC §5) that write themselves into
 * the JSON writer straight from the typed arrays: no per-row JS objects. Codes are ranks
 * in UTF-8 byte order, so rows already come out in "id asc" order. Ids are escaped once
 * per dictionary (QuotedStrings), not once per occurrence.
 */
import type { CatalogItem } from './catalog';
import type { TypedPayload } from './artifact-codec';
import type { JsonWriter, QuotedStrings } from './go-json';
import { rankCodes, rankPositive } from '../kernels/topk';
import type { ScoredRows } from '../kernels/scored-rows';
import { limitExceeded } from '../errors';

export function popularityPayload(itemCounts: Int32Array, items: QuotedStrings, maxItems: number): TypedPayload {
  const ranked = rankPositive(itemCounts, maxItems);
  return {
    length: ranked.length,
    write(w) {
      w.beginArray();
      for (const c of ranked) w.beginObject().key('item_id').quoted(items, c).key('count').number(itemCounts[c]).endObject();
      w.endArray();
    },
  };
}

/**
 * cooc rows keyed by item code. With more rows than `maxRows`, keeps the rows of the most
 * exposed items (count desc, id asc), still listed by item id.
 */
export function coocPayload(rows: ScoredRows, itemCounts: Int32Array, items: QuotedStrings, maxRows: number): RowsPayload {
  let selected: Int32Array = Int32Array.from(rows.keys.keys());
  if (rows.keys.length > maxRows) {
    // Rank row positions by their item's exposure count; row position order == item code order.
    const rowCounts = Int32Array.from(rows.keys, (item) => itemCounts[item]);
    selected = rankCodes(selected, rowCounts, rows.keys.length, maxRows).sort();
  }
  return rowsPayload(rows, selected, 'item_id', items, items, 'count');
}

/** implicit and session_seq: one entry per user row, in user id order. */
export function userPayload(rows: ScoredRows, users: QuotedStrings, items: QuotedStrings): RowsPayload {
  return rowsPayload(rows, Int32Array.from(rows.keys.keys()), 'user_id', users, items, 'score');
}

/**
 * Everything needed to write a rows payload: plain data (typed arrays, shared quote
 * tables), so an encode task can carry it to a worker thread.
 */
export interface RowsPayloadSpec {
  rows: ScoredRows;
  /** Row positions to write, in order. */
  selected: Int32Array;
  keyField: 'item_id' | 'user_id';
  keys: QuotedStrings;
  items: QuotedStrings;
  scoreField: 'count' | 'score';
}

/** A payload that can also be rebuilt from its spec on another thread. */
export interface RowsPayload extends TypedPayload {
  spec: RowsPayloadSpec;
}

function rowsPayload(
  rows: ScoredRows,
  selected: Int32Array,
  keyField: 'item_id' | 'user_id',
  keys: QuotedStrings,
  items: QuotedStrings,
  scoreField: 'count' | 'score',
): RowsPayload {
  return payloadOfSpec({ rows, selected, keyField, keys, items, scoreField });
}

export function payloadOfSpec(spec: RowsPayloadSpec): RowsPayload {
  const { rows, selected, keyField, keys, items, scoreField } = spec;
  const { offsets, codes, scores } = rows;
  return {
    spec,
    length: selected.length,
    write(w: JsonWriter) {
      w.beginArray();
      for (const r of selected) {
        w.beginObject().key(keyField).quoted(keys, rows.keys[r]).key('items').beginArray();
        for (let j = offsets[r]; j < offsets[r + 1]; j++) {
          w.beginObject().key('item_id').quoted(items, codes[j]).key(scoreField).number(scores[j]).endObject();
        }
        w.endArray().endObject();
      }
      w.endArray();
    },
  };
}

/** content_sim from the catalog (already filtered, normalised and sorted by loadCatalog). */
export function contentSimPayload(catalog: CatalogItem[], maxItems: number): TypedPayload {
  if (catalog.length > maxItems) throw limitExceeded('max_items_per_artifact', catalog.length, maxItems);
  return {
    length: catalog.length,
    write(w) {
      w.beginArray();
      for (const c of catalog) {
        w.beginObject().key('item_id').string(c.itemId).key('tags').beginArray();
        for (const t of c.tags) w.string(t);
        w.endArray().endObject();
      }
      w.endArray();
    },
  };
}
