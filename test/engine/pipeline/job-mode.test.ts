/**
 * Job mode (docs/contract.md §8): ingest → validate → compute (one type each, staged) → publish gives the
 * same versions as `run`; compute stages and never publishes; publish reads what is staged,
 * inspects every row, and names what is missing; --continue-on-error skips a failed day.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config/types';
import type { RunRequest, RunSummary } from '../../../src/engine/pipeline/request';
import { runPipeline } from '../../../src/engine/pipeline/run';
import { artifactHeader, dayWindow } from '../../../src/engine/pipeline/window';
import { encodeArtifact } from '../../../src/io/artifacts/codec';
import type { PipelineError } from '../../../src/errors';
import { isPipelineError } from '../../../src/errors';
import { readStaged, stageArtifact } from '../../../src/io/artifacts/staging';
import { cli, events, publishedLines, sandboxFactory, versionOfUri } from '../../support/cli-harness';
import { SAMPLE_CATALOG, SAMPLE_RAW, tempDir, testConfig } from '../../support/helpers';

const ALL = ['popularity', 'cooc', 'implicit', 'content_sim', 'session_seq'] as const;
const D1 = '2026-01-01';
const D2 = '2026-01-02';
const D3 = '2026-01-03';

const sandbox = sandboxFactory('recsys-job-');

async function failure(p: Promise<unknown>): Promise<PipelineError> {
  try {
    await p;
  } catch (err) {
    if (isPipelineError(err)) return err;
    throw err;
  }
  throw new Error('expected a PipelineError');
}

const base = (config: Config, extra: Partial<RunRequest> = {}): RunRequest => ({
  config,
  tenant: 'demo',
  surface: 'home',
  segment: '',
  start: D1,
  end: D1,
  incremental: false,
  ...extra,
});

describe('job steps through the CLI', () => {
  it('ingest → validate → compute (every type, aliases too) → publish publishes exactly the versions of run', async () => {
    const sb = sandbox();
    const cfg = (name: string) => {
      const out = join(sb.dir, name);
      const file = join(sb.dir, `${name}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          out_dir: out,
          raw_source: { dir: SAMPLE_RAW },
          artifact_kinds: [...ALL],
          catalog: { path: SAMPLE_CATALOG },
          limits: { min_cooc_support: 1, max_neighbors_per_item: 5 },
        }),
      );
      return file;
    };
    const scope = ['--tenant', 'demo', '--surface', 'home', '--segment', 'web', '--start', D1, '--end', D2, '--workers', '1'];
    const run = await cli(['run', '--config', cfg('run'), ...scope]);
    expect(run.code, run.stderr).toBe(0);

    const jobs = cfg('jobs');
    for (const step of [['ingest'], ['validate'], ...['popularity', 'cooc', 'implicit', 'content', 'session'].map((t) => ['compute', '--type', t])]) {
      const r = await cli([...step, '--config', jobs, ...scope]);
      expect(r.code, `${step.join(' ')}: ${r.stderr}`).toBe(0);
      // Nothing is published before the publish step.
      expect(existsSync(join(sb.dir, 'jobs', 'registry')), step.join(' ')).toBe(false);
    }
    const publish = await cli(['publish', '--config', jobs, ...scope]);
    expect(publish.code, publish.stderr).toBe(0);

    const key = (p: { day: string; type: string; version: string }) => `${p.day} ${p.type} ${p.version}`;
    const fromRun = publishedLines(run.stdout).map(key).sort();
    expect(fromRun).toHaveLength(10);
    expect(publishedLines(publish.stdout).map(key).sort()).toEqual(fromRun);

    const current = (name: string) => {
      const m = JSON.parse(readFileSync(join(sb.dir, name, 'registry', 'current', 'demo', 'home', 'manifest.json'), 'utf8'));
      return Object.fromEntries(Object.entries(m.current as Record<string, string>).map(([t, uri]) => [t, versionOfUri(uri)]));
    };
    expect(current('jobs')).toEqual(current('run'));
    expect(Object.keys(current('jobs'))).toHaveLength(5);
  });

  it('compute --type: an unknown type or one outside artifact_kinds is a usage error (exit 2); without --type every type is computed', async () => {
    const sb = sandbox();
    sb.writeDay(D1, events(D1, 10));
    const config = sb.config({ artifact_kinds: ['popularity'] });
    const scope = ['--config', config, '--tenant', 'demo', '--surface', 'home', '--start', D1, '--end', D1];
    expect((await cli(['compute', '--type', 'nope', ...scope])).code).toBe(2);
    expect((await cli(['compute', '--type', 'cooc', ...scope])).code).toBe(2);
    expect((await cli(['ingest', ...scope])).code).toBe(0);
    const all = await cli(['compute', ...scope]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/^\s+2026-01-01\s+popularity\s/m);
  });
});

describe('job steps in process', () => {
  const tmp = tempDir('recsys-job-inproc-');
  afterAll(() => tmp.cleanup());
  const raw = join(tmp.dir, 'raw');
  mkdirSync(join(raw, 'demo', 'home'), { recursive: true });
  const writeDay = (day: string, n: number) => writeFileSync(join(raw, 'demo', 'home', `exposure.${day}.jsonl`), events(day, n).join('\n') + '\n');
  writeDay(D1, 20);
  writeDay(D2, 30); // over max_events_per_run 25 where a test sets it
  writeDay(D3, 25);
  let n = 0;
  const config = (extra: Record<string, unknown> = {}): Config =>
    testConfig(join(tmp.dir, `out${++n}`), { raw_source: { dir: raw }, artifact_kinds: ['popularity', 'cooc'], engine: { workers: 1 }, ...extra });

  it('compute stages with the compute time as built_at and publishes nothing; publish keeps that built_at', async () => {
    const c = config();
    await runPipeline(base(c, { command: 'ingest' }));
    const computedAt = new Date('2026-01-05T10:00:00Z');
    const publishedAt = new Date('2026-01-05T11:30:00Z');
    for (const t of ['popularity', 'cooc'] as const) {
      await runPipeline(base(c, { command: 'compute', types: [t], now: () => computedAt }));
    }
    expect(existsSync(c.registry_dir)).toBe(false);
    expect(existsSync(c.object_store.dir)).toBe(false);
    const staged = await readStaged(c.artifacts_dir, { tenant: 'demo', surface: 'home', segment: '', type: 'cooc', startDay: D1, endDay: D2 });
    expect(JSON.parse(staged!.bytes.toString()).build.built_at).toBe('2026-01-05T10:00:00Z');

    const s = await runPipeline(base(c, { command: 'publish', now: () => publishedAt }));
    expect(s.days[0]?.published.map((p) => p.type)).toEqual(['popularity', 'cooc']);
    const record = JSON.parse(readFileSync(join(c.registry_dir, 'records', 'demo', 'home', 'cooc', `${staged!.version}.json`), 'utf8'));
    expect(record.built_at).toBe('2026-01-05T10:00:00Z');
    expect(record.published_at).toBe('2026-01-05T11:30:00Z');
    const blob = JSON.parse(readFileSync(record.uri.replace('file://', ''), 'utf8'));
    expect(blob.build.built_at).toBe('2026-01-05T10:00:00Z');
    // The publish job counts the rows of a staged blob while it inspects them.
    expect(s.days[0]?.published[1]?.rows).toBe(blob.neighbors.length);
    expect(blob.neighbors.length).toBeGreaterThan(0);
    // publish advances the checkpoint like run does
    expect(JSON.parse(readFileSync(join(c.checkpoint_dir, 'demo', 'home', '_.json'), 'utf8')).last_day).toBe(D1);
  });

  it('publish with a type not staged fails with E_NOT_FOUND naming the file expected; nothing is published', async () => {
    const c = config();
    await runPipeline(base(c, { command: 'ingest' }));
    await runPipeline(base(c, { command: 'compute', types: ['popularity'] }));
    const err = await failure(runPipeline(base(c, { command: 'publish' })));
    expect(err.code).toBe('E_NOT_FOUND');
    expect(err.exitCode).toBe(1);
    expect(err.message).toContain(join(c.artifacts_dir, 'demo', 'home', 'cooc', `${D1}_${D2}`, 'current.version'));
    expect(existsSync(join(c.registry_dir, 'current'))).toBe(false);
  });

  it('publish inspects every row of a staged blob: a negative count with a matching version fails the gate (E_GATE)', async () => {
    const c = config({ artifact_kinds: ['popularity'] });
    // A self-consistent blob (its version is the hash of its payload) that only a row check rejects.
    const header = artifactHeader({ tenant: 'demo', surface: 'home', segment: '' }, dayWindow(D1), 'popularity');
    const bad = encodeArtifact(header, [{ item_id: 'i1', count: -1 }], '2026-01-05T00:00:00Z');
    await stageArtifact(c.artifacts_dir, { tenant: 'demo', surface: 'home', segment: '', type: 'popularity', startDay: D1, endDay: D2 }, bad.version, bad.blob);
    const err = await failure(runPipeline(base(c, { command: 'publish' })));
    expect(err.code).toBe('E_GATE');
    expect(existsSync(join(c.registry_dir, 'current'))).toBe(false);
    // The same blob with a valid count publishes: the failure was the row check.
    const good = encodeArtifact(header, [{ item_id: 'i1', count: 1 }], '2026-01-05T00:00:00Z');
    await stageArtifact(
      c.artifacts_dir,
      { tenant: 'demo', surface: 'home', segment: '', type: 'popularity', startDay: D1, endDay: D2 },
      good.version,
      good.blob,
    );
    const s = await runPipeline(base(c, { command: 'publish' }));
    expect(s.days[0]?.published[0]?.version).toBe(good.version);
  });

  it('validate reads the partition: a day never ingested is E_NOT_INGESTED (not-ingested.test.ts), a hard limit fails with E_LIMIT', async () => {
    const c = config({ limits: { max_events_per_run: 25 } });
    expect((await failure(runPipeline(base(c, { command: 'validate' })))).code).toBe('E_NOT_INGESTED'); // nothing ingested yet
    // Partitions ingested under a looser limit: validate applies the hard limits to them.
    // (ingest itself stops a day as soon as max_events_per_run is crossed.)
    await runPipeline(base({ ...c, limits: { ...c.limits, max_events_per_run: 1000 } }, { command: 'ingest', end: D2 }));
    const err = await failure(runPipeline(base(c, { command: 'validate', end: D2 })));
    expect(err.code).toBe('E_LIMIT');
    const d1 = await runPipeline(base(c, { command: 'validate' }));
    expect(d1.days[0]?.window).toMatchObject({ events: 20, sessions: 3, items: 4, users: 2 });
  });

  describe('a failed day (D2 is over max_events_per_run)', () => {
    const limited = () => config({ limits: { max_events_per_run: 25 } });
    const currentWindow = (c: Config) => {
      const manifest = JSON.parse(readFileSync(join(c.registry_dir, 'current', 'demo', 'home', 'manifest.json'), 'utf8'));
      return JSON.parse(readFileSync(manifest.current.popularity.replace('file://', ''), 'utf8')).window.start as string;
    };
    const checkpoint = (c: Config) => JSON.parse(readFileSync(join(c.checkpoint_dir, 'demo', 'home', '_.json'), 'utf8')).last_day;

    it('stops the run by default: earlier days stay published, later days are not run', async () => {
      const c = limited();
      const err = await failure(runPipeline(base(c, { end: D3 })));
      expect(err.code).toBe('E_LIMIT');
      expect(currentWindow(c)).toBe(`${D1}T00:00:00Z`);
      expect(checkpoint(c)).toBe(D1);
      expect(existsSync(join(c.canonical_dir, 'demo', 'home', 'exposures', `${D3}.arrow`))).toBe(false);
    });

    it('with continueOnError is reported and skipped, later days publish, the checkpoint stays before it', async () => {
      const c = limited();
      const s: RunSummary = await runPipeline(base(c, { end: D3, continueOnError: true }));
      expect(s.failed.map((f) => [f.day, f.stage, f.code])).toEqual([[D2, 'ingest', 'E_LIMIT']]);
      expect(s.days.map((d) => d.day)).toEqual([D1, D3]);
      expect(currentWindow(c)).toBe(`${D3}T00:00:00Z`);
      // --incremental must retry D2: the checkpoint does not move past a failed day.
      expect(checkpoint(c)).toBe(D1);
    });
  });
});
