/**
 * Seeded generator of small adversarial raw exposure days (docs/contract.md §1), for property tests
 * against the reference. Everything derives from one seed (mulberry32), so a failure
 * reproduces from the seed printed in the test name.
 *
 * What it mixes in: several sessions per user, sessions shared by two users, anonymous
 * events (user_id missing, null, "" or blanks), repeated items within a session, identical
 * timestamps, users with a single event, ts written with offsets (+02:00, -05:00, +05:30, ...) that cross midnight,
 * 0/3/6/7 fraction digits, lowercase t/z, ids with < > & " \ and control characters,
 * non-ASCII (é, 日本), astral chars (𝄞, 😀), BMP chars above U+E000 (ｚ U+FF5A sorts
 * before astral chars in UTF-8 byte order but after them in UTF-16), U+2028, padded
 * white space around ids, events of another tenant/surface and events outside the day.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from '../../bench/gen';

/** mulberry32, the small seeded PRNG of the benchmark data (bench/gen.ts prng). */
export const mulberry32 = prng;

export class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from an empty list');
    // In range, so an element of xs (which may itself be undefined: pick([undefined, '0'])).
    return xs[this.int(xs.length)] as T;
  }
}

/** Id stems chosen to collide across every ordering boundary that matters. */
export const TRICKY_IDS: readonly string[] = [
  'sku-1',
  'sku-10',
  'sku-2',
  'SKU-1',
  'a',
  'b',
  'z',
  '<b>bold</b>',
  'kids&toys',
  'say "hi"',
  'back\\slash',
  'tab\tinside',
  'line\u2028sep',
  'café',
  'cafe',
  'é',
  '日本',
  '日本語',
  '𝄞clef',
  '😀',
  '😀😀',
  'ｚ',
  'ｚ2',
  '\ue000',
  '\uffff',
  'x\u0001y',
];

export interface GenOptions {
  tenant: string;
  surface: string;
  /** YYYY-MM-DD; events are mostly inside it. */
  day: string;
  /** Approximate number of lines. */
  events: number;
  /** Distinct named users (plus anonymous traffic). */
  users: number;
  /** Distinct items. */
  items: number;
  /** Largest session (events); sessions are smaller on average. */
  maxSessionEvents?: number;
  /** Fraction of lines of another tenant/surface, and outside the day. Default 0.03 each. */
  noise?: number;
  /**
   * Average length of an unknown "pad" field added to each line (ignored by the parser), to
   * make a day file big enough for several 8 MiB parse blocks. Default 0 (no pad field).
   */
  padBytes?: number;
}

const DAY_MS = 86_400_000;
const OFFSETS_MIN = [0, 0, 0, 120, -300, 330, 60, -60, 840, -720];

function idPool(rng: Rng, prefix: string, n: number): string[] {
  const out = new Set<string>();
  // Tricky stems first (as many as fit), then decorated / numbered ids.
  for (const t of TRICKY_IDS) {
    if (out.size >= n) break;
    if (rng.chance(0.7)) out.add(`${prefix}${t}`);
  }
  while (out.size < n) out.add(`${prefix}${rng.chance(0.3) ? rng.pick(TRICKY_IDS) : ''}${rng.int(n * 4)}`);
  return [...out];
}

/** White space that JS trim and Go's TrimSpace agree on. */
function pad(rng: Rng, id: string): string {
  if (!rng.chance(0.15)) return id;
  const ws = [' ', '  ', '\t', '\n', '\r\n', ' \t '];
  return `${rng.chance(0.5) ? rng.pick(ws) : ''}${id}${rng.chance(0.5) ? rng.pick(ws) : ''}`;
}

/** RFC 3339 text of `micros` (UTC) written at an offset, with a random number of fraction digits. */
export function formatTs(rng: Rng, micros: number): string {
  const offMin = rng.pick(OFFSETS_MIN);
  const local = micros + offMin * 60_000_000;
  const secs = Math.floor(local / 1_000_000);
  const sub = local - secs * 1_000_000;
  let text = new Date(secs * 1000).toISOString().slice(0, 19);
  if (rng.chance(0.05)) text = text.replace('T', 't');
  const frac = String(sub).padStart(6, '0');
  if (sub !== 0) {
    // Precision was chosen when `micros` was drawn; print exactly, sometimes with an extra digit (truncated on parse).
    text += '.' + (frac.endsWith('000') ? frac.slice(0, 3) : frac) + (rng.chance(0.2) ? String(rng.int(10)) : '');
  } else if (rng.chance(0.1)) {
    text += '.000';
  }
  if (offMin === 0 && rng.chance(0.8)) return text + (rng.chance(0.1) ? 'z' : 'Z');
  const sign = offMin < 0 ? '-' : '+';
  const a = Math.abs(offMin);
  return `${text}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/** A random UTC instant in µs: mostly inside [start, start + day), clustered near midnight. */
function drawMicros(rng: Rng, startMs: number, inside: boolean): number {
  // Exactly on the window's edges: 00:00:00.000000 and 23:59:59.999999 are inside,
  // the next day's 00:00:00.000000 and the previous 23:59:59.999999 are not.
  if (rng.chance(0.04)) {
    const endMicros = (startMs + DAY_MS) * 1000;
    if (inside) return rng.chance(0.5) ? startMs * 1000 : endMicros - 1;
    return rng.chance(0.5) ? endMicros : startMs * 1000 - 1;
  }
  let ms: number;
  if (inside) {
    const r = rng.next();
    if (r < 0.25)
      ms = startMs + rng.int(3 * 3600_000); // just after midnight
    else if (r < 0.5)
      ms = startMs + DAY_MS - 1 - rng.int(3 * 3600_000); // just before midnight
    else ms = startMs + rng.int(DAY_MS);
  } else {
    ms = rng.chance(0.5) ? startMs - 1 - rng.int(6 * 3600_000) : startMs + DAY_MS + rng.int(6 * 3600_000);
  }
  const secs = Math.floor(ms / 1000);
  const p = rng.next();
  const sub = p < 0.4 ? 0 : p < 0.7 ? (ms % 1000) * 1000 : (ms % 1000) * 1000 + rng.int(1000);
  return secs * 1_000_000 + sub;
}

interface Line {
  v: number;
  ts: string;
  tenant: string;
  surface: string;
  session_id: string;
  item_id: string;
  user_id?: string | null;
  request_id?: string;
  rank?: number;
  extra?: unknown;
}

/**
 * One day's raw lines (JSONL text, "\n"-terminated, with a few blank lines). Deterministic
 * in (seed, options).
 */
export function generateDayLines(seed: number, o: GenOptions): string {
  const rng = new Rng(seed);
  const startMs = Date.parse(`${o.day}T00:00:00Z`);
  const users = idPool(rng, 'u-', o.users);
  const items = idPool(rng, '', o.items);
  const maxSession = Math.max(1, o.maxSessionEvents ?? 12);
  const noise = o.noise ?? 0.03;
  const out: string[] = [];
  let sessionNo = 0;
  let lastMicros = startMs * 1000;

  while (out.length < o.events) {
    // A session: one user (or anonymous, or rarely shared by two users), a small item pool.
    const anonymous = rng.chance(0.2);
    const user = anonymous ? '' : rng.pick(users);
    const other = rng.chance(0.05) ? rng.pick(users) : user;
    const session = `s-${rng.chance(0.2) ? rng.pick(TRICKY_IDS) : ''}${sessionNo++}`;
    const pool = Array.from({ length: 1 + rng.int(6) }, () => rng.pick(items));
    const n = 1 + rng.int(maxSession);
    let t = drawMicros(rng, startMs, true);
    for (let k = 0; k < n && out.length < o.events; k++) {
      // Mostly increasing within a session, sometimes equal (ties), sometimes jumping back.
      const r = rng.next();
      if (r < 0.15)
        t = lastMicros; // a tie with the previous line, often another user's
      else if (r < 0.3) t = drawMicros(rng, startMs, true);
      else t += rng.int(5) * 1_000_000 + (rng.chance(0.5) ? 0 : rng.int(1000) * 1000);
      if (t >= (startMs + DAY_MS) * 1000) t = drawMicros(rng, startMs, true);
      let micros = t;
      let tenant = o.tenant;
      let surface = o.surface;
      const q = rng.next();
      if (q < noise) micros = drawMicros(rng, startMs, false);
      else if (q < 2 * noise) {
        if (rng.chance(0.5)) tenant = `${o.tenant}-other`;
        else surface = rng.chance(0.5) ? `${o.surface}2` : o.surface.toUpperCase();
      }
      lastMicros = micros;
      const line: Line = {
        v: 1,
        ts: formatTs(rng, micros),
        tenant: pad(rng, tenant),
        surface: pad(rng, surface),
        session_id: pad(rng, session),
        item_id: pad(rng, rng.pick(pool)),
      };
      // Now and then a user seen exactly once in the day (a session_seq row with no items).
      const u = rng.chance(0.02) ? `u-once-${out.length}` : k % 3 === 2 ? other : user;
      if (u !== '') line.user_id = pad(rng, u);
      else {
        const a = rng.int(4);
        if (a === 1) line.user_id = null;
        else if (a === 2) line.user_id = '';
        else if (a === 3) line.user_id = ' \t ';
      }
      if (rng.chance(0.5)) line.request_id = pad(rng, `req-${rng.int(1000)}`);
      if (rng.chance(0.5)) line.rank = rng.int(20);
      if (rng.chance(0.05)) line.extra = { nested: [1, 'x'] };
      let text = JSON.stringify(line);
      if (o.padBytes) {
        const pad = `"pad":"${'p'.repeat(rng.int(2 * o.padBytes))}"`;
        // first or last field: the parser must not depend on field order
        text = rng.chance(0.5) ? `{${pad},${text.slice(1)}` : `${text.slice(0, -1)},${pad}}`;
      }
      out.push(text);
      if (rng.chance(0.01)) out.push(rng.chance(0.5) ? '' : '   ');
    }
  }
  return out.join('\n') + '\n';
}

/** Writes `<dir>/<tenant>/<surface>/exposure.YYYY-MM-DD.jsonl` for each day. */
export function writeRawLayout(dir: string, tenant: string, surface: string, days: Record<string, string>): void {
  const folder = join(dir, tenant, surface);
  mkdirSync(folder, { recursive: true });
  for (const [day, text] of Object.entries(days)) writeFileSync(join(folder, `exposure.${day}.jsonl`), text);
}
