/**
 * The worked example of ../shared/examples/small: exact versions, exact hashed bytes and the
 * exact published blobs (all but `built_at`) of all ten artifacts, through the real CLI.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../../support/cli-harness';
import { EXAMPLE_EXPECTED, SAMPLE_CATALOG, SAMPLE_RAW, tempDir } from '../../support/helpers';

const expected = readFileSync(join(EXAMPLE_EXPECTED, 'versions.txt'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => l.split(' ') as [string, string, string]);

describe('worked example (shared/examples/small)', () => {
  const tmp = tempDir();
  let manifest: { current: Record<string, string> };
  let stdout = '';

  beforeAll(async () => {
    // The example config's paths are relative to the project root and write under .out/example;
    // run from a temp copy of the layout so tests never touch the developer's .out.
    const config = JSON.parse(readFileSync(join(EXAMPLE_EXPECTED, '..', 'config.json'), 'utf8'));
    config.raw_source.dir = SAMPLE_RAW;
    config.catalog.path = SAMPLE_CATALOG;
    for (const key of ['canonical_dir', 'checkpoint_dir', 'artifacts_dir', 'registry_dir']) config[key] = join(tmp.dir, key);
    config.object_store.dir = join(tmp.dir, 'objectstore');
    const configPath = join(tmp.dir, 'config.json');
    writeFileSync(configPath, JSON.stringify(config));
    const r = await cli([
      'run',
      '--config',
      configPath,
      '--tenant',
      'demo',
      '--surface',
      'home',
      '--segment',
      'web',
      '--start',
      '2026-01-01',
      '--end',
      '2026-01-02',
    ]);
    expect(r.code, r.stderr).toBe(0);
    stdout = r.stdout;
    manifest = JSON.parse(readFileSync(join(tmp.dir, 'registry_dir', 'current', 'demo', 'home', 'manifest.json'), 'utf8'));
  });
  afterAll(() => tmp.cleanup());

  it.each(expected)("%s %s has version %s and the Go tool's bytes", (type, day, version) => {
    expect(stdout).toContain(`${day}  ${type.padEnd(11)}  ${version}`);
    const blob = readFileSync(join(tmp.dir, 'objectstore', 'demo', 'home', type, `${version}.json`), 'utf8');
    const golden = readFileSync(join(EXAMPLE_EXPECTED, `${type}.${day}.published.json`), 'utf8');
    const withoutBuiltAt = (s: string) => s.replace(/"built_at": "[^"]*"/, '"built_at": ""');
    expect(withoutBuiltAt(blob)).toBe(withoutBuiltAt(golden));
    expect(blob).toMatch(/"built_at": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"/);
    expect(blob.endsWith('}')).toBe(true);
  });

  it('points current at the last day, every type', () => {
    const lastDay = Object.fromEntries(expected.filter(([, day]) => day === '2026-01-02').map(([t, , v]) => [t, v]));
    expect(Object.keys(manifest.current)).toEqual(Object.keys(lastDay).sort());
    for (const [type, version] of Object.entries(lastDay)) {
      expect(manifest.current[type]).toBe(`file://${join(tmp.dir, 'objectstore', 'demo', 'home', type, `${version}.json`)}`);
    }
  });

  it('counts the event of another tenant as skipped', () => {
    expect(stdout).toMatch(/2026-01-01\s+3005\s+3004\s+1\s+0\s+0/);
  });
});
