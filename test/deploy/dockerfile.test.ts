/**
 * The Dockerfile, without Docker (no image can be built on these machines): its own RUN and
 * COPY steps are run on this machine (test/support/dockerfile.ts reads them from the file),
 * stage by stage in a temp folder, and the final stage's tree (the image's filesystem under
 * its WORKDIR) is checked: production dependencies only, no sources, no compiler; the
 * ENTRYPOINT runs the CLI as the image's non-root USER; and a small `run` on testdata from
 * that tree publishes the same versions as the repository's own CLI.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOutsideDocker, execForm, hostPath, lastValue, parseDockerfile, type BuiltStage } from '../support/dockerfile';
import { BIN, publishedLines, runArgs } from '../support/cli-harness';
import { must, REPO_ROOT, SAMPLE_RAW, tempDir } from '../support/helpers';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe('Dockerfile', () => {
  const tmp = tempDir('recsys-dockerfile-');
  let image!: BuiltStage;
  let app!: string;
  const stage = must(parseDockerfile().at(-1));
  const entrypoint = must(execForm(stage, 'ENTRYPOINT'), 'ENTRYPOINT');
  const user = must(lastValue(stage, 'USER'), 'USER');

  beforeAll(() => {
    // The image's files must be readable by its non-root user, whatever the temp folder's mode.
    chmodSync(tmp.dir, 0o755);
    image = must(buildOutsideDocker(tmp.dir).at(-1));
    app = hostPath(image, '.');
  });
  afterAll(() => tmp.cleanup());

  /** The ENTRYPOINT with its absolute paths moved into the built tree, plus `args`. */
  function entry(args: string[]): [string, string[]] {
    const [cmd, ...rest] = entrypoint;
    return [must(cmd), [...rest.map((a) => (a.startsWith('/') ? join(image.root, a) : a)), ...args]];
  }

  /** Runs the ENTRYPOINT as the image's USER (setpriv when this process is root). */
  function runImage(args: string[], cwd: string) {
    const [cmd, cmdArgs] = entry(args);
    const [uid, gid] = user.split(':');
    const asUser = process.getuid?.() === 0 ? ['setpriv', '--reuid', must(uid), '--regid', gid ?? must(uid), '--clear-groups', cmd] : [cmd];
    const [exe, ...pre] = asUser;
    return spawnSync(must(exe), [...pre, ...cmdArgs], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, ...image.env } });
  }

  it('the final stage holds the production dependencies and the compiled CLI, nothing else', () => {
    const modules = join(app, 'node_modules');
    for (const dep of Object.keys(pkg.dependencies)) expect(existsSync(join(modules, dep)), `dependency ${dep}`).toBe(true);
    for (const dev of Object.keys(pkg.devDependencies)) expect(existsSync(join(modules, dev)), `devDependency ${dev}`).toBe(false);
    expect(readdirSync(app).sort()).toEqual(['bin', 'dist', 'node_modules', 'package-lock.json', 'package.json']);
    expect(readdirSync(join(app, 'dist'))).toEqual(['src']);
    expect(existsSync(join(app, 'dist', 'src', 'engine', 'worker', 'index.js'))).toBe(true);
  });

  it('the image runs as a non-root user', () => {
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
  });

  it('the ENTRYPOINT prints the help and the version', () => {
    const help = runImage(['--help'], tmp.dir);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain('Usage: recsys-pipelines');
    const version = runImage(['version'], tmp.dir);
    expect(version.stdout).toBe(`recsys-pipelines ${(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`);
  });

  it('a run on testdata from the image tree publishes the versions of the repository CLI', () => {
    const work = join(tmp.dir, 'work');
    mkdirSync(work, { recursive: true });
    chmodSync(work, 0o777); // the non-root user writes its outputs here
    const config = (out: string) => {
      const file = join(work, `${out}.json`);
      writeFileSync(
        file,
        JSON.stringify({ out_dir: join(work, out), raw_source: { type: 'fs', dir: SAMPLE_RAW }, artifact_kinds: ['popularity', 'cooc', 'session_seq'] }),
      );
      return file;
    };
    const args = (file: string) => runArgs(file, '2026-01-01', '2026-01-02', [], { workers: 2 });
    const fromImage = runImage(args(config('image')), work);
    expect(fromImage.status, fromImage.stderr).toBe(0);
    const fromRepo = spawnSync(process.execPath, [BIN, ...args(config('repo'))], { cwd: work, encoding: 'utf8' });
    expect(fromRepo.status, fromRepo.stderr).toBe(0);
    const published = publishedLines(fromImage.stdout);
    expect(published.length).toBe(6);
    expect(published).toEqual(publishedLines(fromRepo.stdout));
  });
});
