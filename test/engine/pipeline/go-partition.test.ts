/**
 * The Go tool's canonical JSONL partitions (docs/contract.md §9): job-mode validate/compute and
 * rolling windows read them where no partition of ours exists, and the versions computed
 * from a Go partition equal those computed from the same events ingested by us (and, for
 * popularity, the versions of the Go tool's own blobs, computed outside this project). Ours
 * win where both exist. The Go partitions are literal files written by hand
 * (test/fixtures/go-state/state/canonical).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../../support/cli-harness';
import { copyGoState, GO_POPULARITY, GO_STATE_FIXTURE } from '../../support/go-state';
import { tempDir } from '../../support/helpers';

const TYPES = ['popularity', 'cooc', 'implicit', 'session_seq'] as const;
const D1 = '2026-06-01';
const D2 = '2026-06-02';
const D3 = '2026-06-03';
const GO_EXPOSURES = join(GO_STATE_FIXTURE, 'canonical', 'acme', 'home', 'exposures');

const cleanups: Array<() => void> = [];
afterAll(() => cleanups.forEach((c) => c()));

/** A folder with the Go state (or none), a raw folder and a config over both. */
function setup(opts: { goState: boolean; windowDays?: number }) {
  const tmp = tempDir('recsys-go-partition-');
  cleanups.push(tmp.cleanup);
  if (opts.goState) copyGoState(tmp.dir);
  const raw = join(tmp.dir, 'raw');
  mkdirSync(join(raw, 'acme', 'home'), { recursive: true });
  const config = join(tmp.dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      out_dir: tmp.dir,
      raw_events_dir: raw,
      registry_dir: join(tmp.dir, 'registry'),
      object_store_dir: join(tmp.dir, 'objectstore'),
      artifact_kinds: [...TYPES],
      window_days: opts.windowDays ?? 1,
      limits: { min_cooc_support: 1 },
    }),
  );
  const exposures = join(tmp.dir, 'canonical', 'acme', 'home', 'exposures');
  const job = (step: string[], start: string, end = start) =>
    cli([...step, '--config', config, '--tenant', 'acme', '--surface', 'home', '--start', start, '--end', end, '--workers', '1']);
  /** The staged version of each type for the window ending on `day`. */
  const staged = (day: string, startDay = day) =>
    Object.fromEntries(
      TYPES.map((t) => {
        const end = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
        return [t, readFileSync(join(tmp.dir, 'artifacts', 'acme', 'home', t, `${startDay}_${end}`, 'current.version'), 'utf8').trim()];
      }),
    );
  const writeRaw = (day: string, text: string) => writeFileSync(join(raw, 'acme', 'home', `exposure.${day}.jsonl`), text);
  return { dir: tmp.dir, config, exposures, job, staged, writeRaw };
}

const goLines = (day: string) => readFileSync(join(GO_EXPOSURES, `${day}.jsonl`), 'utf8');

describe('Go canonical partitions', () => {
  it('validate and compute read them: every version equals the one from the same events ingested by us; popularity equals the Go blobs', async () => {
    const go = setup({ goState: true });
    const v = await go.job(['validate'], D1, D2);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toContain(`reading the Go tool's canonical partition ${join(go.exposures, `${D1}.jsonl`)}`);
    expect(v.stderr).toContain(`${D1} validate 5 events 3 sessions 3 items 2 users`);
    expect(v.stderr).toContain(`${D2} validate 3 events 2 sessions 2 items 1 users`);
    const c = await go.job(['compute'], D1, D2);
    expect(c.code, c.stderr).toBe(0);

    // The same events as raw input, through our ingest.
    const ours = setup({ goState: false });
    for (const day of [D1, D2]) ours.writeRaw(day, goLines(day));
    for (const step of [['ingest'], ['compute']]) {
      const r = await ours.job(step, D1, D2);
      expect(r.code, r.stderr).toBe(0);
    }
    for (const day of [D1, D2]) {
      expect(go.staged(day)).toEqual(ours.staged(day));
      expect(go.staged(day).popularity).toBe(GO_POPULARITY[day as keyof typeof GO_POPULARITY]);
    }
    expect(new Set(TYPES.map((t) => go.staged(D1)[t])).size).toBe(TYPES.length);
  });

  it('ours win where both exist: our partition, and our ingest record of a day without events', async () => {
    const go = setup({ goState: true });
    go.writeRaw(D1, goLines(D2).replaceAll(D2, D1)); // other events for D1
    go.writeRaw(D2, ''); // D2 empty now
    const r = await go.job(['ingest'], D1, D2);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(go.exposures, `${D1}.jsonl`))).toBe(true); // the Go files are left as they are
    const v = await go.job(['validate'], D1, D2);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).not.toContain('Go tool');
    expect(v.stderr).toContain(`${D1} validate 3 events`);
    expect(v.stderr).toContain(`${D2} validate 0 events`);
  });

  it('a rolling window reads Go days before a day of ours; a Go day counts as ingested', async () => {
    const go = setup({ goState: true, windowDays: 3 });
    go.writeRaw(D3, '{"v":1,"ts":"2026-06-03T10:00:00Z","tenant":"acme","surface":"home","session_id":"s9","item_id":"i1"}\n');
    expect((await go.job(['ingest'], D3)).code).toBe(0);
    const c = await go.job(['compute'], D3);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).toContain(`${D3} validate 9 events`);

    // Reference: all three days as raw input through our ingest.
    const ours = setup({ goState: false, windowDays: 3 });
    ours.writeRaw(D1, goLines(D1));
    ours.writeRaw(D2, goLines(D2));
    ours.writeRaw(D3, readFileSync(join(go.dir, 'raw', 'acme', 'home', `exposure.${D3}.jsonl`), 'utf8'));
    expect((await ours.job(['ingest'], D1, D3)).code).toBe(0);
    expect((await ours.job(['compute'], D3)).code).toBe(0);
    expect(go.staged(D3, D1)).toEqual(ours.staged(D3, D1));

    // Without the Go file of D1, D1 is not ingested, and the message says a Go day may have been empty.
    rmSync(join(go.exposures, `${D1}.jsonl`));
    const missing = await go.job(['compute'], D3);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`not ingested: ${D1}`);
    expect(missing.stderr).toContain('The Go tool left no partition file');
  });

  it('events of other tenants in a Go partition are skipped (the Go tool kept them), with the same versions', async () => {
    const go = setup({ goState: true });
    const path = join(go.exposures, `${D1}.jsonl`);
    writeFileSync(path, goLines(D1) + '{"v":1,"ts":"2026-06-01T10:00:00Z","tenant":"other","surface":"home","session_id":"x","item_id":"i9"}\n');
    const c = await go.job(['compute'], D1);
    expect(c.code, c.stderr).toBe(0);
    expect(go.staged(D1).popularity).toBe(GO_POPULARITY[D1]);
  });

  it('a bad line in a Go partition fails the day naming the file and line, nothing staged', async () => {
    const go = setup({ goState: true });
    const path = join(go.exposures, `${D1}.jsonl`);
    const lines = goLines(D1).split('\n');
    lines[2] = lines[2]!.replace('"session_id":"s2",', '');
    writeFileSync(path, lines.join('\n'));
    const r = await go.job(['compute'], D1);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${path}:3`);
    expect(r.stderr).toContain('session_id');
    expect(existsSync(join(go.dir, 'artifacts'))).toBe(false);
  });

  it('the fixture partitions are in the Go field order (v, ts, tenant, surface, user_id?, session_id, request_id?, item_id, rank?)', () => {
    const order = ['v', 'ts', 'tenant', 'surface', 'user_id', 'session_id', 'request_id', 'item_id', 'rank'];
    for (const day of [D1, D2]) {
      for (const line of goLines(day).trim().split('\n')) {
        const keys = Object.keys(JSON.parse(line) as object);
        expect(keys).toEqual(order.filter((k) => keys.includes(k)));
      }
    }
  });
});
