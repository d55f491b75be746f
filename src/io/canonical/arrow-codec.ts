/**
 * A canonical day as an Arrow IPC file (docs/contract.md §3), readable by pyarrow, DuckDB and Polars.
 *
 * Schema: ts Timestamp(µs, UTC); tenant, surface, session_id, item_id, user_id, request_id
 * as Dictionary<Int32, Utf8> (user_id/request_id nullable); rank Int32 (nullable).
 * Same rows in → same bytes out: dictionaries are sorted (day.ts), and the file holds one
 * record batch.
 */
import type * as Arrow from 'apache-arrow';
import { badInput } from '../../errors';
import type { ByteDictionarySnapshot } from '../parse/byte-dictionary';
import { sortedRun } from '../parse/byte-dictionary';
import { sharedCopy, sharedFloat64, sharedInt32 } from '../../engine/threads/shared-memory';
import type { CanonicalDay, DictColumn, EncodableDay } from './day';
import { dictColumn } from './day';

/**
 * apache-arrow, loaded on first use: only partition encodes and decodes need it, and
 * loading it costs ~45 ms at start-up of every command (a day's partition is written on a
 * worker, so an ordinary run never loads it on the main thread).
 */
let arrowModule: typeof Arrow | undefined;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use (see above)
const arrow = (): typeof Arrow => (arrowModule ??= require('apache-arrow') as typeof Arrow);

/** Byte order of values a and b of a snapshot (UTF-8 byte order is the id order of docs/contract.md §5). */
function compareValues(arena: Uint8Array, offsets: Int32Array, a: number, b: number): number {
  let i = offsets[a];
  let j = offsets[b];
  const ie = offsets[a + 1];
  const je = offsets[b + 1];
  for (; i < ie && j < je; i++, j++) {
    const d = arena[i] - arena[j];
    if (d !== 0) return d;
  }
  return ie - offsets[a] - (je - offsets[b]);
}

// --- encode -----------------------------------------------------------------------------

const TWO_32 = 4294967296;

/**
 * An Int32 column where -1 is null, as Arrow buffers: the values as they are when nothing
 * is null (the common case: one scan, no copy); otherwise a validity bitmap (padded to 8
 * bytes) and a copy with 0 in null slots (a valid value/index, as Arrow readers expect).
 */
function nullableInt32(values: Int32Array): { data: Int32Array; nullCount: number; nullBitmap?: Uint8Array } {
  const n = values.length;
  let first = 0;
  while (first < n && values[first] >= 0) first++;
  if (first === n) return { data: values, nullCount: 0 };
  const bitmap = new Uint8Array(((n + 63) >> 6) << 3);
  const data = new Int32Array(n);
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    if (values[i] >= 0) {
      bitmap[i >> 3] |= 1 << (i & 7);
      data[i] = values[i];
    } else nullCount++;
  }
  return { data, nullCount, nullBitmap: bitmap };
}

function dictionaryData(col: Pick<DictColumn, 'codes' | 'utf8'>, id: number): Arrow.Data {
  const A = arrow();
  const { arena, offsets } = col.utf8;
  const dictionary = A.makeVector(A.makeData({ type: new A.Utf8(), length: offsets.length - 1, nullCount: 0, valueOffsets: offsets, data: arena }));
  const type = new A.Dictionary(new A.Utf8(), new A.Int32(), id);
  return A.makeData({ type, length: col.codes.length, ...nullableInt32(col.codes), dictionary });
}

/** Encodes a day as Arrow IPC file bytes (one record batch). */
export function encodeCanonical(day: EncodableDay): Uint8Array {
  const A = arrow();
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
  const rank = A.makeData({ type: new A.Int32(), length: n, ...nullableInt32(day.rank) });
  const table = new A.Table({
    ts: A.makeVector(ts),
    tenant: A.makeVector(dictionaryData(day.tenant, 0)),
    surface: A.makeVector(dictionaryData(day.surface, 1)),
    session_id: A.makeVector(dictionaryData(day.session, 2)),
    item_id: A.makeVector(dictionaryData(day.item, 3)),
    user_id: A.makeVector(dictionaryData(day.user, 4)),
    request_id: A.makeVector(dictionaryData(day.request, 5)),
    rank: A.makeVector(rank),
  });
  return A.tableToIPC(table, 'file');
}

// --- decode -----------------------------------------------------------------------------

function isNull(data: Arrow.Data, i: number): boolean {
  const bm = data.nullBitmap;
  if (!data.nullCount || !bm || bm.length === 0) return false;
  const j = data.offset + i;
  return (bm[j >> 3] & (1 << (j & 7))) === 0;
}

function readDictionary(table: Arrow.Table, name: string, where: string): DictColumn {
  const A = arrow();
  const vec = table.getChild(name);
  if (!vec || !A.DataType.isDictionary(vec.type)) throw badInput(where, `column ${name}: missing or not dictionary-encoded`);
  const codes = sharedInt32(table.numRows);
  let utf8: ByteDictionarySnapshot = { arena: new Uint8Array(0), offsets: new Int32Array(1) };
  let at = 0;
  for (const data of vec.data) {
    if (at === 0) utf8 = utf8Of((data.dictionary as Arrow.Vector).data[0]);
    const src = data.values as Int32Array;
    for (let i = 0; i < data.length; i++) codes[at++] = isNull(data, i) ? -1 : src[i];
  }
  // Our writer sorts dictionaries; a file from elsewhere may not be sorted (or hold a
  // value twice): sort it then, each value once.
  const { arena, offsets } = utf8;
  for (let i = 1; i + 1 < offsets.length; i++) {
    if (compareValues(arena, offsets, i - 1, i) >= 0) {
      const run = sortedRun(utf8, codes);
      return dictColumn(codes, run.dict);
    }
  }
  return dictColumn(codes, utf8);
}

/** Copies the bytes and rebased offsets of a Utf8 Data (its values may start mid-buffer). */
function utf8Of(data: Arrow.Data): ByteDictionarySnapshot {
  const offsets = sharedCopy((data.valueOffsets as Int32Array).subarray(data.offset, data.offset + data.length + 1));
  const base = offsets[0];
  const arena = sharedCopy((data.values as Uint8Array).subarray(base, offsets[offsets.length - 1]));
  for (let i = 0; i < offsets.length; i++) offsets[i] -= base;
  return { arena, offsets };
}

/**
 * Decodes a partition written by encodeCanonical. Copies codes and timestamps out of the
 * IPC buffers (one pass per column) into shared arrays (the pool's tasks read them);
 * dictionary strings are decoded once.
 */
export function decodeCanonical(bytes: Uint8Array, where: string): CanonicalDay {
  const A = arrow();
  let table: Arrow.Table;
  try {
    table = A.tableFromIPC(bytes);
  } catch (err) {
    throw badInput(where, `not a readable Arrow IPC file (${(err as Error).message})`);
  }
  const n = table.numRows;
  const tsVec = table.getChild('ts');
  if (!tsVec || tsVec.type.typeId !== A.Type.Timestamp) throw badInput(where, 'column ts: missing or not a timestamp');
  const tsMicros = sharedFloat64(n);
  let at = 0;
  for (const data of tsVec.data) {
    const words = new Int32Array((data.values as BigInt64Array).buffer, (data.values as BigInt64Array).byteOffset, data.length * 2);
    for (let i = 0; i < data.length; i++) tsMicros[at++] = words[2 * i + 1] * TWO_32 + (words[2 * i] >>> 0);
  }
  const rankVec = table.getChild('rank');
  const rank = sharedInt32(n);
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
