/**
 * Concurrency (issue 4). One publisher per (tenant, surface): a second one fails clearly
 * (exit 1, "another publisher holds …", E_LOCKED) and never loses or tears a manifest update;
 * a lock left by a run killed mid-publish is recovered by the next run (also when two start
 * at once); runs for different tenants/surfaces in parallel do not interfere. Runs that race
 * or are killed are child processes; the others run in this process (which, holding the lock
 * itself in the first test, is "another publisher" to the run it starts).
 * (Hand-written lock files — live pid, other host, garbage — are covered in test/cli/concurrency.test.ts.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { FsRegistry } from '../../../src/io/store/fs/registry';
import { isPidAlive } from '../../../src/io/atomic';
import type { ChildResult } from '../../support/reliability';
import { checkManifest, checkRecords, genDay, STACK_FRAME, tempFilesUnder, Workspace } from '../../support/reliability';
import { must } from '../../support/helpers';

const DAY0 = '2026-06-01';
const DAY1 = '2026-06-02';
const DAY2 = '2026-06-03';
const LOCKED = /another publisher holds \S+home\.lock/;

const workspaces: Workspace[] = [];
afterAll(() => workspaces.forEach((w) => w.cleanup()));

function workspace(eventsPerDay = 2000): Workspace {
  const ws = new Workspace('recsys-conc-');
  workspaces.push(ws);
  for (const day of [DAY0, DAY1, DAY2]) ws.writeDay(day, genDay(day, eventsPerDay));
  return ws;
}

/** exit 0, or exit 1 with the lock message; never a stack trace or a signal. */
function expectOkOrLocked(r: ChildResult): void {
  expect(r.signal).toBeNull();
  expect(r.stderr).not.toMatch(STACK_FRAME);
  if (r.code !== 0) {
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(LOCKED);
  }
}

/** Reads the manifest every few ms while `work` runs; every read must be a whole manifest. */
async function watchManifest<T>(ws: Workspace, work: Promise<T>): Promise<{ result: T; reads: number; torn: string[] }> {
  let reads = 0;
  const torn: string[] = [];
  let done = false;
  const poll = (async () => {
    while (!done) {
      const text = ws.manifestText();
      if (text !== null) {
        reads++;
        try {
          const m = JSON.parse(text);
          if (m.v !== 1 || typeof m.current !== 'object') torn.push(text);
        } catch {
          torn.push(text);
        }
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  try {
    return { result: await work, reads, torn };
  } finally {
    done = true;
    await poll;
  }
}

describe('same tenant/surface', () => {
  it('a run while another publisher holds the lock fails with E_LOCKED and does not undo what the holder swapped in', async () => {
    const ws = workspace(300);
    const both = ws.config({ artifact_kinds: ['popularity', 'cooc'], limits: { min_cooc_support: 1 } });
    const coocOnly = ws.config({ artifact_kinds: ['cooc'], limits: { min_cooc_support: 1 } }, 'cooc.json');
    expect((await ws.run(both, DAY0, DAY0)).code).toBe(0);
    const day0Popularity = must(checkManifest(ws)?.current.popularity, 'a current popularity');
    expect((await ws.run(both, DAY1, DAY1)).code).toBe(0);

    // This test process is the other publisher: it takes the real lock and swaps in an
    // update of its own (popularity rolled back to day 0).
    const registry = new FsRegistry(ws.registry);
    const release = await registry.acquireLock('demo', 'home');
    let held: string;
    try {
      await registry.swapManifest('demo', 'home', { popularity: day0Popularity }, new Date());
      held = ws.manifestText()!;
      const r = await ws.run(coocOnly, DAY2, DAY2);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(LOCKED);
      expect(r.stderr).toContain(`pid ${process.pid}`);
      expect(r.stderr).not.toMatch(STACK_FRAME);
      expect(ws.manifestText(), 'the failed run must not touch the manifest').toBe(held);
      expect(JSON.parse(readFileSync(ws.checkpointPath(), 'utf8')).last_day).toBe(DAY1);
    } finally {
      await release();
    }
    expect(existsSync(ws.lockPath())).toBe(false);

    // Lock released: the same run now succeeds and keeps the holder's update (no lost update).
    const again = await ws.run(coocOnly, DAY2, DAY2);
    expect(again.code, again.stderr).toBe(0);
    const m = checkManifest(ws)!;
    expect(m.current.popularity).toBe(day0Popularity);
    expect(m.days).toEqual({ popularity: DAY0, cooc: DAY2 });
  });

  it('three publishers of different artifact types at once: each ok or E_LOCKED, no lost update, never a torn manifest', async () => {
    const ws = workspace(2500);
    const kinds = ['popularity', 'cooc', 'implicit'];
    const configs = kinds.map((k) => ws.config({ artifact_kinds: [k], limits: { min_cooc_support: 1 } }, `${k}.json`));
    const base = ws.config({ artifact_kinds: ['popularity'] }, 'base.json');
    expect((await ws.run(base, DAY0, DAY0)).code).toBe(0);

    // Three processes, as three schedulers would start them.
    const { result, reads, torn } = await watchManifest(ws, Promise.all(configs.map((c) => ws.runProcess(c, DAY1, DAY2))));
    result.forEach(expectOkOrLocked);
    expect(result.some((r) => r.code === 0)).toBe(true);
    expect(reads).toBeGreaterThan(0);
    expect(torn).toEqual([]);

    const m = checkManifest(ws)!; // parses, every URI a valid blob of the right type
    checkRecords(ws);
    kinds.forEach((k, i) => {
      // a run that finished published its type for the last day, and nobody dropped it
      if (result[i]?.code === 0) expect(m.days[k], `${k} lost`).toBe(DAY2);
    });
    expect(existsSync(ws.lockPath())).toBe(false);
    expect(tempFilesUnder(ws.out)).toEqual([]);
  });

  it('a lock left by a run killed mid-publish (SIGKILL after a blob write) is recovered, also by two runs starting at once', async () => {
    const ws = workspace(1000);
    const config = ws.config({ artifact_kinds: ['popularity', 'cooc'], limits: { min_cooc_support: 1 } });
    expect((await ws.run(config, DAY0, DAY0)).code).toBe(0);
    const manifest = ws.manifestText();

    const killed = await ws.runProcess(config, DAY1, DAY2, { env: { RECSYS_FAULT: 'after-blob-write' } });
    expect(killed.signal).toBe('SIGKILL');
    // The killed publisher's lock is still there, naming a pid that no longer runs on this host.
    const lock = JSON.parse(readFileSync(ws.lockPath(), 'utf8'));
    expect(lock.host).toBe(hostname());
    expect(isPidAlive(lock.pid)).toBe(false);
    expect(ws.manifestText()).toBe(manifest);
    checkManifest(ws);

    const [a, b] = await Promise.all([ws.runProcess(config, DAY1, DAY2), ws.runProcess(config, DAY1, DAY2)]);
    [a, b].forEach(expectOkOrLocked);
    expect(
      [a, b].some((r) => r.code === 0),
      `${a.stderr}\n${b.stderr}`,
    ).toBe(true);
    expect(checkManifest(ws)!.days).toEqual({ popularity: DAY2, cooc: DAY2 });
    checkRecords(ws);
    expect(existsSync(ws.lockPath())).toBe(false);
    expect(tempFilesUnder(ws.out)).toEqual([]);
  });
});

describe('different tenants and surfaces', () => {
  const TARGETS = [
    { tenant: 'acme', surface: 'home', seed: 1 },
    { tenant: 'beta', surface: 'home', seed: 2 },
    { tenant: 'acme', surface: 'search', seed: 3 },
  ];

  function setup(): { ws: Workspace; config: string } {
    const ws = new Workspace('recsys-tenants-');
    workspaces.push(ws);
    for (const t of TARGETS) {
      for (const [i, day] of [DAY1, DAY2].entries()) {
        ws.writeDay(day, genDay(day, 1500, { tenant: t.tenant, surface: t.surface, seed: t.seed * 10 + i }), t.tenant, t.surface);
      }
    }
    const config = ws.config({ artifact_kinds: ['popularity', 'cooc', 'session_seq'], limits: { min_cooc_support: 1 } });
    return { ws, config };
  }

  it('run in parallel: all succeed, each manifest its own, versions as when run one after another', async () => {
    const parallel = setup();
    const serial = setup();
    const rs = await Promise.all(TARGETS.map((t) => parallel.ws.runProcess(parallel.config, DAY1, DAY2, t)));
    for (const t of TARGETS) {
      const r = await serial.ws.run(serial.config, DAY1, DAY2, t);
      expect(r.code, r.stderr).toBe(0);
    }
    rs.forEach((r) => expect(r.code, r.stderr).toBe(0));
    for (const t of TARGETS) {
      const got = checkManifest(parallel.ws, t.tenant, t.surface)!;
      const want = checkManifest(serial.ws, t.tenant, t.surface)!;
      expect(got.versions).toEqual(want.versions);
      expect(got.days).toEqual({ popularity: DAY2, cooc: DAY2, session_seq: DAY2 });
      expect(parallel.ws.recordedVersions(t.tenant, t.surface)).toEqual(serial.ws.recordedVersions(t.tenant, t.surface));
      checkRecords(parallel.ws, t.tenant, t.surface);
      expect(existsSync(parallel.ws.lockPath(t.tenant, t.surface))).toBe(false);
    }
    // distinct inputs → distinct artifacts: nothing was mixed up between targets
    const pops = TARGETS.map((t) => checkManifest(parallel.ws, t.tenant, t.surface)!.versions.popularity);
    expect(new Set(pops).size).toBe(TARGETS.length);
  });
});
