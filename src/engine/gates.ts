/**
 * Validation gates (docs/contract.md §4). A failed gate throws (E_LIMIT for a hard limit, E_GATE
 * otherwise) before anything of the day is published.
 */
import { MICROS_PER_DAY } from '../days';
import { gateFailed, limitExceeded } from '../errors';
import type { LimitsConfig } from '../config/types';
import type { CanonicalDay } from '../io/canonical/day';
import type { ArtifactHeader, BlobParts } from '../io/artifacts/codec';
import { blobEnvelope, sha256Hex, splitBlob } from '../io/artifacts/codec';
import type { DayIndex } from '../kernels/day-index';
import { artifactType } from './artifact-types';

/** Canonical data of the window: every event valid and inside the window. */
export function checkCanonical(day: CanonicalDay, windowStart: number, windowDays: number): void {
  const end = windowStart + windowDays * MICROS_PER_DAY;
  for (let i = 0; i < day.rows; i++) {
    const t = day.tsMicros[i];
    if (!(t >= windowStart && t < end)) throw gateFailed('canonical', `row ${i} has ts outside the window`);
  }
  for (const [name, col] of [
    ['session_id', day.session],
    ['item_id', day.item],
    ['user_id', day.user],
  ] as const) {
    const { offsets } = col.utf8;
    for (let v = 0; v + 1 < offsets.length; v++) {
      if (offsets[v + 1] === offsets[v]) throw gateFailed('canonical', `${name} has an empty id`);
    }
    if (name === 'user_id') continue; // nullable: anonymous events
    for (let i = 0; i < day.rows; i++) if (col.codes[i] < 0) throw gateFailed('canonical', `row ${i} has no ${name}`);
  }
}

/** Hard limits on the window's events (docs/contract.md §7). */
export function checkHardLimits(index: DayIndex, limits: LimitsConfig): void {
  const checks: Array<[string, number, number]> = [
    ['max_events_per_run', index.events, limits.max_events_per_run],
    ['max_sessions_per_run', index.nSessions, limits.max_sessions_per_run],
    ['max_items_per_session', index.maxItemsPerSession, limits.max_items_per_session],
    ['max_distinct_items_per_run', index.nItems, limits.max_distinct_items_per_run],
    ['max_users_per_run', index.nUsers, limits.max_users_per_run],
  ];
  for (const [name, observed, allowed] of checks) if (observed > allowed) throw limitExceeded(name, observed, allowed);
  if (index.events < limits.min_events_per_run) {
    throw gateFailed('min_events_per_run', `${index.events} events < ${limits.min_events_per_run}`);
  }
}

export interface BlobExpectation extends ArtifactHeader {
  version: string;
  maxRows: number;
  maxItemsPerRow: number;
  /** SHA-256 of the bytes the encoder wrote (run): the stored blob must be exactly those. */
  sha256?: string;
}

/**
 * Checks a blob before its record is written (docs/contract.md §4): v, type, tenant, surface, segment,
 * window, build, and the version recomputed from the blob's own bytes equals the expected
 * one. `rows: 'inspect'` also parses the payload and checks every row (no empty ids, no
 * negative counts/scores, size caps): the publisher of a staged blob does this; `run`
 * checks rows on the typed arrays before encoding (each type's compute step) and skips the parse.
 * Returns the payload's row count when it was inspected, null otherwise.
 */
export function checkArtifactBlob(blob: Uint8Array, want: BlobExpectation, rows: 'inspect' | 'skip', blobSha256?: string): number | null {
  const fail = (detail: string) => gateFailed(`artifact ${want.artifactType} ${want.version}`, detail);
  const field = want.payloadField;
  // Fast path (run): the encoder derived the version from the payload and hashed the bytes
  // it wrote; when the stored copy is exactly those bytes, header, build and a SHA-256
  // comparison prove it without re-deriving the version from hundreds of MB of JSON. A
  // stored copy that differs (e.g. the immutable blob of an earlier run of the same
  // version, with another built_at) gets the full check.
  const trusted = rows === 'skip' && want.sha256 !== undefined && (blobSha256 ?? sha256Hex(blob)) === want.sha256;
  const parts = trusted ? blobEnvelope(blob, field) : splitBlob(blob, field);
  if (!parts) throw fail(`blob is not an artifact JSON object with "${field}" and "build"`);
  const a = parts.header;
  if (a.v !== 1) throw fail('v must be 1');
  if (a.artifact_type !== want.artifactType) throw fail(`artifact_type is ${JSON.stringify(a.artifact_type)}`);
  if (a.tenant !== want.tenant || a.surface !== want.surface) throw fail('tenant/surface do not match the run');
  if ((a.segment ?? '') !== want.segment) throw fail('segment does not match the run');
  const w = a.window as { start?: unknown; end?: unknown } | undefined;
  if (!w || w.start !== want.window.start || w.end !== want.window.end) throw fail('window does not match the run');
  if (parts.build.version !== want.version) throw fail(`build.version is ${JSON.stringify(parts.build.version)}`);
  if (trusted) return null;
  const recomputed = (parts as BlobParts).recomputedVersion;
  if (recomputed !== want.version) throw fail(`version recomputed from the payload is ${recomputed}`);
  if (rows === 'skip') return null;
  let payload: unknown;
  try {
    payload = JSON.parse((parts as BlobParts).payloadJson());
  } catch (err) {
    throw fail(`${field} is not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(payload)) throw fail(`${field} must be an array`);
  if (payload.length > want.maxRows) throw fail(`${field} has ${payload.length} rows > ${want.maxRows}`);
  const type = artifactType(want.artifactType);
  for (const row of payload) {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) throw fail(`${field} has a row that is not an object`);
    type.checkRow(row as Record<string, unknown>, want, fail);
  }
  return payload.length;
}
