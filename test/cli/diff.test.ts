/**
 * `diff` (issue 14 §2, docs/cli.md): the drift figures of two artifacts side by side, as
 * text and --json, against a reference computed from the blob files with JSON.parse; current,
 * staged (the window of --day) and versions as sides; errors and exit codes per docs/cli.md.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cli, events, publishedLines, sandboxFactory } from '../support/cli-harness';
import { must } from '../support/helpers';

const D1 = '2026-01-01';
const D2 = '2026-01-02';

const sandbox = sandboxFactory();

function itemEvents(day: string, items: string[]): string[] {
  return events(day, items.length * 2, (i) => ({ item_id: items[i % items.length], user_id: `u-${items[i % items.length]}` }));
}

/** Keys of a blob file's payload, in order, by JSON.parse. */
function keysOf(file: string, payloadField: string, keyField: string): string[] {
  const blob = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Array<Record<string, string>>>;
  return must(blob[payloadField]).map((r) => must(r[keyField]));
}

interface DiffJson {
  type: string;
  from: { ref: string; version: string; location: string };
  to: { ref: string; version: string; location: string };
  figures: {
    rows_of: string;
    from: { rows: number; pairs: number | null };
    to: { rows: number; pairs: number | null };
    row_shrink: number;
    key_overlap: number;
    top_n: number | null;
    top_n_overlap: number | null;
  };
  blocked: string[];
}

describe('diff', () => {
  const sb = sandbox();
  const config = sb.config({
    artifact_kinds: ['popularity', 'implicit'],
    gates: { drift: { popularity: { min_key_overlap: 0.9, top_n: 3 } } },
  });
  const scope = ['--config', config, '--tenant', 'demo', '--surface', 'home'];
  let v1 = '';

  it('current → staged before a publish: figures equal the reference, as JSON and text', async () => {
    sb.writeDay(D1, itemEvents(D1, ['a', 'b', 'c', 'd', 'e']));
    sb.writeDay(D2, itemEvents(D2, ['a', 'b', 'x', 'y']));
    const run = await sb.run(config, D1, D1);
    expect(run.code, run.stderr).toBe(0);
    v1 = must(publishedLines(run.stdout).find((p) => p.type === 'popularity')).version;
    const days = ['--start', D2, '--end', D2, '--workers', '1'];
    expect((await cli(['ingest', ...scope, ...days])).code).toBe(0);
    expect((await cli(['compute', ...scope, ...days])).code).toBe(0);

    for (const [type, payload, key] of [
      ['popularity', 'items', 'item_id'],
      ['implicit', 'users', 'user_id'],
    ] as const) {
      const res = await cli(['diff', ...scope, '--type', type, '--from', 'current', '--to', 'staged', '--day', D2, '--json']);
      expect(res.code, res.stderr).toBe(0);
      const d = JSON.parse(res.stdout) as DiffJson;
      const oldKeys = keysOf(d.from.location.replace(/^file:\/\//, ''), payload, key);
      const newKeys = keysOf(d.to.location, payload, key);
      expect(d.from.ref).toBe('current');
      expect(d.to.ref).toBe('staged');
      expect(d.figures.from.rows).toBe(oldKeys.length);
      expect(d.figures.to.rows).toBe(newKeys.length);
      expect(d.figures.row_shrink).toBe(Math.max(0, oldKeys.length - newKeys.length) / oldKeys.length);
      expect(d.figures.key_overlap).toBe(oldKeys.filter((k) => newKeys.includes(k)).length / oldKeys.length);
      if (type === 'popularity') {
        expect(d.from.version).toBe(v1);
        const top = (ks: string[]) => ks.slice(0, 3);
        expect(d.figures.top_n).toBe(3);
        expect(d.figures.top_n_overlap).toBe(top(oldKeys).filter((k) => top(newKeys).includes(k)).length / top(oldKeys).length);
        expect(d.blocked).toEqual([expect.stringContaining('< min_key_overlap 0.9')]);
      } else {
        expect(d.figures.top_n).toBeNull();
        expect(d.figures.to.pairs).not.toBeNull();
        expect(d.blocked).toEqual([]);
      }
    }

    const text = await cli(['diff', ...scope, '--type', 'popularity', '--from', 'current', '--to', 'staged', '--day', D2]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^diff demo/home popularity: current \\(${v1}\\) → staged \\([0-9a-f]{64}\\)$`, 'm'));
    expect(text.stdout).toMatch(/^items\s+5\s+4$/m);
    expect(text.stdout).toMatch(/^key_overlap\s+0\.4$/m);
    expect(text.stdout).toContain('thresholds (gates.drift.popularity): max_row_shrink off, min_key_overlap 0.9, min_top_n_overlap off, top_n 3');
    expect(text.stdout).toContain('drift gate: would block: key_overlap 0.4 < min_key_overlap 0.9');
  });

  it('a version against current after a publish (--allow-drift)', async () => {
    const pub = await cli(['publish', ...scope, '--start', D2, '--end', D2, '--allow-drift']);
    expect(pub.code, pub.stderr).toBe(0);
    const res = await cli(['diff', ...scope, '--type', 'popularity', '--from', v1, '--to', 'current', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const d = JSON.parse(res.stdout) as DiffJson;
    expect(d.from).toMatchObject({ ref: v1, version: v1 });
    expect(d.to.ref).toBe('current');
    expect(d.figures.key_overlap).toBe(0.4);
    const same = JSON.parse((await cli(['diff', ...scope, '--type', 'popularity', '--from', 'current', '--to', 'current', '--json'])).stdout) as DiffJson;
    expect(same.figures).toMatchObject({ row_shrink: 0, key_overlap: 1, top_n_overlap: 1 });
  });

  it('errors: an unknown version exits 1 naming the record path; staged without --day, a bad --day or --type exit 2', async () => {
    const unknown = await cli(['diff', ...scope, '--type', 'popularity', '--from', 'deadbeef', '--to', 'current']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('--from deadbeef: popularity version deadbeef has no registry record at');
    const noDay = await cli(['diff', ...scope, '--type', 'popularity', '--from', 'current', '--to', 'staged']);
    expect(noDay.code).toBe(2);
    expect(noDay.stderr).toContain('--day: required with "staged"');
    const badDay = await cli(['diff', ...scope, '--type', 'popularity', '--from', 'current', '--to', 'staged', '--day', '2026-13-01']);
    expect(badDay.code).toBe(2);
    const badType = await cli(['diff', ...scope, '--type', 'popular', '--from', 'current', '--to', 'current']);
    expect(badType.code).toBe(2);
    const nothing = await cli(['diff', ...scope, '--type', 'popularity', '--from', 'current', '--to', 'staged', '--day', '2026-02-01']);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toContain('nothing staged for popularity, window 2026-02-01_2026-02-02');
    expect(unknown.stderr + noDay.stderr + nothing.stderr).not.toContain('    at ');
  });
});
