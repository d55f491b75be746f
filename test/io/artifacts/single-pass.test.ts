/**
 * encodeArtifactToFile encodes once (pretty), compacting the bytes on the fly for the version
 * hash: its file, version and sha256 must equal encodeArtifact's (the two-pass reference)
 * whatever the chunking, and the streaming compactor must equal compactFromPretty at every
 * split point, including inside strings, escapes and multi-byte UTF-8 sequences.
 */
import { PAYLOAD_FIELD } from '../../support/reference';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ArtifactHeader, Payload } from '../../../src/io/artifacts/codec';
import { encodeArtifact, encodeArtifactToFile, recomputeVersion } from '../../../src/io/artifacts/codec';
import { AtomicFileStream, isTempFile } from '../../../src/io/atomic';
import { compactFromPretty, encodeCompact, encodePretty, JsonCompactor, quoteAll } from '../../../src/io/artifacts/go-json';

import { userPayload, coocPayload } from '../../../src/io/artifacts/payloads';
import { mulberry32 as rng } from '../../support/generate';

/** quoteAll of strings (as a dictionary's UTF-8 values). */
function quoteStrings(values: string[]) {
  const bytes = values.map((v) => Buffer.from(v));
  const offsets = new Int32Array(values.length + 1);
  let end = 0;
  bytes.forEach((b, i) => (offsets[i + 1] = end += b.length));
  return quoteAll({ arena: Buffer.concat(bytes), offsets });
}

// Pieces that stress the compactor: escapes (\" \\ \n \u0026), a backslash before a closing
// quote, white space inside strings, JSON-looking text, multi-byte UTF-8 and surrogate pairs.
const PIECES = ['a', ' ', '  ', '"', '\\', '\\"', '"\\', ': ', '", "', '\n', '\t', '\r', '<&>', 'é', '€', '😀', '\u2028', '{"k": [1, 2]}', 'x y', ''];

function weirdString(r: () => number): string {
  let s = '';
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(r() * PIECES.length)];
  return s;
}

function weirdValue(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * (depth > 3 ? 4 : 7));
  switch (k) {
    case 0:
      return weirdString(r);
    case 1:
      return Math.floor(r() * 2000) - 1000 + (r() < 0.3 ? 0.25 : 0);
    case 2:
      return r() < 0.5 ? null : r() < 0.5;
    case 3:
      return weirdString(r) + '\\';
    case 4:
      return Array.from({ length: Math.floor(r() * 4) }, () => weirdValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(r() * 4); i > 0; i--) o[weirdString(r) || 'k'] = weirdValue(r, depth + 1);
      return o;
    }
  }
}

function compactInChunks(text: Buffer, cuts: number[]): Buffer {
  const c = new JsonCompactor();
  const parts: Buffer[] = [];
  let at = 0;
  for (const cut of [...cuts, text.length]) {
    const out = Buffer.alloc(cut - at);
    parts.push(out.subarray(0, c.push(text.subarray(at, cut), out)));
    at = cut;
  }
  return Buffer.concat(parts);
}

describe('JsonCompactor', () => {
  it('equals compactFromPretty and the compact encoding at every split point', () => {
    const r = rng(7);
    for (let round = 0; round < 40; round++) {
      const value = [weirdValue(r), { 'a\\"b': weirdString(r) + '\\"', s: '\\\\"' + weirdString(r) }, weirdString(r)];
      const pretty = Buffer.from(encodePretty(value));
      const expected = Buffer.from(encodeCompact(value));
      expect(compactFromPretty(pretty).equals(expected)).toBe(true);
      for (let cut = 0; cut <= pretty.length; cut++) {
        expect(compactInChunks(pretty, [cut]).equals(expected), `round ${round}, cut ${cut}`).toBe(true);
      }
      // Two cuts close together (a backslash and the escaped byte in a chunk of their own).
      for (let cut = 0; cut + 2 <= pretty.length; cut += 3) {
        expect(compactInChunks(pretty, [cut, cut + 1, cut + 2]).equals(expected)).toBe(true);
      }
      // One byte at a time, compacted in place.
      const c = new JsonCompactor();
      const parts: Buffer[] = [];
      for (let i = 0; i < pretty.length; i++) {
        const b = Buffer.from(pretty.subarray(i, i + 1));
        parts.push(b.subarray(0, c.push(b, b)));
      }
      expect(Buffer.concat(parts).equals(expected)).toBe(true);
    }
  });

  it('keeps an empty chunk from dropping a pending escape', () => {
    const text = Buffer.from('[ "a\\" b" ]');
    const at = text.indexOf('\\') + 1;
    expect(compactInChunks(text, [at, at, at]).toString()).toBe('["a\\" b"]');
  });
});

describe('encodeArtifactToFile (single pass) matches encodeArtifact (two passes)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'single-pass-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function check(h: ArtifactHeader, payload: () => Payload, chunkSizes: Array<number | undefined>): void {
    const ref = encodeArtifact(h, payload(), '2026-01-02T03:04:05Z');
    expect(recomputeVersion(ref.blob)).toBe(ref.version);
    for (const chunkSize of chunkSizes) {
      const got = encodeArtifactToFile(h, payload(), '2026-01-02T03:04:05Z', dir, chunkSize);
      expect(got.version, `chunk ${chunkSize}`).toBe(ref.version);
      expect(got.sha256).toBe(ref.sha256);
      expect(got.size).toBe(ref.blob.length);
      expect(got.path).toBe(join(dir, `${ref.version}.json`));
      expect(readFileSync(got.path).equals(ref.blob)).toBe(true);
      expect(readdirSync(dir).filter(isTempFile)).toEqual([]);
    }
  }

  it('on seeded plain payloads with awkward strings', () => {
    const r = rng(42);
    for (let round = 0; round < 25; round++) {
      const h: ArtifactHeader = {
        artifactType: 'popularity',
        payloadField: 'items',
        tenant: 't' + weirdString(r).replace(/[^a-z]/g, ''),
        surface: 's',
        segment: round % 2 ? '' : 'seg ' + weirdString(r),
        window: { start: weirdString(r), end: '2026-01-02T00:00:00Z' },
      };
      const payload = Array.from({ length: Math.floor(r() * 6) }, () => ({
        item_id: weirdString(r) + '"\\',
        count: Math.floor(r() * 100),
        extra: weirdValue(r),
      }));
      check(h, () => payload, [1, 3, 17, 256, undefined]);
    }
  });

  it('on typed payloads (user and cooc rows) with awkward ids', () => {
    const r = rng(3);
    const ids = (n: number, p: string) => Array.from({ length: n }, (_, i) => `${p}${i}${weirdString(r)}`).sort();
    const users = quoteStrings(ids(30, 'u'));
    const items = quoteStrings(ids(40, 'i'));
    const keys: number[] = [];
    const offsets = [0];
    const codes: number[] = [];
    const scores: number[] = [];
    for (let u = 0; u < 30; u++) {
      if (r() < 0.2) continue;
      keys.push(u);
      for (let k = Math.floor(r() * 5); k > 0; k--) {
        codes.push(Math.floor(r() * 40));
        scores.push(k * 3);
      }
      offsets.push(codes.length);
    }
    const rows = { keys: Int32Array.from(keys), offsets: Int32Array.from(offsets), codes: Int32Array.from(codes), scores: Int32Array.from(scores) };
    const header = (t: ArtifactHeader['artifactType']): ArtifactHeader => ({
      artifactType: t,
      payloadField: PAYLOAD_FIELD[t],
      tenant: 'demo',
      surface: 'home',
      segment: '',
      window: { start: 'a', end: 'b' },
    });
    check(header('implicit'), () => userPayload(rows, users, items), [1, 5, 64, undefined]);
    const coocRows = { ...rows, keys: Int32Array.from(keys, (k) => k + 5) };
    check(header('cooc'), () => coocPayload(coocRows, new Int32Array(40).fill(1), items, 10), [2, 33, undefined]);
  });

  it('on an empty payload', () => {
    check({ artifactType: 'session_seq', payloadField: 'users', tenant: 't', surface: 's', segment: '', window: { start: '', end: '' } }, () => [], [
      1,
      undefined,
    ]);
  });
});

describe('AtomicFileStream named at commit', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'atomic-stream-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('commits under the name given to commit', () => {
    const out = new AtomicFileStream(join(dir, 'pending.json'));
    out.write(Buffer.from('hello'));
    out.commit(join(dir, 'final.json'));
    expect(out.target).toBe(join(dir, 'final.json'));
    expect(readdirSync(dir)).toEqual(['final.json']);
    expect(readFileSync(join(dir, 'final.json'), 'utf8')).toBe('hello');
  });

  it('refuses a name in another folder and removes its temp file', () => {
    const out = new AtomicFileStream(join(dir, 'pending.json'));
    out.write(Buffer.from('x'));
    expect(() => out.commit(join(dir, 'sub', 'final.json'))).toThrow(/not in the folder/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
