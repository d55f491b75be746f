import { defineConfig } from 'vitest/config';
import base from './vitest.config.mts';

/**
 * `npm run test:long`: the suites `npm test` runs at a smaller size, at full size. Today that
 * is the huge-line rows of the bad-input matrix at 100 MB (`npm test`: 20 MiB, which already
 * spans several parse blocks). About a minute on 2 cores and ~1 GB of temp space.
 */
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/e2e/reliability/bad-input-matrix.test.ts'],
    testNamePattern: /a single line of/,
    env: { RECSYS_TEST_HUGE_LINE_MIB: '100' },
  },
});
