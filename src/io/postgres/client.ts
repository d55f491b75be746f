/**
 * Postgres plumbing shared by the raw source (`raw_source.postgres`), the signal tables
 * and `catalog import` (`db`), per docs/storage-contract.md: connections with a statement timeout,
 * the tenant lookup, and errors a person can act on (never a stack trace, never a
 * password in a message).
 */
import type * as Pg from 'pg';
import type { Client } from 'pg';
import type { DbConfig } from '../../config/types';
import { configError, ioError, isPipelineError, PipelineError } from '../../errors';

export interface PgOptions {
  /** Where the DSN came from, for messages: `db.dsn`, `raw_source.postgres.dsn`. */
  configKey: string;
  /** Bounds each statement (server side); none when absent. */
  statementTimeoutS?: number;
}

/** The DSN with its password replaced by `***`, for messages and logs. */
export function redactDsn(dsn: string): string {
  return dsn.replace(/^(postgres(?:ql)?:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}

/** A connected client; an unreachable server or refused login is an E_IO error naming the server. */
export async function connectPg(dsn: string, opts: PgOptions): Promise<Client> {
  let client: Client;
  try {
    // Loaded on first use: a run without a database never needs it (~30 ms at start-up).
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use (see above)
    const { Client: PgClient } = require('pg') as typeof Pg;
    client = new PgClient({
      connectionString: dsn,
      connectionTimeoutMillis: 10_000,
      ...(opts.statementTimeoutS !== undefined && { statement_timeout: opts.statementTimeoutS * 1000 }),
      application_name: 'recsys-pipelines',
    });
  } catch (err) {
    throw configError(`${opts.configKey}: not a valid connection string (${(err as Error).message})`);
  }
  // A connection that dies later (server restart) must surface through the failing query,
  // not as an unhandled 'error' event that kills the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw pgError(`connect to Postgres (${opts.configKey})`, redactDsn(dsn), err);
  }
  return client;
}

/** The E_IO error of a failed Postgres operation, with the server's SQLSTATE and a hint. */
export function pgError(action: string, target: string, err: unknown): PipelineError {
  const e = err as { code?: string; message?: string };
  const code = e?.code;
  const message = e?.message ?? String(err);
  let hint = '';
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || /timeout/i.test(message)) {
    hint = '; check the host/port in the DSN and that the server is up';
  } else if (code === '28P01' || code === '28000') {
    hint = '; the server refused the login: check the user and password in the DSN';
  } else if (code === '3D000') {
    hint = '; the database does not exist';
  } else if (code === '42P01') {
    hint = '; the table does not exist: create the schema of docs/storage-contract.md §3, §4 (or check the table names in the config)';
  } else if (code === '57014') {
    hint = '; the statement ran longer than the statement timeout';
  }
  return ioError(action, target, new Error(`${code && !message.includes(code) ? `${code}: ` : ''}${message}${hint}`));
}

/** `"name"` or `"schema"."name"`: a table name from the config as a quoted SQL identifier. */
export function quoteTable(name: string, configKey: string): string {
  const parts = name.split('.');
  if (parts.length > 2 || parts.some((p) => !/^[A-Za-z_][A-Za-z0-9_$]*$/.test(p))) {
    throw configError(`${configKey}: ${JSON.stringify(name)} is not a table name (letters, digits, _ and $, optionally schema.table)`);
  }
  return parts.map((p) => `"${p}"`).join('.');
}

/**
 * The tenant's id (uuid as text): `tenants.external_id` = tenant, or `tenants.id::text` =
 * tenant. null when unknown.
 */
export async function findTenant(client: Client, tenantTable: string, tenant: string): Promise<string | null> {
  try {
    const res = await client.query<{ id: string }>(
      `SELECT id::text AS id FROM ${tenantTable} WHERE external_id = $1 OR id::text = $1 ORDER BY (external_id = $1) DESC LIMIT 1`,
      [tenant],
    );
    return res.rows.length > 0 ? res.rows[0].id : null;
  } catch (err) {
    throw pgError('look up the tenant in', tenantTable, err);
  }
}

/**
 * The tenant's id; a missing tenant is inserted with `autoCreate` (`external_id` = `name`
 * = the tenant), else an E_NOT_FOUND error saying how to proceed.
 */
export async function ensureTenant(client: Client, tenantTable: string, tenant: string, autoCreate: boolean): Promise<string> {
  const found = await findTenant(client, tenantTable, tenant);
  if (found !== null) return found;
  if (!autoCreate) {
    throw new PipelineError(
      'E_NOT_FOUND',
      1,
      `tenant ${JSON.stringify(tenant)} is not in ${tenantTable} (matched by external_id or id); create it, or set db.auto_create_tenant to true`,
    );
  }
  try {
    await client.query(`INSERT INTO ${tenantTable} (external_id, name) VALUES ($1, $1) ON CONFLICT (external_id) DO NOTHING`, [tenant]);
  } catch (err) {
    throw pgError('create the tenant in', tenantTable, err);
  }
  const created = await findTenant(client, tenantTable, tenant);
  if (created === null) throw pgError('create the tenant in', tenantTable, new Error('the inserted tenant is not visible'));
  return created;
}

/** The tenants table of the service's schema (docs/storage-contract.md §4). */
export const TENANT_TABLE = 'tenants';

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
export async function withTenantTransaction<T>(db: DbConfig, tenant: string, work: (client: Client, tenantId: string) => Promise<T>): Promise<T> {
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
