/**
 * The one-publisher lock of a (tenant, surface) (docs/contract.md §6), one protocol for both registry
 * backends. A backend provides where the lock lives and its stale-lock rule (`LockSite`:
 * a file created by hard link in fs/registry.ts, an object written with `If-None-Match: *`
 * in s3/registry.ts); taking, waiting, the holder format and release are here.
 *
 * The lock holds `{pid, host, started_at, token}` as Go-compatible pretty JSON and appears
 * complete or not at all. `token` (random, per acquisition) lets release and stale-lock
 * recovery tell two locks apart: the same pid can take the lock twice within one second,
 * and file systems reuse inode numbers at once. Release removes the lock only if it still
 * holds the exact text this acquisition wrote; releasing twice is harmless.
 */
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { rfc3339Seconds } from '../../days';
import { lockedError } from '../../errors';
import { encodePretty } from '../artifacts/go-json';
import type { Registry } from './registry';

export interface LockOptions {
  /** How long to wait for another publisher to finish, in ms. Default 0: fail at once. */
  waitMs?: number;
  /** Poll interval while waiting, in ms. Default 50. */
  pollMs?: number;
}

/** Content of a lock. Field order is the format. */
export interface LockHolder {
  pid: number;
  host: string;
  started_at: string;
  token?: string;
}

/** The holder a lock's text names; null when the text is not a lock we can interpret. */
function parseLockHolder(text: string): LockHolder | null {
  try {
    const h = JSON.parse(text) as Partial<LockHolder> | null;
    if (h && typeof h.pid === 'number' && typeof h.host === 'string' && typeof h.started_at === 'string') {
      return { pid: h.pid, host: h.host, started_at: h.started_at, token: typeof h.token === 'string' ? h.token : undefined };
    }
  } catch {
    // fall through: unreadable
  }
  return null;
}

/** What a registry backend provides for its lock: the storage operations and the stale-lock rule. */
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
   * The backend's stale-lock rule: why the lock of `holder` is left over by a publisher
   * that is gone, or null when it may be live. `host` is this process's host name.
   */
  staleReason(holder: LockHolder, host: string): string | null;
  /**
   * Removes a stale lock, only if it still holds `text` (another process may be recovering
   * it too); acquisition then tries again. Absent: stale locks are never removed
   * automatically, only named as stale in the E_LOCKED error.
   */
  breakStale?(text: string): Promise<void>;
  /** The E_LOCKED message once waiting is over; `holder` null: the lock cannot be read as one. */
  heldMessage(holder: LockHolder | null, staleReason: string | null): string;
  /** The error to report when a release fails (by default the failure itself). */
  releaseError?(err: unknown): unknown;
}

/**
 * Takes the lock at `site` and returns its release function. A lock held by another
 * acquisition is broken when the site's rule finds it stale and the site can break it;
 * otherwise this waits up to `waitMs`, polling, then fails with E_LOCKED.
 */
export async function acquireLock(site: LockSite, opts: LockOptions = {}): Promise<() => Promise<void>> {
  const waitMs = opts.waitMs ?? 0;
  const pollMs = Math.max(1, opts.pollMs ?? 50);
  const deadline = Date.now() + waitMs;
  const host = os.hostname();
  for (;;) {
    const holder: LockHolder = {
      pid: process.pid,
      host,
      started_at: rfc3339Seconds(Date.now()),
      token: randomBytes(8).toString('hex'),
    };
    const ourText = encodePretty(holder);
    if ((await site.create(ourText)) === 'created') return () => releaseLock(site, ourText);
    const seenText = await site.read();
    if (seenText === null) continue; // released between our attempt and the read: try again
    const seen = parseLockHolder(seenText);
    const stale = seen === null ? null : site.staleReason(seen, host);
    if (stale !== null && site.breakStale) {
      await site.breakStale(seenText);
      continue;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw lockedError(site.heldMessage(seen, stale));
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
export async function withPublisherLock<T>(registry: Registry, tenant: string, surface: string, work: () => Promise<T>): Promise<T> {
  const release = await registry.acquireLock(tenant, surface);
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
