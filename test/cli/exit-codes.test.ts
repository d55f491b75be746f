/**
 * docs/contract.md §8 exit codes through the real CLI: 0 success, 2 usage or config error (message names
 * the flag, key path or file; never a stack trace; nothing written), 1 runtime failure.
 * Decided by main() (run in this process); "the binary" checks that the process exits with
 * what main returns, and resolves relative paths against its working directory.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliProcess, type CliResult, events, runArgs, Sandbox, STACK_FRAME } from '../support/cli-harness';

const sb = new Sandbox();
let config = '';

beforeAll(() => {
  sb.writeDay('2026-01-01', events('2026-01-01', 6));
  config = sb.config();
});
afterAll(() => sb.cleanup());

function expectUserError(r: CliResult, code: number, ...needles: string[]) {
  expect(r.code, r.stderr).toBe(code);
  for (const n of needles) expect(r.stderr).toContain(n);
  expect(r.stderr).not.toContain(STACK_FRAME);
  expect(r.stderr).not.toContain('internal error');
}

describe('exit code 0', () => {
  it('a successful run exits 0 and prints the summary on stdout', async () => {
    const out = new Sandbox();
    try {
      out.writeDay('2026-01-01', events('2026-01-01', 6));
      const r = await out.run(out.config(), '2026-01-01', '2026-01-01');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('2026-01-01');
      expect(r.stdout).toContain('manifest:');
      expect(out.manifest().current.popularity).toMatch(/^file:\/\//);
    } finally {
      out.cleanup();
    }
  });

  it('relative paths in the config (and the legacy raw_events_dir/object_store_dir) are relative to the working directory', async () => {
    const rel = new Sandbox();
    try {
      rel.writeDay('2026-01-01', events('2026-01-01', 3));
      writeFileSync(
        join(rel.dir, 'rel.json'),
        JSON.stringify({ out_dir: 'out', raw_events_dir: 'raw', object_store_dir: 'blobs', artifact_kinds: ['popularity'] }),
      );
      // A child process started in the sandbox: the working directory is the process's own.
      const r = await cliProcess(runArgs('rel.json', '2026-01-01', '2026-01-01'), { cwd: rel.dir });
      expect(r.code, r.stderr).toBe(0);
      expect(rel.manifest().current.popularity).toMatch(new RegExp(`^file://${rel.dir}/blobs/demo/home/popularity/[0-9a-f]{64}\\.json$`));
      expect(existsSync(rel.partitionPath('2026-01-01'))).toBe(true);
    } finally {
      rel.cleanup();
    }
  });

  it('version prints "recsys-pipelines 0.1.0" and exits 0', async () => {
    const r = await cli(['version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('recsys-pipelines 0.1.0');
  });
});

describe('the binary exits with the code main returns', () => {
  it('0 with the summary on stdout, 2 for a usage error, 1 for a runtime failure; never a stack trace', async () => {
    const b = new Sandbox();
    try {
      b.writeDay('2026-01-01', events('2026-01-01', 6));
      const args = (config: string) => runArgs(config, '2026-01-01', '2026-01-01');
      const ok = await cliProcess(args(b.config()));
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.signal).toBeNull();
      expect(ok.stdout).toContain('manifest:');
      const usage = await cliProcess([...args(b.config()), '--workers', '0']);
      expectUserError(usage, 2, '--workers');
      const runtime = await cliProcess(args(b.config({ limits: { max_events_per_run: 1 } }, 'limited.json')));
      expectUserError(runtime, 3, 'limit exceeded');
    } finally {
      b.cleanup();
    }
  });
});

describe('exit code 2: usage errors', () => {
  const base = (over: Record<string, string | null>) => {
    const flags: Record<string, string | null> = {
      '--config': config,
      '--tenant': 'demo',
      '--surface': 'home',
      '--start': '2026-01-01',
      '--end': '2026-01-01',
      '--workers': '1',
      ...over,
    };
    const args = ['run'];
    for (const [k, v] of Object.entries(flags)) if (v !== null) args.push(k, v);
    return args;
  };

  const cases: Array<[string, Record<string, string | null>, string[]]> = [
    ['missing --tenant', { '--tenant': null }, ['--tenant']],
    ['missing --surface', { '--surface': null }, ['--surface']],
    ['missing --config', { '--config': null }, ['--config']],
    ['missing --start (not incremental)', { '--start': null }, ['--start']],
    ['missing --end (not incremental)', { '--end': null }, ['--end']],
    ['--start 2026-02-30 (not a calendar date)', { '--start': '2026-02-30', '--end': '2026-03-01' }, ['--start', '2026-02-30']],
    ['--start in another format', { '--start': '01/01/2026' }, ['--start']],
    ['--end before --start', { '--start': '2026-01-02', '--end': '2026-01-01' }, ['--end']],
    ['--end not a date', { '--end': '2026-13-01' }, ['--end']],
    ['--workers 0', { '--workers': '0' }, ['--workers']],
    ['--workers -1', { '--workers': '-1' }, ['--workers']],
    ['--workers abc', { '--workers': 'abc' }, ['--workers']],
    ['--workers 1.5', { '--workers': '1.5' }, ['--workers']],
    ['tenant ".."', { '--tenant': '..' }, ['tenant']],
    ['tenant "a/b"', { '--tenant': 'a/b' }, ['tenant']],
    ['tenant "a\\b"', { '--tenant': 'a\\b' }, ['tenant']],
    ['empty tenant', { '--tenant': '' }, ['tenant']],
    ['surface "."', { '--surface': '.' }, ['surface']],
    ['surface "../x"', { '--surface': '../x' }, ['surface']],
    ['segment "x/y"', { '--segment': 'x/y' }, ['segment']],
    ['tenant with a control character', { '--tenant': 'a\u0007b' }, ['tenant']],
    ['surface with a newline', { '--surface': 'home\nx' }, ['surface']],
    ['--workers 100000', { '--workers': '100000' }, ['--workers']],
    ['--start 9999-12-31 (beyond the supported days)', { '--start': '9999-12-31', '--end': '9999-12-31' }, ['--start']],
  ];

  it.each(cases)('%s → exit 2, message names the flag, nothing written', async (_name, over, needles) => {
    const r = await cli(base(over));
    expectUserError(r, 2, ...needles);
    expect(existsSync(sb.out)).toBe(false);
  });

  it('an unknown command exits 2', async () => {
    expectUserError(await cli(['frobnicate']), 2);
  });

  it('no command at all exits non-zero without a stack trace', async () => {
    const r = await cli([]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).not.toContain(STACK_FRAME);
  });

  it('an unknown flag exits 2', async () => {
    expectUserError(await cli([...base({}), '--frobnicate']), 2, '--frobnicate');
  });
});

describe('exit code 2 is decided before anything is written', () => {
  // BUG: `--segment _` passes the flag checks, the day is published (manifest swapped), and
  // only the checkpoint write refuses the reserved segment, with a usage error (exit 2).
  it('--segment "_" (reserved for the empty segment) is refused before anything is published', async () => {
    const s = new Sandbox();
    try {
      s.writeDay('2026-01-01', events('2026-01-01', 3));
      const r = await s.run(s.config(), '2026-01-01', '2026-01-01', ['--segment', '_']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('segment');
      expect(s.manifestText()).toBeNull();
    } finally {
      s.cleanup();
    }
  });
});

describe('exit code 2: config errors', () => {
  const cfg = new Sandbox();
  afterAll(() => cfg.cleanup());

  const runWith = (configPath: string) => cli(runArgs(configPath, '2026-01-01', '2026-01-01'));

  it('a missing config file names the file', async () => {
    const missing = join(cfg.dir, 'nope', 'missing.json');
    expectUserError(await runWith(missing), 2, 'missing.json');
  });

  it('a config that is a directory names the file', async () => {
    const d = join(cfg.dir, 'adir.json');
    mkdirSync(d, { recursive: true });
    expectUserError(await runWith(d), 2, 'adir.json');
  });

  it('invalid JSON names the file and says invalid JSON', async () => {
    const file = join(cfg.dir, 'broken.json');
    writeFileSync(file, '{"out_dir": "x",\n  "limits": {');
    expectUserError(await runWith(file), 2, 'broken.json', 'invalid JSON');
  });

  it('a top-level JSON array is refused', async () => {
    const file = join(cfg.dir, 'array.json');
    writeFileSync(file, '[]');
    expectUserError(await runWith(file), 2, 'array.json');
  });

  const keyCases: Array<[string, Record<string, unknown>, string]> = [
    ['unknown top-level key', { artifact_kind: ['popularity'] }, 'artifact_kind'],
    ['unknown nested key', { limits: { max_event_per_run: 10 } }, 'limits.max_event_per_run'],
    ['ill-typed limit (string)', { limits: { max_events_per_run: '10' } }, 'limits.max_events_per_run'],
    ['ill-typed limit (fraction)', { limits: { max_users_per_run: 1.5 } }, 'limits.max_users_per_run'],
    ['ill-typed limit (negative)', { limits: { max_days_backfill: -1 } }, 'limits.max_days_backfill'],
    ['ill-typed canonical_dir', { canonical_dir: 42 }, 'canonical_dir'],
    ['unknown artifact kind', { artifact_kinds: ['popularity', 'bogus'] }, 'artifact_kinds[1]'],
    ['ill-typed raw_source', { raw_source: 'somewhere' }, 'raw_source'],
    ['bad bad_line_policy', { ingest: { bad_line_policy: 'skip' } }, 'ingest.bad_line_policy'],
    ['max_rejected_fraction above 1', { ingest: { max_rejected_fraction: 2 } }, 'ingest.max_rejected_fraction'],
    ['engine.workers 0', { engine: { workers: 0 } }, 'engine.workers'],
    ['blank artifact kind', { artifact_kinds: ['cooc', ' '] }, 'artifact_kinds[1]'],
    ['limits null', { limits: null }, 'limits'],
    ['content_sim without catalog', { artifact_kinds: ['popularity', 'content_sim'] }, 'catalog.path'],
    ['content alias without catalog', { artifact_kinds: ['content'] }, 'catalog.path'],
  ];

  it.each(keyCases)('%s → exit 2 naming %s', async (name, extra, keyPath) => {
    const file = cfg.config(extra, `${name.replace(/\W+/g, '-')}.json`);
    const r = await runWith(file);
    expectUserError(r, 2, keyPath);
    expect(existsSync(cfg.out)).toBe(false);
  });
});

describe('exit code 3: failures a retry cannot fix', () => {
  it('a hard limit is exit 3, not a usage error', async () => {
    const lim = new Sandbox();
    try {
      lim.writeDay('2026-01-01', events('2026-01-01', 6));
      const r = await lim.run(lim.config({ limits: { max_events_per_run: 1 } }), '2026-01-01', '2026-01-01');
      expectUserError(r, 3, 'limit exceeded');
    } finally {
      lim.cleanup();
    }
  });

  it('--continue-on-error: exit 3 when every failed day failed for a reason a retry cannot fix, 1 when one of them may be retried', async () => {
    const sb = new Sandbox();
    try {
      sb.writeDay('2026-01-01', events('2026-01-01', 4));
      sb.writeDay('2026-01-02', ['not json']);
      sb.writeDay('2026-01-03', events('2026-01-03', 4));
      const onlyBad = await sb.run(sb.config(), '2026-01-01', '2026-01-03', ['--continue-on-error']);
      expectUserError(onlyBad, 3, '1 of 3 day(s) failed', '[E_BAD_INPUT]');
      // staging under a regular file: days 1 and 3 fail with an I/O error a retry may fix (once the file is moved)
      writeFileSync(join(sb.dir, 'blocker'), 'a regular file where a folder is expected');
      const mixed = await sb.run(sb.config({ artifacts_dir: join(sb.dir, 'blocker', 'staging') }), '2026-01-01', '2026-01-03', ['--continue-on-error']);
      expect(mixed.stderr).toContain('[E_BAD_INPUT]');
      expect(mixed.stderr).toContain('[E_IO]');
      expectUserError(mixed, 1, 'day(s) failed');
    } finally {
      sb.cleanup();
    }
  });
});

describe('exit code 1: failures a retry may fix', () => {
  it('an output folder that cannot be created is exit 1 with a clear message and no stack trace', async () => {
    const io = new Sandbox();
    try {
      io.writeDay('2026-01-01', events('2026-01-01', 4));
      const blocker = join(io.dir, 'blocker');
      writeFileSync(blocker, 'a regular file where a folder is expected');
      const r = await io.run(io.config({ canonical_dir: join(blocker, 'canonical') }), '2026-01-01', '2026-01-01');
      expectUserError(r, 1, 'blocker');
      expect(io.manifestText()).toBeNull();
    } finally {
      io.cleanup();
    }
  });

  it('a raw_source.dir that does not exist is exit 1 naming it (not a silent empty day)', async () => {
    const io = new Sandbox();
    try {
      const r = await io.run(io.config({ raw_source: { dir: join(io.dir, 'typo') } }), '2026-01-01', '2026-01-01');
      expectUserError(r, 1, 'typo');
      expect(io.manifestText()).toBeNull();
    } finally {
      io.cleanup();
    }
  });

  it('a missing catalog file for content_sim fails (non-zero) naming the file, nothing published', async () => {
    const io = new Sandbox();
    try {
      io.writeDay('2026-01-01', events('2026-01-01', 4));
      const r = await io.run(
        io.config({ artifact_kinds: ['popularity', 'content_sim'], catalog: { path: join(io.dir, 'no-catalog.csv') } }),
        '2026-01-01',
        '2026-01-01',
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('no-catalog.csv');
      expect(r.stderr).not.toContain(STACK_FRAME);
      expect(io.manifestText()).toBeNull();
    } finally {
      io.cleanup();
    }
  });
});
