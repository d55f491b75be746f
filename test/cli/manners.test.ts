/**
 * Issue 14 item 5, CLI manners: `--version`/`-V` before a command, while `rollback --version <v>`
 * keeps its meaning (docs/cli.md).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliProcess, events, runArgs, Sandbox, STACK_FRAME } from '../support/cli-harness';
import { must, REPO_ROOT } from '../support/helpers';

const PKG_VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const sb = new Sandbox();
let config = '';
beforeAll(() => {
  sb.writeDay('2026-01-01', events('2026-01-01', 6));
  sb.writeDay('2026-01-02', events('2026-01-02', 9));
  config = sb.config();
});
afterAll(() => sb.cleanup());

describe('--version / -V', () => {
  for (const flag of ['--version', '-V']) {
    it(`${flag} before a command prints the package version and exits 0`, async () => {
      const r = await cli([flag]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`recsys-pipelines ${PKG_VERSION}\n`);
      expect(r.stderr).toBe('');
    });
  }

  it('prints the same as the version command', async () => {
    const [a, b] = [await cli(['--version']), await cli(['version'])];
    expect(a.stdout).toBe(b.stdout);
  });

  it('rollback --version <v> still names the version to roll back to', async () => {
    const scope = ['--config', config, '--tenant', 'demo', '--surface', 'home'];
    const first = await sb.run(config, '2026-01-01', '2026-01-01');
    expect(first.code, first.stderr).toBe(0);
    const v1 = must(sb.manifest().current.popularity, 'a current popularity');
    const second = await sb.run(config, '2026-01-02', '2026-01-02');
    expect(second.code, second.stderr).toBe(0);
    expect(sb.manifest().current.popularity).not.toBe(v1);
    const version = v1.replace(/^.*\//, '').replace(/\.json$/, '');
    const r = await cli(['rollback', ...scope, '--type', 'popularity', '--version', version, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect((JSON.parse(r.stdout) as { version: string }).version).toBe(version);
    expect(sb.manifest().current.popularity).toBe(v1);
    expect(r.stdout).not.toContain(`recsys-pipelines ${PKG_VERSION}`);
  });
});

describe('--workers above the cores', () => {
  const cores = availableParallelism();
  const ingest = (workers: number) => cli(runArgs(config, '2026-01-01', '2026-01-01', [], { command: 'ingest', workers }));

  it('warns on stderr, naming the cores, and still runs', async () => {
    const r = await ingest(cores + 1);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`warning: --workers ${cores + 1} exceeds the ${cores} core(s) of this machine`);
    expect(r.stderr).toContain('slower');
    expect(r.stdout).not.toContain('warning');
  });

  it('says nothing with one worker per core or fewer', async () => {
    const r = await ingest(cores);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('exceeds the');
  });

  it('warns for engine.workers from the config too', async () => {
    const cfg = sb.config({ engine: { workers: cores + 1 } }, 'many-workers.json');
    const r = await cli(['ingest', '--config', cfg, '--tenant', 'demo', '--surface', 'home', '--start', '2026-01-01', '--end', '2026-01-01']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`warning: engine.workers ${cores + 1} exceeds the ${cores} core(s)`);
  });
});

describe('npm run gen -- --help', () => {
  const gen = (args: string[]) => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'bench', 'gen.js'), ...args], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  for (const flag of ['--help', '-h']) {
    it(`node dist/bench/gen.js ${flag} prints the usage and exits 0`, () => {
      const r = gen([flag]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('usage: npm run gen -- --out DIR');
      for (const option of ['--days', '--events', '--seed', '--start', '--tenant', '--surface']) expect(r.stdout).toContain(option);
      expect(r.stderr).toBe('');
    });
  }

  it('a missing --out is a usage error (exit 2) with the usage, no stack trace', () => {
    const r = gen(['--days', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: --out DIR is required');
    expect(r.stderr).toContain('usage: npm run gen');
    expect(r.stderr).not.toContain(STACK_FRAME);
  });
});

describe('npm run bench -- --help', () => {
  it('prints the usage and exits 0, running nothing', () => {
    // If --help were ignored, these options make the run a short one (1000 events, no DuckDB).
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'bench', 'index.js'), '--help', '--only', 'e2e', '--sizes', '1000', '--no-duckdb'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('usage: npm run bench');
    for (const option of ['--only', '--sizes', '--no-duckdb', '--backfill-days', '--repeat']) expect(r.stdout).toContain(option);
    expect(r.stdout).not.toContain('machine:');
  });
});

describe('relative paths in config errors', () => {
  it('a catalog path relative to another working directory: the resolved path and the hint', async () => {
    const sub = join(sb.dir, 'sub');
    mkdirSync(sub, { recursive: true });
    const cfg = sb.config({ artifact_kinds: ['content_sim'], catalog: { path: 'catalog.csv' }, raw_source: { type: 'fs', dir: sb.raw } }, 'catalog-rel.json');
    writeFileSync(join(sb.dir, 'catalog.csv'), 'item_id,tags\ni1,a\n');
    const r = await cliProcess(runArgs('../catalog-rel.json', '2026-01-01', '2026-01-01'), { cwd: sub });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`read catalog ${join(sub, 'catalog.csv')}: ENOENT`);
    expect(r.stderr).toContain(`relative paths are resolved against the working directory, ${sub}, as the Go tool does`);
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(cfg).toBe(join(sb.dir, 'catalog-rel.json'));
  });

  it('a missing --config: the resolved path and the hint, exit 2', async () => {
    const sub = join(sb.dir, 'sub2');
    mkdirSync(sub, { recursive: true });
    const r = await cliProcess(['status', '--config', 'config.json', '--tenant', 'demo', '--surface', 'home'], { cwd: sub });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot read config file ${join(sub, 'config.json')}: ENOENT`);
    expect(r.stderr).toContain(`relative paths are resolved against the working directory, ${sub}`);
    expect(r.stderr).not.toContain(STACK_FRAME);
  });

  it('no hint for errors other than a missing path', async () => {
    const r = await cli(['status', '--config', sb.raw, '--tenant', 'demo', '--surface', 'home']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot read config file ${sb.raw}`);
    expect(r.stderr).not.toContain('relative paths are resolved');
  });
});

describe('--help of each command', () => {
  const cliDoc = readFileSync(join(REPO_ROOT, 'docs', 'cli.md'), 'utf8');
  const commands: [string[], string[]][] = [
    [['run'], ['--config', '--tenant', '--surface']],
    [['ingest'], ['--config', '--tenant', '--surface']],
    [['validate'], ['--config', '--tenant', '--surface']],
    [['compute'], ['--config', '--tenant', '--surface']],
    [['publish'], ['--config', '--tenant', '--surface']],
    [['rollback'], ['--config', '--tenant', '--surface', '--type']],
    [['diff'], ['--config', '--tenant', '--surface', '--type', '--from', '--to']],
    [['history'], ['--config', '--tenant', '--surface']],
    [['status'], ['--config', '--tenant', '--surface']],
    [
      ['catalog', 'import'],
      ['--config', '--tenant', '--surface'],
    ],
  ];
  for (const [command, required] of commands) {
    it(`${command.join(' ')} --help: required flags, two examples, a pointer to docs/cli.md`, async () => {
      const r = await cli([...command, '--help']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`Required: ${required.join(', ')}\n`);
      const examples = r.stdout.split('\n').filter((l) => l.startsWith(`  npx recsys-pipelines ${command.join(' ')} `));
      expect(examples).toHaveLength(2);
      const docs = /^Docs: docs\/cli\.md#(\S+)$/m.exec(r.stdout);
      expect(docs, r.stdout).not.toBeNull();
      expect(cliDoc).toContain(`(#${docs![1]})`);
      // The examples parse: every flag they use is one the command has (commander rejects unknown options).
      for (const example of examples) {
        const args = example
          .trim()
          .split(/\s+/)
          .slice(2 + command.length);
        for (const flag of args.filter((a) => a.startsWith('--'))) expect(r.stdout).toContain(`${flag} `);
      }
    });
  }
});
