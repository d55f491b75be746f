/**
 * Kernel rows (dictionary codes) → artifact payloads (docs/contract.md §5) that write themselves into
 * the JSON writer straight from the typed arrays: no per-row JS objects. Codes are ranks
 * in UTF-8 byte order, so rows already come out in "id asc" order. Ids are escaped once
 * per dictionary (QuotedStrings), not once per occurrence.
 */
import type { CatalogItem } from '../sources/catalog';
import type { TypedPayload } from './codec';
import type { JsonWriter, QuotedStrings } from './go-json';
import { rankCodes } from '../../kernels/topk';
import { itemRange } from '../../kernels/cooc';
import type { ScoredRows } from '../../kernels/scored-rows';
import { limitExceeded } from '../../errors';

/** popularity rows: the `ranked` item codes with their counts. */
export function popularityPayload(ranked: Int32Array, itemCounts: Int32Array, items: QuotedStrings): TypedPayload {
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
  let selected = itemRange(0, rows.keys.length);
  if (rows.keys.length > maxRows) {
    // Rank row positions by their item's exposure count; row position order == item code order.
    const rowCounts = Int32Array.from(rows.keys, (item) => itemCounts[item]);
    selected = rankCodes(selected, rowCounts, rows.keys.length, maxRows).sort();
  }
  return rowsPayload(rows, selected, 'item_id', items, items, 'count');
}

/** implicit and session_seq: one entry per user row, in user id order. */
export function userPayload(rows: ScoredRows, users: QuotedStrings, items: QuotedStrings): RowsPayload {
  return rowsPayload(rows, itemRange(0, rows.keys.length), 'user_id', users, items, 'score');
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
    // The hot path of the biggest artifacts: every row has the same shape, so the layout
    // is precomputed per depth as byte templates (same bytes as the generic writer; the
    // golden and reference tests compare them).
    write(w: JsonWriter) {
      w.rawValue((raw, pretty, depth) => {
        const t = rowTemplates(pretty, depth, keyField, scoreField);
        if (selected.length === 0) return raw.bytes(t.empty);
        raw.bytes(t.open);
        for (let s = 0; s < selected.length; s++) {
          const r = selected[s];
          raw.bytes(s === 0 ? t.rowFirst : t.rowNext);
          raw.rawQuoted(keys, rows.keys[r]);
          const lo = offsets[r];
          const hi = offsets[r + 1];
          if (lo === hi) raw.bytes(t.itemsEmpty);
          else {
            raw.bytes(t.itemsOpen);
            for (let j = lo; j < hi; j++) {
              raw.bytes(j === lo ? t.itemFirst : t.itemNext);
              raw.rawQuoted(items, codes[j]);
              raw.bytes(t.score);
              raw.rawUint(scores[j]);
              raw.bytes(t.itemClose);
            }
            raw.bytes(t.itemsClose);
          }
          raw.bytes(t.rowClose);
        }
        raw.bytes(t.close);
      });
    },
  };
}

interface RowTemplates {
  empty: Buffer;
  open: Buffer;
  rowFirst: Buffer;
  rowNext: Buffer;
  itemsEmpty: Buffer;
  itemsOpen: Buffer;
  itemFirst: Buffer;
  itemNext: Buffer;
  score: Buffer;
  itemClose: Buffer;
  itemsClose: Buffer;
  rowClose: Buffer;
  close: Buffer;
}

const templateCache = new Map<string, RowTemplates>();

/**
 * `[{"<key>":…,"items":[{"item_id":…,"<score>":…},…]},…]` in Go's compact layout, or in
 * MarshalIndent's layout for an array value at `depth`.
 */
function rowTemplates(pretty: boolean, depth: number, keyField: string, scoreField: string): RowTemplates {
  const id = `${pretty}|${depth}|${keyField}|${scoreField}`;
  let t = templateCache.get(id);
  if (!t) {
    const nl = (d: number) => (pretty ? '\n' + '  '.repeat(d) : '');
    const colon = pretty ? ': ' : ':';
    const b = (s: string) => Buffer.from(s, 'latin1');
    const row = `${nl(depth + 1)}{${nl(depth + 2)}"${keyField}"${colon}`;
    const item = `${nl(depth + 3)}{${nl(depth + 4)}"item_id"${colon}`;
    t = {
      empty: b('[]'),
      open: b('['),
      rowFirst: b(row),
      rowNext: b(',' + row),
      itemsEmpty: b(`,${nl(depth + 2)}"items"${colon}[]`),
      itemsOpen: b(`,${nl(depth + 2)}"items"${colon}[`),
      itemFirst: b(item),
      itemNext: b(',' + item),
      score: b(`,${nl(depth + 4)}"${scoreField}"${colon}`),
      itemClose: b(`${nl(depth + 3)}}`),
      itemsClose: b(`${nl(depth + 2)}]`),
      rowClose: b(`${nl(depth + 1)}}`),
      close: b(`${nl(depth)}]`),
    };
    templateCache.set(id, t);
  }
  return t;
}

/** content_sim from the catalog (already filtered, normalised and sorted by loadCatalog). */
export function contentSimPayload(catalog: readonly CatalogItem[], maxItems: number): TypedPayload {
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
