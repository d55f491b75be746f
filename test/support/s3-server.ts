/**
 * An S3-compatible server for the tests, in this process on 127.0.0.1 (random port), over a
 * temp folder: the npm package s3rver (3.7.1, filesystem-backed, SigV4-checked, credentials
 * S3RVER/S3RVER) behind a small HTTP front of ours.
 *
 * s3rver predates S3's conditional writes and ignores `If-None-Match`/`If-Match` on PUT, so
 * the front adds them the way S3 documents them: under a per-key mutex it answers
 * 412 PreconditionFailed when `If-None-Match: *` meets an existing object or `If-Match`
 * meets another ETag, 404 NoSuchKey when `If-Match` meets no object, and passes every other
 * request to s3rver untouched (so signatures stay valid). It runs before s3rver's
 * signature check, so a badly signed conditional PUT may see 412 where S3 says 403.
 *
 * The front also lets a test watch requests (`requests`), run code before a PUT of a key
 * (`beforePut`, to simulate a concurrent writer) and take the store away (`down`: every
 * request's connection is dropped, as when the store dies or the network goes).
 *
 * When the server cannot start, test/io/store/s3/store.test.ts skips its server-backed tests with
 * the reason on stderr; RECSYS_TEST_NO_S3=1 forces that path.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeDir } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver');

export const ACCESS_KEY = 'S3RVER';
export const SECRET_KEY = 'S3RVER';

export interface SeenRequest {
  method: string;
  bucket: string;
  key: string;
}

export interface TestS3 {
  /** `127.0.0.1:<port>`, as config `endpoint` takes it. */
  endpoint: string;
  port: number;
  requests: SeenRequest[];
  /** While true, every request's connection is dropped at once. */
  down: boolean;
  /** Called (and awaited) before the conditional check of each PUT of an object. */
  beforePut: ((bucket: string, key: string) => Promise<void> | void) | null;
  /** Called on each request before anything else; may set `down`. */
  onRequest: ((r: SeenRequest) => void) | null;
  close(): Promise<void>;
}

interface StoreLike {
  existsObject(bucket: string, key: string): Promise<boolean>;
  getMetadata(bucket: string, key: string): Promise<{ etag: string }>;
}

export async function startS3(): Promise<TestS3> {
  if (process.env.RECSYS_TEST_NO_S3) throw new Error('RECSYS_TEST_NO_S3 is set');
  const dir = mkdtempSync(join(tmpdir(), 'recsys-s3rver-'));
  const s3rver = new S3rver({ silent: true, directory: dir });
  const store: StoreLike = s3rver.store;
  const handle: (req: http.IncomingMessage, res: http.ServerResponse) => void = s3rver.getMiddleware();
  const locks = new Map<string, Promise<void>>();
  const sockets = new Set<Socket>();

  const server = http.createServer((req, res) => {
    void route(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const t: TestS3 = {
    endpoint: '',
    port: 0,
    requests: [],
    down: false,
    beforePut: null,
    onRequest: null,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      removeDir(dir);
    },
  };

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const [, bucketPart = '', ...rest] = url.pathname.split('/');
    const seen: SeenRequest = { method: req.method ?? '', bucket: decodeURIComponent(bucketPart), key: decodeURIComponent(rest.join('/')) };
    t.requests.push(seen);
    t.onRequest?.(seen);
    if (t.down) {
      req.socket.destroy();
      return;
    }
    const isObjectPut = req.method === 'PUT' && seen.key !== '' && !req.headers['x-amz-copy-source'] && !url.searchParams.has('uploadId');
    if (!isObjectPut) return handle(req, res);
    if (t.beforePut) await t.beforePut(seen.bucket, seen.key);
    const ifNoneMatch = req.headers['if-none-match'];
    const ifMatch = req.headers['if-match'];
    if (ifNoneMatch === undefined && ifMatch === undefined) return handle(req, res);

    const lockKey = `${seen.bucket}/${seen.key}`;
    const prior = locks.get(lockKey) ?? Promise.resolve();
    let unlock!: () => void;
    const mine = new Promise<void>((resolve) => (unlock = resolve));
    const chained = prior.then(() => mine);
    locks.set(lockKey, chained);
    const release = () => {
      unlock();
      if (locks.get(lockKey) === chained) locks.delete(lockKey);
    };
    await prior;
    let passed = false;
    try {
      const exists = await store.existsObject(seen.bucket, seen.key).catch(() => false);
      const etag = exists ? (await store.getMetadata(seen.bucket, seen.key)).etag : null;
      const bare = (e: string) => e.replace(/^W\//, '').replace(/"/g, '');
      if (ifNoneMatch !== undefined && exists && (ifNoneMatch === '*' || bare(ifNoneMatch) === bare(etag!))) {
        return reject(req, res, 412, 'PreconditionFailed', 'If-None-Match');
      }
      if (ifMatch !== undefined && !exists) return reject(req, res, 404, 'NoSuchKey', 'If-Match');
      if (ifMatch !== undefined && bare(ifMatch) !== bare(etag!)) return reject(req, res, 412, 'PreconditionFailed', 'If-Match');
      passed = true;
      res.on('close', release);
      handle(req, res);
    } finally {
      if (!passed) release();
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  t.port = (server.address() as AddressInfo).port;
  t.endpoint = `127.0.0.1:${t.port}`;
  return t;
}

function reject(req: http.IncomingMessage, res: http.ServerResponse, status: number, code: string, condition: string): void {
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
    `<Message>At least one of the pre-conditions you specified did not hold</Message>` +
    `<Condition>${condition}</Condition><RequestId>${randomBytes(8).toString('hex')}</RequestId></Error>`;
  req.resume();
  req.on('end', () => {
    res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
}

/** A port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
