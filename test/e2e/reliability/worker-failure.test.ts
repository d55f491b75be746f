/**
 * Worker failures (issue 4): a worker thread whose task throws, that calls process.exit, or
 * that runs out of its heap (engine.worker_heap_mb) fails the run cleanly: exit 1, an
 * E_WORKER message naming the stage and the shard, no stack trace, the pool shut down,
 * nothing of the day published. Faults are injected with the test-only
 * RECSYS_WORKER_FAULT=<mode>[:<kind>[:<shard>]] hook of src/engine/worker/index.ts, which a
 * worker thread reads from the environment it copies when it starts: the cases run the CLI
 * in this process (one after another) with the variable set while the faulty run's pool
 * starts; one case runs as a real process, which must then exit by itself.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { isPipelineError } from '../../../src/errors';
import { WorkerPool } from '../../../src/engine/threads/pool';
import type { ParseTask } from '../../../src/engine/threads/messages';
import type { ChildResult } from '../../support/reliability';
import { checkManifest, genDay, listDir, STACK_FRAME, tempFilesUnder, Workspace } from '../../support/reliability';
import { must } from '../../support/helpers';

const DAY1 = '2026-04-01';
const DAY2 = '2026-04-02';

const workspaces: Workspace[] = [];
afterAll(() => workspaces.forEach((w) => w.cleanup()));

const savedFault = process.env.RECSYS_WORKER_FAULT;
function restoreFault(): void {
  if (savedFault === undefined) delete process.env.RECSYS_WORKER_FAULT;
  else process.env.RECSYS_WORKER_FAULT = savedFault;
}
afterEach(() => {
  restoreFault();
  vi.restoreAllMocks();
});

interface Case {
  fault: string;
  /** What the message must name: stage/kind and shard. */
  where: RegExp;
  why: RegExp;
}

// 3000 events with engine.shard_rows 1024 → 3 shards per compute kind.
const CASES: Case[] = [
  { fault: 'throw:cooc:2', where: /compute cooc: shard 2 failed/, why: /injected fault/ },
  { fault: 'exit:implicit:1', where: /compute implicit: shard 1 failed/, why: /exited with code 3/ },
  { fault: 'oom:session_seq:0', where: /compute session_seq: shard 0 failed/, why: /ran out of its heap \(engine\.worker_heap_mb = 64\)/ },
  { fault: 'throw:parse:0', where: /ingest \(parse\): shard 0 failed/, why: /injected fault/ },
  { fault: 'exit:encode', where: /encode (cooc|implicit|session_seq): shard 0 failed/, why: /exited with code 3/ },
  // every task of every worker: the first stage on the pool fails, whichever it is
  { fault: 'exit', where: /(ingest \(parse\)|compute \w+): shard \d+ failed/, why: /exited with code 3/ },
];

/** A workspace with day 1 published; returns what must not change when day 2 fails (on 2 workers). */
async function publishedDay1(): Promise<{ ws: Workspace; config: string; manifest: string | null; checkpoint: string; blobs: number }> {
  const ws = new Workspace('recsys-worker-');
  workspaces.push(ws);
  ws.writeDay(DAY1, genDay(DAY1, 3000));
  ws.writeDay(DAY2, genDay(DAY2, 3000));
  const config = ws.config({
    artifact_kinds: ['popularity', 'cooc', 'implicit', 'session_seq'],
    limits: { min_cooc_support: 1 },
    engine: { worker_heap_mb: 64, shard_rows: 1024 },
  });
  const ok = await ws.run(config, DAY1, DAY1);
  expect(ok.code, ok.stderr).toBe(0);
  return {
    ws,
    config,
    manifest: ws.manifestText(),
    checkpoint: readFileSync(ws.checkpointPath(), 'utf8'),
    blobs: listDir(join(ws.store, 'demo', 'home', 'cooc')).length,
  };
}

/** The failed day-2 run: exit 1 naming stage, shard and cause; nothing of day 2 published; then a clean retry. */
async function expectFailedCleanly(day1: Awaited<ReturnType<typeof publishedDay1>>, r: ChildResult, { where, why }: Case): Promise<void> {
  const { ws, config } = day1;
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).toMatch(where);
  expect(r.stderr).toMatch(why);
  expect(r.stderr).not.toMatch(STACK_FRAME);
  expect(r.stderr).not.toContain('internal error');

  // Nothing of day 2 published; day 1 stays current.
  expect(ws.manifestText()).toBe(day1.manifest);
  expect(checkManifest(ws)!.days.cooc).toBe(DAY1);
  expect(Object.keys(ws.recordedVersions()).filter((k) => k.endsWith(DAY2))).toEqual([]);
  expect(listDir(join(ws.store, 'demo', 'home', 'cooc')).length).toBe(day1.blobs);
  expect(readFileSync(ws.checkpointPath(), 'utf8')).toBe(day1.checkpoint);
  expect(tempFilesUnder(ws.out)).toEqual([]);

  // and the same day runs once the fault is gone
  const retry = await ws.run(config, DAY2, DAY2);
  expect(retry.code, retry.stderr).toBe(0);
  expect(checkManifest(ws)!.days.cooc).toBe(DAY2);
}

describe('a failing worker fails the run cleanly', () => {
  it.each(CASES)('RECSYS_WORKER_FAULT=$fault: exit 1, E_WORKER naming stage and shard, the pool shut down, nothing published', async (c) => {
    const day1 = await publishedDay1();
    // Every pool the run starts must be closed (all its workers stopped) before the run returns.
    const closed: WorkerPool[] = [];
    const original = Object.getOwnPropertyDescriptor(WorkerPool.prototype, 'close')?.value as (this: WorkerPool) => Promise<void>;
    vi.spyOn(WorkerPool.prototype, 'close').mockImplementation(async function (this: WorkerPool) {
      await original.call(this);
      closed.push(this);
    });
    process.env.RECSYS_WORKER_FAULT = c.fault;
    let r: ChildResult;
    try {
      r = await day1.ws.run(day1.config, DAY2, DAY2, { workers: 2 });
    } finally {
      restoreFault();
    }
    expect(closed, 'the run closed its pool').toHaveLength(1);
    vi.restoreAllMocks();
    await expectFailedCleanly(day1, r, c);
  });

  // A real process: process.exit in a worker ends that thread only, and once the run has
  // failed the process exits by itself, with 1 (a pool left running would keep it alive).
  it('in a real process (RECSYS_WORKER_FAULT=exit:implicit:1): exit 1, and the process ends by itself', async () => {
    const c = must(CASES[1]);
    const day1 = await publishedDay1();
    const r = await day1.ws.runProcess(day1.config, DAY2, DAY2, { workers: 2, env: { RECSYS_WORKER_FAULT: c.fault } });
    expect(r.signal).toBeNull();
    await expectFailedCleanly(day1, r, c);
  });
});

describe('WorkerPool maps each worker failure to E_WORKER (in process)', () => {
  const parseTask = (shard: number): ParseTask => ({
    task: 'parse',
    shard,
    block: new TextEncoder().encode(genDay(DAY1, 3).join('\n') + '\n'),
    params: {
      tenant: 'demo',
      surface: 'home',
      dayStart: Date.parse(`${DAY1}T00:00:00Z`) * 1000,
      dayEnd: Date.parse(`${DAY2}T00:00:00Z`) * 1000,
      failFast: true,
      firstBlock: shard === 0,
    },
  });

  it.each([
    ['throw', /^ingest \(parse\): shard 4 failed: injected fault/],
    ['exit', /^ingest \(parse\): shard 4 failed: the worker thread exited with code 3/],
    ['oom', /^ingest \(parse\): shard 4 failed: limit exceeded: engine\.worker_heap_mb: the worker ran out of its heap \(engine\.worker_heap_mb = 64\)/],
  ])('%s in a parse task → E_WORKER, exit code 1, stage and shard named; close() ends', async (mode, message) => {
    // Worker threads copy the environment when they start: set it before the pool exists.
    process.env.RECSYS_WORKER_FAULT = `${mode}:parse:4`;
    const pool = new WorkerPool({ workers: 1, workerHeapMb: 64 });
    try {
      const healthy = await pool.run('ingest', parseTask(0));
      expect(healthy.parsed.nonBlank).toBe(3);
      const err = await pool.run('ingest', parseTask(4)).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isPipelineError(err), String(err)).toBe(true);
      expect(err).toMatchObject({ code: 'E_WORKER', exitCode: 1 });
      expect((err as Error).message).toMatch(message);
    } finally {
      await pool.close();
    }
  });
});
