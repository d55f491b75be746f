import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests start worker pools of their own; two test files at a time fit a 2-core machine.
    maxWorkers: 2,
  },
});
