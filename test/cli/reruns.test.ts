/**
 * Idempotent reruns (docs/contract.md §3, §5, §6): same raw input → byte-identical canonical partition and
 * the same versions, whatever the worker count; registry records and blobs are never
 * rewritten; a rerun replaces a partition (never duplicates events); a day without events
 * publishes empty artifacts and has no partition (a missing raw file only with --allow-empty).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { SAMPLE_RAW } from '../support/helpers';
import type { Sandbox } from '../support/cli-harness';
import { cli, ev, events, publishedLines, runArgs, sandboxFactory, summaryRows, versionOfUri } from '../support/cli-harness';

const DAY = '2026-01-01';
const ALL_KINDS = ['popularity', 'cooc', 'implicit', 'content_sim', 'session_seq'];

const sandbox = sandboxFactory();

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function allKindsConfig(sb: Sandbox, extra: Record<string, unknown> = {}): string {
  const catalog = join(sb.dir, 'catalog.csv');
  writeFileSync(catalog, 'item_id,tags\ni0,a|b\ni1,b\ni2,c;A\n');
  return sb.config({ artifact_kinds: ALL_KINDS, catalog: { path: catalog }, limits: { min_cooc_support: 1 }, ...extra });
}

describe('running the same day twice', () => {
  it('gives a byte-identical partition, the same versions, and rewrites no record or blob', async () => {
    const sb = sandbox();
    sb.writeDay(DAY, events(DAY, 40));
    const config = allKindsConfig(sb);
    const first = await sb.run(config, DAY, DAY, ['--workers', '2']);
    expect(first.code, first.stderr).toBe(0);
    const v1 = publishedLines(first.stdout);
    expect(v1.map((p) => p.type).sort()).toEqual([...ALL_KINDS].sort());
    const partition = readFileSync(sb.partitionPath(DAY));
    const snapshot = v1.map((p) => ({
      ...p,
      record: readFileSync(sb.recordPath(p.type, p.version), 'utf8'),
      recordMtime: statSync(sb.recordPath(p.type, p.version)).mtimeMs,
      blob: readFileSync(sb.blobPath(p.type, p.version)),
      blobMtime: statSync(sb.blobPath(p.type, p.version)).mtimeMs,
    }));

    await sleep(1100); // so the second run's built_at/published_at differ from the first
    const second = await sb.run(config, DAY, DAY, ['--workers', '2']);
    expect(second.code, second.stderr).toBe(0);
    expect(publishedLines(second.stdout)).toEqual(v1);
    expect(readFileSync(sb.partitionPath(DAY)).equals(partition)).toBe(true);
    for (const s of snapshot) {
      const recordPath = sb.recordPath(s.type, s.version);
      expect(readFileSync(recordPath, 'utf8'), `record ${s.type}`).toBe(s.record);
      expect(statSync(recordPath).mtimeMs, `record ${s.type} mtime`).toBe(s.recordMtime);
      const blob = readFileSync(sb.blobPath(s.type, s.version));
      expect(blob.equals(s.blob), `blob ${s.type}`).toBe(true);
      expect(statSync(sb.blobPath(s.type, s.version)).mtimeMs).toBe(s.blobMtime);
      // the record still describes the stored blob
      const record = JSON.parse(s.record) as { sha256: string; size_bytes: number; uri: string };
      expect(record.sha256).toBe(sha256(blob));
      expect(record.size_bytes).toBe(blob.length);
      expect(sb.manifest().current[s.type]).toBe(record.uri);
    }
    for (const type of ALL_KINDS) {
      expect(readdirSync(join(sb.out, 'registry', 'records', 'demo', 'home', type))).toHaveLength(1);
    }
  });

  it('gives the same partition bytes and versions with 1 worker and with 2 workers and small shards', async () => {
    const a = sandbox();
    const b = sandbox();
    const args = (config: string, workers: number) => cli(runArgs(config, DAY, DAY, [], { workers }));
    const cfgA = a.config({ raw_source: { dir: SAMPLE_RAW }, artifact_kinds: ['popularity', 'cooc', 'implicit', 'session_seq'] });
    const cfgB = b.config({
      raw_source: { dir: SAMPLE_RAW },
      artifact_kinds: ['popularity', 'cooc', 'implicit', 'session_seq'],
      engine: { shard_rows: 1024 },
    });
    const ra = await args(cfgA, 1);
    const rb = await args(cfgB, 2);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    expect(publishedLines(rb.stdout)).toEqual(publishedLines(ra.stdout));
    expect(publishedLines(ra.stdout)).toHaveLength(4);
    expect(readFileSync(b.partitionPath(DAY)).equals(readFileSync(a.partitionPath(DAY)))).toBe(true);
  });
});

describe('raw layout', () => {
  it('a .jsonl.gz day file gives the same partition and versions as the plain file', async () => {
    const plain = sandbox();
    const gz = sandbox();
    const lines = events(DAY, 25);
    plain.writeDay(DAY, lines);
    gz.writeDay(DAY, lines);
    writeFileSync(`${gz.dayFile(DAY)}.gz`, gzipSync(readFileSync(gz.dayFile(DAY))));
    rmSync(gz.dayFile(DAY));
    const a = await plain.run(plain.config({ artifact_kinds: ['popularity', 'cooc'] }), DAY, DAY);
    const b = await gz.run(gz.config({ artifact_kinds: ['popularity', 'cooc'] }), DAY, DAY);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(summaryRows(b.stdout)[0]?.events).toBe(25);
    expect(publishedLines(b.stdout)).toEqual(publishedLines(a.stdout));
    expect(readFileSync(gz.partitionPath(DAY)).equals(readFileSync(plain.partitionPath(DAY)))).toBe(true);
  });
});

describe('a rerun replaces the partition', () => {
  it('changed input replaces (never appends); the original input gives the original bytes back', async () => {
    const sb = sandbox();
    const config = sb.config();
    const original = [ev({ item_id: 'a' }), ev({ item_id: 'b', ts: `${DAY}T09:00:00Z` }), ev({ item_id: 'a', ts: `${DAY}T10:00:00Z` })];
    sb.writeDay(DAY, original);
    expect((await sb.run(config, DAY, DAY)).code).toBe(0);
    const first = readFileSync(sb.partitionPath(DAY));

    sb.writeDay(DAY, original.slice(0, 2));
    const r = await sb.run(config, DAY, DAY);
    expect(r.code).toBe(0);
    expect(summaryRows(r.stdout)[0]?.events).toBe(2);
    expect(sb.currentBlob('popularity').items).toEqual([
      { item_id: 'a', count: 1 },
      { item_id: 'b', count: 1 },
    ]);
    expect(readFileSync(sb.partitionPath(DAY)).equals(first)).toBe(false);

    sb.writeDay(DAY, original);
    expect((await sb.run(config, DAY, DAY)).code).toBe(0);
    expect(readFileSync(sb.partitionPath(DAY)).equals(first)).toBe(true);
    expect(sb.currentBlob('popularity').items).toEqual([
      { item_id: 'a', count: 2 },
      { item_id: 'b', count: 1 },
    ]);
  });
});

describe('a day with no events', () => {
  it('(missing day file) is not published by default; with --allow-empty it publishes empty artifacts and has no partition', async () => {
    const sb = sandbox();
    const config = sb.config({ artifact_kinds: ['popularity', 'cooc', 'implicit', 'session_seq'] });
    const blocked = await sb.run(config, DAY, DAY);
    expect(blocked.code, blocked.stderr).toBe(3);
    expect(blocked.stderr).toContain('raw input missing');
    expect(sb.manifestText()).toBeNull();
    expect(sb.checkpoint()).toBeNull();
    const r = await sb.run(config, DAY, DAY, ['--allow-empty']);
    expect(r.code, r.stderr).toBe(0);
    expect(summaryRows(r.stdout)[0]).toMatchObject({ day: DAY, lines: 0, events: 0 });
    expect(existsSync(sb.partitionPath(DAY))).toBe(false);
    expect(sb.currentBlob('popularity').items).toEqual([]);
    expect(sb.currentBlob('cooc').neighbors).toEqual([]);
    expect(sb.currentBlob('implicit').users).toEqual([]);
    expect(sb.currentBlob('session_seq').users).toEqual([]);
    expect(sb.currentBlob('popularity').window).toEqual({ start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z' });
    expect(sb.checkpoint()).toBe(DAY);
  });

  it("(only other tenants' events) has no partition", async () => {
    const sb = sandbox();
    sb.writeDay(DAY, [ev({ tenant: 'acme' }), ev({ surface: 'pdp' })]);
    const r = await sb.run(sb.config(), DAY, DAY);
    expect(r.code, r.stderr).toBe(0);
    expect(summaryRows(r.stdout)[0]).toMatchObject({ events: 0, skippedTenantSurface: 2 });
    expect(existsSync(sb.partitionPath(DAY))).toBe(false);
    expect(sb.currentBlob('popularity').items).toEqual([]);
  });

  it('a rerun after the raw file was removed is blocked, partition kept; with --allow-empty it deletes the old partition and publishes empty artifacts', async () => {
    const sb = sandbox();
    const config = sb.config();
    sb.writeDay(DAY, events(DAY, 5));
    const first = await sb.run(config, DAY, DAY);
    expect(first.code).toBe(0);
    expect(existsSync(sb.partitionPath(DAY))).toBe(true);
    const fullVersion = versionOfUri(sb.manifest().current.popularity);

    sb.removeDay(DAY);
    const partition = readFileSync(sb.partitionPath(DAY));
    const blocked = await sb.run(config, DAY, DAY);
    expect(blocked.code, blocked.stderr).toBe(3);
    expect(readFileSync(sb.partitionPath(DAY)).equals(partition)).toBe(true);
    expect(versionOfUri(sb.manifest().current.popularity)).toBe(fullVersion);
    const r = await sb.run(config, DAY, DAY, ['--allow-empty']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(sb.partitionPath(DAY))).toBe(false);
    expect(sb.currentBlob('popularity').items).toEqual([]);
    expect(versionOfUri(sb.manifest().current.popularity)).not.toBe(fullVersion);
  });

  it('publishes nothing when min_events_per_run is configured (gate), exit 3', async () => {
    const sb = sandbox();
    sb.writeDay(DAY, [ev({ tenant: 'acme' })]); // a raw file, no event of demo/home
    const r = await sb.run(sb.config({ limits: { min_events_per_run: 1 } }), DAY, DAY);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('min_events_per_run');
    expect(sb.manifestText()).toBeNull();
  });
});
