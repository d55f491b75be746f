/**
 * Validation and normalisation of one raw exposure line (docs/contract.md §1).
 *
 * Hot path (millions of lines): one JSON.parse, no regex, no intermediate strings for the
 * timestamp (parsed by char codes), one result object and one event object per line.
 */

/**
 * One validated exposure event, ids trimmed: what parseExposureLine returns for a good
 * line and what CanonicalDayBuilder.add takes (a row of a canonical day).
 */
export type ExposureEvent = {
  /** UTC epoch microseconds. */
  tsMicros: number;
  tenant: string;
  surface: string;
  sessionId: string;
  itemId: string;
  /** '' = anonymous */
  userId: string;
  /** '' = none */
  requestId: string;
  /** -1 = none */
  rank: number;
};

export type ParsedLine = { ok: true; event: ExposureEvent } | { ok: false; rule: string };

/**
 * White space as Go's unicode.IsSpace (strings.TrimSpace), which the Go tool trimmed ids
 * with: ASCII \t \n \v \f \r and space, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028,
 * U+2029, U+202F, U+205F, U+3000. Unlike JS trim(): U+0085 is space, U+FEFF is not.
 */
const SPACE = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const BLANK_RE = new RegExp(`^[${SPACE}]*$`);
const TRIM_RE = new RegExp(`^[${SPACE}]+|[${SPACE}]+$`, 'g');

function isSpaceCode(c: number): boolean {
  return (
    c === 0x20 ||
    (c >= 0x09 && c <= 0x0d) ||
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

/** Go's strings.TrimSpace. The common case (nothing to trim) allocates nothing. */
export function trimSpace(s: string): string {
  if (s.length === 0 || (!isSpaceCode(s.charCodeAt(0)) && !isSpaceCode(s.charCodeAt(s.length - 1)))) return s;
  return s.replace(TRIM_RE, '');
}

/** True when the line holds only white space (trimSpace's set). Such lines are skipped, not parsed. */
export function isBlankLine(text: string): boolean {
  return text.length === 0 || BLANK_RE.test(text);
}

// Rules are constant strings so failures allocate nothing but the result object.
const R_NOT_OBJECT = 'not a JSON object';
const R_INVALID_JSON = 'invalid JSON';
const R_V = 'v must be 1';
const R_TS_TYPE = 'ts: must be a string';
const R_TS_REQUIRED = 'ts: required';
const R_TS_FORMAT = 'ts: not an RFC 3339 timestamp';
/**
 * Accepted `ts`, as UTC years [TS_MIN_YEAR, TS_END_YEAR): epoch microseconds are held in a
 * double, exact up to ±2^53 µs (1684-07-28 .. 2255-06-05); the bounds are whole years inside
 * that. (Go's time.Parse takes years 0000..9999; no real exposure lies outside these.)
 */
export const TS_MIN_YEAR = 1700;
export const TS_END_YEAR = 2250;
const TS_MIN_MICROS = Date.UTC(TS_MIN_YEAR, 0, 1) * 1000;
const TS_END_MICROS = Date.UTC(TS_END_YEAR, 0, 1) * 1000;
const R_TS_RANGE = `ts: out of range: must be in UTC years [${TS_MIN_YEAR}, ${TS_END_YEAR})`;
/** Ranks are stored as Int32 in canonical partitions. */
export const MAX_RANK = 2147483647;
/** Every number that is not an integer in range, whatever its magnitude, fraction or exponent form. */
const R_RANK = `rank: must be an integer in [0, ${MAX_RANK}]`;
const R_RANK_TYPE = `rank: must be a number (an integer in [0, ${MAX_RANK}])`;

/** Set by the field helpers below when they return null. */
let failRule = '';

function requiredId(o: Record<string, unknown>, field: string): string | null {
  const v = o[field];
  if (typeof v === 'string') {
    const t = trimSpace(v);
    if (t.length > 0) return t;
    failRule = `${field}: empty`;
    return null;
  }
  failRule = v === undefined || v === null ? `${field}: required` : `${field}: must be a string`;
  return null;
}

function optionalId(o: Record<string, unknown>, field: string): string | null {
  const v = o[field];
  if (typeof v === 'string') return trimSpace(v);
  if (v === undefined || v === null) return '';
  failRule = `${field}: must be a string`;
  return null;
}

export function parseExposureLine(text: string): ParsedLine {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return { ok: false, rule: R_INVALID_JSON };
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return { ok: false, rule: R_NOT_OBJECT };
  const r = o as Record<string, unknown>;

  if (r.v !== 1 || hasNonIntegerToken(text, 'v')) return { ok: false, rule: R_V };

  const ts = r.ts;
  if (typeof ts !== 'string') return { ok: false, rule: ts === undefined || ts === null ? R_TS_REQUIRED : R_TS_TYPE };
  const tsMicros = parseRfc3339Micros(ts);
  if (tsMicros === null) return { ok: false, rule: failRule };

  const tenant = requiredId(r, 'tenant');
  if (tenant === null) return { ok: false, rule: failRule };
  const surface = requiredId(r, 'surface');
  if (surface === null) return { ok: false, rule: failRule };
  const sessionId = requiredId(r, 'session_id');
  if (sessionId === null) return { ok: false, rule: failRule };
  const itemId = requiredId(r, 'item_id');
  if (itemId === null) return { ok: false, rule: failRule };
  const userId = optionalId(r, 'user_id');
  if (userId === null) return { ok: false, rule: failRule };
  const requestId = optionalId(r, 'request_id');
  if (requestId === null) return { ok: false, rule: failRule };

  let rank = -1;
  const rv = r.rank;
  if (rv !== undefined && rv !== null) {
    if (typeof rv !== 'number') return { ok: false, rule: R_RANK_TYPE };
    if (!Number.isInteger(rv) || rv < 0 || rv > MAX_RANK || hasNonIntegerToken(text, 'rank')) return { ok: false, rule: R_RANK };
    rank = rv;
  }

  return { ok: true, event: { tsMicros, tenant, surface, sessionId, itemId, userId, requestId, rank } };
}

// ---------------------------------------------------------------------------
// RFC 3339 timestamps: YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM), T/t and Z/z accepted.

/** Value of the digit at s[i], or -1. */
function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

/** Two-digit number at s[i..i+2), or -1. */
function two(s: string, i: number): number {
  const h = digit(s, i);
  const l = digit(s, i + 1);
  return h < 0 || l < 0 ? -1 : h * 10 + l;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/**
 * Parses an RFC 3339 timestamp to UTC epoch microseconds, integer math only; fraction
 * digits beyond 6 are truncated. Seconds must be 00..59 (no leap second, as Go's
 * time.Parse). Results outside UTC years [TS_MIN_YEAR, TS_END_YEAR) are rejected as out of
 * range (they could not all be held exactly). On failure returns null
 * and sets `failRule`.
 */
export function parseRfc3339Micros(s: string): number | null {
  failRule = R_TS_FORMAT;
  const len = s.length;
  if (len < 20) return null;
  const y1 = two(s, 0);
  const y2 = two(s, 2);
  if (y1 < 0 || y2 < 0 || s.charCodeAt(4) !== 45 /* - */ || s.charCodeAt(7) !== 45) return null;
  const year = y1 * 100 + y2;
  const month = two(s, 5);
  const day = two(s, 8);
  const t = s.charCodeAt(10);
  if (t !== 84 /* T */ && t !== 116 /* t */) return null;
  const hour = two(s, 11);
  const minute = two(s, 14);
  const second = two(s, 17);
  if (s.charCodeAt(13) !== 58 /* : */ || s.charCodeAt(16) !== 58) return null;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return null;

  let i = 19;
  let frac = 0;
  if (s.charCodeAt(i) === 46 /* . */) {
    i++;
    const fracStart = i;
    while (i < len && digit(s, i) >= 0) {
      if (i - fracStart < 6) frac = frac * 10 + digit(s, i);
      i++;
    }
    const n = i - fracStart;
    if (n === 0) return null;
    for (let k = n; k < 6; k++) frac *= 10;
  }

  let offsetSeconds = 0;
  const z = s.charCodeAt(i);
  if (z === 90 /* Z */ || z === 122 /* z */) {
    if (i + 1 !== len) return null;
  } else if (z === 43 /* + */ || z === 45 /* - */) {
    if (i + 6 !== len || s.charCodeAt(i + 3) !== 58) return null;
    const oh = two(s, i + 1);
    const om = two(s, i + 4);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return null;
    offsetSeconds = (oh * 3600 + om * 60) * (z === 43 ? 1 : -1);
  } else {
    return null;
  }

  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offsetSeconds;
  const micros = seconds * 1_000_000 + frac;
  if (!(micros >= TS_MIN_MICROS && micros < TS_END_MICROS)) {
    failRule = R_TS_RANGE;
    return null;
  }
  return micros;
}

/**
 * Whether the top-level `key` of a JSON object text holds a number written with a
 * fraction or exponent (`1.0`, `1e0`): JSON.parse makes those integers, but docs/contract.md §1 says
 * integer and Go's encoding/json refuses them for an int field. Only called on lines that
 * parsed, so the text is valid JSON; the last occurrence wins, as in JSON.parse.
 */
function hasNonIntegerToken(text: string, key: string): boolean {
  const quotedKey = `"${key}"`;
  let depth = 0;
  let verdict = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i;
      for (i++; text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      if (depth !== 1 || text.slice(start, i + 1) !== quotedKey) continue;
      let j = i + 1;
      while (/\s/.test(text[j])) j++;
      if (text.charCodeAt(j) !== 0x3a) continue; // a string value, not a key
      j++;
      while (/\s/.test(text[j])) j++;
      let end = j;
      while (end < text.length && /[-+0-9.eE]/.test(text[end])) end++;
      verdict = end > j && /[.eE]/.test(text.slice(j, end));
      i = end - 1;
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return verdict;
}
