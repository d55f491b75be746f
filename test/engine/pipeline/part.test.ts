/**
 * The work split of an Indexed Job (src/engine/pipeline/part.ts): for any unit count U and
 * part count N, the parts are contiguous, in order, and together hold every unit exactly
 * once (checked against a slow reference that deals units out one by one); part sizes differ
 * by at most one; the flags and $JOB_COMPLETION_INDEX select a part or fail with exit 2.
 */
import { describe, expect, it } from 'vitest';
import type { ArtifactType } from '../../../src/engine/artifact-types';
import { partDays, workPartFromFlags, workPartOf } from '../../../src/engine/pipeline/part';
import { isPipelineError } from '../../../src/errors';

/** Reference: unit u belongs to the part I with ⌊I·U/N⌋ ≤ u < ⌊(I+1)·U/N⌋, found by scanning every I. */
function referencePart(u: number, total: number, count: number): number {
  for (let i = 0; i < count; i++) if (Math.floor((i * total) / count) <= u && u < Math.floor(((i + 1) * total) / count)) return i;
  return -1;
}

function usageCode(f: () => unknown): string | null {
  try {
    f();
  } catch (err) {
    if (isPipelineError(err)) return `${err.code}/${err.exitCode}`;
    throw err;
  }
  return null;
}

describe('workPartOf', () => {
  it('partitions the units into contiguous blocks in order, for every U ≤ 40 and N ≤ 45 (N > U included)', () => {
    for (let total = 0; total <= 40; total++) {
      const units = Array.from({ length: total }, (_, u) => u);
      for (let count = 1; count <= 45; count++) {
        const parts = Array.from({ length: count }, (_, i) => workPartOf(units, i, count));
        expect(parts.flat(), `U=${total} N=${count}`).toEqual(units); // every unit once, in order
        const sizes = parts.map((p) => p.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        parts.forEach((p, i) => {
          for (let k = 1; k < p.length; k++) expect(p[k]).toBe(p[k - 1]! + 1); // contiguous
          for (const u of p) expect(referencePart(u, total, count)).toBe(i);
        });
      }
    }
  });

  it('refuses an index outside 0..count-1', () => {
    expect(usageCode(() => workPartOf([1, 2], 2, 2))).toBe('E_USAGE/2');
    expect(usageCode(() => workPartOf([1, 2], -1, 2))).toBe('E_USAGE/2');
    expect(usageCode(() => workPartOf([1, 2], 0, 0))).toBe('E_USAGE/2');
  });
});

describe('partDays', () => {
  const days = ['2026-01-01', '2026-01-02', '2026-01-03'];
  const types: ArtifactType[] = ['popularity', 'cooc', 'implicit'];

  it('compute units are day × type, day-major: a day split between parts gives each some of its types', () => {
    for (let count = 1; count <= 12; count++) {
      const units = Array.from({ length: count }, (_, i) => partDays(days, types, { index: i, count }, true)).flatMap((p) =>
        p.flatMap((d) => d.types.map((t) => `${d.day} ${t}`)),
      );
      expect(units, `N=${count}`).toEqual(days.flatMap((d) => types.map((t) => `${d} ${t}`)));
    }
    expect(partDays(days, types, { index: 1, count: 2 }, true)).toEqual([
      { day: '2026-01-02', types: ['cooc', 'implicit'] },
      { day: '2026-01-03', types: ['popularity', 'cooc', 'implicit'] },
    ]);
  });

  it('ingest and validate units are days, each with every type', () => {
    expect(partDays(days, types, { index: 0, count: 2 }, false)).toEqual([{ day: '2026-01-01', types }]);
    expect(partDays(days, types, { index: 3, count: 4 }, false)).toEqual([{ day: '2026-01-03', types }]);
    expect(partDays(days, types, { index: 0, count: 4 }, false)).toEqual([]);
  });
});

describe('workPartFromFlags', () => {
  it('takes --index, or $JOB_COMPLETION_INDEX when only --count is given', () => {
    expect(workPartFromFlags({}, {})).toBeUndefined();
    expect(workPartFromFlags({ index: 1, count: 3 }, { JOB_COMPLETION_INDEX: '2' })).toEqual({ index: 1, count: 3 });
    expect(workPartFromFlags({ count: 3 }, { JOB_COMPLETION_INDEX: '2' })).toEqual({ index: 2, count: 3 });
  });

  it('is a usage error (exit 2) for --index ≥ --count, --index without --count, or no index at all', () => {
    expect(usageCode(() => workPartFromFlags({ index: 3, count: 3 }, {}))).toBe('E_USAGE/2');
    expect(usageCode(() => workPartFromFlags({ index: 0 }, {}))).toBe('E_USAGE/2');
    expect(usageCode(() => workPartFromFlags({ count: 3 }, {}))).toBe('E_USAGE/2');
    expect(usageCode(() => workPartFromFlags({ count: 3 }, { JOB_COMPLETION_INDEX: '3' }))).toBe('E_USAGE/2');
    expect(usageCode(() => workPartFromFlags({ count: 3 }, { JOB_COMPLETION_INDEX: 'x' }))).toBe('E_USAGE/2');
  });
});
