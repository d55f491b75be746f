/**
 * The lock protocol (src/io/store/lock.ts) over an in-memory site: what both registry
 * backends share; `judgeLock` against a table of cases; and the take-over of a lock left by
 * an earlier pod of the same Kubernetes Job index on both real backends (a lock file, and
 * s3rver behind the conditional-write front of test/support/s3-server.ts), including two
 * retries racing for it. More per-backend cases: test/io/store/fs/registry.test.ts,
 * test/io/store/s3/store.test.ts.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodePretty } from '../../../src/io/artifacts/go-json';
import { FsRegistry } from '../../../src/io/store/fs/registry';
import type { Registry } from '../../../src/io/store/registry';
import type { LockHolder, LockOwner, LockSite } from '../../../src/io/store/lock';
import { acquireLock, judgeLock, lockOwner, withPublisherLock } from '../../../src/io/store/lock';
import { S3Bucket } from '../../../src/io/store/s3/bucket';
import { S3Registry } from '../../../src/io/store/s3/registry';
import { rfc3339Seconds } from '../../../src/days';
import { deadPid, tempDir } from '../../support/helpers';
import type { TestS3 } from '../../support/s3-server';
import { ACCESS_KEY, SECRET_KEY, startS3 } from '../../support/s3-server';

const holderOf = (text: string) => JSON.parse(text) as LockHolder;

/** A lock in memory. */
class MemorySite implements LockSite {
  text: string | null = null;
  failRead: Error | null = null;
  releaseError?: (err: unknown) => unknown;

  async create(text: string): Promise<'created' | 'exists'> {
    if (this.text !== null) return 'exists';
    this.text = text;
    return 'created';
  }

  async read(): Promise<string | null> {
    if (this.failRead) throw this.failRead;
    return this.text;
  }

  async remove(): Promise<void> {
    this.text = null;
  }

  async takeOver(seenText: string, ourText: string): Promise<boolean> {
    if (this.text !== seenText) return false;
    this.text = ourText;
    return true;
  }

  heldMessage(holder: LockHolder | null): string {
    return `held by ${holder === null ? 'garbage' : holder.pid}`;
  }
}

async function failure(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected a failure');
}

const foreign = (pid: number) => JSON.stringify({ pid, host: 'elsewhere', started_at: '2026-01-01T00:00:00Z', token: 'abc' });

describe('lock protocol', () => {
  it('writes {pid, host, started_at, token} as pretty JSON, a fresh token per acquisition', async () => {
    const site = new MemorySite();
    const release = await acquireLock(site);
    const text = site.text!;
    expect(Object.keys(JSON.parse(text))).toEqual(['pid', 'host', 'started_at', 'token', 'boot_id', 'pid_ns']);
    expect(text).toContain('\n  "pid": ');
    expect(holderOf(text)).toMatchObject({
      pid: process.pid,
      host: os.hostname(),
      boot_id: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
      pid_ns: readlinkSync('/proc/self/ns/pid'),
    });
    // In a Job, the lock names it too.
    await release();
    const inJob = await acquireLock(site, { owner: lockOwner({ RECSYS_JOB_UID: 'u-1', JOB_COMPLETION_INDEX: '0', RECSYS_POD_NAME: 'j-0-x1' }) });
    expect(Object.keys(JSON.parse(site.text!)).slice(-3)).toEqual(['job_uid', 'job_index', 'pod']);
    expect(holderOf(site.text!)).toMatchObject({ job_uid: 'u-1', job_index: '0', pod: 'j-0-x1' });
    await inJob();
    await release();
    await acquireLock(site);
    expect(holderOf(site.text!).token).not.toBe(holderOf(text).token);
  });

  it('a held lock is E_LOCKED with the site message; release frees it, and releasing twice is harmless', async () => {
    const site = new MemorySite();
    const release = await acquireLock(site);
    const err = await failure(acquireLock(site));
    expect(err.code).toBe('E_LOCKED');
    expect(err.message).toBe(`held by ${process.pid}`);
    await release();
    expect(site.text).toBeNull();
    await release();
    await (
      await acquireLock(site)
    )();
  });

  it('waits up to waitMs, polling, for the holder to release', async () => {
    const site = new MemorySite();
    const release = await acquireLock(site);
    setTimeout(() => void release(), 50);
    await (
      await acquireLock(site, { waitMs: 5000, pollMs: 5 })
    )();
    await acquireLock(site);
    const started = Date.now();
    expect((await failure(acquireLock(site, { waitMs: 60, pollMs: 5 }))).code).toBe('E_LOCKED');
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
  });

  it('release leaves a lock that is no longer ours', async () => {
    const site = new MemorySite();
    const release = await acquireLock(site);
    site.text = foreign(1);
    await release();
    expect(site.text).toBe(foreign(1));
  });

  it('a lock judged left behind is taken over through the site, keeping the exact text judged; any other is kept', async () => {
    const site = new MemorySite();
    const me = lockOwner({ RECSYS_JOB_UID: 'job-u', JOB_COMPLETION_INDEX: '2' });
    const earlier = encodePretty({ pid: 7, host: 'pod-a', started_at: '2026-01-01T00:00:00Z', token: 'abc', job_uid: 'job-u', job_index: '2' });
    site.text = earlier;
    const notices: string[] = [];
    await acquireLock(site, { owner: me, onTakeOver: (m) => notices.push(m) });
    expect(holderOf(site.text)).toMatchObject({ pid: process.pid, job_uid: 'job-u', job_index: '2' });
    expect(notices).toEqual([
      'took over the publisher lock left by pid 7 on host pod-a (job job-u index 2) since 2026-01-01T00:00:00Z: an earlier pod of this Job index took it (job job-u index 2)',
    ]);
    site.text = foreign(1);
    expect((await failure(acquireLock(site, { owner: me, onTakeOver: (m) => notices.push(m) }))).message).toBe('held by 1');
    expect(site.text).toBe(foreign(1));
    expect(notices.length).toBe(1);
  });

  it('a failed release goes through the site releaseError', async () => {
    const site = new MemorySite();
    const release = await acquireLock(site);
    site.failRead = new Error('store gone');
    await expect(release()).rejects.toThrow('store gone');
    site.releaseError = (err) => new Error(`${(err as Error).message}; lock left behind`);
    await expect(release()).rejects.toThrow('store gone; lock left behind');
  });

  it('a lock that is not a holder (wrong field types, not JSON) is reported as unreadable, and kept', async () => {
    const site = new MemorySite();
    for (const text of ['garbage', '{"pid":"1","host":"h","started_at":"t"}', 'null']) {
      site.text = text;
      expect((await failure(acquireLock(site))).message).toBe('held by garbage');
      expect(site.text).toBe(text);
    }
    site.text = '{"pid":7,"host":"h","started_at":"t","token":5}'; // a token is optional
    expect((await failure(acquireLock(site))).message).toBe('held by 7');
  });
});

describe('withPublisherLock', () => {
  const registryOn = (site: MemorySite) => ({ acquireLock: () => acquireLock(site) }) as unknown as Registry;

  it('runs the work under the lock and releases it', async () => {
    const site = new MemorySite();
    const seen = await withPublisherLock(registryOn(site), 't', 's', {}, async () => site.text);
    expect(holderOf(seen!).pid).toBe(process.pid);
    expect(site.text).toBeNull();
  });

  it('a failed work is the error reported, not a failed release; a failed release alone is reported', async () => {
    const site = new MemorySite();
    const work = withPublisherLock(registryOn(site), 't', 's', {}, async () => {
      site.failRead = new Error('release failed');
      throw new Error('work failed');
    });
    await expect(work).rejects.toThrow('work failed');
    site.failRead = null;
    site.text = null;
    const ok = withPublisherLock(registryOn(site), 't', 's', {}, async () => {
      site.failRead = new Error('release failed');
      return 1;
    });
    await expect(ok).rejects.toThrow('release failed');
  });
});

describe('judgeLock', () => {
  const here = lockOwner({});
  const T0 = '2026-01-01T00:00:00Z';
  const job = (uid: string | undefined, index: string | undefined, over: Partial<LockOwner> = {}): LockOwner => ({
    ...here,
    host: 'pod-b',
    pid: 9,
    job_uid: uid,
    job_index: index,
    ...over,
  });
  const lock = (over: Partial<LockHolder> = {}): LockHolder => ({
    pid: 7,
    host: 'pod-a',
    started_at: T0,
    token: 'abc',
    boot_id: here.boot_id,
    pid_ns: here.pid_ns,
    job_uid: 'U',
    job_index: '2',
    ...over,
  });
  const dead = deadPid();

  // A retry that started within the second its predecessor took the lock (the Job controller
  // retried at once), and one on a node whose clock is a minute behind the predecessor's.
  const T0ms = Date.parse(T0);
  const sameSecond = { startedMs: T0ms + 400 };
  const clockBehind = { startedMs: T0ms - 60_000 };
  it.each<[string, LockHolder, LockOwner, 'take-over' | 'held']>([
    ['same Job uid and index, taken before this process started', lock(), job('U', '2'), 'take-over'],
    [
      'same Job index, another pod, taken within the second this retry started',
      lock({ pod: 'j-2-a' }),
      job('U', '2', { pod: 'j-2-b', ...sameSecond }),
      'take-over',
    ],
    [
      "same Job index, another pod, on a node whose clock is ahead of this one's",
      lock({ pod: 'j-2-a' }),
      job('U', '2', { pod: 'j-2-b', ...clockBehind }),
      'take-over',
    ],
    ['same Job index, no pod names, taken within the second this process started (clocks only: unsure)', lock(), job('U', '2', sameSecond), 'held'],
    ['same Job index, only the lock names a pod, lock newer than this process', lock({ pod: 'j-2-a' }), job('U', '2', clockBehind), 'held'],
    ['same Job index, only this process names a pod, lock newer than this process', lock(), job('U', '2', { pod: 'j-2-b', ...clockBehind }), 'held'],
    ['same pod (a container restarted in place), taken before this process started', lock({ pod: 'j-2-a' }), job('U', '2', { pod: 'j-2-a' }), 'take-over'],
    ['same pod, the lock newer than this process', lock({ pod: 'j-2-a' }), job('U', '2', { pod: 'j-2-a', ...sameSecond }), 'held'],
    ['another pod of another index of the same Job', lock({ pod: 'j-2-a' }), job('U', '3', { pod: 'j-3-a' }), 'held'],
    ['another pod of another Job, same index', lock({ pod: 'j-2-a' }), job('V', '2', { pod: 'k-2-a' }), 'held'],
    ['a pod name but no Job here', lock({ pod: 'j-2-a' }), job(undefined, undefined, { pod: 'k-2-a' }), 'held'],
    ['same Job uid, other index', lock(), job('U', '3'), 'held'],
    ['other Job uid, same index', lock(), job('V', '2'), 'held'],
    ['no Job here', lock(), job(undefined, undefined), 'held'],
    ['same Job, no index on either side (a plain Job)', lock({ job_index: undefined }), job('U', undefined), 'take-over'],
    [
      'same Job index, but the lock is newer than this process (a racing retry)',
      lock({ started_at: new Date(Date.now() + 2000).toISOString() }),
      job('U', '2'),
      'held',
    ],
    ['same Job index, started_at unreadable', lock({ started_at: 'yesterday' }), job('U', '2'), 'held'],
    ['this host, boot and pid namespace, pid dead', lock({ host: here.host, pid: dead, job_uid: undefined }), here, 'take-over'],
    ['this host, boot and pid namespace, pid alive', lock({ host: here.host, pid: process.ppid, job_uid: undefined }), here, 'held'],
    [
      'this host, boot and pid namespace, pid alive, same Job index',
      lock({ host: here.host, pid: process.ppid }),
      { ...here, job_uid: 'U', job_index: '2' },
      'held',
    ],
    ['this process itself', lock({ host: here.host, pid: process.pid }), here, 'held'],
    [
      'same host name, other pid namespace (another pod with host networking), pid dead',
      lock({ host: here.host, pid: dead, pid_ns: 'pid:[1]', job_uid: undefined }),
      here,
      'held',
    ],
    ['same host name, other boot, pid dead', lock({ host: here.host, pid: dead, boot_id: 'other-boot', job_uid: undefined }), here, 'held'],
    ['a Go tool lock ({pid, host, started_at}) of this host, pid dead', { pid: dead, host: here.host, started_at: T0 }, here, 'take-over'],
    ['a Go tool lock of another host', { pid: dead, host: 'elsewhere', started_at: T0 }, here, 'held'],
  ])('%s', (_, l, me, action) => {
    expect(judgeLock(l, me).action).toBe(action);
  });
});

let srv: TestS3 | null = null;
try {
  srv = await startS3();
} catch (err) {
  console.warn(`test/io/store/lock.test.ts: S3 cases skipped, the S3 test server (s3rver) could not start: ${(err as Error).message}`);
}

describe.each(['fs', 's3'] as const)('a lock left by an earlier pod of a Job index (%s)', (backend) => {
  const tmp = tempDir('recsys-lock-');
  afterAll(async () => {
    tmp.cleanup();
    if (backend === 's3') await srv?.close();
  });
  const bucket = `recsys-lock-${process.pid}`;
  let n = 0;
  /** A fresh registry (its own folder or prefix), where the lock of t/s is; `put` writes a lock there as another pod would. */
  function fresh(): { reg: Registry; where: string; put: (text: string) => Promise<void>; read: () => Promise<string | null> } {
    n++;
    if (backend === 'fs') {
      const reg = new FsRegistry(path.join(tmp.dir, `r${n}`));
      const file = reg.lockPath('t', 's');
      return {
        reg,
        where: `rm ${file}`,
        put: async (text) => {
          const fs = await import('node:fs/promises');
          await fs.mkdir(path.dirname(file), { recursive: true });
          await fs.writeFile(file, text);
        },
        read: async () => readFileSync(file, 'utf8'),
      };
    }
    const cfg = { endpoint: srv!.endpoint, bucket, access_key: ACCESS_KEY, secret_key: SECRET_KEY, region: 'us-east-1', prefix: `p${n}`, use_ssl: false };
    const reg = new S3Registry(cfg);
    const client = new S3Bucket(cfg);
    const key = reg.lockKey('t', 's');
    return {
      reg,
      where: `aws s3 rm s3://${bucket}/${key}`,
      put: async (text) => {
        await client.putObject(key, text);
      },
      read: async () => (await client.getText(key))?.text ?? null,
    };
  }
  const pod = (host: string, uid: string, index: string): LockOwner => ({
    ...lockOwner({ RECSYS_JOB_UID: uid, JOB_COMPLETION_INDEX: index }),
    host,
    pid: 4242,
    startedMs: Date.now(),
  });
  const earlierPod = encodePretty({
    pid: 7,
    host: 'pod-a',
    started_at: '2026-01-01T00:00:00Z',
    token: 'abc',
    boot_id: 'b',
    pid_ns: 'pid:[1]',
    job_uid: 'U',
    job_index: '2',
  });
  const skip = backend === 's3' && srv === null;

  it.skipIf(skip)('the retry of the same Job index takes it over', async () => {
    const { reg, put, read } = fresh();
    await put(earlierPod);
    const release = await reg.acquireLock('t', 's', { owner: pod('pod-b', 'U', '2') });
    expect(holderOf((await read())!)).toMatchObject({ host: 'pod-b', job_uid: 'U', job_index: '2' });
    await release();
    expect(await read().catch(() => null)).toBeNull();
  });

  it.skipIf(skip)('the retry pod of the same Job index takes over a lock its predecessor took this very second', async () => {
    const { reg, put, read } = fresh();
    const now = Date.now();
    await put(encodePretty({ ...holderOf(earlierPod), started_at: rfc3339Seconds(now), pod: 'job-2-aaaaa' }));
    const retry = { ...pod('pod-b', 'U', '2'), pod: 'job-2-bbbbb', startedMs: now };
    const release = await reg.acquireLock('t', 's', { owner: retry });
    expect(holderOf((await read())!)).toMatchObject({ host: 'pod-b', job_uid: 'U', job_index: '2', pod: 'job-2-bbbbb' });
    await release();
  });

  it.skipIf(skip)('another Job, or another index, is refused with E_LOCKED naming the holder and what to delete; the lock stays', async () => {
    const { reg, where, put, read } = fresh();
    await put(earlierPod);
    for (const me of [pod('pod-b', 'V', '2'), pod('pod-b', 'U', '3'), { ...lockOwner({}), pid: 4242, startedMs: Date.now() }]) {
      const err = await failure(reg.acquireLock('t', 's', { owner: me }));
      expect(err.code).toBe('E_LOCKED');
      expect((err as { exitCode?: number }).exitCode).toBe(1);
      expect(err.message).toContain('pid 7 on host pod-a (job U index 2) since 2026-01-01T00:00:00Z');
      expect(err.message).toContain(where);
      expect(await read()).toBe(earlierPod);
    }
  });

  it.skipIf(skip)('two retries racing to take it over: exactly one wins, the other is E_LOCKED naming the winner', async () => {
    for (let round = 0; round < 5; round++) {
      const { reg, put, read } = fresh();
      await put(earlierPod);
      if (backend === 's3') {
        // Both take-overs read the same ETag before either writes: the conditional write decides.
        let waiting: (() => void)[] = [];
        srv!.beforePut = async (_b, key) => {
          if (!key.endsWith('/t/s.lock')) return;
          await new Promise<void>((resolve) => {
            waiting.push(resolve);
            if (waiting.length === 2) for (const w of waiting) w();
          });
        };
        waiting = [];
      }
      try {
        const results = await Promise.allSettled([
          reg.acquireLock('t', 's', { owner: pod('pod-b', 'U', '2') }),
          reg.acquireLock('t', 's', { owner: pod('pod-c', 'U', '2') }),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(lost[0]!.reason.code).toBe('E_LOCKED');
        const holder = holderOf((await read())!);
        expect(['pod-b', 'pod-c']).toContain(holder.host);
        expect(lost[0]!.reason.message).toContain(`on host ${holder.host} (job U index 2)`);
      } finally {
        if (srv) srv.beforePut = null;
      }
    }
  });
});
