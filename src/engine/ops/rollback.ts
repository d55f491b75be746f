/**
 * Rollback of the current manifest (docs/contract.md §6); its history is read by history.ts.
 *
 * `rollback` points `current.<type>` of one (tenant, surface) back at a version published
 * before: the target must have a registry record, its blob must exist in the object store
 * and pass the artifact gate again (every row inspected, against the window, segment… of
 * its record and the caps of the current config; our records also by size and SHA-256, the
 * Go tool's by the version recomputed from the blob, recordedBlobProblem). Only that type's pointer changes, by
 * the same atomic manifest swap the publisher uses and under the same publisher lock, and
 * an audit entry {at, action, type, from, to, user, host} is appended. Anything wrong with
 * the target fails before the manifest is touched, including a record whose URI leads
 * outside the object store (E_UNSAFE_URI). The manifest gets the URI as this store writes
 * it (percent-encoded `file://`), whatever form the record holds.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { ArtifactType } from '../artifact-types';
import type { Config } from '../../config/types';
import { gateFailed, notFound, usageError } from '../../errors';
import type { ObjectStore } from '../../io/store/object-store';
import { withPublisherLock } from '../../io/store/lock';
import type { AuditEntry, Manifest, Registry, RegistryRecord } from '../../io/store/registry';
import { recordedBlobProblem } from '../../io/store/registry';
import { openStorage } from '../../io/store/open';
import { blobEnvelope } from '../../io/artifacts/codec';
import { checkArtifactBlob } from '../gates';
import { artifactType } from '../artifact-types';

export interface RollbackRequest {
  config: Config;
  tenant: string;
  surface: string;
  type: ArtifactType;
  /** Exactly one of `version` and `previous`. */
  version?: string;
  /** The artifact that was current for `type` before the current one. */
  previous?: boolean;
  now?: () => Date;
  /** Who rolls back; default $USER, else $LOGNAME, else os.userInfo(). */
  user?: string;
  host?: string;
}

export interface RollbackResult {
  type: ArtifactType;
  version: string;
  from: string | null;
  to: string;
  /** False when the target was already current (nothing swapped, no audit entry). */
  changed: boolean;
  /** The audit entry's file, when changed. */
  audit: string | null;
  manifest: Manifest;
}

/** The user an audit entry names. */
export function currentUser(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.USER || env.LOGNAME;
  if (fromEnv) return fromEnv;
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** The version a blob URI names (object key `<tenant>/<surface>/<type>/<version>.json`). */
export function versionOfUri(uri: string): string {
  return path.posix.basename(uri).replace(/\.json$/, '');
}

export async function rollback(req: RollbackRequest): Promise<RollbackResult> {
  if ((req.version === undefined) === !req.previous) throw usageError('rollback needs exactly one of --version <v> and --previous');
  const { config, tenant, surface, type } = req;
  const now = req.now ?? (() => new Date());
  const { store, registry } = openStorage(config);
  return withPublisherLock(registry, tenant, surface, {}, async () => {
    // Everything is read under the lock, so no publish can slip in between check and swap.
    const manifest = await registry.readManifest(tenant, surface);
    if (manifest === null) throw notFound(`no manifest for ${tenant}/${surface} at ${registry.manifestPath(tenant, surface)}: nothing was published yet`);
    const from = manifest.current[type] ?? null;
    const version = req.previous ? await previousVersion(registry, tenant, surface, type, from) : (req.version as string);
    const record = await registry.readRecord(tenant, surface, type, version);
    if (record === null) {
      throw notFound(`${type} version ${version} has no registry record at ${registry.recordPath(tenant, surface, type, version)}`);
    }
    // The record's URI as a consumer resolves it, inside the object store only (E_UNSAFE_URI
    // naming the record otherwise, before anything is touched); the manifest gets the URI
    // this store writes for that blob, percent-encoded, also for a Go-era record.
    const { uri: to } = await store.locate(record.uri, `registry record ${registry.recordPath(tenant, surface, type, version)}`);
    await checkTarget(store, record, to, config);
    if (to === from) return { type, version, from, to, changed: false, audit: null, manifest };
    const swapped = await registry.swapManifest(tenant, surface, { [type]: to }, now());
    const entry: AuditEntry = {
      at: swapped.updated_at,
      action: 'rollback',
      type,
      from,
      to,
      user: req.user ?? currentUser(),
      host: req.host ?? os.hostname(),
    };
    const audit = await registry.appendAudit(tenant, surface, entry);
    return { type, version, from, to, changed: true, audit, manifest: swapped };
  });
}

/** The version of the newest replaced manifest whose URI for `type` differs from the current one. */
async function previousVersion(registry: Registry, tenant: string, surface: string, type: string, current: string | null): Promise<string> {
  const history = await registry.listHistory(tenant, surface);
  for (let i = history.length - 1; i >= 0; i--) {
    const uri = history[i].manifest.current[type];
    if (uri !== undefined && uri !== current) return versionOfUri(uri);
  }
  throw notFound(`--previous: no earlier ${type} in the manifest history of ${tenant}/${surface}`);
}

/** The target blob (at `uri`, the record's as located) exists, is the bytes its record describes, and passes the artifact gate. */
async function checkTarget(store: ObjectStore, record: RegistryRecord, uri: string, config: Config): Promise<void> {
  const type = record.artifact_type as ArtifactType;
  const blob = await store.get(uri); // E_NOT_FOUND naming the URI when missing
  const what = `rollback target ${type} ${record.version} (${uri})`;
  const problem = recordedBlobProblem(record, blob);
  if (problem !== null) throw gateFailed(what, `blob is not the one its record describes (${problem})`);
  checkArtifactBlob(
    blob,
    {
      artifactType: type,
      payloadField: artifactType(type).payloadField,
      tenant: record.tenant,
      surface: record.surface,
      segment: expectedSegment(record, blob),
      window: record.window,
      version: record.version,
      ...artifactType(type).caps(config.limits),
    },
    'inspect',
  );
}

/**
 * The segment the target blob must carry: its record's. The Go tool names the empty
 * segment `default` in its record keys (as in its checkpoint paths), so a Go record with
 * segment `default` also matches a blob without a segment.
 */
function expectedSegment(record: RegistryRecord, blob: Uint8Array): string {
  const segment = record.segment ?? '';
  if (record.format !== 'go' || segment !== 'default') return segment;
  const header = blobEnvelope(blob, artifactType(record.artifact_type as ArtifactType).payloadField)?.header;
  return header !== undefined && header.segment === undefined ? '' : segment;
}
