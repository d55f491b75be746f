/**
 * `status`, `history` and `rollback` on a registry the Go tool wrote (docs/contract.md §9):
 * hand-written Go records and manifest (test/fixtures/go-state/state), read through the
 * CLI. Go records carry no size or sha256: their blobs are checked by recomputing the
 * version, so a corrupted Go blob is a problem for `status` and refused by `rollback`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli } from '../../support/cli-harness';
import { copyGoState, GO_POPULARITY } from '../../support/go-state';
import { tempDir } from '../../support/helpers';

const V1 = GO_POPULARITY['2026-06-01'];
const V2 = GO_POPULARITY['2026-06-02'];

let tmp: { dir: string; cleanup: () => void };
let config: string;
const flags = () => ['--config', config, '--tenant', 'acme', '--surface', 'home'];
const manifestFile = () => join(tmp.dir, 'registry', 'current', 'acme', 'home', 'manifest.json');
const blobFile = (v: string) => join(tmp.dir, 'objectstore', 'acme', 'home', 'popularity', `${v}.json`);

beforeEach(() => {
  tmp = tempDir('recsys-go-records-');
  copyGoState(tmp.dir);
  config = join(tmp.dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      raw_events_dir: join(tmp.dir, 'raw'),
      out_dir: tmp.dir,
      registry_dir: join(tmp.dir, 'registry'),
      object_store_dir: join(tmp.dir, 'objectstore'),
      artifact_kinds: ['popularity'],
    }),
  );
});
afterEach(() => tmp.cleanup());

describe('Go tool records', () => {
  it('status: the Go manifest is fresh (within --max-age), window from the Go record, blob verified by its version', async () => {
    const r = await cli(['status', ...flags(), '--max-age', '36500d', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as { state: string; artifacts: Array<{ version: string; window: unknown; problem: string | null; size_bytes: number }> };
    expect(s.state).toBe('fresh');
    expect(s.artifacts).toHaveLength(1);
    expect(s.artifacts[0]).toMatchObject({
      version: V2,
      window: { start: '2026-06-02T00:00:00Z', end: '2026-06-03T00:00:00Z' },
      problem: null,
      size_bytes: readFileSync(blobFile(V2)).length,
    });
  });

  it('status: a Go blob whose content no longer hashes to its version is a problem (exit 1)', async () => {
    writeFileSync(blobFile(V2), readFileSync(blobFile(V2), 'utf8').replace('"count": 2', '"count": 5'));
    const r = await cli(['status', ...flags(), '--max-age', '36500d']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('MISSING');
    expect(r.stdout).toContain(`its Go tool record says ${V2}`);
  });

  it('history lists the Go records, marked as such', async () => {
    const r = await cli(['history', ...flags()]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l.includes('Go tool record'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(V1);
    expect(lines[0]).toContain('2026-06-01T00:00:00Z..2026-06-02T00:00:00Z');
    expect(lines[1]).toContain(V2);
  });

  it('rollback --version to a Go version (record segment "default", blob without one): manifest points at its Go URI, audit entry', async () => {
    const r = await cli(['rollback', ...flags(), '--type', 'popularity', '--version', V1, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const m = JSON.parse(readFileSync(manifestFile(), 'utf8')) as { current: Record<string, string> };
    expect(m.current.popularity).toBe(`file://${blobFile(V1)}`);
    const h = await cli(['history', ...flags(), '--json']);
    const history = JSON.parse(h.stdout) as { history: Array<{ manifest: { current: Record<string, string> } }>; audit: Array<{ from: string; to: string }> };
    expect(history.history.map((e) => e.manifest.current.popularity)).toEqual([`file://${blobFile(V2)}`]);
    expect(history.audit).toEqual([expect.objectContaining({ from: `file://${blobFile(V2)}`, to: `file://${blobFile(V1)}` })]);

    // and back with --previous: the Go manifest that the rollback replaced
    const back = await cli(['rollback', ...flags(), '--type', 'popularity', '--previous']);
    expect(back.code).toBe(0);
    expect((JSON.parse(readFileSync(manifestFile(), 'utf8')) as { current: Record<string, string> }).current.popularity).toBe(`file://${blobFile(V2)}`);
  });

  it('rollback to a Go version whose blob was altered is refused, manifest byte-identical', async () => {
    writeFileSync(blobFile(V1), readFileSync(blobFile(V1), 'utf8').replace('"count": 3', '"count": 9'));
    const before = readFileSync(manifestFile());
    const r = await cli(['rollback', ...flags(), '--type', 'popularity', '--version', V1]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Go tool record');
    expect(readFileSync(manifestFile()).equals(before)).toBe(true);
  });
});
