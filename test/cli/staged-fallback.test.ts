/**
 * The Go tool's staging fallback (SPEC §9): `publish` of a window whose staging folder has no
 * `current.version` publishes the folder's only `*.json`, here a blob the Go tool staged
 * (the hand-written fixture of test/fixtures/go-state); several blobs fail the day (E_IO,
 * exit 1, naming the folder) and leave the manifest as it was.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, sandboxFactory, versionOfUri } from '../support/cli-harness';
import { GO_POPULARITY, GO_STATE_FIXTURE } from '../support/go-state';

const DAY = '2026-06-02';
const VERSION = GO_POPULARITY[DAY];
const goBlob = join(GO_STATE_FIXTURE, 'objectstore', 'acme', 'home', 'popularity', `${VERSION}.json`);

const sandbox = sandboxFactory('recsys-staged-fallback-');

function setup() {
  const sb = sandbox();
  const config = sb.config({ artifact_kinds: ['popularity'] });
  const folder = join(sb.out, 'artifacts', 'acme', 'home', 'popularity', `${DAY}_2026-06-03`);
  mkdirSync(folder, { recursive: true });
  copyFileSync(goBlob, join(folder, `${VERSION}.json`));
  // --allow-empty: the Go tool's raw input of that day is not here (the drift gate would stop a day without it).
  const publish = () => cli(['publish', '--config', config, '--tenant', 'acme', '--surface', 'home', '--start', DAY, '--end', DAY, '--allow-empty']);
  const manifest = () => join(sb.out, 'registry', 'current', 'acme', 'home', 'manifest.json');
  return { sb, folder, publish, manifest };
}

describe('publish without current.version', () => {
  it("publishes the folder's only blob, as the Go tool does", async () => {
    const { publish, manifest } = setup();
    const r = await publish();
    expect(r.code, r.stderr).toBe(0);
    const current = JSON.parse(readFileSync(manifest(), 'utf8')).current as Record<string, string>;
    expect(versionOfUri(current.popularity)).toBe(VERSION);
  });

  it('several blobs: exit 1 naming the folder, nothing published', async () => {
    const { folder, publish, manifest } = setup();
    copyFileSync(goBlob, join(folder, `${'0'.repeat(64)}.json`));
    const r = await publish();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`read staging folder ${folder}: no current.version and 2 staged blobs`);
    expect(r.stderr).toContain('[E_IO]');
    expect(existsSync(manifest())).toBe(false);
  });
});
