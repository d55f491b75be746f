/**
 * Parses a block of raw JSONL lines into dictionary-coded columns (SPEC §1), on a worker
 * thread or the main thread. Runs per line:
 *
 * - fast path: a byte-level scanner for the common shape (one flat object, string and
 *   integer values, no escapes). It accepts only lines it fully understands AND that are
 *   valid; ids go straight from bytes to dictionary codes (ByteDictionary), so no JS
 *   string is created per id occurrence;
 * - slow path, for everything else: decode the line, `parseExposureLine` (JSON.parse),
 *   which is the authority on validity and on the rule reported.
 * A line the fast path accepts is one the slow path accepts with the same values; the
 * property test in test/io/exposure-scan.test.ts holds the two together.
 */
import { isUtf8 } from 'node:buffer';
import { ByteDictionary, ByteDictionarySnapshot } from './byte-dictionary';
import { isBlankLine, MAX_RANK, parseExposureLine, parseRfc3339Micros } from './exposure';
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
}

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
  tsMicros: Float64Array;
  rank: Int32Array;
  session: CodedColumn;
  item: CodedColumn;
  user: CodedColumn;
  request: CodedColumn;
  rejections: Rejection[];
}

const enum F {
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
  // Scratch for the fast path: start/end of each known field's value; -1 = absent, -2 = null.
  private readonly valStart = new Int32Array(F.N);
  private readonly valEnd = new Int32Array(F.N);
  private readonly valNum = new Float64Array(F.N);

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
      else {
        const ids = [e.sessionId, e.itemId, e.userId, e.requestId].map((s) => Buffer.from(s));
        this.append(e.tsMicros, e.rank, ids, [0, 0, 0, 0], ids.map((b) => b.length));
      }
    }
    return null;
  }

  private reject(reason: string, raw: string): { line: number; rule: string } | null {
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
    while (i < e && isWs(b[i])) i++;
    if (i === e) {
      // Only JSON white space: blank. (Other blank lines take the slow path.)
      return true;
    }
    if (b[i] !== 0x7b) return false;
    const vs = this.valStart;
    const ve = this.valEnd;
    vs.fill(-1);
    i++;
    while (i < e && isWs(b[i])) i++;
    if (b[i] === 0x7d) return false;
    for (;;) {
      if (b[i] !== 0x22) return false;
      const ks = ++i;
      while (i < e && b[i] !== 0x22) {
        if (b[i] === 0x5c || b[i] < 0x20) return false;
        i++;
      }
      if (i >= e) return false;
      const field = fieldOf(b, ks, i);
      i++;
      while (i < e && isWs(b[i])) i++;
      if (b[i] !== 0x3a) return false;
      i++;
      while (i < e && isWs(b[i])) i++;
      const c = b[i];
      if (c === 0x22) {
        const s0 = ++i;
        while (i < e && b[i] !== 0x22) {
          if (b[i] === 0x5c || b[i] < 0x20) return false;
          i++;
        }
        if (i >= e) return false;
        if (field === F.V || field === F.RANK) return false;
        if (field >= 0) {
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
        if (field >= 0) {
          if (field !== F.V && field !== F.RANK) return false;
          vs[field] = d0;
          this.valNum[field] = negative ? -n : n;
        }
      } else if (c === 0x6e && b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c) {
        i += 4;
        if (field >= 0) {
          if (field !== F.USER && field !== F.REQUEST && field !== F.RANK) return false;
          vs[field] = -2;
        }
      } else if (field < 0 && c === 0x74 && b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65) i += 4;
      else if (field < 0 && c === 0x66 && b[i + 1] === 0x61 && b[i + 2] === 0x6c && b[i + 3] === 0x73 && b[i + 4] === 0x65) i += 5;
      else return false;
      while (i < e && isWs(b[i])) i++;
      if (b[i] === 0x2c) {
        i++;
        while (i < e && isWs(b[i])) i++;
        continue;
      }
      if (b[i] === 0x7d) break;
      return false;
    }
    i++;
    while (i < e && isWs(b[i])) i++;
    if (i !== e) return false;

    // Validation: anything unusual goes to the slow path, which names the rule.
    if (vs[F.V] < 0 || this.valNum[F.V] !== 1) return false;
    if (vs[F.TS] < 0) return false;
    const ts = parseRfc3339Micros(b.toString('latin1', vs[F.TS], ve[F.TS]));
    if (ts === null) return false;
    for (const f of [F.TENANT, F.SURFACE, F.SESSION, F.ITEM, F.USER, F.REQUEST]) {
      if (vs[f] === -1 || vs[f] === -2) {
        if (f < F.USER) return false; // required
        vs[f] = ve[f] = s; // absent or null optional id: empty
        continue;
      }
      let a = vs[f];
      let z = ve[f];
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
    } else {
      this.ts.push(ts);
      this.rank.push(rank);
      for (let k = 0; k < 4; k++) {
        const f = F.SESSION + k;
        this.codes[k].push(k >= 2 && vs[f] === ve[f] ? -1 : this.dicts[k].codeOf(b, vs[f], ve[f]));
      }
    }
    return true;
  }

  finish(): ParsedBlock {
    const col = (k: number): CodedColumn => ({ codes: this.codes[k].finish(), dict: this.dicts[k].snapshot() });
    return {
      lines: this.lines,
      nonBlank: this.nonBlank,
      skippedOtherTenantSurface: this.skippedOther,
      skippedOutsideDay: this.skippedOutside,
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

function fieldOf(b: Buffer, s: number, e: number): number {
  const len = e - s;
  for (let f = 0; f < F.N; f++) {
    const name = FIELD_BYTES[f];
    if (name.length !== len) continue;
    let k = 0;
    while (k < len && b[s + k] === name[k]) k++;
    if (k === len) return f;
  }
  return -1;
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

/** The transferable buffers of a parsed block. */
export function parsedBlockTransferList(p: ParsedBlock): ArrayBuffer[] {
  const list: ArrayBuffer[] = [p.tsMicros.buffer as ArrayBuffer, p.rank.buffer as ArrayBuffer];
  for (const c of [p.session, p.item, p.user, p.request]) {
    list.push(c.codes.buffer as ArrayBuffer, c.dict.arena.buffer as ArrayBuffer, c.dict.offsets.buffer as ArrayBuffer);
  }
  return list;
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
