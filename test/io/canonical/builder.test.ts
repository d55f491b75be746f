/**
 * CanonicalDayBuilder: however rows arrive (one by one, parsed blocks, whole days, mixed),
 * the day holds the same rows in arrival order, with every dictionary sorted in byte order
 * and codes that are ranks.
 */
import { describe, expect, it } from 'vitest';
import { must } from '../../support/helpers';
import { encodeCanonical } from '../../../src/io/canonical/arrow-codec';
import { CanonicalDayBuilder } from '../../../src/io/canonical/builder';
import { parseExposureLine, type ExposureEvent } from '../../../src/io/parse/exposure-line';
import { WorkerPool } from '../../../src/engine/threads/pool';
import { blockOf, expectSortedDictionaries, LINES, rowsOf } from './fixture';

/** The events of lines, one by one, through the block scanner's reading. */
function eventsOf(lines: string[]): ExposureEvent[] {
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
    for (const e of eventsOf(must(thirds[0]))) mixed.add(e);
    mixed.addBlock(blockOf(must(thirds[1])), 'demo', 'home');
    const earlier = new CanonicalDayBuilder();
    earlier.addBlock(blockOf(must(thirds[2]).slice(0, 300)), 'demo', 'home');
    mixed.addDay(earlier.finish());
    for (const e of eventsOf(must(thirds[2]).slice(300))) mixed.add(e);
    expect(mixed.rows).toBe(want.rows);

    for (const got of [blocks.finish(), mixed.finish()]) {
      expect(rowsOf(got)).toEqual(rowsOf(want));
      expectSortedDictionaries(got);
      expect(encodeCanonical(got)).toEqual(encodeCanonical(want));
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
    const pool = new WorkerPool({ workers: 2, workerHeapMb: 256 });
    try {
      const columns: number[] = [];
      const got = await build().finishOn((column, runs) => {
        columns.push(column);
        return pool.run('ingest', { task: 'merge', column, runs });
      });
      expect([...columns].sort()).toEqual([0, 1, 2, 3, 4, 5]);
      expect(rowsOf(got)).toEqual(rowsOf(want));
      expect(encodeCanonical(got)).toEqual(encodeCanonical(want));
    } finally {
      await pool.close();
    }
  });

  it('takes the events of the line parser as they are: the same day as from the scanner blocks', () => {
    const lines = LINES.slice(0, 400);
    const oneByOne = new CanonicalDayBuilder();
    const dayStart = Date.UTC(2026, 0, 1) * 1000;
    for (const line of lines) {
      const parsed = parseExposureLine(line);
      // What the scanner keeps: good lines of this tenant, surface and day.
      if (!parsed.ok) continue;
      const e = parsed.event;
      if (e.tenant === 'demo' && e.surface === 'home' && e.tsMicros >= dayStart && e.tsMicros < dayStart + 86_400_000_000) oneByOne.add(e);
    }
    const blocks = new CanonicalDayBuilder();
    blocks.addBlock(blockOf(lines), 'demo', 'home');
    const want = blocks.finish();
    expect(want.rows).toBeGreaterThan(300);
    expect(rowsOf(oneByOne.finish())).toEqual(rowsOf(want));
  });

  it('an empty builder is an empty day', () => {
    const empty = new CanonicalDayBuilder().finish();
    expect(empty.rows).toBe(0);
    expect(empty.item.size).toBe(0);
  });
});
