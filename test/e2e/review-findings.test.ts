/**
 * Review findings (docs/contract.md / operator expectations), each fixed; the tests keep them fixed.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readHistory } from '../../src/engine/ops/history';
import { rollback } from '../../src/engine/ops/rollback';
import { runPipeline } from '../../src/engine/pipeline/run';
import { isPipelineError } from '../../src/errors';
import { parseExposureLine } from '../../src/io/parse/exposure-line';
import { cliProcess, events, Sandbox } from '../support/cli-harness';
import { tempDir, testConfig } from '../support/helpers';

describe('review: day range at the end of the calendar', () => {
  const sb = new Sandbox('recsys-review-days-');
  afterAll(() => sb.cleanup());

  // Finding "daysBetween loops forever on 9999-12-31": addDays('9999-12-31', 1) is
  // '+010000-01', which sorts before '9999-12-31', so daysBetween never stops (and
  // max_days_backfill is checked only after it returns). A typo'd --end hangs the run.
  // A child process with a small heap: the endless loop piles up days, so the process runs
  // out of memory and crashes (a status other than 1 or 2) instead of hanging the test.
  it('run --start 9999-12-31 --end 9999-12-31 ends with a usage or limit error', async () => {
    const config = sb.config();
    const r = await cliProcess(
      ['run', '--config', config, '--tenant', 'demo', '--surface', 'home', '--start', '9999-12-31', '--end', '9999-12-31', '--dry-run'],
      {
        env: { NODE_OPTIONS: '--max-old-space-size=256' },
      },
    );
    expect(r.code === 1 || r.code === 2, r.stderr).toBe(true);
  });
});

describe('review: raw integer fields', () => {
  const line = (extra: string) => `{"ts":"2026-01-01T08:00:00Z","tenant":"t","surface":"s","session_id":"a","item_id":"i",${extra}}`;

  // Finding "v/rank accept JSON numbers with a fraction or exponent": docs/contract.md §1 says v and rank
  // are integers; Go's encoding/json refuses 1.0 or 1e0 for an int field, so the Go tool
  // rejected such lines. Here they are accepted (both in parseExposureLine and the byte scanner,
  // which hands them to parseExposureLine).
  it('"v": 1.0 is rejected (v must be the integer 1)', () => {
    expect(parseExposureLine(line('"v":1.0')).ok).toBe(false);
  });
  it('"rank": 2.0 and "rank": 1e1 are rejected (rank is an integer)', () => {
    expect(parseExposureLine(line('"v":1,"rank":2.0')).ok).toBe(false);
    expect(parseExposureLine(line('"v":1,"rank":1e1')).ok).toBe(false);
  });
});

describe('review: malformed registry files end in a PipelineError, never a TypeError', () => {
  const tmp = tempDir('recsys-review-registry-');
  afterAll(() => tmp.cleanup());
  const raw = join(tmp.dir, 'raw');
  const out = join(tmp.dir, 'out');
  const config = testConfig(out, { raw_source: { type: 'fs', dir: raw }, artifact_kinds: ['popularity'], engine: { workers: 1 } });

  async function publishTwoDays(): Promise<void> {
    mkdirSync(join(raw, 'demo', 'home'), { recursive: true });
    writeFileSync(join(raw, 'demo', 'home', 'exposure.2026-01-01.jsonl'), events('2026-01-01', 5).join('\n') + '\n');
    writeFileSync(join(raw, 'demo', 'home', 'exposure.2026-01-02.jsonl'), events('2026-01-02', 7).join('\n') + '\n');
    await runPipeline({ config, tenant: 'demo', surface: 'home', segment: '', start: '2026-01-01', end: '2026-01-02', incremental: false });
  }

  const outcome = (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (err: unknown) => (isPipelineError(err) ? `PipelineError ${err.code}` : `non-PipelineError: ${String(err)}`),
    );

  // Finding "parseRecord checks too little": a record without `window` (hand-edited, or written
  // by another tool) passes parseRecord, then checkArtifactBlob reads want.window.start and the
  // CLI prints "internal error (please report)" with a stack trace.
  it('rollback to a version whose record has no window', async () => {
    await publishTwoDays();
    const dir = join(out, 'registry', 'records', 'demo', 'home', 'popularity');
    const records = readdirSync(dir).filter((n) => n.endsWith('.json'));
    const first = records.map((n) => ({ n, r: JSON.parse(readFileSync(join(dir, n), 'utf8')) })).find((x) => x.r.window.start.startsWith('2026-01-01'))!;
    delete first.r.window;
    writeFileSync(join(dir, first.n), JSON.stringify(first.r, null, 2));
    const result = await outcome(rollback({ config, tenant: 'demo', surface: 'home', type: 'popularity', version: first.r.version }));
    expect(result).toMatch(/^PipelineError/);
  });

  // Finding "listAudit trusts every audit file": `null` (or any non-object) in an audit file
  // makes `history --type` throw a TypeError in readHistory's filter.
  it('history --type with an audit file holding null', async () => {
    const audit = join(out, 'registry', 'audit', 'demo', 'home');
    mkdirSync(audit, { recursive: true });
    writeFileSync(join(audit, '20260101T000000Z-000009-rollback.json'), 'null');
    const result = await outcome(readHistory(config, 'demo', 'home', 'popularity'));
    expect(result).toMatch(/^(ok|PipelineError)/);
  });
});
