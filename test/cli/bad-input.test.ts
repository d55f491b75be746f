/**
 * Malformed raw lines (docs/contract.md §1): never silently dropped. Default policy `fail` stops the day
 * before anything is written (exit 3, file:line and the rule in the message); `quarantine`
 * writes a rejects file next to the partition and carries on while under
 * `ingest.max_rejected_fraction`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../support/cli-harness';
import { ev, events, sandboxFactory, STACK_FRAME, summaryRows } from '../support/cli-harness';

const DAY = '2026-01-01';

const sandbox = sandboxFactory();

const good = (i: number) => ev({ ts: `${DAY}T08:00:0${i}Z`, session_id: `s${i}`, item_id: `i${i}`, user_id: 'u1' });

/** Bad lines and a substring of the rule the message must name. */
const BAD: Array<[string, string, string]> = [
  ['bad JSON', '{"v":1,"ts":"2026-01-01T08:00:00Z",', 'JSON'],
  ['"v":2', ev({ v: 2 }), 'v must be 1'],
  ['missing v', ev({ v: undefined }), 'v must be 1'],
  ['missing item_id', ev({ item_id: undefined }), 'item_id'],
  ['blank item_id', ev({ item_id: '   ' }), 'item_id'],
  ['missing session_id', ev({ session_id: undefined }), 'session_id'],
  ['numeric tenant', ev({ tenant: 7 }), 'tenant'],
  ['"rank":1.5', ev({ rank: 1.5 }), 'rank'],
  ['"rank":-1', ev({ rank: -1 }), 'rank'],
  ['bad ts (space instead of T, no zone)', ev({ ts: '2026-01-01 08:00:00' }), 'ts'],
  ['bad ts (not a date)', ev({ ts: 'yesterday' }), 'ts'],
  ['bad ts (Feb 30)', ev({ ts: '2026-02-30T08:00:00Z' }), 'ts'],
  ['missing ts', ev({ ts: undefined }), 'ts'],
  ['a JSON array', '[1,2,3]', 'object'],
];

describe('policy fail (default)', () => {
  it.each(BAD)('%s → exit 3 naming file:line and the rule; no partition, nothing published', async (_name, line, rule) => {
    const sb = sandbox();
    // line 1 good, line 2 blank, line 3 good, line 4 bad, line 5 good: line numbers are physical lines
    const file = sb.writeDay(DAY, [good(1), '', good(2), line, good(3)]);
    const r = await sb.run(sb.config(), DAY, DAY);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`${file}:4`);
    expect(r.stderr).toContain(rule);
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(existsSync(sb.partitionPath(DAY))).toBe(false);
    expect(existsSync(sb.rejectsPath(DAY))).toBe(false);
    expect(sb.manifestText()).toBeNull();
    expect(sb.checkpoint()).toBeNull();
  });

  it('a bad line on a rerun leaves the earlier partition and manifest byte-identical', async () => {
    const sb = sandbox();
    sb.writeDay(DAY, [good(1), good(2)]);
    const config = sb.config();
    expect((await sb.run(config, DAY, DAY)).code).toBe(0);
    const partition = readFileSync(sb.partitionPath(DAY));
    const manifest = sb.manifestText();
    const file = sb.writeDay(DAY, [good(1), good(2), good(3), ev({ rank: 'first' })]);
    const r = await sb.run(config, DAY, DAY);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${file}:4`);
    expect(readFileSync(sb.partitionPath(DAY)).equals(partition)).toBe(true);
    expect(sb.manifestText()).toBe(manifest);
  });

  it('a bad line on day 2 keeps day 1 published', async () => {
    const sb = sandbox();
    sb.writeDay(DAY, [good(1)]);
    const file = sb.writeDay('2026-01-02', [ev({ ts: '2026-01-02T01:00:00Z' }), 'not json']);
    const r = await sb.run(sb.config(), DAY, '2026-01-02');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${file}:2`);
    expect(sb.currentBlob('popularity').window.start).toBe(`${DAY}T00:00:00Z`);
    expect(sb.checkpoint()).toBe(DAY);
    expect(existsSync(sb.partitionPath('2026-01-02'))).toBe(false);
  });

  it('invalid UTF-8 is a bad line too', async () => {
    const sb = sandbox();
    const file = sb.dayFile(DAY);
    sb.writeDay(DAY, [good(1)]);
    writeFileSync(file, Buffer.concat([Buffer.from(good(1) + '\n'), Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a])]));
    const r = await sb.run(sb.config(), DAY, DAY);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${file}:2`);
    expect(r.stderr).toContain('UTF-8');
    expect(sb.manifestText()).toBeNull();
  });
});

describe('policy quarantine', () => {
  const quarantine = (sb: Sandbox, max: number) => sb.config({ ingest: { bad_line_policy: 'quarantine', max_rejected_fraction: max } });

  it('under the fraction: exit 0, rejects file with line number and reason, good lines kept', async () => {
    const sb = sandbox();
    const lines = events(DAY, 9);
    lines.splice(3, 0, ev({ ts: `${DAY}T05:00:00Z`, rank: 1.5 })); // physical line 4
    lines.splice(7, 0, '{oops'); // physical line 8
    sb.writeDay(DAY, lines);
    const r = await sb.run(quarantine(sb, 0.25), DAY, DAY);
    expect(r.code, r.stderr).toBe(0);
    const rejects = readFileSync(sb.rejectsPath(DAY), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; reason: string; raw?: string });
    expect(rejects.map((x) => x.line)).toEqual([4, 8]);
    expect(rejects[0]?.reason).toContain('rank');
    expect(rejects[1]?.reason).toContain('JSON');
    const [row] = summaryRows(r.stdout);
    expect(row).toMatchObject({ day: DAY, lines: 11, events: 9, rejected: 2 });
    expect(existsSync(sb.partitionPath(DAY))).toBe(true);
    const pop = sb.currentBlob('popularity').items as Array<{ count: number }>;
    expect(pop.reduce((a, b) => a + b.count, 0)).toBe(9);
  });

  it('exactly at the fraction passes (1 of 4 with 0.25)', async () => {
    const sb = sandbox();
    sb.writeDay(DAY, [good(1), good(2), ev({ v: 2 }), good(3)]);
    const r = await sb.run(quarantine(sb, 0.25), DAY, DAY);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(sb.rejectsPath(DAY), 'utf8')).toContain('"line":3');
  });

  it('over the fraction: exit 3 (E_BAD_INPUT: a retry reads the same lines), names the fraction, no partition, nothing published', async () => {
    const sb = sandbox();
    sb.writeDay(DAY, [good(1), 'bad', 'worse', good(2), good(3)]);
    const r = await sb.run(quarantine(sb, 0.2), DAY, DAY);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('[E_BAD_INPUT]');
    expect(r.stderr).toContain('max_rejected_fraction');
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(existsSync(sb.partitionPath(DAY))).toBe(false);
    expect(sb.manifestText()).toBeNull();
  });

  it('a clean rerun removes the old rejects file', async () => {
    const sb = sandbox();
    const config = quarantine(sb, 0.5);
    sb.writeDay(DAY, [good(1), 'bad', good(2)]);
    expect((await sb.run(config, DAY, DAY)).code).toBe(0);
    expect(existsSync(sb.rejectsPath(DAY))).toBe(true);
    sb.writeDay(DAY, [good(1), good(2)]);
    expect((await sb.run(config, DAY, DAY)).code).toBe(0);
    expect(existsSync(sb.rejectsPath(DAY))).toBe(false);
  });
});

describe('skipped events (other tenant/surface, outside the day)', () => {
  it('are counted in the summary and left out of the artifacts', async () => {
    const sb = sandbox();
    sb.writeDay(DAY, [
      ev({ ts: `${DAY}T08:00:00Z`, item_id: 'keep1' }),
      ev({ ts: `${DAY}T08:00:01Z`, item_id: 'other-tenant', tenant: 'acme' }),
      ev({ ts: `${DAY}T08:00:02Z`, item_id: 'other-surface', surface: 'pdp' }),
      ev({ ts: `${DAY}T08:00:03Z`, item_id: 'keep2', tenant: ' demo ', surface: 'home ' }), // ids are trimmed
      ev({ ts: '2025-12-31T23:59:59Z', item_id: 'before' }),
      ev({ ts: '2026-01-02T00:00:00Z', item_id: 'at-end' }), // the window is [00:00, 24:00)
      ev({ ts: '2026-01-01T01:00:00+02:00', item_id: 'offset-before' }), // 2025-12-31T23:00Z
      ev({ ts: '2026-01-02T01:00:00+02:00', item_id: 'keep3' }), // 2026-01-01T23:00Z
      ev({ ts: '2026-01-01T00:00:00Z', item_id: 'keep4' }),
    ]);
    const r = await sb.run(sb.config(), DAY, DAY);
    expect(r.code, r.stderr).toBe(0);
    const [row] = summaryRows(r.stdout);
    expect(row).toMatchObject({ day: DAY, lines: 9, events: 4, skippedTenantSurface: 2, skippedOutsideDay: 3, rejected: 0 });
    const items = (sb.currentBlob('popularity').items as Array<{ item_id: string }>).map((i) => i.item_id);
    expect(items).toEqual(['keep1', 'keep2', 'keep3', 'keep4']);
  });

  it('a single <dir>/exposure.jsonl feeds every day, selected by ts', async () => {
    const sb = sandbox();
    writeFileSync(
      `${sb.raw}/exposure.jsonl`,
      [
        ev({ ts: '2026-01-01T10:00:00Z', item_id: 'd1' }),
        ev({ ts: '2026-01-02T10:00:00Z', item_id: 'd2' }),
        ev({ ts: '2026-01-02T11:00:00Z', item_id: 'd2' }),
        ev({ ts: '2026-01-02T11:00:00Z', item_id: 'x', tenant: 'acme' }),
      ].join('\n') + '\n',
    );
    const r = await sb.run(sb.config(), DAY, '2026-01-02');
    expect(r.code, r.stderr).toBe(0);
    const rows = summaryRows(r.stdout);
    expect(rows).toEqual([
      expect.objectContaining({ day: '2026-01-01', lines: 4, events: 1, skippedTenantSurface: 1, skippedOutsideDay: 2 }),
      expect.objectContaining({ day: '2026-01-02', lines: 4, events: 2, skippedTenantSurface: 1, skippedOutsideDay: 1 }),
    ]);
    expect(sb.currentBlob('popularity').items).toEqual([{ item_id: 'd2', count: 2 }]);
  });
});

describe('error classes: the rule names the allowed range; what a retry cannot fix is exit 3', () => {
  const rankRule = 'rank: must be an integer in [0, 2147483647]';
  it.each([
    ['"rank":99999999999999999999 (not a safe integer)', '99999999999999999999', rankRule],
    ['"rank":2147483648 (a safe integer beyond Int32)', '2147483648', rankRule],
    ['"rank":-1', '-1', rankRule],
  ])('%s: the same rule', async (_name, rank, rule) => {
    const sb = sandbox();
    const file = sb.writeDay(DAY, [good(1), ev({ ts: `${DAY}T08:00:02Z` }).replace(/}$/, `,"rank":${rank}}`)]);
    const r = await sb.run(sb.config(), DAY, DAY);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`bad input: ${file}:2: ${rule} [E_BAD_INPUT]`);
  });

  it('"ts" in year 2300: out of range, with the accepted years', async () => {
    const sb = sandbox();
    const file = sb.writeDay(DAY, [good(1), ev({ ts: '2300-01-01T08:00:00Z' })]);
    const r = await sb.run(sb.config(), DAY, DAY);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`bad input: ${file}:2: ts: out of range: must be in UTC years [1700, 2250) [E_BAD_INPUT]`);
  });

  it('a truncated .jsonl.gz: E_BAD_INPUT, exit 3 (a retry reads the same bytes), naming the file; nothing written', async () => {
    const sb = sandbox();
    const gz = gzipSync(Buffer.from(events(DAY, 2000).join('\n') + '\n'));
    const file = sb.dayFile(DAY) + '.gz';
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, gz.subarray(0, gz.length >> 1));
    const r = await sb.run(sb.config(), DAY, DAY);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`bad input: ${file}: truncated gzip`);
    expect(r.stderr).toContain('[E_BAD_INPUT]');
    expect(r.stderr).not.toContain('E_IO');
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(sb.manifestText()).toBeNull();
    expect(existsSync(sb.out) ? readdirSync(sb.out, { recursive: true }).filter((f) => String(f).endsWith('.arrow')) : []).toEqual([]);
  });
});
