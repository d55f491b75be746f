/**
 * Postgres signals (docs/storage-contract.md §4, docs/postgres.md) against a real
 * PostgreSQL (test/support/pg-server.ts: a fresh database with the service's schema),
 * through the real CLI on the worked example's data: after each day's publish, popularity
 * and cooc are upserted into item_popularity_daily / item_covisit_daily.
 *
 * Expected rows come from the published artifacts themselves (the blobs the run wrote to
 * the object store), never from hard-coded numbers. Every run is tenant "demo" (the raw
 * events' tenant), so scenarios that need a tenant of their own get a database of their own.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../../src/io/store/checkpoint';
import { type SignalRow, scanArtifactRows } from '../../../src/io/postgres/artifact-rows';
import { EXAMPLE_EXPECTED, must, tempDir } from '../../support/helpers';
import type { CliResult } from '../../support/pg-helpers';
import { cli, publishedVersions, readPublished, runArgs, STACK_FRAME, writeConfig } from '../../support/pg-helpers';
import type { TestPg } from '../../support/pg-server';
import { pgSkipReason, pgTestDatabase } from '../../support/pg-server';
import { closedPort } from '../../support/s3-server';

const FILE = 'test/io/postgres/signals.test.ts';

describe('rows read from published blobs (scanArtifactRows, no server)', () => {
  const fixture = (name: string) => join(EXAMPLE_EXPECTED, name);
  const scan = async (blob: Uint8Array | { path: string; size: number }, type: 'popularity' | 'cooc', batch: number, slice?: number) => {
    const batches: SignalRow[][] = [];
    await scanArtifactRows(
      blob,
      type,
      batch,
      (rows) => {
        batches.push(rows);
        return Promise.resolve();
      },
      slice,
    );
    return batches;
  };

  for (const day of ['2026-01-01', '2026-01-02']) {
    it(`popularity and cooc of ${day}: the rows of the JSON, in order, whatever the slice and batch sizes`, async () => {
      const pop = fixture(`popularity.${day}.published.json`);
      const cooc = fixture(`cooc.${day}.published.json`);
      const popRows = (JSON.parse(readFileSync(pop, 'utf8')) as Pop).items.map((i) => ({ item: i.item_id, neighbor: '', count: i.count }));
      const coocRows = (JSON.parse(readFileSync(cooc, 'utf8')) as Cooc).neighbors.flatMap((r) =>
        r.items.map((n) => ({ item: r.item_id, neighbor: n.item_id, count: n.count })),
      );
      for (const slice of [3, 61, undefined]) {
        for (const [file, type, expected] of [
          [pop, 'popularity', popRows],
          [cooc, 'cooc', coocRows],
        ] as const) {
          const fromBytes = await scan(readFileSync(file), type, 100, slice);
          expect(fromBytes.flat()).toEqual(expected);
          expect(fromBytes.slice(0, -1).every((b) => b.length === 100)).toBe(true);
          const fromFile = await scan({ path: file, size: 0 }, type, 1000, slice);
          expect(fromFile.flat()).toEqual(expected);
        }
      }
    });
  }

  it('a blob in another layout (compact JSON) or a missing file is an E_IO error naming it', async () => {
    const compact = readFileSync(fixture('cooc.2026-01-01.hashed.json'));
    await expect(scan(compact, 'cooc', 10)).rejects.toMatchObject({
      code: 'E_IO',
      message: expect.stringContaining('not a cooc artifact in the published layout'),
    });
    await expect(scan({ path: '/nonexistent/x.json', size: 0 }, 'cooc', 10)).rejects.toMatchObject({
      code: 'E_IO',
      message: expect.stringContaining('/nonexistent/x.json'),
    });
  });
});

const skip = await pgSkipReason(FILE);

type Pop = { items: { item_id: string; count: number }[] };
type Cooc = { neighbors: { item_id: string; items: { item_id: string; count: number }[] }[] };

describe.skipIf(skip !== null)('Postgres signals after publish (db.dsn)', () => {
  let pg: TestPg;
  let tmp: { dir: string; cleanup: () => void };
  const extra: TestPg[] = [];

  beforeAll(async () => {
    pg = (await pgTestDatabase(FILE))!;
    tmp = tempDir('recsys-pg-');
  });
  afterAll(async () => {
    await pg?.drop();
    for (const db of extra) await db.drop();
    tmp?.cleanup();
  });

  /** Another fresh database (dropped after the file). */
  const freshDb = async () => {
    const db = (await pgTestDatabase(FILE))!;
    extra.push(db);
    return db;
  };
  const q = async <R extends Record<string, unknown>>(sql: string, params: unknown[] = [], db = pg) => (await db.client.query<R>(sql, params)).rows;
  const tenantId = async (external: string, db = pg) =>
    (await q<{ id: string }>('SELECT id::text AS id FROM tenants WHERE external_id = $1', [external], db))[0]?.id;
  const countRows = async (db = pg) => {
    const [p] = await q<{ n: string }>('SELECT count(*) AS n FROM item_popularity_daily', [], db);
    const [c] = await q<{ n: string }>('SELECT count(*) AS n FROM item_covisit_daily', [], db);
    return { popularity: Number(p?.n), cooc: Number(c?.n) };
  };
  /** The rows of one tenant and day as `item` → score and `item\tneighbour` → score. */
  const popularityRows = async (tid: string, day: string, db = pg) =>
    Object.fromEntries(
      (
        await q<{ item_id: string; score: string }>(
          `SELECT item_id, score::text AS score FROM item_popularity_daily WHERE tenant_id = $1 AND namespace = 'home' AND day = $2`,
          [tid, day],
          db,
        )
      ).map((r) => [r.item_id, Number(r.score)]),
    );
  const coocRows = async (tid: string, day: string, db = pg) =>
    Object.fromEntries(
      (
        await q<{ item_id: string; neighbor_id: string; score: string }>(
          `SELECT item_id, neighbor_id, score::text AS score FROM item_covisit_daily WHERE tenant_id = $1 AND namespace = 'home' AND day = $2`,
          [tid, day],
          db,
        )
      ).map((r) => [`${r.item_id}\t${r.neighbor_id}`, Number(r.score)]),
    );
  const expectedPopularity = (a: Pop) => Object.fromEntries(a.items.map((i) => [i.item_id, i.count]));
  const expectedCooc = (a: Cooc) => Object.fromEntries(a.neighbors.flatMap((r) => r.items.map((n) => [`${r.item_id}\t${n.item_id}`, n.count])));
  const manifestOf = (outDir: string, tenant: string) => {
    const file = join(outDir, 'registry', 'current', tenant, 'home', 'manifest.json');
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { current: Record<string, string> }) : null;
  };

  describe('a run with db.auto_create_tenant', () => {
    let config: { file: string; outDir: string };
    let first: CliResult;
    let versions: Record<string, Record<string, string>>;

    beforeAll(async () => {
      config = writeConfig(tmp.dir, 'main', { dsn: pg.dsn, auto_create_tenant: true });
      first = await cli(runArgs(config.file, 'demo', '2026-01-01', '2026-01-02'));
      versions = publishedVersions(first.stdout);
    });

    it('creates the tenant (external_id = name = the tenant)', async () => {
      expect(first.code, first.stderr).toBe(0);
      expect(await q('SELECT external_id, name, status::text AS status FROM tenants')).toEqual([{ external_id: 'demo', name: 'demo', status: 'active' }]);
    });

    it('upserts rows equal to the published popularity and cooc artifacts of each day', async () => {
      expect(Object.keys(versions)).toEqual(['2026-01-01', '2026-01-02']);
      const tid = must(await tenantId('demo'), 'the demo tenant');
      for (const day of Object.keys(versions)) {
        const pop = readPublished(config.outDir, 'demo', 'popularity', versions[day]?.popularity) as unknown as Pop;
        const cooc = readPublished(config.outDir, 'demo', 'cooc', versions[day]?.cooc) as unknown as Cooc;
        expect(pop.items.length).toBeGreaterThan(0);
        expect(cooc.neighbors.length).toBeGreaterThan(0);
        expect(await popularityRows(tid, day)).toEqual(expectedPopularity(pop));
        expect(await coocRows(tid, day)).toEqual(expectedCooc(cooc));
      }
      // Nothing else: no other tenant, namespace or day.
      const other = await q(`SELECT 1 FROM item_popularity_daily WHERE namespace <> 'home' OR day NOT IN ('2026-01-01', '2026-01-02') OR tenant_id <> $1`, [
        tid,
      ]);
      expect(other).toEqual([]);
    });

    it('reports the rows upserted per table and day in the run summary', async () => {
      const rows = await countRows();
      const lines = first.stdout.split('\n').filter((l) => /^ {2}2026-01-0\d {2}day /.test(l));
      expect(lines).toHaveLength(2);
      const sum = (table: string) => lines.reduce((a, l) => a + Number(new RegExp(`${table} (\\d+)`).exec(l)![1]), 0);
      expect(sum('item_popularity_daily')).toBe(rows.popularity);
      expect(sum('item_covisit_daily')).toBe(rows.cooc);
    });

    it('a rerun leaves row counts and scores unchanged (updated_at may move)', async () => {
      const snapshot = async () =>
        q<{ k: string; score: string; updated_at: Date }>(
          `SELECT item_id || '/' || day AS k, score::text AS score, updated_at FROM item_popularity_daily
           UNION ALL SELECT item_id || '>' || neighbor_id || '/' || day, score::text, updated_at FROM item_covisit_daily ORDER BY 1`,
        );
      const before = await snapshot();
      const counts = await countRows();
      const again = await cli(runArgs(config.file, 'demo', '2026-01-01', '2026-01-02'));
      expect(again.code, again.stderr).toBe(0);
      expect(publishedVersions(again.stdout)).toEqual(versions);
      const after = await snapshot();
      expect(await countRows()).toEqual(counts);
      expect(after.map(({ k, score }) => ({ k, score }))).toEqual(before.map(({ k, score }) => ({ k, score })));
      after.forEach((row, i) => expect(row.updated_at.getTime()).toBeGreaterThanOrEqual(must(before[i]).updated_at.getTime()));
      expect(await q('SELECT external_id FROM tenants')).toEqual([{ external_id: 'demo' }]);
    });

    it('job mode (ingest, compute per type, then publish) upserts the same rows', async () => {
      const db = await freshDb();
      const job = writeConfig(tmp.dir, 'job', { dsn: db.dsn, auto_create_tenant: true }, { artifact_kinds: ['popularity', 'cooc'] });
      const args = (step: string, extra: string[] = []) => [
        step,
        ...['--config', job.file, '--tenant', 'demo', '--surface', 'home', '--segment', 'web', '--start', '2026-01-02', '--end', '2026-01-02'],
        ...extra,
      ];
      for (const step of [args('ingest'), args('compute', ['--type', 'popularity']), args('compute', ['--type', 'cooc'])]) {
        const r = await cli(step);
        expect(r.code, r.stderr).toBe(0);
      }
      expect(await tenantId('demo', db)).toBeUndefined(); // nothing written before publish
      const pub = await cli(args('publish'));
      expect(pub.code, pub.stderr).toBe(0);
      expect(publishedVersions(pub.stdout)['2026-01-02']).toEqual({ popularity: versions['2026-01-02']?.popularity, cooc: versions['2026-01-02']?.cooc });
      const tid = must(await tenantId('demo', db), 'the demo tenant');
      const mainTid = must(await tenantId('demo'), 'the demo tenant');
      expect(await popularityRows(tid, '2026-01-02', db)).toEqual(await popularityRows(mainTid, '2026-01-02'));
      expect(await coocRows(tid, '2026-01-02', db)).toEqual(await coocRows(mainTid, '2026-01-02'));
      expect(await countRows(db)).toEqual({
        popularity: Object.keys(await popularityRows(mainTid, '2026-01-02')).length,
        cooc: Object.keys(await coocRows(mainTid, '2026-01-02')).length,
      });
    });
  });

  it('a rolling window (window_days 2) writes each day under its window start date', async () => {
    const db = await freshDb();
    const config = writeConfig(tmp.dir, 'window', { dsn: db.dsn, auto_create_tenant: true }, { artifact_kinds: ['popularity', 'cooc'], window_days: 2 });
    const r = await cli(runArgs(config.file, 'demo', '2026-01-01', '2026-01-02'));
    expect(r.code, r.stderr).toBe(0);
    const v = publishedVersions(r.stdout);
    const tid = must(await tenantId('demo', db), 'the demo tenant');
    // Day 2026-01-02 covers 2026-01-01..02: its rows are under 2026-01-01; day 2026-01-01's under 2025-12-31.
    for (const [day, start] of [
      ['2026-01-01', '2025-12-31'],
      ['2026-01-02', '2026-01-01'],
    ] as const) {
      const pop = readPublished(config.outDir, 'demo', 'popularity', v[day]?.popularity) as unknown as Pop;
      const cooc = readPublished(config.outDir, 'demo', 'cooc', v[day]?.cooc) as unknown as Cooc;
      expect(await popularityRows(tid, start, db)).toEqual(expectedPopularity(pop));
      expect(await coocRows(tid, start, db)).toEqual(expectedCooc(cooc));
    }
    expect(await q('SELECT DISTINCT day::text AS day FROM item_popularity_daily ORDER BY 1', [], db)).toEqual([{ day: '2025-12-31' }, { day: '2026-01-01' }]);
  });

  it('an unknown tenant without auto_create_tenant: exit 1, clear message, nothing upserted, checkpoint not advanced', async () => {
    const db = await freshDb();
    const config = writeConfig(tmp.dir, 'unknown', { dsn: db.dsn });
    const r = await cli(runArgs(config.file, 'demo', '2026-01-01', '2026-01-01'));
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(r.stderr).toContain('signals for 2026-01-01');
    expect(r.stderr).toContain('tenant "demo" is not in "tenants"');
    expect(r.stderr).toContain('db.auto_create_tenant');
    expect(r.stderr).toContain('artifacts are published');
    expect(r.stderr).toContain('rerun');
    expect(await countRows(db)).toEqual({ popularity: 0, cooc: 0 });
    expect(await q('SELECT * FROM tenants', [], db)).toEqual([]);
    expect(Object.keys(manifestOf(config.outDir, 'demo')?.current ?? {}).sort()).toEqual(['content_sim', 'cooc', 'implicit', 'popularity', 'session_seq']);
    expect(await readCheckpoint(join(config.outDir, 'checkpoints'), 'demo', 'home', 'web')).toBeNull();

    // A tenant the service created (matched by external_id) is used as is.
    await q(`INSERT INTO tenants (external_id, name) VALUES ('demo', 'Demo shop')`, [], db);
    const again = await cli(runArgs(config.file, 'demo', '2026-01-01', '2026-01-01'));
    expect(again.code, again.stderr).toBe(0);
    expect(await q('SELECT external_id, name FROM tenants', [], db)).toEqual([{ external_id: 'demo', name: 'Demo shop' }]);
    expect((await countRows(db)).popularity).toBeGreaterThan(0);
  });

  it('an unreachable database (closed port): exit 1 naming the server, artifacts published, checkpoint behind; a rerun retries the signals', async () => {
    const db = await freshDb();
    const port = await closedPort();
    const down = writeConfig(tmp.dir, 'down', { dsn: `postgres://recsys:secret-pw@127.0.0.1:${port}/recsys_test`, auto_create_tenant: true });
    const r = await cli(runArgs(down.file, 'demo', '2026-01-01', '2026-01-01'));
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(r.stderr).toContain(`127.0.0.1:${port}`);
    expect(r.stderr).toContain('db.dsn');
    expect(r.stderr).not.toContain('secret-pw');
    expect(r.stderr).toContain('artifacts are published');
    const manifest = manifestOf(down.outDir, 'demo');
    expect(Object.keys(manifest?.current ?? {})).toContain('cooc');
    const checkpoints = join(down.outDir, 'checkpoints');
    expect(await readCheckpoint(checkpoints, 'demo', 'home', 'web')).toBeNull();

    // The same run with the database back: the same versions (a no-op publish), the signals, then the checkpoint.
    const up = JSON.parse(readFileSync(down.file, 'utf8'));
    up.db.dsn = db.dsn;
    writeFileSync(down.file, JSON.stringify(up));
    const again = await cli(runArgs(down.file, 'demo', '2026-01-01', '2026-01-01'));
    expect(again.code, again.stderr).toBe(0);
    expect(manifestOf(down.outDir, 'demo')?.current).toEqual(manifest!.current);
    const v = publishedVersions(again.stdout)['2026-01-01'];
    const tid = must(await tenantId('demo', db), 'the demo tenant');
    expect(await popularityRows(tid, '2026-01-01', db)).toEqual(
      expectedPopularity(readPublished(down.outDir, 'demo', 'popularity', v?.popularity) as unknown as Pop),
    );
    expect(await coocRows(tid, '2026-01-01', db)).toEqual(expectedCooc(readPublished(down.outDir, 'demo', 'cooc', v?.cooc) as unknown as Cooc));
    expect(await readCheckpoint(checkpoints, 'demo', 'home', 'web')).toBe('2026-01-01');
  });

  it('honours db.statement_timeout_s: a lock held on the table fails the upsert clearly, nothing written', async () => {
    const db = await freshDb();
    const config = writeConfig(tmp.dir, 'timeout', { dsn: db.dsn, auto_create_tenant: true, statement_timeout_s: 1 });
    const locker = new Client({ connectionString: db.dsn });
    await locker.connect();
    let r: CliResult;
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE item_covisit_daily IN ACCESS EXCLUSIVE MODE');
      // Without the statement timeout the upsert would wait for the lock forever.
      r = await cli(runArgs(config.file, 'demo', '2026-01-01', '2026-01-01'));
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(r.stderr).toContain('signals for 2026-01-01');
    expect(r.stderr).toContain('upsert into item_covisit_daily (day 2026-01-01');
    expect(r.stderr).toContain('statement timeout');
    expect(r.stderr).toContain('db.statement_timeout_s = 1');
    // One transaction per day: the popularity rows and the tenant written before it were rolled back.
    expect(await countRows(db)).toEqual({ popularity: 0, cooc: 0 });
    expect(await q('SELECT * FROM tenants', [], db)).toEqual([]);
    expect(await readCheckpoint(join(config.outDir, 'checkpoints'), 'demo', 'home', 'web')).toBeNull();
  });

  it('without db.dsn nothing connects and the summary has no signals section', async () => {
    const config = writeConfig(tmp.dir, 'nodb', undefined, { artifact_kinds: ['popularity'] });
    const before = await countRows();
    const r = await cli(runArgs(config.file, 'demo', '2026-01-01', '2026-01-01'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('signals (db.dsn');
    expect(await countRows()).toEqual(before);
  });
});
