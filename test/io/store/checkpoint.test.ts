import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { advanceCheckpoint, checkpointPath, goCheckpointPath, readCheckpoint, readCheckpointDay } from '../../../src/io/store/checkpoint';

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

/**
 * The Go tool's checkpoint (docs/contract.md §9): `<checkpoint_dir>/<tenant>/<surface>.json` =
 * `{"day": …}`, no segment. The Go files below are literal text as the Go tool writes it
 * (test/fixtures/go-state/state/checkpoints), not output of our writer.
 */
describe('the Go tool checkpoint', () => {
  const GO_FIXTURE = path.join(__dirname, '..', '..', 'fixtures', 'go-state', 'state', 'checkpoints', 'acme', 'home.json');
  const goFile = () => path.join(dir, 'acme', 'home.json');
  const writeGo = async (text: string) => {
    await fsp.mkdir(path.join(dir, 'acme'), { recursive: true });
    await fsp.writeFile(goFile(), text);
  };

  it('is read when ours is missing: a first --incremental run after the Go tool carries on after its day', async () => {
    await fsp.mkdir(path.join(dir, 'acme'), { recursive: true });
    await fsp.copyFile(GO_FIXTURE, goFile());
    expect(goCheckpointPath(dir, 'acme', 'home')).toBe(goFile());
    expect(await readCheckpointDay(dir, 'acme', 'home', '')).toEqual({ day: '2026-06-02', file: goFile(), format: 'go' });
  });

  it('the later of ours and the Go tool checkpoint counts', async () => {
    await writeGo('{\n  "day": "2026-06-02"\n}');
    await advanceCheckpoint(dir, 'acme', 'home', '', '2026-06-05');
    expect(await readCheckpointDay(dir, 'acme', 'home', '')).toMatchObject({ day: '2026-06-05', format: 'ours' });
    // The Go tool ran on after us (a switch back): its day is later now.
    await writeGo('{\n  "day": "2026-06-07"\n}');
    expect(await readCheckpointDay(dir, 'acme', 'home', '')).toMatchObject({ day: '2026-06-07', format: 'go' });
    // Re-running an older day changes neither.
    await advanceCheckpoint(dir, 'acme', 'home', '', '2026-06-06');
    expect(await fsp.readFile(goFile(), 'utf8')).toBe('{\n  "day": "2026-06-07"\n}');
    expect(JSON.parse(await fsp.readFile(checkpointPath(dir, 'acme', 'home', ''), 'utf8')).last_day).toBe('2026-06-05');
  });

  it('advancing writes the Go checkpoint at its path, in its bytes, beside ours, so the Go tool can take over again', async () => {
    await writeGo('{\n  "day": "2026-06-02"\n}');
    await advanceCheckpoint(dir, 'acme', 'home', '', '2026-06-03');
    expect(await fsp.readFile(goFile(), 'utf8')).toBe('{\n  "day": "2026-06-03"\n}');
    expect(await readCheckpoint(dir, 'acme', 'home', '')).toBe('2026-06-03');
    expect((await fsp.readdir(path.join(dir, 'acme'))).sort()).toEqual(['home', 'home.json']);
  });

  it('a run with a segment neither reads nor writes it (the Go checkpoint has no segment)', async () => {
    await writeGo('{\n  "day": "2026-06-02"\n}');
    expect(await readCheckpoint(dir, 'acme', 'home', 'eu')).toBeNull();
    await advanceCheckpoint(dir, 'acme', 'home', 'eu', '2026-06-09');
    expect(await fsp.readFile(goFile(), 'utf8')).toBe('{\n  "day": "2026-06-02"\n}');
  });

  it('a Go checkpoint that does not parse is an E_IO error naming it', async () => {
    for (const text of ['{"day": "2026-06-0', '{"day": "June 2"}', '{"last_day": "2026-06-02"}', '[]']) {
      await writeGo(text);
      const err = await readCheckpoint(dir, 'acme', 'home', '').catch((e: unknown) => e as { code: string; message: string });
      expect(err).toMatchObject({ code: 'E_IO' });
      expect((err as { message: string }).message).toContain(goFile());
    }
  });
});
