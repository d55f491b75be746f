/**
 * Prometheus, Pushgateway, node_exporter and promtool for the tests, as started by
 * scripts/prom-test-servers.sh (Debian's packages, loopback ports 19090/19091/19100), which
 * prints the RECSYS_TEST_* variables read here; .ci/run does that, so CI runs these tests.
 *
 * Without the servers (or promtool) a test file skips with ONE line on stderr saying why
 * and what to run. It fails instead when the variables are set (the servers were meant to
 * be there) or when CI=true: CI never skips.
 */
import { spawnSync } from 'node:child_process';
import { getuid } from 'node:process';

const uid = getuid?.() ?? 0;

export const PROM = {
  prometheus: process.env.RECSYS_TEST_PROMETHEUS_URL || 'http://127.0.0.1:19090',
  pushgateway: process.env.RECSYS_TEST_PUSHGATEWAY_URL || 'http://127.0.0.1:19091',
  nodeExporter: process.env.RECSYS_TEST_NODE_EXPORTER_URL || 'http://127.0.0.1:19100',
  textfileDir: process.env.RECSYS_TEST_TEXTFILE_DIR || `/tmp/recsys-prom-test-${uid}/textfile`,
};

/** The servers were meant to be there: unreachable is a failure, not a skip. */
export const PROM_REQUIRED = !!process.env.RECSYS_TEST_PROMETHEUS_URL || process.env.CI === 'true';

const HINT = 'run eval "$(scripts/prom-test-servers.sh)"';

function skipOrFail(file: string, what: string, reason: string): string {
  if (PROM_REQUIRED) throw new Error(`${file}: ${what}: ${reason} (RECSYS_TEST_PROMETHEUS_URL or CI=true is set, so this fails instead of skipping)`);
  console.warn(`${file}: skipped, ${what}: ${reason}; ${HINT}`);
  return reason;
}

async function answers(url: string): Promise<string | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    return res.ok ? null : `${url} answered ${res.status}`;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    return `${url}: ${cause?.code ?? (err as Error).message}`;
  }
}

/** null when the three servers answer; else the reason (after the one skip line). */
export async function promSkipReason(file: string): Promise<string | null> {
  const problems = (
    await Promise.all([answers(`${PROM.prometheus}/-/ready`), answers(`${PROM.pushgateway}/-/ready`), answers(`${PROM.nodeExporter}/metrics`)])
  ).filter((p) => p !== null);
  return problems.length === 0 ? null : skipOrFail(file, 'Prometheus test servers not reachable', problems.join('; '));
}

/** The promtool binary: RECSYS_TEST_PROMTOOL, else `promtool` on the PATH. */
export const PROMTOOL = process.env.RECSYS_TEST_PROMTOOL || 'promtool';

/** null when promtool runs; else the reason (after the one skip line). */
export function promtoolSkipReason(file: string): string | null {
  const r = spawnSync(PROMTOOL, ['--version'], { encoding: 'utf8' });
  if (!r.error && r.status === 0) return null;
  return skipOrFail(file, 'promtool not found', r.error?.message ?? `${PROMTOOL} --version exited ${r.status}`);
}

export interface Sample {
  metric: Record<string, string>;
  value: number;
}

/** An instant query; rejects on an error answer (bad expression). */
export async function query(expr: string): Promise<Sample[]> {
  const url = `${PROM.prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`;
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  if (body.status !== 'success') throw new Error(`query ${expr}: ${body.error ?? res.status}`);
  if (body.data?.resultType !== 'vector') return [];
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

/**
 * Polls `probe` until it returns a value (not undefined), every 250 ms, for at most
 * `limitMs` (generous: the machine may be loaded; a healthy setup answers in seconds).
 * Rejects with `what` and the last probe's note.
 */
export async function pollUntil<T>(what: string, probe: () => Promise<T | undefined>, limitMs = 120_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`gave up waiting (${limitMs / 1000}s) for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
