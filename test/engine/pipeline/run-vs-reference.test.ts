/**
 * End to end against the reference: generated raw day files → runPipeline (ingest, gates,
 * worker pool, publish) → the canonical partition holds the reference's events in input
 * order, the published blobs' payloads equal the reference computed from the raw lines
 * (byte for byte once encoded), versions are sha256 of the compact encoding, the manifest
 * points at the last day, and the skip counts match.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PARSE_BLOCK_BYTES } from '../../../src/engine/pipeline/ingest';
import { runPipeline } from '../../../src/engine/pipeline/run';
import type { ArtifactHeader } from '../../../src/io/artifacts/codec';
import { encodeArtifact, hashedJson, sha256Hex } from '../../../src/io/artifacts/codec';
import { decodeCanonical } from '../../../src/io/canonical/arrow-codec';
import { must, tempDir, testConfig } from '../../support/helpers';
import { generateDayLines, Rng, writeRawLayout } from '../../support/generate';
import type { RefEvent, RefLimits } from '../../support/reference';
import { EVENT_KINDS, PAYLOAD_FIELD, parseRawDay, refPayload, tsMicros } from '../../support/reference';

const TENANT = 'acme';
const SURFACE = 'home';
const DAYS = ['2026-03-28', '2026-03-29'] as const;
const NOW = new Date('2026-03-30T04:05:06.789Z');

interface Case {
  seed: number;
  segment: string;
  limits: RefLimits;
  /** Leave the second day's file out (no events: empty artifacts still publish). */
  missingSecondDay?: boolean;
  /** engine.workers, default 2. */
  workers?: number;
  /** Make each day file span several parse blocks (PARSE_BLOCK_BYTES). */
  bigFiles?: boolean;
}

const CASES: Case[] = [
  { seed: 11, segment: '', limits: { min_cooc_support: 1, max_neighbors_per_item: 3, max_items_per_artifact: 10, max_items_per_user: 2 } },
  { seed: 12, segment: 'web', limits: { min_cooc_support: 2, max_neighbors_per_item: 50, max_items_per_artifact: 1000, max_items_per_user: 500 } },
  { seed: 13, segment: '', limits: { min_cooc_support: 3, max_neighbors_per_item: 1, max_items_per_artifact: 4, max_items_per_user: 1 } },
  {
    seed: 14,
    segment: 'app',
    limits: { min_cooc_support: 1, max_neighbors_per_item: 50, max_items_per_artifact: 25, max_items_per_user: 3 },
    missingSecondDay: true,
  },
  { seed: 15, segment: '', limits: { min_cooc_support: 2, max_neighbors_per_item: 2, max_items_per_artifact: 1, max_items_per_user: 1 }, workers: 3 },
  { seed: 16, segment: 'm', limits: { min_cooc_support: 1, max_neighbors_per_item: 1, max_items_per_artifact: 1000, max_items_per_user: 500 }, workers: 1 },
  { seed: 17, segment: '', limits: { min_cooc_support: 0, max_neighbors_per_item: 0, max_items_per_artifact: 0, max_items_per_user: 0 } },
  {
    seed: 19,
    segment: '',
    limits: { min_cooc_support: 2, max_neighbors_per_item: 5, max_items_per_artifact: 30, max_items_per_user: 5 },
    workers: 3,
    bigFiles: true,
  },
  { seed: 18, segment: '', limits: { min_cooc_support: 2, max_neighbors_per_item: 10, max_items_per_artifact: 12, max_items_per_user: 10 }, workers: 3 },
];

/** One canonical row as comparable values. */
type Row = [ts: number, tenant: string, surface: string, session: string, item: string, user: string, request: string, rank: number];

function canonicalRows(bytes: Uint8Array): Row[] {
  const day = decodeCanonical(bytes, 'partition');
  const v = (c: { codes: Int32Array; values: string[] }, i: number) => {
    const code = must(c.codes[i], 'a code per row');
    return code < 0 ? '' : must(c.values[code], 'a dictionary value per code');
  };
  return Array.from(day.tsMicros.subarray(0, day.rows), (ts, i): Row => [
    ts,
    v(day.tenant, i),
    v(day.surface, i),
    v(day.session, i),
    v(day.item, i),
    v(day.user, i),
    v(day.request, i),
    must(day.rank[i], 'a rank per row'),
  ]);
}

const refRow = (e: RefEvent): Row => [tsMicros(e.ts), e.tenant, e.surface, e.session_id, e.item_id, e.user_id ?? '', e.request_id ?? '', e.rank ?? -1];

const tmp = tempDir('recsys-run-ref-');
afterAll(() => tmp.cleanup());

describe('runPipeline vs the reference', () => {
  const label = (c: Case) =>
    `seed ${c.seed}: min_cooc_support ${c.limits.min_cooc_support}, max_neighbors_per_item ${c.limits.max_neighbors_per_item}, ` +
    `max_items_per_artifact ${c.limits.max_items_per_artifact}, max_items_per_user ${c.limits.max_items_per_user}, ` +
    `segment "${c.segment}", ${c.workers ?? 2} worker(s)${c.missingSecondDay ? ', second day missing' : ''}${c.bigFiles ? ', several parse blocks per day' : ''}`;
  it.each(CASES.map((c) => [label(c), c] as const))('%s', async (_label, c) => {
    const dir = join(tmp.dir, `case-${c.seed}`);
    const rawDir = join(dir, 'raw');
    const rng = new Rng(c.seed);
    const texts: Record<string, string> = {};
    DAYS.forEach((day, i) => {
      if (i === 1 && c.missingSecondDay) return;
      texts[day] = generateDayLines(c.seed * 100 + i, {
        tenant: TENANT,
        surface: SURFACE,
        day,
        events: c.bigFiles ? 1200 : 1100 + rng.int(1500), // > shard_rows, so compute runs in several shards
        users: 10 + rng.int(20),
        items: 20 + rng.int(40),
        padBytes: c.bigFiles ? 16_000 : 0, // ~19 MB: three parse blocks
      });
    });
    writeRawLayout(rawDir, TENANT, SURFACE, texts);
    if (c.bigFiles) for (const text of Object.values(texts)) expect(Buffer.byteLength(text)).toBeGreaterThan(2 * PARSE_BLOCK_BYTES);

    const config = testConfig(join(dir, 'out'), {
      raw_source: { dir: rawDir },
      artifact_kinds: [...EVENT_KINDS],
      limits: c.limits,
      engine: { workers: c.workers ?? 2, shard_rows: 1024 },
    });
    const summary = await runPipeline({
      config,
      tenant: TENANT,
      surface: SURFACE,
      segment: c.segment,
      start: DAYS[0],
      end: DAYS[1],
      incremental: false,
      // The reference is the Go tool: a missing day publishes empty artifacts (--allow-empty).
      allowEmpty: Boolean(c.missingSecondDay),
      log: () => {},
      now: () => NOW,
    });

    expect(summary.days.map((d) => d.day)).toEqual(DAYS);
    let coocCut = false;
    for (const d of summary.days) {
      const ref = parseRawDay(texts[d.day] ?? '', TENANT, SURFACE, d.day);
      const counts = must(d.counts, `counts of ${d.day}`);
      expect(counts.events).toBe(ref.events.length);
      expect(counts.skippedOtherTenantSurface).toBe(ref.skippedOtherTenantSurface);
      expect(counts.skippedOutsideDay).toBe(ref.skippedOutsideDay);
      expect(d.published.map((p) => p.type)).toEqual([...EVENT_KINDS]);

      // docs/contract.md §3: the canonical partition holds the day's events, normalised, in raw input order.
      const partition = join(config.canonical_dir, TENANT, SURFACE, 'exposures', `${d.day}.arrow`);
      if (ref.events.length === 0) expect(existsSync(partition)).toBe(false);
      else expect(canonicalRows(readFileSync(partition))).toEqual(ref.events.map(refRow));

      const dayStart = new Date(`${d.day}T00:00:00Z`);
      const window = {
        start: dayStart.toISOString().replace('.000Z', 'Z'),
        end: new Date(dayStart.getTime() + 86_400_000).toISOString().replace('.000Z', 'Z'),
      };
      for (const p of d.published) {
        const kind = p.type as (typeof EVENT_KINDS)[number];
        const want = refPayload(kind, ref.events, c.limits);
        if (kind === 'cooc' && refPayload('cooc', ref.events, { ...c.limits, max_items_per_artifact: Infinity }).length > want.length) coocCut = true;
        expect(p.uri.startsWith('file://')).toBe(true);
        const path = p.uri.slice('file://'.length);
        expect(path).toBe(join(config.object_store.dir, TENANT, SURFACE, kind, `${p.version}.json`));
        const text = readFileSync(path, 'utf8');
        const blob = JSON.parse(text);

        expect(blob[PAYLOAD_FIELD[kind]], `${d.day} ${kind}`).toEqual(want);
        expect(p.rows, `${d.day} ${kind} rows`).toBe(want.length);
        const header: ArtifactHeader = { artifactType: kind, payloadField: PAYLOAD_FIELD[kind], tenant: TENANT, surface: SURFACE, segment: c.segment, window };
        const version = sha256Hex(hashedJson(header, want));
        expect(p.version, `${d.day} ${kind} version`).toBe(version);
        expect(blob.build).toEqual({ built_at: '2026-03-30T04:05:06Z', version, source_hash: version });
        // Byte for byte: the engine's streaming encoding equals the reference payload encoded as plain values.
        expect(text, `${d.day} ${kind} blob bytes`).toBe(encodeArtifact(header, want, '2026-03-30T04:05:06Z').blob.toString('utf8'));
        // The envelope, in the order of docs/contract.md.
        const keys = ['v', 'artifact_type', 'tenant', 'surface', ...(c.segment ? ['segment'] : []), 'window', PAYLOAD_FIELD[kind], 'build'];
        expect(Object.keys(blob)).toEqual(keys);
        expect(blob).toMatchObject({ v: 1, artifact_type: kind, tenant: TENANT, surface: SURFACE, window });
        if (c.segment) expect(blob.segment).toBe(c.segment);
        expect(text.endsWith('}')).toBe(true);
      }
    }
    if (c.limits.max_items_per_artifact < 100 && c.limits.max_neighbors_per_item > 0) expect(coocCut).toBe(true);

    // current = the last day's blobs
    const manifest = JSON.parse(readFileSync(must(summary.manifest, 'a manifest'), 'utf8'));
    const last = must(summary.days.at(-1), 'a day in the summary');
    expect(manifest.current).toEqual(Object.fromEntries(last.published.map((p) => [p.type, p.uri])));
    if (c.missingSecondDay) {
      for (const p of last.published) {
        const blob = JSON.parse(readFileSync(p.uri.slice('file://'.length), 'utf8'));
        expect(blob[PAYLOAD_FIELD[p.type as (typeof EVENT_KINDS)[number]]]).toEqual([]);
      }
    }
  });
});

describe('ids written as lone-surrogate escapes', () => {
  // docs/contract.md §5 orders ids by their UTF-8 bytes, and a lone surrogate has no UTF-8 encoding: Go's
  // decoder (the tool operators migrate from) turns "\ud800" into U+FFFD, and the engine's
  // own encoder prints it as U+FFFD too. So "x\ud800", "x\udc00" and "x\ufffd" are one item,
  // published once with the summed count, never as three rows with the same item_id.
  it('are U+FFFD: one id, counted once per event, as the reference (Go) reads them', async () => {
    const dir = join(tmp.dir, 'surrogates');
    const line = (item: string, user: string, second: number) =>
      `{"v":1,"ts":"2026-03-28T10:00:0${second}Z","tenant":"${TENANT}","surface":"${SURFACE}","session_id":"s1","item_id":"${item}","user_id":"${user}"}`;
    const text = [line('x\\ud800', 'u\\udc00', 1), line('x\\ufffd', 'u\\ufffd', 2), line('x\\udc00', 'u', 3), line('y', 'u\\ud834', 4)].join('\n') + '\n';
    writeRawLayout(join(dir, 'raw'), TENANT, SURFACE, { [DAYS[0]]: text });
    const limits = { min_cooc_support: 1, max_neighbors_per_item: 50, max_items_per_artifact: 1000, max_items_per_user: 500 };
    const config = testConfig(join(dir, 'out'), { raw_source: { dir: join(dir, 'raw') }, artifact_kinds: [...EVENT_KINDS], limits, engine: { workers: 1 } });
    const ref = parseRawDay(text, TENANT, SURFACE, DAYS[0]);
    expect(refPayload('popularity', ref.events, limits)).toEqual([
      { item_id: 'x\ufffd', count: 3 },
      { item_id: 'y', count: 1 },
    ]);
    const summary = await runPipeline({
      config,
      tenant: TENANT,
      surface: SURFACE,
      segment: '',
      start: DAYS[0],
      end: DAYS[0],
      incremental: false,
      log: () => {},
      now: () => NOW,
    });
    for (const p of must(summary.days[0]).published) {
      const kind = p.type as (typeof EVENT_KINDS)[number];
      const blob = JSON.parse(readFileSync(p.uri.slice('file://'.length), 'utf8'));
      expect(blob[PAYLOAD_FIELD[kind]], kind).toEqual(refPayload(kind, ref.events, limits));
    }
  });
});

describe('white space around ids', () => {
  // docs/contract.md §1 trims "white space". Unicode's White_Space (and Go's strings.TrimSpace, which the
  // migrating operators' ids went through) includes U+0085 NEL and not U+FEFF; JS trim() is
  // the other way round. "sku\u0085" must be the id "sku"; "\ufeffsku" must stay distinct.
  it('are trimmed as Unicode White_Space (NEL yes, U+FEFF no), as the reference reads them', async () => {
    const dir = join(tmp.dir, 'white-space');
    const line = (item: string, second: number) =>
      `{"v":1,"ts":"2026-03-28T10:00:0${second}Z","tenant":"${TENANT}","surface":"${SURFACE}","session_id":"s1","item_id":"${item}","user_id":"u"}`;
    const text = [line('sku', 1), line('sku\\u0085', 2), line('\\u3000sku\\u00a0', 3), line('\\ufeffsku', 4)].join('\n') + '\n';
    writeRawLayout(join(dir, 'raw'), TENANT, SURFACE, { [DAYS[0]]: text });
    const limits = { min_cooc_support: 1, max_neighbors_per_item: 50, max_items_per_artifact: 1000, max_items_per_user: 500 };
    const config = testConfig(join(dir, 'out'), { raw_source: { dir: join(dir, 'raw') }, artifact_kinds: ['popularity'], limits });
    const ref = parseRawDay(text, TENANT, SURFACE, DAYS[0]);
    expect(refPayload('popularity', ref.events, limits)).toEqual([
      { item_id: 'sku', count: 3 },
      { item_id: '\ufeffsku', count: 1 },
    ]);
    const summary = await runPipeline({
      config,
      tenant: TENANT,
      surface: SURFACE,
      segment: '',
      start: DAYS[0],
      end: DAYS[0],
      incremental: false,
      log: () => {},
      now: () => NOW,
    });
    const blob = JSON.parse(readFileSync(must(summary.days[0]?.published[0]).uri.slice('file://'.length), 'utf8'));
    expect(blob.items).toEqual(refPayload('popularity', ref.events, limits));
  });
});
