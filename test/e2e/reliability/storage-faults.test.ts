/**
 * Storage faults (issue 4): an output folder that cannot be created (a regular file where a
 * folder is expected → ENOTDIR), a read-only folder (EROFS) and a full disk (ENOSPC on write)
 * fail the run with exit 1 and a message naming the path, leave the previous manifest
 * byte-identical, the checkpoint where it was, the lock released and no temp file behind;
 * once the fault is gone the same run succeeds. Tests run as root, where chmod does not stop
 * writes, so read-only and full-disk folders are simulated by ./fs-faults.cjs, preloaded into
 * the CLI child: it makes the real fs calls under one folder fail with the real error codes.
 * The runs around the faulty one run in this process.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkManifest, genDay, listDir, STACK_FRAME, tempFilesUnder, Workspace } from '../../support/reliability';

const DAY1 = '2026-05-01';
const DAY2 = '2026-05-02';
const PRELOAD = join(__dirname, '..', '..', 'support', 'fs-faults.cjs');

const workspaces: Workspace[] = [];
afterAll(() => workspaces.forEach((w) => w.cleanup()));

interface Fault {
  name: string;
  /** Config overrides for the faulty run (relative to the good config). */
  config?: (ws: Workspace, blocker: string) => Record<string, unknown>;
  /** fs-faults.cjs spec for the faulty run. */
  fs?: (ws: Workspace) => { mode: 'readonly' | 'full'; prefix: string };
  /** The path the message must name. */
  names: (ws: Workspace, blocker: string) => string;
  errno: string;
  /** True when the faulty run still sees the previous manifest (same registry_dir). */
  sameRegistry: boolean;
}

const FAULTS: Fault[] = [
  {
    name: 'object_store.dir below a regular file (ENOTDIR)',
    config: (_ws, blocker) => ({ object_store: { type: 'fs', dir: join(blocker, 'objectstore') } }),
    names: (_ws, blocker) => join(blocker, 'objectstore'),
    errno: 'ENOTDIR',
    sameRegistry: true,
  },
  {
    name: 'registry_dir below a regular file (ENOTDIR)',
    config: (_ws, blocker) => ({ registry_dir: join(blocker, 'registry') }),
    names: (_ws, blocker) => join(blocker, 'registry'),
    errno: 'ENOTDIR',
    sameRegistry: false,
  },
  {
    name: 'read-only object store folder (EROFS)',
    fs: (ws) => ({ mode: 'readonly', prefix: ws.store }),
    names: (ws) => ws.store,
    errno: 'EROFS',
    sameRegistry: true,
  },
  {
    name: 'read-only registry folder (EROFS)',
    fs: (ws) => ({ mode: 'readonly', prefix: ws.registry }),
    names: (ws) => ws.registry,
    errno: 'EROFS',
    sameRegistry: true,
  },
  {
    name: 'read-only manifest folder, blobs and records written (EROFS at the swap)',
    fs: (ws) => ({ mode: 'readonly', prefix: join(ws.registry, 'current') }),
    names: (ws) => ws.manifestPath(),
    errno: 'EROFS',
    sameRegistry: true,
  },
  {
    name: 'full disk in the object store (ENOSPC)',
    fs: (ws) => ({ mode: 'full', prefix: ws.store }),
    names: (ws) => join(ws.store, 'demo', 'home'),
    errno: 'ENOSPC',
    sameRegistry: true,
  },
  {
    name: 'full disk at the manifest swap (ENOSPC)',
    fs: (ws) => ({ mode: 'full', prefix: join(ws.registry, 'current') }),
    names: (ws) => ws.manifestPath(),
    errno: 'ENOSPC',
    sameRegistry: true,
  },
  {
    name: 'full disk in the canonical folder (ENOSPC at ingest)',
    fs: (ws) => ({ mode: 'full', prefix: join(ws.out, 'canonical') }),
    names: (ws) => ws.partitionPath(DAY2),
    errno: 'ENOSPC',
    sameRegistry: true,
  },
];

function setup(): { ws: Workspace; good: string; blocker: string } {
  const ws = new Workspace('recsys-storage-');
  workspaces.push(ws);
  ws.writeDay(DAY1, genDay(DAY1, 300));
  ws.writeDay(DAY2, genDay(DAY2, 300));
  const blocker = join(ws.dir, 'blocker');
  writeFileSync(blocker, 'a regular file where a folder is expected');
  const good = ws.config({ artifact_kinds: ['popularity', 'cooc'], limits: { min_cooc_support: 1 } });
  return { ws, good, blocker };
}

describe.concurrent('storage faults: exit 1 naming the path, previous manifest intact, clean retry', () => {
  it.each(FAULTS)('$name', async (f) => {
    const { ws, good, blocker } = setup();
    const first = await ws.run(good, DAY1, DAY1);
    expect(first.code, first.stderr).toBe(0);
    const manifest = ws.manifestText()!;
    const checkpoint = readFileSync(ws.checkpointPath(), 'utf8');
    const blobsBefore = listDir(join(ws.store, 'demo', 'home', 'popularity'));

    const config = f.config
      ? ws.config({ artifact_kinds: ['popularity', 'cooc'], limits: { min_cooc_support: 1 }, ...f.config(ws, blocker) }, 'faulty.json')
      : good;
    // The fs faults patch the fs module of a process from its start: that run is a child
    // process; a config-made fault (ENOTDIR) runs in this process like the others.
    const r = f.fs
      ? await ws.runProcess(config, DAY2, DAY2, { env: { NODE_OPTIONS: `--require ${PRELOAD}`, RECSYS_TEST_FS_FAULT: JSON.stringify(f.fs(ws)) } })
      : await ws.run(config, DAY2, DAY2);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(f.names(ws, blocker));
    expect(r.stderr).toContain(f.errno);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(r.stderr).not.toContain('internal error');

    // The live pointer and the checkpoint did not move; nothing half-written is left.
    expect(ws.manifestText()).toBe(manifest);
    expect(checkManifest(ws)!.days.popularity).toBe(DAY1);
    expect(readFileSync(ws.checkpointPath(), 'utf8')).toBe(checkpoint);
    expect(existsSync(ws.lockPath()), 'lock released').toBe(false);
    expect(tempFilesUnder(ws.dir)).toEqual([]);
    if (!f.sameRegistry) expect(listDir(join(ws.store, 'demo', 'home', 'popularity'))).toEqual(blobsBefore);

    // The fault gone, the same run publishes day 2.
    const retry = await ws.run(good, DAY2, DAY2);
    expect(retry.code, retry.stderr).toBe(0);
    expect(checkManifest(ws)!.days.popularity).toBe(DAY2);
    expect(JSON.parse(readFileSync(ws.checkpointPath(), 'utf8')).last_day).toBe(DAY2);
  });

  it('missing output folders are created (nested, not there yet): exit 0', async () => {
    const { ws } = setup();
    const deep = join(ws.dir, 'not', 'yet', 'there');
    const config = ws.config({ registry_dir: join(deep, 'registry'), object_store: { type: 'fs', dir: join(deep, 'store') } }, 'deep.json');
    const r = await ws.run(config, DAY1, DAY1);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(deep, 'registry', 'current', 'demo', 'home', 'manifest.json'), 'utf8'));
    expect(m.current.popularity.startsWith(`file://${join(deep, 'store')}/`)).toBe(true);
  });

  it('an output folder removed between runs is recreated; the manifest stays readable meanwhile', async () => {
    const { ws, good } = setup();
    expect((await ws.run(good, DAY1, DAY1)).code).toBe(0);
    // the staging folder is scratch space: deleting it does not break anything
    rmSync(join(ws.out, 'artifacts'), { recursive: true });
    const r = await ws.run(good, DAY2, DAY2);
    expect(r.code, r.stderr).toBe(0);
    expect(checkManifest(ws)!.days.popularity).toBe(DAY2);
  });
});
