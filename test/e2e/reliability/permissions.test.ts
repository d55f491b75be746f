/**
 * Real storage faults (issue 14 items 3 and 6): a read-only file system (a read-only bind
 * mount, EROFS), a folder the pipeline's user may not write (uid 65534 through setpriv,
 * EACCES) and a full disk (a tiny tmpfs, ENOSPC), each at the stage that meets it: ingest's
 * partition, compute's staging, publish before the swap, the checkpoint after it.
 *
 * Each case asserts what the operator reads and what is left on disk: exit 1 (E_IO: a retry
 * may help once the folder is fixed); the message names the operation, the path and what the
 * system error means; no `stage_done` for the failed stage (a stage is done only once its
 * writes are durable), a `day_failed` naming it; the manifest and checkpoint byte-identical
 * (or absent), except after the swap, where the message says the day is published and the
 * checkpoint not; no temp file and no half-written partition or artifact.
 *
 * Tests run as root (CI does), where chmod blocks nothing: the faults are made real with
 * `unshare --mount` and setpriv (test/support/unprivileged.ts). Without root they skip,
 * saying why; under CI=true they must run.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, type ProcessResult, runArgs } from '../../support/cli-harness';
import { checkManifest, genDay, STACK_FRAME, tempFilesUnder, Workspace } from '../../support/reliability';
import {
  cliWithFaults,
  type FaultRun,
  listFilesInto,
  logRecords,
  NOBODY,
  openTo,
  readOnly,
  stagesDone,
  storageFaultsUnavailable,
  tinyDisk,
} from '../../support/unprivileged';

const DAY1 = '2026-05-01';
const DAY2 = '2026-05-02';

const why = storageFaultsUnavailable();
if (why !== null && process.env.CI === 'true') throw new Error(`test/e2e/reliability/permissions.test.ts cannot run under CI: ${why}`);
if (why !== null) console.warn(`test/e2e/reliability/permissions.test.ts: skipped: ${why}`);

const workspaces: Workspace[] = [];
afterAll(() => workspaces.forEach((w) => w.cleanup()));

function setup(eventsPerDay = 300): { ws: Workspace; config: string } {
  const ws = new Workspace('recsys-perm-');
  workspaces.push(ws);
  ws.writeDay(DAY1, genDay(DAY1, eventsPerDay));
  ws.writeDay(DAY2, genDay(DAY2, eventsPerDay));
  const config = ws.config({ artifact_kinds: ['popularity', 'cooc'], limits: { min_cooc_support: 1 } });
  return { ws, config };
}

const dayArgs = (command: string, config: string, day: string) => runArgs(config, day, day, ['--log-format', 'json'], { command });

/** A good run of `day` in this process (as root, no fault). */
async function goodRun(config: string, day: string): Promise<void> {
  const r = await cli(dayArgs('run', config, day));
  expect(r.code, r.stderr).toBe(0);
}

function faulty(command: string, config: string, day: string, opts: FaultRun): Promise<ProcessResult> {
  return cliWithFaults(dayArgs(command, config, day), opts);
}

/** The failure the logs and the exit code report: exit 1, E_IO, one day_failed at `stage`, no stack trace. */
function expectIoFailure(r: ProcessResult, day: string, stage: string): string {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).not.toMatch(STACK_FRAME);
  expect(r.stderr).not.toContain('internal error');
  const failed = logRecords(r.stderr).filter((x) => x.event === 'day_failed');
  expect(failed.map((x) => [x.day, x.stage, x.code])).toEqual([[day, stage, 'E_IO']]);
  expect(stagesDone(r.stderr)).not.toContain(`${day} ${stage}`);
  return failed[0]!.message!;
}

const filesUnder = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name))
    : [];

describe.skipIf(why !== null)('storage faults made real: the stage that meets one fails, naming the path and the system error', () => {
  it('read-only output folder (EROFS): ingest fails naming the folder, not ENOENT; nothing is reported done or written', async () => {
    const { ws, config } = setup();
    mkdirSync(ws.out);
    const r = await faulty('run', config, DAY1, { mounts: [readOnly(ws.out)] });
    const message = expectIoFailure(r, DAY1, 'ingest');
    expect(message).toBe(`write ${ws.partitionPath(DAY1)}: EROFS: read-only file system (mkdir ${join(ws.out, 'canonical')})`);
    expect(r.stderr).not.toContain('ENOENT');
    expect(stagesDone(r.stderr)).toEqual([]); // the old behaviour: "stage_done ingest", then compute failed with ENOENT
    expect(r.stdout).toContain('manifest: not changed (nothing published)');
    expect(filesUnder(ws.out)).toEqual([]);
  });

  it('job-mode ingest into a read-only canonical folder (EROFS): no stage_done, the previous partition and record byte-identical', async () => {
    const { ws, config } = setup();
    expect((await cli(dayArgs('ingest', config, DAY1))).code).toBe(0);
    const canonical = join(ws.out, 'canonical');
    const before = filesUnder(canonical).map((f) => [f, readFileSync(f, 'utf8')]);
    expect(before.map(([f]) => f)).toContain(ws.partitionPath(DAY1));

    const r = await faulty('ingest', config, DAY1, { mounts: [readOnly(canonical)] });
    const message = expectIoFailure(r, DAY1, 'ingest');
    expect(message).toBe(`write ${ws.partitionPath(DAY1)}: EROFS: read-only file system`);
    expect(stagesDone(r.stderr)).toEqual([]);
    expect(filesUnder(canonical).map((f) => [f, readFileSync(f, 'utf8')])).toEqual(before);
    expect(tempFilesUnder(ws.dir)).toEqual([]);
  });

  it('full disk under the canonical folder (ENOSPC): ingest fails naming the partition; no partial partition or temp file on that disk', async () => {
    const { ws, config } = setup(20_000);
    const canonical = join(ws.out, 'canonical');
    mkdirSync(canonical, { recursive: true });
    const listing = join(ws.dir, 'canonical-files.txt');
    const r = await faulty('run', config, DAY1, { mounts: [tinyDisk(canonical, '64k')], after: [listFilesInto(canonical, listing)] });
    const message = expectIoFailure(r, DAY1, 'ingest');
    expect(message).toBe(`write ${ws.partitionPath(DAY1)}: ENOSPC: no space left on device`);
    expect(stagesDone(r.stderr)).toEqual([]);
    expect(readFileSync(listing, 'utf8')).toBe(''); // what the full disk held when the run ended: nothing
    expect(ws.manifestText()).toBeNull();
    expect(existsSync(ws.checkpointPath())).toBe(false);
  });

  it('staging folder the user may not write (EACCES, uid 65534): compute fails naming the folder and the uid; ingest and validate were done', async () => {
    const { ws, config } = setup();
    await goodRun(config, DAY1);
    const manifest = ws.manifestText();
    const checkpoint = readFileSync(ws.checkpointPath(), 'utf8');
    const artifacts = join(ws.out, 'artifacts');
    openTo(ws.dir, [artifacts]);

    const r = await faulty('run', config, DAY2, { uid: NOBODY });
    const message = expectIoFailure(r, DAY2, 'compute');
    expect(message).toMatch(
      new RegExp(`^write ${artifacts}/demo/home/\\S+: EACCES: permission denied for uid ${NOBODY} \\(mkdir ${artifacts}/demo/home/\\S+\\)$`),
    );
    expect(stagesDone(r.stderr)).toEqual([`${DAY2} ingest`, `${DAY2} validate`]);
    expect(existsSync(ws.partitionPath(DAY2))).toBe(true); // ingest reported done: its partition is there
    expect(ws.manifestText()).toBe(manifest);
    expect(readFileSync(ws.checkpointPath(), 'utf8')).toBe(checkpoint);
    expect(tempFilesUnder(ws.dir)).toEqual([]);
  });

  it('job-mode compute into a read-only staging folder (EROFS): compute fails naming the folder it could not make, not ENOENT', async () => {
    const { ws, config } = setup();
    expect((await cli(dayArgs('ingest', config, DAY1))).code).toBe(0);
    const artifacts = join(ws.out, 'artifacts');
    mkdirSync(artifacts);
    const r = await faulty('compute', config, DAY1, { mounts: [readOnly(artifacts)] });
    const message = expectIoFailure(r, DAY1, 'compute');
    expect(message).toMatch(new RegExp(`^write ${artifacts}/demo/home/\\S+: EROFS: read-only file system \\(mkdir ${artifacts}/demo\\)$`));
    expect(stagesDone(r.stderr)).toEqual([`${DAY1} validate`]);
    expect(r.stdout).not.toContain('staged:');
    expect(filesUnder(artifacts)).toEqual([]);
  });

  it('full disk under the object store (ENOSPC): publish fails before the swap; no manifest, record or checkpoint; no partial blob', async () => {
    const { ws, config } = setup();
    mkdirSync(ws.store, { recursive: true });
    const listing = join(ws.dir, 'store-files.txt');
    const r = await faulty('run', config, DAY1, { mounts: [tinyDisk(ws.store, '4k')], after: [listFilesInto(ws.store, listing)] });
    const message = expectIoFailure(r, DAY1, 'publish');
    expect(message).toMatch(new RegExp(`^write ${ws.store}/demo/home/\\w+/[0-9a-f]{64}\\.json: ENOSPC: no space left on device$`));
    expect(stagesDone(r.stderr)).toEqual([`${DAY1} ingest`, `${DAY1} validate`, `${DAY1} compute`]);
    const left = readFileSync(listing, 'utf8').split('\n').filter(Boolean);
    // Every blob that made it is complete (the run's own staged copy says what complete is).
    for (const blob of left) expect(blob).toMatch(/\/[0-9a-f]{64}\.json$/);
    expect(ws.manifestText()).toBeNull();
    expect(filesUnder(join(ws.registry, 'records'))).toEqual([]);
    expect(existsSync(ws.checkpointPath())).toBe(false);
    expect(tempFilesUnder(ws.dir)).toEqual([]);
  });

  it('read-only registry (EROFS): publish fails before the swap; manifest and checkpoint byte-identical', async () => {
    const { ws, config } = setup();
    await goodRun(config, DAY1);
    const manifest = ws.manifestText();
    const checkpoint = readFileSync(ws.checkpointPath(), 'utf8');

    const r = await faulty('run', config, DAY2, { mounts: [readOnly(ws.registry)] });
    const message = expectIoFailure(r, DAY2, 'publish');
    expect(message).toContain(`${ws.registry}/`);
    expect(message).toContain(': EROFS: read-only file system');
    expect(stagesDone(r.stderr)).toEqual([`${DAY2} ingest`, `${DAY2} validate`, `${DAY2} compute`]);
    expect(ws.manifestText()).toBe(manifest);
    expect(checkManifest(ws)!.days.popularity).toBe(DAY1);
    expect(readFileSync(ws.checkpointPath(), 'utf8')).toBe(checkpoint);
    expect(tempFilesUnder(ws.dir)).toEqual([]);
  });

  it.each([
    ['read-only (EROFS, root)', (dir: string) => ({ mounts: [readOnly(dir)] }), 'EROFS: read-only file system'],
    ['not writable for the user (EACCES, uid 65534)', () => ({ uid: NOBODY }), `EACCES: permission denied for uid ${NOBODY}`],
  ] as const)('checkpoint folder %s: "published, checkpoint not advanced" naming the path; a rerun finishes the checkpoint', async (_name, fault, meaning) => {
    const { ws, config } = setup();
    await goodRun(config, DAY1);
    const checkpointDir = join(ws.out, 'checkpoints');
    const checkpoint = readFileSync(ws.checkpointPath(), 'utf8');
    openTo(ws.dir, [checkpointDir]);

    const r = await faulty('run', config, DAY2, fault(checkpointDir));
    const message = expectIoFailure(r, DAY2, 'publish');
    expect(message).toBe(
      `published, checkpoint not advanced: the manifest already points at ${DAY2}'s artifacts, but write ${ws.checkpointPath()}: ${meaning}; ` +
        `fix that and rerun ${DAY2} (or run --incremental): the rerun publishes the same versions and finishes the checkpoint`,
    );
    expect(checkManifest(ws)!.days.popularity).toBe(DAY2); // what the message says: the day is live
    expect(readFileSync(ws.checkpointPath(), 'utf8')).toBe(checkpoint);
    expect(tempFilesUnder(ws.dir)).toEqual([]);

    await goodRun(config, DAY2);
    expect(JSON.parse(readFileSync(ws.checkpointPath(), 'utf8')).last_day).toBe(DAY2);
  });
});
