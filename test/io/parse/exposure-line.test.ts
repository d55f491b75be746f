import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isBlankLine, parseExposureLine, type ParsedLine } from '../../../src/io/parse/exposure-line';

const BASE = {
  v: 1,
  ts: '2026-01-01T08:00:00Z',
  tenant: 'demo',
  surface: 'home',
  session_id: 's1',
  item_id: 'sku-1',
};

const line = (over: Record<string, unknown> = {}, drop: string[] = []) => {
  const o: Record<string, unknown> = { ...BASE, ...over };
  for (const k of drop) delete o[k];
  return JSON.stringify(o);
};

const rule = (r: ParsedLine) => (r.ok ? 'ok' : r.rule);
const ok = (r: ParsedLine) => {
  if (!r.ok) throw new Error(`expected ok, got rule "${r.rule}"`);
  return r.event;
};
const micros = (iso: string) => Date.parse(iso) * 1000;

describe('parseExposureLine', () => {
  it('parses a full event', () => {
    const text =
      '{"v":1,"ts":"2026-01-01T16:22:33Z","tenant":"demo","surface":"home","user_id":"u145","session_id":"s1","request_id":"r1","item_id":"sku-8un9ma","rank":1}';
    expect(parseExposureLine(text)).toEqual({
      ok: true,
      event: {
        tsMicros: micros('2026-01-01T16:22:33Z'),
        tenant: 'demo',
        surface: 'home',
        sessionId: 's1',
        itemId: 'sku-8un9ma',
        userId: 'u145',
        requestId: 'r1',
        rank: 1,
      },
    });
  });

  it('defaults optional fields and ignores unknown fields', () => {
    const e = ok(parseExposureLine(line({ extra: { deep: [1] }, user_id: null, request_id: null, rank: null })));
    expect(e.userId).toBe('');
    expect(e.requestId).toBe('');
    expect(e.rank).toBe(-1);
    const e2 = ok(parseExposureLine(line()));
    expect([e2.userId, e2.requestId, e2.rank]).toEqual(['', '', -1]);
    expect(ok(parseExposureLine(line({ rank: 0 }))).rank).toBe(0);
  });

  it('trims every id field', () => {
    const e = ok(parseExposureLine(line({ tenant: ' demo ', surface: '\thome', session_id: 's1 ', item_id: ' café ', user_id: '  u7\n', request_id: ' r ' })));
    expect(e).toMatchObject({ tenant: 'demo', surface: 'home', sessionId: 's1', itemId: 'café', userId: 'u7', requestId: 'r' });
    expect(ok(parseExposureLine(line({ user_id: '   ' }))).userId).toBe('');
  });

  it('rejects what is not a JSON object', () => {
    expect(rule(parseExposureLine('{"v":1,'))).toBe('invalid JSON');
    expect(rule(parseExposureLine('not json'))).toBe('invalid JSON');
    expect(rule(parseExposureLine('[1,2]'))).toBe('not a JSON object');
    expect(rule(parseExposureLine('"str"'))).toBe('not a JSON object');
    expect(rule(parseExposureLine('42'))).toBe('not a JSON object');
    expect(rule(parseExposureLine('null'))).toBe('not a JSON object');
  });

  it('requires v to be the integer 1', () => {
    expect(rule(parseExposureLine(line({ v: '1' })))).toBe('v must be 1');
    expect(rule(parseExposureLine(line({ v: 2 })))).toBe('v must be 1');
    expect(rule(parseExposureLine(line({ v: 1.5 })))).toBe('v must be 1');
    expect(rule(parseExposureLine(line({}, ['v'])))).toBe('v must be 1');
  });

  it.each([['tenant'], ['surface'], ['session_id'], ['item_id']])('requires %s as a non-empty string', (field) => {
    expect(rule(parseExposureLine(line({}, [field])))).toBe(`${field}: required`);
    expect(rule(parseExposureLine(line({ [field]: null })))).toBe(`${field}: required`);
    expect(rule(parseExposureLine(line({ [field]: 7 })))).toBe(`${field}: must be a string`);
    expect(rule(parseExposureLine(line({ [field]: ['x'] })))).toBe(`${field}: must be a string`);
    expect(rule(parseExposureLine(line({ [field]: '' })))).toBe(`${field}: empty`);
    expect(rule(parseExposureLine(line({ [field]: ' \t ' })))).toBe(`${field}: empty`);
  });

  it.each([['user_id'], ['request_id']])('requires optional %s to be a string when present', (field) => {
    expect(rule(parseExposureLine(line({ [field]: 12 })))).toBe(`${field}: must be a string`);
    expect(rule(parseExposureLine(line({ [field]: false })))).toBe(`${field}: must be a string`);
  });

  it('rank: one message for every number that is not an integer in [0, 2147483647], whatever its magnitude', () => {
    // 1e300 and 99999999999999999999 are not safe integers; 2147483648 is one; all get the same rule.
    const numbers = ['1.5', '-1', '-0.5', '1e300', '1e3', '3.0', '99999999999999999999', '2147483648', '4294967296', '-99999999999999999999'];
    for (const bad of numbers) {
      const text = line({}).replace(/}$/, `,"rank":${bad}}`);
      expect(rule(parseExposureLine(text)), bad).toBe('rank: must be an integer in [0, 2147483647]');
    }
    for (const bad of ['3', true, [1]]) expect(rule(parseExposureLine(line({ rank: bad })))).toBe('rank: must be a number (an integer in [0, 2147483647])');
    expect(ok(parseExposureLine(line({ rank: 12 }))).rank).toBe(12);
    expect(ok(parseExposureLine(line({ rank: 0 }))).rank).toBe(0);
    expect(ok(parseExposureLine(line({ rank: 2147483647 }))).rank).toBe(2147483647);
  });

  describe('ts', () => {
    const tsOf = (ts: unknown) => parseExposureLine(line({ ts }));
    const at = (ts: string) => ok(tsOf(ts)).tsMicros;

    it('normalises offsets to UTC, crossing midnight', () => {
      expect(at('2026-01-02T01:00:00+02:00')).toBe(micros('2026-01-01T23:00:00Z'));
      expect(at('2025-12-31T23:30:00-01:00')).toBe(micros('2026-01-01T00:30:00Z'));
      expect(at('2026-01-01T10:00:00.123+02:00')).toBe(micros('2026-01-01T08:00:00.123Z'));
      expect(at('2026-01-01T08:00:00-00:00')).toBe(micros('2026-01-01T08:00:00Z'));
      expect(at('2026-01-01T05:15:00+05:45')).toBe(micros('2025-12-31T23:30:00Z'));
    });

    it('keeps microseconds and truncates further digits', () => {
      const base = micros('2026-01-01T08:00:00Z');
      expect(at('2026-01-01T08:00:00.123456789Z')).toBe(base + 123456);
      expect(at('2026-01-01T08:00:00.999999999Z')).toBe(base + 999999);
      expect(at('2026-01-01T08:00:00.5Z')).toBe(base + 500000);
      expect(at('2026-01-01T08:00:00.000001Z')).toBe(base + 1);
      expect(at('2026-01-01T08:00:00.0000009Z')).toBe(base);
    });

    it('accepts lower-case t and z', () => {
      expect(at('2026-01-01t08:00:00z')).toBe(micros('2026-01-01T08:00:00Z'));
    });

    it('handles calendar edge cases', () => {
      expect(at('2024-02-29T00:00:00Z')).toBe(micros('2024-02-29T00:00:00Z'));
      expect(at('2000-02-29T12:00:00Z')).toBe(micros('2000-02-29T12:00:00Z'));
      expect(at('1970-01-01T00:00:00Z')).toBe(0);
      expect(at('1969-12-31T23:59:59.999999Z')).toBe(-1);
      expect(at('2026-12-31T23:59:59Z')).toBe(micros('2026-12-31T23:59:59Z'));
      expect(at('2249-06-01T00:00:00Z')).toBe(micros('2249-06-01T00:00:00Z'));
      expect(at('1700-03-01T00:00:00Z')).toBe(micros('1700-03-01T00:00:00Z'));
    });

    it('agrees with Date.parse on many valid timestamps', () => {
      const pad = (n: number, w = 2) => String(n).padStart(w, '0');
      for (let k = 0; k < 5000; k++) {
        const ms = Math.floor((((k * 2654435761) % 2 ** 32) / 2 ** 32) * 8e12) - 2e12; // ~1906..2223
        const d = new Date(ms);
        const offMin = ((k * 37) % (27 * 60)) - 13 * 60; // -13:00 .. +13:59
        const local = new Date(ms + offMin * 60_000);
        const sign = offMin < 0 ? '-' : '+';
        const a = Math.abs(offMin);
        const ts =
          `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}` +
          `T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}` +
          `.${pad(local.getUTCMilliseconds(), 3)}${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
        expect(at(ts), ts).toBe(d.getTime() * 1000);
      }
    });

    it.each([
      '2026-02-30T00:00:00Z',
      '2025-02-29T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '2026-01-00T00:00:00Z',
      '2026-01-01T25:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T08:60:00Z',
      '2026-01-01T08:00:60Z',
      '2026-01-01T08:00:00',
      '2026-01-01 08:00:00Z',
      '2026-01-01T08:00Z',
      '2026-1-01T08:00:00Z',
      '2026-01-01T08:00:00.Z',
      '2026-01-01T08:00:00+0200',
      '2026-01-01T08:00:00+02',
      '2026-01-01T08:00:00+24:00',
      '2026-01-01T08:00:00+02:60',
      '2026-01-01T08:00:00ZZ',
      '2026-01-01T08:00:00Z ',
      ' 2026-01-01T08:00:00Z',
      '+2026-01-01T08:00:00Z',
      '2026-01-01',
      '',
      '１２３４-01-01T08:00:00Z',
    ])('rejects %j', (ts) => {
      expect(rule(tsOf(ts))).toBe('ts: not an RFC 3339 timestamp');
    });

    it('out of range: one message naming the accepted UTC years [1700, 2250), after the offset is applied', () => {
      const R = 'ts: out of range: must be in UTC years [1700, 2250)';
      for (const ts of [
        '9999-12-31T23:59:59Z',
        '0001-01-01T00:00:00Z',
        '2300-06-01T00:00:00Z',
        '2250-01-01T00:00:00Z',
        '1699-12-31T23:59:59.999999Z',
        '2249-12-31T23:30:00-01:00',
        '1700-01-01T00:30:00+01:00',
      ]) {
        expect(rule(tsOf(ts)), ts).toBe(R);
      }
      expect(ok(tsOf('2249-12-31T23:59:59.999999Z')).tsMicros).toBe(Date.UTC(2250, 0, 1) * 1000 - 1);
      expect(ok(tsOf('1700-01-01T00:00:00Z')).tsMicros).toBe(Date.UTC(1700, 0, 1) * 1000);
      expect(ok(tsOf('1700-01-01T00:30:00-01:00')).tsMicros).toBe(Date.UTC(1700, 0, 1, 1, 30) * 1000);
    });

    it('requires a string', () => {
      expect(rule(tsOf(1767254400))).toBe('ts: must be a string');
      expect(rule(parseExposureLine(line({}, ['ts'])))).toBe('ts: required');
    });
  });

  it('reports the first failing rule in field order', () => {
    expect(rule(parseExposureLine(line({ v: 2, ts: 'x', tenant: '' })))).toBe('v must be 1');
    expect(rule(parseExposureLine(line({ ts: 'x', tenant: '' })))).toBe('ts: not an RFC 3339 timestamp');
    expect(rule(parseExposureLine(line({ tenant: '', rank: -1 })))).toBe('tenant: empty');
  });
});

describe('isBlankLine', () => {
  it('is true only for white space', () => {
    expect(isBlankLine('')).toBe(true);
    expect(isBlankLine('   ')).toBe(true);
    expect(isBlankLine(' \t \r')).toBe(true);
    expect(isBlankLine('{}')).toBe(false);
    expect(isBlankLine('  x  ')).toBe(false);
  });
});

describe('example raw files', () => {
  it('parse line by line, with the special lines normalised', () => {
    const file = join(__dirname, '..', '..', '..', 'testdata', 'raw', 'demo', 'home', 'exposure.2026-01-01.jsonl');
    const events = new Map<number, ReturnType<typeof ok>>();
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((text: string, i: number) => {
      if (!isBlankLine(text)) events.set(i + 1, ok(parseExposureLine(text)));
    });
    expect(events.size).toBe(3005);
    expect(events.get(3002)).toMatchObject({ itemId: '<b>bold</b>', tsMicros: micros('2026-01-01T23:00:00Z'), requestId: '' });
    expect(events.get(3003)).toMatchObject({ itemId: 'café', userId: 'u-special', rank: 3 });
    expect(events.get(3004)).toMatchObject({ itemId: '𝄞clef', userId: '', rank: -1 });
    expect(events.get(3005)).toMatchObject({ tenant: 'other', itemId: 'not-ours' });
  });
});
