/**
 * `status`: freshness of the current manifest of a (tenant, surface), for people and for
 * cron-based alerting (exit 0 fresh, 1 stale or missing).
 *
 * Fresh means: the manifest exists, its `updated_at` is at most `maxAge` old, and every
 * artifact it points at has a registry record and a blob in the object store that a reader
 * of the manifest's URI opens (`ObjectStore.locate`). The blob is
 * read to report its size and checked against its record (size and sha256, as publish
 * wrote them; for a Go tool record, which has neither, the version recomputed from the
 * blob; a blob that differs is reported as a problem).
 */
import type { Config } from '../../config/types';
import { isPipelineError, usageError } from '../../errors';
import { openStorage } from '../../io/store/open';
import { recordedBlobProblem } from '../../io/store/registry';
import { versionOfUri } from './rollback';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `30m`, `26h`, `2d`, or a sum such as `1d12h`, in milliseconds (> 0). Anything else is E_USAGE. */
export function parseDuration(text: string, flag = '--max-age'): number {
  const bad = () => usageError(`${flag} must be a duration like 90s, 30m, 26h or 2d (or a sum such as 1d12h), got ${JSON.stringify(text)}`);
  if (!/^(\d+[smhd])+$/.test(text)) throw bad();
  let ms = 0;
  for (const m of text.matchAll(/(\d+)([smhd])/g)) ms += Number(m[1]) * UNIT_MS[m[2]];
  if (!(ms > 0) || !Number.isSafeInteger(ms)) throw bad();
  return ms;
}

/** `1d 2h`, `3h 12m`, `4m 5s`, `12s`: the two largest units. */
export function formatDuration(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (s >= size || (unit === 's' && parts.length === 0)) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  return parts.slice(0, 2).join(' ');
}

export interface ArtifactStatus {
  type: string;
  uri: string;
  version: string;
  /** From the registry record; null without a record. */
  window: { start: string; end: string } | null;
  /** Bytes of the blob in the object store; null when it cannot be read. */
  size_bytes: number | null;
  /** What is wrong with this artifact, or null. */
  problem: string | null;
}

export interface Status {
  tenant: string;
  surface: string;
  manifest: string;
  /** fresh: exit 0; stale: too old; missing: no manifest, or an artifact without its blob or record. */
  state: 'fresh' | 'stale' | 'missing';
  updated_at: string | null;
  age_seconds: number | null;
  max_age_seconds: number;
  artifacts: ArtifactStatus[];
}

export async function readStatus(config: Config, tenant: string, surface: string, maxAgeMs: number, now: Date = new Date()): Promise<Status> {
  const { store, registry } = openStorage(config);
  const base = { tenant, surface, manifest: registry.manifestPath(tenant, surface), max_age_seconds: Math.floor(maxAgeMs / 1000) };
  const manifest = await registry.readManifest(tenant, surface);
  if (manifest === null) return { ...base, state: 'missing', updated_at: null, age_seconds: null, artifacts: [] };

  const artifacts: ArtifactStatus[] = [];
  for (const [type, uri] of Object.entries(manifest.current)) {
    const version = versionOfUri(uri);
    const a: ArtifactStatus = { type, uri, version, window: null, size_bytes: null, problem: null };
    const problems: string[] = [];
    const record = await tolerant(() => registry.readRecord(tenant, surface, type, version), problems);
    if (record) a.window = record.window;
    else if (record === null) problems.push('no registry record');
    // Resolved as a consumer resolves it: a URI no reader can open is a problem, not FRESH;
    // one leading outside the object store is never read (E_UNSAFE_URI, reported here).
    const located = await tolerant(() => store.locate(uri, `manifest ${base.manifest} current.${type}`), problems);
    if (located?.readerProblem) problems.push(located.readerProblem);
    const blob = located ? await tolerant(() => store.get(located.uri), problems) : undefined;
    if (blob) {
      a.size_bytes = blob.length;
      const problem = record ? recordedBlobProblem(record, blob) : null;
      if (problem !== null) problems.push(problem);
    }
    a.problem = problems.length > 0 ? problems.join('; ') : null;
    artifacts.push(a);
  }

  const updatedMs = Date.parse(manifest.updated_at);
  const ageMs = Number.isNaN(updatedMs) ? Infinity : Math.max(0, now.getTime() - updatedMs);
  const state = artifacts.some((a) => a.problem !== null) ? 'missing' : ageMs > maxAgeMs ? 'stale' : 'fresh';
  return {
    ...base,
    state,
    updated_at: manifest.updated_at,
    age_seconds: Number.isFinite(ageMs) ? Math.floor(ageMs / 1000) : null,
    artifacts,
  };
}

/** Runs a read; a PipelineError (missing blob, unreadable record…) becomes a problem and undefined. */
async function tolerant<T>(read: () => Promise<T>, problems: string[]): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (!isPipelineError(err)) throw err;
    problems.push(err.message);
    return undefined;
  }
}
