/**
 * The metrics against the real servers from Debian's packages (scripts/prom-test-servers.sh):
 * a run pushes to the Pushgateway and writes a textfile that node_exporter serves, `status`
 * writes its textfile too, Prometheus scrapes both. Then every metric the alert rules and the
 * dashboard use is in Prometheus, from both ways out where the run sends it, with the values
 * of the run summary; every dashboard expression and rule evaluates. A failed run after it
 * keeps the last success in both ways out and fires RunFailed and PublishBlocked.
 *
 * The scope is a tenant of its own (the sample data rewritten), so the shared servers' other
 * series never match; its Pushgateway group and textfiles are removed at the end. Waits poll
 * the servers (scraped every second) with a generous bound; nothing sleeps for a fixed time.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC } from '../../src/engine/ops/metrics';
import { cli as cliAsync, runArgs, summaryRows } from '../support/cli-harness';
import { SAMPLE_CATALOG, SAMPLE_RAW, tempDir } from '../support/helpers';
import { dashboardExprs, metricsUsed } from '../support/observability-files';
import { pollUntil, PROM, promSkipReason, query, type Sample } from '../support/prom-servers';

const FILE = 'test/e2e/observability.test.ts';
const skip = await promSkipReason(FILE);

/** Metrics only `status --metrics` writes (textfile, so job "node"); the others come from the run, both ways. */
const STATUS_METRICS = new Set<string>([
  METRIC.status,
  METRIC.manifestUpdated,
  METRIC.manifestAge,
  METRIC.manifestMaxAge,
  METRIC.currentArtifactOk,
  METRIC.currentArtifactWindowEnd,
  METRIC.currentArtifactDataAge,
  METRIC.currentArtifactSize,
]);
const PUSHED = 'recsys_pipelines'; // job label of the Pushgateway's groups (honor_labels)
const TEXTFILE = 'node'; // job label of node_exporter's scrape

describe.skipIf(skip !== null)('metrics in a real Prometheus (Pushgateway + node_exporter textfile)', () => {
  const tenant = `e2e${randomBytes(4).toString('hex')}`;
  const runTextfile = join(PROM.textfileDir, `recsys-${tenant}-home-run.prom`);
  const statusTextfile = join(PROM.textfileDir, `recsys-${tenant}-home-status.prom`);
  let tmp: { dir: string; cleanup: () => void };
  let config = '';
  let limited = '';

  beforeAll(() => {
    tmp = tempDir('recsys-prom-e2e-');
    const raw = join(tmp.dir, 'raw', tenant, 'home');
    mkdirSync(raw, { recursive: true });
    for (const name of readdirSync(join(SAMPLE_RAW, 'demo', 'home'))) {
      const text = readFileSync(join(SAMPLE_RAW, 'demo', 'home', name), 'utf8');
      writeFileSync(join(raw, name), text.replaceAll('"tenant":"demo"', `"tenant":"${tenant}"`));
    }
    const cfg = {
      raw_source: { type: 'fs', dir: join(tmp.dir, 'raw') },
      out_dir: join(tmp.dir, 'out'),
      artifact_kinds: ['popularity', 'cooc', 'implicit', 'content_sim', 'session_seq'],
      catalog: { path: SAMPLE_CATALOG, format: 'csv' },
      limits: { max_neighbors_per_item: 5, max_items_per_artifact: 100000, min_cooc_support: 1, max_items_per_user: 100000 },
    };
    config = join(tmp.dir, 'config.json');
    writeFileSync(config, JSON.stringify(cfg));
    limited = join(tmp.dir, 'limited.json');
    writeFileSync(limited, JSON.stringify({ ...cfg, limits: { ...cfg.limits, max_events_per_run: 10 } }));
  });

  afterAll(async () => {
    rmSync(runTextfile, { force: true });
    rmSync(statusTextfile, { force: true });
    await fetch(`${PROM.pushgateway}/metrics/job/${PUSHED}/command/run/tenant/${tenant}/surface/home`, { method: 'DELETE' }).catch(() => undefined);
    tmp?.cleanup();
  });

  /** Every recsys_pipelines_* sample of this tenant, as `name{labels without job/instance}` → value, per job. */
  async function scopeSamples(): Promise<Map<string, Map<string, number>>> {
    const byJob = new Map<string, Map<string, number>>();
    for (const s of await query(`{__name__=~"recsys_pipelines_.+",tenant="${tenant}"}`)) {
      const { __name__, job = '', instance, ...labels } = s.metric;
      void instance;
      const key = `${__name__}${JSON.stringify(Object.fromEntries(Object.entries(labels).sort()))}`;
      if (!byJob.has(job)) byJob.set(job, new Map());
      byJob.get(job)!.set(key, s.value);
    }
    return byJob;
  }

  /** `run` of the tenant over the two sample days on two workers, pushing to the Pushgateway and writing the textfile. */
  const runBothWaysOut = (cfg: string, extra: string[] = []) =>
    cliAsync(
      runArgs(cfg, '2026-01-01', '2026-01-02', [...extra, '--pushgateway', PROM.pushgateway, '--metrics-textfile', runTextfile], { tenant, workers: 2 }),
    );

  const one = async (expr: string): Promise<Sample[]> => query(expr);
  const valueOf = async (expr: string): Promise<number | undefined> => (await one(expr))[0]?.value;

  it('a run and status: every metric of the rules and the dashboard, both ways out, equal to the run summary', async () => {
    const started = Date.now() / 1000;
    const run = await runBothWaysOut(config, ['--log-format', 'json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toContain('warning');
    const status = await cliAsync(['status', '--config', config, '--tenant', tenant, '--surface', 'home', '--metrics-textfile', statusTextfile]);
    expect(status.code, status.stderr).toBe(0);

    // What the run reported: the summary table, the published sizes, the stage times of the JSON log.
    const rows = summaryRows(run.stdout);
    expect(rows.map((r) => r.day)).toEqual(['2026-01-01', '2026-01-02']);
    const sum = (f: (r: (typeof rows)[number]) => number) => rows.reduce((a, r) => a + f(r), 0);
    const lastSizes = new Map<string, number>();
    for (const m of run.stdout.matchAll(/^\s+2026-01-02\s+(\S+)\s+[0-9a-f]{64}\s+(\d+) bytes$/gm)) lastSizes.set(m[1] ?? '', Number(m[2]));
    expect(lastSizes.size).toBe(5);
    const stageMs = new Map<string, number>();
    for (const line of run.stderr.split('\n').filter(Boolean)) {
      const log = JSON.parse(line) as { event: string; stage: string; ms: number };
      if (log.event === 'stage_done') stageMs.set(log.stage, (stageMs.get(log.stage) ?? 0) + log.ms);
    }

    // Every metric the rules and the dashboard use, from each way out that sends it.
    const used = metricsUsed();
    expect(used.length).toBeGreaterThanOrEqual(15);
    const samples = await pollUntil('every used metric from the Pushgateway and from node_exporter', async () => {
      const s = await scopeSamples();
      const has = (job: string, metric: string) => [...(s.get(job)?.keys() ?? [])].some((k) => k.startsWith(metric + '{'));
      const complete = used.every((m) => has(TEXTFILE, m) && (STATUS_METRICS.has(m) || has(PUSHED, m)));
      return complete ? s : undefined;
    });

    // node_exporter read every file of its folder (ours are well-formed and hold no duplicate series).
    expect(await valueOf(`node_textfile_scrape_error{job="${TEXTFILE}"}`)).toBe(0);

    // The two ways out carry the same run: equal values series by series.
    const pushed = samples.get(PUSHED)!;
    const node = samples.get(TEXTFILE)!;
    for (const [key, value] of pushed) expect(node.get(key), key).toBe(value);

    const v = (metric: string, labels: Record<string, string> = {}) =>
      pushed.get(`${metric}${JSON.stringify(Object.fromEntries(Object.entries({ tenant, surface: 'home', command: 'run', ...labels }).sort()))}`);
    expect(v(METRIC.lastRunSuccess)).toBe(1);
    expect(v(METRIC.lastSuccessTimestamp)).toBeGreaterThanOrEqual(Math.floor(started));
    expect(v(METRIC.lastSuccessTimestamp)).toBeLessThanOrEqual(Date.now() / 1000);
    expect(v(METRIC.days, { outcome: 'completed' })).toBe(2);
    expect(v(METRIC.days, { outcome: 'failed' })).toBe(0);
    expect(v(METRIC.events, { outcome: 'used' })).toBe(sum((r) => r.events));
    expect(v(METRIC.events, { outcome: 'skipped_other_tenant_surface' })).toBe(sum((r) => r.skippedTenantSurface));
    expect(v(METRIC.events, { outcome: 'skipped_outside_day' })).toBe(sum((r) => r.skippedOutsideDay));
    expect(v(METRIC.events, { outcome: 'rejected' })).toBe(sum((r) => r.rejected));
    for (const [type, bytes] of lastSizes) {
      expect(v(METRIC.artifactSize, { type }), type).toBe(bytes);
      expect(v(METRIC.artifactsPublished, { type }), type).toBe(2);
    }
    for (const [stage, ms] of stageMs) {
      // The log rounds each day's stage to a millisecond.
      expect(Math.abs(v(METRIC.stageDuration, { stage })! * 1000 - ms), stage).toBeLessThanOrEqual(1);
    }
    expect(v(METRIC.workers)).toBe(2);
    expect(v(METRIC.failures, { code: 'E_LIMIT' })).toBe(0);
    expect(v(METRIC.blockedPublishes, { reason: 'gate' })).toBe(0);

    const st = (metric: string, labels: Record<string, string> = {}) =>
      node.get(`${metric}${JSON.stringify(Object.fromEntries(Object.entries({ tenant, surface: 'home', ...labels }).sort()))}`);
    expect(st(METRIC.status, { state: 'fresh' })).toBe(1);
    expect(st(METRIC.manifestUpdated)).toBeGreaterThanOrEqual(Math.floor(started));
    for (const [type, bytes] of lastSizes) {
      expect(st(METRIC.currentArtifactSize, { type }), type).toBe(bytes);
      expect(st(METRIC.currentArtifactWindowEnd, { type }), type).toBe(Date.parse('2026-01-03T00:00:00Z') / 1000);
    }

    // Every dashboard expression evaluates (for this scope, with data); every rule is healthy.
    for (const expr of dashboardExprs()) {
      const scoped = expr.replaceAll('$tenant', tenant).replaceAll('$surface', 'home');
      await expect(query(scoped), scoped).resolves.toBeDefined();
    }
    const rules = await pollUntil('the rules evaluated at least once', async () => {
      const res = (await (await fetch(`${PROM.prometheus}/api/v1/rules`)).json()) as {
        data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
      };
      const all = res.data.groups.flatMap((g) => g.rules);
      return all.length > 0 && all.every((r) => r.health !== 'unknown') ? all : undefined;
    });
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`)).toEqual([]);
  }, 300_000);

  it('a failed run: last success kept both ways, failure recorded, RunFailed and PublishBlocked fire', async () => {
    const pushedSuccess = `${METRIC.lastSuccessTimestamp}{tenant="${tenant}",command="run",job="${PUSHED}"}`;
    const nodeSuccess = `${METRIC.lastSuccessTimestamp}{tenant="${tenant}",command="run",job="${TEXTFILE}"}`;
    const before = await pollUntil('the first run in Prometheus', () => valueOf(pushedSuccess));
    const run = await runBothWaysOut(limited);
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toContain('[E_LIMIT]');
    await pollUntil('the failed run from both ways out', async () => {
      const failed = await one(`${METRIC.lastRunSuccess}{tenant="${tenant}",command="run"} == 0`);
      return failed.length === 2 ? failed : undefined;
    });
    expect(await valueOf(pushedSuccess)).toBe(before);
    expect(await valueOf(nodeSuccess)).toBe(before);
    for (const job of [PUSHED, TEXTFILE]) {
      expect(await valueOf(`${METRIC.failures}{tenant="${tenant}",job="${job}",code="E_LIMIT"}`), job).toBe(1);
      expect(await valueOf(`${METRIC.blockedPublishes}{tenant="${tenant}",job="${job}",reason="limit"}`), job).toBe(1);
      expect(await valueOf(`${METRIC.lastFailureTimestamp}{tenant="${tenant}",job="${job}"}`), job).toBeGreaterThanOrEqual(before);
    }
    for (const alert of ['RecsysPipelinesRunFailed', 'RecsysPipelinesPublishBlocked']) {
      await pollUntil(`${alert} firing`, async () => {
        const firing = await one(`ALERTS{alertname="${alert}",alertstate="firing",tenant="${tenant}"}`);
        return firing.length > 0 ? firing : undefined;
      });
    }
  }, 300_000);
});
