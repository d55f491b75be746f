/**
 * Hard limits (docs/contract.md §4, §7): crossing one stops the day with
 * `limit exceeded: <name> (<observed> > <limit>)`, exit 3, nothing published for that day;
 * days before it in the same run stay published. A limit equal to the observed value passes.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../../src/engine/pipeline/run';
import { must, testConfig } from '../support/helpers';
import type { Sandbox } from '../support/cli-harness';
import { ev, sandboxFactory, STACK_FRAME, versionOfUri } from '../support/cli-harness';

const DAY1 = '2026-01-01';
const DAY2 = '2026-01-02';

/**
 * A day with 9 events, 4 sessions, 5 distinct items, 3 named users (plus anonymous events);
 * session s1 has 5 events but only 3 distinct items.
 */
function busyDay(day: string): string[] {
  const rows: Array<[string, string, string | undefined]> = [
    ['s1', 'a', 'u1'],
    ['s1', 'b', 'u1'],
    ['s1', 'c', 'u1'],
    ['s1', 'a', 'u1'],
    ['s1', 'b', 'u1'],
    ['s2', 'a', 'u2'],
    ['s2', 'd', 'u2'],
    ['s3', 'e', undefined],
    ['s4', 'a', 'u3'],
  ];
  return rows.map(([session_id, item_id, user_id], i) => ev({ ts: `${day}T10:00:${String(i).padStart(2, '0')}Z`, session_id, item_id, user_id }));
}

/** One event: 1 session, 1 item, 1 user. */
const quietDay = (day: string) => [ev({ ts: `${day}T09:00:00Z`, session_id: 'q1', item_id: 'a', user_id: 'u1' })];

const OBSERVED: Array<[string, number]> = [
  ['max_events_per_run', 9],
  ['max_sessions_per_run', 4],
  ['max_items_per_session', 3],
  ['max_distinct_items_per_run', 5],
  ['max_users_per_run', 3],
];

const sandbox = sandboxFactory();

describe.each(OBSERVED)('%s (observed %i on the busy day)', (name, observed) => {
  it(`limit ${observed - 1}: exit 3, "limit exceeded: ${name} (${observed} > ${observed - 1})", nothing published`, async () => {
    const sb = sandbox();
    sb.writeDay(DAY1, busyDay(DAY1));
    const r = await sb.run(sb.config({ limits: { [name]: observed - 1 } }), DAY1, DAY1);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`limit exceeded: ${name} (${observed} > ${observed - 1})`);
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(sb.manifestText()).toBeNull();
    expect(sb.checkpoint()).toBeNull();
  });

  it(`limit ${observed} (equal to the observed value) passes`, async () => {
    const sb = sandbox();
    sb.writeDay(DAY1, busyDay(DAY1));
    const r = await sb.run(sb.config({ limits: { [name]: observed } }), DAY1, DAY1);
    expect(r.code, r.stderr).toBe(0);
    expect(sb.manifest().current.popularity).toBeDefined();
  });

  it('only day 2 crosses it: day 1 stays published (manifest and checkpoint at day 1)', async () => {
    const sb = sandbox();
    sb.writeDay(DAY1, quietDay(DAY1));
    sb.writeDay(DAY2, busyDay(DAY2));
    const r = await sb.run(sb.config({ artifact_kinds: ['popularity', 'cooc'], limits: { [name]: observed - 1 } }), DAY1, DAY2);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`limit exceeded: ${name} (${observed} > ${observed - 1})`);
    for (const type of ['popularity', 'cooc']) {
      expect(sb.currentBlob(type).window.start).toBe(`${DAY1}T00:00:00Z`);
      // exactly one record per type: nothing of day 2 reached the registry
      expect(readdirSync(join(sb.out, 'registry', 'records', 'demo', 'home', type))).toHaveLength(1);
    }
    expect(sb.checkpoint()).toBe(DAY1);
  });

  it('a failing day leaves the previous manifest byte-identical', async () => {
    const sb = sandbox();
    sb.writeDay(DAY1, quietDay(DAY1));
    sb.writeDay(DAY2, busyDay(DAY2));
    const config = sb.config({ limits: { [name]: observed - 1 } });
    expect((await sb.run(config, DAY1, DAY1)).code).toBe(0);
    const before = sb.manifestText();
    const checkpointBefore = readFileSync(sb.checkpointPath, 'utf8');
    const r = await sb.run(config, DAY2, DAY2);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`limit exceeded: ${name} (${observed} > ${observed - 1})`);
    expect(sb.manifestText()).toBe(before);
    expect(readFileSync(sb.checkpointPath, 'utf8')).toBe(checkpointBefore);
  });
});

describe('max_events_per_run gives the true count of a day read in several blocks', () => {
  // 200,000 events of ~110 bytes: about 22 MB, three parse blocks of 8 MiB (PARSE_BLOCK_BYTES).
  // Storing stops in the first block; the rest is counted, not stored.
  const N = 200_000;
  const bigDay = (badAt?: number) =>
    Array.from({ length: N }, (_, i) =>
      i === badAt
        ? '{"v":1,"ts":"not a time"}'
        : ev({ ts: `${DAY1}T01:00:00.${String(i).padStart(6, '0')}Z`, session_id: `s${i % 97}`, item_id: `i${i % 13}` }),
    ).concat([ev({ ts: `${DAY1}T02:00:00Z`, tenant: 'other' }), ev({ ts: `${DAY2}T02:00:00Z` })]); // neither counts

  it(`(${N} > 1000): every event counted, not where storing stopped; nothing published`, async () => {
    const sb = sandbox();
    sb.writeDay(DAY1, bigDay());
    const r = await sb.run(sb.config({ limits: { max_events_per_run: 1000 } }), DAY1, DAY1);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`ingest failed after`);
    expect(r.stderr).toContain(`limit exceeded: max_events_per_run (${N} > 1000) [E_LIMIT]`);
    expect(sb.manifestText()).toBeNull();
  });

  it('count-only blocks skip bad lines: the count is still exact (blocks handed out one at a time)', async () => {
    const sb = sandbox();
    sb.writeDay(DAY1, bigDay(N / 2));
    // 1 MiB in flight: each block is handed out after the one before was merged, so every block after the
    // first is parsed in count-only mode.
    const r = await sb.run(sb.config({ limits: { max_events_per_run: 1000 }, engine: { max_inflight_bytes: 1 << 20 } }), DAY1, DAY1);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`limit exceeded: max_events_per_run (${N - 1} > 1000) [E_LIMIT]`);
  });

  it('a bad line in a block parsed before the switch: "at least N …; reading stopped at a bad line, <file>:<line>"', async () => {
    const sb = sandbox();
    const file = sb.writeDay(DAY1, bigDay(N / 2));
    // The default 256 MiB in flight: all three blocks are handed out, in full mode, before the first is merged.
    const r = await sb.run(sb.config({ limits: { max_events_per_run: 1000 } }), DAY1, DAY1);
    expect(r.code, r.stderr).toBe(3);
    const m = /limit exceeded: max_events_per_run \(at least (\d+) > 1000; reading stopped at a bad line, (.+):(\d+)\) \[E_LIMIT\]/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    const [atLeast, where, line] = [Number(m![1]), m![2], Number(m![3])];
    expect(where).toBe(file);
    expect(line).toBe(N / 2 + 1);
    expect(atLeast).toBeGreaterThanOrEqual(N / 2); // every event before the bad line
    expect(atLeast).toBeLessThan(N - 1); // the bad line's block stopped there
  });
});

describe('max_items_per_session counts distinct items, not events', () => {
  it('a session of 5 events over 3 items passes a limit of 3', async () => {
    const sb = sandbox();
    sb.writeDay(DAY1, busyDay(DAY1));
    const r = await sb.run(sb.config({ limits: { max_items_per_session: 3 } }), DAY1, DAY1);
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('max_users_per_run counts named users only', () => {
  it('anonymous events (missing, empty or blank user_id) are not users', async () => {
    const sb = sandbox();
    sb.writeDay(DAY1, [
      ev({ ts: `${DAY1}T10:00:00Z`, user_id: 'u1' }),
      ev({ ts: `${DAY1}T10:00:01Z`, user_id: ' u1 ' }), // trimmed: the same user
      ev({ ts: `${DAY1}T10:00:02Z`, user_id: '' }),
      ev({ ts: `${DAY1}T10:00:03Z`, user_id: '   ' }),
      ev({ ts: `${DAY1}T10:00:04Z` }),
    ]);
    expect((await sb.run(sb.config({ limits: { max_users_per_run: 1 } }), DAY1, DAY1)).code).toBe(0);
    const r = await sb.run(sb.config({ limits: { max_users_per_run: 0 } }, 'zero.json'), DAY1, DAY1);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('limit exceeded: max_users_per_run (1 > 0)');
  });
});

describe('max_days_backfill', () => {
  it('3 days with a limit of 2: exit 3, "limit exceeded: max_days_backfill (3 > 2)", nothing written', async () => {
    const sb = sandbox();
    for (const d of [DAY1, DAY2, '2026-01-03']) sb.writeDay(d, quietDay(d));
    const r = await sb.run(sb.config({ limits: { max_days_backfill: 2 } }), DAY1, '2026-01-03');
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('limit exceeded: max_days_backfill (3 > 2)');
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(sb.manifestText()).toBeNull();
    expect(sb.checkpoint()).toBeNull();
  });

  it('2 days with a limit of 2 pass', async () => {
    const sb = sandbox();
    for (const d of [DAY1, DAY2]) sb.writeDay(d, quietDay(d));
    const r = await sb.run(sb.config({ limits: { max_days_backfill: 2 } }), DAY1, DAY2);
    expect(r.code, r.stderr).toBe(0);
    expect(sb.checkpoint()).toBe(DAY2);
  });

  it('the default (365) refuses a 366-day range', async () => {
    const sb = sandbox();
    const r = await sb.run(sb.config(), '2025-01-01', '2026-01-01');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('limit exceeded: max_days_backfill (366 > 365)');
  });

  it('a refused backfill leaves an existing manifest byte-identical', async () => {
    const sb = sandbox();
    sb.writeDay(DAY1, quietDay(DAY1));
    const config = sb.config({ limits: { max_days_backfill: 1 } });
    expect((await sb.run(config, DAY1, DAY1)).code).toBe(0);
    const before = sb.manifestText();
    const r = await sb.run(config, DAY1, DAY2);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('limit exceeded: max_days_backfill (2 > 1)');
    expect(sb.manifestText()).toBe(before);
  });
});

describe('max_items_per_artifact on the content_sim catalog', () => {
  const catalog = (sb: Sandbox) => {
    const file = join(sb.dir, 'catalog.csv');
    writeFileSync(file, 'item_id,tags\na,red|blue\nb,green\nc,Blue;RED\n');
    return file;
  };

  it('3 catalog items with a limit of 2: exit 3, "limit exceeded: max_items_per_artifact (3 > 2)", nothing published', async () => {
    const sb = sandbox();
    sb.writeDay(DAY1, quietDay(DAY1));
    const config = sb.config({
      artifact_kinds: ['popularity', 'content_sim'],
      catalog: { path: catalog(sb) },
      limits: { max_items_per_artifact: 2 },
    });
    const r = await sb.run(config, DAY1, DAY1);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('limit exceeded: max_items_per_artifact (3 > 2)');
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(sb.manifestText()).toBeNull();
  });

  it('3 catalog items with a limit of 3 publish all three', async () => {
    const sb = sandbox();
    sb.writeDay(DAY1, quietDay(DAY1));
    const config = sb.config({
      artifact_kinds: ['popularity', 'content_sim'],
      catalog: { path: catalog(sb) },
      limits: { max_items_per_artifact: 3 },
    });
    const r = await sb.run(config, DAY1, DAY1);
    expect(r.code, r.stderr).toBe(0);
    expect((sb.currentBlob('content_sim').items as unknown[]).length).toBe(3);
  });

  it('max_items_per_artifact only trims popularity (a cap, not a limit)', async () => {
    const sb = sandbox();
    sb.writeDay(DAY1, busyDay(DAY1));
    const r = await sb.run(sb.config({ limits: { max_items_per_artifact: 2 } }), DAY1, DAY1);
    expect(r.code, r.stderr).toBe(0);
    expect(sb.currentBlob('popularity').items).toEqual([
      { item_id: 'a', count: 4 },
      { item_id: 'b', count: 2 },
    ]);
  });
});

describe('runPipeline in process', () => {
  it('rejects with E_LIMIT / exit code 3 and the exact message', async () => {
    const sb = sandbox();
    sb.writeDay(DAY1, busyDay(DAY1));
    const config = testConfig(sb.out, {
      raw_source: { type: 'fs', dir: sb.raw },
      artifact_kinds: ['popularity'],
      limits: { max_users_per_run: 2 },
    });
    await expect(
      runPipeline({ config, tenant: 'demo', surface: 'home', segment: '', start: DAY1, end: DAY1, incremental: false, log: () => {} }),
    ).rejects.toMatchObject({ code: 'E_LIMIT', exitCode: 3, message: 'limit exceeded: max_users_per_run (3 > 2)' });
    expect(sb.manifestText()).toBeNull();
  });

  it('the 2-day case leaves the manifest on day 1 versions', async () => {
    const sb = sandbox();
    sb.writeDay(DAY1, quietDay(DAY1));
    sb.writeDay(DAY2, busyDay(DAY2));
    const config = testConfig(sb.out, {
      raw_source: { type: 'fs', dir: sb.raw },
      artifact_kinds: ['popularity'],
      limits: { max_events_per_run: 8 },
    });
    const logs: string[] = [];
    const first = await runPipeline({
      config,
      tenant: 'demo',
      surface: 'home',
      segment: '',
      start: DAY1,
      end: DAY1,
      incremental: false,
      log: (l) => logs.push(l),
    });
    const day1Version = must(first.days[0]?.published[0], 'the first day published').version;
    await expect(
      runPipeline({ config, tenant: 'demo', surface: 'home', segment: '', start: DAY1, end: DAY2, incremental: false, log: (l) => logs.push(l) }),
    ).rejects.toMatchObject({ code: 'E_LIMIT', message: 'limit exceeded: max_events_per_run (9 > 8)' });
    expect(versionOfUri(sb.manifest().current.popularity)).toBe(day1Version);
    expect(sb.checkpoint()).toBe(DAY1);
  });
});
