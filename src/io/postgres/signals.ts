/**
 * Postgres signals (docs/storage-contract.md §4): with `db.dsn`, after a day's artifacts
 * are published, popularity and cooc are upserted into the service's signal tables:
 *
 *   popularity → item_popularity_daily (tenant_id, namespace, item_id, day, score = count)
 *   cooc       → item_covisit_daily (tenant_id, namespace, item_id, neighbor_id, day,
 *                score = the neighbour's count), one row per (item, neighbour)
 *
 * namespace = the surface, day = the window's start date. One transaction per day (the
 * tenant lookup or auto-create included), rows sent in batches of BATCH_ROWS through
 * `unnest` of array parameters, `ON CONFLICT (primary key) DO UPDATE SET score =
 * excluded.score, updated_at = now()`: a rerun writes the same rows with the same scores.
 * Every statement is bounded by `db.statement_timeout_s`.
 *
 * The run calls this after the manifest swap and before the checkpoint (run.ts), so a
 * failure leaves the artifacts published and the checkpoint behind: a rerun re-publishes
 * the same versions (a no-op) and retries the signals.
 *
 * Memory: the rows are read from the published blob (the bytes the run already holds, or
 * the file a worker staged), streamed in 1 MiB slices through a line scanner of the
 * published pretty layout, and sent BATCH_ROWS at a time. Nothing is JSON.parse'd whole:
 * beyond the blob the run holds anyway, the cost is one slice, the rows of one slice and
 * one batch (a few MB), whatever the size of the cooc artifact.
 */
import { createReadStream } from 'node:fs';
import type { Client } from 'pg';
import { artifactType, type ArtifactType } from '../../engine/artifact-types';
import type { DbConfig } from '../../config/types';
import { ioError, isPipelineError, PipelineError } from '../../errors';
import { connectPg, ensureTenant, pgError, quoteTable } from './client';
import type { PreparedArtifact } from '../../engine/publisher';

/** Rows per INSERT statement. */
export const BATCH_ROWS = 5000;
const SLICE_BYTES = 1 << 20;

export const TENANT_TABLE = 'tenants';
export const SIGNAL_TABLES: Readonly<Partial<Record<ArtifactType, string>>> = {
  popularity: 'item_popularity_daily',
  cooc: 'item_covisit_daily',
};

export interface SignalCounts {
  /** The `day` column: the window's start date. */
  day: string;
  /** The tenant's uuid in `tenants`. */
  tenant_id: string;
  /** Rows upserted (inserted or updated) per table, in the order written. */
  rows: Record<string, number>;
}

/** The E_IO error of a statement (a PipelineError passes through), naming the statement timeout when that is what stopped it. */
export function statementError(db: DbConfig, action: string, target: string, err: unknown): PipelineError {
  if (isPipelineError(err)) return err;
  const e = pgError(action, target, err);
  if ((err as { code?: string })?.code === '57014') {
    return new PipelineError(e.code, e.exitCode, `${e.message} (db.statement_timeout_s = ${db.statement_timeout_s})`);
  }
  return e;
}

/**
 * Connects with `db` (statement timeout set), opens one transaction, finds the tenant (or
 * creates it with `db.auto_create_tenant`) and runs `work` with its id; commits when
 * `work` resolves, rolls back otherwise. Errors are PipelineErrors naming the server or
 * the table.
 */
export async function withTenantTransaction<T>(
  db: DbConfig,
  tenant: string,
  work: (client: Client, tenantId: string) => Promise<T>,
): Promise<T> {
  const client = await connectPg(db.dsn, { configKey: 'db.dsn', statementTimeoutS: db.statement_timeout_s });
  try {
    await client.query('BEGIN').catch((err) => {
      throw statementError(db, 'begin a transaction on', 'db.dsn', err);
    });
    try {
      const tenantId = await ensureTenant(client, quoteTable(TENANT_TABLE, 'db'), tenant, db.auto_create_tenant).catch((err) => {
        throw statementError(db, 'look up the tenant in', TENANT_TABLE, err);
      });
      const result = await work(client, tenantId);
      await client.query('COMMIT').catch((err) => {
        throw statementError(db, 'commit the transaction on', 'db.dsn', err);
      });
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** One statement per batch; resolves to the rows it inserted or updated. */
export type BatchWriter<R> = (rows: R[]) => Promise<number>;

/**
 * Upserts of the rows of a day's published popularity and cooc artifacts (the others
 * are ignored); null when there are none. `day` is the run's day (for messages),
 * `signalDay` the window's start date (the `day` column). Errors are PipelineErrors whose
 * message names the table and the day and says that the artifacts are published and a
 * rerun retries the signals.
 */
export async function publishSignals(
  db: DbConfig,
  scope: { tenant: string; surface: string; day: string; signalDay: string },
  artifacts: readonly PreparedArtifact[],
): Promise<SignalCounts | null> {
  const sources = artifacts.filter((a) => SIGNAL_TABLES[a.expect.artifactType] !== undefined);
  if (sources.length === 0) return null;
  const dayText = scope.signalDay === scope.day ? scope.day : `${scope.day} (day ${scope.signalDay}, the window's start)`;
  try {
    return await withTenantTransaction(db, scope.tenant, async (client, tenantId) => {
      const rows: Record<string, number> = {};
      for (const a of sources) {
        const type = a.expect.artifactType as 'popularity' | 'cooc';
        const table = SIGNAL_TABLES[type]!;
        rows[table] = await upsertArtifact(db, client, table, type, a.blob, {
          tenantId,
          namespace: scope.surface,
          day: scope.signalDay,
        });
      }
      return { day: scope.signalDay, tenant_id: tenantId, rows };
    });
  } catch (err) {
    const e = isPipelineError(err) ? err : ioError('upsert signals into', 'db.dsn', err);
    return Promise.reject(
      new PipelineError(
        e.code,
        1,
        `signals for ${dayText}: ${e.message}; the day's artifacts are published (the manifest points at them) but the ` +
          `checkpoint was not advanced: rerun the day (or --incremental) to retry the signals`,
      ),
    );
  }
}

interface RowScope {
  tenantId: string;
  namespace: string;
  day: string;
}

async function upsertArtifact(
  db: DbConfig,
  client: Client,
  table: string,
  type: 'popularity' | 'cooc',
  blob: PreparedArtifact['blob'],
  scope: RowScope,
): Promise<number> {
  const t = quoteTable(table, 'db');
  const sql =
    type === 'popularity'
      ? `INSERT INTO ${t} (tenant_id, namespace, item_id, day, score)
         SELECT $1::uuid, $2::text, u.item_id, $3::date, u.score FROM unnest($4::text[], $5::numeric[]) AS u(item_id, score)
         ON CONFLICT (tenant_id, namespace, item_id, day) DO UPDATE SET score = excluded.score, updated_at = now()`
      : `INSERT INTO ${t} (tenant_id, namespace, item_id, neighbor_id, day, score)
         SELECT $1::uuid, $2::text, u.item_id, u.neighbor_id, $3::date, u.score
         FROM unnest($4::text[], $5::text[], $6::numeric[]) AS u(item_id, neighbor_id, score)
         ON CONFLICT (tenant_id, namespace, item_id, neighbor_id, day) DO UPDATE SET score = excluded.score, updated_at = now()`;
  let sent = 0;
  let upserted = 0;
  const write = async (rows: ScoredRow[]) => {
    const items = rows.map((r) => r.item);
    const scores = rows.map((r) => r.count);
    const params =
      type === 'popularity'
        ? [scope.tenantId, scope.namespace, scope.day, items, scores]
        : [scope.tenantId, scope.namespace, scope.day, items, rows.map((r) => r.neighbor), scores];
    try {
      const res = await client.query(sql, params);
      upserted += res.rowCount ?? 0;
    } catch (err) {
      throw statementError(db, 'upsert into', `${table} (day ${scope.day}, rows ${sent + 1}-${sent + rows.length})`, err);
    }
    sent += rows.length;
  };
  await scanArtifactRows(blob, type, BATCH_ROWS, write);
  return upserted;
}

export interface ScoredRow {
  item: string;
  /** The neighbour (cooc); '' for popularity. */
  neighbor: string;
  count: number;
}

/**
 * The rows of a published popularity or cooc blob, `batch` at a time, in blob order:
 * popularity `{item_id, count}` → (item, '', count); cooc `{item_id, items: [{item_id,
 * count}]}` → one (item, neighbour, count) per neighbour.
 *
 * Reads the published pretty layout line by line (docs/contract.md §5: two-space indent, one key per
 * line; the publisher has checked the blob before this runs): payload elements at depth
 * 2 (6 spaces before their keys), cooc neighbours at depth 4 (10 spaces). Only `item_id`
 * values are JSON-decoded. A blob in another layout is an E_IO error naming it.
 */
export async function scanArtifactRows(
  blob: PreparedArtifact['blob'],
  type: 'popularity' | 'cooc',
  batch: number,
  write: (rows: ScoredRow[]) => Promise<void>,
  /** Bytes read at a time (tests use tiny slices to cross every boundary). */
  sliceBytes = SLICE_BYTES,
): Promise<void> {
  const where = blob instanceof Uint8Array ? `the published ${type} artifact` : blob.path;
  const scanner = new RowScanner(type, where);
  let rows: ScoredRow[] = [];
  const flush = async (all: boolean) => {
    while (rows.length >= batch || (all && rows.length > 0)) {
      const part = rows.length > batch ? rows.slice(0, batch) : rows;
      rows = rows.length > batch ? rows.slice(batch) : [];
      await write(part);
    }
  };
  for await (const slice of blobSlices(blob, sliceBytes)) {
    scanner.push(slice, rows);
    await flush(false);
  }
  scanner.end(rows);
  await flush(true);
}

async function* blobSlices(blob: PreparedArtifact['blob'], sliceBytes: number): AsyncGenerator<Buffer> {
  if (blob instanceof Uint8Array) {
    const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
    for (let at = 0; at < bytes.length; at += sliceBytes) yield bytes.subarray(at, at + sliceBytes);
    return;
  }
  const stream = createReadStream(blob.path, { highWaterMark: sliceBytes });
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (err) {
    throw ioError('read published artifact', blob.path, err);
  } finally {
    stream.destroy();
  }
}

const ITEM_KEY = Buffer.from('"item_id": ');
const COUNT_KEY = Buffer.from('"count": ');
const SPACE = 0x20;
const NEWLINE = 0x0a;

/** Line scanner of one blob's payload (see scanArtifactRows). */
class RowScanner {
  private readonly payloadOpen: Buffer;
  private readonly payloadEmpty: Buffer;
  private readonly rowIndent = 6;
  private readonly neighborIndent: number;
  private state: 'header' | 'payload' | 'done' = 'header';
  private rest: Buffer | null = null;
  private lineNo = 0;
  private item: string | null = null;
  private neighbor: string | null = null;

  constructor(
    private readonly type: 'popularity' | 'cooc',
    private readonly where: string,
  ) {
    const field = JSON.stringify(artifactType(type).payloadField);
    this.payloadOpen = Buffer.from(`  ${field}: [`);
    this.payloadEmpty = Buffer.from(`  ${field}: [],`);
    this.neighborIndent = type === 'cooc' ? 10 : -1;
  }

  push(slice: Buffer, out: ScoredRow[]): void {
    let start = 0;
    if (this.rest !== null) {
      const nl = slice.indexOf(NEWLINE);
      if (nl === -1) {
        this.rest = Buffer.concat([this.rest, slice]);
        return;
      }
      const line = Buffer.concat([this.rest, slice.subarray(0, nl)]);
      this.rest = null;
      this.line(line, 0, line.length, out);
      start = nl + 1;
    }
    for (;;) {
      const nl = slice.indexOf(NEWLINE, start);
      if (nl === -1) break;
      this.line(slice, start, nl, out);
      start = nl + 1;
    }
    if (start < slice.length) this.rest = Buffer.from(slice.subarray(start));
  }

  end(out: ScoredRow[]): void {
    if (this.rest !== null) this.line(this.rest, 0, this.rest.length, out);
    this.rest = null;
    if (this.state !== 'done') this.fail('the payload array is missing or not closed');
  }

  private fail(what: string): never {
    throw ioError(
      'read rows of',
      this.where,
      new Error(`line ${this.lineNo}: ${what} (not a ${this.type} artifact in the published layout)`),
    );
  }

  private line(buf: Buffer, start: number, end: number, out: ScoredRow[]): void {
    this.lineNo++;
    if (this.state === 'done') return;
    if (end > start && buf[end - 1] === 0x0d) end--;
    if (this.state === 'header') {
      if (startsWith(buf, start, end, this.payloadEmpty) && end - start === this.payloadEmpty.length) this.state = 'done';
      else if (startsWith(buf, start, end, this.payloadOpen) && end - start === this.payloadOpen.length) this.state = 'payload';
      return;
    }
    let indent = start;
    while (indent < end && buf[indent] === SPACE) indent++;
    const depth = indent - start;
    if (depth === 2) {
      // `  ],` closes the payload.
      this.state = 'done';
      if (this.item !== null && this.type === 'popularity') this.fail('an item without a count');
      return;
    }
    if (depth !== this.rowIndent && depth !== this.neighborIndent) return;
    if (startsWith(buf, indent, end, ITEM_KEY)) {
      const id = this.stringValue(buf, indent + ITEM_KEY.length, end);
      if (depth === this.rowIndent) {
        this.item = id;
        this.neighbor = null;
      } else {
        this.neighbor = id;
      }
    } else if (startsWith(buf, indent, end, COUNT_KEY)) {
      const count = this.countValue(buf, indent + COUNT_KEY.length, end);
      if (this.item === null) this.fail('a count before its item_id');
      if (this.type === 'popularity') {
        if (depth !== this.rowIndent) this.fail('a count at an unexpected depth');
        out.push({ item: this.item, neighbor: '', count });
        this.item = null;
      } else {
        if (depth !== this.neighborIndent || this.neighbor === null) this.fail('a neighbour count without its item_id');
        out.push({ item: this.item, neighbor: this.neighbor, count });
        this.neighbor = null;
      }
    }
  }

  private stringValue(buf: Buffer, from: number, end: number): string {
    if (buf[end - 1] === 0x2c) end--;
    try {
      const v: unknown = JSON.parse(buf.toString('utf8', from, end));
      if (typeof v === 'string') return v;
    } catch {
      // fall through
    }
    this.fail('an item_id that is not a JSON string');
  }

  private countValue(buf: Buffer, from: number, end: number): number {
    if (buf[end - 1] === 0x2c) end--;
    const text = buf.toString('latin1', from, end);
    const n = Number(text);
    if (text === '' || !Number.isFinite(n)) this.fail(`a count that is not a number (${JSON.stringify(text.slice(0, 40))})`);
    return n;
  }
}

function startsWith(buf: Buffer, at: number, end: number, prefix: Buffer): boolean {
  return end - at >= prefix.length && buf.compare(prefix, 0, prefix.length, at, at + prefix.length) === 0;
}
