/**
 * Artifact JSON (docs/contract.md §5): field order, version hash and published blob bytes.
 *
 * version = sha256(compact JSON with build = {"built_at":"","version":""});
 * blob    = pretty JSON with build = {built_at, version, source_hash: version}.
 */
import { createHash } from 'node:crypto';
import type { ArtifactType } from '../../engine/artifact-types';
import { join } from 'node:path';
import { AtomicFileStream } from '../atomic';
import { compactFromPretty, JsonCompactor, JsonWriter } from './go-json';

export interface ArtifactWindow {
  start: string;
  end: string;
}

export interface ArtifactHeader {
  artifactType: ArtifactType;
  /** The payload's key in the blob (the type's `payloadField`). */
  payloadField: string;
  tenant: string;
  surface: string;
  segment: string;
  window: ArtifactWindow;
}

export interface Build {
  built_at: string;
  version: string;
  source_hash?: string;
}

/**
 * A payload that writes itself straight from typed arrays (the engine's path), or a plain
 * array of objects (tests, small artifacts).
 */
export interface TypedPayload {
  readonly length: number;
  write(w: JsonWriter): void;
}
export type Payload = readonly unknown[] | TypedPayload;

const HASHED_BUILD: Build = { built_at: '', version: '' };
/** The compact bytes of the hashed build section and the closing brace: how every version's hashed bytes end. */
const HASHED_BUILD_TAIL = ',"build":{"built_at":"","version":""}}';

/** Writes the artifact in the field order of docs/contract.md §5. */
function writeArtifact(w: JsonWriter, h: ArtifactHeader, payload: Payload, build: Build): void {
  writeBody(w, h, payload);
  writeBuild(w, build);
}

/** Everything before the build section: `{`, the header fields and the payload. */
function writeBody(w: JsonWriter, h: ArtifactHeader, payload: Payload): void {
  w.beginObject();
  w.key('v').number(1);
  w.key('artifact_type').string(h.artifactType);
  w.key('tenant').string(h.tenant);
  w.key('surface').string(h.surface);
  if (h.segment !== '') w.key('segment').string(h.segment);
  w.key('window').beginObject().key('start').string(h.window.start).key('end').string(h.window.end).endObject();
  w.key(h.payloadField);
  if (Array.isArray(payload)) w.value(payload);
  else (payload as TypedPayload).write(w);
}

/** The build section, always last (splitBlob relies on it), the closing brace, and a flush. */
function writeBuild(w: JsonWriter, build: Build): void {
  w.key('build').beginObject().key('built_at').string(build.built_at).key('version').string(build.version);
  if (build.source_hash) w.key('source_hash').string(build.source_hash);
  w.endObject().endObject();
  w.flush();
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The exact bytes the version hashes (the `*.hashed.json` of the worked example). */
export function hashedJson(h: ArtifactHeader, payload: Payload): string {
  const chunks: Buffer[] = [];
  writeArtifact(new JsonWriter(false, (c) => chunks.push(c)), h, payload, HASHED_BUILD);
  return Buffer.concat(chunks).toString('utf8');
}

export interface EncodedArtifact {
  version: string;
  /** The published blob, UTF-8. */
  blob: Buffer;
  /** SHA-256 of the blob bytes, to check a stored copy against without re-deriving the version. */
  sha256: string;
}

/**
 * Version and published blob. The compact form streams into the hash chunk by chunk and
 * is never held whole; the blob is built once in 1 MiB chunks and concatenated.
 */
export function encodeArtifact(h: ArtifactHeader, payload: Payload, builtAt: string): EncodedArtifact {
  const hash = createHash('sha256');
  writeArtifact(new JsonWriter(false, (c) => hash.update(c)), h, payload, HASHED_BUILD);
  const version = hash.digest('hex');
  const chunks: Buffer[] = [];
  writeArtifact(new JsonWriter(true, (c) => chunks.push(c)), h, payload, { built_at: builtAt, version, source_hash: version });
  const blob = Buffer.concat(chunks);
  return { version, blob, sha256: sha256Hex(blob) };
}

export interface FileArtifact {
  version: string;
  /** `<dir>/<version>.json`, written atomically. */
  path: string;
  size: number;
  /** SHA-256 of the bytes written. */
  sha256: string;
}

/**
 * As encodeArtifact, but the blob streams into `<dir>/<version>.json` chunk by chunk
 * (AtomicFileStream): a large artifact is never held whole in memory.
 *
 * One encoding pass: the pretty bytes before the build section go to a temp file and the
 * blob hash, and, compacted on the fly, to the version hash; the version then follows from
 * the hashed build's compact tail, the build section is written last, and the temp file is
 * committed under the version's name. `chunkSize` is the JSON writer's (tests use tiny ones).
 */
export function encodeArtifactToFile(h: ArtifactHeader, payload: Payload, builtAt: string, dir: string, chunkSize?: number): FileArtifact {
  const out = new AtomicFileStream(join(dir, 'artifact.json'));
  const blobHash = createHash('sha256');
  const versionHash = createHash('sha256');
  const compactor = new JsonCompactor();
  let body = true;
  let version: string;
  try {
    const sink = (c: Buffer) => {
      blobHash.update(c);
      out.write(c);
      // The writer never touches a chunk again once handed over, and both uses above are
      // done with it: compact it in place for the version hash.
      if (body) versionHash.update(c.subarray(0, compactor.push(c, c)));
    };
    const w = new JsonWriter(true, sink, chunkSize);
    writeBody(w, h, payload);
    w.flush();
    body = false;
    version = versionHash.update(HASHED_BUILD_TAIL).digest('hex');
    writeBuild(w, { built_at: builtAt, version, source_hash: version });
  } catch (err) {
    out.abort();
    throw err;
  }
  out.commit(join(dir, `${version}.json`));
  return { version, path: out.target, size: out.size, sha256: blobHash.digest('hex') };
}

export interface BlobParts {
  /** Fields before the payload: v, artifact_type, tenant, surface, segment?, window. */
  header: Record<string, unknown>;
  build: Record<string, unknown>;
  /** The version recomputed from the blob's own bytes. */
  recomputedVersion: string;
  /** Compact JSON text of the payload array (parse it only when rows must be inspected). */
  payloadJson: () => string;
}

/**
 * Splits a blob without parsing its payload: one byte pass to the compact form, then the
 * header and build objects are parsed on their own and the version is recomputed by
 * hashing the compact bytes with the build replaced. Returns null when the blob is not
 * an artifact in our layout. The payload field name cannot occur inside a string at this
 * point because quotes inside strings are escaped.
 */
export function splitBlob(blob: Uint8Array, payloadField: string): BlobParts | null {
  const compact = compactFromPretty(blob);
  const fieldAt = compact.indexOf(`,${JSON.stringify(payloadField)}:`);
  const buildAt = compact.lastIndexOf(',"build":{');
  if (fieldAt < 0 || buildAt < fieldAt || compact[compact.length - 1] !== 0x7d) return null;
  try {
    const header = JSON.parse(compact.subarray(0, fieldAt).toString('utf8') + '}') as Record<string, unknown>;
    const { build } = JSON.parse('{' + compact.subarray(buildAt + 1, compact.length - 1).toString('utf8') + '}') as { build: Record<string, unknown> };
    const payloadStart = fieldAt + payloadField.length + 4;
    return {
      header,
      build,
      recomputedVersion: versionOfCompact(compact, buildAt),
      payloadJson: () => compact.subarray(payloadStart, buildAt).toString('utf8'),
    };
  } catch {
    return null;
  }
}

function versionOfCompact(compact: Buffer, buildAt: number): string {
  return createHash('sha256').update(compact.subarray(0, buildAt)).update(HASHED_BUILD_TAIL).digest('hex');
}

/**
 * The version recomputed from a blob's own bytes (its content with the build blanked), or
 * null when it is not an artifact in our layout. Two blobs with the same recomputed version
 * are the same artifact, whatever their build times. Byte work only: no JSON.parse.
 */
export function recomputeVersion(blob: Uint8Array): string | null {
  const compact = compactFromPretty(blob);
  const buildAt = compact.lastIndexOf(',"build":{');
  if (buildAt < 0 || compact[0] !== 0x7b || compact[compact.length - 1] !== 0x7d) return null;
  return versionOfCompact(compact, buildAt);
}

/**
 * The header and build of a blob in the published (pretty) layout, found with two byte
 * searches: the payload key and `build` are the only depth-1 keys on their lines, and a
 * raw newline cannot occur inside a JSON string. The payload is not read. Null when the
 * blob is not in that layout.
 */
export function blobEnvelope(blob: Uint8Array, payloadField: string): Pick<BlobParts, 'header' | 'build'> | null {
  const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const fieldAt = bytes.indexOf(`,\n  ${JSON.stringify(payloadField)}: `);
  const buildAt = bytes.lastIndexOf(',\n  "build": ');
  if (fieldAt < 0 || buildAt < fieldAt) return null;
  try {
    const header = JSON.parse(bytes.toString('utf8', 0, fieldAt) + '}') as Record<string, unknown> | null;
    const { build } = JSON.parse('{' + bytes.toString('utf8', buildAt + 1)) as { build?: Record<string, unknown> };
    return header && build ? { header, build } : null;
  } catch {
    return null;
  }
}

/** A payload as plain JSON values (for tests and tools; the engine never needs this). */
export function payloadValue(payload: Payload): unknown[] {
  if (Array.isArray(payload)) return payload;
  const chunks: Buffer[] = [];
  const w = new JsonWriter(false, (c) => chunks.push(c));
  (payload as TypedPayload).write(w);
  w.flush();
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown[];
}
