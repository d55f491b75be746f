/**
 * The byte scanner (src/io/parse/scanner.ts) against the authority on raw lines,
 * parseExposureLine (JSON.parse), line by line: whatever path a line takes (the byte fast
 * path, its timestamp and repeated-id shortcuts, or the slow path), the block must hold the
 * same events, rejections and counts. Seeded property tests: the seed is in the test name.
 */
import { describe, expect, it } from 'vitest';
import { snapshotValues } from '../../../src/io/parse/byte-dictionary';
import { isBlankLine, parseExposureLine } from '../../../src/io/parse/exposure-line';
import type { ScanParams } from '../../../src/io/parse/scanner';
import { parseBlock } from '../../../src/io/parse/scanner';
import { generateDayLines, Rng } from '../../support/generate';

const DAY_START = Date.UTC(2026, 0, 1) * 1000;
const PARAMS: ScanParams = { tenant: 'demo', surface: 'home', dayStart: DAY_START, dayEnd: DAY_START + 86_400_000_000, failFast: false, firstBlock: true };

interface Expected {
  events: Array<[number, string, string, string, string, number]>;
  rejections: Array<[number, string]>;
  nonBlank: number;
  skippedOther: number;
  skippedOutside: number;
}

/** What the block must hold, from parseExposureLine on each line. */
function oracle(text: string, p: ScanParams): Expected {
  const out: Expected = { events: [], rejections: [], nonBlank: 0, skippedOther: 0, skippedOutside: 0 };
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (isBlankLine(line)) return;
    out.nonBlank++;
    const r = parseExposureLine(line);
    if (!r.ok) out.rejections.push([i + 1, r.rule]);
    else if (r.event.tenant !== p.tenant || r.event.surface !== p.surface) out.skippedOther++;
    else if (r.event.tsMicros < p.dayStart || r.event.tsMicros >= p.dayEnd) out.skippedOutside++;
    else {
      const e = r.event;
      out.events.push([e.tsMicros, e.sessionId, e.itemId, e.userId, e.requestId, e.rank]);
    }
  });
  return out;
}

/** What the scanner produced, in the oracle's shape (null ids decoded as ''). */
function scanned(text: string, p: ScanParams): Expected {
  const { parsed, badLine } = parseBlock(new Uint8Array(Buffer.from(text, 'utf8')), p);
  expect(badLine).toBeNull();
  const decode = (c: { codes: Int32Array; dict: Parameters<typeof snapshotValues>[0] }) => {
    const values = snapshotValues(c.dict);
    return Array.from(c.codes, (code) => (code < 0 ? '' : values[code]));
  };
  const [session, item, user, request] = [decode(parsed.session), decode(parsed.item), decode(parsed.user), decode(parsed.request)];
  return {
    events: Array.from(parsed.tsMicros, (ts, i) => [ts, session[i], item[i], user[i], request[i], parsed.rank[i]] as Expected['events'][number]),
    rejections: parsed.rejections.map((r) => [r.line, r.reason] as [number, string]),
    nonBlank: parsed.nonBlank,
    skippedOther: parsed.skippedOtherTenantSurface,
    skippedOutside: parsed.skippedOutsideDay,
  };
}

/** A generator-shaped line (the fast path's shape) with the given fields. */
function line(f: { ts: string; session?: string; item?: string; user?: string | null; request?: string; rank?: string; tenant?: string }): string {
  const parts = [
    `"v":1`,
    `"ts":"${f.ts}"`,
    `"tenant":"${f.tenant ?? 'demo'}"`,
    `"surface":"home"`,
    f.user === undefined ? '' : f.user === null ? `"user_id":null` : `"user_id":"${f.user}"`,
    `"session_id":"${f.session ?? 's1'}"`,
    f.request === undefined ? '' : `"request_id":"${f.request}"`,
    `"item_id":"${f.item ?? 'sku-1'}"`,
    f.rank === undefined ? '' : `"rank":${f.rank}`,
  ];
  return `{${parts.filter((x) => x !== '').join(',')}}`;
}

/** Timestamps around every rule of the byte form and just outside it (the string parser decides those). */
function tsCandidates(rng: Rng): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const year = rng.pick([1969, 1970, 2000, 2024, 2025, 2026, 2100, 2199, 2200, 9999, 0]);
  const month = rng.pick([0, 1, 2, 2, 4, 12, 13]);
  const day = rng.pick([0, 1, 28, 29, 30, 31, 32]);
  const hour = rng.pick([0, 12, 23, 24]);
  const minute = rng.pick([0, 59, 60]);
  const second = rng.pick([0, 30, 59, 60]);
  const frac = rng.pick(['', '', '.', '.1', '.123', '.123456', '.1234567', '.000000000', '.12a']);
  const zone = rng.pick(['Z', 'Z', 'Z', 'z', '+00:00', '-05:30', '', 'ZZ', ' Z']);
  const sep = rng.pick(['T', 'T', 'T', 't', ' ']);
  return `${String(year).padStart(4, '0')}-${two(month)}-${two(day)}${sep}${two(hour)}:${two(minute)}:${two(second)}${frac}${zone}`;
}

describe('byte scanner = parseExposureLine, line by line', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`generated adversarial days, seed ${seed}`, () => {
      const text = generateDayLines(seed, { tenant: 'demo', surface: 'home', day: '2026-01-01', events: 3000, users: 40, items: 60, noise: 0.05 });
      expect(scanned(text, PARAMS)).toEqual(oracle(text, PARAMS));
    });
  }

  for (const seed of [11, 12, 13]) {
    it(`timestamps in and around the byte form, seed ${seed}`, () => {
      const rng = new Rng(seed);
      const lines = Array.from({ length: 3000 }, () => line({ ts: tsCandidates(rng) }));
      // Inside the window too, with every fraction length.
      for (let i = 0; i < 500; i++)
        lines.push(line({ ts: `2026-01-01T${String(rng.int(24)).padStart(2, '0')}:07:09${rng.pick(['', '.5', '.123456', '.9999999'])}Z` }));
      const text = lines.join('\n') + '\n';
      const wide = { ...PARAMS, dayStart: -1e16, dayEnd: 1e16 };
      expect(scanned(text, wide)).toEqual(oracle(text, wide));
      expect(scanned(text, PARAMS)).toEqual(oracle(text, PARAMS));
    });
  }

  for (const seed of [21, 22]) {
    it(`ids repeated, extended, emptied and padded on consecutive lines, seed ${seed}`, () => {
      const rng = new Rng(seed);
      const ids = ['s1', 's12', 's1 ', ' s1', 's2', 'é', 'é2', 'x\\u0041', 'A', '', '   '];
      const lines: string[] = [];
      for (let i = 0; i < 4000; i++) {
        const user = rng.chance(0.1) ? null : rng.chance(0.1) ? undefined : rng.pick(ids);
        const request = rng.chance(0.1) ? undefined : rng.pick(ids);
        lines.push(
          rng.chance(0.05)
            ? ' {"v":1 , "ts":"2026-01-01T01:00:00Z","tenant":"demo","surface":"home","session_id":"s1","item_id":"\\u0073ku"}'
            : line({
                ts: '2026-01-01T05:00:00Z',
                session: rng.pick(ids),
                item: rng.pick(ids),
                user,
                request,
                rank: rng.pick([undefined, '0', '3', '-1', '1.0']),
              }),
        );
      }
      const text = lines.join('\n') + '\n';
      expect(scanned(text, PARAMS)).toEqual(oracle(text, PARAMS));
    });
  }

  it('random byte mutations of valid lines', () => {
    const rng = new Rng(31);
    const alphabet = '0123456789"\\ :,-.TZz+{}tsuvrnl\t';
    const lines: string[] = [];
    for (let i = 0; i < 5000; i++) {
      let l = line({
        ts: '2026-01-01T05:06:07.5Z',
        session: `s${rng.int(5)}`,
        item: `sku-${rng.int(9)}`,
        user: `u${rng.int(3)}`,
        request: `r${rng.int(4)}`,
        rank: String(rng.int(3)),
      });
      for (let m = rng.int(3); m >= 0; m--) {
        const at = rng.int(l.length);
        const op = rng.int(3);
        const c = alphabet[rng.int(alphabet.length)];
        l = op === 0 ? l.slice(0, at) + c + l.slice(at + 1) : op === 1 ? l.slice(0, at) + l.slice(at + 1) : l.slice(0, at) + c + l.slice(at);
      }
      lines.push(l.includes('\n') ? l.replace(/\n/g, ' ') : l);
    }
    const text = lines.join('\n') + '\n';
    expect(scanned(text, PARAMS)).toEqual(oracle(text, PARAMS));
  });
});

describe('countOnly: the events of a day over max_events_per_run are counted, not stored', () => {
  for (const seed of [41, 42]) {
    it(`the count equals the oracle's events, columns stay empty, bad lines neither stop nor are kept (seed ${seed})`, () => {
      const day = generateDayLines(seed, { tenant: 'demo', surface: 'home', day: '2026-01-01', events: 3000, users: 40, items: 60, noise: 0.05 });
      const text = `{"v":1}\nnot json\n${day}${line({ ts: '2026-01-01T01:00:00Z', rank: '-1' })}\n`;
      const expected = oracle(text, PARAMS);
      expect(expected.rejections.length).toBeGreaterThanOrEqual(3); // bad lines first, in the middle and last: the case is covered
      for (const failFast of [false, true]) {
        const { parsed, badLine } = parseBlock(new Uint8Array(Buffer.from(text, 'utf8')), { ...PARAMS, failFast, countOnly: true });
        expect(badLine).toBeNull();
        expect(parsed.events).toBe(expected.events.length);
        expect(parsed.tsMicros.length).toBe(0);
        expect(parsed.session.codes.length).toBe(0);
        expect(parsed.rejections).toEqual([]);
        expect([parsed.nonBlank, parsed.skippedOtherTenantSurface, parsed.skippedOutsideDay]).toEqual([
          expected.nonBlank,
          expected.skippedOther,
          expected.skippedOutside,
        ]);
      }
      // Stored mode: `events` is the stored rows.
      const stored = parseBlock(new Uint8Array(Buffer.from(text, 'utf8')), PARAMS).parsed;
      expect(stored.events).toBe(stored.tsMicros.length);
      expect(stored.events).toBe(expected.events.length);
    });
  }
});
