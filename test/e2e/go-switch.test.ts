/**
 * A switch-over from the Go tool and back (docs/migrate-from-go.md), on generated data: the Go
 * tool (bench/go-tool.ts, which leaves the Go state of docs/contract.md §9) publishes days
 * 1–3, this tool carries on with `run --incremental` at day 4, `status` and `history`
 * read the Go records, `rollback --previous` returns to the Go version of day 3, the Go
 * tool takes over again at day 5 from the checkpoint we wrote, and we finish day 6. Every
 * published version equals that of this tool running all six days alone.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, GEN_DEFAULTS } from '../../bench/gen';
import { goTool } from '../../bench/go-tool';
import { cli, publishedLines, runArgs } from '../support/cli-harness';
import { tempDir } from '../support/helpers';

const DAYS = ['2026-01-01', '2026-01-02', '2026-01-03', '2026-01-04', '2026-01-05', '2026-01-06'];

describe('switching from the Go tool and back', () => {
  const tmp = tempDir('recsys-go-switch-');
  const config = (name: string) => {
    const file = join(tmp.dir, `${name}.json`);
    // A Go-style config: legacy raw_events_dir, artifact_kinds as the Go tool accepts them.
    writeFileSync(file, JSON.stringify({ raw_events_dir: join(tmp.dir, 'raw'), out_dir: join(tmp.dir, name), artifact_kinds: [' Popularity ', 'COOC'] }));
    return file;
  };
  let switched: string;
  /** versions[day][type] of this tool running every day alone. */
  const reference: Record<string, Record<string, string>> = {};
  const flags = () => ['--config', switched, '--tenant', 'demo', '--surface', 'home'];
  const manifest = () =>
    JSON.parse(readFileSync(join(tmp.dir, 'switched', 'registry', 'current', 'demo', 'home', 'manifest.json'), 'utf8')) as { current: Record<string, string> };
  const versionIn = (uri: string | undefined) => /([0-9a-f]{64})\.json$/.exec(uri ?? '')?.[1];

  beforeAll(async () => {
    await generate({ ...GEN_DEFAULTS, out: join(tmp.dir, 'raw'), days: 6, events: 1500, users: 200, items: 150 });
    switched = config('switched');
    const alone = await cli(runArgs(config('alone'), DAYS[0]!, DAYS[5]!));
    expect(alone.code, alone.stderr).toBe(0);
    for (const p of publishedLines(alone.stdout)) (reference[p.day] ??= {})[p.type] = p.version;
  });
  afterAll(() => tmp.cleanup());

  it('Go days 1–3 → ours from day 4 → rollback to a Go version → Go day 5 → ours day 6, every version as ours alone', async () => {
    const goDays = (lines: string[]) => lines.map((l) => l.split(' ')).map(([, day, type, version]) => [day, type, version]);
    const go13 = await goTool(['run', '--config', switched, '--tenant', 'demo', '--surface', 'home', '--start', DAYS[0]!, '--end', DAYS[2]!]);
    expect(goDays(go13)).toEqual(DAYS.slice(0, 3).flatMap((d) => ['popularity', 'cooc'].map((t) => [d, t, reference[d]![t]])));

    // Ours carries on after the Go checkpoint: day 4 only.
    const day4 = await cli(['run', ...flags(), '--incremental', '--end', DAYS[3]!, '--workers', '1']);
    expect(day4.code, day4.stderr).toBe(0);
    expect(publishedLines(day4.stdout).map((p) => [p.day, p.type, p.version])).toEqual(
      ['popularity', 'cooc'].map((t) => [DAYS[3], t, reference[DAYS[3]!]![t]]),
    );

    const status = await cli(['status', ...flags()]);
    expect(status.code, status.stdout).toBe(0);
    expect(status.stdout).toContain('FRESH demo/home');
    const history = await cli(['history', ...flags(), '--type', 'popularity']);
    expect(history.stdout.split('\n').filter((l) => l.includes('Go tool record'))).toHaveLength(3);

    // Back to the Go tool's day 3 popularity: the manifest our day 4 replaced.
    const back = await cli(['rollback', ...flags(), '--type', 'popularity', '--previous']);
    expect(back.code, back.stderr).toBe(0);
    expect(versionIn(manifest().current.popularity)).toBe(reference[DAYS[2]!]!.popularity);
    expect(versionIn(manifest().current.cooc)).toBe(reference[DAYS[3]!]!.cooc);

    // Switch back: the Go tool reads the {"day"} checkpoint we wrote and runs day 5 only.
    const go5 = await goTool(['run', '--config', switched, '--tenant', 'demo', '--surface', 'home', '--incremental', '--end', DAYS[4]!]);
    expect(goDays(go5)).toEqual(['popularity', 'cooc'].map((t) => [DAYS[4], t, reference[DAYS[4]!]![t]]));

    // And ours again: the later checkpoint (the Go tool's) counts, day 6 only.
    const day6 = await cli(['run', ...flags(), '--incremental', '--end', DAYS[5]!, '--workers', '1']);
    expect(day6.code, day6.stderr).toBe(0);
    expect(publishedLines(day6.stdout).map((p) => [p.day, p.type, p.version])).toEqual(
      ['popularity', 'cooc'].map((t) => [DAYS[5], t, reference[DAYS[5]!]![t]]),
    );
    expect(Object.fromEntries(Object.entries(manifest().current).map(([t, uri]) => [t, versionIn(uri)]))).toEqual(reference[DAYS[5]!]);

    // Job mode on a Go-era day reads its JSONL partition and computes the same versions.
    const compute = await cli(runArgs(switched, DAYS[1]!, DAYS[1]!, [], { command: 'compute' }));
    expect(compute.code, compute.stderr).toBe(0);
    expect(compute.stderr).toContain("reading the Go tool's canonical partition");
    for (const t of ['popularity', 'cooc']) {
      const staged = readFileSync(join(tmp.dir, 'switched', 'artifacts', 'demo', 'home', t, `${DAYS[1]}_${DAYS[2]}`, 'current.version'), 'utf8').trim();
      expect(staged).toBe(reference[DAYS[1]!]![t]);
    }
  });
});
