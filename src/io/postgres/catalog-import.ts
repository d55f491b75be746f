/**
 * `catalog import` (docs/storage-contract.md §4): the catalog upserted into the
 * service's `item_tags` table.
 *
 * The catalog is read with the content_sim rules (src/io/sources/catalog.ts: same columns, tags
 * trimmed, lower-cased and de-duplicated, rows of other namespaces skipped, duplicate rows
 * merged), items without tags included (tags `{}`), plus the optional `price` and
 * `created_at`. Rows: (tenant_id, namespace = the surface, item_id, tags, price,
 * created_at). A row mirrors the catalog: tags and price are replaced (no price → NULL);
 * created_at is the catalog's when it has one (a date or a timestamp without an offset is
 * UTC), else now() for a new row and unchanged for an existing one. One transaction (tenant lookup/auto-create included), BATCH_ROWS rows per
 * statement, `ON CONFLICT (tenant_id, namespace, item_id) DO UPDATE`: rerunning the import
 * of the same catalog changes nothing but updated_at. Items that left the catalog are not
 * deleted.
 */
import type { Client } from 'pg';
import type { DbConfig } from '../../config/types';
import { loadCatalogRecords, type CatalogRecord } from '../sources/catalog';
import { quoteTable, statementError, withTenantTransaction } from './client';
import { BATCH_ROWS } from './signals';

export const ITEM_TAGS_TABLE = 'item_tags';

export interface CatalogImportResult {
  catalog: string;
  table: string;
  tenant_id: string;
  namespace: string;
  /** Items read from the catalog for this surface. */
  items: number;
  /** Rows inserted or updated. */
  rows: number;
}

export async function importCatalog(
  db: DbConfig,
  req: { tenant: string; surface: string; catalogPath: string; format: 'csv' | 'jsonl' },
): Promise<CatalogImportResult> {
  // A bad catalog fails before anything connects.
  const records = loadCatalogRecords(req.catalogPath, req.format, req.surface);
  return withTenantTransaction(db, req.tenant, async (client, tenantId) => {
    // A created_at without an offset (or a bare date) is UTC, whatever the server's TimeZone.
    await client.query(`SET LOCAL TIME ZONE 'UTC'`).catch((err) => {
      throw statementError(db, 'set the time zone on', 'db.dsn', err);
    });
    let rows = 0;
    for (let at = 0; at < records.length; at += BATCH_ROWS) {
      const batch = records.slice(at, at + BATCH_ROWS);
      // Two statements: rows with a created_at set it; rows without keep the stored one.
      const dated = batch.filter((r) => r.createdAt !== null);
      const undated = batch.filter((r) => r.createdAt === null);
      for (const part of [dated, undated]) {
        if (part.length === 0) continue;
        rows += await upsertItemTags(db, client, tenantId, req.surface, part, at);
      }
    }
    return { catalog: req.catalogPath, table: ITEM_TAGS_TABLE, tenant_id: tenantId, namespace: req.surface, items: records.length, rows };
  });
}

async function upsertItemTags(db: DbConfig, client: Client, tenantId: string, namespace: string, part: CatalogRecord[], at: number): Promise<number> {
  const t = quoteTable(ITEM_TAGS_TABLE, 'db');
  const setCreatedAt = part[0].createdAt !== null;
  // tags travel as JSON text (unnest cannot yield one text[] per row from a 2-D array).
  const sql = `INSERT INTO ${t} (tenant_id, namespace, item_id, tags, price, created_at)
    SELECT $1::uuid, $2::text, u.item_id,
           ARRAY(SELECT e.tag FROM jsonb_array_elements_text(u.tags::jsonb) WITH ORDINALITY AS e(tag, n) ORDER BY e.n),
           u.price, COALESCE(u.created_at, now())
    FROM unnest($3::text[], $4::text[], $5::numeric[], $6::timestamptz[]) AS u(item_id, tags, price, created_at)
    ON CONFLICT (tenant_id, namespace, item_id) DO UPDATE
      SET tags = excluded.tags, price = excluded.price,${setCreatedAt ? ' created_at = excluded.created_at,' : ''} updated_at = now()`;
  try {
    const res = await client.query(sql, [
      tenantId,
      namespace,
      part.map((r) => r.itemId),
      part.map((r) => JSON.stringify(r.tags)),
      part.map((r) => r.price),
      part.map((r) => r.createdAt),
    ]);
    return res.rowCount ?? 0;
  } catch (err) {
    throw statementError(db, 'upsert into', `${ITEM_TAGS_TABLE} (namespace ${namespace}, ${part.length} rows of the batch from catalog item ${at + 1})`, err);
  }
}
