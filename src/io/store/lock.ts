/**
 * The one-publisher lock of a (tenant, surface) (docs/contract.md §6, docs/storage-contract.md
 * §1.5), one protocol for both registry backends. A backend provides where the lock lives
 * (`LockSite`: a file created by hard link in fs/registry.ts, an object written with
 * `If-None-Match: *` in s3/registry.ts); taking, judging a held lock (`judgeLock`), waiting,
 * the holder format and release are here.
 *
 * The lock names its owner: `{pid, host, started_at, token}` (the Go tool's fields, first)
 * then `boot_id`, `pid_ns`, and in a Kubernetes Job `job_uid`, `job_index` and `pod`
 * (writer-identity.ts), as Go-compatible pretty JSON; it appears complete or not at all.
 * `token` (random, per acquisition) lets release and take-over tell two locks apart: the
 * same pid can take the lock twice within one second, and file systems reuse inode numbers
 * at once. Release removes the lock only if it still holds the exact text this acquisition
 * wrote; releasing twice is harmless.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { rfc3339Seconds } from '../../days';
import { lockedError } from '../../errors';
import { encodePretty } from '../artifacts/go-json';
import type { JobIdentity, WriterIdentity } from '../writer-identity';
import { isPidAlive } from '../atomic';
import { jobIdentity, samePidView, writerIdentity } from '../writer-identity';
import type { Registry } from './registry';

export interface LockOptions {
  /** How long to wait for another publisher to finish, in ms. Default 0: fail at once. */
  waitMs?: number;
  /** Poll interval while waiting, in ms. Default 50. */
  pollMs?: number;
  /** Who this acquisition is; default `lockOwner()` (tests play other pods with it). */
  owner?: LockOwner;
  /** Told when this acquisition took over a lock left behind: whose, and why (a notice for the log). */
  onTakeOver?: (message: string) => void;
}

/** Content of a lock. Field order is the format; fields after `token` may be absent (older locks, the Go tool's). */
export interface LockHolder extends Partial<JobIdentity> {
  pid: number;
  host: string;
  started_at: string;
  token?: string;
  boot_id?: string;
  pid_ns?: string;
}

/** Who is taking a lock: the writer, its Job, and when this process started (ms since the epoch). */
export interface LockOwner extends WriterIdentity, JobIdentity {
  startedMs: number;
}

/** This process as a lock owner. */
export function lockOwner(env: NodeJS.ProcessEnv = process.env): LockOwner {
  return { ...writerIdentity(), ...jobIdentity(env), startedMs: Date.now() - Math.round(process.uptime() * 1000) };
}

/** The holder a lock's text names; null when the text is not a lock we can interpret. */
function parseLockHolder(text: string): LockHolder | null {
  try {
    const h = JSON.parse(text) as Record<string, unknown> | null;
    if (h && typeof h.pid === 'number' && typeof h.host === 'string' && typeof h.started_at === 'string') {
      const str = (k: string) => (typeof h[k] === 'string' ? h[k] : undefined);
      const holder: LockHolder = { pid: h.pid, host: h.host, started_at: h.started_at };
      for (const k of ['token', 'boot_id', 'pid_ns', 'job_uid', 'job_index', 'pod'] as const) {
        const v = str(k);
        if (v !== undefined) holder[k] = v;
      }
      return holder;
    }
  } catch {
    // fall through: unreadable
  }
  return null;
}

/** "pid 12 on host h (job <uid> index 3, pod p) since <time>": who holds a lock, for messages. */
export function describeHolder(h: LockHolder): string {
  const job =
    h.job_uid === undefined
      ? ''
      : ` (job ${h.job_uid}${h.job_index === undefined ? '' : ` index ${h.job_index}`}${h.pod === undefined ? '' : `, pod ${h.pod}`})`;
  return `pid ${h.pid} on host ${h.host}${job} since ${h.started_at}`;
}

export type LockVerdict = { action: 'take-over'; reason: string } | { action: 'held' };

/**
 * What `me` may do with a lock held by `lock` (docs/storage-contract.md §1.5):
 * - its pid is visible from here (same host, boot and pid namespace): a live pid holds it;
 *   a dead one left it behind, so it is taken over;
 * - else, held by the same Kubernetes Job uid and completion index: an earlier pod of this
 *   Job index died holding it (Kubernetes runs one pod per index at a time: with a
 *   `podFailurePolicy` it replaces a pod only once that pod has failed), so this retry takes
 *   it over when the lock names another pod (each retry is a new pod, so no clock is
 *   compared: pods run on nodes whose clocks may differ, and a retry may start within the
 *   second its predecessor took the lock); when either side names no pod, or both the same
 *   pod (a container restarted in place), when the lock was taken before this process
 *   started, on `started_at`'s whole seconds;
 * - anything else is held: a publisher elsewhere cannot be told dead from slow.
 */
export function judgeLock(lock: LockHolder, me: LockOwner): LockVerdict {
  if (samePidView(lock, me)) {
    if (lock.pid === me.pid || isPidAlive(lock.pid)) return { action: 'held' };
    return { action: 'take-over', reason: `its process (pid ${lock.pid}) no longer runs on this host` };
  }
  if (me.job_uid !== undefined && lock.job_uid === me.job_uid && lock.job_index === me.job_index) {
    const job = `job ${lock.job_uid}${lock.job_index === undefined ? '' : ` index ${lock.job_index}`}`;
    if (lock.pod !== undefined && me.pod !== undefined && lock.pod !== me.pod) {
      return { action: 'take-over', reason: `an earlier pod of this Job index took it (${job}, pod ${lock.pod})` };
    }
    const started = Date.parse(lock.started_at);
    if (!Number.isNaN(started) && started < Math.floor(me.startedMs / 1000) * 1000) {
      return { action: 'take-over', reason: `an earlier pod of this Job index took it (${job})` };
    }
  }
  return { action: 'held' };
}

/** What a registry backend provides for its lock: the storage operations and messages. */
export interface LockSite {
  /**
   * Creates the lock holding `text` unless a lock exists. 'created' only when `text` is
   * now the lock (a backend whose create can race checks that itself).
   */
  create(text: string): Promise<'created' | 'exists'>;
  /** The lock's exact text; null when there is no lock. */
  read(): Promise<string | null>;
  /** Deletes the lock; a lock already gone is not an error. */
  remove(): Promise<void>;
  /**
   * Replaces the lock `seenText` (judged left behind) by `ourText`, atomically: true only
   * when `ourText` is now the lock; false when the lock changed or went in between (another
   * process took it over or released it), and acquisition starts again.
   */
  takeOver(seenText: string, ourText: string): Promise<boolean>;
  /** The E_LOCKED message once waiting is over; `holder` null: the lock cannot be read as one. */
  heldMessage(holder: LockHolder | null): string;
  /** The error to report when a release fails (by default the failure itself). */
  releaseError?(err: unknown): unknown;
}

/**
 * Takes the lock at `site` and returns its release function. A lock held by another
 * acquisition is taken over when `judgeLock` says so; otherwise this waits up to `waitMs`,
 * polling, then fails with E_LOCKED.
 */
export async function acquireLock(site: LockSite, opts: LockOptions = {}): Promise<() => Promise<void>> {
  const waitMs = opts.waitMs ?? 0;
  const pollMs = Math.max(1, opts.pollMs ?? 50);
  const deadline = Date.now() + waitMs;
  const me = opts.owner ?? lockOwner();
  for (;;) {
    const holder: LockHolder = {
      pid: me.pid,
      host: me.host,
      started_at: rfc3339Seconds(Date.now()),
      token: randomBytes(8).toString('hex'),
      boot_id: me.boot_id,
      pid_ns: me.pid_ns,
      job_uid: me.job_uid,
      job_index: me.job_index,
      pod: me.pod,
    };
    const ourText = encodePretty(holder);
    if ((await site.create(ourText)) === 'created') return () => releaseLock(site, ourText);
    const seenText = await site.read();
    if (seenText === null) continue; // released between our attempt and the read: try again
    const seen = parseLockHolder(seenText);
    const verdict = seen === null ? null : judgeLock(seen, me);
    if (seen !== null && verdict?.action === 'take-over') {
      if (await site.takeOver(seenText, ourText)) {
        opts.onTakeOver?.(`took over the publisher lock left by ${describeHolder(seen)}: ${verdict.reason}`);
        return () => releaseLock(site, ourText);
      }
      continue;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw lockedError(site.heldMessage(seen));
    await sleep(Math.min(pollMs, remaining));
  }
}

async function releaseLock(site: LockSite, ourText: string): Promise<void> {
  try {
    const text = await site.read();
    if (text === null || text !== ourText) return;
    await site.remove();
  } catch (err) {
    throw site.releaseError ? site.releaseError(err) : err;
  }
}

/**
 * Runs `work` holding the publisher lock of (tenant, surface), then releases the lock.
 * When `work` fails, its error is the one reported, not a failed release (an object store
 * that went away fails both).
 */
export async function withPublisherLock<T>(registry: Registry, tenant: string, surface: string, opts: LockOptions, work: () => Promise<T>): Promise<T> {
  const release = await registry.acquireLock(tenant, surface, opts);
  let failed = false;
  try {
    return await work();
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    await release().catch((err: unknown) => {
      if (!failed) throw err;
    });
  }
}
