/**
 * Record and manifest URIs (issue 13 item 5, SPEC §9): nothing outside the object store
 * folder is read or published, and a Go-era URI (file:// + the raw path) inside the store
 * is read, reported by `status` when a consumer could not open it, and replaced by the
 * percent-encoded URI on rollback. State: the hand-written Go fixtures
 * (test/fixtures/go-state, test/fixtures/go-era/records/outside-store.json).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, events } from '../../support/cli-harness';
import { copyGoState, GO_POPULARITY } from '../../support/go-state';
import { REPO_ROOT, tempDir } from '../../support/helpers';

const V1 = GO_POPULARITY['2026-06-01'];
const V2 = GO_POPULARITY['2026-06-02'];
const OUTSIDE_RECORD = join(REPO_ROOT, 'test', 'fixtures', 'go-era', 'records', 'outside-store.json');

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

/** The Go state copied under `<tmp>/<name>`, and a config for it. */
function goInstall(name: string) {
  const tmp = tempDir('recsys-uris-');
  cleanups.push(tmp.cleanup);
  const dir = join(tmp.dir, name);
  mkdirSync(dir, { recursive: true });
  copyGoState(dir);
  const config = join(tmp.dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      raw_events_dir: join(dir, 'raw'),
      out_dir: dir,
      registry_dir: join(dir, 'registry'),
      object_store_dir: join(dir, 'objectstore'),
      artifact_kinds: ['popularity'],
    }),
  );
  const flags = ['--config', config, '--tenant', 'acme', '--surface', 'home'];
  const manifest = join(dir, 'registry', 'current', 'acme', 'home', 'manifest.json');
  const blob = (v: string) => join(dir, 'objectstore', 'acme', 'home', 'popularity', `${v}.json`);
  const record = (v: string) => join(dir, 'registry', 'records', 'acme', 'home', 'popularity', `${v}.json`);
  return { dir, flags, manifest, blob, record };
}

describe('a record pointing outside the object store', () => {
  it('rollback --version exits 3 (E_UNSAFE_URI) naming the record; the manifest bytes are unchanged', async () => {
    const g = goInstall('go');
    // The Go record of V1 now names a copy of the (valid) blob outside the store folder.
    writeFileSync(g.record(V1), readFileSync(OUTSIDE_RECORD, 'utf8').replaceAll('/GO_ROOT', g.dir));
    const outside = join(g.dir, 'elsewhere', 'acme', 'home', 'popularity', `${V1}.json`);
    mkdirSync(join(outside, '..'), { recursive: true });
    copyFileSync(g.blob(V1), outside);
    const before = readFileSync(g.manifest);

    const r = await cli(['rollback', ...g.flags, '--type', 'popularity', '--version', V1]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`registry record ${g.record(V1)}: "file://${outside}" is outside the object store ${join(g.dir, 'objectstore')}`);
    expect(readFileSync(g.manifest)).toEqual(before);
    expect(JSON.parse(readFileSync(g.manifest, 'utf8')).current.popularity).not.toContain('elsewhere');
  });

  it('a manifest entry outside the store is a status problem, never read', async () => {
    const g = goInstall('go');
    const m = JSON.parse(readFileSync(g.manifest, 'utf8')) as { current: Record<string, string> };
    m.current.popularity = `file://${join(g.dir, 'elsewhere', 'x.json')}`;
    writeFileSync(g.manifest, JSON.stringify(m, null, 2));
    const r = await cli(['status', ...g.flags, '--max-age', '36500d', '--json']);
    expect(r.code).toBe(1);
    const s = JSON.parse(r.stdout) as { state: string; artifacts: Array<{ problem: string | null }> };
    expect(s.state).toBe('missing');
    expect(s.artifacts[0]?.problem).toContain('is outside the object store');
  });
});

describe('a current manifest entry outside the store (say, a moved store folder)', () => {
  it('is never read by the drift gate either: a publish goes through and puts a URI inside the store in its place', async () => {
    const g = goInstall('go');
    const m = JSON.parse(readFileSync(g.manifest, 'utf8')) as { current: Record<string, string> };
    const outside = join(g.dir, 'old-store', 'acme', 'home', 'popularity', `${V2}.json`);
    mkdirSync(join(outside, '..'), { recursive: true });
    copyFileSync(g.blob(V2), outside);
    m.current.popularity = `file://${outside}`;
    writeFileSync(g.manifest, JSON.stringify(m, null, 2));
    mkdirSync(join(g.dir, 'raw', 'acme', 'home'), { recursive: true });
    writeFileSync(
      join(g.dir, 'raw', 'acme', 'home', 'exposure.2026-06-03.jsonl'),
      events('2026-06-03', 6, () => ({ tenant: 'acme', surface: 'home' })).join('\n') + '\n',
    );
    const r = await cli(['run', ...g.flags, '--start', '2026-06-03', '--end', '2026-06-03', '--workers', '1']);
    expect(r.code, r.stderr).toBe(0);
    const uri = (JSON.parse(readFileSync(g.manifest, 'utf8')) as { current: Record<string, string> }).current.popularity!;
    expect(fileURLToPath(new URL(uri)).startsWith(join(g.dir, 'objectstore') + '/')).toBe(true);
  });
});

describe('Go-era raw URIs inside the store', () => {
  it('plain folder names: the raw URI is what a reader opens; status is fresh, nothing to report', async () => {
    const g = goInstall('plain');
    const r = await cli(['status', ...g.flags, '--max-age', '36500d', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { artifacts: Array<{ problem: string | null }> }).artifacts[0]?.problem).toBeNull();
  });

  it("a folder with ' ', '#', '%', '?' and 'é': read as the raw path; status reports that no reader opens it; rollback writes the encoded URI", async () => {
    const g = goInstall('go state #1 %41 ?x é');
    const raw = JSON.parse(readFileSync(g.manifest, 'utf8')).current.popularity as string;
    expect(raw).toBe(`file://${g.blob(V2)}`); // as the Go tool wrote it: unencoded

    const status = await cli(['status', ...g.flags, '--max-age', '36500d', '--json']);
    expect(status.code).toBe(1);
    const s = JSON.parse(status.stdout) as { state: string; artifacts: Array<{ problem: string | null; size_bytes: number | null }> };
    expect(s.state).toBe('missing');
    expect(s.artifacts[0]?.problem).toContain(`not the blob ${g.blob(V2)}`);
    expect(s.artifacts[0]?.size_bytes).toBe(readFileSync(g.blob(V2)).length); // the blob itself was read

    // Rolling back to V1 (a Go record with a raw URI) goes through, and writes the URI a consumer opens.
    const back = await cli(['rollback', ...g.flags, '--type', 'popularity', '--version', V1]);
    expect(back.code, back.stderr).toBe(0);
    const uri = JSON.parse(readFileSync(g.manifest, 'utf8')).current.popularity as string;
    expect(uri).not.toBe(`file://${g.blob(V1)}`);
    expect(fileURLToPath(new URL(uri))).toBe(g.blob(V1));
    expect(readFileSync(fileURLToPath(new URL(uri)), 'utf8')).toContain(`"version": "${V1}"`);
    const after = await cli(['status', ...g.flags, '--max-age', '36500d']);
    expect(after.code, after.stdout).toBe(0);
    expect(after.stdout).toContain('FRESH');
  });
});
