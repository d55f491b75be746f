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
 * published pretty layout (artifact-rows.ts), and sent BATCH_ROWS at a time. Nothing is JSON.parse'd whole:
 * beyond the blob the run holds anyway, the cost is one slice, the rows of one slice and
 * one batch (a few MB), whatever the size of the cooc artifact.
 */
import type { Client } from 'pg';
import type { ArtifactType } from '../../engine/artifact-types';
import type { DbConfig } from '../../config/types';
import { ioError, isPipelineError, PipelineError } from '../../errors';
import { quoteTable, statementError, withTenantTransaction } from './client';
import { scanArtifactRows, type SignalRow } from './artifact-rows';
import type { PreparedArtifact } from '../../engine/publisher';

/** Rows per INSERT statement. */
export const BATCH_ROWS = 5000;

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
  const write = async (rows: SignalRow[]) => {
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
