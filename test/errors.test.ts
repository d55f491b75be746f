/**
 * Errors never echo file contents (SPEC §9, issue 13 item 3): bad JSON is reported by file and
 * position only. describeJsonError's position is checked against V8's own (JSON.parse names
 * the position, or the offending token, of thousands of corrupted texts); and every state
 * file the CLI reads (config, checkpoint, manifest, registry record, ingest record,
 * current.version) is shown to keep a secret-looking value out of the message. OS write
 * errors are spelled out with the uid where permissions matter (the real faults, as root:
 * test/e2e/reliability/permissions.test.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeJsonError, ioError, jsonErrorOffset } from '../src/errors';
import { cli, events, Sandbox } from './support/cli-harness';
import { mulberry32 } from './support/generate';

function randomJson(rand: () => number, depth = 0): unknown {
  const r = rand();
  if (depth < 3 && r < 0.25) return Array.from({ length: Math.floor(rand() * 4) }, () => randomJson(rand, depth + 1));
  if (depth < 3 && r < 0.5) return Object.fromEntries(Array.from({ length: Math.floor(rand() * 4) }, (_, i) => [`k${i}\u00e9`, randomJson(rand, depth + 1)]));
  if (r < 0.65) return Math.floor(rand() * 2000 - 1000) / (rand() < 0.5 ? 1 : 8);
  if (r < 0.8) return `s"\\\n${Math.floor(rand() * 100)}\u2028`;
  return [true, false, null][Math.floor(rand() * 3)];
}

const PIECES = ['"', ',', ':', '{', '}', '[', ']', '\\', 'x', '1', '-', '.', 'e', ' ', '\n', '\u0001', 't', 'n'];

describe('jsonErrorOffset agrees with V8 on where JSON goes wrong', () => {
  it('on 5000 corrupted texts: the position V8 names, the token it names, or the end', () => {
    const rand = mulberry32(13); // seeded, so a failure replays
    let compared = 0;
    for (let i = 0; i < 5000; i++) {
      const valid = JSON.stringify(randomJson(rand), null, rand() < 0.5 ? 2 : undefined) ?? 'null';
      const at = Math.floor(rand() * (valid.length + 1));
      const op = rand();
      const piece = PIECES[Math.floor(rand() * PIECES.length)]!;
      const text = op < 0.4 ? valid.slice(0, at) + valid.slice(at + 1) : op < 0.8 ? valid.slice(0, at) + piece + valid.slice(at) : valid.slice(0, at);
      let message: string | null = null;
      try {
        JSON.parse(text);
      } catch (err) {
        message = (err as Error).message;
      }
      if (message === null) continue;
      const offset = jsonErrorOffset(text);
      const position = /at position (\d+)/.exec(message);
      const token = /^Unexpected token '(.)'/su.exec(message);
      if (position) expect(offset, `${JSON.stringify(text)}: ${message}`).toBe(Number(position[1]));
      else if (message.startsWith('Unexpected end of JSON input')) expect(offset, JSON.stringify(text)).toBe(text.length);
      else if (token) expect(text[offset], `${JSON.stringify(text)}: ${message}`).toBe(token[1]);
      else throw new Error(`unexpected V8 message for ${JSON.stringify(text)}: ${message}`);
      compared++;
    }
    expect(compared).toBeGreaterThan(3000);
  });

  it('describeJsonError gives line and column (1-based), or the end of the file; never the text', () => {
    expect(describeJsonError('{\n  "key": s3cr3t\n}')).toBe('invalid JSON at line 2, column 10');
    expect(describeJsonError('\uFEFF{"a": trux}')).toBe('invalid JSON at line 1, column 10');
    expect(describeJsonError('{"password": "hunter2"')).toBe('invalid JSON: unexpected end of the file');
    expect(describeJsonError('')).toBe('invalid JSON: unexpected end of the file');
  });
});

describe('OS write errors say what they mean (issue 14 item 3)', () => {
  /** An error shaped as Node's fs errors are: `CODE: text, syscall 'path'`. */
  const sysErr = (code: string, text: string, syscall: string, path: string) =>
    Object.assign(new Error(`${code}: ${text}, ${syscall} '${path}'`), { code, syscall, path, errno: -1 });
  const uid = process.getuid!();

  it.each([
    ['EROFS', 'read-only file system', 'read-only file system'],
    ['EACCES', 'permission denied', `permission denied for uid ${uid}`],
    ['EPERM', 'operation not permitted', `operation not permitted for uid ${uid}`],
    ['ENOSPC', 'no space left on device', 'no space left on device'],
    ['EDQUOT', 'disk quota exceeded', `disk quota exceeded for uid ${uid}`],
    ['ENOTDIR', 'not a directory', 'not a directory (a file is in the way of a folder)'],
  ])('%s: E_IO, exit 1, the action, the path and the meaning', (code, text, meaning) => {
    const err = ioError('write', '/data/out/x.json', sysErr(code, text, 'open', '/data/out/.x.json.tmp-1-2'));
    expect([err.code, err.exitCode, err.message]).toEqual(['E_IO', 1, `write /data/out/x.json: ${code}: ${meaning}`]);
  });

  it('names the folder that could not be made when it is not the target; other errors keep their own text', () => {
    expect(ioError('write', '/data/out/a/x.json', sysErr('EROFS', 'read-only file system', 'mkdir', '/data/out/a')).message).toBe(
      'write /data/out/a/x.json: EROFS: read-only file system (mkdir /data/out/a)',
    );
    expect(ioError('read', '/data/in.json', sysErr('ENOENT', 'no such file or directory', 'open', '/data/in.json')).message).toBe(
      'read /data/in.json: ENOENT: no such file or directory',
    );
  });
});

describe('no state file has its content echoed in an error', () => {
  const SECRET = 'AKIAIOSFODNN7SECRETVALUE';
  const sb = new Sandbox('recsys-no-echo-');
  afterAll(() => sb.cleanup());
  sb.writeDay('2026-01-01', events('2026-01-01', 5));
  const scope = ['--tenant', 'demo', '--surface', 'home'];

  const expectNoEcho = (r: { code: number | null; stderr: string; stdout: string }, file: string, code: number) => {
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toContain(file);
    expect(r.stderr + r.stdout).not.toContain(SECRET);
    expect(r.stderr + r.stdout).not.toContain('SECRET');
  };

  it('a config that is not JSON (V8 would quote it): exit 2, the file and position only', async () => {
    const file = join(sb.dir, 'broken.json');
    writeFileSync(file, `{"object_store": {"type": "s3", "s3": {"secret_key": ${SECRET}}}}`);
    const r = await cli(['status', '--config', file, ...scope]);
    expectNoEcho(r, 'broken.json', 2);
    expect(r.stderr).toContain('invalid JSON at line 1, column 54');
  });

  it('a config string of the wrong type is described by its length, not echoed (a credential in the wrong place stays out of logs)', async () => {
    const file = join(sb.dir, 'typed.json');
    // A credential in the wrong place: a pushgateway URL where an object is expected, an S3 section given as a string.
    writeFileSync(
      file,
      JSON.stringify({
        raw_source: { dir: sb.raw },
        out_dir: sb.out,
        metrics: { pushgateway: `http://user:${SECRET}@host` },
        object_store: { type: 's3', s3: SECRET },
      }),
    );
    const r = await cli(['status', '--config', file, ...scope]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('metrics.pushgateway: expected an object, got a string of 41 characters');
    expect(r.stderr).toContain('object_store.s3: expected an object, got a string of 24 characters');
    expect(r.stderr).not.toContain(SECRET);
  });

  it('checkpoint, manifest, registry record and ingest record that are not JSON: exit 1, the file and position only', async () => {
    const config = sb.config();
    const good = await sb.run(config, '2026-01-01', '2026-01-01');
    expect(good.code, good.stderr).toBe(0);
    const manifest = sb.manifest();
    const version = manifest.current.popularity!.split('/').pop()!.replace('.json', '');
    const bad = `{"v": 1, "note": ${SECRET}}\n`;

    const cases: Array<[string, string[]]> = [
      [sb.checkpointPath, ['run', '--config', config, ...scope, '--incremental', '--end', '2026-01-02', '--workers', '1']],
      [sb.manifestPath, ['status', '--config', config, ...scope]],
      [sb.recordPath('popularity', version), ['history', '--config', config, ...scope, '--type', 'popularity']],
      [
        join(sb.out, 'canonical', 'demo', 'home', 'exposures', '2026-01-02.ingested.json'),
        ['validate', '--config', config, ...scope, '--start', '2026-01-02', '--end', '2026-01-02'],
      ],
    ];
    for (const [file, args] of cases) {
      const { readFileSync } = await import('node:fs');
      let before: string | null = null;
      try {
        before = readFileSync(file, 'utf8');
      } catch {
        mkdirSync(join(file, '..'), { recursive: true });
      }
      writeFileSync(file, bad);
      const r = await cli(args);
      expect(r.stderr, `${args[0]} with a broken ${file}`).toContain('invalid JSON at line 1, column 18');
      expectNoEcho(r, file, 1);
      if (before !== null) writeFileSync(file, before);
    }
  });
});
