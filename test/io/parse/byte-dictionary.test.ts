/** byteOrder (multikey quicksort) against Buffer.compare, on seeded random byte strings. */
import { describe, expect, it } from 'vitest';
import { byteOrder, ByteDictionary, mergeColumn, mergeSorted } from '../../../src/io/parse/byte-dictionary';
import { Rng } from '../../support/generate';
import { must, pairs } from '../../support/helpers';

function snapshotOf(values: Buffer[]) {
  const offsets = new Int32Array(values.length + 1);
  let end = 0;
  values.forEach((v, i) => (offsets[i + 1] = end += v.length));
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
      const inOrder = Array.from(order, (code) => must(values[code], 'a value per code'));
      for (const [previous, next] of pairs(inOrder)) expect(Buffer.compare(previous, next)).toBeLessThanOrEqual(0);
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
    expect([...byteOrder(d.view())]).toEqual([4, 1, 2, 0, 3]);
  });
});

describe('mergeSorted and mergeColumn (a day column from runs with sorted dictionaries)', () => {
  /** A sorted dictionary of distinct random values (shared prefixes, high bytes, empty value). */
  function sortedValues(rng: Rng, n: number): Buffer[] {
    const stems = ['', 'sku-', 's', 'sku-1', 'é', '\uffff'];
    const values = Array.from({ length: n }, () =>
      Buffer.concat([Buffer.from(rng.pick(stems)), Buffer.from(Array.from({ length: rng.int(4) }, () => rng.pick([0x30 + rng.int(3), 0x61, 0x80, 0xff])))]),
    );
    const distinct = [...new Map(values.map((v) => [v.toString('latin1'), v])).values()];
    return distinct.sort((a, b) => Buffer.compare(a, b));
  }

  for (const seed of [1, 2, 3, 4, 5]) {
    it(`seed ${seed}: the union in byte order, each value once, and every run's remap into it (0..9 runs)`, () => {
      const rng = new Rng(seed);
      const runs = Array.from({ length: rng.int(10) }, () => sortedValues(rng, rng.int(200)));
      const { merged, remaps } = mergeSorted(runs.map(snapshotOf));
      const want = [...new Map(runs.flat().map((v) => [v.toString('latin1'), v])).values()].sort((a, b) => Buffer.compare(a, b));
      const got = Array.from({ length: merged.offsets.length - 1 }, (_, i) => Buffer.from(merged.arena.subarray(merged.offsets[i], merged.offsets[i + 1])));
      expect(got).toEqual(want);
      runs.forEach((values, x) => expect([...must(remaps[x])]).toEqual(values.map((v) => want.findIndex((w) => w.equals(v)))));

      // mergeColumn: rows keep their order; each row's code is its value's rank; -1 stays null.
      const rows = runs.map((values) => Int32Array.from({ length: 30 }, () => (values.length === 0 || rng.chance(0.1) ? -1 : rng.int(values.length))));
      const column = mergeColumn(runs.map((values, x) => ({ rows: 30, codes: must(rows[x]), dict: snapshotOf(values) })));
      expect(column.codes.length).toBe(30 * runs.length);
      expect([...column.codes]).toEqual(rows.flatMap((codes, x) => [...codes].map((c) => (c < 0 ? -1 : must(remaps[x])[c]))));
    });
  }

  it('a run with codes null holds its one value on every row', () => {
    const column = mergeColumn([
      { rows: 3, codes: null, dict: snapshotOf([Buffer.from('t')]) },
      { rows: 2, codes: Int32Array.of(1, 0), dict: snapshotOf([Buffer.from('a'), Buffer.from('t')]) },
    ]);
    expect([...column.codes]).toEqual([1, 1, 1, 1, 0]);
    expect(Buffer.from(column.sorted.arena).toString()).toBe('at');
  });
});
