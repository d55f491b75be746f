/** A generated day of lines and helpers to compare canonical days, for the tests beside this file. */
import { expect } from 'vitest';
import { must } from '../../support/helpers';
import type { CanonicalDay } from '../../../src/io/canonical/day';
import { parseBlock } from '../../../src/io/parse/scanner';
import { generateDayLines } from '../../support/generate';

const DAY_START = Date.UTC(2026, 0, 1) * 1000;
const PARAMS = { tenant: 'demo', surface: 'home', dayStart: DAY_START, dayEnd: DAY_START + 86_400_000_000, failFast: false, firstBlock: true };
const RAW = generateDayLines(9, { tenant: 'demo', surface: 'home', day: '2026-01-01', events: 2400, users: 30, items: 50 });
export const LINES = RAW.split('\n').filter((l) => l !== '');

/** Rows of a day as plain values (null ids as ''). */
export function rowsOf(day: CanonicalDay): unknown[] {
  const v = (c: CanonicalDay['item'], i: number) => {
    const code = must(c.codes[i]);
    return code < 0 ? '' : c.values[code];
  };
  return Array.from({ length: day.rows }, (_, i) => [
    day.tsMicros[i],
    v(day.tenant, i),
    v(day.surface, i),
    v(day.session, i),
    v(day.item, i),
    v(day.user, i),
    v(day.request, i),
    day.rank[i],
  ]);
}

export function expectSortedDictionaries(day: CanonicalDay): void {
  for (const c of [day.tenant, day.surface, day.session, day.item, day.user, day.request]) {
    const bytes = c.values.map((s) => Buffer.from(s));
    for (let i = 1; i < bytes.length; i++) expect(Buffer.compare(must(bytes[i - 1]), must(bytes[i]))).toBeLessThan(0);
  }
}

export const blockOf = (lines: string[]) => parseBlock(new Uint8Array(Buffer.from(lines.join('\n') + '\n')), PARAMS).parsed;
