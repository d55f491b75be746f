import { describe, expect, it } from 'vitest';
import { compareUtf8 } from '../../../src/io/parse/utf8';
import { mulberry32 as rng } from '../../support/generate';

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

// Code units/points around every boundary that matters: UTF-8 length changes, the
// surrogate range, the BMP chars above it, astral chars, and lone surrogates.
const POOL: string[] = [
  'a',
  'b',
  'z',
  '\u0000',
  '\u007f',
  '\u0080',
  'é',
  '\u07ff',
  '\u0800',
  '\ud7ff',
  '\ue000',
  'ｚ',
  '\ufffd',
  '\uffff',
  String.fromCodePoint(0x10000),
  '𝄞',
  String.fromCodePoint(0x1d11f),
  '😀',
  String.fromCodePoint(0x10ffff),
  '\ud834',
  '\udd1e',
  '\udbff',
  '\udc00', // lone surrogates (encoded as U+FFFD)
];

function randomString(next: () => number): string {
  const len = Math.floor(next() * 6);
  let s = '';
  for (let i = 0; i < len; i++) s += POOL[Math.floor(next() * POOL.length)];
  return s;
}

describe('compareUtf8', () => {
  it('orders astral chars after every BMP char, unlike the default JS order', () => {
    expect(compareUtf8('𝄞clef', 'ｚ')).toBe(1);
    expect(compareUtf8('ｚ', '𝄞clef')).toBe(-1);
    expect('𝄞clef' < 'ｚ').toBe(true); // the JS order this comparator must not use
    expect(compareUtf8('𝄞clef', 'café')).toBe(1);
    expect(compareUtf8('<b>bold</b>', 'café')).toBe(-1);
    expect(compareUtf8('sku-1', 'sku-10')).toBe(-1);
    expect(compareUtf8('same', 'same')).toBe(0);
    expect(compareUtf8('', 'a')).toBe(-1);
    expect(compareUtf8('\ue000', '\ud800\udc00')).toBe(-1);
  });

  it('sorts like Buffer.compare', () => {
    const ids = ['ｚ', '𝄞clef', 'café', 'cafe', 'kids&toys', '<b>bold</b>', 'sku-0', '\uffff', '😀', 'é'];
    const expected = [...ids].sort(byBytes);
    expect([...ids].sort(compareUtf8)).toEqual(expected);
    expect([...ids].sort()).not.toEqual(expected);
  });

  it('agrees with Buffer.compare on random strings (seeded property test)', () => {
    const next = rng(20260101);
    for (let n = 0; n < 50_000; n++) {
      const a = randomString(next);
      // Half of the pairs share a prefix so the divergence lands everywhere, also inside pairs.
      const b = next() < 0.5 ? a.slice(0, Math.floor(next() * (a.length + 1))) + randomString(next) : randomString(next);
      const want = byBytes(a, b);
      const got = compareUtf8(a, b);
      if (got !== want) throw new Error(`compareUtf8(${JSON.stringify(a)}, ${JSON.stringify(b)}) = ${got}, want ${want}`);
      expect(compareUtf8(b, a)).toBe(-want || 0);
    }
  });

  it('treats lone surrogates as U+FFFD, like the UTF-8 encoder', () => {
    expect(compareUtf8('\ud800', '\ufffd')).toBe(0);
    expect(compareUtf8('x\ud834', 'x\ud834\udd1e')).toBe(-1);
    expect(compareUtf8('\udc00', '\ue000')).toBe(1);
  });
});
