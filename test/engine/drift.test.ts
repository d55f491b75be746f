/**
 * The drift figures (src/engine/drift.ts) against a slow, obvious reference: random
 * artifacts of every type, encoded by the real codec (pretty blobs, ids with escapes and
 * non-ASCII letters), scanned in random chunk sizes; the reference JSON.parses both blobs
 * and counts with arrays. And the rules of evaluateDrift on figures built by hand.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DriftThresholds } from '../../src/config/types';
import { ARTIFACT_TYPES, artifactType, type ArtifactType } from '../../src/engine/artifact-types';
import { driftFigures, evaluateDrift, PayloadScanner, type DriftFigures } from '../../src/engine/drift';
import { encodeArtifact } from '../../src/io/artifacts/codec';
import { mulberry32 } from '../support/generate';

const ID_PARTS = ['sku-', 'a', 'b', 'café', '<b>', '&', '"q"', '\\', '𝄞', 'x y', '\u0001', 'items', 'user_id'];

function randomId(rng: () => number, pool: number): string {
  // A small id space, so that two artifacts share some keys and not others.
  const n = Math.floor(rng() * pool);
  return `${ID_PARTS[n % ID_PARTS.length]}${n}`;
}

/** A payload of `type` with distinct keys, as plain objects (the codec encodes arrays of objects too). */
function randomPayload(type: ArtifactType, rng: () => number, maxRows: number): Array<Record<string, unknown>> {
  const shape = artifactType(type).drift;
  const rows = Math.floor(rng() * (maxRows + 1));
  const keys = new Set<string>();
  while (keys.size < rows) keys.add(randomId(rng, maxRows * 3));
  return [...keys].map((key) => {
    const row: Record<string, unknown> = { [shape.keyField]: key };
    if (shape.listField === 'tags') row.tags = Array.from({ length: 1 + Math.floor(rng() * 4) }, () => randomId(rng, 20));
    else if (shape.listField !== null) {
      row.items = Array.from({ length: Math.floor(rng() * 5) }, () => ({ item_id: randomId(rng, 50), score: Math.floor(rng() * 9) }));
    } else row.count = Math.floor(rng() * 100);
    return row;
  });
}

function blobOf(type: ArtifactType, payload: unknown[]): { version: string; blob: Buffer } {
  const def = artifactType(type);
  const header = {
    artifactType: type,
    payloadField: def.payloadField,
    tenant: 'items',
    surface: 'users',
    segment: '',
    window: { start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z' },
  };
  return encodeArtifact(header, payload, '2026-01-02T00:00:00Z');
}

/** The reference: parse the blobs, count with arrays. */
function reference(
  type: ArtifactType,
  topN: number,
  from: Buffer | null,
  to: Buffer,
): Omit<DriftFigures, 'from' | 'to'> & {
  from: { rows: number; pairs: number | null } | null;
  to: { rows: number; pairs: number | null };
} {
  const def = artifactType(type);
  const parse = (blob: Buffer) => (JSON.parse(blob.toString('utf8')) as Record<string, Array<Record<string, unknown>>>)[def.payloadField] ?? [];
  const side = (rows: Array<Record<string, unknown>>) => ({
    rows: rows.length,
    pairs: def.drift.listField === null ? null : rows.reduce((n, r) => n + (r[def.drift.listField!] as unknown[]).length, 0),
  });
  const keys = (rows: Array<Record<string, unknown>>) => rows.map((r) => r[def.drift.keyField] as string);
  const newRows = parse(to);
  const oldRows = from === null ? null : parse(from);
  const oldKeys = oldRows === null ? [] : keys(oldRows);
  const newKeys = keys(newRows);
  const has = oldRows !== null && oldRows.length > 0;
  const n = def.drift.ranked ? topN : null;
  const oldTop = oldKeys.slice(0, topN);
  const newTop = newKeys.slice(0, topN);
  return {
    type,
    rows_of: def.drift.rowNoun,
    from: oldRows === null ? null : side(oldRows),
    to: side(newRows),
    row_shrink: has ? Math.max(0, oldRows.length - newRows.length) / oldRows.length : null,
    key_overlap: has ? oldKeys.filter((k) => newKeys.includes(k)).length / oldKeys.length : null,
    top_n: n,
    top_n_overlap: has && n !== null ? oldTop.filter((k) => newTop.includes(k)).length / oldTop.length : null,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'drift-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('drift figures equal the reference on random artifacts', () => {
  it.each(ARTIFACT_TYPES)('%s', async (type) => {
    for (let seed = 1; seed <= 40; seed++) {
      const rng = mulberry32(seed * 7919 + type.length);
      const maxRows = [0, 1, 3, 30, 200][seed % 5] ?? 0;
      const oldPayload = randomPayload(type, rng, maxRows);
      // Often the new artifact shares rows with the old one (shuffled, some dropped, some new).
      const newPayload = seed % 3 === 0 ? randomPayload(type, rng, maxRows) : [...oldPayload.filter(() => rng() < 0.7), ...randomPayload(type, rng, 5)];
      const unique = new Map(newPayload.map((r) => [r[artifactType(type).drift.keyField] as string, r]));
      const to = blobOf(type, [...unique.values()]);
      const from = seed % 7 === 0 ? null : blobOf(type, oldPayload);
      const topN = 1 + Math.floor(rng() * 40);
      // The old side from a file (streamed in 64 KiB chunks), the new one from memory.
      let fromBlob = null;
      if (from) {
        const file = join(dir, `${type}-${seed}.json`);
        writeFileSync(file, from.blob);
        fromBlob = { version: from.version, source: { path: file } };
      }
      const got = await driftFigures(type, topN, fromBlob, { version: to.version, source: to.blob });
      const want = reference(type, topN, from?.blob ?? null, to.blob);
      expect(got, `seed ${seed}`).toEqual({
        ...want,
        from: want.from && { version: from!.version, ...want.from },
        to: { version: to.version, ...want.to },
      });
    }
  });

  it('the scanner gives the same keys for any chunking of the bytes', () => {
    for (const type of ARTIFACT_TYPES) {
      const rng = mulberry32(99);
      const { blob } = blobOf(type, randomPayload(type, rng, 50));
      const def = artifactType(type);
      const scan = (sizes: () => number) => {
        const keys: string[] = [];
        const s = new PayloadScanner(def.payloadField, def.drift, (k) => keys.push(k));
        for (let at = 0; at < blob.length;) {
          const n = sizes();
          s.push(blob.subarray(at, at + n));
          at += n;
        }
        return { keys, ...s.end() };
      };
      const whole = scan(() => blob.length);
      expect(scan(() => 1)).toEqual(whole);
      expect(scan(() => 1 + Math.floor(rng() * 17))).toEqual(whole);
      const parsed = JSON.parse(blob.toString('utf8')) as Record<string, Array<Record<string, unknown>>>;
      expect(whole.keys).toEqual((parsed[def.payloadField] ?? []).map((r) => r[def.drift.keyField]));
    }
  });

  it('a truncated blob is an error, not figures', () => {
    const def = artifactType('popularity');
    const { blob } = blobOf('popularity', [{ item_id: 'a', count: 1 }]);
    const s = new PayloadScanner(def.payloadField, def.drift, () => undefined);
    s.push(blob.subarray(0, blob.length - 3));
    expect(() => s.end()).toThrow('not a complete artifact with a "items" array');
  });
});

describe('evaluateDrift', () => {
  const off: DriftThresholds = { max_row_shrink: null, min_key_overlap: null, min_top_n_overlap: null, top_n: 100 };
  const figures = (fromRows: number | null, toRows: number, o: Partial<DriftFigures> = {}): DriftFigures => ({
    type: 'popularity',
    rows_of: 'items',
    from: fromRows === null ? null : { version: 'old', rows: fromRows, pairs: null },
    to: { version: 'new', rows: toRows, pairs: null },
    row_shrink: fromRows ? Math.max(0, fromRows - toRows) / fromRows : null,
    key_overlap: fromRows ? 0.5 : null,
    top_n: 100,
    top_n_overlap: fromRows ? 0.25 : null,
    ...o,
  });
  const none = { drift: false, empty: false };

  it('by default only an empty artifact over a non-empty one is blocked', () => {
    expect(evaluateDrift(figures(10, 0), off, none)).toEqual(['an empty artifact would replace 10 items (gates.allow_empty is false)']);
    expect(evaluateDrift(figures(10, 1), off, none)).toEqual([]);
    expect(evaluateDrift(figures(0, 0), off, none)).toEqual([]);
    expect(evaluateDrift(figures(null, 0), off, none)).toEqual([]);
    expect(evaluateDrift(figures(10, 0), off, { drift: true, empty: true })).toEqual([]);
    expect(evaluateDrift(figures(10, 0), off, { drift: true, empty: false })).toHaveLength(1);
  });

  it('each configured threshold names the figure and the limit; --allow-drift lifts them', () => {
    const t: DriftThresholds = { max_row_shrink: 0.5, min_key_overlap: 0.6, min_top_n_overlap: 0.3, top_n: 100 };
    expect(evaluateDrift(figures(10, 4), t, none)).toEqual([
      'row_shrink 0.6 > max_row_shrink 0.5',
      'key_overlap 0.5 < min_key_overlap 0.6',
      'top_100_overlap 0.25 < min_top_n_overlap 0.3',
    ]);
    expect(evaluateDrift(figures(10, 5), { ...t, min_key_overlap: 0.5, min_top_n_overlap: 0.25 }, none)).toEqual([]);
    expect(evaluateDrift(figures(10, 4), t, { drift: true, empty: false })).toEqual([]);
    expect(evaluateDrift(figures(null, 4), t, none)).toEqual([]);
  });
});
