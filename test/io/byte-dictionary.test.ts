/** byteOrder (multikey quicksort) against Buffer.compare, on seeded random byte strings. */
import { describe, expect, it } from 'vitest';
import { byteOrder, ByteDictionary } from '../../src/io/byte-dictionary';
import { Rng } from '../reference/generate';

function snapshotOf(values: Buffer[]) {
  const offsets = new Int32Array(values.length + 1);
  values.forEach((v, i) => (offsets[i + 1] = offsets[i] + v.length));
  return { arena: new Uint8Array(Buffer.concat(values)), offsets };
}

describe('byteOrder', () => {
  for (const seed of [1, 2, 3]) {
    it(`sorts like Buffer.compare: shared prefixes, duplicates, empty values, high bytes (seed ${seed})`, () => {
      const rng = new Rng(seed);
      const stems = ['', 'sku-', 's', 'sku-1', 'é', '\u0000', '\uffff'];
      const values = Array.from({ length: 3000 + rng.int(3000) }, () => {
        const tail = Array.from({ length: rng.int(8) }, () => rng.pick([0, 1, 0x30 + rng.int(10), 0x61 + rng.int(3), 0x7f, 0x80, 0xc3, 0xff]));
        return Buffer.concat([Buffer.from(rng.pick(stems)), Buffer.from(tail)]);
      });
      const order = byteOrder(snapshotOf(values));
      expect(new Set(order).size).toBe(values.length);
      for (let i = 1; i < order.length; i++) expect(Buffer.compare(values[order[i - 1]], values[order[i]])).toBeLessThanOrEqual(0);
    });
  }

  it('handles many equal values and sorted / reversed input', () => {
    const same = Array.from({ length: 5000 }, () => Buffer.from('abc'));
    expect(byteOrder(snapshotOf(same)).length).toBe(5000);
    const sorted = Array.from({ length: 5000 }, (_, i) => Buffer.from(String(i).padStart(6, '0')));
    expect([...byteOrder(snapshotOf(sorted))]).toEqual(sorted.map((_, i) => i));
    expect([...byteOrder(snapshotOf([...sorted].reverse()))]).toEqual(sorted.map((_, i) => sorted.length - 1 - i));
  });

  it('orders a ByteDictionary snapshot', () => {
    const d = new ByteDictionary();
    for (const v of ['b', 'a', 'ab', 'é', 'A']) d.codeOf(Buffer.from(v), 0, Buffer.byteLength(v));
    expect([...byteOrder(d.snapshot())]).toEqual([4, 1, 2, 0, 3]);
  });
});
