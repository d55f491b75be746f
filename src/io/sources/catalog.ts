/**
 * Catalog loader for the content_sim artifact (docs/contract.md §5).
 *
 * CSV (RFC 4180, with a header) or JSON Lines. Rules:
 * - columns (header names trimmed, case-insensitive): `item_id` (aliases `itemid`, `id`),
 *   `tags` (alias `tag_list`), optional `namespace` (alias `surface`). When a header holds
 *   several names for one column, the primary name wins, then the first alias listed above
 *   (e.g. `id,item_id,tags` reads `item_id`); among equal names the leftmost wins.
 *   A missing `item_id` or `tags` column is a bad-input error naming the file.
 * - CSV tags are split on `|`, `,` or `;`; JSONL tags are an array of strings (elements are
 *   not split further). Each tag is trimmed and lower-cased (Unicode simple case mapping per
 *   code point, as Go's strings.ToLower: 'İ' → 'i', 'Σ' → 'σ' anywhere); empty tags dropped;
 *   duplicates removed keeping the first occurrence.
 * - item_id is trimmed; an empty item_id is a bad-input error naming file and line (checked
 *   before the namespace filter: a malformed row is malformed for every surface).
 * - a row whose trimmed namespace is non-empty and differs from the run's surface is skipped.
 * - the same item_id on several rows: their tags are MERGED in first-seen order (a catalog
 *   split over rows, e.g. one row per tag source, keeps all its tags; nothing is silently
 *   lost and the result does not depend on which row comes last).
 * - items left without tags are dropped.
 * - output sorted by item_id in UTF-8 byte order (compareUtf8).
 * - CSV strictness follows Go's encoding/csv: a bare `"` in an unquoted field, text after a
 *   closing quote, an unterminated quoted field, or a row whose field count differs from the
 *   header's is a bad-input error with its line; empty (or white-space-only) lines are skipped.
 * - the file must be valid UTF-8 (an optional BOM is removed); read errors are E_IO.
 *
 * The whole file is read at once: catalogs are bounded by max_items_per_artifact.
 *
 * `catalog import` (loadCatalogRecords) reads the same file with the same rules, and also
 * keeps items without tags and two optional columns/fields: `price` (a decimal number; CSV
 * empty cell or JSON null = none) and `created_at` (`YYYY-MM-DD` or an RFC 3339 timestamp;
 * empty/null = none). Duplicate rows of an item must not give it two different values.
 * content_sim (loadCatalog) never looks at those columns.
 */
import { isBlankLine, trimSpace } from '../parse/exposure-line';
import * as fs from 'node:fs';
import { badInput, ioError, isMissingPath, PipelineError, relativePathHint } from '../../errors';
import { compareUtf8 } from '../parse/utf8';

export type CatalogItem = { itemId: string; tags: string[] };
/** A catalog item for `catalog import`: price and created_at as written (validated), null when absent. */
export type CatalogRecord = CatalogItem & { price: string | null; createdAt: string | null };
type Extras = { price: string | null; createdAt: string | null };

const ITEM_ID_NAMES = ['item_id', 'itemid', 'id'];
const TAGS_NAMES = ['tags', 'tag_list'];
const NAMESPACE_NAMES = ['namespace', 'surface'];
const PRICE_NAMES = ['price'];
const CREATED_AT_NAMES = ['created_at'];
const DECIMAL_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}(:?\d{2})?)?)?$/;
const TAG_SPLIT_RE = /[|,;]/;
const ASCII_RE = /^[\x00-\x7f]*$/;
const CRLF_RE = /\r\n/g;

export function loadCatalog(path: string, format: 'csv' | 'jsonl', surface: string): CatalogItem[] {
  const text = readUtf8(path);
  const acc = new Accumulator(path, surface);
  if (format === 'csv') loadCsv(path, text, acc);
  else loadJsonl(path, text, acc);
  return acc.result();
}

/**
 * The catalog as `catalog import` writes it to item_tags: the rules of loadCatalog, plus
 * items without tags and the optional `price` and `created_at` (see the file comment).
 */
export function loadCatalogRecords(path: string, format: 'csv' | 'jsonl', surface: string): CatalogRecord[] {
  const text = readUtf8(path);
  const acc = new Accumulator(path, surface, true);
  if (format === 'csv') loadCsv(path, text, acc);
  else loadJsonl(path, text, acc);
  return acc.records();
}

/** A price cell/field as a decimal string numeric(18,6) takes (|price| < 10^12), or null. */
function priceOf(where: string, raw: unknown): string | null {
  if (raw === undefined || raw === null) return null;
  let text: string;
  if (typeof raw === 'number') text = String(raw);
  else if (typeof raw === 'string') text = trimSpace(raw);
  else throw badInput(where, 'price: must be a number');
  if (text === '') return null;
  if (!DECIMAL_RE.test(text) || !(Math.abs(Number(text)) < 1e12)) {
    throw badInput(where, `price: ${JSON.stringify(text)} is not a decimal number below 10^12`);
  }
  return text;
}

/** A created_at cell/field (`YYYY-MM-DD` or RFC 3339), or null. */
function createdAtOf(where: string, raw: unknown): string | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'string') throw badInput(where, 'created_at: must be a string');
  const text = trimSpace(raw);
  if (text === '') return null;
  if (!TIMESTAMP_RE.test(text) || Number.isNaN(Date.parse(text.replace(' ', 'T')))) {
    throw badInput(where, `created_at: ${JSON.stringify(text)} is not a date (YYYY-MM-DD) or an RFC 3339 timestamp`);
  }
  return text;
}

/** Collects rows, merging duplicates; keeps per item a Set for O(1) de-duplication. */
class Accumulator {
  private readonly items = new Map<string, { tags: string[]; seen: Set<string> } & Partial<Extras>>();
  constructor(
    private readonly path: string,
    private readonly surface: string,
    /** loadCatalogRecords: read price and created_at (`extras` of add). */
    readonly withExtras = false,
  ) {}

  add(line: number, rawItemId: string, namespace: string, rawTags: Iterable<string>, extras?: () => Extras): void {
    const itemId = trimSpace(rawItemId);
    if (itemId === '') throw badInput(`${this.path}:${line}`, 'item_id: empty');
    const ns = trimSpace(namespace);
    if (ns !== '' && ns !== this.surface) return;
    let entry = this.items.get(itemId);
    if (!entry) {
      entry = { tags: [], seen: new Set() };
      this.items.set(itemId, entry);
    }
    if (this.withExtras && extras) {
      const x = extras();
      for (const key of ['price', 'createdAt'] as const) {
        const value = x[key];
        if (value === null) continue;
        const had = entry[key];
        if (had !== undefined && had !== null && had !== value) {
          const column = key === 'price' ? 'price' : 'created_at';
          throw badInput(
            `${this.path}:${line}`,
            `${column}: ${JSON.stringify(value)} differs from ${JSON.stringify(had)} on an earlier row of item ${JSON.stringify(itemId)}`,
          );
        }
        entry[key] = value;
      }
    }
    for (const raw of rawTags) {
      const tag = lowerSimple(trimSpace(raw));
      if (tag === '' || entry.seen.has(tag)) continue;
      entry.seen.add(tag);
      entry.tags.push(tag);
    }
  }

  result(): CatalogItem[] {
    const out: CatalogItem[] = [];
    for (const [itemId, { tags }] of this.items) if (tags.length > 0) out.push({ itemId, tags });
    out.sort((a, b) => compareUtf8(a.itemId, b.itemId));
    return out;
  }

  /** Every item, with or without tags, with its price and created_at. */
  records(): CatalogRecord[] {
    const out: CatalogRecord[] = [];
    for (const [itemId, e] of this.items) out.push({ itemId, tags: e.tags, price: e.price ?? null, createdAt: e.createdAt ?? null });
    out.sort((a, b) => compareUtf8(a.itemId, b.itemId));
    return out;
  }
}

/** Lower-cases with the Unicode simple (1:1) mapping per code point, like Go's strings.ToLower. */
export function lowerSimple(s: string): string {
  if (ASCII_RE.test(s)) return s.toLowerCase();
  let out = '';
  for (const ch of s) {
    if (ch === '\u0130') {
      out += 'i'; // full mapping would give "i̇" (i + U+0307)
      continue;
    }
    // A lone character has no casing context, so final-sigma rules never apply.
    const lower = ch.toLowerCase();
    out += [...lower].length === 1 ? lower : ch;
  }
  return out;
}

function readUtf8(path: string): string {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(path);
  } catch (err) {
    const e = ioError('read catalog', path, err);
    throw isMissingPath(err) ? new PipelineError(e.code, e.exitCode, `${e.message} ${relativePathHint()}`) : e;
  }
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buf);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch {
    // Find the first offending line for the message.
    let line = 1;
    let start = 0;
    const strict = new TextDecoder('utf-8', { fatal: true });
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      const end = nl === -1 ? buf.length : nl;
      try {
        strict.decode(buf.subarray(start, end));
      } catch {
        break;
      }
      if (nl === -1) break;
      start = nl + 1;
      line++;
    }
    throw badInput(`${path}:${line}`, 'invalid UTF-8');
  }
}

// ---------------------------------------------------------------------------
// JSONL

function loadJsonl(path: string, text: string, acc: Accumulator): void {
  let lineNo = 0;
  let start = 0;
  while (start <= text.length) {
    let nl = text.indexOf('\n', start);
    if (nl === -1) nl = text.length;
    lineNo++;
    let line = text.slice(start, nl);
    start = nl + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (isBlankLine(line)) continue;
    const where = `${path}:${lineNo}`;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      throw badInput(where, 'invalid JSON');
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw badInput(where, 'not a JSON object');
    const r = o as Record<string, unknown>;
    if (r.item_id === undefined || r.item_id === null) throw badInput(where, 'item_id: required');
    if (typeof r.item_id !== 'string') throw badInput(where, 'item_id: must be a string');
    let namespace = '';
    if (r.namespace !== undefined && r.namespace !== null) {
      if (typeof r.namespace !== 'string') throw badInput(where, 'namespace: must be a string');
      namespace = r.namespace;
    }
    let tags: string[] = [];
    if (r.tags !== undefined && r.tags !== null) {
      if (!Array.isArray(r.tags) || !r.tags.every((t) => typeof t === 'string')) {
        throw badInput(where, 'tags: must be an array of strings');
      }
      tags = r.tags;
    }
    acc.add(lineNo, r.item_id, namespace, tags, () => ({ price: priceOf(where, r.price), createdAt: createdAtOf(where, r.created_at) }));
  }
}

// ---------------------------------------------------------------------------
// CSV

type CsvRecord = { line: number; fields: string[] };

/**
 * RFC 4180 records: `,` separates fields, CRLF or LF ends a record, a field that starts
 * with `"` is quoted (may hold `,`, `""` for a quote, and line breaks, kept as written).
 * A `\r` right before a line end (or the end of the text) outside quotes is dropped, and
 * CRLF inside a quoted field is read as LF (as Go's encoding/csv). `line` is the physical line
 * where the record starts.
 */
export function* parseCsv(path: string, text: string): Generator<CsvRecord> {
  const len = text.length;
  let i = 0;
  let line = 1;
  while (i < len) {
    const recordLine = line;
    const fields: string[] = [];
    for (;;) {
      // one field starting at i
      if (text.charCodeAt(i) === 34 /* " */) {
        const fieldLine = line;
        let value = '';
        let from = ++i;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q === -1) throw badInput(`${path}:${fieldLine}`, 'CSV: unterminated quoted field');
          line += countNewlines(text, i, q);
          if (text.charCodeAt(q + 1) === 34) {
            value += text.slice(from, q + 1);
            i = from = q + 2;
            continue;
          }
          value += text.slice(from, q);
          i = q + 1;
          break;
        }
        // As Go's encoding/csv: CRLF inside a quoted field is read as LF.
        fields.push(value.includes('\r\n') ? value.replace(CRLF_RE, '\n') : value);
        const c = text.charCodeAt(i);
        if (c === 13 /* \r */ && (i + 1 === len || text.charCodeAt(i + 1) === 10)) i++;
        else if (i < len && c !== 44 /* , */ && c !== 10 /* \n */) {
          throw badInput(`${path}:${line}`, 'CSV: unexpected text after closing quote');
        }
      } else {
        let j = i;
        while (j < len) {
          const c = text.charCodeAt(j);
          if (c === 44 || c === 10) break;
          if (c === 34) throw badInput(`${path}:${line}`, 'CSV: bare " in unquoted field');
          j++;
        }
        let end = j;
        // CR of a CRLF (or a CR at the very end of the text)
        if (end > i && text.charCodeAt(end - 1) === 13 && (j === len || text.charCodeAt(j) === 10)) end--;
        fields.push(text.slice(i, end));
        i = j;
      }
      // i is at ',', '\n' or end of text
      if (i < len && text.charCodeAt(i) === 44) {
        i++;
        if (i === len)
          fields.push(''); // trailing comma at end of file
        else continue;
      }
      if (i < len) {
        i++; // '\n'
        line++;
      }
      break;
    }
    yield { line: recordLine, fields };
  }
}

function countNewlines(text: string, from: number, to: number): number {
  let n = 0;
  for (let k = text.indexOf('\n', from); k !== -1 && k < to; k = text.indexOf('\n', k + 1)) n++;
  return n;
}

function findColumn(header: string[], names: string[]): number {
  for (const name of names) {
    const idx = header.indexOf(name);
    if (idx !== -1) return idx;
  }
  return -1;
}

function loadCsv(path: string, text: string, acc: Accumulator): void {
  let header: string[] | null = null;
  let itemCol = -1;
  let tagsCol = -1;
  let nsCol = -1;
  let priceCol = -1;
  let createdCol = -1;
  for (const rec of parseCsv(path, text)) {
    if (rec.fields.length === 1 && isBlankLine(rec.fields[0])) continue; // blank line
    if (header === null) {
      header = rec.fields.map((h) => h.trim().toLowerCase());
      itemCol = findColumn(header, ITEM_ID_NAMES);
      tagsCol = findColumn(header, TAGS_NAMES);
      nsCol = findColumn(header, NAMESPACE_NAMES);
      if (acc.withExtras) {
        priceCol = findColumn(header, PRICE_NAMES);
        createdCol = findColumn(header, CREATED_AT_NAMES);
      }
      if (itemCol === -1) throw badInput(path, 'missing column item_id (or itemid, id) in the header');
      if (tagsCol === -1) throw badInput(path, 'missing column tags (or tag_list) in the header');
      continue;
    }
    if (rec.fields.length !== header.length) {
      throw badInput(`${path}:${rec.line}`, `CSV: expected ${header.length} fields, got ${rec.fields.length}`);
    }
    const f = rec.fields;
    const where = `${path}:${rec.line}`;
    acc.add(rec.line, f[itemCol], nsCol === -1 ? '' : f[nsCol], f[tagsCol].split(TAG_SPLIT_RE), () => ({
      price: priceCol === -1 ? null : priceOf(where, f[priceCol]),
      createdAt: createdCol === -1 ? null : createdAtOf(where, f[createdCol]),
    }));
  }
  if (header === null) throw badInput(path, 'missing column item_id (or itemid, id) in the header');
}
