import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { advanceCheckpoint, checkpointPath, readCheckpoint } from '../../../src/io/store/checkpoint';

let dir: string;

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'recsys-checkpoint-'));
});

afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('checkpoint', () => {
  it('is null before the first successful day', async () => {
    expect(await readCheckpoint(dir, 'demo', 'home', '')).toBeNull();
  });

  it('stores the empty segment as _.json with Go-compatible bytes', async () => {
    await advanceCheckpoint(dir, 'demo', 'home', '', '2026-01-02', new Date('2026-01-03T04:05:06.789Z'));
    const file = path.join(dir, 'demo', 'home', '_.json');
    expect(checkpointPath(dir, 'demo', 'home', '')).toBe(file);
    expect(await fsp.readFile(file, 'utf8')).toBe(
      `{
  "v": 1,
  "last_day": "2026-01-02",
  "updated_at": "2026-01-03T04:05:06Z"
}`,
    );
    expect(await readCheckpoint(dir, 'demo', 'home', '')).toBe('2026-01-02');
  });

  it('keeps segments apart and advances atomically', async () => {
    await advanceCheckpoint(dir, 'demo', 'home', 'eu', '2026-01-02');
    await advanceCheckpoint(dir, 'demo', 'home', 'eu', '2026-01-03');
    expect(await readCheckpoint(dir, 'demo', 'home', 'eu')).toBe('2026-01-03');
    expect(await readCheckpoint(dir, 'demo', 'home', '')).toBeNull();
    expect(await fsp.readdir(path.join(dir, 'demo', 'home'))).toEqual(['eu.json']);
  });

  it('reports a checkpoint that does not parse as E_IO', async () => {
    const file = checkpointPath(dir, 'demo', 'home', '');
    await fsp.mkdir(path.dirname(file), { recursive: true });
    await fsp.writeFile(file, '{"v":1,');
    expect(await codeOf(readCheckpoint(dir, 'demo', 'home', ''))).toBe('E_IO');
    await fsp.writeFile(file, '{"v":1,"last_day":"2026-02-30","updated_at":"x"}');
    expect(await codeOf(readCheckpoint(dir, 'demo', 'home', ''))).toBe('E_IO');
  });

  it('refuses a day that is not YYYY-MM-DD, and a checkpoint folder that cannot be used', async () => {
    expect(await codeOf(advanceCheckpoint(dir, 'demo', 'home', '', '2026-1-2'))).toBe('E_USAGE');
    const blocker = path.join(dir, 'blocker');
    await fsp.writeFile(blocker, 'x');
    expect(await codeOf(advanceCheckpoint(blocker, 'demo', 'home', '', '2026-01-02'))).toBe('E_IO');
  });
});

describe('advanceCheckpoint', () => {
  it('moves forward, never back: re-running an old day keeps the latest published day', async () => {
    await advanceCheckpoint(dir, 'demo', 'home', '', '2026-01-05');
    await advanceCheckpoint(dir, 'demo', 'home', '', '2026-01-01');
    expect(await readCheckpoint(dir, 'demo', 'home', '')).toBe('2026-01-05');
    await advanceCheckpoint(dir, 'demo', 'home', '', '2026-01-06');
    expect(await readCheckpoint(dir, 'demo', 'home', '')).toBe('2026-01-06');
  });
});
