/**
 * The chart's Jobs run by the simulator of test/support/k8s-sim.ts (each pod in its own PID,
 * mount and UTS namespace, its command, environment and volumes taken from `helm template`),
 * against an S3 test server, on three generated days: the pods share nothing but the bucket.
 * Every backfill is compared with one `run` of the same days on one machine. Under CI=true
 * this file never skips: a machine where pods cannot run fails it. The 12-day version is
 * `npm run sim:k8s`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hookJobs, jobOfCronJob, runHooks, runJob, simUnavailableReason, type SimJobResult, type SimOptions } from '../support/k8s-sim';
import { startScenario, SURFACE, TENANT, type Scenario } from '../support/k8s-scenario';
import { must, REPO_ROOT, tempDir } from '../support/helpers';
import { publishedLines, type PublishedLine } from '../support/cli-harness';
import type { K8sObject } from '../support/helm';

const FILE = 'test/deploy/k8s-sim.test.ts';
const unavailable = simUnavailableReason();
if (unavailable !== null && process.env.CI !== 'true') console.warn(`${FILE}: skipped: ${unavailable}`);

describe.runIf(unavailable !== null && process.env.CI === 'true')('pods under CI', () => {
  it('can run here (CI=true never skips the simulation)', () => {
    expect.fail(`${FILE}: ${unavailable}`);
  });
});

/** What the publish pod that succeeded printed as published. */
function published(results: SimJobResult[]): PublishedLine[] {
  const publish = must(
    results.find((r) => r.name.endsWith('-publish')),
    'the publish Job',
  );
  return publishedLines(
    must(
      publish.pods.find((p) => p.exitCode === 0),
      'a publish pod that succeeded',
    ).stdout,
  );
}

const describeJobs = (results: SimJobResult[]) =>
  results
    .map(
      (r) =>
        `${r.name}: ${r.status} ${r.reason ?? ''}\n${r.pods.map((p) => `  ${p.name} exit ${p.exitCode} ${p.action}\n${p.stderr.slice(-2000)}`).join('\n')}`,
    )
    .join('\n');

describe.skipIf(unavailable !== null)('the chart on a simulated cluster', () => {
  let sc: Scenario;
  let reference: PublishedLine[];
  const work = tempDir('recsys-k8s-pods-');
  const sim = (objects: K8sObject[], extra: Partial<SimOptions> = {}): SimOptions => ({
    objects,
    secrets: sc.secrets,
    appDir: REPO_ROOT,
    workDir: work.dir,
    ...extra,
  });

  beforeAll(async () => {
    sc = await startScenario({ days: 3, events: 3000, surfaces: [SURFACE, 'search', 'bad'], badLine: { surface: 'bad', day: 1 } });
    const r = await sc.reference('reference', 1);
    if (r.code !== 0) throw new Error(`the one-machine run failed: ${r.stderr}`);
    reference = r.published;
    expect(reference.length).toBe(3 * 4);
  });
  afterAll(async () => {
    await sc?.close();
    work.cleanup();
  });

  it("a pod's mount points and writes stay in the pod: the host gains no folder or file", async () => {
    const tag = randomBytes(4).toString('hex');
    const mountPath = `/etc/recsys-sim-${tag}`; // missing on the host: the pod makes its mount point
    const written = `/recsys-sim-${tag}`;
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'probe' }, data: { 'k.txt': 'from the ConfigMap' } };
    const container = (user: number, readOnlyRootFilesystem: boolean) => ({
      name: 'probe',
      command: ['sh', '-c', `cat ${mountPath}/k.txt; echo; pwd; touch ${written}; echo "touch $?"`],
      securityContext: { runAsUser: user, readOnlyRootFilesystem },
      volumeMounts: [{ name: 'cfg', mountPath, readOnly: true }],
    });
    for (const [user, readOnly, touched] of [
      [0, false, 0], // root may write the pod's root, but only its own copy of it
      [10001, true, 1], // readOnlyRootFilesystem: nobody may
    ] as const) {
      const job = {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: `probe-${user}` },
        spec: {
          template: { spec: { restartPolicy: 'Never', containers: [container(user, readOnly)], volumes: [{ name: 'cfg', configMap: { name: 'probe' } }] } },
        },
      } as K8sObject;
      const r = await runJob(job, { objects: [configMap, job], secrets: {}, appDir: REPO_ROOT, workDir: work.dir });
      expect(r.status, describeJobs([r])).toBe('Complete');
      expect(must(r.pods[0]).stdout).toBe(`from the ConfigMap\n/app\ntouch ${touched}\n`);
    }
    expect([existsSync(mountPath), existsSync(written)]).toEqual([false, false]);
  });

  it('daily: index i runs `run --incremental` for the i-th pair on its own host; the next run has nothing to do', async () => {
    const objects = sc.daily('daily', [
      { tenant: TENANT, surface: SURFACE },
      { tenant: TENANT, surface: 'search' },
    ]);
    const cron = must(objects.find((o) => o.kind === 'CronJob'));
    const first = await runJob(jobOfCronJob(cron), sim(objects));
    expect(first.status, describeJobs([first])).toBe('Complete');
    const pod = (i: number) => must(first.pods.find((p) => p.index === i && p.exitCode === 0));
    expect([pod(0).hostname, pod(1).hostname]).toEqual([`${first.name}-0`, `${first.name}-1`]);
    expect(pod(0).stderr).toContain(`daily index 0: ${TENANT}/${SURFACE}`);
    expect(pod(1).stderr).toContain(`daily index 1: ${TENANT}/search`);
    expect(publishedLines(pod(0).stdout)).toEqual(reference);
    expect(publishedLines(pod(1).stdout).map((l) => l.day)).toContain(sc.end);
    // The checkpoints are in the bucket: the next night's pods (other hosts, fresh /tmp) know.
    const next = await runJob(jobOfCronJob(cron, new Date(Date.now() + 86_400_000)), sim(objects));
    expect(next.status, describeJobs([next])).toBe('Complete');
    for (const p of next.pods) expect(p.stdout + p.stderr).toContain('nothing to do');
  });

  it('backfill: the hooks run in the order ingest, compute, publish', () => {
    expect(hookJobs(sc.backfill('order')).map((j) => j.metadata.name)).toEqual([
      'sim-recsys-pipelines-ingest',
      'sim-recsys-pipelines-compute',
      'sim-recsys-pipelines-publish',
    ]);
  });

  // Units: 3 days for ingest, 3 × 4 = 12 for compute.
  for (const [label, ingest, compute] of [
    ['N = 1', 1, 1],
    ['N = 2', 2, 2],
    ['N > units', 5, 14],
  ] as const) {
    it(`backfill with ${label} (ingest ${ingest} pod(s), compute ${compute}) gives the versions of one run`, async () => {
      const prefix = `n-${ingest}-${compute}`;
      const objects = sc.backfill(prefix, { 'backfill.ingest.count': ingest, 'backfill.compute.count': compute });
      const results = await runHooks(objects, sim(objects));
      expect(
        results.map((r) => r.status),
        describeJobs(results),
      ).toEqual(['Complete', 'Complete', 'Complete']);
      expect(results.map((r) => r.pods.length)).toEqual([ingest, compute, 1]);
      expect(published(results)).toEqual(reference);
      // More pods than units: N - U parts are empty and exit 0 having done nothing.
      const empty = (r: SimJobResult) => r.pods.filter((p) => p.stdout.includes('nothing to do')).length;
      expect([empty(must(results[0])), empty(must(results[1]))]).toEqual([Math.max(0, ingest - 3), Math.max(0, compute - 12)]);
    });
  }

  /** Runs the backfill under `prefix` with RECSYS_FAULT=<point> in the first attempt of the given pods. */
  async function backfillWithFaults(prefix: string, faults: Record<string, { index: number | null; point: string }>) {
    const objects = sc.backfill(prefix);
    const results = await runHooks(
      objects,
      sim(objects, {
        inject: ({ job, index, attempt }) => {
          const f = faults[job];
          return f && f.index === index && attempt === 0 ? { RECSYS_FAULT: f.point } : undefined;
        },
      }),
    );
    expect(
      results.map((r) => r.status),
      describeJobs(results),
    ).toEqual(['Complete', 'Complete', 'Complete']);
    for (const r of results) {
      const f = faults[r.name];
      const killed = r.pods.filter((p) => p.exitCode === 137).map((p) => [p.index, p.attempt, p.action]);
      expect(killed, r.name).toEqual(f ? [[f.index, 0, 'Count']] : []);
      if (f) expect(r.pods.some((p) => p.index === f.index && p.attempt === 1 && p.exitCode === 0)).toBe(true);
    }
    expect(published(results)).toEqual(reference);
    return results;
  }

  it('an ingest pod and a compute pod SIGKILLed mid-way are retried, and the backfill converges', async () => {
    await backfillWithFaults('killed', {
      'sim-recsys-pipelines-ingest': { index: 1, point: 'after-partition-write' },
      'sim-recsys-pipelines-compute': { index: 5, point: 'after-compute' },
    });
  });

  it("a publish pod SIGKILLed while holding the lock is retried: the retry takes over its own Job's lock and converges", async () => {
    const results = await backfillWithFaults('killed-publisher', { 'sim-recsys-pipelines-publish': { index: null, point: 'after-record-write' } });
    const [killed, retry] = must(results[2]).pods;
    expect(must(retry).stderr).toContain(`took over the publisher lock left by pid`);
    expect(must(retry).stderr).toContain(`pod ${must(killed).name}) since`);
  });

  it('a second publisher of the same tenant/surface fails with E_LOCKED and leaves the manifest as it was', async () => {
    const prefix = 'two-publishers';
    const objects = sc.backfill(prefix, { 'backfill.publish.backoffLimit': 1 });
    const [ingest, compute, publish] = hookJobs(objects);
    for (const job of [must(ingest), must(compute)]) expect((await runJob(job, sim(objects))).status).toBe('Complete');
    // Hold the first publisher just before its first manifest swap; run a second publish Job meanwhile.
    const manifestKey = `${prefix}/registry/current/${TENANT}/${SURFACE}/manifest.json`;
    let reached!: () => void;
    const atSwap = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let held = false;
    sc.s3.beforePut = async (_bucket, key) => {
      if (key !== manifestKey || held) return;
      held = true;
      reached();
      await released;
    };
    try {
      const first = runJob(must(publish), sim(objects));
      await atSwap;
      const before = await sc.manifest(prefix);
      const second = await runJob({ ...must(publish), metadata: { ...must(publish).metadata, name: 'sim-second-publish' } }, sim(objects));
      expect(second.status).toBe('Failed');
      expect(second.reason).toBe('BackoffLimitExceeded');
      expect(second.pods.map((p) => p.exitCode)).toEqual([1, 1]);
      for (const p of second.pods) expect(p.stderr).toContain('E_LOCKED');
      expect(await sc.manifest(prefix)).toBe(before);
      release();
      const r = await first;
      expect(r.status, describeJobs([r])).toBe('Complete');
      expect(published([r])).toEqual(reference);
    } finally {
      sc.s3.beforePut = null;
      release();
    }
  });

  it('exit 3 fails only its index (no retry), and the later phases are not run', async () => {
    // demo/bad has one malformed line in its second day (startScenario's badLine).
    const objects = sc.backfill('bad-input', { 'backfill.surface': 'bad' });
    const results = await runHooks(objects, sim(objects));
    expect(results.map((r) => r.status)).toEqual(['Failed']);
    const ingest = must(results[0]);
    expect(ingest.reason).toBe('FailedIndexes');
    expect(ingest.failedIndexes).toEqual([1]);
    const bad = ingest.pods.filter((p) => p.index === 1);
    expect(bad.map((p) => [p.exitCode, p.action])).toEqual([[3, 'FailIndex']]);
    expect(must(bad[0]).stderr).toContain('E_BAD_INPUT');
    expect(ingest.pods.filter((p) => p.index !== 1).every((p) => p.exitCode === 0)).toBe(true);
  });

  it('exit 2 fails the whole Job at once', async () => {
    const objects = sc.backfill('config-error', { 'config.limits.max_events_per_run': -1 });
    const results = await runHooks(objects, sim(objects));
    expect(results.map((r) => [r.status, r.reason])).toEqual([['Failed', 'PodFailurePolicy']]);
    const failed = must(results[0]).pods.filter((p) => p.action === 'FailJob');
    expect(failed.length).toBeGreaterThanOrEqual(1);
    for (const p of failed) expect(p.exitCode).toBe(2);
    // No retry of any index after the Job failed.
    expect(must(results[0]).pods.every((p) => p.attempt === 0)).toBe(true);
  });
});
