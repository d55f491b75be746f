/**
 * Publish order (docs/contract.md §4, §6): blobs → validate → records → manifest swap last. Any failure
 * before the swap (a gate, a limit, a failed write of a blob, record or history entry) leaves
 * the previous manifest byte-identical and the checkpoint where it was; the manifest's
 * `current` keeps the types a run did not publish.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../support/cli-harness';
import { cli, events, publishedLines, sandboxFactory, STACK_FRAME, versionOfUri } from '../support/cli-harness';
import { must } from '../support/helpers';

const DAY1 = '2026-01-01';
const DAY2 = '2026-01-02';

const sandbox = sandboxFactory();

/** A sandbox with day 1 published (popularity + cooc) and day 2 raw input ready. */
async function publishedDay1(extra: Record<string, unknown> = {}) {
  const sb = sandbox();
  sb.writeDay(DAY1, events(DAY1, 12));
  sb.writeDay(
    DAY2,
    events(DAY2, 20, (i) => ({ item_id: `j${i % 5}` })),
  );
  const config = sb.config({ artifact_kinds: ['popularity', 'cooc'], limits: { min_cooc_support: 1 }, ...extra });
  const r = await sb.run(config, DAY1, DAY1);
  expect(r.code, r.stderr).toBe(0);
  return { sb, config, manifest: sb.manifestText()!, checkpoint: readFileSync(sb.checkpointPath, 'utf8') };
}

/** Puts a regular file where the publisher needs a folder. */
function block(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, 'not a folder');
}

describe('a failure before the manifest swap leaves the previous manifest byte-identical', () => {
  it('a failed gate (min_events_per_run) on the next day', async () => {
    const { sb, config, manifest, checkpoint } = await publishedDay1({ limits: { min_cooc_support: 1, min_events_per_run: 5 } });
    sb.writeDay(DAY2, events(DAY2, 4)); // below the gate
    const r = await sb.run(config, DAY2, DAY2);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('min_events_per_run');
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(sb.manifestText()).toBe(manifest);
    expect(readFileSync(sb.checkpointPath, 'utf8')).toBe(checkpoint);
  });

  it('a hard limit on the next day', async () => {
    const { sb, config, manifest } = await publishedDay1({ limits: { min_cooc_support: 1, max_events_per_run: 12 } });
    const r = await sb.run(config, DAY2, DAY2);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('limit exceeded: max_events_per_run (20 > 12)');
    expect(sb.manifestText()).toBe(manifest);
  });

  const blockers: Array<[string, (sb: Sandbox) => string]> = [
    ['the object store cannot take the second blob', (sb) => join(sb.out, 'objectstore', 'demo', 'home', 'cooc')],
    ['a registry record cannot be written', (sb) => join(sb.out, 'registry', 'records', 'demo', 'home', 'popularity')],
    ['the manifest history cannot be written', (sb) => join(sb.out, 'registry', 'history', 'demo', 'home')],
  ];

  it.each(blockers)('a forced I/O failure: %s (exit 1, no stack trace, then a clean retry)', async (_name, where) => {
    const { sb, config, manifest, checkpoint } = await publishedDay1();
    const blocked = where(sb);
    if (existsSync(blocked)) rmSync(blocked, { recursive: true });
    block(blocked);
    const r = await sb.run(config, DAY2, DAY2);
    expect(r.code, r.stdout).toBe(1);
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(r.stderr).not.toContain('internal error');
    expect(sb.manifestText()).toBe(manifest);
    expect(readFileSync(sb.checkpointPath, 'utf8')).toBe(checkpoint);
    // the lock was released on the way out
    expect(existsSync(sb.lockPath)).toBe(false);

    rmSync(blocked);
    const retry = await sb.run(config, DAY2, DAY2);
    expect(retry.code, retry.stderr).toBe(0);
    expect(sb.currentBlob('popularity').window.start).toBe(`${DAY2}T00:00:00Z`);
    expect(sb.currentBlob('cooc').window.start).toBe(`${DAY2}T00:00:00Z`);
    expect(sb.checkpoint()).toBe(DAY2);
  });
});

describe('the canonical partition is written in the background, but always before anything is staged', () => {
  it('an unwritable partition folder: exit 1 with E_IO naming it, nothing staged, a later publish job has nothing to publish', async () => {
    const { sb, config, manifest, checkpoint } = await publishedDay1();
    const exposures = dirname(sb.partitionPath(DAY2));
    rmSync(exposures, { recursive: true });
    block(exposures);
    const r = await sb.run(config, DAY2, DAY2);
    expect(r.code, r.stdout).toBe(1);
    expect(r.stderr).toContain('E_IO');
    expect(r.stderr).toContain(exposures);
    expect(r.stderr).not.toContain('E_WORKER');
    expect(r.stderr).not.toContain(STACK_FRAME);
    const staged = (readdirSync(sb.out, { recursive: true }) as string[]).filter((f) => f.endsWith('current.version') && f.includes(`${DAY2}_`));
    expect(staged).toEqual([]);
    const publish = await cli(['publish', '--config', config, '--tenant', 'demo', '--surface', 'home', '--start', DAY2, '--end', DAY2]);
    expect(publish.code, publish.stdout).not.toBe(0);
    expect(sb.manifestText()).toBe(manifest);
    expect(readFileSync(sb.checkpointPath, 'utf8')).toBe(checkpoint);

    rmSync(exposures);
    const retry = await sb.run(config, DAY2, DAY2);
    expect(retry.code, retry.stderr).toBe(0);
    expect(existsSync(sb.partitionPath(DAY2))).toBe(true);
    expect(sb.checkpoint()).toBe(DAY2);
  });
});

describe('stored state that does not match is never overwritten', () => {
  it('a tampered blob at the same version: exit 1 naming it, blob and manifest untouched', async () => {
    const { sb, config, manifest } = await publishedDay1();
    const uri = must(sb.manifest().current.popularity, 'a current popularity');
    const path = uri.replace(/^file:\/\//, '');
    const tampered = readFileSync(path, 'utf8').replace(/"count": (\d+)/, '"count": 999');
    writeFileSync(path, tampered);
    const r = await sb.run(config, DAY1, DAY1);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(path);
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(readFileSync(path, 'utf8')).toBe(tampered);
    expect(sb.manifestText()).toBe(manifest);
  });

  it('a manifest that does not parse: exit 1 naming it, left as it is', async () => {
    const { sb, config } = await publishedDay1();
    writeFileSync(sb.manifestPath, '{"v":1,');
    const r = await sb.run(config, DAY2, DAY2);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(sb.manifestPath);
    expect(r.stderr).not.toContain(STACK_FRAME);
    expect(sb.manifestText()).toBe('{"v":1,');
    expect(sb.checkpoint()).toBe(DAY1);
  });
});

describe('the manifest', () => {
  it('keeps the URIs of types a run did not publish', async () => {
    const sb = sandbox();
    sb.writeDay(DAY1, events(DAY1, 12));
    sb.writeDay(
      DAY2,
      events(DAY2, 20, (i) => ({ item_id: `j${i % 5}` })),
    );
    const catalog = join(sb.dir, 'catalog.csv');
    writeFileSync(catalog, 'item_id,tags\ni0,x|y\ni1,z\n');
    const all = sb.config({ artifact_kinds: ['popularity', 'cooc', 'implicit', 'content_sim', 'session_seq'], catalog: { path: catalog } }, 'all.json');
    const popOnly = sb.config({ artifact_kinds: ['popularity'] }, 'pop.json');

    expect((await sb.run(all, DAY1, DAY1)).code).toBe(0);
    const before = sb.manifest().current;
    expect(Object.keys(before)).toEqual(['content_sim', 'cooc', 'implicit', 'popularity', 'session_seq']);

    const r = await sb.run(popOnly, DAY2, DAY2);
    expect(r.code, r.stderr).toBe(0);
    const after = sb.manifest().current;
    const [pop] = publishedLines(r.stdout);
    expect(pop).toMatchObject({ day: DAY2, type: 'popularity' });
    expect(versionOfUri(after.popularity)).toBe(pop?.version);
    expect(after.popularity).not.toBe(before.popularity);
    for (const type of ['content_sim', 'cooc', 'implicit', 'session_seq']) expect(after[type], type).toBe(before[type]);
    expect(Object.keys(after)).toEqual(Object.keys(before));
  });

  it('has the shape of docs/contract.md §6: v, tenant, surface, current (sorted keys), updated_at; two-space indent; every URI a stored blob with a record', async () => {
    const sb = sandbox();
    sb.writeDay(DAY1, events(DAY1, 12));
    sb.writeDay(DAY2, events(DAY2, 20));
    const r = await sb.run(sb.config({ artifact_kinds: ['session', 'popularity', 'cooc', 'implicit'] }), DAY1, DAY2);
    expect(r.code, r.stderr).toBe(0);
    const text = sb.manifestText()!;
    const m = sb.manifest();
    expect(Object.keys(m)).toEqual(['v', 'tenant', 'surface', 'current', 'updated_at']);
    expect(m).toMatchObject({ v: 1, tenant: 'demo', surface: 'home' });
    expect(m.updated_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(text.startsWith('{\n  "v": 1,\n  "tenant": "demo",')).toBe(true);
    expect(Object.keys(m.current)).toEqual(['cooc', 'implicit', 'popularity', 'session_seq']);
    const day2 = publishedLines(r.stdout).filter((p) => p.day === DAY2);
    expect(day2).toHaveLength(4);
    for (const p of day2) {
      const uri = m.current[p.type];
      expect(uri).toBe(`file://${sb.blobPath(p.type, p.version)}`);
      expect(existsSync(sb.blobPath(p.type, p.version))).toBe(true);
      const record = JSON.parse(readFileSync(sb.recordPath(p.type, p.version), 'utf8'));
      expect(record).toMatchObject({ artifact_type: p.type, version: p.version, uri });
    }
  });
});
