/**
 * Builds a canonical day (day.ts) from a day's validated events, in raw input order.
 */
import type { ByteDictionarySnapshot, CodeRun, SortedColumn } from '../parse/byte-dictionary';
import { ByteDictionary, mergeColumn, sortedRun } from '../parse/byte-dictionary';
import type { ExposureEvent } from '../parse/exposure-line';
import type { ParsedBlock } from '../parse/scanner';
import { GrowableColumn } from '../parse/growable';
import { sharedCopy, sharedFloat64, sharedInt32 } from '../../engine/threads/shared-memory';
import type { CanonicalDay, DictColumn } from './day';
import { dictColumn } from './day';

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

  add(e: ExposureEvent): void {
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
