/**
 * Tenants, surfaces, segments and folders with spaces, `#`, `%`, `?` and non-ASCII letters
 * work end to end (issue 13 item 5): `run`, then the manifest read the way a consumer reads
 * it (`new URL` + `fileURLToPath`) opens every blob, which is the artifact of that tenant
 * and surface; `status` is FRESH, `history` and `rollback --previous` work.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, events } from '../support/cli-harness';
import { tempDir } from '../support/helpers';

const TENANT = 'ten ant#1 %41';
const SURFACE = 'home?page=1 Zürich';
const SEGMENT = 'seg 日本 %';
const DAYS = ['2026-01-01', '2026-01-02'];

const tmp = tempDir('recsys-special-');
afterAll(() => tmp.cleanup());

describe('special characters in names and folders', () => {
  it('run → manifest → blob, as a consumer reads them; status, history and rollback too', async () => {
    const root = join(tmp.dir, 'data #2 %20 ?q é');
    const raw = join(root, 'raw in');
    for (const [k, day] of DAYS.entries()) {
      const dir = join(raw, TENANT, SURFACE);
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, `exposure.${day}.jsonl`),
        events(day, 12 + k, (i) => ({ tenant: TENANT, surface: SURFACE, item_id: `i${(i * (k + 1)) % 5}` })).join('\n') + '\n',
      );
    }
    const config = join(root, 'config #.json');
    writeFileSync(config, JSON.stringify({ out_dir: join(root, 'out %'), raw_source: { dir: raw }, artifact_kinds: ['popularity', 'cooc'] }));
    const scope = ['--config', config, '--tenant', TENANT, '--surface', SURFACE];

    const run = await cli(['run', ...scope, '--segment', SEGMENT, '--start', DAYS[0]!, '--end', DAYS[1]!, '--workers', '1']);
    expect(run.code, run.stderr).toBe(0);

    const manifestFile = join(root, 'out %', 'registry', 'current', TENANT, SURFACE, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { tenant: string; surface: string; current: Record<string, string> };
    expect(manifest.tenant).toBe(TENANT);
    expect(manifest.surface).toBe(SURFACE);
    expect(Object.keys(manifest.current).sort()).toEqual(['cooc', 'popularity']);
    for (const [type, uri] of Object.entries(manifest.current)) {
      const url = new URL(uri);
      expect(url.protocol).toBe('file:');
      expect(url.hash).toBe(''); // no '#' left unencoded to cut the path short
      expect(url.search).toBe(''); // nor '?'
      const file = fileURLToPath(url);
      expect(file).toBe(join(root, 'out %', 'objectstore', TENANT, SURFACE, type, `${file.split('/').pop()}`));
      const blob = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      expect(blob).toMatchObject({ artifact_type: type, tenant: TENANT, surface: SURFACE, segment: SEGMENT, window: { start: `${DAYS[1]}T00:00:00Z` } });
      // The registry record carries the same URI.
      const version = (blob.build as { version: string }).version;
      const record = JSON.parse(readFileSync(join(root, 'out %', 'registry', 'records', TENANT, SURFACE, type, `${version}.json`), 'utf8')) as { uri: string };
      expect(record.uri).toBe(uri);
    }

    const status = await cli(['status', ...scope]);
    expect(status.code, status.stdout + status.stderr).toBe(0);
    expect(status.stdout).toContain('FRESH');

    const history = await cli(['history', ...scope, '--type', 'popularity']);
    expect(history.code, history.stderr).toBe(0);

    const back = await cli(['rollback', ...scope, '--type', 'popularity', '--previous']);
    expect(back.code, back.stderr).toBe(0);
    const rolled = JSON.parse(readFileSync(manifestFile, 'utf8')) as { current: Record<string, string> };
    const day1 = JSON.parse(readFileSync(fileURLToPath(new URL(rolled.current.popularity!)), 'utf8')) as { window: { start: string } };
    expect(day1.window.start).toBe(`${DAYS[0]}T00:00:00Z`);
    expect((await cli(['status', ...scope])).code).toBe(0);
  });
});
