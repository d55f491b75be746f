import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.mts';

/**
 * `npm run test:long`: the suites `npm test` runs at a smaller size, at full size. Today that
 * is the huge-line rows of the bad-input matrix at 100 MB (`npm test`: 20 MiB, which already
 * spans several parse blocks). Takes a few minutes and ~1 GB of temp space.
 */
export default mergeConfig(
  base,
  defineConfig({
    test: {
      include: ['test/e2e/reliability/bad-input-matrix.test.ts'],
      testNamePattern: /a single line of/,
      env: { RECSYS_TEST_HUGE_LINE_MIB: '100' },
    },
  }),
);
