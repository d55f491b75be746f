/** The files of deploy/observability/ and the metric names they use. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './helpers';

export const OBSERVABILITY_DIR = join(REPO_ROOT, 'deploy', 'observability');
export const RULES = join(OBSERVABILITY_DIR, 'recsys-pipelines.rules.yml');
export const RULE_TESTS = join(OBSERVABILITY_DIR, 'recsys-pipelines.rules.test.yml');
export const DASHBOARD = join(OBSERVABILITY_DIR, 'recsys-pipelines.dashboard.json');

export const readText = (path: string) => readFileSync(path, 'utf8');

/** `recsys_pipelines_…` names in a text. */
export const metricNames = (text: string): Set<string> => new Set(text.match(/\brecsys_pipelines_[a-z_]+/g) ?? []);

/** The alert names of the rules file. */
export const alertNames = (): string[] => [...readText(RULES).matchAll(/^\s*- alert: (\w+)$/gm)].map((m) => m[1] ?? '');

/** The expressions of the dashboard's panels. */
export function dashboardExprs(): string[] {
  const dashboard = JSON.parse(readText(DASHBOARD)) as { panels: { targets?: { expr: string }[] }[] };
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

/** Every metric the rules or the dashboard use. */
export function metricsUsed(): string[] {
  return [...new Set([...metricNames(readText(RULES)), ...dashboardExprs().flatMap((e) => [...metricNames(e)])])].sort();
}
