/**
 * PostgreSQL for the tests: a fresh, uniquely named database per test file
 * (`recsys_t_<random>`) on the server of RECSYS_TEST_PG_DSN (default
 * postgres://recsys:recsys@127.0.0.1:5432/recsys_test; the role needs CREATEDB), with the
 * schema of docs/storage-contract.md §3, §4 (test/fixtures/postgres-schema.sql) applied.
 *
 * scripts/pg-test-server.sh installs and starts such a server on Debian and prints the
 * variable; .ci/run does that, so CI always runs the Postgres tests.
 *
 * Use (the same shape as s3.test.ts):
 *
 *     const FILE = 'test/io/postgres/signals.test.ts';
 *     const skip = await pgSkipReason(FILE);
 *     describe.skipIf(skip !== null)('…', () => {
 *       let pg: TestPg;
 *       beforeAll(async () => { pg = (await pgTestDatabase(FILE))!; });
 *       afterAll(async () => { await pg.drop(); });
 *     });
 *
 * When the server is unreachable and RECSYS_TEST_PG_DSN is not set, the file's tests are
 * skipped with ONE line on stderr saying why and what to run; when RECSYS_TEST_PG_DSN is
 * set (as in CI), an unreachable server throws, so the suite fails instead of skipping.
 * RECSYS_TEST_NO_PG=1 forces the skip path (to check it), unless RECSYS_TEST_PG_DSN is set.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { redactDsn } from '../../src/io/postgres/client';
import { must, REPO_ROOT } from './helpers';

export const DEFAULT_PG_DSN = 'postgres://recsys:recsys@127.0.0.1:5432/recsys_test';
/** The DSN of the server the tests use (its database is only the one we connect to for CREATE DATABASE). */
export const PG_ADMIN_DSN = process.env.RECSYS_TEST_PG_DSN || DEFAULT_PG_DSN;
/** Set explicitly (CI): an unreachable server is a failure, not a skip. */
export const PG_REQUIRED = !!process.env.RECSYS_TEST_PG_DSN;
export const PG_SCHEMA_FILE = join(REPO_ROOT, 'test', 'fixtures', 'postgres-schema.sql');

export interface TestPg {
  /** DSN of the fresh database, for configs (`db.dsn`, `raw_source.postgres.dsn`). */
  dsn: string;
  /** Its name, `recsys_t_<random>`. */
  database: string;
  /** Connected to the fresh database. */
  client: Client;
  /** Closes `client` and drops the database (forcing out other connections). */
  drop(): Promise<void>;
}

/** `dsn` with its database replaced. */
export function dsnWithDatabase(dsn: string, database: string): string {
  const url = new URL(dsn);
  url.pathname = `/${database}`;
  return url.toString();
}

function reasonOf(err: unknown): string {
  const e = err as { code?: string; message?: string; errors?: { message?: string }[] };
  // Node's connect to a name with several addresses fails with an AggregateError (empty message).
  const message = e?.message || e?.errors?.map((x) => x.message).join('; ') || String(err);
  return e?.code && !message.includes(e.code) ? `${e.code}: ${message}` : message;
}

async function connect(dsn: string): Promise<Client> {
  const client = new Client({ connectionString: dsn, connectionTimeoutMillis: 5_000, application_name: 'recsys-pipelines-tests' });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}

let probe: Promise<string | null> | null = null;

/**
 * null when the test server answers; else the reason, after printing the one skip line for
 * `file`. Throws instead when RECSYS_TEST_PG_DSN is set. Probes once per test file.
 */
export function pgSkipReason(file: string): Promise<string | null> {
  probe ??= (async () => {
    let reason: string | null = null;
    if (process.env.RECSYS_TEST_NO_PG && !PG_REQUIRED) {
      reason = 'RECSYS_TEST_NO_PG is set';
    } else {
      try {
        const c = await connect(PG_ADMIN_DSN);
        await c.end();
      } catch (err) {
        reason = reasonOf(err);
      }
    }
    if (reason === null) return null;
    if (PG_REQUIRED) {
      throw new Error(
        `${file}: PostgreSQL not reachable at ${redactDsn(PG_ADMIN_DSN)} (RECSYS_TEST_PG_DSN is set, so this fails instead of skipping): ${reason}`,
      );
    }
    console.warn(`${file}: skipped, PostgreSQL not reachable at ${redactDsn(PG_ADMIN_DSN)}: ${reason}; run scripts/pg-test-server.sh`);
    return reason;
  })();
  return probe;
}

/**
 * A fresh database with the schema of docs/storage-contract.md §3, §4, or null when the server is unreachable
 * (see pgSkipReason). Errors after the server answered (no CREATEDB, bad schema) throw.
 */
export async function pgTestDatabase(file: string): Promise<TestPg | null> {
  if ((await pgSkipReason(file)) !== null) return null;
  const database = `recsys_t_${randomBytes(6).toString('hex')}`;
  const admin = await connect(PG_ADMIN_DSN);
  try {
    await admin.query(`CREATE DATABASE ${database}`);
  } finally {
    await admin.end().catch(() => undefined);
  }
  const dsn = dsnWithDatabase(PG_ADMIN_DSN, database);
  const drop = async () => {
    const a = await connect(PG_ADMIN_DSN);
    try {
      // WITH (FORCE) may not end a backend of another role: an autovacuum worker that started on
      // the database (a busy machine makes that likely) fails the drop with 42501 until it
      // finishes. Retried a bounded number of times; the last failure is the error.
      for (let attempt = 1; ; attempt++) {
        try {
          await a.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
          return;
        } catch (err) {
          if ((err as { code?: string }).code !== '42501' || attempt === 50) throw err;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    } finally {
      await a.end().catch(() => undefined);
    }
  };
  let client: Client | undefined;
  try {
    client = await connect(dsn);
    await client.query(readFileSync(PG_SCHEMA_FILE, 'utf8'));
  } catch (err) {
    await client?.end().catch(() => undefined);
    await drop().catch(() => undefined);
    throw err;
  }
  const c = client;
  return {
    dsn,
    database,
    client: c,
    drop: async () => {
      await c.end().catch(() => undefined);
      await drop();
    },
  };
}

/** The server's version (`SHOW server_version`), for reports. */
export async function pgServerVersion(client: Client): Promise<string> {
  const res = await client.query<{ server_version: string }>('SHOW server_version');
  return must(res.rows[0], 'a server_version row').server_version;
}
