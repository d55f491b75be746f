/**
 * The canonical day (docs/contract.md §3): a (tenant, surface, UTC day)'s validated events as typed
 * arrays, the input of every kernel, and the columns of its partition file (partitions.ts,
 * arrow-codec.ts).
 *
 * Columns: ts (UTC epoch µs); tenant, surface, session_id, item_id, user_id, request_id as
 * dictionary-encoded strings (user_id/request_id nullable); rank (nullable). Every
 * dictionary is sorted in UTF-8 byte order, so a dictionary code IS the id's rank in the
 * "id asc" order of docs/contract.md §5: kernels compare codes, never strings. Rows keep raw input order.
 */
import type { ByteDictionarySnapshot } from '../parse/byte-dictionary';
import { snapshotValues } from '../parse/byte-dictionary';

/** A dictionary-encoded string column: codes index `values`; -1 is null. */
export interface DictColumn {
  codes: Int32Array;
  /** Number of distinct values. */
  readonly size: number;
  /** Decoded lazily on first access. */
  readonly values: string[];
  /** The values as UTF-8: value i is bytes[offsets[i] .. offsets[i+1]) (Arrow's Utf8 layout). */
  utf8: ByteDictionarySnapshot;
}

/** The events of one day as typed arrays (the kernels' input). */
export interface CanonicalDay {
  rows: number;
  tsMicros: Float64Array;
  tenant: DictColumn;
  surface: DictColumn;
  session: DictColumn;
  item: DictColumn;
  user: DictColumn;
  request: DictColumn;
  /** -1 when the event had no rank. */
  rank: Int32Array;
}

export const CANONICAL_COLUMNS = ['ts', 'tenant', 'surface', 'session_id', 'item_id', 'user_id', 'request_id', 'rank'] as const;

/** A DictColumn whose strings are decoded on first use (most session/request ids never are). */
export function dictColumn(codes: Int32Array, utf8: ByteDictionarySnapshot): DictColumn {
  let values: string[] | undefined;
  return {
    codes,
    utf8,
    size: utf8.offsets.length - 1,
    get values() {
      return (values ??= snapshotValues(utf8));
    },
  };
}

const DICT_COLUMNS = ['tenant', 'surface', 'session', 'item', 'user', 'request'] as const;

/** What encodeCanonical reads of a day: plain data (no lazily decoded strings), so a worker can take it as it is. */
export type EncodableDay = Pick<CanonicalDay, 'rows' | 'tsMicros' | 'rank'> & Record<(typeof DICT_COLUMNS)[number], Pick<DictColumn, 'codes' | 'utf8'>>;

export function encodableDay(day: CanonicalDay): EncodableDay {
  const columns = Object.fromEntries(DICT_COLUMNS.map((k) => [k, { codes: day[k].codes, utf8: day[k].utf8 }]));
  return { rows: day.rows, tsMicros: day.tsMicros, rank: day.rank, ...columns } as EncodableDay;
}
