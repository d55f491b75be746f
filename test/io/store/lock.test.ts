/**
 * The lock protocol (src/io/store/lock.ts) over an in-memory site: what both registry
 * backends share. Each backend's own site (its storage and stale-lock rule) is tested with
 * it: test/io/store/fs/registry.test.ts, test/io/store/s3/store.test.ts.
 */
import * as os from 'node:os';
import { describe, expect, it } from 'vitest';
import type { Registry } from '../../../src/io/store/registry';
import type { LockHolder, LockSite } from '../../../src/io/store/lock';
import { acquireLock, withPublisherLock } from '../../../src/io/store/lock';

const holderOf = (text: string) => JSON.parse(text) as LockHolder;

/** A lock in memory; `stale` is its stale-lock rule, `breakable` whether it breaks stale locks. */
class MemorySite implements LockSite {
  text: string | null = null;
  broken: string[] = [];
  failRead: Error | null = null;
  breakStale?: (text: string) => Promise<void>;
  releaseError?: (err: unknown) => unknown;

  constructor(
    private readonly stale: (holder: LockHolder) => string | null = () => null,
    breakable = false,
  ) {
    if (breakable) {
      this.breakStale = async (text) => {
        this.broken.push(text);
        if (this.text === text) this.text = null;
      };
    }
  }

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

  staleReason(holder: LockHolder): string | null {
    return this.stale(holder);
  }

  heldMessage(holder: LockHolder | null, staleReason: string | null): string {
    return `held by ${holder === null ? 'garbage' : holder.pid}${staleReason === null ? '' : ` (stale: ${staleReason})`}`;
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
    expect(Object.keys(JSON.parse(text))).toEqual(['pid', 'host', 'started_at', 'token']);
    expect(text).toContain('\n  "pid": ');
    expect(holderOf(text)).toMatchObject({ pid: process.pid, host: os.hostname() });
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

  it('a site that breaks stale locks gets the exact stale text, then acquisition retries', async () => {
    const site = new MemorySite((h) => (h.pid === 1 ? 'gone' : null), true);
    site.text = foreign(1);
    await acquireLock(site);
    expect(site.broken).toEqual([foreign(1)]);
    expect(holderOf(site.text).pid).toBe(process.pid);
  });

  it('a site that does not break stale locks reports them, and keeps them', async () => {
    const site = new MemorySite((h) => (h.pid === 1 ? 'gone' : null));
    site.text = foreign(1);
    expect((await failure(acquireLock(site))).message).toBe('held by 1 (stale: gone)');
    site.text = foreign(2);
    expect((await failure(acquireLock(site))).message).toBe('held by 2');
    site.text = 'garbage';
    expect((await failure(acquireLock(site))).message).toBe('held by garbage');
    expect(site.text).toBe('garbage');
  });

  it('a failed release goes through the site releaseError', async () => {
    const site = new MemorySite();
    const release = await acquireLock(site);
    site.failRead = new Error('store gone');
    await expect(release()).rejects.toThrow('store gone');
    site.releaseError = (err) => new Error(`${(err as Error).message}; lock left behind`);
    await expect(release()).rejects.toThrow('store gone; lock left behind');
  });

  it('a lock that is not a holder (wrong field types, not JSON) is reported as unreadable', async () => {
    const site = new MemorySite(() => 'never asked');
    for (const text of ['garbage', '{"pid":"1","host":"h","started_at":"t"}', 'null']) {
      site.text = text;
      expect((await failure(acquireLock(site))).message).toBe('held by garbage');
    }
    site.text = '{"pid":7,"host":"h","started_at":"t","token":5}'; // a token is optional
    expect((await failure(acquireLock(site))).message).toBe('held by 7 (stale: never asked)');
  });
});

describe('withPublisherLock', () => {
  const registryOn = (site: MemorySite) => ({ acquireLock: () => acquireLock(site) }) as unknown as Registry;

  it('runs the work under the lock and releases it', async () => {
    const site = new MemorySite();
    const seen = await withPublisherLock(registryOn(site), 't', 's', async () => site.text);
    expect(holderOf(seen!).pid).toBe(process.pid);
    expect(site.text).toBeNull();
  });

  it('a failed work is the error reported, not a failed release; a failed release alone is reported', async () => {
    const site = new MemorySite();
    const work = withPublisherLock(registryOn(site), 't', 's', async () => {
      site.failRead = new Error('release failed');
      throw new Error('work failed');
    });
    await expect(work).rejects.toThrow('work failed');
    site.failRead = null;
    site.text = null;
    const ok = withPublisherLock(registryOn(site), 't', 's', async () => {
      site.failRead = new Error('release failed');
      return 1;
    });
    await expect(ok).rejects.toThrow('release failed');
  });
});
