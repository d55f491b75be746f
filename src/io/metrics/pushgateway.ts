/**
 * The Prometheus Pushgateway's way out, for jobs that do not live long enough to be scraped
 * (Kubernetes Jobs, CronJobs).
 *
 * Each run pushes to one group, `/metrics/job/<job>/<label>/<value>…`, whose grouping key
 * holds the job, the command, the tenant, the surface, the segment when there is one, and
 * the Kubernetes Job completion index when the pod has one: two commands, scopes or pods
 * never replace each other's metrics. A push is a POST: only the metric families sent
 * replace the group's families of the same name, so a family left out (the last success of
 * a failed run) keeps its previous value. `replace: true` (PUT) replaces the whole group.
 */
import { Pushgateway, type Registry } from 'prom-client';

/** The job label of every group this program pushes. */
export const PUSH_JOB = 'recsys_pipelines';

/** Set by Kubernetes in each pod of an Indexed Job (issue 15: one index per shard of the work). */
export const JOB_INDEX_ENV = 'JOB_COMPLETION_INDEX';

export interface PushTarget {
  /** `http://host:port`, optionally with a path prefix. */
  url: string;
  timeoutMs: number;
  /** Labels after the job, in this order. */
  groupingKey: Record<string, string>;
  /** PUT instead of POST: drop every family of the group that is not sent. */
  replace?: boolean;
}

/**
 * The grouping key of a scope. Empty values are left out (the Pushgateway cannot address
 * them in a path). A JOB_COMPLETION_INDEX that is not a non-negative integer is refused, as
 * pushing without it would let parallel pods overwrite each other.
 */
export function groupingKey(
  scope: { command: string; tenant: string; surface: string; segment?: string },
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const key: Record<string, string> = { command: scope.command, tenant: scope.tenant, surface: scope.surface };
  if (scope.segment) key.segment = scope.segment;
  const index = env[JOB_INDEX_ENV];
  if (index !== undefined && index !== '') {
    if (!/^\d+$/.test(index)) throw new Error(`${JOB_INDEX_ENV}=${JSON.stringify(index)} is not a non-negative integer`);
    key.job_completion_index = index;
  }
  return key;
}

/** The group's URL, for messages. */
export function groupUrl(target: PushTarget): string {
  const path = Object.entries(target.groupingKey)
    .map(([k, v]) => `/${encodeURIComponent(k)}/${encodeURIComponent(v)}`)
    .join('');
  return `${target.url}/metrics/job/${PUSH_JOB}${path}`;
}

/** Pushes the registry; rejects with an Error naming the group URL (the caller turns it into a warning). */
export async function pushMetrics(registry: Registry, target: PushTarget): Promise<void> {
  const signal = AbortSignal.timeout(target.timeoutMs);
  // `timeout` bounds an idle socket, `signal` the whole request (connect, send, response).
  const gateway = new Pushgateway(target.url, { timeout: target.timeoutMs, signal }, registry);
  const params = { jobName: PUSH_JOB, groupings: target.groupingKey };
  try {
    await (target.replace ? gateway.push(params) : gateway.pushAdd(params));
  } catch (err) {
    const reason = signal.aborted ? `no answer within ${target.timeoutMs / 1000}s` : describe(err);
    throw new Error(`push to ${groupUrl(target)} failed: ${reason}`);
  }
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; errors?: { message?: string }[] };
  // A connect to a name with several addresses fails with an AggregateError (empty message).
  const message = e?.message || e?.errors?.map((x) => x.message).join('; ') || String(err);
  return e?.code && !message.includes(e.code) ? `${e.code}: ${message}` : message;
}
