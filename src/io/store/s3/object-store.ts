/**
 * Object store on an S3-compatible bucket (docs/storage-contract.md §1, docs/contract.md §6). Blob key
 * `<prefix>/<tenant>/<surface>/<type>/<version>.json` (no leading slash without a prefix),
 * URI `s3://<bucket>/<key>`.
 *
 * Blobs are immutable, as in FsObjectStore: an existing key is never rewritten. `put`
 * checks for the key first and writes with `If-None-Match: *`; when the key exists (or a
 * concurrent writer won the race) the stored bytes are compared with `sameBlob`, which
 * accepts the same artifact with another `build.built_at`, and anything else is E_IO
 * (checkExistingBlob).
 */
import type { S3Config } from '../../../config/types';
import { ioError, notFound, unsupported } from '../../../errors';
import type { LocatedBlob, ObjectStore } from '../object-store';
import { checkExistingBlob } from '../object-store';
import { parseS3Uri, S3Bucket } from './bucket';

export class S3ObjectStore implements ObjectStore {
  readonly bucket: S3Bucket;

  constructor(cfg: S3Config | S3Bucket) {
    this.bucket = cfg instanceof S3Bucket ? cfg : new S3Bucket(cfg);
  }

  uriFor(key: string): string {
    return this.bucket.uri(this.bucket.key(key));
  }

  async put(key: string, bytes: Uint8Array): Promise<{ uri: string; created: boolean }> {
    const k = this.bucket.key(key);
    const uri = this.bucket.uri(k);
    if ((await this.bucket.putIfAbsent(k, bytes)) === 'created') return { uri, created: true };
    const existing = await this.bucket.get(k);
    if (existing === null) {
      throw ioError('put', uri, new Error('the object was reported as existing but cannot be read back (deleted meanwhile?); run again'));
    }
    checkExistingBlob(existing.bytes, bytes, uri, uri);
    return { uri, created: false };
  }

  async get(uri: string): Promise<Uint8Array> {
    const { bucket, key } = this.locateKey(uri);
    const obj = await this.bucket.get(key, bucket);
    if (obj === null) throw notFound(`blob ${uri} does not exist`);
    return obj.bytes;
  }

  async exists(uri: string): Promise<boolean> {
    const { bucket, key } = this.locateKey(uri);
    return this.bucket.exists(key, bucket);
  }

  /** `s3://` URIs need no encoding: readers take the key as written. */
  // eslint-disable-next-line @typescript-eslint/require-await -- async so that a bad URI rejects, as the interface says
  async locate(uri: string): Promise<LocatedBlob> {
    this.locateKey(uri);
    return { uri, readerProblem: null };
  }

  /** Any `s3://` URI is readable with this store's endpoint and credentials (records may name another bucket). */
  private locateKey(uri: string): { bucket: string; key: string } {
    const parsed = parseS3Uri(uri);
    if (parsed === null) throw unsupported(`the S3 object store cannot read ${JSON.stringify(uri)}: only s3://<bucket>/<key> URIs`);
    return parsed;
  }
}
