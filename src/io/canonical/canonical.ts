/**
 * Canonical partitions (docs/contract.md §3): one Arrow IPC file per (tenant, surface, UTC day) at
 * `<canonical_dir>/<tenant>/<surface>/exposures/YYYY-MM-DD.arrow`, readable by pyarrow,
 * DuckDB and Polars.
 *
 * Schema: ts Timestamp(µs, UTC); tenant, surface, session_id, item_id, user_id, request_id
 * as Dictionary<Int32, Utf8> (user_id/request_id nullable); rank Int32 (nullable).
 * Every dictionary is sorted in UTF-8 byte order, so a dictionary code IS the id's rank in
 * the "id asc" order of docs/contract.md §5: kernels compare codes, never strings. Rows keep raw input order.
 *
 * Same rows in → same bytes out: dictionaries are sorted, and the file holds one record batch.
 */
import type * as Arrow from 'apache-arrow';
import { badInput } from '../../errors';
import { writeFileAtomic } from '../atomic';
import { ByteDictionary, ByteDictionarySnapshot, CodeRun, mergeColumn, snapshotValues, SortedColumn, sortedRun } from '../parse/byte-dictionary';
import type { ParsedBlock } from '../parse/scanner';
import { GrowableColumn } from '../parse/growable';
import { sharedCopy, sharedFloat64, sharedInt32 } from '../../engine/threads/shared-memory';


/**
 * apache-arrow, loaded on first use: only partition encodes and decodes need it, and
 * loading it costs ~45 ms at start-up of every command (a day's partition is written on a
 * worker, so an ordinary run never loads it on the main thread).
 */
let arrowModule: typeof Arrow | undefined;
const arrow = (): typeof Arrow => (arrowModule ??= require('apache-arrow') as typeof Arrow);

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
function dictColumn(codes: Int32Array, utf8: ByteDictionarySnapshot): DictColumn {
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

/** The six id columns, tenant .. request_id. */
const COLUMN_INDEXES = [0, 1, 2, 3, 4, 5];

/** A dictionary of one value (a block's tenant or surface: every row holds it). */
function singleValue(id: string): ByteDictionarySnapshot {
  const arena = sharedCopy(new TextEncoder().encode(id));
  return { arena, offsets: sharedCopy(Int32Array.of(0, arena.length)) };
}

/** Runs mergeColumn elsewhere (ingest: on the pool, the day's columns in parallel). */
export type ColumnMerge = (column: number, runs: CodeRun[]) => Promise<SortedColumn>;

/**
 * Rows appended together (a parsed block, a whole day, or events added one by one); each
 * column is a run with its own sorted dictionary (see CodeRun).
 */
interface Chunk {
  rows: number;
  ts: Float64Array;
  rank: Int32Array;
  columns: CodeRun[];
}

/**
 * Collects a day's validated events in raw input order, from parsed blocks (ingest) or
 * one event at a time (tests, tools). Ids are interned as bytes; '' user/request is null.
 *
 * Chunks are kept as they arrive (their arrays are not copied), each column with its own
 * sorted dictionary: a parsed block's was sorted by the worker that parsed it, so
 * appending one costs nothing here. `finish` merges each column's sorted dictionaries and
 * writes every row's final code (its value's rank in the day) straight into exact-size
 * columns: one pass, one copy.
 */
export class CanonicalDayBuilder {
  private readonly chunks: Chunk[] = [];
  private rowCount = 0;
  /** Events added one by one, not yet a chunk. */
  private open: {
    ts: GrowableColumn<Float64Array>;
    rank: GrowableColumn<Int32Array>;
    codes: Array<GrowableColumn<Int32Array>>;
    dicts: ByteDictionary[];
  } | null = null;

  get rows(): number {
    return this.rowCount;
  }

  add(e: CanonicalEventInput): void {
    const open = (this.open ??= {
      ts: new GrowableColumn(new Float64Array(1024)),
      rank: new GrowableColumn(new Int32Array(1024)),
      codes: Array.from({ length: 6 }, () => new GrowableColumn(new Int32Array(1024))),
      dicts: Array.from({ length: 6 }, () => new ByteDictionary()),
    });
    open.ts.push(e.tsMicros);
    open.rank.push(e.rank);
    const ids = [e.tenant, e.surface, e.sessionId, e.itemId, e.userId, e.requestId];
    for (let k = 0; k < 6; k++) {
      const bytes = Buffer.from(ids[k]);
      open.codes[k].push(k >= 4 && bytes.length === 0 ? -1 : open.dicts[k].codeOf(bytes, 0, bytes.length));
    }
    this.rowCount++;
  }

  /** Turns the events added one by one into a chunk (each column's dictionary sorted). */
  private closeOpen(): void {
    const open = this.open;
    if (!open) return;
    this.open = null;
    this.chunks.push({
      rows: open.ts.length,
      ts: open.ts.finish(),
      rank: open.rank.finish(),
      columns: open.codes.map((c, k) => sortedRun(open.dicts[k].view(), c.finish())),
    });
  }

  /**
   * Appends a block parsed by BlockScanner (in block order = raw input order; the scanner
   * kept only events of `tenant`/`surface`, and sorted the block's dictionaries). Its
   * arrays are kept, not copied.
   */
  addBlock(block: ParsedBlock, tenant: string, surface: string): void {
    const n = block.tsMicros.length;
    if (n === 0) return;
    this.closeOpen();
    const scope = [tenant, surface].map((id): CodeRun => ({ rows: n, codes: null, dict: singleValue(id) }));
    const columns = [block.session, block.item, block.user, block.request].map((c): CodeRun => ({ rows: n, codes: c.codes, dict: c.dict }));
    this.chunks.push({ rows: n, ts: block.tsMicros, rank: block.rank, columns: [...scope, ...columns] });
    this.rowCount += n;
  }

  /** Appends a whole day (rolling windows): its dictionaries are sorted already. */
  addDay(day: CanonicalDay): void {
    const n = day.rows;
    if (n === 0) return;
    this.closeOpen();
    const columns = [day.tenant, day.surface, day.session, day.item, day.user, day.request].map((c): CodeRun => ({ rows: n, codes: c.codes, dict: c.utf8 }));
    this.chunks.push({ rows: n, ts: day.tsMicros, rank: day.rank, columns });
    this.rowCount += n;
  }

  finish(): CanonicalDay {
    this.closeOpen();
    return this.assemble(COLUMN_INDEXES.map((k) => mergeColumn(this.runsOf(k))));
  }

  /** `finish` with the columns merged by `merge` (all at once: on a pool, in parallel). */
  async finishOn(merge: ColumnMerge): Promise<CanonicalDay> {
    this.closeOpen();
    // Largest merges first (values summed over the runs), so the pool's last task is a small one.
    const size = (k: number) => this.runsOf(k).reduce((n, r) => n + r.dict.offsets.length, 0);
    const columns: Array<Promise<SortedColumn>> = [];
    for (const k of [...COLUMN_INDEXES].sort((a, b) => size(b) - size(a))) columns[k] = merge(k, this.runsOf(k));
    return this.assemble(await Promise.all(columns));
  }

  private runsOf(k: number): CodeRun[] {
    return this.chunks.map((c) => c.columns[k]);
  }

  /** The day: timestamps and ranks concatenated, and the sorted columns. */
  private assemble(columns: SortedColumn[]): CanonicalDay {
    const rows = this.rowCount;
    // Shared: the partition is encoded and written on a worker (ingest's writeDay).
    const ts = sharedFloat64(rows);
    const rank = sharedInt32(rows);
    let at = 0;
    for (const c of this.chunks) {
      ts.set(c.ts, at);
      rank.set(c.rank, at);
      at += c.rows;
    }
    const col = (k: number): DictColumn => dictColumn(columns[k].codes, columns[k].sorted);
    return {
      rows,
      tsMicros: ts,
      tenant: col(0),
      surface: col(1),
      session: col(2),
      item: col(3),
      user: col(4),
      request: col(5),
      rank,
    };
  }
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
  const dictionary = A.makeVector(
    A.makeData({ type: new A.Utf8(), length: offsets.length - 1, nullCount: 0, valueOffsets: offsets, data: arena }),
  );
  const type = new A.Dictionary(new A.Utf8(), new A.Int32(), id);
  return A.makeData({ type, length: col.codes.length, ...nullableInt32(col.codes), dictionary });
}

const DICT_COLUMNS = ['tenant', 'surface', 'session', 'item', 'user', 'request'] as const;

/** What encodeCanonical reads of a day: plain data (no lazily decoded strings), so a worker can take it as it is. */
export type EncodableDay = Pick<CanonicalDay, 'rows' | 'tsMicros' | 'rank'> &
  Record<(typeof DICT_COLUMNS)[number], Pick<DictColumn, 'codes' | 'utf8'>>;

export function encodableDay(day: CanonicalDay): EncodableDay {
  const columns = Object.fromEntries(DICT_COLUMNS.map((k) => [k, { codes: day[k].codes, utf8: day[k].utf8 }]));
  return { rows: day.rows, tsMicros: day.tsMicros, rank: day.rank, ...columns } as EncodableDay;
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

/** Encodes a day and replaces its partition file atomically; returns the file's size. */
export async function writePartition(day: EncodableDay, path: string): Promise<number> {
  const bytes = encodeCanonical(day);
  await writeFileAtomic(path, bytes);
  return bytes.length;
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

export function partitionPath(canonicalDir: string, tenant: string, surface: string, day: string): string {
  return `${canonicalDir}/${tenant}/${surface}/exposures/${day}.arrow`;
}

export function rejectsPath(canonicalDir: string, tenant: string, surface: string, day: string): string {
  return `${canonicalDir}/${tenant}/${surface}/exposures/${day}.rejects.jsonl`;
}
