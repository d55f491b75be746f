import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configWithOverrides, loadConfig, parseConfig } from '../../src/config/load';
import type { Config } from '../../src/config/types';
import { ARTIFACT_TYPES } from '../../src/engine/artifact-types';
import { PipelineError } from '../../src/errors';

const CWD = '/w';

/** Runs `fn`, asserts it throws an E_CONFIG (exit 2) error, returns its message. */
function configErrorOf(fn: () => unknown): string {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(PipelineError);
  const err = caught as PipelineError;
  expect(err.code).toBe('E_CONFIG');
  expect(err.exitCode).toBe(2);
  return err.message;
}

const parse = (raw: unknown) => parseConfig(raw, CWD, 'cfg.json');
const parseError = (raw: unknown) => configErrorOf(() => parse(raw));

const tmpRoot = mkdtempSync(join(tmpdir(), 'config-test-'));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

describe('loadConfig', () => {
  it('loads the small example and resolves its paths against cwd', () => {
    const c = loadConfig(join(__dirname, '..', 'fixtures', 'example-small', 'config.json'), '/work/main');
    expect(c.raw_source).toEqual({ type: 'fs', dir: '/work/shared/examples/small/raw' });
    expect(c.canonical_dir).toBe('/work/main/.out/example/canonical');
    expect(c.checkpoint_dir).toBe('/work/main/.out/example/checkpoints');
    expect(c.artifacts_dir).toBe('/work/main/.out/example/artifacts');
    expect(c.registry_dir).toBe('/work/main/.out/example/registry');
    expect(c.object_store).toEqual({ type: 'fs', dir: '/work/main/.out/example/objectstore' });
    expect(c.catalog).toEqual({ path: '/work/shared/examples/small/catalog.csv', format: 'csv' });
    expect(c.artifact_kinds).toEqual([...ARTIFACT_TYPES]);
    expect(c.limits.max_neighbors_per_item).toBe(5);
    expect(c.limits.min_cooc_support).toBe(1);
    expect(c.limits.max_items_per_artifact).toBe(100000);
    expect(c.limits.max_events_per_run).toBe(1_000_000); // not in the file: default
  });

  it('resolves a relative config path and relative paths inside it against cwd', () => {
    const dir = join(tmpRoot, 'rel');
    mkdirSync(dir);
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ raw_events_dir: 'raw', out_dir: 'out' }));
    const c = loadConfig('c.json', dir);
    expect(c.raw_source.dir).toBe(join(dir, 'raw'));
    expect(c.canonical_dir).toBe(join(dir, 'out', 'canonical'));
  });

  it('accepts a UTF-8 byte order mark', () => {
    const file = join(tmpRoot, 'bom.json');
    writeFileSync(file, '\uFEFF{"raw_source": {"dir": "x"}}');
    expect(loadConfig(file, CWD).raw_source.dir).toBe('/w/x');
  });

  it('a missing file is a config error naming the path', () => {
    const file = join(tmpRoot, 'does-not-exist.json');
    const message = configErrorOf(() => loadConfig(file, CWD));
    expect(message).toContain(file);
    expect(message).toContain('ENOENT');
  });

  it('a directory is a config error naming the path', () => {
    expect(configErrorOf(() => loadConfig(tmpRoot, CWD))).toContain(tmpRoot);
  });

  it('invalid JSON is a config error naming the path and the position', () => {
    const file = join(tmpRoot, 'bad.json');
    writeFileSync(file, '{\n  "raw_source": {"dir": "x"},\n}\n');
    const message = configErrorOf(() => loadConfig(file, CWD));
    expect(message).toContain(file);
    expect(message).toContain('invalid JSON');
    expect(message).toContain('line 3, column 1');
  });

  it('an empty file is a config error', () => {
    const file = join(tmpRoot, 'empty.json');
    writeFileSync(file, '');
    expect(configErrorOf(() => loadConfig(file, CWD))).toContain(file);
  });
});

describe('defaults', () => {
  it('fills every default from raw_source.dir alone', () => {
    const c = parse({ raw_source: { dir: 'x' } });
    const expected: Config = {
      out_dir: '/w/.out',
      raw_source: { type: 'fs', dir: '/w/x' },
      canonical_dir: '/w/.out/canonical',
      checkpoint_dir: '/w/.out/checkpoints',
      artifacts_dir: '/w/.out/artifacts',
      object_store: { type: 'fs', dir: '/w/.out/objectstore' },
      registry_dir: '/w/.out/registry',
      artifact_kinds: ['popularity', 'cooc'],
      window_days: 1,
      limits: {
        max_days_backfill: 365,
        max_events_per_run: 1_000_000,
        max_sessions_per_run: 1_000_000,
        max_items_per_session: 200,
        max_distinct_items_per_run: 2_000_000,
        max_neighbors_per_item: 50,
        max_items_per_artifact: 1000,
        min_cooc_support: 2,
        max_users_per_run: 100_000,
        max_items_per_user: 500,
        min_events_per_run: 0,
      },
      engine: {
        workers: availableParallelism(),
        shard_rows: 262_144,
        max_inflight_bytes: 256 * 1024 * 1024,
        worker_heap_mb: 2048,
      },
      ingest: { bad_line_policy: 'fail', max_rejected_fraction: 0.01 },
      metrics: { textfile: null, pushgateway: null },
      gates: {
        allow_empty: false,
        drift: Object.fromEntries(
          ARTIFACT_TYPES.map((t) => [t, { max_row_shrink: null, min_key_overlap: null, min_top_n_overlap: null, top_n: 100 }]),
        ) as Config['gates']['drift'],
      },
    };
    expect(c).toEqual(expected);
    expect('catalog' in c).toBe(false);
    expect('db' in c).toBe(false);
  });

  it('derives directory defaults from out_dir, absolute paths kept as given', () => {
    const c = parse({ raw_source: { dir: '/data/raw' }, out_dir: 'build/out', registry_dir: '/srv/registry' });
    expect(c.raw_source.dir).toBe('/data/raw');
    expect(c.out_dir).toBe('/w/build/out');
    expect(c.canonical_dir).toBe('/w/build/out/canonical');
    expect(c.object_store.dir).toBe('/w/build/out/objectstore');
    expect(c.registry_dir).toBe('/srv/registry');
    for (const p of [c.out_dir, c.canonical_dir, c.checkpoint_dir, c.artifacts_dir, c.registry_dir]) {
      expect(isAbsolute(p)).toBe(true);
    }
  });

  it('keeps explicit engine, ingest and window settings', () => {
    const c = parse({
      raw_source: { dir: 'x' },
      window_days: 7,
      engine: { workers: 3, shard_rows: 1024, max_inflight_bytes: 1024 * 1024, worker_heap_mb: 64 },
      ingest: { bad_line_policy: 'quarantine', max_rejected_fraction: 0 },
    });
    expect(c.window_days).toBe(7);
    expect(c.engine).toEqual({ workers: 3, shard_rows: 1024, max_inflight_bytes: 1024 * 1024, worker_heap_mb: 64 });
    expect(c.ingest).toEqual({ bad_line_policy: 'quarantine', max_rejected_fraction: 0 });
  });
});

describe('legacy keys', () => {
  it('raw_events_dir is raw_source {type: fs, dir}', () => {
    expect(parse({ raw_events_dir: 'events' }).raw_source).toEqual({ type: 'fs', dir: '/w/events' });
  });

  it('raw_events_dir and raw_source.dir may both be given when they agree', () => {
    const c = parse({ raw_events_dir: 'events', raw_source: { type: 'fs', dir: './events/' } });
    expect(c.raw_source.dir).toBe('/w/events');
  });

  it('raw_events_dir conflicting with raw_source.dir is an error naming raw_events_dir', () => {
    expect(parseError({ raw_events_dir: 'a', raw_source: { dir: 'b' } })).toContain('raw_events_dir');
  });

  it('raw_events_dir conflicting with a non-fs raw_source.type is an error', () => {
    const message = parseError({ raw_events_dir: 'a', raw_source: { type: 's3', s3: { bucket: 'b' } } });
    expect(message).toContain('raw_events_dir');
    expect(message).toContain('raw_source.type');
  });

  it('object_store_dir is object_store.dir, and a conflict is an error', () => {
    expect(parse({ raw_events_dir: 'x', object_store_dir: 'store' }).object_store).toEqual({ type: 'fs', dir: '/w/store' });
    expect(parseError({ raw_events_dir: 'x', object_store_dir: 'a', object_store: { dir: 'b' } })).toContain('object_store_dir');
  });
});

describe('artifact_kinds', () => {
  it('resolves aliases, drops duplicates and returns canonical order', () => {
    const c = parse({
      raw_source: { dir: 'x' },
      artifact_kinds: ['session', 'cooc', 'popularity', 'cooc', 'content', 'content_sim', 'implicit'],
      catalog: { path: 'items.csv' },
    });
    expect(c.artifact_kinds).toEqual(['popularity', 'cooc', 'implicit', 'content_sim', 'session_seq']);
  });

  it('an unknown kind is an error naming artifact_kinds[i]', () => {
    const message = parseError({ raw_source: { dir: 'x' }, artifact_kinds: ['popularity', 'pop'] });
    expect(message).toContain('artifact_kinds[1]');
    expect(message).toContain('"pop"');
  });

  it('entries are trimmed and lower-cased before they are matched, as the Go tool reads them', () => {
    const c = parse({ raw_source: { dir: 'x' }, artifact_kinds: [' Popularity ', 'COOC', 'cooc', '\tImplicit\n', 'Session'] });
    expect(c.artifact_kinds).toEqual(['popularity', 'cooc', 'implicit', 'session_seq']);
  });

  it('an empty list means the default, as in the Go tool', () => {
    expect(parse({ raw_source: { dir: 'x' }, artifact_kinds: [] }).artifact_kinds).toEqual(['popularity', 'cooc']);
  });

  it('a blank or unknown entry is still an error naming the entry and the value as written', () => {
    const blank = parseError({ raw_source: { dir: 'x' }, artifact_kinds: ['cooc', '  '] });
    expect(blank).toContain('artifact_kinds[1]');
    expect(blank).toContain('"  "');
    const unknown = parseError({ raw_source: { dir: 'x' }, artifact_kinds: [' POP '] });
    expect(unknown).toContain('artifact_kinds[0]');
    expect(unknown).toContain('" POP "');
    expect(parseError({ raw_source: { dir: 'x' }, artifact_kinds: [7] })).toContain('artifact_kinds[0]');
  });

  it('loads a Go-style config file as written (test/fixtures/go-state/config.json)', () => {
    const c = loadConfig(join(__dirname, '..', 'fixtures', 'go-state', 'config.json'), '/srv/go');
    expect(c.artifact_kinds).toEqual(['popularity', 'cooc', 'session_seq']);
    expect(c.raw_source).toEqual({ type: 'fs', dir: '/srv/go/raw' });
    expect(c.object_store).toEqual({ type: 'fs', dir: '/srv/go/out/objectstore' });
    expect(c.checkpoint_dir).toBe('/srv/go/out/checkpoints');
    expect(c.registry_dir).toBe('/srv/go/out/registry');
    expect(c.limits.max_days_backfill).toBe(30);
    expect(c.limits.max_events_per_run).toBe(5_000_000);
    expect(c.limits.max_neighbors_per_item).toBe(20);
    expect(c.limits.max_items_per_artifact).toBe(1000); // not in the file: default
  });

  it('content_sim without a catalog is an error naming catalog.path', () => {
    expect(parseError({ raw_source: { dir: 'x' }, artifact_kinds: ['content_sim'] })).toContain('catalog.path');
    expect(parseError({ raw_source: { dir: 'x' }, artifact_kinds: ['content'], catalog: { format: 'csv' } })).toContain('catalog.path');
  });
});

describe('catalog', () => {
  it('infers the format from the extension unless given', () => {
    const format = (catalog: unknown) => parse({ raw_source: { dir: 'x' }, catalog }).catalog?.format;
    expect(format({ path: 'items.jsonl' })).toBe('jsonl');
    expect(format({ path: 'items.NDJSON' })).toBe('jsonl');
    expect(format({ path: 'items.csv' })).toBe('csv');
    expect(format({ path: 'items' })).toBe('csv');
    expect(format({ path: 'items.csv', format: 'jsonl' })).toBe('jsonl');
    expect(parse({ raw_source: { dir: 'x' }, catalog: { path: 'c/items.csv' } }).catalog?.path).toBe('/w/c/items.csv');
  });
});

describe('storage backends', () => {
  it('an s3 raw source needs a bucket; minio is an alias of s3', () => {
    expect(parseError({ raw_source: { type: 's3' } })).toContain('raw_source.s3.bucket');
    const c = parse({
      raw_source: { type: 'minio', s3: { endpoint: 'localhost:9000', bucket: 'raw', prefix: '/raw/events/' } },
    });
    expect(c.raw_source).toEqual({
      type: 's3',
      s3: {
        endpoint: 'localhost:9000',
        bucket: 'raw',
        access_key: '',
        secret_key: '',
        region: 'us-east-1',
        prefix: 'raw/events',
        use_ssl: false,
      },
    });
  });

  it('use_ssl follows an https endpoint unless given', () => {
    const s3 = (o: object) => parse({ raw_events_dir: 'x', object_store: { type: 's3', s3: { bucket: 'b', ...o } } }).object_store.s3;
    expect(s3({ endpoint: 'https://s3.example.com' })?.use_ssl).toBe(true);
    expect(s3({ endpoint: 'https://s3.example.com', use_ssl: false })?.use_ssl).toBe(false);
    expect(s3({})?.use_ssl).toBe(false);
  });

  it('an s3 object store needs a bucket', () => {
    expect(parseError({ raw_events_dir: 'x', object_store: { type: 'minio', s3: { endpoint: 'h:1' } } })).toContain('object_store.s3.bucket');
  });

  it('a postgres raw source needs a dsn and defaults its table names', () => {
    expect(parseError({ raw_source: { type: 'postgres' } })).toContain('raw_source.postgres.dsn');
    const c = parse({ raw_source: { type: 'postgres', postgres: { dsn: 'postgres://h/db' } } });
    expect(c.raw_source).toEqual({
      type: 'postgres',
      postgres: { dsn: 'postgres://h/db', tenant_table: 'tenants', exposure_table: 'exposure_events' },
    });
  });

  it('an fs raw source needs a dir', () => {
    expect(parseError({})).toContain('raw_source.dir');
    expect(parseError({ raw_source: { type: 'fs' } })).toContain('raw_source.dir');
  });

  it('db is filled when it has a dsn and absent otherwise', () => {
    expect(parse({ raw_events_dir: 'x', db: { dsn: 'postgres://h/db' } }).db).toEqual({
      dsn: 'postgres://h/db',
      auto_create_tenant: false,
      statement_timeout_s: 30,
    });
    expect(parse({ raw_events_dir: 'x', db: { dsn: '' } }).db).toBeUndefined();
  });
});

describe('validation errors name the key path', () => {
  it('unknown top-level key, with a suggestion', () => {
    const message = parseError({ raw_source: { dir: 'x' }, limts: {} });
    expect(message).toContain('cfg.json');
    expect(message).toContain('unknown key "limts"');
    expect(message).toContain('did you mean "limits"');
  });

  it('unknown nested key', () => {
    expect(parseError({ raw_source: { dir: 'x' }, limits: { max_evnts: 1 } })).toContain('unknown key "limits.max_evnts"');
    expect(parseError({ raw_source: { dir: 'x', s3: { bucket: 'b', usessl: true } } })).toContain('raw_source.s3.usessl');
  });

  it('wrong type', () => {
    expect(parseError({ raw_source: { dir: 'x' }, window_days: '2' })).toContain('window_days: expected an integer >= 1');
    expect(parseError({ raw_source: { dir: 3 } })).toContain('raw_source.dir: expected a string');
    expect(parseError({ raw_source: { dir: 'x' }, catalog: null })).toContain('catalog: expected an object');
    expect(parseError({ raw_source: { dir: 'x' }, db: { dsn: 'd', auto_create_tenant: 'yes' } })).toContain('db.auto_create_tenant: expected a boolean');
    expect(parseError({ raw_source: { dir: 'x', type: 'kafka' } })).toContain('raw_source.type: expected one of');
  });

  it('negative or fractional limit', () => {
    expect(parseError({ raw_source: { dir: 'x' }, limits: { max_events_per_run: -1 } })).toContain(
      'cfg.json: limits.max_events_per_run: expected a non-negative integer',
    );
    expect(parseError({ raw_source: { dir: 'x' }, limits: { min_cooc_support: 1.5 } })).toContain('limits.min_cooc_support');
  });

  it('engine and ingest bounds', () => {
    expect(parseError({ raw_source: { dir: 'x' }, engine: { workers: 0 } })).toContain('engine.workers');
    expect(parseError({ raw_source: { dir: 'x' }, engine: { shard_rows: 1023 } })).toContain('engine.shard_rows');
    expect(parseError({ raw_source: { dir: 'x' }, engine: { max_inflight_bytes: 1000 } })).toContain('engine.max_inflight_bytes');
    expect(parseError({ raw_source: { dir: 'x' }, engine: { worker_heap_mb: 32 } })).toContain('engine.worker_heap_mb');
    expect(parseError({ raw_source: { dir: 'x' }, ingest: { max_rejected_fraction: 1.5 } })).toContain('ingest.max_rejected_fraction');
    expect(parseError({ raw_source: { dir: 'x' }, ingest: { bad_line_policy: 'skip' } })).toContain('ingest.bad_line_policy');
  });

  it('reports every issue in one message', () => {
    const message = parseError({ raw_source: { dir: 'x' }, window_days: 0, limits: { max_users_per_run: 'many' } });
    expect(message).toContain('window_days');
    expect(message).toContain('limits.max_users_per_run');
  });

  it('a top level that is not an object', () => {
    expect(parseError([])).toContain('top level');
    expect(parseError(null)).toContain('top level');
  });
});

describe('configWithOverrides', () => {
  const base = parse({ raw_source: { dir: 'x' }, engine: { workers: 2 } });

  it('replaces engine.workers without touching the input', () => {
    const c = configWithOverrides(base, { workers: 5 });
    expect(c.engine.workers).toBe(5);
    expect(c.engine.shard_rows).toBe(base.engine.shard_rows);
    expect(base.engine.workers).toBe(2);
    expect(configWithOverrides(base, {})).toEqual(base);
  });

  it('rejects a bad worker count as a usage error', () => {
    for (const workers of [0, -1, 1.5, Number.NaN]) {
      expect(() => configWithOverrides(base, { workers })).toThrow(expect.objectContaining({ code: 'E_USAGE', exitCode: 2 }));
    }
  });
});
