import { defineConfig } from 'vitest/config';
import base from './vitest.config.mts';

/**
 * `npm run sim:k8s`: the 12-day backfill on the simulated cluster (test/deploy/k8s-backfill.sim.ts),
 * printing pods, wall time and CPU time against one `run`. A few minutes on 2 cores; needs
 * root (unshare). RECSYS_SIM_EVENTS sets the events per day (default 100000).
 */
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/deploy/*.sim.ts'],
  },
});
