/**
 * Splitting job steps for Indexed Jobs (docs/cli.md "Splitting a job step"): ingest, validate
 * and compute run as N parts (`--index I --count N`, or `--count N` with
 * $JOB_COMPLETION_INDEX), then one publish; the versions published equal those of one `run`
 * for N = 1, 2 and more parts than units. An empty part exits 0 and says it did nothing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, events, publishedLines, Sandbox } from '../support/cli-harness';

const DAYS = ['2026-01-01', '2026-01-02', '2026-01-03'];
const KINDS = ['popularity', 'cooc', 'implicit'];

const sb = new Sandbox('recsys-split-');
afterAll(() => sb.cleanup());
DAYS.forEach((d, k) =>
  sb.writeDay(
    d,
    events(d, 20 + 7 * k, (i) => ({ item_id: `i${(i * (k + 2)) % 5}`, user_id: `u${i % 3}` })),
  ),
);
const configFor = (name: string) =>
  sb.config({ out_dir: join(sb.dir, name), artifact_kinds: KINDS, window_days: 2, limits: { min_cooc_support: 1 } }, `${name}.json`);
const scope = ['--tenant', 'demo', '--surface', 'home', '--start', DAYS[0]!, '--end', DAYS[2]!, '--workers', '1'];
const key = (p: { day: string; type: string; version: string }) => `${p.day} ${p.type} ${p.version}`;

describe('ingest, validate and compute split into parts', () => {
  let fromRun: string[] = [];

  it('one run publishes every day and type (the reference)', async () => {
    const run = await cli(['run', '--config', configFor('run'), ...scope]);
    expect(run.code, run.stderr).toBe(0);
    fromRun = publishedLines(run.stdout).map(key).sort();
    expect(fromRun).toHaveLength(DAYS.length * KINDS.length);
  });

  // 3 days → 3 ingest units, 9 compute units: 12 parts leaves ingest parts and compute parts empty.
  for (const count of [1, 2, 12]) {
    it(`${count} part(s) of each step, then publish, give the versions of run`, async () => {
      const config = configFor(`split${count}`);
      // The day before the range is in DAYS[0]'s 2-day window: job mode needs it ingested
      // (no raw file: recorded as a day without events, as `run` counts it).
      const before = await cli(['ingest', '--config', config, ...scope.slice(0, 4), '--start', '2025-12-31', '--end', '2025-12-31', '--workers', '1']);
      expect(before.code, before.stderr).toBe(0);
      for (const step of [['ingest'], ['validate'], ['compute']]) {
        for (let index = 0; index < count; index++) {
          // Half the pods take their index from the Job controller's variable.
          const r =
            index % 2 === 0
              ? await cli([...step, '--config', config, ...scope, '--index', String(index), '--count', String(count)])
              : await cli([...step, '--config', config, ...scope, '--count', String(count)], { env: { JOB_COMPLETION_INDEX: String(index) } });
          expect(r.code, `${step[0]} ${index}/${count}: ${r.stderr}`).toBe(0);
          expect(r.stdout).toContain(`(part ${index} of ${count}:`);
        }
        expect(existsSync(join(sb.dir, `split${count}`, 'registry'))).toBe(false);
      }
      const publish = await cli(['publish', '--config', config, ...scope]);
      expect(publish.code, publish.stderr).toBe(0);
      expect(publishedLines(publish.stdout).map(key).sort()).toEqual(fromRun);
    });
  }

  it('an empty part exits 0 having done nothing, and says so', async () => {
    const config = configFor('empty');
    const r = await cli(['ingest', '--config', config, ...scope, '--index', '0', '--count', '4']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('nothing to do: part 0 of 4 is empty');
    expect(r.stderr).toContain('nothing to do');
    expect(existsSync(join(sb.dir, 'empty', 'canonical'))).toBe(false);
  });

  it('--index ≥ --count, --index without --count, or --count without an index is a usage error (exit 2) naming the flag', async () => {
    const config = configFor('bad');
    for (const [flags, env] of [
      [['--index', '2', '--count', '2'], {}],
      [['--index', '0'], {}],
      [['--count', '2'], { JOB_COMPLETION_INDEX: '' }],
      [['--count', '2'], { JOB_COMPLETION_INDEX: '5' }],
    ] as const) {
      const r = await cli(['compute', '--config', config, ...scope, ...flags], { env });
      expect(r.code, `${flags.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain('--index');
    }
    expect((await cli(['publish', '--config', config, ...scope, '--count', '2'])).code).toBe(2); // publish is never split
  });
});
