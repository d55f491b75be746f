/** `gates` in the config (issue 14): defaults (all drift thresholds off, allow_empty false), checks, error text naming the key. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load';
import { ARTIFACT_TYPES } from '../../src/engine/artifact-types';

const base = { raw_source: { type: 'fs', dir: 'raw' } };
const parse = (gates: unknown) => parseConfig({ ...base, gates }, '/srv/recsys', 'prod.json');

describe('gates config', () => {
  it('off by default: no thresholds for any type, empty artifacts and missing raw days refused', () => {
    const { gates } = parseConfig(base, '/srv/recsys');
    expect(gates.allow_empty).toBe(false);
    expect(Object.keys(gates.drift)).toEqual([...ARTIFACT_TYPES]);
    for (const type of ARTIFACT_TYPES) {
      expect(gates.drift[type]).toEqual({ max_row_shrink: null, min_key_overlap: null, min_top_n_overlap: null, top_n: 100 });
    }
  });

  it('thresholds per type; the others stay off', () => {
    const { gates } = parse({
      allow_empty: true,
      drift: { popularity: { max_row_shrink: 0.5, min_top_n_overlap: 0.2, top_n: 10 }, implicit: { min_key_overlap: 0 } },
    });
    expect(gates.allow_empty).toBe(true);
    expect(gates.drift.popularity).toEqual({ max_row_shrink: 0.5, min_key_overlap: null, min_top_n_overlap: 0.2, top_n: 10 });
    expect(gates.drift.implicit).toEqual({ max_row_shrink: null, min_key_overlap: 0, min_top_n_overlap: null, top_n: 100 });
    expect(gates.drift.cooc.max_row_shrink).toBeNull();
  });

  it.each([
    [{ drift: { popularity: { max_row_shrink: 1.5 } } }, 'gates.drift.popularity.max_row_shrink: expected a number in [0, 1], got 1.5'],
    [{ drift: { cooc: { min_key_overlap: -0.1 } } }, 'gates.drift.cooc.min_key_overlap: expected a number in [0, 1], got -0.1'],
    [{ drift: { popularity: { top_n: 0 } } }, 'gates.drift.popularity.top_n: expected an integer >= 1, got 0'],
    [{ drift: { cooc: { top_n: 5 } } }, 'gates.drift.cooc.top_n: only for ranked types (popularity): cooc rows have no rank'],
    [{ drift: { implicit: { min_top_n_overlap: 0.5 } } }, 'gates.drift.implicit.min_top_n_overlap: only for ranked types (popularity)'],
    [{ drift: { popularty: {} } }, 'unknown key "gates.drift.popularty" (did you mean "popularity"?)'],
    [{ drift: { popularity: { max_rows_shrink: 0.5 } } }, 'unknown key "gates.drift.popularity.max_rows_shrink" (did you mean "max_row_shrink"?)'],
    [{ allow_empty: 'yes' }, 'gates.allow_empty: expected a boolean, got a string of 3 characters'],
  ])('%j is a config error naming the key', (gates, text) => {
    expect(() => parse(gates)).toThrow(expect.objectContaining({ code: 'E_CONFIG', message: expect.stringContaining(text) }));
  });
});
