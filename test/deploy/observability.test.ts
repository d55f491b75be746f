/**
 * deploy/observability/: the alert rules pass `promtool check rules` and their unit tests
 * (`promtool test rules`, one firing and one non-firing case per alert), and the rules and
 * the dashboard use only metrics the program defines, each documented in
 * docs/observability.md.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { METRIC } from '../../src/engine/ops/metrics';
import { REPO_ROOT } from '../support/helpers';
import { alertNames, metricsUsed, OBSERVABILITY_DIR as DIR, readText as read, RULE_TESTS, RULES } from '../support/observability-files';
import { PROMTOOL, promtoolSkipReason } from '../support/prom-servers';

const FILE = 'test/deploy/observability.test.ts';

describe.skipIf(promtoolSkipReason(FILE) !== null)('promtool', () => {
  const promtool = (...args: string[]) => spawnSync(PROMTOOL, args, { cwd: DIR, encoding: 'utf8' });

  it('check rules: the rules file is valid', () => {
    const r = promtool('check', 'rules', RULES);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('test rules: every alert case passes', () => {
    const r = promtool('test', 'rules', RULE_TESTS);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});

describe('rules, their tests and the dashboard', () => {
  it('each alert has a firing and a non-firing promtool case', () => {
    const cases = read(RULE_TESTS);
    const firing = new Set<string>();
    const quiet = new Set<string>();
    for (const m of cases.matchAll(/alertname: (\w+)\n\s*exp_alerts:( \[\])?/g)) (m[2] ? quiet : firing).add(m[1] ?? '');
    const alerts = alertNames();
    expect(alerts.length).toBeGreaterThanOrEqual(4);
    for (const alert of alerts) {
      expect(firing.has(alert), `${alert}: no firing case`).toBe(true);
      expect(quiet.has(alert), `${alert}: no non-firing case`).toBe(true);
    }
  });

  it('the rules and the dashboard use only metrics the program defines', () => {
    const defined = new Set<string>(Object.values(METRIC));
    expect(metricsUsed().filter((m) => !defined.has(m))).toEqual([]);
  });

  it('docs/observability.md documents every metric and every alert', () => {
    const doc = read(join(REPO_ROOT, 'docs', 'observability.md'));
    expect(Object.values(METRIC).filter((m) => !doc.includes(`\`${m}\``))).toEqual([]);
    expect(alertNames().filter((a) => !doc.includes(a))).toEqual([]);
  });
});
