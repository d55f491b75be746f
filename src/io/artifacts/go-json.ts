/**
 * JSON encoding byte-compatible with Go's `encoding/json` (docs/contract.md §5): the artifact version
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
import { sharedBytes, sharedInt32 } from '../../engine/threads/shared-memory';
import type { ByteDictionarySnapshot } from '../parse/byte-dictionary';

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
        case 0x0a:
          rep = '\\n';
          break;
        case 0x0d:
          rep = '\\r';
          break;
        case 0x09:
          rep = '\\t';
          break;
        case 0x08:
          rep = '\\b';
          break;
        case 0x0c:
          rep = '\\f';
          break;
        default:
          rep = `\\u00${HEX[c >> 4]}${HEX[c & 15]}`;
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

/**
 * The values of a dictionary, each JSON-quoted, back to back with offsets: ids are escaped
 * once per dictionary, not per use. Shared arrays, so encode tasks on worker threads read
 * the same table without a copy.
 */
export interface QuotedStrings {
  bytes: Uint8Array;
  /** Quoted value i is bytes[offsets[i] .. offsets[i+1]). */
  offsets: Int32Array;
}

/** Plain ASCII that Go copies into a JSON string as it is (not " \\ < > & or a control character). */
const isPlainByte = (b: number) => b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c && b !== 0x3c && b !== 0x3e && b !== 0x26;

/**
 * quoteString of every value of a UTF-8 dictionary. A value of plain ASCII (nearly every
 * id) is copied between quotes straight from the bytes; any other is decoded (invalid
 * UTF-8 becoming U+FFFD, as when decoded to a string anywhere else) and quoted by
 * quoteString, so the bytes are the same either way.
 */
export function quoteAll(values: ByteDictionarySnapshot): QuotedStrings {
  const { arena, offsets: at } = values;
  const n = at.length - 1;
  const offsets = sharedInt32(n + 1);
  const escaped = new Map<number, Buffer>();
  for (let i = 0; i < n; i++) {
    let plain = true;
    for (let j = at[i]; j < at[i + 1] && plain; j++) plain = isPlainByte(arena[j]);
    let len = at[i + 1] - at[i] + 2;
    if (!plain) {
      const quoted = Buffer.from(quoteString(Buffer.from(arena.buffer, arena.byteOffset + at[i], at[i + 1] - at[i]).toString('utf8')));
      escaped.set(i, quoted);
      len = quoted.length;
    }
    offsets[i + 1] = offsets[i] + len;
  }
  const bytes = sharedBytes(offsets[n]);
  for (let i = 0; i < n; i++) {
    let o = offsets[i];
    const quoted = escaped.get(i);
    if (quoted) {
      quoted.copy(bytes, o);
      continue;
    }
    bytes[o++] = 0x22;
    for (let j = at[i]; j < at[i + 1]; j++) bytes[o++] = arena[j];
    bytes[o] = 0x22;
  }
  return { bytes, offsets };
}

const NEWLINE_INDENT: Buffer[] = [];
function newlineIndent(depth: number): Buffer {
  return (NEWLINE_INDENT[depth] ??= Buffer.from('\n' + '  '.repeat(depth)));
}

/**
 * Streaming JSON writer with Go's layout: compact as json.Marshal, or pretty as
 * json.MarshalIndent(v, "", "  ") (empty arrays/objects print as [] and {}).
 *
 * Output goes into 1 MiB chunks handed to `sink` as they fill (no copy; a chunk is never
 * touched again once handed over), so hashing or writing can stream and nothing builds a
 * giant string. Callers emit tokens; the writer places separators and indentation.
 */
export class JsonWriter {
  private buf: Buffer;
  private pos = 0;
  private depth = 0;
  /** Per depth: 1 while no element has been written yet. */
  private first = new Uint8Array(64);
  private afterKey = false;

  constructor(
    private readonly pretty: boolean,
    private readonly sink: (chunk: Buffer) => void,
    private readonly chunkSize = 1 << 20,
  ) {
    this.buf = Buffer.allocUnsafe(chunkSize);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(Math.max(n, this.chunkSize));
  }

  /** Hands the filled part of the current chunk to the sink. */
  flush(): void {
    if (this.pos > 0) this.sink(this.buf.subarray(0, this.pos));
    this.buf = Buffer.allocUnsafe(this.chunkSize);
    this.pos = 0;
  }

  private byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  private ascii(s: string): void {
    this.ensure(s.length);
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }

  /** Separator and indentation before a value (or key) at the current depth. */
  private beforeValue(): void {
    if (this.afterKey) {
      this.afterKey = false;
      return;
    }
    if (this.depth === 0) return;
    if (this.first[this.depth]) this.first[this.depth] = 0;
    else this.byte(0x2c);
    if (this.pretty) this.bytes(newlineIndent(this.depth));
  }

  /**
   * Writes one value whose bytes the caller lays out itself (a fast path for large, regular
   * payloads): separators/indentation before it are placed as for any value; `write`
   * then emits raw bytes at `depth` in this writer's layout (`pretty`).
   */
  rawValue(write: (w: this, pretty: boolean, depth: number) => void): this {
    this.beforeValue();
    write(this, this.pretty, this.depth);
    return this;
  }

  /** Non-negative integer digits, without allocating a string (raw writers). */
  rawUint(n: number): void {
    if (n < 10) {
      this.byte(48 + n);
      return;
    }
    if (!Number.isSafeInteger(n)) return this.ascii(numberText(n));
    let digits = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
    this.ensure(digits);
    let end = this.pos + digits;
    this.pos = end;
    for (let t = n; ;) {
      const q = Math.floor(t / 10);
      this.buf[--end] = 48 + (t - q * 10);
      if (q === 0) break;
      t = q;
    }
  }

  /** String i of a QuotedStrings table, raw (no separator). */
  rawQuoted(table: QuotedStrings, i: number): void {
    this.bytes(table.bytes, table.offsets[i], table.offsets[i + 1]);
  }

  /** Raw bytes (no separator). */
  bytes(b: Uint8Array, start = 0, end = b.length): void {
    const n = end - start;
    this.ensure(n);
    const buf = this.buf;
    let pos = this.pos;
    // A whole template of some length (pretty indentation) is one native copy; ids and
    // keys are short: a plain loop beats a native copy plus a subarray allocation.
    if (n >= 16 && start === 0 && end === b.length) {
      buf.set(b, pos);
      pos += n;
    } else if (n <= 64) for (let i = start; i < end; i++) buf[pos++] = b[i];
    else {
      buf.set(b.subarray(start, end), pos);
      pos += n;
    }
    this.pos = pos;
  }

  private open(ch: number): void {
    this.beforeValue();
    this.byte(ch);
    this.depth++;
    this.first[this.depth] = 1;
  }

  private close(ch: number): void {
    const empty = this.first[this.depth] === 1;
    this.depth--;
    if (this.pretty && !empty) this.bytes(newlineIndent(this.depth));
    this.byte(ch);
  }

  beginObject(): this {
    this.open(0x7b);
    return this;
  }
  endObject(): this {
    this.close(0x7d);
    return this;
  }
  beginArray(): this {
    this.open(0x5b);
    return this;
  }
  endArray(): this {
    this.close(0x5d);
    return this;
  }

  /** `"name":` (compact) or `"name": ` (pretty); the bytes are built once per name. */
  key(name: string): this {
    this.beforeValue();
    let k = this.keys.get(name);
    if (!k) this.keys.set(name, (k = Buffer.from(quoteString(name) + (this.pretty ? ': ' : ':'))));
    this.bytes(k);
    this.afterKey = true;
    return this;
  }
  private readonly keys = new Map<string, Buffer>();

  string(s: string): this {
    this.beforeValue();
    this.rawString(s);
    return this;
  }

  private rawString(s: string): void {
    const q = quoteString(s);
    this.ensure(q.length * 3);
    this.pos += this.buf.write(q, this.pos, 'utf8');
  }

  /** String i of a QuotedStrings table. */
  quoted(table: QuotedStrings, i: number): this {
    this.beforeValue();
    this.bytes(table.bytes, table.offsets[i], table.offsets[i + 1]);
    return this;
  }

  number(n: number): this {
    this.beforeValue();
    this.ascii(numberText(n));
    return this;
  }

  /** Any plain value: objects (insertion order, undefined fields omitted), arrays, strings, numbers, booleans, null. */
  value(v: unknown): this {
    if (typeof v === 'string') return this.string(v);
    if (typeof v === 'number') return this.number(v);
    if (v === null || typeof v === 'boolean') {
      this.beforeValue();
      this.ascii(String(v));
      return this;
    }
    if (Array.isArray(v)) {
      this.beginArray();
      for (const x of v) this.value(x);
      return this.endArray();
    }
    if (typeof v === 'object') {
      this.beginObject();
      for (const k of Object.keys(v)) {
        const x = (v as Record<string, unknown>)[k];
        if (x !== undefined) this.key(k).value(x);
      }
      return this.endObject();
    }
    throw new Error(`cannot encode ${typeof v} as JSON`);
  }
}

function numberText(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`cannot encode non-finite number ${n} as JSON`);
  return Object.is(n, -0) ? '0' : String(n);
}

function encode(value: unknown, pretty: boolean): string {
  const chunks: Buffer[] = [];
  const w = new JsonWriter(pretty, (c) => chunks.push(c), 1 << 16);
  w.value(value);
  w.flush();
  return Buffer.concat(chunks).toString('utf8');
}

/** Compact encoding, as Go's json.Marshal. */
export function encodeCompact(value: unknown): string {
  return encode(value, false);
}

/** Indented encoding, as Go's json.MarshalIndent(v, "", "  "). */
export function encodePretty(value: unknown): string {
  return encode(value, true);
}

/**
 * Streaming form of compactFromPretty: drops the white space outside strings from JSON text
 * handed over in chunks split anywhere (inside a string, between a backslash and the
 * character it escapes, inside a multi-byte UTF-8 sequence). The string and escape state
 * carries from one chunk to the next, so the concatenated output equals
 * compactFromPretty of the concatenated input.
 */
export class JsonCompactor {
  private inString = false;
  /** The previous chunk ended on the backslash of an escape inside a string. */
  private escaped = false;

  /**
   * Writes the compact bytes of `chunk` into `out` (at least chunk.length bytes; may be
   * `chunk` itself, as the output never runs ahead of the input) and returns their count.
   */
  push(chunk: Uint8Array, out: Uint8Array): number {
    const len = chunk.length;
    let n = 0;
    let i = 0;
    let inString = this.inString;
    if (this.escaped && len > 0) {
      out[n++] = chunk[i++];
      this.escaped = false;
    }
    // Two tight loops, one per state; the common bytes (> '"' outside strings, anything but
    // '"' and '\\' inside) take one comparison each.
    while (i < len) {
      if (!inString) {
        for (; i < len; i++) {
          const b = chunk[i];
          if (b > 0x22) out[n++] = b;
          else if (b === 0x22) {
            out[n++] = b;
            i++;
            inString = true;
            break;
          } else if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) out[n++] = b;
        }
      } else {
        for (; i < len; i++) {
          const b = chunk[i];
          out[n++] = b;
          if (b !== 0x22 && b !== 0x5c) continue;
          if (b === 0x22) {
            i++;
            inString = false;
            break;
          }
          // A backslash: the next byte (maybe in the next chunk) is copied as is, including \".
          if (++i < len) out[n++] = chunk[i];
          else this.escaped = true;
        }
      }
    }
    this.inString = inString;
    return n;
  }
}

/**
 * The compact form of JSON text in this module's layouts: drops the white space outside
 * strings in one byte pass (MarshalIndent output is Marshal output plus such white space).
 * Allocates one buffer of the input's size.
 */
export function compactFromPretty(text: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(text.length);
  return out.subarray(0, new JsonCompactor().push(text, out));
}
