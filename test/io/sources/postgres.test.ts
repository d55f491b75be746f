/**
 * The Postgres raw source (`raw_source.type: "postgres"`, docs/storage-contract.md §3) against a real
 * server (see pg-server.ts), through the real CLI: the service's exposure_events rows
 * become the same canonical events and artifacts as the equivalent JSONL file, bad rows
 * are handled like bad lines, and messages name the table and row id.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, publishedLines, STACK_FRAME, summaryRows } from '../../support/cli-harness';
import { expectSameBytes, must, tempDir } from '../../support/helpers';
import { writeConfig } from '../../support/pg-helpers';
import type { TestPg } from '../../support/pg-server';
import { pgSkipReason, pgTestDatabase } from '../../support/pg-server';
import { closedPort } from '../../support/s3-server';

const FILE = 'test/io/sources/postgres.test.ts';
const skip = await pgSkipReason(FILE);

const DAY = '2026-03-04';

/** One row of exposure_events as the service writes it (the fields the source reads). */
interface Row {
  tenant: string; // external_id
  surface: string;
  ts: string;
  request_id: string;
  session_id: string | null;
  response: unknown;
}

const uuid = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

/** Deterministic requests of one day: `n` rows, 1-6 items each, microsecond timestamps. */
function requests(n: number, f: Partial<Row> = {}, day = DAY): Row[] {
  return Array.from({ length: n }, (_, i) => {
    const micros = 1_000_000 + i * 1_234_567; // spread over the day, sub-second digits kept
    const t = new Date(Date.parse(`${day}T00:00:00Z`) + Math.floor(micros / 1000)).toISOString().slice(0, 19);
    const items = Array.from({ length: 1 + (i % 6) }, (_, k) => ({ item_id: `item-${(i * 7 + k * 13) % 97}`, rank: k }));
    return {
      tenant: 'demo',
      surface: 'home',
      ts: `${t}.${String(micros % 1_000_000).padStart(6, '0')}Z`,
      request_id: uuid(i),
      session_id: `s${i % 41}`,
      response: { items, model: 'x' },
      ...f,
    };
  });
}

/** The JSONL lines the rows stand for (one per item, no user id), in the rows' order. */
function jsonl(rows: Row[]): string {
  return rows
    .flatMap((r) =>
      (r.response as { items: Array<{ item_id: string; rank: number }> }).items.map((it) =>
        JSON.stringify({
          v: 1,
          ts: r.ts,
          tenant: r.tenant,
          surface: r.surface,
          session_id: r.session_id,
          request_id: r.request_id,
          item_id: it.item_id,
          rank: it.rank,
        }),
      ),
    )
    .map((l) => l + '\n')
    .join('');
}

describe.skipIf(skip !== null)('Postgres raw source (exposure_events)', () => {
  let pg: TestPg;
  let tmp: { dir: string; cleanup: () => void };
  let tenantId: string;

  /** Inserts rows in order (ids ascending); returns their ids. */
  async function insert(rows: Row[]): Promise<string[]> {
    const res = await pg.client.query<{ id: string }>(
      `INSERT INTO exposure_events (tenant_id, occurred_at, request_id, surface, segment, session_id, algo_version, request, response)
       SELECT t.id, r.ts::timestamptz, r.request_id::uuid, r.surface, 'web', r.session_id, 'v1', '{}'::jsonb, r.response::jsonb
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS r(tenant, ts, request_id, surface, session_id, response, n)
       JOIN tenants t ON t.external_id = r.tenant ORDER BY r.n RETURNING id::text AS id`,
      [
        rows.map((r) => r.tenant),
        rows.map((r) => r.ts),
        rows.map((r) => r.request_id),
        rows.map((r) => r.surface),
        rows.map((r) => r.session_id),
        rows.map((r) => JSON.stringify(r.response)),
      ],
    );
    return res.rows.map((r) => r.id);
  }

  const pgSource = (over: Record<string, unknown> = {}) => ({ raw_source: { type: 'postgres', postgres: { dsn: pg.dsn, ...over } } });
  const runArgs = (config: string, surface: string, start = DAY, end = DAY) => [
    'run',
    '--config',
    config,
    '--tenant',
    'demo',
    '--surface',
    surface,
    '--start',
    start,
    '--end',
    end,
  ];
  const partition = (out: string, surface: string, day = DAY) => join(out, 'canonical', 'demo', surface, 'exposures', `${day}.arrow`);

  beforeAll(async () => {
    pg = (await pgTestDatabase(FILE))!;
    tmp = tempDir('recsys-pgsrc-');
    const t = await pg.client.query<{ id: string }>(
      `INSERT INTO tenants (external_id, name) VALUES ('demo', 'Demo'), ('other', 'Other') RETURNING id::text AS id`,
    );
    tenantId = must(t.rows[0], 'the demo tenant row').id;
  });
  afterAll(async () => {
    await pg?.drop();
    tmp?.cleanup();
  });

  it('a run over exposure_events gives the same partition and artifact versions as the equivalent JSONL file', async () => {
    const rows = requests(3000);
    // Inserted out of time order: the source reads in occurred_at order, the file is written in that order.
    await insert([...rows.slice(1500), ...rows.slice(0, 1500)]);
    // Noise the source must not read: another tenant, another surface, the day before and after.
    await insert([
      ...requests(50, { tenant: 'other' }),
      ...requests(50, { surface: 'elsewhere' }),
      ...requests(20, {}, '2026-03-03'),
      ...requests(20, {}, '2026-03-05'),
    ]);
    const rawDir = join(tmp.dir, 'raw-equivalent');
    mkdirSync(join(rawDir, 'demo', 'home'), { recursive: true });
    writeFileSync(join(rawDir, 'demo', 'home', `exposure.${DAY}.jsonl`), jsonl(rows));

    const fromPg = writeConfig(tmp.dir, 'same-pg', undefined, pgSource());
    const fromFs = writeConfig(tmp.dir, 'same-fs', undefined, { raw_source: { type: 'fs', dir: rawDir } });
    const a = await cli(runArgs(fromPg.file, 'home'));
    const b = await cli(runArgs(fromFs.file, 'home'));
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const events = rows.reduce((n, r) => n + (r.response as { items: unknown[] }).items.length, 0);
    expect(summaryRows(a.stdout)[0]).toMatchObject({ day: DAY, lines: events, events, skippedTenantSurface: 0, skippedOutsideDay: 0 });
    expect(publishedLines(a.stdout)).toEqual(publishedLines(b.stdout));
    expectSameBytes(readFileSync(partition(fromPg.outDir, 'home')), readFileSync(partition(fromFs.outDir, 'home')), 'partition');
  });

  it('the tenant may be given by tenants.id as well as external_id; an unknown tenant is a day without events', async () => {
    const byId = writeConfig(tmp.dir, 'by-id', undefined, pgSource());
    const r = await cli(['run', '--config', byId.file, '--tenant', tenantId, '--surface', 'home', '--start', DAY, '--end', DAY]);
    expect(r.code, r.stderr).toBe(0);
    expect(summaryRows(r.stdout)[0]?.events).toBeGreaterThan(0);
    // The partition is under the tenant as given (the run's tenant), every event carries it.
    expect(existsSync(join(byId.outDir, 'canonical', tenantId, 'home', 'exposures', `${DAY}.arrow`))).toBe(true);

    const unknown = await cli(['run', '--config', byId.file, '--tenant', 'nobody', '--surface', 'home', '--start', DAY, '--end', DAY, '--dry-run']);
    expect(unknown.code, unknown.stderr).toBe(0);
    expect(unknown.stdout).toMatch(new RegExp(`${DAY} .*missing → no events`));
  });

  it('a malformed response fails the day naming the table and row id; nothing is written', async () => {
    const rows = requests(10, { surface: 'bad-response' });
    rows[6] = { ...must(rows[6]), response: { items: 'not-a-list' } };
    const ids = await insert(rows);
    const { file, outDir } = writeConfig(tmp.dir, 'bad-response', undefined, pgSource());
    const r = await cli(runArgs(file, 'bad-response'));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`bad input: exposure_events id ${ids[6]}: response.items: must be an array`);
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(existsSync(partition(outDir, 'bad-response'))).toBe(false);
  });

  it('a bad item is a bad line under the same rules, located by row id across cursor batches and parse blocks', async () => {
    // ~60k rows of 1-6 items: several cursor fetches and several 8 MiB parse blocks.
    const rows = requests(60_000, { surface: 'bad-item' });
    const bad = 57_321;
    rows[bad] = {
      ...must(rows[bad]),
      response: {
        items: [
          { item_id: 'ok', rank: 0 },
          { item_id: 42, rank: 1 },
        ],
      },
    };
    const ids = await insert(rows);
    const { file, outDir } = writeConfig(tmp.dir, 'bad-item', undefined, pgSource());
    const r = await cli(runArgs(file, 'bad-item'));
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`bad input: exposure_events id ${ids[bad]}: item_id`));
    expect(existsSync(partition(outDir, 'bad-item'))).toBe(false);
  });

  it('with the quarantine policy, bad rows and bad items go to the rejects file with their row ids', async () => {
    const rows = requests(400, { surface: 'quarantine' });
    rows[3] = { ...must(rows[3]), response: 'just a string' };
    rows[9] = { ...must(rows[9]), session_id: null }; // every item of a row without a session is rejected (session_id is required)
    const ids = await insert(rows);
    const { file, outDir } = writeConfig(tmp.dir, 'quarantine', undefined, {
      ...pgSource(),
      ingest: { bad_line_policy: 'quarantine', max_rejected_fraction: 0.2 },
    });
    const r = await cli(runArgs(file, 'quarantine'));
    expect(r.code, r.stderr).toBe(0);
    const rejects = readFileSync(join(outDir, 'canonical', 'demo', 'quarantine', 'exposures', `${DAY}.rejects.jsonl`), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rejects[0]).toMatchObject({ row_id: ids[3], reason: 'response: not a JSON object', raw: '"just a string"' });
    const noSession = rejects.slice(1);
    expect(noSession).toHaveLength((must(rows[9]).response as { items: unknown[] }).items.length);
    for (const x of noSession) expect(x).toMatchObject({ row_id: ids[9], reason: expect.stringContaining('session_id') });
    expect(summaryRows(r.stdout)[0]?.rejected).toBe(rejects.length);
  });

  it('an unreachable server: exit 1 naming the server (password hidden), nothing written', async () => {
    const port = await closedPort();
    const { file, outDir } = writeConfig(tmp.dir, 'down', undefined, {
      raw_source: { type: 'postgres', postgres: { dsn: `postgres://recsys:s3cret@127.0.0.1:${port}/nowhere` } },
    });
    const r = await cli(runArgs(file, 'home'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`127.0.0.1:${port}`);
    expect(r.stderr).toContain('raw_source.postgres.dsn');
    expect(r.stderr).not.toContain('s3cret');
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(existsSync(partition(outDir, 'home'))).toBe(false);
  });

  it('a table name that is not an identifier is a config error (exit 2)', async () => {
    const { file } = writeConfig(tmp.dir, 'bad-table', undefined, pgSource({ exposure_table: 'exposure_events; DROP TABLE tenants' }));
    const r = await cli(runArgs(file, 'home'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('raw_source.postgres.exposure_table');
  });
});
