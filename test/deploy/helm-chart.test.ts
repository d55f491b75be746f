/**
 * deploy/helm/recsys-pipelines with a real helm binary (unpacked from a devDependency, see
 * test/support/helm.ts), no cluster: `helm lint`, `helm template` of both examples, every
 * rendered object validated against the Kubernetes schemas (kubernetes-models), and the
 * properties docs/kubernetes.md promises, read from the rendered objects: the daily CronJob
 * never overlaps itself, the backfill phases run in order, podFailurePolicy follows the exit
 * codes of docs/cli.md, no credential reaches a ConfigMap, and the pods run as non-root on a
 * read-only root filesystem, with the command the Dockerfile's image provides.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config/load';
import { artifactTypeOf } from '../../src/engine/artifact-types';
import { CHART_DIR, EXAMPLES_DIR, helm, renderChart, templateChart, type K8sObject } from '../support/helm';
import { execForm, lastValue, parseDockerfile } from '../support/dockerfile';
import { must, REPO_ROOT } from '../support/helpers';

const DAILY = join(EXAMPLES_DIR, 'daily.yaml');
const BACKFILL = join(EXAMPLES_DIR, 'backfill.yaml');
const CONTAINER = 'recsys-pipelines';

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered objects are read field by field */
type Any = any;

/** Validates one object with the kubernetes-models class of its apiVersion/kind. */
function validate(o: K8sObject): void {
  const group = o.apiVersion.includes('/') ? o.apiVersion : `v1`;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(`kubernetes-models/${group}/${o.kind}`) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = must(mod[o.kind], `kubernetes-models class ${o.apiVersion} ${o.kind}`);
  new Model(o).validate();
}

const list = (objects: K8sObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`);

/** The Job specs of the rendered objects: Jobs, and the jobTemplate of each CronJob. */
function jobSpecs(objects: K8sObject[]): Array<{ name: string; spec: Any }> {
  return objects.flatMap((o: Any) =>
    o.kind === 'Job' ? [{ name: o.metadata.name, spec: o.spec }] : o.kind === 'CronJob' ? [{ name: o.metadata.name, spec: o.spec.jobTemplate.spec }] : [],
  );
}

const valuesOf = (file: string) => parseYaml(readFileSync(file, 'utf8'));

/** Exit codes and meanings from the table of docs/cli.md ("| `3` | a failure a retry cannot fix …"). */
function documentedExitCodes(): Map<number, string> {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'cli.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Exit codes'));
  const codes = new Map<number, string>();
  for (const m of section.matchAll(/^\| `(\d)` \| (.+) \|$/gm)) codes.set(Number(m[1]), m[2] ?? '');
  return codes;
}

describe('helm lint', () => {
  for (const [name, files] of [
    ['default values', []],
    ['examples/daily.yaml', [DAILY]],
    ['examples/backfill.yaml', [BACKFILL]],
  ] as const) {
    it(`passes --strict with ${name}`, () => {
      const r = helm(['lint', '--strict', CHART_DIR, ...files.flatMap((f) => ['-f', f])]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    });
  }
});

describe('rendered objects', () => {
  const daily = renderChart({ valuesFiles: [DAILY], release: 'recsys-pipelines' });
  const backfill = renderChart({ valuesFiles: [BACKFILL], release: 'recsys-pipelines-backfill' });
  const defaults = renderChart();

  it('daily example: the ConfigMap and the CronJob', () => {
    expect(list(daily)).toEqual(['ConfigMap/recsys-pipelines', 'CronJob/recsys-pipelines-daily']);
  });

  it('backfill example: the ConfigMap and the ingest, compute and publish Jobs', () => {
    expect(list(backfill)).toEqual([
      'ConfigMap/recsys-pipelines-backfill',
      'Job/recsys-pipelines-backfill-ingest',
      'Job/recsys-pipelines-backfill-compute',
      'Job/recsys-pipelines-backfill-publish',
    ]);
  });

  it('every object is valid against the Kubernetes schemas', () => {
    for (const o of [...daily, ...backfill, ...defaults]) expect(() => validate(o), `${o.kind}/${o.metadata.name}`).not.toThrow();
  });

  it('the schema check can fail: a bad podFailurePolicy action and a string count are refused', () => {
    const job = structuredClone(must(backfill.find((o) => o.kind === 'Job'))) as Any;
    job.spec.podFailurePolicy.rules[0].action = 'Retry';
    expect(() => validate(job)).toThrow(/action/);
    const job2 = structuredClone(must(backfill.find((o) => o.kind === 'Job'))) as Any;
    job2.spec.completions = '12';
    expect(() => validate(job2)).toThrow(/completions/);
  });

  it('the config in each ConfigMap is one the program accepts', () => {
    for (const o of [...daily, ...backfill, ...defaults].filter((o) => o.kind === 'ConfigMap')) {
      const json = (o as Any).data['config.json'] as string;
      expect(() => parseConfig(JSON.parse(json), '/tmp', `${o.metadata.name}/config.json`)).not.toThrow();
    }
  });
});

describe('the daily CronJob', () => {
  const values = valuesOf(DAILY);
  const objects = renderChart({ valuesFiles: [DAILY], release: 'recsys-pipelines' });
  const cron = must(objects.find((o) => o.kind === 'CronJob')) as Any;
  const job = cron.spec.jobTemplate.spec;

  it('never runs beside a late run of itself, and has resources', () => {
    expect(cron.spec.concurrencyPolicy).toBe('Forbid');
    expect(cron.spec.schedule).toBe(values.daily.schedule);
    const c = job.template.spec.containers[0];
    expect(c.resources.requests.cpu).toBeDefined();
    expect(c.resources.requests.memory).toBeDefined();
    expect(c.resources.limits.memory).toBeDefined();
  });

  it('is one Indexed Job with one index per tenant/surface pair, in the order of the values', () => {
    expect(job.completionMode).toBe('Indexed');
    expect(job.completions).toBe(values.daily.pairs.length);
    expect(job.parallelism).toBe(Math.min(values.daily.parallelism, values.daily.pairs.length));
    const cm = must(objects.find((o) => o.kind === 'ConfigMap')) as Any;
    const lines = (cm.data['daily-pairs'] as string).trimEnd().split('\n');
    expect(lines).toEqual(
      values.daily.pairs.map((p: Any) => [p.tenant, p.surface, p.start ?? values.daily.start, ...(p.segment ? [p.segment] : [])].join(' ')),
    );
    const script = job.template.spec.containers[0].command.join(' ');
    expect(script).toContain('run --incremental');
    expect(script).toContain('JOB_COMPLETION_INDEX');
  });

  it('refuses a pair whose ids would not survive the pairs file', () => {
    const r = templateChart({ valuesFiles: [DAILY], setJson: { 'daily.pairs': [{ tenant: 'a b', surface: 'home' }] } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('daily.pairs[0].tenant');
  });
});

describe('the backfill Jobs', () => {
  const values = valuesOf(BACKFILL);
  const jobs = renderChart({ valuesFiles: [BACKFILL] }).filter((o) => o.kind === 'Job') as Any[];
  const byPhase = (phase: string) =>
    must(
      jobs.find((j) => j.spec.template.spec.containers[0].args[0] === phase),
      `the ${phase} Job`,
    );

  it('run in the order ingest, compute, publish: post-install/upgrade hooks of increasing weight', () => {
    const phases = ['ingest', 'compute', 'publish'].map(byPhase);
    const weights = phases.map((j) => Number(j.metadata.annotations['helm.sh/hook-weight']));
    for (const j of phases) expect(j.metadata.annotations['helm.sh/hook']).toBe('post-install,post-upgrade');
    expect(weights[0]).toBeLessThan(must(weights[1]));
    expect(weights[1]).toBeLessThan(must(weights[2]));
  });

  it('split the units of docs/cli.md: ingest one index per day, compute one per day × type, publish one pod', () => {
    const days = (Date.parse(values.backfill.end) - Date.parse(values.backfill.start)) / 86_400_000 + 1;
    const types = new Set((values.config.artifact_kinds as string[]).map((k) => artifactTypeOf(k)));
    const ingest = byPhase('ingest');
    const compute = byPhase('compute');
    const publish = byPhase('publish');
    expect(ingest.spec.completionMode).toBe('Indexed');
    expect(ingest.spec.completions).toBe(days);
    expect(compute.spec.completionMode).toBe('Indexed');
    expect(compute.spec.completions).toBe(days * types.size);
    for (const j of [ingest, compute]) {
      const args = j.spec.template.spec.containers[0].args as string[];
      expect(args[args.indexOf('--count') + 1]).toBe(String(j.spec.completions));
      expect(args).not.toContain('--index'); // the index is $JOB_COMPLETION_INDEX
      expect(args).not.toContain('--type'); // compute: every type of artifact_kinds
    }
    expect(publish.spec.completionMode).toBeUndefined();
    expect(publish.spec.completions).toBe(1);
    for (const j of [ingest, compute, publish]) {
      const args = j.spec.template.spec.containers[0].args as string[];
      expect([args[args.indexOf('--start') + 1], args[args.indexOf('--end') + 1]]).toEqual([values.backfill.start, values.backfill.end]);
    }
  });

  it('--count comes from the values when given', () => {
    const jobs2 = renderChart({ valuesFiles: [BACKFILL], setJson: { 'backfill.compute.count': 5 } }).filter((o) => o.kind === 'Job') as Any[];
    const compute = must(jobs2.find((j) => j.spec.template.spec.containers[0].args[0] === 'compute'));
    expect(compute.spec.completions).toBe(5);
    expect(compute.spec.template.spec.containers[0].args).toContain('5');
  });

  it('refuses an end before the start', () => {
    const r = templateChart({ valuesFiles: [BACKFILL], setJson: { 'backfill.end': '2025-12-31' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('backfill.end (2025-12-31) is before backfill.start');
  });
});

describe('podFailurePolicy follows the exit codes of docs/cli.md', () => {
  const codes = documentedExitCodes();
  const specs = [...jobSpecs(renderChart({ valuesFiles: [DAILY] })), ...jobSpecs(renderChart({ valuesFiles: [BACKFILL] }))];

  it('docs/cli.md has the four codes the policy is built on', () => {
    expect([...codes.keys()].sort()).toEqual([0, 1, 2, 3]);
    expect(codes.get(1)).toMatch(/retry may fix/);
    expect(codes.get(2)).toMatch(/usage or config/);
    expect(codes.get(3)).toMatch(/retry cannot fix/);
  });

  for (const { name, spec } of specs) {
    it(`${name}: 2 fails the Job, 3 the index (or the Job), 1 and evictions are retried`, () => {
      const rules = spec.podFailurePolicy.rules as Any[];
      const actionFor = (code: number) => rules.find((r) => r.onExitCodes?.operator === 'In' && r.onExitCodes.values.includes(code))?.action;
      const indexed = spec.completionMode === 'Indexed';
      for (const [code, meaning] of codes) {
        if (code === 0) continue;
        const expected = /usage or config/.test(meaning) ? 'FailJob' : /retry cannot fix/.test(meaning) ? (indexed ? 'FailIndex' : 'FailJob') : undefined;
        expect(actionFor(code), `exit ${code} (${meaning})`).toBe(expected);
      }
      for (const r of rules.filter((r) => r.onExitCodes)) expect(r.onExitCodes.containerName).toBe(CONTAINER);
      expect(rules[0]).toEqual({ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] });
      if (indexed) expect(spec.backoffLimitPerIndex).toBeGreaterThanOrEqual(1);
      else expect(spec.backoffLimit).toBeGreaterThanOrEqual(1);
      expect(spec.template.spec.restartPolicy).toBe('Never'); // podFailurePolicy requires it
      // A retry takes over its predecessor's publisher lock: never while that pod still terminates.
      expect(spec.podReplacementPolicy).toBe('Failed');
    });
  }
});

describe('credentials stay out of ConfigMaps', () => {
  it('the pods take them from the Secret through the environment', () => {
    for (const file of [DAILY, BACKFILL]) {
      for (const { name, spec } of jobSpecs(renderChart({ valuesFiles: [file] }))) {
        const c = spec.template.spec.containers[0];
        expect(c.envFrom, name).toEqual([{ secretRef: { name: valuesOf(file).credentials.secretName } }]);
        for (const e of c.env as Any[]) if (/SECRET|PASSWORD|TOKEN|KEY/i.test(e.name)) expect(e.value, `${name}: env ${e.name}`).toBeUndefined();
      }
    }
  });

  it('the rendered ConfigMaps name no credential', () => {
    for (const file of [DAILY, BACKFILL]) {
      for (const cm of renderChart({ valuesFiles: [file] }).filter((o) => o.kind === 'ConfigMap') as Any[]) {
        const text = JSON.stringify(cm.data);
        expect(text).not.toMatch(/secret_key|access_key|password|AWS_SECRET/i);
      }
    }
  });

  for (const [key, value, message] of [
    ['config.object_store.s3.secret_key', 'abc', 'config.object_store.s3.secret_key: credentials go in the Secret'],
    ['config.object_store.s3.access_key', 'AKIA', 'config.object_store.s3.access_key: credentials go in the Secret'],
    ['config.raw_source.s3.secret_key', 'abc', 'config.raw_source.s3.secret_key: credentials go in the Secret'],
    ['config.db.dsn', 'postgresql://recsys:hunter2@pg:5432/recsys', 'a Postgres dsn carries a password'],
    ['config.db.dsn', 'host=pg user=recsys password=hunter2', 'a Postgres dsn carries a password'],
  ] as const) {
    it(`refuses ${key} = ${value} in the values`, () => {
      const r = templateChart({ valuesFiles: [DAILY], setJson: { [key]: value } });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(message);
      expect(r.stdout).not.toContain(value);
    });
  }

  it('accepts a dsn without a password (PGPASSWORD comes from the Secret)', () => {
    expect(templateChart({ valuesFiles: [DAILY], setJson: { 'config.db.dsn': 'postgresql://recsys@pg:5432/recsys' } }).code).toBe(0);
  });
});

describe('state shared only through the bucket', () => {
  for (const key of ['canonical_dir', 'artifacts_dir', 'checkpoint_dir']) {
    it(`refuses a local ${key}`, () => {
      const r = templateChart({ valuesFiles: [BACKFILL], setJson: { [`config.${key}`]: '/data/x' } });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`config.${key} must be an s3://`);
    });
  }
  it('refuses an fs object store', () => {
    const r = templateChart({ valuesFiles: [BACKFILL], setJson: { 'config.object_store': { type: 'fs' } } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('config.object_store.type must be s3');
  });
});

describe('pods: non-root, read-only root filesystem, the image of the Dockerfile', () => {
  const stages = parseDockerfile();
  const image = must(stages.at(-1));
  const entrypoint = must(execForm(image, 'ENTRYPOINT'), 'the ENTRYPOINT of the Dockerfile');
  const [uid] = must(lastValue(image, 'USER'), 'the USER of the Dockerfile').split(':');

  for (const file of [DAILY, BACKFILL]) {
    for (const { name, spec } of jobSpecs(renderChart({ valuesFiles: [file] }))) {
      it(`${name}`, () => {
        const pod = spec.template.spec;
        expect(pod.securityContext.runAsNonRoot).toBe(true);
        expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
        expect(String(pod.securityContext.runAsUser)).toBe(uid);
        expect(pod.automountServiceAccountToken).toBe(false);
        const c: Any = must(pod.containers[0]);
        expect(c.name).toBe(CONTAINER);
        expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
        // The only writable folder is /tmp, an emptyDir, and TMPDIR points there.
        const tmp = must((c.volumeMounts as Any[]).find((m) => m.mountPath === '/tmp'));
        expect(must((pod.volumes as Any[]).find((v) => v.name === tmp.name)).emptyDir).toBeDefined();
        expect((c.env as Any[]).find((e) => e.name === 'TMPDIR')?.value).toBe('/tmp');
        // The command is the image's CLI: the Dockerfile's ENTRYPOINT, or a shell that execs it.
        const command = (c.command as string[]).join(' ');
        expect(command).toContain(entrypoint.join(' '));
      });
    }
  }
});
