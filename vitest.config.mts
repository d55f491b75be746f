import { defineConfig } from 'vitest/config';

/**
 * A deadlock guard, not a speed budget: a test that never ends fails with its name after this
 * long instead of hanging the run. No test comes near it, on a quiet machine or a busy one
 * (`npm test` passes with two other CPU-bound processes on a 2-core machine), so no test sets
 * a timeout of its own and nothing asserts how long a step took.
 */
const DEADLOCK_GUARD_MS = 15 * 60_000;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // As root: the checkout is made enterable for the other users tests run the CLI as.
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: DEADLOCK_GUARD_MS,
    hookTimeout: DEADLOCK_GUARD_MS,
    // One process per test file: the in-process CLI (test/support/cli-harness.ts) may change
    // the working directory and tests may set RECSYS_WORKER_FAULT for the pools they start,
    // which must not leak into another file (worker_threads pools share both).
    pool: 'forks',
    // Tests start worker pools of their own; two test files at a time fit a 2-core machine.
    maxWorkers: 2,
  },
});
