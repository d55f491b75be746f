/**
 * `catalog import` (docs/storage-contract.md §4, docs/postgres.md) against a real
 * PostgreSQL (test/support/pg-server.ts), through the real CLI: the catalog upserted into
 * item_tags (tenant_id, namespace = --surface, item_id, tags, price, created_at).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_EXPECTED, must, SAMPLE_CATALOG, tempDir } from '../../support/helpers';
import type { CliResult } from '../../support/pg-helpers';
import { cli, STACK_FRAME, writeConfig } from '../../support/pg-helpers';
import type { TestPg } from '../../support/pg-server';
import { pgSkipReason, pgTestDatabase } from '../../support/pg-server';

const FILE = 'test/io/postgres/catalog-import.test.ts';
const skip = await pgSkipReason(FILE);

interface TagRow {
  item_id: string;
  tags: string[];
  price: string | null;
  created_at: Date;
  updated_at: Date;
}

describe.skipIf(skip !== null)('catalog import into item_tags (db.dsn)', () => {
  let tmp: { dir: string; cleanup: () => void };
  const dbs: TestPg[] = [];

  beforeAll(() => {
    tmp = tempDir('recsys-pg-catalog-');
  });
  afterAll(async () => {
    for (const db of dbs) await db.drop();
    tmp?.cleanup();
  });

  const freshDb = async () => {
    const db = (await pgTestDatabase(FILE))!;
    dbs.push(db);
    return db;
  };
  const importArgs = (config: string, extra: string[] = [], tenant = 'demo', surface = 'home') => [
    'catalog',
    'import',
    '--config',
    config,
    '--tenant',
    tenant,
    '--surface',
    surface,
    ...extra,
  ];
  const rows = async (db: TestPg, namespace = 'home'): Promise<TagRow[]> =>
    (
      await db.client.query<TagRow>(
        `SELECT item_id, tags, price::text AS price, created_at, updated_at FROM item_tags WHERE namespace = $1 ORDER BY item_id COLLATE "C"`,
        [namespace],
      )
    ).rows;
  const catalogFile = (name: string, text: string) => {
    const file = join(tmp.dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('imports the worked example catalog: the tags content_sim publishes, one row per item, namespace = surface', async () => {
    const db = await freshDb();
    const config = writeConfig(tmp.dir, 'sample', { dsn: db.dsn, auto_create_tenant: true });
    const r = await cli(importArgs(config.file));
    expect(r.code, r.stderr).toBe(0);
    const published = JSON.parse(readFileSync(join(EXAMPLE_EXPECTED, 'content_sim.2026-01-01.published.json'), 'utf8')) as {
      items: { item_id: string; tags: string[] }[];
    };
    const got = await rows(db);
    // The catalog has no untagged items, so item_tags holds exactly the content_sim items.
    expect(got.map(({ item_id, tags }) => ({ item_id, tags }))).toEqual(published.items.map(({ item_id, tags }) => ({ item_id, tags })));
    expect(got.every((x) => x.price === null)).toBe(true);
    expect(r.stdout).toBe(
      `catalog import demo/home: ${got.length} row(s) upserted into item_tags (${got.length} item(s) from ${SAMPLE_CATALOG}, tenant_id ${
        (await db.client.query('SELECT id::text AS id FROM tenants')).rows[0].id
      }, namespace home)\n`,
    );
    expect(await db.client.query('SELECT external_id, name FROM tenants').then((x) => x.rows)).toEqual([{ external_id: 'demo', name: 'demo' }]);
  });

  describe('a catalog with price, created_at and namespaces', () => {
    let db: TestPg;
    let config: string;
    let csv: string;
    let first: TagRow[];

    beforeAll(async () => {
      db = await freshDb();
      config = writeConfig(tmp.dir, 'priced', { dsn: db.dsn, auto_create_tenant: true }).file;
      csv = catalogFile(
        'priced.csv',
        [
          'item_id,tags,price,created_at,namespace',
          'sku-a,"Shoes|NEW| shoes ",19.99,2025-01-02,',
          'sku-b,,,,home',
          'sku-c,sale,0.5,2025-03-04T05:06:07+02:00,',
          'sku-c,Outdoor,,,',
          'sku-d,kids,3,,other',
          'sku-e,kids,1e3,2025-05-06 07:08:09,home',
        ].join('\n') + '\n',
      );
      const r = await cli(importArgs(config, ['--catalog', csv]));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('4 row(s) upserted into item_tags (4 item(s)');
      first = await rows(db);
    });

    it('writes tags (normalised, merged), price and created_at as in the catalog; other namespaces skipped', () => {
      expect(first.map(({ item_id, tags, price }) => ({ item_id, tags, price }))).toEqual([
        { item_id: 'sku-a', tags: ['shoes', 'new'], price: '19.990000' },
        { item_id: 'sku-b', tags: [], price: null },
        { item_id: 'sku-c', tags: ['sale', 'outdoor'], price: '0.500000' },
        { item_id: 'sku-e', tags: ['kids'], price: '1000.000000' },
      ]);
      const created = Object.fromEntries(first.map((x) => [x.item_id, x.created_at.toISOString()]));
      expect(created['sku-a']).toBe('2025-01-02T00:00:00.000Z');
      expect(created['sku-c']).toBe('2025-03-04T03:06:07.000Z');
      expect(created['sku-e']).toBe('2025-05-06T07:08:09.000Z'); // no offset: UTC
      expect(Date.now() - Date.parse(must(created['sku-b']))).toBeLessThan(10 * 60_000); // none: now()
    });

    it('a rerun is idempotent: same rows, tags, prices and created_at; updated_at may move', async () => {
      const r = await cli(importArgs(config, ['--catalog', csv]));
      expect(r.code, r.stderr).toBe(0);
      const again = await rows(db);
      const stable = (xs: TagRow[]) => xs.map(({ item_id, tags, price, created_at }) => ({ item_id, tags, price, created_at: created_at.getTime() }));
      expect(stable(again)).toEqual(stable(first));
      again.forEach((row, i) => expect(row.updated_at.getTime()).toBeGreaterThanOrEqual(must(first[i]).updated_at.getTime()));
      expect((await db.client.query('SELECT count(*)::int AS n FROM item_tags')).rows[0].n).toBe(4);
    });

    it('a changed catalog (JSONL) replaces tags and price, keeps created_at when it has none, adds new items', async () => {
      const jsonl = catalogFile(
        'changed.jsonl',
        [
          JSON.stringify({ item_id: 'sku-a', tags: ['Boots'], price: 25 }),
          JSON.stringify({ item_id: 'sku-c', tags: ['sale'], price: null, created_at: '2024-12-31' }),
          JSON.stringify({ item_id: 'sku-f', tags: [], price: '7.25' }),
        ].join('\n') + '\n',
      );
      const r = await cli(importArgs(config, ['--catalog', jsonl]));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('3 row(s) upserted into item_tags (3 item(s)');
      const byId = Object.fromEntries((await rows(db)).map((x) => [x.item_id, x]));
      expect(byId['sku-a']).toMatchObject({ tags: ['boots'], price: '25.000000' });
      expect(byId['sku-a']?.created_at.toISOString()).toBe('2025-01-02T00:00:00.000Z');
      expect(byId['sku-c']).toMatchObject({ tags: ['sale'], price: null });
      expect(byId['sku-c']?.created_at.toISOString()).toBe('2024-12-31T00:00:00.000Z');
      expect(byId['sku-f']).toMatchObject({ tags: [], price: '7.250000' });
      expect(Object.keys(byId).sort()).toEqual(['sku-a', 'sku-b', 'sku-c', 'sku-e', 'sku-f']); // nothing deleted
    });

    it('another surface is another namespace', async () => {
      const r = await cli(importArgs(config, ['--catalog', csv], 'demo', 'other'));
      expect(r.code, r.stderr).toBe(0);
      expect((await rows(db, 'other')).map((x) => x.item_id)).toEqual(['sku-a', 'sku-c', 'sku-d']); // sku-b and sku-e are home's only
    });
  });

  it('without db.dsn: a config error (exit 2) naming db.dsn', async () => {
    const config = writeConfig(tmp.dir, 'nodb', undefined).file;
    const r = await cli(importArgs(config));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('db.dsn');
    expect(r.stderr).not.toContain(STACK_FRAME);
  });

  it('an unknown tenant without auto_create_tenant: exit 1, clear message, nothing written', async () => {
    const db = await freshDb();
    const config = writeConfig(tmp.dir, 'unknown', { dsn: db.dsn }).file;
    const r = await cli(importArgs(config));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('tenant "demo" is not in "tenants"');
    expect(r.stderr).toContain('db.auto_create_tenant');
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect((await db.client.query('SELECT count(*)::int AS n FROM item_tags')).rows[0].n).toBe(0);
    expect((await db.client.query('SELECT count(*)::int AS n FROM tenants')).rows[0].n).toBe(0);
  });

  it('a bad catalog row: exit 1 naming file and line, nothing written', async () => {
    const db = await freshDb();
    const config = writeConfig(tmp.dir, 'bad', { dsn: db.dsn, auto_create_tenant: true }).file;
    const bad = catalogFile('bad.csv', 'item_id,tags,price\nsku-a,x,1\nsku-b,y,cheap\n');
    const r = await cli(importArgs(config, ['--catalog', bad]));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${bad}:3: price: "cheap"`);
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect((await db.client.query('SELECT count(*)::int AS n FROM item_tags')).rows[0].n).toBe(0);
  });

  it('a statement timeout: exit 1 naming item_tags and db.statement_timeout_s, nothing written', async () => {
    const db = await freshDb();
    const config = writeConfig(tmp.dir, 'timeout', { dsn: db.dsn, auto_create_tenant: true, statement_timeout_s: 1 }).file;
    const locker = new Client({ connectionString: db.dsn });
    await locker.connect();
    let r: CliResult;
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE item_tags IN ACCESS EXCLUSIVE MODE');
      r = await cli(importArgs(config));
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('upsert into item_tags');
    expect(r.stderr).toContain('db.statement_timeout_s = 1');
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect((await db.client.query('SELECT count(*)::int AS n FROM tenants')).rows[0].n).toBe(0);
  });
});
