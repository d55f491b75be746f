/**
 * The Postgres raw source (`raw_source.type: "postgres"`, docs/storage-contract.md §3): the online
 * service's exposure log. Rows of the run's tenant and surface with `occurred_at` in the
 * day, in (`occurred_at`, `id`) order, read through a server-side cursor in batches.
 *
 * Each item of a row's `response.items` becomes one JSONL exposure line (`ts` =
 * `occurred_at` in UTC to the microsecond, `request_id`, `session_id`, `item_id`, `rank`,
 * no user id), which ingest parses with the same code and the same rules as a file's
 * lines: an item whose `item_id` is not a string, a negative rank, a row without a
 * session… fail (or are quarantined) exactly like such a line, and messages name the table
 * and the row id instead of file:line. A row whose `response` cannot give lines at all
 * (not an object, `items` missing or not an array, an item that is not an object) is a
 * bad row of its own (`RawBlock.badRows`).
 */
import Cursor from 'pg-cursor';
import type { PostgresSourceConfig } from '../../config/types';
import { dayStartMicros, MICROS_PER_DAY } from '../../days';
import { sharedBytes } from '../../engine/threads/shared-memory';
import { connectPg, findTenant, pgError, quoteTable } from '../postgres/client';
import type { RawBlock, RawDay } from './raw-day';

/** Rows per cursor fetch: a few MB of JSON per round trip. */
const ROWS_PER_FETCH = 2000;
const CONFIG_KEY = 'raw_source.postgres.dsn';

interface ExposureRow {
  id: string;
  ts: string;
  request_id: string;
  session_id: string | null;
  response: unknown;
}

/** The day's rows as a RawDay; null for an unknown tenant (a day without events). */
export async function postgresDay(cfg: PostgresSourceConfig, tenant: string, surface: string, day: string): Promise<RawDay | null> {
  const tenants = quoteTable(cfg.tenant_table, 'raw_source.postgres.tenant_table');
  const exposures = quoteTable(cfg.exposure_table, 'raw_source.postgres.exposure_table');
  const client = await connectPg(cfg.dsn, { configKey: CONFIG_KEY });
  let tenantId: string | null;
  try {
    tenantId = await findTenant(client, tenants, tenant);
  } finally {
    await client.end().catch(() => undefined);
  }
  if (tenantId === null) return null;

  const start = new Date(dayStartMicros(day)! / 1000);
  const end = new Date((dayStartMicros(day)! + MICROS_PER_DAY) / 1000);
  const sql =
    `SELECT id::text AS id, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts, ` +
    `request_id::text AS request_id, session_id, response FROM ${exposures} ` +
    `WHERE tenant_id = $1::uuid AND surface = $2 AND occurred_at >= $3 AND occurred_at < $4 ORDER BY occurred_at, id`;
  const table = cfg.exposure_table;
  return {
    name: `postgres table ${table} (tenant ${tenantId}, surface ${JSON.stringify(surface)})`,
    flat: false,
    where: (block, _lineBase, line) => `${table} id ${block.rowIds?.[line - 1] ?? '?'}`,
    async *blocks(blockBytes) {
      const conn = await connectPg(cfg.dsn, { configKey: CONFIG_KEY });
      const cursor = conn.query(new Cursor<ExposureRow>(sql, [tenantId, surface, start, end]));
      try {
        const lines = new LineBuilder(tenant, surface, table);
        for (;;) {
          let rows: ExposureRow[];
          try {
            rows = await cursor.read(ROWS_PER_FETCH);
          } catch (err) {
            throw pgError('read exposures from', table, err);
          }
          if (rows.length === 0) break;
          for (const row of rows) lines.addRow(row);
          if (lines.bytes >= blockBytes) yield lines.take();
        }
        if (lines.bytes > 0 || lines.hasBadRows) yield lines.take();
      } finally {
        await cursor.close().catch(() => undefined);
        await conn.end().catch(() => undefined);
      }
    },
  };
}

/** Accumulates the lines of one block and the row id of each. */
class LineBuilder {
  private parts: string[] = [];
  private rowIds: string[] = [];
  private badRows: NonNullable<RawBlock['badRows']> = [];
  bytes = 0;
  private readonly tenantField: string;
  private readonly surfaceField: string;

  constructor(
    tenant: string,
    surface: string,
    private readonly table: string,
  ) {
    this.tenantField = JSON.stringify(tenant);
    this.surfaceField = JSON.stringify(surface);
  }

  get hasBadRows(): boolean {
    return this.badRows.length > 0;
  }

  addRow(row: ExposureRow): void {
    const bad = rowProblem(row.response);
    if (bad !== null) {
      this.badRows.push({
        before: this.rowIds.length,
        rowId: row.id,
        where: `${this.table} id ${row.id}`,
        rule: bad,
        raw: JSON.stringify(row.response) ?? 'null',
      });
      return;
    }
    const items = (row.response as { items: Array<Record<string, unknown>> }).items;
    const head =
      `{"v":1,"ts":"${row.ts}","tenant":${this.tenantField},"surface":${this.surfaceField},"request_id":"${row.request_id}"` +
      (row.session_id === null ? '' : `,"session_id":${JSON.stringify(row.session_id)}`);
    for (const item of items) {
      let line = head;
      if (item.item_id !== undefined) line += `,"item_id":${JSON.stringify(item.item_id)}`;
      if (item.rank !== undefined) line += `,"rank":${JSON.stringify(item.rank)}`;
      line += '}\n';
      this.parts.push(line);
      this.rowIds.push(row.id);
      this.bytes += line.length; // an estimate (UTF-16 units) is enough to size blocks
    }
  }

  take(): RawBlock {
    const text = this.parts.join('');
    // Shared, so a worker parses it where it is (src/engine/threads/shared-memory.ts).
    const bytes = sharedBytes(Buffer.byteLength(text));
    bytes.write(text);
    const block: RawBlock = { bytes, rowIds: this.rowIds };
    if (this.badRows.length > 0) block.badRows = this.badRows;
    this.parts = [];
    this.rowIds = [];
    this.badRows = [];
    this.bytes = 0;
    return block;
  }
}

/** Why a row's `response` gives no lines, or null when it is well formed. */
function rowProblem(response: unknown): string | null {
  if (response === null || typeof response !== 'object' || Array.isArray(response)) return 'response: not a JSON object';
  const items = (response as { items?: unknown }).items;
  if (items === undefined) return 'response.items: required';
  if (!Array.isArray(items)) return 'response.items: must be an array';
  for (let i = 0; i < items.length; i++) {
    const it: unknown = items[i];
    if (it === null || typeof it !== 'object' || Array.isArray(it)) return `response.items[${i}]: not an object`;
  }
  return null;
}
