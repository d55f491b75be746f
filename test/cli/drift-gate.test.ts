/**
 * The drift gate (issue 14 §1, docs/contract.md §4): a blocked publish exits 3 (E_GATE) with
 * the figures and thresholds, leaves the manifest bytes, the records and the checkpoint as
 * they were; --allow-drift lifts the thresholds for one run; an empty artifact never
 * replaces a non-empty one and a day whose raw input is missing is not published, unless
 * --allow-empty (or gates.allow_empty); the figures go to the summary and the JSON logs for
 * every publish; rollback is not gated.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../support/cli-harness';
import { cli, ev, events, publishedLines, sandboxFactory } from '../support/cli-harness';
import { must } from '../support/helpers';

const D1 = '2026-01-01';
const D2 = '2026-01-02';

const sandbox = sandboxFactory();

/** Events of `day` over the items given (each item once per session, two sessions). */
function itemEvents(day: string, items: string[]): string[] {
  return events(day, items.length * 2, (i) => ({ item_id: items[i % items.length], session_id: `s${Math.floor(i / items.length)}` }));
}

function records(sb: Sandbox): string[] {
  const dir = join(sb.out, 'registry', 'records', 'demo', 'home', 'popularity');
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** State a blocked publish must not change. */
function snapshot(sb: Sandbox) {
  return { manifest: sb.manifestText(), checkpoint: sb.checkpoint(), records: records(sb) };
}

describe('drift thresholds', () => {
  it('a key overlap below min_key_overlap blocks the day: exit 3, figures and thresholds, nothing changed; --allow-drift publishes', async () => {
    const sb = sandbox();
    const config = sb.config({ gates: { drift: { popularity: { min_key_overlap: 0.5, top_n: 2 } } } });
    sb.writeDay(D1, itemEvents(D1, ['a', 'b', 'c', 'd']));
    // One of the four old items survives: overlap 1/4.
    sb.writeDay(D2, itemEvents(D2, ['a', 'x', 'y']));
    const first = await sb.run(config, D1, D1);
    expect(first.code, first.stderr).toBe(0);
    const before = snapshot(sb);

    const blocked = await sb.run(config, D2, D2);
    expect(blocked.code, blocked.stderr).toBe(3);
    expect(blocked.stderr).toContain('key_overlap 0.25 < min_key_overlap 0.5');
    expect(blocked.stderr).toContain('popularity items 4 → 3, row_shrink 0.25, key_overlap 0.25, top_2_overlap');
    expect(blocked.stderr).toContain('thresholds max_row_shrink off, min_key_overlap 0.5, min_top_n_overlap off, top_n 2');
    expect(blocked.stderr).toContain('[E_GATE]');
    expect(snapshot(sb)).toEqual(before);

    const allowed = await sb.run(config, D2, D2, ['--allow-drift']);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout).toContain(`${D2}  popularity items 4 → 3, row_shrink 0.25, key_overlap 0.25, top_2_overlap`);
    expect(sb.checkpoint()).toBe(D2);
    expect(sb.manifestText()).not.toBe(before.manifest);
  });

  it('top-N overlap and row shrink, with --log-format json: a drift record for every publish, blocked or not', async () => {
    const sb = sandbox();
    const config = sb.config({ gates: { drift: { popularity: { max_row_shrink: 0.4, min_top_n_overlap: 0.5, top_n: 2 } } } });
    // Day 1 ranks a, b (most exposed) above c..f; day 2 keeps a but not b at the top, and loses c..f.
    sb.writeDay(D1, [...itemEvents(D1, ['a', 'b', 'a', 'b']).slice(0, 8), ...itemEvents(D1, ['c', 'd', 'e', 'f'])]);
    sb.writeDay(D2, [...itemEvents(D2, ['a', 'z', 'a', 'z'])]);
    const first = await sb.run(config, D1, D1, ['--log-format', 'json']);
    expect(first.code, first.stderr).toBe(0);
    const records1 = first.stderr
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r.event === 'drift');
    expect(records1).toEqual([
      expect.objectContaining({
        level: 'info',
        day: D1,
        stage: 'publish',
        blocked: false,
        drift: [expect.objectContaining({ type: 'popularity', from: null, to: expect.objectContaining({ rows: 6 }), key_overlap: null })],
      }),
    ]);

    const blocked = await sb.run(config, D2, D2, ['--log-format', 'json']);
    expect(blocked.code).toBe(3);
    const lines = blocked.stderr
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const drift = must(lines.find((r) => r.event === 'drift'));
    expect(drift).toMatchObject({ level: 'error', day: D2, blocked: true });
    expect(drift.drift).toEqual([
      expect.objectContaining({
        from: expect.objectContaining({ rows: 6 }),
        to: expect.objectContaining({ rows: 2 }),
        row_shrink: 4 / 6,
        top_n: 2,
        top_n_overlap: 0.5,
      }),
    ]);
    const failed = must(lines.find((r) => r.event === 'day_failed'));
    expect(failed.code).toBe('E_GATE');
    expect(failed.message).toContain('row_shrink 0.6667 > max_row_shrink 0.4');
    expect(failed.message).not.toContain('top_2_overlap 0.5 <'); // 0.5 is not below 0.5
  });
});

describe('default rules: no empty over non-empty, no day with missing raw input', () => {
  it('an empty artifact does not replace a non-empty one; --allow-empty lets it', async () => {
    const sb = sandbox();
    const config = sb.config();
    sb.writeDay(D1, itemEvents(D1, ['a', 'b']));
    // Day 2 has a raw file, but no event for demo/home: an empty popularity.
    sb.writeDay(D2, [ev({ tenant: 'other', ts: `${D2}T01:00:00Z` })]);
    expect((await sb.run(config, D1, D1)).code).toBe(0);
    const before = snapshot(sb);
    const blocked = await sb.run(config, D2, D2);
    expect(blocked.code, blocked.stderr).toBe(3);
    expect(blocked.stderr).toContain('an empty artifact would replace 2 items (gates.allow_empty is false)');
    expect(snapshot(sb)).toEqual(before);
    // Lifting the thresholds does not lift the empty rule.
    expect((await sb.run(config, D2, D2, ['--allow-drift'])).code).toBe(3);
    const allowed = await sb.run(config, D2, D2, ['--allow-empty']);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout).toContain(`${D2}  popularity items 2 → 0, row_shrink 1, key_overlap 0`);
    expect(sb.checkpoint()).toBe(D2);
  });

  it('a day whose raw input is missing is not published (run and the publish job); --allow-empty or gates.allow_empty publishes it', async () => {
    const sb = sandbox();
    const config = sb.config();
    sb.writeDay(D1, itemEvents(D1, ['a']));
    expect((await sb.run(config, D1, D1)).code).toBe(0);
    const before = snapshot(sb);
    const blocked = await sb.run(config, D2, D2);
    expect(blocked.code, blocked.stderr).toBe(3);
    expect(blocked.stderr).toContain(`validation failed: raw input missing: no raw input for ${D2} (no ${sb.dayFile(D2)} or .gz in raw_source.dir)`);
    expect(blocked.stderr).toContain('--allow-empty');
    expect(snapshot(sb)).toEqual(before);

    // Job mode: ingest, compute and publish of the same day; publish refuses it too.
    const scope = ['--config', config, '--tenant', 'demo', '--surface', 'home', '--start', D2, '--end', D2];
    expect((await cli(['ingest', ...scope, '--workers', '1'])).code).toBe(0);
    expect((await cli(['compute', ...scope, '--type', 'popularity', '--workers', '1'])).code).toBe(0);
    // The publish job goes by what ingest saw (the day's ingest record), not by a file that arrived since.
    sb.writeDay(D2, itemEvents(D2, ['a']));
    const job = await cli(['publish', ...scope]);
    expect(job.code, job.stderr).toBe(3);
    expect(job.stderr).toContain('raw input missing');
    expect(snapshot(sb)).toEqual(before);

    const allowed = await cli(['publish', ...scope, '--allow-empty']);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(sb.checkpoint()).toBe(D2);

    // gates.allow_empty in the config restores the Go behaviour for every run.
    const goLike = sb.config({ gates: { allow_empty: true } }, 'go-like.json');
    const next = await sb.run(goLike, '2026-01-03', '2026-01-03');
    expect(next.code, next.stderr).toBe(0);
    expect(publishedLines(next.stdout)).toHaveLength(1);
  });

  it('rollback is not gated: it may point back at an empty version', async () => {
    const sb = sandbox();
    const config = sb.config();
    // Day 1 has no raw file: published empty with --allow-empty; day 2 has events.
    const first = await sb.run(config, D1, D1, ['--allow-empty']);
    expect(first.code, first.stderr).toBe(0);
    const empty = must(publishedLines(first.stdout)[0]).version;
    sb.writeDay(D2, itemEvents(D2, ['a', 'b']));
    expect((await sb.run(config, D2, D2)).code).toBe(0);
    const back = await cli(['rollback', '--config', config, '--tenant', 'demo', '--surface', 'home', '--type', 'popularity', '--version', empty]);
    expect(back.code, back.stderr).toBe(0);
    expect(sb.manifest().current.popularity).toContain(empty);
  });
});
