/**
 * A missing partition is not an empty day (issue 13 item 4): ingest leaves a record for
 * every day it ingested, empty or not; job-mode validate/compute of a day never ingested
 * fails with E_NOT_INGESTED (exit 1) naming the day and "run ingest first", and stages
 * nothing; a rolling window names every never-ingested day; `run` is unaffected.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../../support/cli-harness';
import { cli, events, sandboxFactory, STACK_FRAME } from '../../support/cli-harness';
import { REPO_ROOT } from '../../support/helpers';

const D1 = '2026-01-01';
const D2 = '2026-01-02';
const D3 = '2026-01-03';
const GO_PARTITION = join(REPO_ROOT, 'test', 'fixtures', 'go-era', 'canonical', '2026-01-01.jsonl');

const sandbox = sandboxFactory('recsys-not-ingested-');

const job = (step: string[], config: string, start: string, end = start, extra: string[] = []) =>
  cli([...step, '--config', config, '--tenant', 'demo', '--surface', 'home', '--start', start, '--end', end, '--workers', '1', ...extra]);

/** Every file under `dir` with its bytes (an absent folder is empty). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p, 'base64');
    }
  };
  walk(dir);
  return out;
}

const exposures = (sb: Sandbox) => join(sb.out, 'canonical', 'demo', 'home', 'exposures');
const record = (sb: Sandbox, day: string) => JSON.parse(readFileSync(join(exposures(sb), `${day}.ingested.json`), 'utf8')) as Record<string, unknown>;

describe('ingest records every day it ingested', () => {
  it('present, empty and missing raw input each leave a record; the empty and missing days have no partition', async () => {
    const sb = sandbox();
    const config = sb.config();
    const file = sb.writeDay(D1, events(D1, 10));
    sb.writeDay(D2, []); // a file holding only a newline: no non-blank line
    writeFileSync(sb.dayFile(D2), '');
    // D3: no raw file at all.
    const r = await job(['ingest'], config, D1, D3);
    expect(r.code, r.stderr).toBe(0);
    expect(record(sb, D1)).toEqual({ v: 1, tenant: 'demo', surface: 'home', day: D1, events: 10, lines: 10, raw: 'present', input: file });
    expect(record(sb, D2)).toEqual({ v: 1, tenant: 'demo', surface: 'home', day: D2, events: 0, lines: 0, raw: 'empty', input: sb.dayFile(D2) });
    expect(record(sb, D3)).toEqual({ v: 1, tenant: 'demo', surface: 'home', day: D3, events: 0, lines: 0, raw: 'missing', input: null });
    expect(existsSync(sb.partitionPath(D1))).toBe(true);
    expect(existsSync(sb.partitionPath(D2))).toBe(false);
    expect(existsSync(sb.partitionPath(D3))).toBe(false);
  });

  it('a day ingested with its raw file missing validates and computes as a day without events (not an error)', async () => {
    const sb = sandbox();
    const config = sb.config();
    expect((await job(['ingest'], config, D1)).code).toBe(0);
    expect(record(sb, D1)).toMatchObject({ raw: 'missing', events: 0 });
    const v = await job(['validate'], config, D1);
    expect(v.code, v.stderr).toBe(0);
    const c = await job(['compute', '--type', 'popularity'], config, D1);
    expect(c.code, c.stderr).toBe(0);
    const staged = join(sb.out, 'artifacts', 'demo', 'home', 'popularity', `${D1}_${D2}`);
    const blob = readdirSync(staged).find((n) => n.endsWith('.json'));
    expect(JSON.parse(readFileSync(join(staged, blob!), 'utf8')).items).toEqual([]);
  });

  it('`run` writes the record too', async () => {
    const sb = sandbox();
    const config = sb.config();
    sb.writeDay(D1, events(D1, 4));
    expect((await sb.run(config, D1, D1)).code).toBe(0);
    expect(record(sb, D1)).toMatchObject({ day: D1, events: 4, raw: 'present' });
  });
});

describe('validate and compute of a day never ingested', () => {
  for (const step of [['validate'], ['compute', '--type', 'popularity']]) {
    it(`${step[0]}: exit 1, E_NOT_INGESTED naming the day and "run ingest first"; staging untouched`, async () => {
      const sb = sandbox();
      const config = sb.config();
      sb.writeDay(D1, events(D1, 10)); // raw input exists, but nobody ran ingest
      // Something already staged for the day (say, by the Go tool) must survive.
      const stagedDir = join(sb.out, 'artifacts', 'demo', 'home', 'popularity', `${D1}_${D2}`);
      mkdirSync(stagedDir, { recursive: true });
      writeFileSync(join(stagedDir, `${'a'.repeat(64)}.json`), '{"staged":"before"}');
      writeFileSync(join(stagedDir, 'current.version'), `${'a'.repeat(64)}\n`);
      const before = snapshot(join(sb.out, 'artifacts'));

      const r = await job(step, config, D1);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('[E_NOT_INGESTED]');
      expect(r.stderr).toContain(`not ingested: ${D1}`);
      expect(r.stderr).toContain('run ingest first');
      expect(r.stderr).not.toContain(STACK_FRAME);
      expect(r.stderr).not.toContain('Go tool'); // no Go partition in the folder
      expect(snapshot(join(sb.out, 'artifacts'))).toEqual(before);
      expect(existsSync(join(sb.out, 'registry'))).toBe(false);
    });
  }

  it('a rolling window names every never-ingested day of the window, and only those', async () => {
    const sb = sandbox();
    const config = sb.config({ window_days: 4 });
    for (const day of [D1, D2, D3]) sb.writeDay(day, events(day, 6));
    expect((await job(['ingest'], config, D2)).code).toBe(0);
    const r = await job(['compute', '--type', 'popularity'], config, D3);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[E_NOT_INGESTED]');
    const line = r.stderr.split('\n').find((l) => l.includes('not ingested'))!;
    expect(line).toContain(`not ingested: 2025-12-31, ${D1}, ${D3} (no canonical partition, no ingest record)`);
    expect(line).not.toContain(D2);
    expect(existsSync(join(sb.out, 'artifacts'))).toBe(false);

    // Once every day of the window is ingested, compute goes through.
    expect((await job(['ingest'], config, '2025-12-31', D3)).code).toBe(0);
    const ok = await job(['compute', '--type', 'popularity'], config, D3);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('a record that counts events for a partition that is gone does not count as ingested', async () => {
    const sb = sandbox();
    const config = sb.config();
    sb.writeDay(D1, events(D1, 5));
    expect((await job(['ingest'], config, D1)).code).toBe(0);
    rmSync(sb.partitionPath(D1));
    const r = await job(['validate'], config, D1);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[E_NOT_INGESTED]');
    expect(r.stderr).toContain('counts 5 events but the partition is missing');
  });

  it('where the folder holds Go-era partitions, the message says a missing Go file may have meant an empty day', async () => {
    const sb = sandbox();
    const config = sb.config();
    mkdirSync(exposures(sb), { recursive: true });
    copyFileSync(GO_PARTITION, join(exposures(sb), `${D1}.jsonl`));
    const r = await job(['validate'], config, D2);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`not ingested: ${D2}`);
    expect(r.stderr).toContain('The Go tool left no partition file for a day without events');
  });

  it('`run` is unaffected: it ingests its day itself; earlier window days never ingested are a notice', async () => {
    const sb = sandbox();
    const config = sb.config({ window_days: 2 });
    sb.writeDay(D2, events(D2, 6));
    const r = await sb.run(config, D2, D2);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`window days counted as days without events: not ingested: ${D1} (no canonical partition, no ingest record)`);
  });
});
