import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readStaged, stageArtifact, stagePath } from '../../../src/io/artifacts/staging';

let dir: string;

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'recsys-staging-'));
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

const bytesOf = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));

describe('staging', () => {
  it('lays out <artifacts>/<tenant>/<surface>/<segment>/<type>/<start>_<end>/<version>.json, dropping an empty segment', () => {
    expect(stagePath(dir, { tenant: 'demo', surface: 'home', segment: 'eu', type: 'cooc', startDay: '2026-01-01', endDay: '2026-01-01' }, 'abc')).toBe(
      path.join(dir, 'demo', 'home', 'eu', 'cooc', '2026-01-01_2026-01-01', 'abc.json'),
    );
    expect(stagePath(dir, { tenant: 'demo', surface: 'home', segment: '', type: 'cooc', startDay: '2026-01-01', endDay: '2026-01-03' }, 'abc')).toBe(
      path.join(dir, 'demo', 'home', 'cooc', '2026-01-01_2026-01-03', 'abc.json'),
    );
  });

  it('writes the blob and current.version, and reads them back', async () => {
    const blob = await stageArtifact(
      dir,
      { tenant: 'demo', surface: 'home', segment: '', type: 'popularity', startDay: '2026-01-01', endDay: '2026-01-01' },
      'v1',
      bytesOf('{"a":1}'),
    );
    const folder = path.dirname(blob);
    expect((await fsp.readdir(folder)).sort()).toEqual(['current.version', 'v1.json']);
    expect(await fsp.readFile(path.join(folder, 'current.version'), 'utf8')).toBe('v1\n');
    const staged = await readStaged(dir, { tenant: 'demo', surface: 'home', segment: '', type: 'popularity', startDay: '2026-01-01', endDay: '2026-01-01' });
    expect(staged?.version).toBe('v1');
    expect(Buffer.from(staged!.bytes).toString('utf8')).toBe('{"a":1}');
  });

  it('points current.version at the newest staged version', async () => {
    await stageArtifact(
      dir,
      { tenant: 'demo', surface: 'home', segment: 'eu', type: 'cooc', startDay: '2026-01-01', endDay: '2026-01-01' },
      'v1',
      bytesOf('one'),
    );
    await stageArtifact(
      dir,
      { tenant: 'demo', surface: 'home', segment: 'eu', type: 'cooc', startDay: '2026-01-01', endDay: '2026-01-01' },
      'v2',
      bytesOf('two'),
    );
    const staged = await readStaged(dir, { tenant: 'demo', surface: 'home', segment: 'eu', type: 'cooc', startDay: '2026-01-01', endDay: '2026-01-01' });
    expect(staged?.version).toBe('v2');
    expect(Buffer.from(staged!.bytes).toString('utf8')).toBe('two');
    // Another segment, type or window has nothing staged.
    expect(await readStaged(dir, { tenant: 'demo', surface: 'home', segment: '', type: 'cooc', startDay: '2026-01-01', endDay: '2026-01-01' })).toBeNull();
    expect(await readStaged(dir, { tenant: 'demo', surface: 'home', segment: 'eu', type: 'cooc', startDay: '2026-01-02', endDay: '2026-01-02' })).toBeNull();
  });

  it('reports a current.version naming a missing blob as E_IO', async () => {
    const blob = await stageArtifact(
      dir,
      { tenant: 'demo', surface: 'home', segment: '', type: 'cooc', startDay: '2026-01-01', endDay: '2026-01-01' },
      'v1',
      bytesOf('x'),
    );
    await fsp.unlink(blob);
    expect(await codeOf(readStaged(dir, { tenant: 'demo', surface: 'home', segment: '', type: 'cooc', startDay: '2026-01-01', endDay: '2026-01-01' }))).toBe(
      'E_IO',
    );
  });

  it('refuses window days that are not dates', () => {
    expect(() => stagePath(dir, { tenant: 'demo', surface: 'home', segment: '', type: 'cooc', startDay: '2026-13-01', endDay: '2026-01-01' }, 'v1')).toThrow(
      expect.objectContaining({ code: 'E_USAGE' }),
    );
  });

  it('fails with E_IO when the artifacts folder cannot be written', async () => {
    const blocker = path.join(dir, 'blocker');
    await fsp.writeFile(blocker, 'x');
    expect(
      await codeOf(
        stageArtifact(
          blocker,
          { tenant: 'demo', surface: 'home', segment: '', type: 'cooc', startDay: '2026-01-01', endDay: '2026-01-01' },
          'v1',
          bytesOf('x'),
        ),
      ),
    ).toBe('E_IO');
  });

  describe("without current.version (the Go tool publishes the folder's only *.json, SPEC §9)", () => {
    const key = { tenant: 'demo', surface: 'home', segment: '', type: 'popularity', startDay: '2026-01-01', endDay: '2026-01-02' };
    const folder = () => path.join(dir, 'demo', 'home', 'popularity', '2026-01-01_2026-01-02');

    it('reads the lone blob, its name the version; temp files and other names do not count', async () => {
      await fsp.mkdir(folder(), { recursive: true });
      await fsp.writeFile(path.join(folder(), 'abc123.json'), 'the blob');
      await fsp.writeFile(path.join(folder(), `.abc123.json.tmp-99999999-0a1b`), 'in flight');
      await fsp.writeFile(path.join(folder(), 'notes.txt'), 'not a blob');
      const staged = await readStaged(dir, key);
      expect(staged?.version).toBe('abc123');
      expect(Buffer.from(staged!.bytes).toString('utf8')).toBe('the blob');
    });

    it('an empty folder, or none, has nothing staged', async () => {
      expect(await readStaged(dir, key)).toBeNull();
      await fsp.mkdir(folder(), { recursive: true });
      expect(await readStaged(dir, key)).toBeNull();
    });

    it('several blobs: E_IO naming the folder (which one is meant cannot be told)', async () => {
      await fsp.mkdir(folder(), { recursive: true });
      await fsp.writeFile(path.join(folder(), 'a1.json'), 'one');
      await fsp.writeFile(path.join(folder(), 'b2.json'), 'two');
      await expect(readStaged(dir, key)).rejects.toMatchObject({
        code: 'E_IO',
        exitCode: 1,
        message: expect.stringContaining(`read staging folder ${folder()}: no current.version and 2 staged blobs (a1.json, b2.json)`),
      });
      // current.version settles it.
      await fsp.writeFile(path.join(folder(), 'current.version'), 'b2\n');
      expect((await readStaged(dir, key))?.version).toBe('b2');
    });
  });

  it('a bad current.version is E_IO naming the file and the position, never its content', async () => {
    const key = { tenant: 'demo', surface: 'home', segment: '', type: 'cooc', startDay: '2026-01-01', endDay: '2026-01-02' };
    const pointer = path.join(dir, 'demo', 'home', 'cooc', '2026-01-01_2026-01-02', 'current.version');
    await fsp.mkdir(path.dirname(pointer), { recursive: true });
    for (const [text, where] of [
      ['AKIAIOSFODNN7EXAMPLE secret=wJalrXUtnFEMI\n', 'line 1, column 21'],
      ['v1\npassword=hunter2\n', 'line 1, column 3'],
      ['../../../etc/shadow-token\n', 'line 1, column 1'],
      ['', 'it is empty'],
    ] as const) {
      await fsp.writeFile(pointer, text);
      const err = (await readStaged(dir, key).catch((e: unknown) => e)) as Error & { code: string };
      expect(err.code).toBe('E_IO');
      expect(err.message).toBe(
        `read ${pointer}: not a version (the version and a newline expected): ${where.startsWith('line') ? `bad character at ${where}` : where}`,
      );
      for (const secret of ['AKIA', 'wJalr', 'hunter2', 'shadow-token']) expect(err.message).not.toContain(secret);
    }
  });
});
