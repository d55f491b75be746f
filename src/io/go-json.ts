/**
 * JSON encoding byte-compatible with Go's `encoding/json` (SPEC §5): the artifact version
 * is a SHA-256 over these bytes, so one differing escape changes every version.
 *
 * Differences from JSON.stringify: `<` `>` `&` become \u003c \u003e \u0026, U+2028/U+2029
 * become \u2028/\u2029, invalid surrogates become U+FFFD (\ufffd escaped as raw UTF-8 by Go).
 * Numbers: Go prints float64 with the same shortest-round-trip digits and the same
 * exponent thresholds (1e-6, 1e21) as JS, so String(n) matches for finite values.
 *
 * Values are plain objects (keys in insertion order), arrays, strings, finite numbers,
 * booleans and null; `undefined` object fields are omitted (Go's `omitempty` for our use).
 */

// Characters that need escaping: control chars, quote, backslash, <, >, &, U+2028/9, lone surrogates.
const NEEDS_ESCAPE = /[\u0000-\u001f"\\<>&\u2028\u2029\ud800-\udfff]/;
const HEX = '0123456789abcdef';

export function quoteString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  let out = '"';
  let runStart = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | null = null;
    if (c < 0x20) {
      switch (c) {
        case 0x0a: rep = '\\n'; break;
        case 0x0d: rep = '\\r'; break;
        case 0x09: rep = '\\t'; break;
        case 0x08: rep = '\\b'; break;
        case 0x0c: rep = '\\f'; break;
        default: rep = `\\u00${HEX[c >> 4]}${HEX[c & 15]}`;
      }
    } else if (c === 0x22) rep = '\\"';
    else if (c === 0x5c) rep = '\\\\';
    else if (c === 0x3c) rep = '\\u003c';
    else if (c === 0x3e) rep = '\\u003e';
    else if (c === 0x26) rep = '\\u0026';
    else if (c === 0x2028) rep = '\\u2028';
    else if (c === 0x2029) rep = '\\u2029';
    else if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++; // a valid pair is emitted as raw UTF-8
        continue;
      }
      rep = '\ufffd';
    }
    if (rep !== null) {
      out += s.slice(runStart, i) + rep;
      runStart = i + 1;
    }
  }
  return out + s.slice(runStart) + '"';
}

function numberText(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`cannot encode non-finite number ${n} as JSON`);
  return Object.is(n, -0) ? '0' : String(n);
}

/** Compact encoding, as Go's json.Marshal. */
export function encodeCompact(value: unknown): string {
  const parts: string[] = [];
  writeCompact(value, parts);
  return parts.join('');
}

function writeCompact(value: unknown, out: string[]): void {
  if (typeof value === 'string') out.push(quoteString(value));
  else if (typeof value === 'number') out.push(numberText(value));
  else if (value === null) out.push('null');
  else if (typeof value === 'boolean') out.push(value ? 'true' : 'false');
  else if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      writeCompact(value[i], out);
    }
    out.push(']');
  } else if (typeof value === 'object') {
    out.push('{');
    let first = true;
    for (const key of Object.keys(value as object)) {
      const v = (value as Record<string, unknown>)[key];
      if (v === undefined) continue;
      if (!first) out.push(',');
      first = false;
      out.push(quoteString(key), ':');
      writeCompact(v, out);
    }
    out.push('}');
  } else throw new Error(`cannot encode ${typeof value} as JSON`);
}

/** Indented encoding, as Go's json.MarshalIndent(v, "", "  "): empty arrays/objects as [] / {}. */
export function encodePretty(value: unknown): string {
  const parts: string[] = [];
  writePretty(value, parts, '\n');
  return parts.join('');
}

function writePretty(value: unknown, out: string[], nl: string): void {
  if (Array.isArray(value)) {
    if (value.length === 0) return void out.push('[]');
    const inner = nl + '  ';
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      out.push(i > 0 ? ',' + inner : inner);
      writePretty(value[i], out, inner);
    }
    out.push(nl, ']');
  } else if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value as object).filter((k) => (value as Record<string, unknown>)[k] !== undefined);
    if (keys.length === 0) return void out.push('{}');
    const inner = nl + '  ';
    out.push('{');
    for (let i = 0; i < keys.length; i++) {
      out.push(i > 0 ? ',' + inner : inner, quoteString(keys[i]), ': ');
      writePretty((value as Record<string, unknown>)[keys[i]], out, inner);
    }
    out.push(nl, '}');
  } else writeCompact(value, out);
}
