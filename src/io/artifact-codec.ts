/**
 * Artifact JSON (SPEC §5): field order, version hash and published blob bytes.
 *
 * version = sha256(compact JSON with build = {"built_at":"","version":""});
 * blob    = pretty JSON with build = {built_at, version, source_hash: version}.
 */
import { createHash } from 'node:crypto';
import { encodeCompact, encodePretty } from './go-json';

export const ARTIFACT_PAYLOAD_FIELD = {
  popularity: 'items',
  cooc: 'neighbors',
  implicit: 'users',
  content_sim: 'items',
  session_seq: 'users',
} as const;

export type ArtifactKind = keyof typeof ARTIFACT_PAYLOAD_FIELD;

export interface ArtifactWindow {
  start: string;
  end: string;
}

export interface ArtifactHeader {
  artifactType: ArtifactKind;
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

/** The artifact as an object whose key order is the SPEC's field order. */
export function artifactObject(h: ArtifactHeader, payload: unknown[], build: Build): Record<string, unknown> {
  return {
    v: 1,
    artifact_type: h.artifactType,
    tenant: h.tenant,
    surface: h.surface,
    segment: h.segment === '' ? undefined : h.segment,
    window: { start: h.window.start, end: h.window.end },
    [ARTIFACT_PAYLOAD_FIELD[h.artifactType]]: payload,
    build: build.source_hash ? build : { built_at: build.built_at, version: build.version },
  };
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The exact bytes the version hashes (the `*.hashed.json` of the worked example). */
export function hashedJson(h: ArtifactHeader, payload: unknown[]): string {
  return encodeCompact(artifactObject(h, payload, { built_at: '', version: '' }));
}

export interface EncodedArtifact {
  version: string;
  /** The published blob, UTF-8. */
  blob: Buffer;
}

export function encodeArtifact(h: ArtifactHeader, payload: unknown[], builtAt: string): EncodedArtifact {
  const version = sha256Hex(hashedJson(h, payload));
  const text = encodePretty(artifactObject(h, payload, { built_at: builtAt, version, source_hash: version }));
  return { version, blob: Buffer.from(text, 'utf8') };
}
