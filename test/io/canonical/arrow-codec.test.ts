/**
 * The Arrow partition format: a canonical day round-trips through it, and a file written
 * elsewhere (unsorted dictionaries) decodes to the same rows with sorted dictionaries.
 */
import { describe, expect, it } from 'vitest';
import { must } from '../../support/helpers';
import { decodeCanonical, encodeCanonical } from '../../../src/io/canonical/arrow-codec';
import { CanonicalDayBuilder } from '../../../src/io/canonical/builder';
import { blockOf, expectSortedDictionaries, LINES, rowsOf } from './fixture';

describe('Arrow codec', () => {
  it('round-trips a day', () => {
    const b = new CanonicalDayBuilder();
    b.addBlock(blockOf(LINES), 'demo', 'home');
    const day = b.finish();
    expect(rowsOf(decodeCanonical(encodeCanonical(day), 'test'))).toEqual(rowsOf(day));
    const empty = new CanonicalDayBuilder().finish();
    expect(decodeCanonical(encodeCanonical(empty), 'empty').rows).toBe(0);
  });

  it('a partition written elsewhere, with an unsorted dictionary holding a value twice, decodes to sorted distinct values', () => {
    const b = new CanonicalDayBuilder();
    b.addBlock(blockOf(LINES.slice(0, 200)), 'demo', 'home');
    const day = b.finish();
    // Rewrite item_id's dictionary: reversed, with the first row's value repeated at the end;
    // rows of that value alternate between its two copies.
    const n = day.item.size;
    const dup = must(day.item.codes[0]);
    const order = [...Array(n).keys()].reverse();
    const values = [...order.map((c) => must(day.item.values[c])), must(day.item.values[dup])];
    const arena = Buffer.concat(values.map((v) => Buffer.from(v)));
    const offsets = new Int32Array(values.length + 1);
    values.forEach((v, i) => (offsets[i + 1] = must(offsets[i]) + Buffer.byteLength(v)));
    let flip = 0;
    const codes = Int32Array.from(day.item.codes, (c) => (c === dup && flip++ % 2 === 1 ? n : n - 1 - c));
    const foreign = { ...day, item: { ...day.item, codes, utf8: { arena: new Uint8Array(arena), offsets } } };
    const got = decodeCanonical(encodeCanonical(foreign), 'foreign.arrow');
    expect(flip).toBeGreaterThan(1);
    expect(got.item.size).toBe(n);
    expectSortedDictionaries(got);
    expect(rowsOf(got)).toEqual(rowsOf(day));
  });

  it('bytes that are not an Arrow file are a bad input naming them', () => {
    expect(() => decodeCanonical(new Uint8Array([1, 2, 3]), 'x.arrow')).toThrow(expect.objectContaining({ code: 'E_BAD_INPUT' }));
  });
});
