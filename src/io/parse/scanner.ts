/**
 * Parses a block of raw JSONL lines into dictionary-coded columns (docs/contract.md §1), on a worker
 * thread or the main thread. Runs per line:
 *
 * - fast path: a byte-level scanner for the common shape (one flat object, string and
 *   integer values, no escapes). It accepts only lines it fully understands AND that are
 *   valid; ids go straight from bytes to dictionary codes (ByteDictionary), so no JS
 *   string is created per id occurrence;
 * - slow path, for everything else: decode the line, `parseExposureLine` (JSON.parse),
 *   which is the authority on validity and on the rule reported.
 * A line the fast path accepts is one the slow path accepts with the same values; the
 * property test in test/io/parse/scanner.test.ts holds the two together.
 */
import { isUtf8 } from 'node:buffer';
import type { ByteDictionarySnapshot } from './byte-dictionary';
import { ByteDictionary, sortedRun } from './byte-dictionary';
import { isBlankLine, MAX_RANK, parseExposureLine, parseRfc3339Micros } from './exposure-line';
import { GrowableColumn } from './growable';

export interface ScanParams {
  tenant: string;
  surface: string;
  /** Window [dayStart, dayEnd) in epoch microseconds. */
  dayStart: number;
  dayEnd: number;
  /** Stop at the first bad line (policy `fail`) instead of collecting rejections. */
  failFast: boolean;
  /** The block starts the file: a UTF-8 BOM on its first line is dropped. */
  firstBlock: boolean;
  /**
   * Count the day's events, store nothing: the day has crossed `max_events_per_run` and
   * will fail, but its message gives the true count. Columns come back empty, bad lines are
   * counted (in `nonBlank`) and neither stop the scan nor are kept.
   */
  countOnly?: boolean;
}

/** A column of a block: its distinct values sorted in byte order, each row's rank among them. */
export interface CodedColumn {
  /** -1 = null (user_id / request_id only). */
  codes: Int32Array;
  dict: ByteDictionarySnapshot;
}

export interface Rejection {
  /** 1-based line number within the block. */
  line: number;
  reason: string;
  raw: string;
}

export interface ParsedBlock {
  /** Physical lines in the block (to number lines across blocks). */
  lines: number;
  nonBlank: number;
  skippedOtherTenantSurface: number;
  skippedOutsideDay: number;
  /** Events of the tenant/surface inside the day: stored (the columns' length) or, with countOnly, counted. */
  events: number;
  tsMicros: Float64Array;
  rank: Int32Array;
  session: CodedColumn;
  item: CodedColumn;
  user: CodedColumn;
  request: CodedColumn;
  rejections: Rejection[];
}

const enum F {
  /** Not a known field. */
  NONE = -1,
  V,
  TS,
  TENANT,
  SURFACE,
  SESSION,
  ITEM,
  USER,
  REQUEST,
  RANK,
  N,
}
const FIELD_NAMES = ['v', 'ts', 'tenant', 'surface', 'session_id', 'item_id', 'user_id', 'request_id', 'rank'];
const FIELD_BYTES = FIELD_NAMES.map((n) => Buffer.from(n));

const isWs = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
/** JSON white space plus \v \f: the ASCII part of trimSpace's set. */
const isTrimAscii = (b: number) => isWs(b) || b === 0x0b || b === 0x0c;
const isPrintableAscii = (b: number) => b > 0x20 && b < 0x7f;
/** Lead bytes of the non-ASCII characters trimSpace removes (U+0085, U+00A0, U+1680, U+2000.., U+3000). */
const isSpaceLead = (b: number) => b === 0xc2 || b === 0xe1 || b === 0xe2 || b === 0xe3;

export class BlockScanner {
  private readonly ts = new GrowableColumn(new Float64Array(4096));
  private readonly rank = new GrowableColumn(new Int32Array(4096));
  private readonly codes = [0, 1, 2, 3].map(() => new GrowableColumn(new Int32Array(4096)));
  private readonly dicts = [0, 1, 2, 3].map(() => new ByteDictionary());
  private readonly tenantBytes: Buffer;
  private readonly surfaceBytes: Buffer;
  private readonly rejections: Rejection[] = [];
  private lines = 0;
  private nonBlank = 0;
  private skippedOther = 0;
  private skippedOutside = 0;
  /** Events counted but not stored (countOnly). */
  private counted = 0;
  // Scratch for the fast path: start/end of each known field's value; -1 = absent, -2 = null.
  private readonly valStart = new Int32Array(F.N);
  private readonly valEnd = new Int32Array(F.N);
  private readonly valNum = new Float64Array(F.N);
  // The previous fast-path event's id spans in `block` and their codes, per column: ids
  // repeat on consecutive lines (a session's events, a user's sessions), and comparing a
  // few bytes with the line before is cheaper than a dictionary lookup. Reset per block.
  private readonly prevStart = new Int32Array(4);
  private readonly prevEnd = new Int32Array(4);
  private readonly prevCode = new Int32Array(4).fill(-1);

  constructor(private readonly p: ScanParams) {
    this.tenantBytes = Buffer.from(p.tenant);
    this.surfaceBytes = Buffer.from(p.surface);
  }

  /**
   * Scans every line of `block`. With failFast, returns the first bad line as
   * {line, rule} and stops; otherwise collects rejections and returns null.
   */
  scan(block: Buffer): { line: number; rule: string } | null {
    const blockIsUtf8 = isUtf8(block);
    this.prevCode.fill(-1); // spans of another buffer mean nothing here
    let start = 0;
    while (start < block.length) {
      let nl = block.indexOf(0x0a, start);
      if (nl === -1) nl = block.length;
      let end = nl;
      if (end > start && block[end - 1] === 0x0d) end--;
      let from = start;
      this.lines++;
      if (this.lines === 1 && this.p.firstBlock && end - from >= 3 && block[from] === 0xef && block[from + 1] === 0xbb && block[from + 2] === 0xbf) from += 3;
      start = nl + 1;
      if (!blockIsUtf8 && !isUtf8(block.subarray(from, end))) {
        this.nonBlank++;
        const bad = this.reject('invalid UTF-8', '');
        if (bad) return bad;
        continue;
      }
      if (this.fastLine(block, from, end)) continue;
      const text = block.toString('utf8', from, end);
      if (isBlankLine(text)) continue;
      this.nonBlank++;
      const parsed = parseExposureLine(text);
      if (!parsed.ok) {
        const bad = this.reject(parsed.rule, text);
        if (bad) return bad;
        continue;
      }
      const e = parsed.event;
      if (e.tenant !== this.p.tenant || e.surface !== this.p.surface) this.skippedOther++;
      else if (e.tsMicros < this.p.dayStart || e.tsMicros >= this.p.dayEnd) this.skippedOutside++;
      else if (this.p.countOnly) this.counted++;
      else {
        const ids = [e.sessionId, e.itemId, e.userId, e.requestId].map((s) => Buffer.from(s));
        this.append(
          e.tsMicros,
          e.rank,
          ids,
          [0, 0, 0, 0],
          ids.map((b) => b.length),
        );
      }
    }
    return null;
  }

  private reject(reason: string, raw: string): { line: number; rule: string } | null {
    if (this.p.countOnly) return null;
    if (this.p.failFast) return { line: this.lines, rule: reason };
    this.rejections.push({ line: this.lines, reason, raw });
    return null;
  }

  private append(ts: number, rank: number, src: Uint8Array[], starts: number[], ends: number[]): void {
    this.ts.push(ts);
    this.rank.push(rank);
    for (let k = 0; k < 4; k++) {
      // user_id and request_id: empty = null.
      const code = k >= 2 && ends[k] === starts[k] ? -1 : this.dicts[k].codeOf(src[k], starts[k], ends[k]);
      this.codes[k].push(code);
    }
  }

  /**
   * The fast path. Returns true when the line was blank or fully handled (valid event
   * appended or skipped by tenant/surface/day); false sends it to the slow path.
   */
  private fastLine(b: Buffer, s: number, e: number): boolean {
    let i = s;
    while (i < e && b[i] <= 0x20 && isWs(b[i])) i++;
    if (i === e) {
      // Only JSON white space: blank. (Other blank lines take the slow path.)
      return true;
    }
    if (b[i] !== 0x7b) return false;
    const vs = this.valStart;
    const ve = this.valEnd;
    vs.fill(-1);
    i++;
    while (i < e && b[i] <= 0x20 && isWs(b[i])) i++;
    if (b[i] === 0x7d) return false;
    for (;;) {
      if (b[i] !== 0x22) return false;
      const ks = ++i;
      const field = knownKey(b, ks, e);
      if (field !== F.NONE) i += FIELD_BYTES[field].length;
      else for (let c = b[i]; c !== 0x22; c = b[++i]) if (c === 0x5c || c < 0x20 || i >= e) return false;
      if (i >= e) return false;
      i++;
      while (i < e && b[i] <= 0x20 && isWs(b[i])) i++;
      if (b[i] !== 0x3a) return false;
      i++;
      while (i < e && b[i] <= 0x20 && isWs(b[i])) i++;
      const c = b[i];
      if (c === 0x22) {
        const s0 = ++i;
        for (let c = b[i]; c !== 0x22; c = b[++i]) if (c === 0x5c || c < 0x20 || i >= e) return false;
        if (i >= e) return false;
        if (field === F.V || field === F.RANK) return false;
        if (field !== F.NONE) {
          vs[field] = s0;
          ve[field] = i;
        }
        i++;
      } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        // Integers only (-?(0|[1-9][0-9]*), at most 15 digits: exact in a double).
        const negative = c === 0x2d;
        if (negative) i++;
        const d0 = i;
        let n = 0;
        if (b[i] === 0x30) i++;
        else if (b[i] >= 0x31 && b[i] <= 0x39) while (i < e && b[i] >= 0x30 && b[i] <= 0x39) n = n * 10 + (b[i++] - 0x30);
        else return false;
        const nb = b[i];
        if (nb === 0x2e || nb === 0x65 || nb === 0x45 || i - d0 > 15) return false;
        if (field !== F.NONE) {
          if (field !== F.V && field !== F.RANK) return false;
          vs[field] = d0;
          this.valNum[field] = negative ? -n : n;
        }
      } else if (c === 0x6e && b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c) {
        i += 4;
        if (field !== F.NONE) {
          if (field !== F.USER && field !== F.REQUEST && field !== F.RANK) return false;
          vs[field] = -2;
        }
      } else if (field === F.NONE && c === 0x74 && b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65) i += 4;
      else if (field === F.NONE && c === 0x66 && b[i + 1] === 0x61 && b[i + 2] === 0x6c && b[i + 3] === 0x73 && b[i + 4] === 0x65) i += 5;
      else return false;
      while (i < e && b[i] <= 0x20 && isWs(b[i])) i++;
      if (b[i] === 0x2c) {
        i++;
        while (i < e && b[i] <= 0x20 && isWs(b[i])) i++;
        continue;
      }
      if (b[i] === 0x7d) break;
      return false;
    }
    i++;
    while (i < e && b[i] <= 0x20 && isWs(b[i])) i++;
    if (i !== e) return false;

    // Validation: anything unusual goes to the slow path, which names the rule.
    if (vs[F.V] < 0 || this.valNum[F.V] !== 1) return false;
    if (vs[F.TS] < 0) return false;
    let ts = utcTsMicros(b, vs[F.TS], ve[F.TS]);
    if (Number.isNaN(ts)) {
      const parsed = parseRfc3339Micros(b.toString('latin1', vs[F.TS], ve[F.TS]));
      if (parsed === null) return false;
      ts = parsed;
    }
    for (let f = F.TENANT; f <= F.REQUEST; f++) {
      if (vs[f] === -1 || vs[f] === -2) {
        if (f < F.USER) return false; // required
        vs[f] = ve[f] = s; // absent or null optional id: empty
        continue;
      }
      let a = vs[f];
      let z = ve[f];
      // The common id starts and ends with printable ASCII: nothing to trim.
      if (a < z && isPrintableAscii(b[a]) && isPrintableAscii(b[z - 1])) continue;
      while (a < z && isTrimAscii(b[a])) a++;
      while (z > a && isTrimAscii(b[z - 1])) z--;
      if (a < z && (isSpaceLead(b[a]) || isSpaceLead(lastCharLead(b, a, z)))) return false;
      if (a === z && f < F.USER) return false; // empty required id
      vs[f] = a;
      ve[f] = z;
    }
    let rank = -1;
    if (vs[F.RANK] >= 0) {
      rank = this.valNum[F.RANK];
      if (rank < 0 || rank > MAX_RANK) return false;
    }
    this.nonBlank++;
    if (!equalBytes(b, vs[F.TENANT], ve[F.TENANT], this.tenantBytes) || !equalBytes(b, vs[F.SURFACE], ve[F.SURFACE], this.surfaceBytes)) {
      this.skippedOther++;
    } else if (ts < this.p.dayStart || ts >= this.p.dayEnd) {
      this.skippedOutside++;
    } else if (this.p.countOnly) {
      this.counted++;
    } else {
      this.ts.push(ts);
      this.rank.push(rank);
      for (let k = 0; k < 4; k++) {
        const f = F.SESSION + k;
        const a = vs[f];
        const z = ve[f];
        let code: number;
        if (k >= 2 && a === z) code = -1;
        else if (this.prevCode[k] >= 0 && equalSpans(b, a, z, this.prevStart[k], this.prevEnd[k])) code = this.prevCode[k];
        else {
          code = this.dicts[k].codeOf(b, a, z);
          this.prevStart[k] = a;
          this.prevEnd[k] = z;
          this.prevCode[k] = code;
        }
        this.codes[k].push(code);
      }
    }
    return true;
  }

  finish(): ParsedBlock {
    const col = (k: number): CodedColumn => {
      const { codes, dict } = sortedRun(this.dicts[k].view(), this.codes[k].finish());
      return { codes: codes as Int32Array, dict };
    };
    return {
      lines: this.lines,
      nonBlank: this.nonBlank,
      skippedOtherTenantSurface: this.skippedOther,
      skippedOutsideDay: this.skippedOutside,
      events: this.ts.length + this.counted,
      tsMicros: this.ts.finish(),
      rank: this.rank.finish(),
      session: col(0),
      item: col(1),
      user: col(2),
      request: col(3),
      rejections: this.rejections,
    };
  }
}

/** The known field whose quoted name (closing quote included) starts at b[s], or F.NONE. */
function knownKey(b: Buffer, s: number, e: number): F {
  let f: F;
  switch (b[s]) {
    case 0x76 /* v */:
      f = F.V;
      break;
    case 0x74 /* t */:
      f = b[s + 1] === 0x73 ? F.TS : F.TENANT;
      break;
    case 0x73 /* s */:
      f = b[s + 1] === 0x75 ? F.SURFACE : F.SESSION;
      break;
    case 0x69 /* i */:
      f = F.ITEM;
      break;
    case 0x75 /* u */:
      f = F.USER;
      break;
    case 0x72 /* r */:
      f = b[s + 1] === 0x65 ? F.REQUEST : F.RANK;
      break;
    default:
      return F.NONE;
  }
  const name = FIELD_BYTES[f];
  if (s + name.length >= e || b[s + name.length] !== 0x22) return F.NONE;
  for (let k = 1; k < name.length; k++) if (b[s + k] !== name[k]) return F.NONE;
  return f;
}

/** Whether b[s, e) and b[ps, pe) hold the same bytes. */
function equalSpans(b: Buffer, s: number, e: number, ps: number, pe: number): boolean {
  if (e - s !== pe - ps) return false;
  for (let k = 0; k < e - s; k++) if (b[s + k] !== b[ps + k]) return false;
  return true;
}

/** Digits b[i], b[i+1] as a number, or a negative number when either is not a digit. */
function twoDigits(b: Buffer, i: number): number {
  const h = b[i] - 0x30;
  const l = b[i + 1] - 0x30;
  return h >= 0 && h <= 9 && l >= 0 && l <= 9 ? h * 10 + l : -1;
}

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * The common timestamp form, straight from bytes: `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with
 * years 1970..2199, as epoch microseconds (fraction digits beyond 6 truncated, as
 * parseRfc3339Micros). NaN for anything else, which parseRfc3339Micros then decides.
 */
function utcTsMicros(b: Buffer, s: number, e: number): number {
  if (e - s < 20 || b[s + 4] !== 0x2d || b[s + 7] !== 0x2d || b[s + 10] !== 0x54 || b[s + 13] !== 0x3a || b[s + 16] !== 0x3a) return NaN;
  const y1 = twoDigits(b, s);
  const y2 = twoDigits(b, s + 2);
  const month = twoDigits(b, s + 5);
  const day = twoDigits(b, s + 8);
  const hour = twoDigits(b, s + 11);
  const minute = twoDigits(b, s + 14);
  const second = twoDigits(b, s + 17);
  if (y1 < 19 || y1 > 21 || y2 < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59)
    return NaN;
  const year = y1 * 100 + y2;
  if (year < 1970) return NaN;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > DAYS_IN_MONTH[month] + (leap ? 1 : 0)) return NaN;
  let i = s + 19;
  let frac = 0;
  if (b[i] === 0x2e) {
    const f0 = ++i;
    while (i < e && b[i] >= 0x30 && b[i] <= 0x39) {
      if (i - f0 < 6) frac = frac * 10 + (b[i] - 0x30);
      i++;
    }
    if (i === f0) return NaN;
    for (let k = i - f0; k < 6; k++) frac *= 10;
  }
  if (i !== e - 1 || b[i] !== 0x5a /* Z */) return NaN;
  // Days since 1970-01-01 (H. Hinnant's days_from_civil; years >= 1970, so no negative eras).
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const days = era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
  return (days * 86400 + hour * 3600 + minute * 60 + second) * 1_000_000 + frac;
}

function equalBytes(b: Buffer, s: number, e: number, want: Buffer): boolean {
  if (e - s !== want.length) return false;
  for (let k = 0; k < want.length; k++) if (b[s + k] !== want[k]) return false;
  return true;
}

/** Lead byte of the last UTF-8 character of b[s, e). */
function lastCharLead(b: Buffer, s: number, e: number): number {
  let i = e - 1;
  while (i > s && (b[i] & 0xc0) === 0x80) i--;
  return b[i];
}

export interface ParseResult {
  parsed: ParsedBlock;
  /** With failFast: the first bad line of the block (line numbers are block-relative). */
  badLine: { line: number; rule: string } | null;
}

/** Parses one block; the same function runs on a worker or on the main thread. */
export function parseBlock(block: Uint8Array, params: ScanParams): ParseResult {
  const scanner = new BlockScanner(params);
  const badLine = scanner.scan(Buffer.from(block.buffer, block.byteOffset, block.byteLength));
  return { parsed: scanner.finish(), badLine };
}
