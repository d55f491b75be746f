/**
 * Worker failures (issue 4): a worker thread whose task throws, that calls process.exit, or
 * that runs out of its heap (engine.worker_heap_mb) fails the run cleanly: exit 1, an
 * E_WORKER message naming the stage and the shard, no stack trace, the pool shut down (the
 * process exits promptly), nothing of the day published. Faults are injected with the
 * test-only RECSYS_WORKER_FAULT=<mode>[:<kind>[:<shard>]] hook of src/engine/worker/index.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isPipelineError } from '../../../src/errors';
import { WorkerPool } from '../../../src/engine/threads/pool';
import type { ParseTask } from '../../../src/engine/threads/messages';
import { checkManifest, genDay, listDir, STACK_FRAME, tempFilesUnder, Workspace } from '../../support/reliability';

const DAY1 = '2026-04-01';
const DAY2 = '2026-04-02';

const workspaces: Workspace[] = [];
afterAll(() => workspaces.forEach((w) => w.cleanup()));

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

describe.concurrent('a failing worker fails the run cleanly', () => {
  it.each(CASES)('RECSYS_WORKER_FAULT=$fault: exit 1, E_WORKER naming stage and shard, nothing published', async ({ fault, where, why }) => {
    const ws = new Workspace('recsys-worker-');
    workspaces.push(ws);
    ws.writeDay(DAY1, genDay(DAY1, 3000));
    ws.writeDay(DAY2, genDay(DAY2, 3000));
    const config = ws.config({
      artifact_kinds: ['popularity', 'cooc', 'implicit', 'session_seq'],
      limits: { min_cooc_support: 1 },
      engine: { worker_heap_mb: 64, shard_rows: 1024 },
    });
    const ok = await ws.run(config, DAY1, DAY1, { workers: 2 });
    expect(ok.code, ok.stderr).toBe(0);
    const manifest = ws.manifestText();
    const checkpoint = readFileSync(ws.checkpointPath(), 'utf8');
    const blobs = listDir(join(ws.store, 'demo', 'home', 'cooc')).length;

    const r = await ws.run(config, DAY2, DAY2, { workers: 2, env: { RECSYS_WORKER_FAULT: fault }, timeoutMs: 30_000 });
    expect(r.signal, 'the run must end by itself, not by the test timeout').toBeNull();
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(where);
    expect(r.stderr).toMatch(why);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(r.stderr).not.toContain('internal error');
    // The pool was shut down: the process did not wait for idle workers (idleTimeout 60 s).
    expect(r.ms).toBeLessThan(20_000);

    // Nothing of day 2 published; day 1 stays current.
    expect(ws.manifestText()).toBe(manifest);
    expect(checkManifest(ws)!.days.cooc).toBe(DAY1);
    expect(Object.keys(ws.recordedVersions()).filter((k) => k.endsWith(DAY2))).toEqual([]);
    expect(listDir(join(ws.store, 'demo', 'home', 'cooc')).length).toBe(blobs);
    expect(readFileSync(ws.checkpointPath(), 'utf8')).toBe(checkpoint);
    expect(tempFilesUnder(ws.out)).toEqual([]);

    // and the same day runs once the fault is gone
    const retry = await ws.run(config, DAY2, DAY2, { workers: 2 });
    expect(retry.code, retry.stderr).toBe(0);
    expect(checkManifest(ws)!.days.cooc).toBe(DAY2);
  });
});

describe('WorkerPool maps each worker failure to E_WORKER (in process)', () => {
  const saved = process.env.RECSYS_WORKER_FAULT;
  afterEach(() => {
    if (saved === undefined) delete process.env.RECSYS_WORKER_FAULT;
    else process.env.RECSYS_WORKER_FAULT = saved;
  });

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
  ])('%s in a parse task → E_WORKER, exit code 1, stage and shard named; close() is prompt', async (mode, message) => {
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
      const t0 = Date.now();
      await pool.close();
      expect(Date.now() - t0).toBeLessThan(5_000);
    }
  });
});
