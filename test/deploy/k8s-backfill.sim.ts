/**
 * `npm run sim:k8s`: a 12-day backfill of generated data (RECSYS_SIM_EVENTS events a day,
 * default 100000) through the chart's three Jobs on the simulated cluster
 * (test/support/k8s-sim.ts: one pod per unit, 2 at a time, 1 worker each), against one
 * `run` of the same days on one machine with 2 workers. Prints every Job's pods, wall time
 * and CPU time, and fails unless the versions are the same.
 */
import { availableParallelism, loadavg } from 'node:os';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runHooks, simUnavailableReason } from '../support/k8s-sim';
import { startScenario, type Scenario } from '../support/k8s-scenario';
import { publishedLines } from '../support/cli-harness';
import { must, REPO_ROOT, tempDir } from '../support/helpers';

const DAYS = 12;
const EVENTS = Number(process.env.RECSYS_SIM_EVENTS ?? 100_000);
const unavailable = simUnavailableReason();
let sc: Scenario;
const work = tempDir('recsys-k8s-sim12-');

beforeAll(async () => {
  if (unavailable !== null) throw new Error(`npm run sim:k8s: ${unavailable}`);
  sc = await startScenario({ days: DAYS, events: EVENTS });
});
afterAll(async () => {
  await sc?.close();
  work.cleanup();
});

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
/** The 1, 5 and 15 minute load averages: how busy the machine was (its other work slows the pods). */
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

it(`12-day backfill, ${EVENTS} events a day: the versions of one run`, async () => {
  const loadBefore = load();
  const reference = await sc.reference('reference', 2);
  expect(reference.code, reference.stderr).toBe(0);
  const objects = sc.backfill('k8s');
  const started = performance.now();
  const results = await runHooks(objects, { objects, secrets: sc.secrets, appDir: REPO_ROOT, workDir: work.dir });
  const wall = performance.now() - started;
  expect(results.map((r) => r.status)).toEqual(['Complete', 'Complete', 'Complete']);
  const publish = must(must(results[2]).pods.find((p) => p.exitCode === 0));
  const equal = JSON.stringify(publishedLines(publish.stdout)) === JSON.stringify(reference.published);

  const rows = results.map((r) => {
    const cpu = r.pods.reduce((a, p) => a + p.cpuMs, 0);
    const parallelism = (objects.find((o) => o.metadata.name === r.name) as { spec: { parallelism?: number } } | undefined)?.spec.parallelism ?? 1;
    return `${r.name.padEnd(30)} ${String(r.pods.length).padStart(4)} ${String(parallelism).padStart(11)} ${s(r.wallMs).padStart(9)} ${s(cpu).padStart(9)} ${s(cpu / r.pods.length).padStart(11)}`;
  });
  const podCpu = results.flatMap((r) => r.pods).reduce((a, p) => a + p.cpuMs, 0);
  const pods = results.reduce((a, r) => a + r.pods.length, 0);
  const lines = [
    '',
    `k8s simulation: ${DAYS} days x ${EVENTS} events (${sc.start}..${sc.end}), 4 types; machine: ${availableParallelism()} cores, load average ${loadBefore} before, ${load()} after`,
    `${'job'.padEnd(30)} ${'pods'.padStart(4)} ${'parallelism'.padStart(11)} ${'wall'.padStart(9)} ${'CPU'.padStart(9)} ${'CPU/pod'.padStart(11)}`,
    ...rows,
    `${'all Jobs (in order)'.padEnd(30)} ${String(pods).padStart(4)} ${''.padStart(11)} ${s(wall).padStart(9)} ${s(podCpu).padStart(9)}`,
    `${'one run, 2 workers'.padEnd(30)} ${'1'.padStart(4)} ${''.padStart(11)} ${s(reference.wallMs).padStart(9)} ${s(reference.cpuMs).padStart(9)}`,
    `CPU of the Jobs / one run: ${(podCpu / reference.cpuMs).toFixed(2)}x; wall: ${(wall / reference.wallMs).toFixed(2)}x`,
    `versions: ${reference.published.length} (day, type) pairs, ${equal ? 'equal to' : 'DIFFERENT from'} one run`,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
  expect(equal).toBe(true);
});
