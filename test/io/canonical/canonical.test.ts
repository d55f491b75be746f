/**
 * CanonicalDayBuilder: however rows arrive (one by one, parsed blocks, whole days, mixed),
 * the day holds the same rows in arrival order, with every dictionary sorted in byte order
 * and codes that are ranks; and the Arrow partition round-trips.
 */
import { describe, expect, it } from 'vitest';
import { CanonicalDay, CanonicalDayBuilder, CanonicalEventInput, decodeCanonical, encodeCanonical } from '../../../src/io/canonical/canonical';
import { parseBlock } from '../../../src/io/parse/scanner';
import { generateDayLines } from '../../support/generate';
import { expectSameBytes } from '../../support/helpers';
import { ComputePool } from '../../../src/engine/threads/pool';

const DAY_START = Date.UTC(2026, 0, 1) * 1000;
const PARAMS = { tenant: 'demo', surface: 'home', dayStart: DAY_START, dayEnd: DAY_START + 86_400_000_000, failFast: false, firstBlock: true };
const RAW = generateDayLines(9, { tenant: 'demo', surface: 'home', day: '2026-01-01', events: 2400, users: 30, items: 50 });
const LINES = RAW.split('\n').filter((l) => l !== '');

/** Rows of a day as plain values (null ids as ''). */
function rowsOf(day: CanonicalDay): unknown[] {
  const v = (c: CanonicalDay['item'], i: number) => (c.codes[i] < 0 ? '' : c.values[c.codes[i]]);
  return Array.from({ length: day.rows }, (_, i) => [day.tsMicros[i], v(day.tenant, i), v(day.surface, i), v(day.session, i), v(day.item, i), v(day.user, i), v(day.request, i), day.rank[i]]);
}

function expectSortedDictionaries(day: CanonicalDay): void {
  for (const c of [day.tenant, day.surface, day.session, day.item, day.user, day.request]) {
    const bytes = c.values.map((s) => Buffer.from(s));
    for (let i = 1; i < bytes.length; i++) expect(Buffer.compare(bytes[i - 1], bytes[i])).toBeLessThan(0);
  }
}

const blockOf = (lines: string[]) => parseBlock(new Uint8Array(Buffer.from(lines.join('\n') + '\n')), PARAMS).parsed;

/** The events of lines, one by one, through the block scanner's reading. */
function eventsOf(lines: string[]): CanonicalEventInput[] {
  const day = new CanonicalDayBuilder();
  day.addBlock(blockOf(lines), 'demo', 'home');
  const d = day.finish();
  return rowsOf(d).map((r) => {
    const [tsMicros, tenant, surface, sessionId, itemId, userId, requestId, rank] = r as [number, string, string, string, string, string, string, number];
    return { tsMicros, tenant, surface, sessionId, itemId, userId, requestId, rank };
  });
}

describe('CanonicalDayBuilder', () => {
  it('same rows and dictionaries whether rows come one by one, in blocks, as days, or mixed', () => {
    const thirds = [LINES.slice(0, 800), LINES.slice(800, 1600), LINES.slice(1600)];
    const oneByOne = new CanonicalDayBuilder();
    for (const e of eventsOf(LINES)) oneByOne.add(e);
    const want = oneByOne.finish();
    expectSortedDictionaries(want);
    expect(want.rows).toBeGreaterThan(2000);

    const blocks = new CanonicalDayBuilder();
    for (const t of thirds) blocks.addBlock(blockOf(t), 'demo', 'home');

    const mixed = new CanonicalDayBuilder();
    for (const e of eventsOf(thirds[0])) mixed.add(e);
    mixed.addBlock(blockOf(thirds[1]), 'demo', 'home');
    const earlier = new CanonicalDayBuilder();
    earlier.addBlock(blockOf(thirds[2].slice(0, 300)), 'demo', 'home');
    mixed.addDay(earlier.finish());
    for (const e of eventsOf(thirds[2].slice(300))) mixed.add(e);
    expect(mixed.rows).toBe(want.rows);

    for (const got of [blocks.finish(), mixed.finish()]) {
      expect(rowsOf(got)).toEqual(rowsOf(want));
      expectSortedDictionaries(got);
      expectSameBytes(encodeCanonical(got), encodeCanonical(want), 'encoded partition');
    }
  });

  it('finishing on the worker pool (columns merged in parallel) gives the same day, byte for byte', async () => {
    const parts = [LINES.slice(0, 700), LINES.slice(700, 1500), LINES.slice(1500)];
    const build = () => {
      const b = new CanonicalDayBuilder();
      for (const p of parts) b.addBlock(blockOf(p), 'demo', 'home');
      return b;
    };
    const want = build().finish();
    const pool = new ComputePool({ workers: 2, workerHeapMb: 256 });
    try {
      const columns: number[] = [];
      const got = await build().finishOn((column, runs) => {
        columns.push(column);
        return pool.run('ingest', { kind: 'column', shard: column, runs });
      });
      expect([...columns].sort()).toEqual([0, 1, 2, 3, 4, 5]);
      expect(rowsOf(got)).toEqual(rowsOf(want));
      expectSameBytes(encodeCanonical(got), encodeCanonical(want), 'encoded partition');
    } finally {
      await pool.close();
    }
  });

  it('round-trips through the Arrow partition, and an empty builder is an empty day', () => {
    const b = new CanonicalDayBuilder();
    b.addBlock(blockOf(LINES), 'demo', 'home');
    const day = b.finish();
    expect(rowsOf(decodeCanonical(encodeCanonical(day), 'test'))).toEqual(rowsOf(day));
    const empty = new CanonicalDayBuilder().finish();
    expect(empty.rows).toBe(0);
    expect(empty.item.size).toBe(0);
  });

  it('a partition written elsewhere, with an unsorted dictionary holding a value twice, decodes to sorted distinct values', () => {
    const b = new CanonicalDayBuilder();
    b.addBlock(blockOf(LINES.slice(0, 200)), 'demo', 'home');
    const day = b.finish();
    // Rewrite item_id's dictionary: reversed, with the first row's value repeated at the end;
    // rows of that value alternate between its two copies.
    const n = day.item.size;
    const dup = day.item.codes[0];
    const order = [...Array(n).keys()].reverse();
    const values = [...order.map((c) => day.item.values[c]), day.item.values[dup]];
    const arena = Buffer.concat(values.map((v) => Buffer.from(v)));
    const offsets = new Int32Array(values.length + 1);
    values.forEach((v, i) => (offsets[i + 1] = offsets[i] + Buffer.byteLength(v)));
    let flip = 0;
    const codes = Int32Array.from(day.item.codes, (c) => (c === dup && flip++ % 2 === 1 ? n : n - 1 - c));
    const foreign = { ...day, item: { ...day.item, codes, utf8: { arena: new Uint8Array(arena), offsets } } };
    const got = decodeCanonical(encodeCanonical(foreign), 'foreign.arrow');
    expect(flip).toBeGreaterThan(1);
    expect(got.item.size).toBe(n);
    expectSortedDictionaries(got);
    expect(rowsOf(got)).toEqual(rowsOf(day));
  });
});
