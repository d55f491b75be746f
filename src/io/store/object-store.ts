/**
 * Object store for published blobs (docs/contract.md §6): the interface and what every backend shares.
 * Keys are `<tenant>/<surface>/<type>/<version>.json`; blobs are immutable: putting an
 * existing key never rewrites it. Backends: fs/object-store.ts (a folder, `file://` URIs)
 * and s3/object-store.ts (a bucket, `s3://` URIs).
 */
import { ioError } from '../../errors';
import { pathSegment } from '../atomic';
import { recomputeVersion } from '../artifacts/codec';

export interface ObjectStore {
  /** The URI a key has (or will have) in this store, as written into records and manifests. */
  uriFor(key: string): string;
  /**
   * Stores `bytes` under `key` unless the key already exists. `created` is false when the
   * blob was already there; the stored bytes then stay as they were, and must be the same
   * artifact (`checkExistingBlob`).
   */
  put(key: string, bytes: Uint8Array): Promise<{ uri: string; created: boolean }>;
  /** The bytes of a blob; E_NOT_FOUND when it does not exist. */
  get(uri: string): Promise<Uint8Array>;
  exists(uri: string): Promise<boolean>;
  /**
   * Optional fast path for a blob already complete and fsynced in a local file: stores it
   * under `key` without copying its bytes (`path`: where it is now stored). Returns null when it cannot (the key exists, or
   * the file cannot be linked there); the caller then uses `put`.
   */
  putFile?(key: string, file: string): Promise<{ uri: string; path: string } | null>;
  /**
   * Where a URI from a record or a manifest leads, as a consumer would resolve it: the URI
   * this store writes for that blob (what a rollback puts into the manifest) and
   * `readerProblem`, a sentence when a reader of `uri` as written would not open that blob
   * (a Go-era `file://` URI with unencoded `#`, `%`, `?`…), else null. A URI that leads
   * outside the store is E_UNSAFE_URI naming `where` (the record or manifest entry).
   */
  locate(uri: string, where: string): Promise<LocatedBlob>;
}

export interface LocatedBlob {
  uri: string;
  readerProblem: string | null;
}

/** `<tenant>/<surface>/<type>/<version>.json`; each part must be a plain path segment. */
export function objectKey(tenant: string, surface: string, type: string, version: string): string {
  return [pathSegment('tenant', tenant), pathSegment('surface', surface), pathSegment('artifact type', type), `${pathSegment('version', version)}.json`].join(
    '/',
  );
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/**
 * Whether an existing immutable blob and an offered one are the same artifact: the same
 * bytes, or the same content apart from `build.built_at` (a rerun of a day re-encodes the
 * same version with a new build time). Compared by recomputed version, on bytes.
 */
function sameBlob(stored: Uint8Array, offered: Uint8Array): boolean {
  if (bytesEqual(stored, offered)) return true;
  const a = recomputeVersion(stored);
  return a !== null && a === recomputeVersion(offered);
}

/**
 * Accepts an existing blob offered again when it is the same artifact (`sameBlob`): the
 * version is a hash of everything except `build`, so re-running a day (for instance after
 * a crash between blob write and manifest swap) yields the same key with a new build
 * time, and the first published blob stands. Anything else means the stored blob is not
 * what this key promises: an E_IO error naming `where` (its path or URI).
 */
export function checkExistingBlob(stored: Uint8Array, offered: Uint8Array, uri: string, where: string): void {
  if (!sameBlob(stored, offered)) {
    throw ioError(
      'put',
      where,
      new Error(
        `immutable blob ${uri} already exists with different content (${stored.byteLength} bytes stored, ${offered.byteLength} offered); it is never rewritten`,
      ),
    );
  }
}
