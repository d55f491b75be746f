/**
 * One bucket of an S3-compatible store (docs/storage-contract.md §1), the plumbing under S3ObjectStore and
 * S3Registry: the client built from an `S3Config`, keys under the configured prefix,
 * `s3://<bucket>/<key>` URIs, conditional writes, and errors a person can act on.
 *
 * - Path-style addressing (MinIO, Ceph, R2… need it). `endpoint` is `host:port` (the scheme
 *   comes from `use_ssl`) or a URL; empty means AWS itself for `region`.
 * - Credentials from `access_key`/`secret_key`, or the default AWS chain (environment,
 *   shared files, instance role…) when both are empty.
 * - Throttling, 5xx and dropped connections are retried by the SDK's standard strategy
 *   (exponential backoff with jitter), `maxAttempts` tries in all (default 5;
 *   AWS_MAX_ATTEMPTS overrides). A connection that stays silent fails after 60 s.
 * - The bucket is created on the first write that finds it missing (CreateBucket needs the
 *   permission; without it the write fails with the store's error).
 * - Only checksums the operation requires are sent and checked: the SDK's default CRC32
 *   trailers are not understood by every S3-compatible store.
 * - Every failure is an E_IO error naming the operation and `s3://<bucket>/<key>`, with the
 *   store's error code, never a stack trace.
 */
import type * as S3Sdk from '@aws-sdk/client-s3';
import type { BucketLocationConstraint, S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { createReadStream, promises as fs } from 'node:fs';
import { Readable } from 'node:stream';
import type { S3Config } from '../../../config/types';
import { configError, ioError, isPipelineError } from '../../../errors';
import { compareUtf8 } from '../../parse/utf8';

/**
 * The AWS SDK, loaded on first use: a filesystem-mode run never needs it, and loading it
 * costs ~50 ms at start-up of every command.
 */
let sdkModule: typeof S3Sdk | undefined;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use (see above)
const sdk = (): typeof S3Sdk => (sdkModule ??= require('@aws-sdk/client-s3') as typeof S3Sdk);

export interface S3BucketOptions {
  /** Tries per request, first one included; default 5 (or AWS_MAX_ATTEMPTS). */
  maxAttempts?: number;
  /** Where the config came from, for messages: `object_store.s3`. */
  configKey?: string;
}

export interface S3Object {
  bytes: Uint8Array;
  /** As the store sent it, quotes included: what If-Match takes. */
  etag: string;
}

const S3_SCHEME = 's3://';

/** Files up to this size are uploaded from memory (retryable); larger ones streamed. */
const IN_MEMORY_UPLOAD_BYTES = 256 << 20;

/** A PUT body: bytes, or a file streamed (a fresh stream per attempt) with its length. */
type PutBody = Uint8Array | string | { stream: () => Readable; length: number };

/** `host:port` → `http(s)://host:port` by `useSsl`; a URL stays as it is; '' stays ''. */
function endpointUrl(endpoint: string, useSsl: boolean): string {
  if (endpoint === '') return '';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)) return endpoint;
  return `${useSsl ? 'https' : 'http'}://${endpoint}`;
}

/** `s3://bucket/key` → its parts; null for anything else. */
export function parseS3Uri(uri: string): { bucket: string; key: string } | null {
  if (!uri.startsWith(S3_SCHEME)) return null;
  const rest = uri.slice(S3_SCHEME.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return null;
  return { bucket: rest.slice(0, slash), key: rest.slice(slash + 1) };
}

export class S3Bucket {
  readonly client: S3Client;
  readonly name: string;
  /** Without leading or trailing slashes; '' for none. */
  readonly prefix: string;
  /** The endpoint as messages name it. */
  readonly endpoint: string;
  private readonly region: string;
  private readonly configKey: string;
  private created: Promise<void> | null = null;

  constructor(cfg: S3Config, opts: S3BucketOptions = {}) {
    this.configKey = opts.configKey ?? 'object_store.s3';
    if ((cfg.access_key === '') !== (cfg.secret_key === '')) {
      throw configError(`${this.configKey}: access_key and secret_key go together (set both, or leave both empty to use the AWS credential chain)`);
    }
    this.name = cfg.bucket;
    this.prefix = cfg.prefix.replace(/^\/+|\/+$/g, '');
    this.region = cfg.region || 'us-east-1';
    const url = endpointUrl(cfg.endpoint, cfg.use_ssl);
    this.endpoint = url === '' ? `AWS S3 (${this.region})` : url;
    // The SDK warns on stderr at client creation that its 2027 releases need Node 22. The
    // warning is for whoever upgrades the SDK, and on stderr it would break the one-JSON-
    // object-per-line logs of --log-format json. Set the variable yourself to see it.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const config: S3ClientConfig = {
      region: this.region,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 60_000 },
    };
    if (url !== '') config.endpoint = url;
    if (cfg.access_key !== '') config.credentials = { accessKeyId: cfg.access_key, secretAccessKey: cfg.secret_key };
    if (opts.maxAttempts !== undefined) config.maxAttempts = opts.maxAttempts;
    else if (!process.env.AWS_MAX_ATTEMPTS) config.maxAttempts = 5;
    this.client = new (sdk().S3Client)(config);
  }

  /** `<prefix>/<rel>`, or `rel` without a prefix. */
  key(rel: string): string {
    return this.prefix === '' ? rel : `${this.prefix}/${rel}`;
  }

  uri(key: string, bucket = this.name): string {
    return `${S3_SCHEME}${bucket}/${key}`;
  }

  /** The object, or null when it (or its bucket) does not exist. */
  async get(key: string, bucket = this.name): Promise<S3Object | null> {
    try {
      const res = await this.client.send(new (sdk().GetObjectCommand)({ Bucket: bucket, Key: key }));
      const bytes = res.Body ? await res.Body.transformToByteArray() : new Uint8Array(0);
      return { bytes, etag: res.ETag ?? '' };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw this.error('get', key, err, bucket);
    }
  }

  /**
   * The object's body as a stream (never held whole), or null when it (or its bucket) does
   * not exist. The caller reads or destroys it; a failure mid-body is the stream's error.
   */
  async stream(key: string): Promise<Readable | null> {
    try {
      const res = await this.client.send(new (sdk().GetObjectCommand)({ Bucket: this.name, Key: key }));
      return res.Body instanceof Readable ? res.Body : Readable.from([]);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw this.error('get', key, err);
    }
  }

  /** The object as UTF-8 text, or null. */
  async getText(key: string): Promise<{ text: string; etag: string } | null> {
    const obj = await this.get(key);
    return obj === null ? null : { text: Buffer.from(obj.bytes).toString('utf8'), etag: obj.etag };
  }

  async exists(key: string, bucket = this.name): Promise<boolean> {
    try {
      await this.client.send(new (sdk().HeadObjectCommand)({ Bucket: bucket, Key: key }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw this.error('stat', key, err, bucket);
    }
  }

  /**
   * Writes `body` at `key` unless an object is there: 'exists' leaves that object as it is.
   * A HEAD first (so a store that ignores conditional writes still never rewrites an object
   * that was there before), then a PUT with `If-None-Match: *` (so a writer racing us loses
   * with 412 instead of overwriting).
   */
  async putIfAbsent(key: string, body: Uint8Array | string): Promise<'created' | 'exists'> {
    if (await this.exists(key)) return 'exists';
    const put = await this.put(key, body, { IfNoneMatch: '*' });
    return put === 'precondition' ? 'exists' : 'created';
  }

  /**
   * Writes `body` at `key` only if the object still has `etag` (`If-Match`), or, with etag
   * null, only if there is none (`If-None-Match: *`). 'precondition': someone else wrote it
   * since it was read; nothing was written.
   */
  async putIfUnchanged(key: string, body: Uint8Array | string, etag: string | null): Promise<'written' | 'precondition'> {
    const put = await this.put(key, body, etag === null ? { IfNoneMatch: '*' } : { IfMatch: etag });
    return put === 'precondition' ? 'precondition' : 'written';
  }

  /** Writes `body` at `key`, replacing any object there (a PUT is atomic: readers see the old or the new object). */
  async putObject(key: string, body: Uint8Array | string): Promise<void> {
    await this.put(key, body, {});
  }

  /**
   * Uploads a complete local file to `key`, replacing any object there. Files up to
   * IN_MEMORY_UPLOAD_BYTES are read whole (so the SDK can retry the request); larger ones are
   * streamed in one PUT (up to 5 GiB, S3's limit for one PUT) and a failure is not retried
   * here: the command fails with E_IO and is run again.
   */
  async putFile(key: string, file: string): Promise<void> {
    let size: number;
    try {
      size = (await fs.stat(file)).size;
      if (size <= IN_MEMORY_UPLOAD_BYTES) {
        await this.put(key, await fs.readFile(file), {});
        return;
      }
    } catch (err) {
      if (isPipelineError(err)) throw err;
      throw ioError('read', file, err);
    }
    await this.put(key, { stream: () => createReadStream(file), length: size }, {});
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new (sdk().DeleteObjectCommand)({ Bucket: this.name, Key: key }));
    } catch (err) {
      if (isNotFound(err)) return;
      throw this.error('delete', key, err);
    }
  }

  /**
   * Names (key minus `dirKey/`) of the objects directly under `dirKey`, or with `deep` of
   * every object below it (names then hold `/`), in byte order; none when the bucket is missing.
   */
  async list(dirKey: string, deep = false): Promise<string[]> {
    const prefix = `${dirKey}/`;
    const names: string[] = [];
    let token: string | undefined;
    try {
      do {
        const res = await this.client.send(
          new (sdk().ListObjectsV2Command)({ Bucket: this.name, Prefix: prefix, Delimiter: deep ? undefined : '/', ContinuationToken: token }),
        );
        for (const o of res.Contents ?? []) if (o.Key !== undefined) names.push(o.Key.slice(prefix.length));
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (err) {
      if (isNotFound(err)) return [];
      throw this.error('list', `${prefix}*`, err);
    }
    return names.filter((n) => n !== '' && (deep || !n.includes('/'))).sort(compareUtf8);
  }

  /** The E_IO error of a failed operation on `key`, naming the URI and what to check. */
  error(action: string, key: string, err: unknown, bucket = this.name): Error {
    return ioError(action, this.uri(key, bucket), new Error(this.describe(err)));
  }

  private async put(key: string, body: PutBody, condition: { IfNoneMatch?: string; IfMatch?: string }): Promise<'ok' | 'precondition'> {
    const send = () =>
      this.client.send(
        new (sdk().PutObjectCommand)({
          Bucket: this.name,
          Key: key,
          ...(typeof body === 'string' || body instanceof Uint8Array ? { Body: body } : { Body: body.stream(), ContentLength: body.length }),
          ContentType: 'application/json',
          ...condition,
        }),
      );
    // If-Match on an object that is gone answers 404 NoSuchKey: the condition failed too.
    const failed = (err: unknown) => isPreconditionFailed(err) || (condition.IfMatch !== undefined && errorName(err) === 'NoSuchKey');
    try {
      await send();
      return 'ok';
    } catch (err) {
      if (failed(err)) return 'precondition';
      if (errorName(err) !== 'NoSuchBucket') throw this.error('put', key, err);
    }
    await this.createBucket(key);
    try {
      await send();
      return 'ok';
    } catch (err) {
      if (failed(err)) return 'precondition';
      throw this.error('put', key, err);
    }
  }

  /** CreateBucket once per process; "already yours" is fine. */
  private createBucket(forKey: string): Promise<void> {
    this.created ??= (async () => {
      try {
        await this.client.send(
          new (sdk().CreateBucketCommand)({
            Bucket: this.name,
            ...(this.region !== 'us-east-1' && { CreateBucketConfiguration: { LocationConstraint: this.region as BucketLocationConstraint } }),
          }),
        );
      } catch (err) {
        if (errorName(err) === 'BucketAlreadyOwnedByYou') return;
        throw ioError(
          'create bucket',
          `${S3_SCHEME}${this.name}`,
          new Error(`the bucket does not exist and could not be created (needed for ${forKey}): ${this.describe(err)}`),
        );
      }
    })();
    const pending = this.created;
    pending.catch(() => {
      if (this.created === pending) this.created = null; // a later write may try again
    });
    return pending;
  }

  private describe(err: unknown): string {
    const name = errorName(err);
    const status = httpStatus(err);
    const code = networkCode(err);
    const message = err instanceof Error ? err.message : String(err);
    const keys = `${this.configKey}.access_key/secret_key`;
    if (code !== undefined || name === 'TimeoutError') {
      return `cannot reach the S3 endpoint ${this.endpoint} (${code ?? name}${code && message && !message.includes(code) ? `: ${message}` : ''}); check ${this.configKey}.endpoint and that the store is up`;
    }
    if (name === 'CredentialsProviderError') {
      return `no S3 credentials: set ${keys}, or provide AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile or a role) (${message})`;
    }
    if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'InvalidToken' || name === 'ExpiredToken') {
      return `the store refused the credentials (${name}); check ${keys} or the AWS credential chain`;
    }
    if (status === 403) {
      return `access denied (${name || 'HTTP 403'}) at ${this.endpoint}; check ${keys} and that they may use bucket ${this.name}`;
    }
    const what = name && name !== 'Error' && name !== 'UnknownError' ? name : `HTTP ${status ?? '?'}`;
    return `${what} from ${this.endpoint}${message && message !== name && !/^UnknownError$/.test(message) ? `: ${message}` : ''}${status !== undefined && !what.startsWith('HTTP') ? ` (HTTP ${status})` : ''}`;
  }
}

function errorName(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { name?: unknown; Code?: unknown };
    if (typeof e.Code === 'string') return e.Code;
    if (typeof e.name === 'string') return e.name;
  }
  return '';
}

function httpStatus(err: unknown): number | undefined {
  const status = (err as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** ECONNREFUSED and friends, also inside an AggregateError (several addresses tried). */
function networkCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; errors?: unknown[]; cause?: unknown } | null;
  if (!e || typeof e !== 'object') return undefined;
  if (typeof e.code === 'string' && /^E[A-Z_]+$/.test(e.code)) return e.code;
  if (Array.isArray(e.errors))
    for (const inner of e.errors) {
      const code = networkCode(inner);
      if (code) return code;
    }
  return e.cause !== undefined && e.cause !== err ? networkCode(e.cause) : undefined;
}

function isNotFound(err: unknown): boolean {
  const name = errorName(err);
  return name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket' || (httpStatus(err) === 404 && name !== 'NoSuchUpload');
}

/** 412 (the condition failed) or 409 ConditionalRequestConflict (a concurrent conditional write won). */
function isPreconditionFailed(err: unknown): boolean {
  const name = errorName(err);
  return httpStatus(err) === 412 || name === 'PreconditionFailed' || name === 'ConditionalRequestConflict';
}
