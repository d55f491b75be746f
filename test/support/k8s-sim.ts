/**
 * A small stand-in for a Kubernetes cluster's Job controller and kubelet, to run the chart's
 * Jobs on this machine. Nothing of a Job is copied: every pod's command, arguments,
 * environment, volumes, user and working folder come from the `helm template` output (and,
 * where a container does not set them, from the Dockerfile's final stage, as a container
 * runtime takes them from the image).
 *
 * The Job controller part: Indexed Jobs run each index in 0..completions-1 (a Job without
 * indexes: one pod at a time until one succeeds), at most `parallelism` pods at once; a
 * failed pod is judged by `podFailurePolicy` (onExitCodes: FailJob, FailIndex, Ignore,
 * Count), then by `backoffLimitPerIndex` (per index) or `backoffLimit` (per Job); FailJob
 * kills the Job's running pods. Not simulated: the retry back-off delay (retries start at
 * once), activeDeadlineSeconds, onPodConditions (no pod is evicted here), maxFailedIndexes,
 * successPolicy, the CronJob schedule (a test starts a CronJob's run itself).
 *
 * The kubelet part: each pod is `unshare --pid --uts --mount --fork --mount-proc` (as root),
 * so it has its own PID 1, its own hostname (the Job controller's: `<job>-<index>` for an
 * Indexed Job) and its own mounts, under its own root (chroot):
 * - the root: the host's root filesystem under an overlay whose upper layer is a tmpfs of
 *   the pod, with the host's other mounts (/proc of the pod's PID namespace, /dev, …) bound
 *   at their places; mount points the host lacks (the WORKDIR, a ConfigMap's mountPath) are
 *   created in that upper layer, so the host's folders never change; then the root is made
 *   read-only when the container asks for `readOnlyRootFilesystem`;
 * - the image: `appDir` (a tree like the final stage of the Dockerfile, e.g. the repository
 *   after `npm ci`) bound read-only at the Dockerfile's WORKDIR;
 * - configMap volumes: the rendered ConfigMap's data written to files and bound read-only;
 *   emptyDir volumes: a fresh tmpfs (mode 1777, the sizeLimit as its size); hostPath: bound;
 * - the process runs as runAsUser/runAsGroup (setpriv, no other groups) with a clean
 *   environment: the image's ENV and PATH, envFrom (Secrets given to the simulator,
 *   ConfigMaps), env (value and the downward API fieldRefs the chart uses), and
 *   JOB_COMPLETION_INDEX; `$(VAR)` in command and args is expanded as the kubelet does.
 * The network is the host's (pods reach the test's S3 server on 127.0.0.1). Nothing of the
 * host changes: the pod's files outside its volumes go to its overlay's tmpfs, gone with it.
 *
 * CPU time per pod is `times` of a subshell that runs only the container's process (user +
 * system, its whole process tree, worker threads included; not the simulator's mounts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';
import { execForm, lastValue, parseDockerfile } from './dockerfile';
import type { K8sObject } from './helm';
import { shellQuote } from './helpers';

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered objects are read field by field */
type Any = any;

/** The PATH of the node base image (not set by our Dockerfile, inherited from FROM). */
const BASE_IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Why pods cannot run here (not root, no unshare, namespaces refused), or null. */
export function simUnavailableReason(): string | null {
  if (process.platform !== 'linux') return 'pods need Linux namespaces';
  if (process.getuid?.() !== 0) return 'pods need root (unshare --pid --mount, setpriv)';
  const r = spawnSync(
    'unshare',
    [
      '--pid',
      '--uts',
      '--mount',
      '--fork',
      '--mount-proc',
      'sh',
      '-c',
      'hostname sim-probe && mount -t tmpfs tmpfs /mnt && mkdir /mnt/u /mnt/w /mnt/r && ' +
        'mount -t overlay overlay -o lowerdir=/,upperdir=/mnt/u,workdir=/mnt/w /mnt/r && ' +
        'test "$(hostname)" = sim-probe && test $$ = 1',
    ],
    {
      encoding: 'utf8',
    },
  );
  if (r.error) return `unshare: ${r.error.message}`;
  if (r.status !== 0) return `unshare --pid --uts --mount --fork --mount-proc, or an overlay mount in it, failed (exit ${r.status}): ${r.stderr.trim()}`;
  if (spawnSync('setpriv', ['--version']).status !== 0) return 'setpriv (util-linux) is missing';
  return null;
}

export interface SimPod {
  job: string;
  index: number | null;
  attempt: number;
  name: string;
  hostname: string;
  /** The container's exit code as the kubelet reports it (128 + signal for a killed process). */
  exitCode: number;
  /** What the Job controller did with a failed pod: Count, Ignore, FailIndex, FailJob (or killed: the Job failed). */
  action: 'Succeeded' | 'Count' | 'Ignore' | 'FailIndex' | 'FailJob' | 'Killed';
  wallMs: number;
  cpuMs: number;
  stdout: string;
  stderr: string;
  /** The environment the container got (for tests that check what the pod saw). */
  env: Record<string, string>;
}

export interface SimJobResult {
  name: string;
  uid: string;
  status: 'Complete' | 'Failed';
  /** Why it failed: PodFailurePolicy, BackoffLimitExceeded, FailedIndexes. */
  reason: string | null;
  failedIndexes: number[];
  pods: SimPod[];
  wallMs: number;
}

export interface SimOptions {
  /** Every rendered object (ConfigMaps for configMap volumes and envFrom). */
  objects: K8sObject[];
  /** Secrets by name: their data, as envFrom/secretKeyRef read it. */
  secrets: Record<string, Record<string, string>>;
  /** The image's files, bound at the Dockerfile's WORKDIR. */
  appDir: string;
  /** A host folder for the simulator's own files (ConfigMap files, CPU times). */
  workDir: string;
  /** Extra environment for one pod (fault injection), by Job name, index and attempt (0 = first). */
  inject?: (pod: { job: string; index: number | null; attempt: number }) => Record<string, string> | undefined;
  log?: (line: string) => void;
}

interface Image {
  workdir: string;
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  user: string | null;
}

function imageOfDockerfile(): Image {
  const stage = parseDockerfile().at(-1);
  if (!stage) throw new Error('Dockerfile: no stage');
  const env: Record<string, string> = { PATH: BASE_IMAGE_PATH };
  for (const ins of stage.instructions.filter((i) => i.op === 'ENV')) {
    const m = /^(\w+)[= ](.*)$/.exec(ins.rest);
    if (m) env[m[1] ?? ''] = (m[2] ?? '').replace(/^"(.*)"$/, '$1');
  }
  return {
    workdir: lastValue(stage, 'WORKDIR') ?? '/',
    env,
    entrypoint: execForm(stage, 'ENTRYPOINT') ?? [],
    cmd: execForm(stage, 'CMD') ?? [],
    user: lastValue(stage, 'USER'),
  };
}

/** `$(VAR)` → its value when VAR is defined, `$$` → `$`, as the kubelet expands command and args. */
export function expandVars(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, name: string | undefined) => (name === undefined ? '$' : (env[name] ?? all)));
}

/** A Kubernetes quantity (4Gi, 512Mi, 1G, 1000) as a tmpfs size= value. */
function tmpfsSize(q: string | undefined): string {
  if (!q) return '50%';
  const m = /^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(q));
  if (!m) throw new Error(`emptyDir.sizeLimit ${q}: not a quantity the simulator reads`);
  const n = Number(m[1]);
  const mult: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return String(n * (m[2] ? (mult[m[2]] ?? 1) : 1));
}

/** The Job a CronJob creates for one scheduled time: its jobTemplate, named as the CronJob controller names it. */
export function jobOfCronJob(cron: K8sObject, scheduled = new Date()): K8sObject {
  const c = cron as Any;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `${c.metadata.name}-${Math.floor(scheduled.getTime() / 60_000)}`, labels: c.spec.jobTemplate.metadata?.labels ?? {} },
    spec: c.spec.jobTemplate.spec,
  };
}

/** The Jobs that are Helm hooks, in the order Helm runs them: by weight, then by name. */
export function hookJobs(objects: K8sObject[]): K8sObject[] {
  return objects
    .filter((o) => o.kind === 'Job' && o.metadata.annotations?.['helm.sh/hook'])
    .sort((a, b) => {
      const wa = Number(a.metadata.annotations?.['helm.sh/hook-weight'] ?? 0);
      const wb = Number(b.metadata.annotations?.['helm.sh/hook-weight'] ?? 0);
      return wa - wb || a.metadata.name.localeCompare(b.metadata.name);
    });
}

/** Runs the hook Jobs in Helm's order, stopping after the first that fails (Helm fails the release there). */
export async function runHooks(objects: K8sObject[], opts: SimOptions): Promise<SimJobResult[]> {
  const results: SimJobResult[] = [];
  for (const job of hookJobs(objects)) {
    const r = await runJob(job, opts);
    results.push(r);
    if (r.status !== 'Complete') break;
  }
  return results;
}

/** Runs one Job to its end, as the Job controller would. */
export async function runJob(job: K8sObject, opts: SimOptions): Promise<SimJobResult> {
  const spec = (job as Any).spec;
  const name = job.metadata.name;
  const uid = randomUUID();
  const indexed = spec.completionMode === 'Indexed';
  const completions: number = spec.completions ?? 1;
  const parallelism: number = Math.max(1, spec.parallelism ?? 1);
  const rules: Any[] = spec.podFailurePolicy?.rules ?? [];
  const perIndexLimit: number | undefined = spec.backoffLimitPerIndex;
  const backoffLimit: number = spec.backoffLimit ?? (perIndexLimit === undefined ? 6 : Number.MAX_SAFE_INTEGER);
  const containerName: string = spec.template.spec.containers[0].name;
  const started = performance.now();

  const pending: number[] = indexed ? Array.from({ length: completions }, (_, i) => i) : [0];
  const attempts = new Map<number, number>();
  const failures = new Map<number, number>();
  const failedIndexes: number[] = [];
  const pods: SimPod[] = [];
  const running = new Map<ChildProcess, Promise<void>>();
  let succeededPods = 0;
  let jobFailure: string | null = null;
  let totalFailures = 0;

  const onPodEnd = (pod: SimPod, slot: number) => {
    pods.push(pod);
    const key = pod.index ?? 0;
    opts.log?.(`[${name}] pod ${pod.name} (node ${slot}) exit ${pod.exitCode}: ${pod.action}`);
    if (pod.action === 'Succeeded') {
      succeededPods++;
      return;
    }
    if (pod.action === 'Killed') return;
    if (pod.action === 'FailJob') {
      jobFailure ??= 'PodFailurePolicy';
      return;
    }
    if (pod.action === 'FailIndex') {
      failedIndexes.push(key);
      return;
    }
    if (pod.action === 'Count') {
      totalFailures++;
      failures.set(key, (failures.get(key) ?? 0) + 1);
      if (indexed && perIndexLimit !== undefined) {
        if ((failures.get(key) ?? 0) > perIndexLimit) {
          failedIndexes.push(key);
          return;
        }
      } else if (totalFailures > backoffLimit) {
        jobFailure ??= 'BackoffLimitExceeded';
        return;
      }
    }
    pending.unshift(key); // Count within the limits, or Ignore: the index runs again
  };

  /** The action podFailurePolicy takes for a failed pod's container exit code. */
  const judge = (exitCode: number, containerName: string): SimPod['action'] => {
    for (const r of rules) {
      const on = r.onExitCodes;
      if (!on) continue; // onPodConditions: no pod is evicted in the simulator
      if (on.containerName && on.containerName !== containerName) continue;
      const listed = (on.values as number[]).includes(exitCode);
      if (on.operator === 'In' ? listed : !listed) return r.action as SimPod['action'];
    }
    return 'Count';
  };

  const slots = Array.from({ length: parallelism }, (_, i) => i);
  const free = [...slots];
  await new Promise<void>((resolveAll, rejectAll) => {
    const pump = () => {
      if (jobFailure !== null) {
        for (const child of running.keys()) killPod(child);
      }
      while (jobFailure === null && pending.length > 0 && free.length > 0) {
        const index = pending.shift() as number;
        const slot = free.shift() as number;
        const attempt = attempts.get(index) ?? 0;
        attempts.set(index, attempt + 1);
        const { child, done } = startPod(job, uid, indexed ? index : null, attempt, slot, opts);
        const p = done
          .then((pod) => {
            if (pod.exitCode !== 0 && pod.action !== 'Killed') pod.action = jobFailure !== null ? 'Killed' : judge(pod.exitCode, containerName);
            onPodEnd(pod, slot);
          })
          .catch(rejectAll)
          .finally(() => {
            running.delete(child);
            free.push(slot);
            free.sort((a, b) => a - b);
            pump();
          });
        running.set(child, p);
      }
      if (running.size === 0 && (pending.length === 0 || jobFailure !== null)) resolveAll();
    };
    pump();
  });

  const done = indexed ? succeededPods + failedIndexes.length >= completions : succeededPods >= 1;
  const status = jobFailure === null && failedIndexes.length === 0 && done ? 'Complete' : 'Failed';
  const reason = status === 'Complete' ? null : (jobFailure ?? 'FailedIndexes');
  opts.log?.(`[${name}] ${status}${reason ? ` (${reason})` : ''}: ${pods.length} pod(s)`);
  return { name, uid, status, reason, failedIndexes: failedIndexes.sort((a, b) => a - b), pods, wallMs: performance.now() - started };
}

function killPod(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Starts one pod of `job`; `done` resolves when its container has exited. */
function startPod(
  job: K8sObject,
  jobUid: string,
  index: number | null,
  attempt: number,
  slot: number,
  opts: SimOptions,
): { child: ChildProcess; done: Promise<SimPod> } {
  const image = imageOfDockerfile();
  const template = (job as Any).spec.template;
  const podSpec = template.spec;
  const containers: Any[] = podSpec.containers;
  if (containers.length !== 1) throw new Error(`${job.metadata.name}: the simulator runs pods of one container`);
  const c = containers[0];
  const suffix = randomBytes(3).toString('hex').slice(0, 5);
  const jobName = job.metadata.name;
  const podName = index === null ? `${jobName}-${suffix}` : `${jobName}-${index}-${suffix}`;
  const hostname = (index === null ? podName : `${jobName}-${index}`).slice(0, 63);
  const labels: Record<string, string> = {
    ...(template.metadata?.labels ?? {}),
    'batch.kubernetes.io/controller-uid': jobUid,
    'controller-uid': jobUid,
    'batch.kubernetes.io/job-name': jobName,
    'job-name': jobName,
    ...(index === null ? {} : { 'batch.kubernetes.io/job-completion-index': String(index) }),
  };
  const annotations: Record<string, string> = {
    ...(template.metadata?.annotations ?? {}),
    ...(index === null ? {} : { 'batch.kubernetes.io/job-completion-index': String(index) }),
  };
  const nodeName = `sim-node-${slot}`;
  const configMaps = new Map(
    opts.objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, ((o as Any).data ?? {}) as Record<string, string>]),
  );

  // Environment: the image's, envFrom, env (later entries win), JOB_COMPLETION_INDEX.
  const env: Record<string, string> = { ...image.env, HOSTNAME: hostname };
  for (const from of (c.envFrom ?? []) as Any[]) {
    const source = from.secretRef ? opts.secrets[from.secretRef.name] : from.configMapRef ? configMaps.get(from.configMapRef.name) : undefined;
    const ref = from.secretRef ?? from.configMapRef;
    if (!source) {
      if (ref?.optional) continue;
      throw new Error(`${podName}: envFrom ${JSON.stringify(from)}: no such Secret/ConfigMap given to the simulator`);
    }
    for (const [k, v] of Object.entries(source)) env[`${from.prefix ?? ''}${k}`] = v;
  }
  if (index !== null) env.JOB_COMPLETION_INDEX = String(index);
  const field = (path: string): string => {
    const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
    if (m) return (m[1] === 'labels' ? labels : annotations)[m[2] ?? ''] ?? '';
    const simple: Record<string, string> = {
      'metadata.name': podName,
      'metadata.namespace': 'default',
      'metadata.uid': randomUUID(),
      'spec.nodeName': nodeName,
      'spec.serviceAccountName': podSpec.serviceAccountName ?? 'default',
      'status.podIP': '127.0.0.1',
      'status.hostIP': '127.0.0.1',
    };
    const v = simple[path];
    if (v === undefined) throw new Error(`${podName}: fieldRef ${path} is not simulated`);
    return v;
  };
  for (const e of (c.env ?? []) as Any[]) {
    if ('value' in e) env[e.name] = expandVars(String(e.value), env);
    else if (e.valueFrom?.fieldRef) env[e.name] = field(e.valueFrom.fieldRef.fieldPath);
    else if (e.valueFrom?.secretKeyRef) {
      const v = opts.secrets[e.valueFrom.secretKeyRef.name]?.[e.valueFrom.secretKeyRef.key];
      if (v === undefined && !e.valueFrom.secretKeyRef.optional) throw new Error(`${podName}: env ${e.name}: secret key not given to the simulator`);
      if (v !== undefined) env[e.name] = v;
    } else throw new Error(`${podName}: env ${e.name}: ${JSON.stringify(e.valueFrom)} is not simulated`);
  }
  if (index !== null) env.JOB_COMPLETION_INDEX = String(index);
  Object.assign(env, opts.inject?.({ job: jobName, index, attempt }) ?? {});

  // Command: command overrides the ENTRYPOINT, args the CMD.
  const command: string[] = c.command ?? image.entrypoint;
  const args: string[] = c.args ?? (c.command ? [] : image.cmd);
  const argv = [...command, ...args].map((a) => expandVars(a, env));
  if (argv.length === 0) throw new Error(`${podName}: nothing to run`);

  // User.
  const sc = { ...(podSpec.securityContext ?? {}), ...(c.securityContext ?? {}) };
  const [imageUid, imageGid] = (image.user ?? '0').split(':');
  const uid = Number(sc.runAsUser ?? imageUid);
  const gid = Number(sc.runAsGroup ?? imageGid ?? 0);
  if (sc.runAsNonRoot && uid === 0) throw new Error(`${podName}: runAsNonRoot with user 0: the kubelet refuses to start it`);

  // Mounts under the pod's root R: files for the ConfigMap volumes, binds first, tmpfs last
  // (their sources may be under the host's /tmp); each mount point made in R's upper layer.
  const podDir = join(opts.workDir, podName);
  const root = join(podDir, 'root');
  const layer = join(podDir, 'layer');
  mkdirSync(root, { recursive: true });
  mkdirSync(layer, { recursive: true });
  const inRoot = (p: string) => shellQuote(join(root, p));
  const volumes = new Map(((podSpec.volumes ?? []) as Any[]).map((v) => [v.name, v]));
  const binds: string[] = [];
  const tmpfs: string[] = [];
  for (const m of (c.volumeMounts ?? []) as Any[]) {
    const v = volumes.get(m.name);
    if (!v) throw new Error(`${podName}: volumeMount ${m.name} has no volume`);
    const at = inRoot(m.mountPath);
    const ro = m.readOnly ? `mount -o remount,bind,ro ${at}` : '';
    if (v.configMap) {
      const data = configMaps.get(v.configMap.name);
      if (!data) throw new Error(`${podName}: ConfigMap ${v.configMap.name} was not rendered`);
      const dir = join(podDir, `cm-${m.name}`);
      mkdirSync(dir, { recursive: true });
      for (const [k, text] of Object.entries(data)) writeFileSync(join(dir, k), text);
      binds.push(`mkdir -p ${at}`, `mount --bind ${shellQuote(dir)} ${at}`, `mount -o remount,bind,ro ${at}`);
    } else if (v.hostPath) {
      binds.push(`mkdir -p ${at}`, `mount --bind ${shellQuote(v.hostPath.path)} ${at}`, ro);
    } else if (v.emptyDir) {
      tmpfs.push(`mkdir -p ${at}`, `mount -t tmpfs -o mode=1777,size=${tmpfsSize(v.emptyDir.sizeLimit)} tmpfs ${at}`);
    } else throw new Error(`${podName}: volume ${m.name}: ${Object.keys(v).join(', ')} is not simulated`);
  }
  const timesFile = join(podDir, 'times');
  const noNewPrivs = sc.allowPrivilegeEscalation === false ? '--no-new-privs ' : '';
  const script = [
    'set -e',
    `exec 3>${shellQuote(timesFile)}`,
    `hostname ${shellQuote(hostname)}`,
    // The root: the host's / under an overlay (upper layer: a tmpfs of this pod), then the
    // host's other mounts at their places (an rbind brings the mounts below each).
    `mount -t tmpfs -o mode=700 tmpfs ${shellQuote(layer)}`,
    `mkdir ${shellQuote(join(layer, 'upper'))} ${shellQuote(join(layer, 'work'))}`,
    `mount -t overlay overlay -o ${shellQuote(`lowerdir=/,upperdir=${join(layer, 'upper')},workdir=${join(layer, 'work')}`)} ${shellQuote(root)}`,
    `R=${shellQuote(root)}; P=${shellQuote(podDir)}`,
    `for m in $(awk '$5 != "/" { print $5 }' /proc/self/mountinfo | sort -u); do`,
    '  case "$m" in "$P" | "$P"/*) continue ;; esac',
    '  if [ -d "$R$m" ] && ! mountpoint -q "$R$m"; then mount --rbind "$m" "$R$m"; fi',
    'done',
    `mkdir -p ${inRoot(image.workdir)}`,
    `mount --bind ${shellQuote(opts.appDir)} ${inRoot(image.workdir)}`,
    `mount -o remount,bind,ro ${inRoot(image.workdir)}`,
    ...binds.filter(Boolean),
    ...tmpfs,
    ...(sc.readOnlyRootFilesystem ? ['mount -o remount,ro "$R"'] : []),
    'set +e',
    '(',
    `  chroot "$R" sh -c 'cd "$1" && shift && exec "$@"' sh ${shellQuote(c.workingDir ?? image.workdir)} setpriv --reuid ${uid} --regid ${gid} --clear-groups ${noNewPrivs}env -i ${Object.entries(
      env,
    )
      .map(([k, v]) => shellQuote(`${k}=${v}`))
      .join(' ')} ${argv.map(shellQuote).join(' ')}`,
    '  rc=$?',
    '  times >&3',
    '  exit $rc',
    ')',
  ].join('\n');

  const started = performance.now();
  const child = spawn('unshare', ['--pid', '--uts', '--mount', '--fork', '--mount-proc', 'sh', '-c', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    cwd: '/',
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const done = new Promise<SimPod>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const signum = signal ? (osConstants.signals as Record<string, number>)[signal] : undefined;
      const exitCode = code ?? 128 + (signum ?? 0);
      let cpuMs = 0;
      try {
        const lines = readFileSync(timesFile, 'utf8').trim().split('\n');
        const secs = [...(lines[1] ?? '').matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
        cpuMs = secs.reduce((a, b) => a + b, 0) * 1000;
      } catch {
        // killed before `times` ran
      }
      resolve({
        job: jobName,
        index,
        attempt,
        name: podName,
        hostname,
        exitCode,
        action: signal ? 'Killed' : exitCode === 0 ? 'Succeeded' : 'Count',
        wallMs: performance.now() - started,
        cpuMs,
        stdout,
        stderr,
        env,
      });
    });
  });
  return { child, done };
}
