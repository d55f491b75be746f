/**
 * Canonical partitions (SPEC §3): one Arrow IPC file per (tenant, surface, UTC day) at
 * `<canonical_dir>/<tenant>/<surface>/exposures/YYYY-MM-DD.arrow`, readable by pyarrow,
 * DuckDB and Polars.
 *
 * Schema: ts Timestamp(µs, UTC); tenant, surface, session_id, item_id, user_id, request_id
 * as Dictionary<Int32, Utf8> (user_id/request_id nullable); rank Int32 (nullable).
 * Every dictionary is sorted in UTF-8 byte order, so a dictionary code IS the id's rank in
 * the SPEC's "id asc" order: kernels compare codes, never strings. Rows keep raw input order.
 *
 * Same rows in → same bytes out: dictionaries are sorted, and the file holds one record batch.
 */
import * as A from 'apache-arrow';
import { compareUtf8 } from './utf8';
import { badInput } from '../errors';
import { snapshotValues } from './byte-dictionary';
import type { ParsedBlock } from './exposure-scan';
import { GrowableColumn } from './growable';

/** A dictionary-encoded string column: codes index `values`; -1 is null. */
export interface DictColumn {
  codes: Int32Array;
  values: string[];
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

/** Assigns codes in first-seen order; `finish` renumbers them into byte order. */
class DictionaryBuilder {
  private readonly index = new Map<string, number>();
  readonly values: string[] = [];

  /** Code of `value`; '' maps to -1 (null) when nullable. */
  code(value: string, nullable: boolean): number {
    if (nullable && value === '') return -1;
    let c = this.index.get(value);
    if (c === undefined) {
      c = this.values.length;
      this.index.set(value, c);
      this.values.push(value);
    }
    return c;
  }

  /** Sorts the values in UTF-8 byte order and rewrites `codes` in place to match. */
  finish(codes: Int32Array): DictColumn {
    const order = this.values.map((_, i) => i).sort((x, y) => compareUtf8(this.values[x], this.values[y]));
    const newCode = new Int32Array(order.length);
    for (let rank = 0; rank < order.length; rank++) newCode[order[rank]] = rank;
    for (let i = 0; i < codes.length; i++) if (codes[i] >= 0) codes[i] = newCode[codes[i]];
    return { codes, values: order.map((i) => this.values[i]) };
  }
}

export interface CanonicalEventInput {
  tsMicros: number;
  tenant: string;
  surface: string;
  sessionId: string;
  itemId: string;
  userId: string;
  requestId: string;
  rank: number;
}

/** Collects a day's validated events row by row, in raw input order. */
export class CanonicalDayBuilder {
  private readonly ts = new GrowableColumn(new Float64Array(1024));
  private readonly rank = new GrowableColumn(new Int32Array(1024));
  private readonly codes = Array.from({ length: 6 }, () => new GrowableColumn(new Int32Array(1024)));
  private readonly dicts = Array.from({ length: 6 }, () => new DictionaryBuilder());

  get rows(): number {
    return this.ts.length;
  }

  add(e: CanonicalEventInput): void {
    this.ts.push(e.tsMicros);
    this.rank.push(e.rank);
    const { codes, dicts } = this;
    codes[0].push(dicts[0].code(e.tenant, false));
    codes[1].push(dicts[1].code(e.surface, false));
    codes[2].push(dicts[2].code(e.sessionId, false));
    codes[3].push(dicts[3].code(e.itemId, false));
    codes[4].push(dicts[4].code(e.userId, true));
    codes[5].push(dicts[5].code(e.requestId, true));
  }

  /**
   * Appends a block parsed by BlockScanner (in block order = raw input order; the scanner
   * kept only events of `tenant`/`surface`): its local
   * dictionaries are decoded once per distinct value and its codes remapped to this day's.
   */
  addBlock(block: ParsedBlock, tenant: string, surface: string): void {
    const n = block.tsMicros.length;
    if (n === 0) return;
    const tenantCode = this.dicts[0].code(tenant, false);
    const surfaceCode = this.dicts[1].code(surface, false);
    for (let i = 0; i < n; i++) {
      this.ts.push(block.tsMicros[i]);
      this.rank.push(block.rank[i]);
      this.codes[0].push(tenantCode);
      this.codes[1].push(surfaceCode);
    }
    const columns = [block.session, block.item, block.user, block.request];
    for (let k = 0; k < 4; k++) {
      const dict = this.dicts[k + 2];
      const nullable = k >= 2;
      const remap = Int32Array.from(snapshotValues(columns[k].dict), (v) => dict.code(v, nullable));
      const codes = columns[k].codes;
      const out = this.codes[k + 2];
      for (let i = 0; i < n; i++) out.push(codes[i] < 0 ? -1 : remap[codes[i]]);
    }
  }

  finish(): CanonicalDay {
    const col = (i: number) => this.dicts[i].finish(this.codes[i].finish());
    return {
      rows: this.ts.length,
      tsMicros: this.ts.finish(),
      tenant: col(0),
      surface: col(1),
      session: col(2),
      item: col(3),
      user: col(4),
      request: col(5),
      rank: this.rank.finish(),
    };
  }
}

// --- encode -----------------------------------------------------------------------------

const TWO_32 = 4294967296;

function validityBitmap(isValid: (i: number) => boolean, n: number): { nullCount: number; bitmap: Uint8Array } {
  const bitmap = new Uint8Array(((n + 63) >> 6) << 3);
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    if (isValid(i)) bitmap[i >> 3] |= 1 << (i & 7);
    else nullCount++;
  }
  return { nullCount, bitmap };
}

function dictionaryData(col: DictColumn, id: number, nullable: boolean): A.Data {
  const n = col.codes.length;
  const type = new A.Dictionary(new A.Utf8(), new A.Int32(), id);
  const dictionary = A.vectorFromArray(col.values, new A.Utf8());
  if (!nullable) return A.makeData({ type, length: n, nullCount: 0, data: col.codes, dictionary });
  const { nullCount, bitmap } = validityBitmap((i) => col.codes[i] >= 0, n);
  // Null slots carry code 0 on disk (a valid index), as Arrow readers expect.
  const data = col.codes.map((c) => (c < 0 ? 0 : c));
  return A.makeData({ type, length: n, nullCount, nullBitmap: nullCount ? bitmap : undefined, data, dictionary });
}

/** Encodes a day as Arrow IPC file bytes (one record batch). */
export function encodeCanonical(day: CanonicalDay): Uint8Array {
  const n = day.rows;
  const tsWords = new Int32Array(n * 2); // little-endian int64 as (lo, hi) pairs
  for (let i = 0; i < n; i++) {
    const t = day.tsMicros[i];
    const hi = Math.floor(t / TWO_32);
    tsWords[2 * i] = (t - hi * TWO_32) | 0;
    tsWords[2 * i + 1] = hi;
  }
  const ts = A.makeData({
    type: new A.TimestampMicrosecond('UTC'),
    length: n,
    nullCount: 0,
    data: new BigInt64Array(tsWords.buffer),
  });
  const rankValid = validityBitmap((i) => day.rank[i] >= 0, n);
  const rank = A.makeData({
    type: new A.Int32(),
    length: n,
    nullCount: rankValid.nullCount,
    nullBitmap: rankValid.nullCount ? rankValid.bitmap : undefined,
    data: day.rank.map((r) => (r < 0 ? 0 : r)),
  });
  const table = new A.Table({
    ts: A.makeVector(ts),
    tenant: A.makeVector(dictionaryData(day.tenant, 0, false)),
    surface: A.makeVector(dictionaryData(day.surface, 1, false)),
    session_id: A.makeVector(dictionaryData(day.session, 2, false)),
    item_id: A.makeVector(dictionaryData(day.item, 3, false)),
    user_id: A.makeVector(dictionaryData(day.user, 4, true)),
    request_id: A.makeVector(dictionaryData(day.request, 5, true)),
    rank: A.makeVector(rank),
  });
  return A.tableToIPC(table, 'file');
}

// --- decode -----------------------------------------------------------------------------

function isNull(data: A.Data, i: number): boolean {
  const bm = data.nullBitmap;
  if (!data.nullCount || !bm || bm.length === 0) return false;
  const j = data.offset + i;
  return (bm[j >> 3] & (1 << (j & 7))) === 0;
}

function readDictionary(table: A.Table, name: string, where: string): DictColumn {
  const vec = table.getChild(name);
  if (!vec || !A.DataType.isDictionary(vec.type)) throw badInput(where, `column ${name}: missing or not dictionary-encoded`);
  const codes = new Int32Array(table.numRows);
  let values: string[] | null = null;
  let at = 0;
  for (const data of vec.data) {
    if (!values) values = (data.dictionary as A.Vector).toArray() as string[];
    const src = data.values as Int32Array;
    for (let i = 0; i < data.length; i++) codes[at++] = isNull(data, i) ? -1 : src[i];
  }
  return { codes, values: values ?? [] };
}

/**
 * Decodes a partition written by encodeCanonical. Copies codes and timestamps out of the
 * IPC buffers (one pass per column); dictionary strings are decoded once.
 */
export function decodeCanonical(bytes: Uint8Array, where: string): CanonicalDay {
  let table: A.Table;
  try {
    table = A.tableFromIPC(bytes);
  } catch (err) {
    throw badInput(where, `not a readable Arrow IPC file (${(err as Error).message})`);
  }
  const n = table.numRows;
  const tsVec = table.getChild('ts');
  if (!tsVec || tsVec.type.typeId !== A.Type.Timestamp) throw badInput(where, 'column ts: missing or not a timestamp');
  const tsMicros = new Float64Array(n);
  let at = 0;
  for (const data of tsVec.data) {
    const words = new Int32Array((data.values as BigInt64Array).buffer, (data.values as BigInt64Array).byteOffset, data.length * 2);
    for (let i = 0; i < data.length; i++) tsMicros[at++] = words[2 * i + 1] * TWO_32 + (words[2 * i] >>> 0);
  }
  const rankVec = table.getChild('rank');
  const rank = new Int32Array(n);
  at = 0;
  for (const data of rankVec?.data ?? []) {
    const src = data.values as Int32Array;
    for (let i = 0; i < data.length; i++) rank[at++] = isNull(data, i) ? -1 : src[i];
  }
  return {
    rows: n,
    tsMicros,
    tenant: readDictionary(table, 'tenant', where),
    surface: readDictionary(table, 'surface', where),
    session: readDictionary(table, 'session_id', where),
    item: readDictionary(table, 'item_id', where),
    user: readDictionary(table, 'user_id', where),
    request: readDictionary(table, 'request_id', where),
    rank,
  };
}

export function partitionPath(canonicalDir: string, tenant: string, surface: string, day: string): string {
  return `${canonicalDir}/${tenant}/${surface}/exposures/${day}.arrow`;
}

export function rejectsPath(canonicalDir: string, tenant: string, surface: string, day: string): string {
  return `${canonicalDir}/${tenant}/${surface}/exposures/${day}.rejects.jsonl`;
}
