/**
 * `run --dry-run` / `ingest --dry-run`: the plan (days, input file and size per day, estimated
 * events from the first 64 KiB) and nothing written — not even the output folder.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { estimateLines } from '../../src/engine/ops/dry-run';
import { cli, events, sandboxFactory } from '../support/cli-harness';
import { must } from '../support/helpers';

const sandbox = sandboxFactory('recsys-dry-');

interface PlanRow {
  day: string;
  bytes: number;
  estimated: number;
  input: string;
}

function planRows(stdout: string): PlanRow[] {
  return [...stdout.matchAll(/^(\d{4}-\d\d-\d\d)\s+(\d+)\s+(\d+)\s+(.+)$/gm)].map((m) => ({
    day: must(m[1]),
    bytes: Number(m[2]),
    estimated: Number(m[3]),
    input: must(m[4]),
  }));
}

const scope = (config: string, start: string, end: string) => ['--config', config, '--tenant', 'demo', '--surface', 'home', '--start', start, '--end', end];

describe('--dry-run', () => {
  it.each(['run', 'ingest'])('%s --dry-run lists each day with its file, size and estimate, and writes nothing', async (command) => {
    const sb = sandbox();
    const small = sb.writeDay('2026-01-01', events('2026-01-01', 37));
    // 2026-01-02: no file
    const gz = join(sb.raw, 'demo', 'home', 'exposure.2026-01-03.jsonl.gz');
    writeFileSync(gz, gzipSync(events('2026-01-03', 11).join('\n') + '\n'));
    const config = sb.config({ artifact_kinds: ['popularity', 'cooc'] });

    const r = await cli([command, ...scope(config, '2026-01-01', '2026-01-03'), '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    const rows = planRows(r.stdout);
    expect(rows.map((x) => x.day)).toEqual(['2026-01-01', '2026-01-02', '2026-01-03']);
    expect(rows[0]).toEqual({ day: '2026-01-01', bytes: statSync(small).size, estimated: 37, input: small });
    expect(rows[1]).toMatchObject({ bytes: 0, estimated: 0 });
    expect(rows[1]?.input).toContain('missing → no events');
    // run: the drift gate's raw-input rule would fail that day (exit 3); ingest records it as empty
    if (command === 'run') expect(rows[1]?.input).toContain('not published, the run fails here (raw input missing; --allow-empty publishes it)');
    else expect(rows[1]?.input).toBe('missing → no events');
    expect(rows[2]).toEqual({ day: '2026-01-03', bytes: statSync(gz).size, estimated: 11, input: gz });
    expect(existsSync(sb.out)).toBe(false);
  });

  it('run --dry-run with --allow-empty or gates.allow_empty: a day without raw input is a day without events, published', async () => {
    const sb = sandbox();
    sb.writeDay('2026-01-01', events('2026-01-01', 5));
    for (const [config, extra] of [
      [sb.config({ artifact_kinds: ['popularity'] }, 'plain.json'), ['--allow-empty']],
      [sb.config({ artifact_kinds: ['popularity'], gates: { allow_empty: true } }, 'allow-empty.json'), []],
    ] as const) {
      const r = await cli(['run', ...scope(config, '2026-01-01', '2026-01-02'), '--dry-run', ...extra]);
      expect(r.code, r.stderr).toBe(0);
      expect(planRows(r.stdout)[1]?.input).toBe('missing → no events');
    }
    // and what the plan says without them is what the run does: day 2 fails, exit 3
    const blocked = await sb.run(sb.config({ artifact_kinds: ['popularity'] }), '2026-01-01', '2026-01-02');
    expect(blocked.code, blocked.stderr).toBe(3);
    expect(blocked.stderr).toContain('raw input missing');
  });

  it('estimates a file larger than 64 KiB from its head, within 5%', () => {
    const sb = sandbox();
    // Random request ids keep the gzip twin above 64 KiB, so its estimate scales by the head's ratio.
    const lines = events('2026-01-01', 4000, (i) => ({ item_id: `item-${i % 97}-${'x'.repeat(i % 40)}`, request_id: randomBytes(8).toString('hex') }));
    const file = sb.writeDay('2026-01-01', lines);
    expect(statSync(file).size).toBeGreaterThan(4 * 64 * 1024);
    const plain = estimateLines(file);
    expect(Math.abs(plain.lines - 4000) / 4000).toBeLessThan(0.05);

    const gz = file + '.gz';
    writeFileSync(gz, gzipSync(lines.join('\n') + '\n'));
    const zipped = estimateLines(gz);
    expect(zipped.bytes).toBe(statSync(gz).size);
    expect(zipped.bytes).toBeGreaterThan(64 * 1024);
    expect(Math.abs(zipped.lines - 4000) / 4000).toBeLessThan(0.1);
  });

  it('with the flat layout every day reads the one shared file', async () => {
    const sb = sandbox();
    const flat = join(sb.raw, 'exposure.jsonl');
    writeFileSync(flat, [...events('2026-01-01', 5), ...events('2026-01-02', 7)].join('\n') + '\n');
    const r = await cli(['run', ...scope(sb.config(), '2026-01-01', '2026-01-02'), '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    const rows = planRows(r.stdout);
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.input.startsWith(flat)).toBe(true);
      expect(row.estimated).toBe(12);
    }
    expect(existsSync(sb.out)).toBe(false);
  });

  it('applies max_days_backfill (exit 3) and usage checks (exit 2) before anything, still writing nothing', async () => {
    const sb = sandbox();
    sb.writeDay('2026-01-01', events('2026-01-01', 3));
    const config = sb.config({ limits: { max_days_backfill: 2 } });
    expect((await cli(['run', ...scope(config, '2026-01-01', '2026-01-03'), '--dry-run'])).code).toBe(3);
    expect((await cli(['run', ...scope(config, '2026-01-03', '2026-01-01'), '--dry-run'])).code).toBe(2);
    expect(existsSync(sb.out)).toBe(false);
  });

  it('reads the checkpoint for --incremental but does not move it', async () => {
    const sb = sandbox();
    sb.writeDay('2026-01-02', events('2026-01-02', 4));
    const config = sb.config();
    mkdirSync(join(sb.out, 'checkpoints', 'demo', 'home'), { recursive: true });
    writeFileSync(sb.checkpointPath, JSON.stringify({ v: 1, last_day: '2026-01-01', updated_at: '2026-01-02T00:00:00Z' }));
    const r = await cli(['run', '--config', config, '--tenant', 'demo', '--surface', 'home', '--incremental', '--end', '2026-01-02', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(planRows(r.stdout).map((x) => [x.day, x.estimated])).toEqual([['2026-01-02', 4]]);
    expect(sb.checkpoint()).toBe('2026-01-01');
    expect(existsSync(join(sb.out, 'canonical'))).toBe(false);
    expect(existsSync(join(sb.out, 'registry'))).toBe(false);
    expect(r.stdout).toContain(`incremental: after 2026-01-01 (checkpoint ${sb.checkpointPath})`);
  });

  it('names the Go tool checkpoint when its day is the later one (docs/contract.md §9), and writes neither', async () => {
    const sb = sandbox();
    for (const d of ['2026-01-02', '2026-01-03']) sb.writeDay(d, events(d, 4));
    const config = sb.config();
    const goCheckpoint = join(sb.out, 'checkpoints', 'demo', 'home.json');
    mkdirSync(join(sb.out, 'checkpoints', 'demo', 'home'), { recursive: true });
    writeFileSync(sb.checkpointPath, JSON.stringify({ v: 1, last_day: '2026-01-01', updated_at: '2026-01-02T00:00:00Z' }));
    writeFileSync(goCheckpoint, '{\n  "day": "2026-01-02"\n}');
    const r = await cli(['run', '--config', config, '--tenant', 'demo', '--surface', 'home', '--incremental', '--end', '2026-01-03', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`incremental: after 2026-01-02 (the Go tool's checkpoint ${goCheckpoint})`);
    expect(planRows(r.stdout).map((x) => x.day)).toEqual(['2026-01-03']);
    expect(readFileSync(goCheckpoint, 'utf8')).toBe('{\n  "day": "2026-01-02"\n}');
  });
});
