/**
 * Registry records in the Go tool's shape (docs/contract.md §9) beside ours: parsed into the
 * same model (no size, no sha256, `format: 'go'`), listed with ours, and their blobs checked
 * by recomputing the version (recordedBlobProblem). The Go records are literal text written
 * by hand from §9, not output of our writers.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isPipelineError } from '../../../src/errors';
import { FsRegistry } from '../../../src/io/store/fs/registry';
import type { RegistryRecord } from '../../../src/io/store/registry';
import { recordedBlobProblem } from '../../../src/io/store/registry';
import { parseRecord } from '../../../src/io/store/registry-json';
import { copyGoState, GO_POPULARITY, GO_STATE_FIXTURE } from '../../support/go-state';
import { tempDir } from '../../support/helpers';

const V1 = GO_POPULARITY['2026-06-01'];
const V2 = GO_POPULARITY['2026-06-02'];

const GO_RECORD = `{
  "Key": {
    "Tenant": "acme",
    "Surface": "home",
    "Segment": "default",
    "Type": "popularity"
  },
  "Window": {
    "Start": "2026-06-01T00:00:00Z",
    "End": "2026-06-02T00:00:00Z"
  },
  "Version": "${V1}",
  "URI": "file:///srv/go/objectstore/acme/home/popularity/${V1}.json",
  "BuiltAt": "2026-06-01T03:00:00.123456789Z"
}`;

const blobOf = (version: string) => readFileSync(join(GO_STATE_FIXTURE, 'objectstore', 'acme', 'home', 'popularity', `${version}.json`));

function ioErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isPipelineError(err) && err.code === 'E_IO') return err.message;
    throw err;
  }
  throw new Error('expected an E_IO error');
}

describe('parseRecord: the Go tool record shape', () => {
  it('reads Key/Window/Version/URI/BuiltAt into our model, with no size or sha256', () => {
    const expected: RegistryRecord = {
      v: 1,
      tenant: 'acme',
      surface: 'home',
      segment: 'default',
      artifact_type: 'popularity',
      version: V1,
      uri: `file:///srv/go/objectstore/acme/home/popularity/${V1}.json`,
      window: { start: '2026-06-01T00:00:00Z', end: '2026-06-02T00:00:00Z' },
      built_at: '2026-06-01T03:00:00.123456789Z',
      published_at: '2026-06-01T03:00:00Z',
      size_bytes: null,
      sha256: null,
      format: 'go',
    };
    expect(parseRecord('r.json', GO_RECORD)).toEqual(expected);
  });

  it('an empty Go segment is no segment; windows in another offset are read as UTC seconds', () => {
    const text = GO_RECORD.replace('"Segment": "default"', '"Segment": ""').replace('"2026-06-01T00:00:00Z"', '"2026-06-01T02:00:00+02:00"');
    const r = parseRecord('r.json', text);
    expect(r.segment).toBeUndefined();
    expect(r.window.start).toBe('2026-06-01T00:00:00Z');
  });

  it('a Go record missing a field or with a bad time is an E_IO error naming the file', () => {
    expect(ioErrorOf(() => parseRecord('/reg/r.json', GO_RECORD.replace(/"Version": "[0-9a-f]+",/, '')))).toContain('/reg/r.json');
    expect(ioErrorOf(() => parseRecord('/reg/r.json', GO_RECORD.replace('"BuiltAt": "2026-06-01T03:00:00.123456789Z"', '"BuiltAt": "soon"')))).toContain(
      'Go tool record',
    );
    expect(ioErrorOf(() => parseRecord('/reg/r.json', GO_RECORD.replace('"Type": "popularity"', '"Type": 3')))).toContain('/reg/r.json');
  });

  it('our own records still need size_bytes and sha256', () => {
    const ours = {
      v: 1,
      tenant: 'acme',
      surface: 'home',
      artifact_type: 'popularity',
      version: V1,
      uri: 'file:///x.json',
      window: { start: '2026-06-01T00:00:00Z', end: '2026-06-02T00:00:00Z' },
      built_at: '2026-06-01T03:00:00Z',
      published_at: '2026-06-01T03:00:01Z',
      size_bytes: 10,
      sha256: 'a'.repeat(64),
    };
    expect(parseRecord('r.json', JSON.stringify(ours)).format).toBeUndefined();
    expect(ioErrorOf(() => parseRecord('r.json', JSON.stringify({ ...ours, sha256: null })))).toContain('sha256');
  });
});

describe('recordedBlobProblem', () => {
  const go = parseRecord('r.json', GO_RECORD);

  it('a Go record accepts its blob: the version recomputed from the bytes is the recorded one', () => {
    expect(recordedBlobProblem(go, blobOf(V1))).toBeNull();
  });

  it('a Go record rejects another blob, and a changed count in its own blob', () => {
    expect(recordedBlobProblem(go, blobOf(V2))).toContain(`blob content has version ${V2}`);
    const tampered = Buffer.from(blobOf(V1).toString('utf8').replace('"count": 3', '"count": 4'));
    expect(recordedBlobProblem(go, tampered)).toContain('corrupt');
    expect(recordedBlobProblem(go, Buffer.from('{"not": "an artifact"}'))).toContain('not an artifact');
  });

  it('a blob with only another built_at is the same artifact for a Go record (its version is content-derived)', () => {
    const rebuilt = Buffer.from(blobOf(V1).toString('utf8').replace('"built_at": "2026-06-02T03:00:00Z"', '"built_at": "2026-07-01T00:00:00Z"'));
    expect(rebuilt.equals(blobOf(V1))).toBe(false);
    expect(recordedBlobProblem(go, rebuilt)).toBeNull();
  });

  it('our records are checked by size and sha256 of the stored bytes', () => {
    const blob = blobOf(V1);
    const ours: RegistryRecord = { ...go, format: undefined, size_bytes: blob.length, sha256: createHash('sha256').update(blob).digest('hex') };
    expect(recordedBlobProblem(ours, blob)).toBeNull();
    expect(recordedBlobProblem({ ...ours, size_bytes: blob.length + 1 }, blob)).toContain(`blob has ${blob.length} bytes`);
    expect(recordedBlobProblem({ ...ours, sha256: '0'.repeat(64) }, blob)).toContain('sha256');
  });
});

describe('FsRegistry over a registry_dir the Go tool wrote', () => {
  const tmp = tempDir('recsys-go-registry-');
  afterAll(() => tmp.cleanup());
  copyGoState(tmp.dir);
  const registry = new FsRegistry(join(tmp.dir, 'registry'));

  it('lists the Go records oldest build first, and reads one by version', async () => {
    const records = await registry.listRecords('acme', 'home');
    expect(records.map((r) => [r.version, r.published_at, r.format])).toEqual([
      [V1, '2026-06-02T03:00:00Z', 'go'],
      [V2, '2026-06-03T03:00:01Z', 'go'],
    ]);
    const r = await registry.readRecord('acme', 'home', 'popularity', V2);
    expect(r?.uri).toBe(`file://${tmp.dir}/objectstore/acme/home/popularity/${V2}.json`);
  });

  it('reads the Go manifest (the §6 shape) unchanged', async () => {
    const m = await registry.readManifest('acme', 'home');
    expect(m?.current).toEqual({ popularity: `file://${tmp.dir}/objectstore/acme/home/popularity/${V2}.json` });
  });

  it('a record of ours written for a version the Go tool recorded keeps the Go record (append-only)', async () => {
    const go = await registry.readRecord('acme', 'home', 'popularity', V1);
    expect(await registry.writeRecord({ ...(go as RegistryRecord), format: undefined, size_bytes: 1, sha256: 'b'.repeat(64) })).toBe('exists');
    expect((await registry.readRecord('acme', 'home', 'popularity', V1))?.format).toBe('go');
  });
});
