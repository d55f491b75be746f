/**
 * The registry's JSON files (records, manifests, audit entries), the same bytes on every
 * backend: Go-compatible pretty JSON (two-space indent, no trailing newline, encodePretty)
 * with fields in the order below, and readers that check a file enough that callers never
 * meet a null or a missing field. A file that does not parse is an E_IO error naming it.
 */
import { rfc3339Seconds } from '../../days';
import { ioError, parseStateJson } from '../../errors';
import type { AuditEntry, Manifest, RegistryRecord } from './registry';

/** The record with its fields in file order (encodePretty keeps insertion order). */
export function canonicalRecord(rec: RegistryRecord): RegistryRecord {
  return {
    v: 1,
    tenant: rec.tenant,
    surface: rec.surface,
    segment: rec.segment === '' ? undefined : rec.segment,
    artifact_type: rec.artifact_type,
    version: rec.version,
    uri: rec.uri,
    window: { start: rec.window.start, end: rec.window.end },
    built_at: rec.built_at,
    published_at: rec.published_at,
    size_bytes: rec.size_bytes,
    sha256: rec.sha256,
  };
}

/** The audit entry with its fields in file order. */
export function canonicalAudit(entry: AuditEntry): AuditEntry {
  return {
    at: entry.at,
    action: entry.action,
    type: entry.type,
    from: entry.from,
    to: entry.to,
    user: entry.user,
    host: entry.host,
  };
}

function isStringMap(value: unknown): value is Record<string, string> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}

export function parseManifest(file: string, text: string): Manifest {
  const m = parseStateJson(file, text, 'manifest') as Partial<Manifest> | null;
  if (
    m === null ||
    typeof m !== 'object' ||
    m.v !== 1 ||
    typeof m.tenant !== 'string' ||
    typeof m.surface !== 'string' ||
    !isStringMap(m.current) ||
    typeof m.updated_at !== 'string'
  ) {
    throw ioError('parse manifest', file, new Error('expected {"v":1,"tenant","surface","current":{type:uri},"updated_at"}'));
  }
  return { v: 1, tenant: m.tenant, surface: m.surface, current: m.current, updated_at: m.updated_at };
}

/** A registry record in our format or in the Go tool's (`parseGoRecord`). */
export function parseRecord(file: string, text: string): RegistryRecord {
  const parsed = parseStateJson(file, text, 'registry record');
  if (parsed !== null && typeof parsed === 'object' && 'Key' in parsed) return parseGoRecord(file, parsed as GoRecord);
  const r = parsed as Partial<RegistryRecord> | null;
  if (
    r === null ||
    typeof r !== 'object' ||
    r.v !== 1 ||
    typeof r.artifact_type !== 'string' ||
    typeof r.version !== 'string' ||
    typeof r.uri !== 'string' ||
    typeof r.published_at !== 'string' ||
    typeof r.tenant !== 'string' ||
    typeof r.surface !== 'string' ||
    typeof r.window?.start !== 'string' ||
    typeof r.window?.end !== 'string' ||
    typeof r.size_bytes !== 'number' ||
    typeof r.sha256 !== 'string'
  ) {
    throw ioError(
      'parse registry record',
      file,
      new Error('expected v 1 with tenant, surface, artifact_type, version, uri, window {start, end}, published_at, size_bytes and sha256'),
    );
  }
  return r as RegistryRecord;
}

/** An audit entry, checked enough that readers never meet a null or a missing field. */
export function parseAudit(file: string, text: string): AuditEntry {
  const a = parseStateJson(file, text, 'audit entry') as Partial<AuditEntry> | null;
  if (
    a === null ||
    typeof a !== 'object' ||
    typeof a.type !== 'string' ||
    typeof a.action !== 'string' ||
    typeof a.to !== 'string' ||
    typeof a.at !== 'string'
  ) {
    throw ioError('parse audit entry', file, new Error('expected an object with at, action, type, from and to'));
  }
  return a as AuditEntry;
}

/** A record as the Go tool writes it (docs/contract.md §9): Go's field names, no size, sha256 or publish time. */
interface GoRecord {
  Key?: { Tenant?: unknown; Surface?: unknown; Segment?: unknown; Type?: unknown } | null;
  Window?: { Start?: unknown; End?: unknown } | null;
  Version?: unknown;
  URI?: unknown;
  BuiltAt?: unknown;
}

/** An RFC 3339 time as our records write it (UTC, seconds), or null when it does not parse. */
function utcSeconds(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : rfc3339Seconds(ms);
}

/**
 * A Go tool record read into our record shape (`format: 'go'`): the window in our
 * seconds form, `built_at` as Go wrote it (nanoseconds), `published_at` = that build time
 * to the second (the Go tool records no publish time; it published right after the build),
 * `size_bytes` and `sha256` null. An empty Go segment, like ours, is no segment.
 */
function parseGoRecord(file: string, r: GoRecord): RegistryRecord {
  const key = r.Key;
  const start = utcSeconds(r.Window?.Start);
  const end = utcSeconds(r.Window?.End);
  const builtAt = utcSeconds(r.BuiltAt);
  if (
    key === null ||
    typeof key !== 'object' ||
    typeof key.Tenant !== 'string' ||
    typeof key.Surface !== 'string' ||
    (key.Segment !== undefined && typeof key.Segment !== 'string') ||
    typeof key.Type !== 'string' ||
    typeof r.Version !== 'string' ||
    typeof r.URI !== 'string' ||
    start === null ||
    end === null ||
    builtAt === null
  ) {
    throw ioError(
      'parse registry record',
      file,
      new Error('a Go tool record needs Key {Tenant, Surface, Segment, Type}, Window {Start, End} as RFC 3339 times, Version, URI and BuiltAt'),
    );
  }
  return {
    v: 1,
    tenant: key.Tenant,
    surface: key.Surface,
    segment: key.Segment === undefined || key.Segment === '' ? undefined : key.Segment,
    artifact_type: key.Type,
    version: r.Version,
    uri: r.URI,
    window: { start, end },
    built_at: r.BuiltAt as string,
    published_at: builtAt,
    size_bytes: null,
    sha256: null,
    format: 'go',
  };
}
