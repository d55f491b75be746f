/**
 * A slow, obviously-correct reference for the event-derived artifacts of docs/contract.md §5
 * (popularity, cooc, implicit, session_seq). Plain Maps keyed by strings, plain arrays,
 * `Buffer.compare` for "id asc". No dictionary codes, no typed arrays, no sharding:
 * nothing in here shares code or tricks with src/.
 *
 * The tests compare the engine's payloads against these with `toEqual`.
 */

/** An event as the reference sees it: already valid, normalised (ids trimmed), inside the day. */
export interface RefEvent {
  /** RFC 3339, any offset; compared through `tsMicros`. */
  ts: string;
  tenant: string;
  surface: string;
  session_id: string;
  item_id: string;
  /** '' or missing = anonymous. */
  user_id?: string;
  request_id?: string;
  rank?: number;
}

/** "asc" on ids: byte order of the UTF-8 encodings (docs/contract.md §5). */
export function compareIds(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** (count desc, id asc) */
function byCountDescThenId(a: [string, number], b: [string, number]): number {
  if (a[1] !== b[1]) return b[1] - a[1];
  return compareIds(a[0], b[0]);
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

// --- timestamps -----------------------------------------------------------------------

const RFC3339 = /^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([Zz])|([+-])(\d\d):(\d\d))$/;

/**
 * RFC 3339 → UTC epoch microseconds. Fraction digits beyond 6 are truncated.
 * Uses Date.UTC for the calendar; integer arithmetic for the rest.
 */
export function tsMicros(ts: string): number {
  const m = RFC3339.exec(ts);
  if (!m) throw new Error(`reference: not an RFC 3339 timestamp: ${ts}`);
  const [, y, mo, d, h, mi, s, frac, z, sign, oh, om] = m;
  const localMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  let offsetMinutes = 0;
  if (!z) offsetMinutes = (sign === '+' ? 1 : -1) * (Number(oh) * 60 + Number(om));
  const utcMs = localMs - offsetMinutes * 60_000;
  const micros = Number(((frac ?? '') + '000000').slice(0, 6));
  return utcMs * 1000 + micros;
}

const MICROS_PER_DAY = 86_400_000_000;

export function dayStart(day: string): number {
  return Date.parse(`${day}T00:00:00Z`) * 1000;
}

// --- raw JSONL → events -----------------------------------------------------------------

/** What the reference parser kept and skipped. */
export interface RefDay {
  events: RefEvent[];
  skippedOtherTenantSurface: number;
  skippedOutsideDay: number;
}

/**
 * Unicode White_Space (what Go's strings.TrimSpace, in the tool operators migrate from,
 * removes): unlike String.prototype.trim it includes U+0085 (NEL) and excludes U+FEFF
 * (a zero-width no-break space / BOM is not white space).
 */
const WHITE_SPACE = '\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000';
const TRIM = new RegExp(`^[${WHITE_SPACE}]+|[${WHITE_SPACE}]+$`, 'g');

export function trimWhiteSpace(s: string): string {
  return s.replace(TRIM, '');
}

/**
 * A tiny parser for *valid* raw lines (docs/contract.md §1): blank lines ignored, ids trimmed, an
 * empty user_id is anonymous, tenant/surface must equal the run's, ts must fall in the day.
 * Keeps input order (the canonical row order).
 */
export function parseRawDay(text: string, tenant: string, surface: string, day: string): RefDay {
  const start = dayStart(day);
  const out: RefDay = { events: [], skippedOtherTenantSurface: 0, skippedOutsideDay: 0 };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const o = JSON.parse(line);
    // Trimmed; a lone surrogate (a "\ud800" escape) becomes U+FFFD, as Go's JSON decoder makes it
    // and as Buffer.from encodes it, so two ids that publish as the same bytes are one id.
    const str = (v: unknown) => (typeof v === 'string' ? Buffer.from(trimWhiteSpace(v), 'utf8').toString('utf8') : '');
    const e: RefEvent = {
      ts: o.ts,
      tenant: str(o.tenant),
      surface: str(o.surface),
      session_id: str(o.session_id),
      item_id: str(o.item_id),
      user_id: str(o.user_id),
      request_id: str(o.request_id),
      rank: typeof o.rank === 'number' ? o.rank : undefined,
    };
    if (e.tenant !== tenant || e.surface !== surface) {
      out.skippedOtherTenantSurface++;
      continue;
    }
    const t = tsMicros(e.ts);
    if (t < start || t >= start + MICROS_PER_DAY) {
      out.skippedOutsideDay++;
      continue;
    }
    out.events.push(e);
  }
  return out;
}

// --- artifacts --------------------------------------------------------------------------

export interface RefLimits {
  max_items_per_artifact: number;
  min_cooc_support: number;
  max_neighbors_per_item: number;
  max_items_per_user: number;
}

export interface ItemCount {
  item_id: string;
  count: number;
}
export interface ItemScore {
  item_id: string;
  score: number;
}
export interface CoocRow {
  item_id: string;
  items: ItemCount[];
}
export interface UserRow {
  user_id: string;
  items: ItemScore[];
}

function exposureCounts(events: RefEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of events) increment(counts, e.item_id);
  return counts;
}

/** popularity: exposures per item; count desc, item_id asc; first max_items_per_artifact. */
export function refPopularity(events: RefEvent[], limits: RefLimits): ItemCount[] {
  const ranked = [...exposureCounts(events).entries()].sort(byCountDescThenId);
  return ranked.slice(0, limits.max_items_per_artifact).map(([item_id, count]) => ({ item_id, count }));
}

/** cooc, literally as docs/contract.md §5 words it. */
export function refCooc(events: RefEvent[], limits: RefLimits): CoocRow[] {
  // Per session, the set of distinct items.
  const sessions = new Map<string, Set<string>>();
  for (const e of events) {
    if (!sessions.has(e.session_id)) sessions.set(e.session_id, new Set());
    sessions.get(e.session_id)!.add(e.item_id);
  }
  // Every ordered pair (a, b), a ≠ b, of one session's set adds 1 to count[a][b].
  const count = new Map<string, Map<string, number>>();
  for (const items of sessions.values()) {
    for (const a of items) {
      for (const b of items) {
        if (a === b) continue;
        if (!count.has(a)) count.set(a, new Map());
        increment(count.get(a)!, b);
      }
    }
  }
  // Neighbours kept when count >= min_cooc_support; count desc, id asc; capped.
  let rows: CoocRow[] = [];
  for (const [a, neighbours] of count) {
    const kept = [...neighbours.entries()]
      .filter(([, c]) => c >= limits.min_cooc_support)
      .sort(byCountDescThenId)
      .slice(0, limits.max_neighbors_per_item)
      .map(([item_id, c]) => ({ item_id, count: c }));
    if (kept.length > 0) rows.push({ item_id: a, items: kept });
  }
  // More rows than max_items_per_artifact: keep the most exposed items' rows (ties: id asc).
  if (rows.length > limits.max_items_per_artifact) {
    const exposures = exposureCounts(events);
    rows = rows
      .map((r) => [r, exposures.get(r.item_id)!] as const)
      .sort((x, y) => byCountDescThenId([x[0].item_id, x[1]], [y[0].item_id, y[1]]))
      .slice(0, limits.max_items_per_artifact)
      .map(([r]) => r);
  }
  return rows.sort((x, y) => compareIds(x.item_id, y.item_id));
}

function userRows(scores: Map<string, Map<string, number>>, limits: RefLimits): UserRow[] {
  return [...scores.entries()]
    .sort((x, y) => compareIds(x[0], y[0]))
    .map(([user_id, items]) => ({
      user_id,
      items: [...items.entries()]
        .sort(byCountDescThenId)
        .slice(0, limits.max_items_per_user)
        .map(([item_id, score]) => ({ item_id, score })),
    }));
}

/** Events of each user (anonymous excluded), in input order. */
function eventsByUser(events: RefEvent[]): Map<string, RefEvent[]> {
  const byUser = new Map<string, RefEvent[]>();
  for (const e of events) {
    const u = e.user_id ?? '';
    if (u === '') continue;
    if (!byUser.has(u)) byUser.set(u, []);
    byUser.get(u)!.push(e);
  }
  return byUser;
}

/** implicit: score = the user's exposures of the item. */
export function refImplicit(events: RefEvent[], limits: RefLimits): UserRow[] {
  const scores = new Map<string, Map<string, number>>();
  for (const [user, evs] of eventsByUser(events)) {
    const items = new Map<string, number>();
    for (const e of evs) increment(items, e.item_id);
    scores.set(user, items);
  }
  return userRows(scores, limits);
}

/**
 * session_seq: each user's events ordered by ts (microseconds), ties by input order; every
 * consecutive pair adds 1 to the later event's item. Every user is listed, maybe with [].
 */
export function refSessionSeq(events: RefEvent[], limits: RefLimits): UserRow[] {
  const scores = new Map<string, Map<string, number>>();
  for (const [user, evs] of eventsByUser(events)) {
    const ordered = evs.map((e, inputOrder) => ({ e, t: tsMicros(e.ts), inputOrder })).sort((x, y) => (x.t !== y.t ? x.t - y.t : x.inputOrder - y.inputOrder));
    const items = new Map<string, number>();
    for (const { e } of ordered.slice(1)) increment(items, e.item_id);
    scores.set(user, items);
  }
  return userRows(scores, limits);
}

export const EVENT_KINDS = ['popularity', 'cooc', 'implicit', 'session_seq'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export function refPayload(kind: EventKind, events: RefEvent[], limits: RefLimits): unknown[] {
  switch (kind) {
    case 'popularity':
      return refPopularity(events, limits);
    case 'cooc':
      return refCooc(events, limits);
    case 'implicit':
      return refImplicit(events, limits);
    case 'session_seq':
      return refSessionSeq(events, limits);
  }
}

/** The payload key of each artifact type's blob, as docs/contract.md §5 fixes it (compared against, never derived from, the implementation). */
export const PAYLOAD_FIELD = { popularity: 'items', cooc: 'neighbors', implicit: 'users', content_sim: 'items', session_seq: 'users' } as const;
