/**
 * Rollback (docs/contract.md §6): `current.<type>` back to an older, still-present, still-valid blob,
 * atomically, only that type, with an audit entry; anything wrong with the target leaves
 * the manifest byte-identical. `history` lists manifests, records and audit entries.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config/types';
import { readHistory } from '../../../src/engine/ops/history';
import type { RollbackRequest } from '../../../src/engine/ops/rollback';
import { currentUser, rollback, versionOfUri } from '../../../src/engine/ops/rollback';
import { runPipeline } from '../../../src/engine/pipeline/run';
import type { PipelineError } from '../../../src/errors';
import { isPipelineError } from '../../../src/errors';
import { FsRegistry } from '../../../src/io/store/fs/registry';
import { cli, events } from '../../support/cli-harness';
import { must, tempDir, testConfig } from '../../support/helpers';

const DAYS = ['2026-01-01', '2026-01-02', '2026-01-03'];
const NOW = new Date('2026-01-04T06:00:00Z');
const LATER = new Date('2026-01-04T09:30:00Z');

async function failure(p: Promise<unknown>): Promise<PipelineError> {
  try {
    await p;
  } catch (err) {
    if (isPipelineError(err)) return err;
    throw err;
  }
  throw new Error('expected a PipelineError');
}

describe('rollback', () => {
  const tmp = tempDir('recsys-rollback-');
  const raw = join(tmp.dir, 'raw');
  const out = join(tmp.dir, 'out');
  const configPath = join(tmp.dir, 'config.json');
  let config: Config;
  /** versions[type][dayIndex] */
  const versions = { popularity: [] as string[], cooc: [] as string[] };
  let published: string; // the manifest after the three published days
  const registry = () => new FsRegistry(config.registry_dir);
  const manifestText = () => readFileSync(registry().manifestPath('demo', 'home'), 'utf8');
  // Both types are published on every day (beforeAll), so `current` holds both.
  const manifest = () => JSON.parse(manifestText()) as { current: Record<'popularity' | 'cooc', string>; updated_at: string };
  const req = (extra: Partial<RollbackRequest>): RollbackRequest => ({
    config,
    tenant: 'demo',
    surface: 'home',
    type: 'cooc',
    now: () => LATER,
    user: 'alice',
    host: 'ops-1',
    ...extra,
  });

  beforeAll(async () => {
    mkdirSync(join(raw, 'demo', 'home'), { recursive: true });
    DAYS.forEach((day, i) => writeFileSync(join(raw, 'demo', 'home', `exposure.${day}.jsonl`), events(day, 20 + 10 * i).join('\n') + '\n'));
    const input = { raw_source: { dir: raw }, artifact_kinds: ['popularity', 'cooc'] as const, limits: { min_cooc_support: 1 }, engine: { workers: 1 } };
    config = testConfig(out, { ...input, artifact_kinds: [...input.artifact_kinds] });
    writeFileSync(configPath, JSON.stringify({ out_dir: out, ...input }));
    const s = await runPipeline({ config, tenant: 'demo', surface: 'home', segment: '', start: DAYS[0], end: DAYS[2], incremental: false, now: () => NOW });
    for (const d of s.days) for (const p of d.published) if (p.type === 'popularity' || p.type === 'cooc') versions[p.type].push(p.version);
    published = manifestText();
  });
  afterAll(() => tmp.cleanup());

  /** Every test starts from the manifest of the three published days. */
  beforeEach(() => writeFileSync(registry().manifestPath('demo', 'home'), published));

  it('the three days published different versions', () => {
    for (const t of ['popularity', 'cooc'] as const) expect(new Set(versions[t]).size).toBe(3);
  });

  it('--previous points only that type at the version current before, atomically, with an audit entry', async () => {
    const auditBefore = (await registry().listAudit('demo', 'home')).length;
    const r = await rollback(req({ previous: true }));
    expect(r.changed).toBe(true);
    expect(r.version).toBe(versions.cooc[1]);
    const m = manifest();
    expect(versionOfUri(m.current.cooc)).toBe(versions.cooc[1]);
    expect(versionOfUri(m.current.popularity)).toBe(versions.popularity[2]); // untouched
    expect(m.updated_at).toBe('2026-01-04T09:30:00Z');
    const audit = await registry().listAudit('demo', 'home');
    expect(audit).toHaveLength(auditBefore + 1);
    expect(audit[audit.length - 1]).toEqual({
      at: '2026-01-04T09:30:00Z',
      action: 'rollback',
      type: 'cooc',
      from: JSON.parse(published).current.cooc,
      to: m.current.cooc,
      user: 'alice',
      host: 'ops-1',
    });
    // the replaced manifest went to the history
    const history = await registry().listHistory('demo', 'home');
    expect(history.at(-1)?.manifest.current.cooc).toBe(JSON.parse(published).current.cooc);
  });

  it('--version points at any recorded version; the same version again changes nothing', async () => {
    const r = await rollback(req({ version: versions.cooc[0] }));
    expect(r.changed).toBe(true);
    expect(versionOfUri(manifest().current.cooc)).toBe(versions.cooc[0]);
    const again = manifest();
    const auditCount = (await registry().listAudit('demo', 'home')).length;
    const same = await rollback(req({ version: versions.cooc[0] }));
    expect(same.changed).toBe(false);
    expect(manifest()).toEqual(again);
    expect(await registry().listAudit('demo', 'home')).toHaveLength(auditCount);
  });

  it('a version of another type has no record for this type: E_NOT_FOUND, manifest untouched', async () => {
    const err = await failure(rollback(req({ version: versions.popularity[0] })));
    expect(err.code).toBe('E_NOT_FOUND');
    expect(err.message).toContain(versions.popularity[0]);
    expect(manifestText()).toBe(published);
  });

  it('a target whose blob is corrupt fails the gate (E_GATE); one whose blob is gone is E_NOT_FOUND; manifest untouched', async () => {
    const blobOf = (v: string) => join(config.object_store.dir, 'demo', 'home', 'cooc', `${v}.json`);
    const corrupt = blobOf(must(versions.cooc[0]));
    const original = readFileSync(corrupt);
    try {
      writeFileSync(
        corrupt,
        original.toString().replace(/"count": (\d+)/, (_, n) => `"count": ${Number(n) + 1}`),
      );
      const err = await failure(rollback(req({ version: versions.cooc[0] })));
      expect(err.code).toBe('E_GATE');
      expect(manifestText()).toBe(published);

      rmSync(corrupt);
      const gone = await failure(rollback(req({ version: versions.cooc[0] })));
      expect(gone.code).toBe('E_NOT_FOUND');
      expect(gone.message).toContain(versions.cooc[0]);
      expect(manifestText()).toBe(published);
    } finally {
      writeFileSync(corrupt, original);
    }
  });

  it('waits for no one: another publisher holding the lock is E_LOCKED', async () => {
    const release = await registry().acquireLock('demo', 'home');
    try {
      // The lock belongs to this live process, so it is not stale.
      expect((await failure(rollback(req({ previous: true })))).code).toBe('E_LOCKED');
    } finally {
      await release();
    }
    expect(manifestText()).toBe(published);
  });

  it('needs exactly one of version and previous (E_USAGE, exit 2)', async () => {
    for (const extra of [{}, { previous: true, version: versions.cooc[0] }]) {
      const err = await failure(rollback(req(extra)));
      expect(err.code).toBe('E_USAGE');
      expect(err.exitCode).toBe(2);
    }
  });

  it('--previous without an earlier version of the type is E_NOT_FOUND', async () => {
    const other = testConfig(join(tmp.dir, 'single'), { raw_source: { dir: raw }, artifact_kinds: ['popularity'], engine: { workers: 1 } });
    await runPipeline({ config: other, tenant: 'demo', surface: 'home', segment: '', start: DAYS[0], end: DAYS[0], incremental: false });
    const err = await failure(rollback({ ...req({ previous: true, type: 'popularity' }), config: other }));
    expect(err.code).toBe('E_NOT_FOUND');
    // and without any manifest at all
    const none = testConfig(join(tmp.dir, 'none'), { raw_source: { dir: raw } });
    expect((await failure(rollback({ ...req({ previous: true }), config: none }))).code).toBe('E_NOT_FOUND');
  });

  it('history lists past manifests, the current one, records and audit entries, filtered by --type', async () => {
    await rollback(req({ previous: true }));
    const h = await readHistory(config, 'demo', 'home', 'cooc');
    // one fixed clock for every day: records tie on published_at and are ordered by version
    expect(h.records.map((r) => r.version)).toEqual([...versions.cooc].sort());
    expect(h.records.every((r) => r.artifact_type === 'cooc')).toBe(true);
    expect(h.current?.current).toEqual({ cooc: manifest().current.cooc });
    expect(h.history.length).toBeGreaterThanOrEqual(3);
    expect(h.history.every((e) => Object.keys(e.manifest.current).every((t) => t === 'cooc'))).toBe(true);
    expect(h.audit.length).toBeGreaterThan(0);
    expect(h.audit.every((a) => a.type === 'cooc')).toBe(true);
    const all = await readHistory(config, 'demo', 'home');
    expect(all.records).toHaveLength(6);
  });

  it('the audit names the user from USER, else LOGNAME', () => {
    expect(currentUser({ USER: 'bob', LOGNAME: 'carol' })).toBe('bob');
    expect(currentUser({ LOGNAME: 'carol' })).toBe('carol');
    expect(currentUser({}).length).toBeGreaterThan(0);
  });

  it('through the CLI: exit 0 with the audit naming $USER and this host, 1 for an unknown version, 2 for a bad --type', async () => {
    const scope = ['--config', configPath, '--tenant', 'demo', '--surface', 'home'];
    const ok = await cli(['rollback', ...scope, '--type', 'cooc', '--version', must(versions.cooc[1]), '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    const result = JSON.parse(ok.stdout);
    expect(result.changed).toBe(true);
    const entry = JSON.parse(readFileSync(result.audit, 'utf8'));
    expect(entry.user).toBe(process.env.USER || process.env.LOGNAME || entry.user);
    expect(entry.host).toBe(hostname());
    expect(versionOfUri(manifest().current.cooc)).toBe(versions.cooc[1]);

    const before = manifestText();
    expect((await cli(['rollback', ...scope, '--type', 'cooc', '--version', 'f'.repeat(64)])).code).toBe(1);
    expect((await cli(['rollback', ...scope, '--type', 'bogus', '--previous'])).code).toBe(2);
    expect((await cli(['rollback', ...scope, '--type', 'cooc'])).code).toBe(2);
    expect(manifestText()).toBe(before);

    const history = await cli(['history', ...scope, '--type', 'cooc', '--json']);
    expect(history.code, history.stderr).toBe(0);
    const h = JSON.parse(history.stdout);
    expect(h.audit[h.audit.length - 1].to).toBe(manifest().current.cooc);
    expect((await cli(['history', ...scope])).code).toBe(0);
  });
});
