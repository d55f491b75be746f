/**
 * `status`: manifest freshness for cron alerting — exit 0 fresh, 1 stale or missing (no
 * manifest, or an artifact whose blob or record is gone), 2 on a usage error.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config/types';
import { runPipeline } from '../../../src/engine/pipeline/run';
import { formatDuration, parseDuration, readStatus } from '../../../src/engine/ops/status';
import { isPipelineError } from '../../../src/errors';
import { cli, events } from '../../support/cli-harness';
import { tempDir, testConfig } from '../../support/helpers';

const DAY = '2026-01-01';
const PUBLISHED = new Date('2026-01-02T03:00:00Z');
const H = 3_600_000;

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['30m', 30 * 60_000],
    ['26h', 26 * H],
    ['2d', 48 * H],
    ['1d12h', 36 * H],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '26', 'h', '5x', '1.5h', '-1h', '0s', '26 h', '26H', '1h 30m'])('%j is a usage error', (text) => {
    try {
      parseDuration(text);
      expect.unreachable();
    } catch (err) {
      expect(isPipelineError(err) && err.code).toBe('E_USAGE');
    }
  });

  it('formats ages with the two largest units', () => {
    expect(formatDuration(90_000)).toBe('1m 30s');
    expect(formatDuration(26 * H + 5000)).toBe('1d 2h');
    expect(formatDuration(0)).toBe('0s');
  });
});

describe('status', () => {
  const tmp = tempDir('recsys-status-');
  const raw = join(tmp.dir, 'raw');
  const out = join(tmp.dir, 'out');
  const configPath = join(tmp.dir, 'config.json');
  let config: Config;
  let blobFile: string;
  const at = (ms: number) => new Date(PUBLISHED.getTime() + ms);

  beforeAll(async () => {
    mkdirSync(join(raw, 'demo', 'home'), { recursive: true });
    writeFileSync(join(raw, 'demo', 'home', `exposure.${DAY}.jsonl`), events(DAY, 12).join('\n') + '\n');
    const input = { out_dir: out, raw_source: { dir: raw }, artifact_kinds: ['popularity', 'cooc'], engine: { workers: 1 } };
    writeFileSync(configPath, JSON.stringify(input));
    config = testConfig(out, input);
    await runPipeline({ config, tenant: 'demo', surface: 'home', segment: '', start: DAY, end: DAY, incremental: false, now: () => PUBLISHED });
    const manifest = JSON.parse(readFileSync(join(config.registry_dir, 'current', 'demo', 'home', 'manifest.json'), 'utf8'));
    blobFile = manifest.current.cooc.replace('file://', '');
  });
  afterAll(() => tmp.cleanup());

  it('is fresh up to max-age and reports each artifact with its version, window and size', async () => {
    const s = await readStatus(config, 'demo', 'home', 26 * H, at(26 * H));
    expect(s.state).toBe('fresh');
    expect(s.updated_at).toBe('2026-01-02T03:00:00Z');
    expect(s.age_seconds).toBe(26 * 3600);
    expect(s.artifacts.map((a) => a.type)).toEqual(['cooc', 'popularity']);
    for (const a of s.artifacts) {
      expect(a.version).toMatch(/^[0-9a-f]{64}$/);
      expect(a.window).toEqual({ start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z' });
      expect(a.size_bytes).toBe(readFileSync(a.uri.replace('file://', '')).length);
      expect(a.problem).toBeNull();
    }
  });

  it('is stale one second past max-age', async () => {
    expect((await readStatus(config, 'demo', 'home', 26 * H, at(26 * H + 1000))).state).toBe('stale');
    expect((await readStatus(config, 'demo', 'home', 90_000, at(91_000))).state).toBe('stale');
  });

  it('is missing without a manifest', async () => {
    const s = await readStatus(config, 'demo', 'other', 26 * H, at(0));
    expect(s.state).toBe('missing');
    expect(s.artifacts).toEqual([]);
  });

  it('is missing when a blob the manifest points at is gone, however recent', async () => {
    renameSync(blobFile, blobFile + '.away');
    try {
      const s = await readStatus(config, 'demo', 'home', 26 * H, at(0));
      expect(s.state).toBe('missing');
      const cooc = s.artifacts.find((a) => a.type === 'cooc')!;
      expect(cooc.problem).not.toBeNull();
      expect(cooc.size_bytes).toBeNull();
      expect(s.artifacts.find((a) => a.type === 'popularity')!.problem).toBeNull();
    } finally {
      renameSync(blobFile + '.away', blobFile);
    }
  });

  it('is missing when a blob was altered in place (same size, other bytes)', async () => {
    const original = readFileSync(blobFile);
    const altered = Buffer.from(original);
    const digit = altered.indexOf('"count": ') + 9;
    altered.writeUInt8(altered.readUInt8(digit) ^ 1, digit); // one digit changes, the size does not
    writeFileSync(blobFile, altered);
    try {
      const s = await readStatus(config, 'demo', 'home', 26 * H, at(0));
      expect(s.state).toBe('missing');
      expect(s.artifacts.find((a) => a.type === 'cooc')!.problem).toMatch(/sha256/);
    } finally {
      writeFileSync(blobFile, original);
    }
  });

  it('through the CLI: exit 0 fresh, 1 stale (with --json), 1 missing, 2 on a bad duration', async () => {
    const scope = ['status', '--config', configPath, '--tenant', 'demo', '--surface', 'home'];
    const manifestFile = join(config.registry_dir, 'current', 'demo', 'home', 'manifest.json');
    const original = readFileSync(manifestFile, 'utf8');
    // The CLI reads the real clock: move updated_at instead.
    const setUpdatedAt = (iso: string) => writeFileSync(manifestFile, original.replace(/"updated_at": "[^"]*"/, `"updated_at": "${iso}"`));
    try {
      setUpdatedAt(new Date(Date.now() - 3600_000).toISOString().replace(/\.\d+Z$/, 'Z'));
      const fresh = await cli(scope); // default --max-age 26h
      expect(fresh.code, fresh.stderr).toBe(0);
      expect(fresh.stdout).toContain('cooc');
      expect((await cli([...scope, '--max-age', '30m'])).code).toBe(1);

      setUpdatedAt('2000-01-01T00:00:00Z');
      const stale = await cli([...scope, '--json']);
      expect(stale.code).toBe(1);
      const s = JSON.parse(stale.stdout);
      expect(s.state).toBe('stale');
      expect(s.max_age_seconds).toBe(26 * 3600);
      expect(s.artifacts).toHaveLength(2);
    } finally {
      writeFileSync(manifestFile, original);
    }
    expect((await cli(['status', '--config', configPath, '--tenant', 'demo', '--surface', 'nope'])).code).toBe(1);
    expect((await cli([...scope, '--max-age', '26x'])).code).toBe(2);
  });
});
