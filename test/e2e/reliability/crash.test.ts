/**
 * Crashes (issue 4): the CLI, in a child process, is killed with SIGKILL (RECSYS_FAULT,
 * src/engine/faults.ts) at every crash point of a 2-day run over a tenant/surface that
 * already has a published day (the runs before and after it are in this process).
 * After each kill: the manifest parses and every URI in it is a complete blob that validates;
 * every registry record matches its blob. Then temp files such as a crash leaves behind are
 * planted everywhere a run writes (a torn manifest among them): readers ignore them, the
 * rerun (exit 0) removes those of dead writers and keeps those of live ones, and publishes
 * exactly the versions and partitions of an uninterrupted run.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsRegistry } from '../../../src/io/store/fs/registry';
import { deadPid } from '../../support/helpers';
import { ALL_KINDS, CATALOG, checkManifest, checkRecords, genDay, tempFilesUnder, Workspace } from '../../support/reliability';

const DAY0 = '2026-03-01'; // published before the crashing run
const DAY1 = '2026-03-02';
const DAY2 = '2026-03-03';
const EVENTS_PER_DAY = 1500;

const POINTS = ['after-ingest-parse', 'after-partition-write', 'after-compute', 'after-blob-write', 'after-record-write', 'after-manifest-swap'] as const;

const workspaces: Workspace[] = [];
afterAll(() => workspaces.forEach((w) => w.cleanup()));

/** A workspace with three days of raw input, all five artifact types configured. */
function workspace(): { ws: Workspace; config: string } {
  const ws = new Workspace('recsys-crash-');
  workspaces.push(ws);
  for (const day of [DAY0, DAY1, DAY2]) ws.writeDay(day, genDay(day, EVENTS_PER_DAY));
  const config = ws.config({
    artifact_kinds: ALL_KINDS,
    catalog: { path: CATALOG, format: 'csv' },
    limits: { min_cooc_support: 1, max_neighbors_per_item: 10 },
  });
  return { ws, config };
}

async function publishDay0(ws: Workspace, config: string): Promise<string> {
  const r = await ws.run(config, DAY0, DAY0);
  expect(r.code, r.stderr).toBe(0);
  const manifest = ws.manifestText();
  expect(manifest).not.toBeNull();
  return manifest!;
}

/** Uninterrupted reference: DAY0, then DAY1..DAY2 in one run. */
let baseline: { ws: Workspace; versions: Record<string, string>; manifest: Record<string, string>; day0: Record<string, string> };

beforeAll(async () => {
  const { ws, config } = workspace();
  await publishDay0(ws, config);
  const day0 = checkManifest(ws)!.versions;
  const r = await ws.run(config, DAY1, DAY2);
  expect(r.code, r.stderr).toBe(0);
  baseline = { ws, versions: ws.recordedVersions(), manifest: checkManifest(ws)!.versions, day0 };
  // sanity of the reference itself: every type published for each of the three days
  expect(Object.keys(baseline.versions)).toHaveLength(ALL_KINDS.length * 3);
  expect(Object.keys(baseline.manifest).sort()).toEqual([...ALL_KINDS].sort());
});

/**
 * Temp files named as our atomic writers name them, in every folder a run writes to.
 * `dead` ones belong to an exited process; the `live` one to this (running) test process.
 */
function plantTempFiles(ws: Workspace): { dead: string[]; live: string } {
  const pid = deadPid();
  const folders: Array<[string, string]> = [
    [join(ws.out, 'canonical', 'demo', 'home', 'exposures'), `${DAY1}.arrow`],
    [join(ws.out, 'checkpoints', 'demo', 'home'), '_.json'],
    [join(ws.out, 'artifacts', 'demo', 'home', 'popularity', `${DAY1}_${DAY2}`), 'current.version'],
    [join(ws.store, 'demo', 'home', 'cooc'), `${baseline.versions[`cooc@${DAY1}`]}.json`],
    [join(ws.registry, 'records', 'demo', 'home', 'implicit'), `${baseline.versions[`implicit@${DAY1}`]}.json`],
    [join(ws.registry, 'current', 'demo', 'home'), 'manifest.json'],
    [join(ws.registry, 'history', 'demo', 'home'), '20260101T000000Z-000009.json'],
    [join(ws.registry, 'locks', 'demo'), 'home.lock'],
  ];
  const dead: string[] = [];
  for (const [dir, name] of folders) {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `.${name}.tmp-${pid}-0123abcd`);
    // a torn write: the first bytes of a JSON document
    writeFileSync(file, '{"v":1,"tenant":"demo","cur');
    dead.push(file);
  }
  const live = join(ws.registry, 'current', 'demo', 'home', `.manifest.json.tmp-${process.pid}-feedbeef`);
  writeFileSync(live, '{"v":1,');
  return { dead, live };
}

describe.concurrent('SIGKILL at each crash point, then a rerun', () => {
  it.each(POINTS)('%s: previous state readable, rerun gives the uninterrupted versions, stale temp files cleaned', async (point) => {
    const { ws, config } = workspace();
    const before = await publishDay0(ws, config);

    const crashed = await ws.runProcess(config, DAY1, DAY2, { env: { RECSYS_FAULT: point } });
    expect(crashed.signal, `${point} should have killed the run; stderr: ${crashed.stderr}`).toBe('SIGKILL');
    expect(crashed.code).toBeNull();

    // What readers see right after the crash.
    const seen = checkManifest(ws)!;
    expect(seen).not.toBeNull();
    if (point === 'after-manifest-swap') {
      // day 1 was swapped in completely, nothing of day 2 yet
      for (const kind of ALL_KINDS) expect(seen.versions[kind]).toBe(baseline.versions[`${kind}@${DAY1}`]);
    } else {
      expect(ws.manifestText()).toBe(before);
      expect(seen.versions).toEqual(baseline.day0);
    }
    checkRecords(ws);
    for (const blob of tempFilesUnder(ws.store)) throw new Error(`temp file left in the object store: ${blob}`);

    // Leftovers a crash mid-write would leave: ignored by readers.
    const { dead, live } = plantTempFiles(ws);
    const registry = new FsRegistry(ws.registry);
    expect((await registry.readManifest('demo', 'home'))!.current).toEqual(seen.current);
    const records = await registry.listRecords('demo', 'home');
    expect(records.length).toBe(checkRecords(ws));
    await expect(registry.listHistory('demo', 'home')).resolves.toBeDefined();

    const rerun = await ws.run(config, DAY1, DAY2);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.signal).toBeNull();

    // Exactly what an uninterrupted run publishes.
    expect(ws.recordedVersions()).toEqual(baseline.versions);
    expect(checkManifest(ws)!.versions).toEqual(baseline.manifest);
    checkRecords(ws);
    for (const day of [DAY0, DAY1, DAY2]) {
      expect(readFileSync(ws.partitionPath(day)).equals(readFileSync(baseline.ws.partitionPath(day))), `partition ${day}`).toBe(true);
    }
    expect(JSON.parse(readFileSync(ws.checkpointPath(), 'utf8')).last_day).toBe(DAY2);
    expect(existsSync(ws.lockPath()), 'the lock of the killed run was recovered and released').toBe(false);

    // Stale temp files are gone, the live writer's one is untouched.
    expect(dead.filter((f) => existsSync(f))).toEqual([]);
    expect(readFileSync(live, 'utf8')).toBe('{"v":1,');
    expect(tempFilesUnder(ws.out)).toEqual([live]);
    rmSync(live);
  });
});
