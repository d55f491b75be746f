import { describe, expect, it } from 'vitest';
import { encodeCompact, encodePretty, quoteAll, quoteString } from '../../../src/io/artifacts/go-json';

describe('Go encoding/json string escaping', () => {
  it.each([
    ['plain', '"plain"'],
    ['a"b\\c', '"a\\"b\\\\c"'],
    ['\n\r\t\b\f', '"\\n\\r\\t\\b\\f"'],
    ['\u0000\u0001\u001f', '"\\u0000\\u0001\\u001f"'],
    ['<b>&</b>', '"\\u003cb\\u003e\\u0026\\u003c/b\\u003e"'],
    ['\u2028\u2029', '"\\u2028\\u2029"'],
    ['café 𝄞 \u007f', '"café 𝄞 \u007f"'],
    ['lone \ud800 x', '"lone \ufffd x"'],
  ])('%j', (input, out) => {
    expect(quoteString(input)).toBe(out);
  });

  it('agrees with JSON.stringify where Go does not differ', () => {
    for (let c = 0; c < 0x3000; c++) {
      const s = `x${String.fromCharCode(c)}y`;
      if ('<>&'.includes(String.fromCharCode(c)) || (c >= 0xd800 && c <= 0xdfff) || c === 0x2028 || c === 0x2029) continue;
      expect(quoteString(s)).toBe(JSON.stringify(s));
    }
  });
});

describe('quoteAll (a dictionary quoted from its UTF-8 bytes)', () => {
  it('gives quoteString of each value, byte for byte: plain ids, escapes, non-ASCII, U+2028, invalid UTF-8', () => {
    const values = ['sku-1', '', 'a"b', 'back\\slash', '<b>&', 'tab\there', 'é', '日本', 'line\u2028sep', '\u0001', '😀', 'x'.repeat(300)];
    const bytes = [...values.map((v) => Buffer.from(v)), Buffer.from([0x61, 0xff, 0x62]), Buffer.from([0xc3])];
    const offsets = new Int32Array(bytes.length + 1);
    let end = 0;
    bytes.forEach((b, i) => (offsets[i + 1] = end += b.length));
    const q = quoteAll({ arena: Buffer.concat(bytes), offsets });
    const got = bytes.map((_, i) => Buffer.from(q.bytes.subarray(q.offsets[i], q.offsets[i + 1])).toString('utf8'));
    expect(got).toEqual(bytes.map((b) => quoteString(b.toString('utf8'))));
    expect(q.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
  });
});

describe('layout', () => {
  const value = { a: 1, b: [], c: {}, d: [{ e: 'x', f: [1, 2] }], g: undefined, h: null, i: true, j: -0, k: 1.5e-7 };
  it('compact drops undefined fields, keeps key order', () => {
    expect(encodeCompact(value)).toBe('{"a":1,"b":[],"c":{},"d":[{"e":"x","f":[1,2]}],"h":null,"i":true,"j":0,"k":1.5e-7}');
  });
  it('pretty matches MarshalIndent(v, "", "  ")', () => {
    expect(encodePretty(value)).toBe(
      '{\n  "a": 1,\n  "b": [],\n  "c": {},\n  "d": [\n    {\n      "e": "x",\n      "f": [\n        1,\n        2\n      ]\n    }\n  ],\n  "h": null,\n  "i": true,\n  "j": 0,\n  "k": 1.5e-7\n}',
    );
  });
  it('round-trips through JSON.parse', () => {
    expect(JSON.parse(encodePretty(value))).toEqual(JSON.parse(encodeCompact(value)));
  });
});
