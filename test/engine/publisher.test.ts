/**
 * The publisher's stored-blob bookkeeping (src/engine/publisher.ts): a registry record names
 * the SHA-256 and size of the blob the object store holds under its version, whichever way
 * the blob got there (hard link of the staged file, copy, or an earlier run's blob kept).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { publishDay, type PreparedArtifact } from '../../src/engine/publisher';
import { type ArtifactHeader, encodeArtifactToFile } from '../../src/io/artifacts/codec';
import { stageDir } from '../../src/io/artifacts/staging';
import { FsRegistry } from '../../src/io/store/fs/registry';
import { must, tempDir, testConfig } from '../support/helpers';

const tmp = tempDir('recsys-publisher-');
afterAll(() => tmp.cleanup());

const DAY = '2026-01-01';
const header: ArtifactHeader = {
  artifactType: 'popularity',
  payloadField: 'items',
  tenant: 'demo',
  surface: 'home',
  segment: '',
  window: { start: `${DAY}T00:00:00Z`, end: '2026-01-02T00:00:00Z' },
};
const payload = [
  { item_id: 'a', count: 3 },
  { item_id: 'b', count: 1 },
];

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('publishDay of a staged blob (run: encoded on a worker, stored by hard link)', () => {
  it('records the stored bytes when another run re-staged the same version with another built_at before the link', async () => {
    const config = testConfig(join(tmp.dir, 'restaged'), { raw_source: { type: 'fs', dir: tmp.dir }, artifact_kinds: ['popularity'] });
    const dir = stageDir(config.artifacts_dir, { tenant: 'demo', surface: 'home', segment: '', type: 'popularity', startDay: DAY, endDay: DAY });
    // This run encodes and stages its blob…
    const ours = encodeArtifactToFile(header, payload, '2026-01-02T03:04:05Z', dir);
    // …then another run of the same window stages the same version, one second later, under
    // the same name (a new file renamed over it), before this run publishes.
    const theirs = encodeArtifactToFile(header, payload, '2026-01-02T03:04:06Z', dir);
    expect(theirs.path).toBe(ours.path);
    expect(theirs.sha256).not.toBe(ours.sha256);

    const prepared: PreparedArtifact = {
      expect: { ...header, version: ours.version, maxRows: 10, maxItemsPerRow: Infinity, sha256: ours.sha256 },
      blob: { path: ours.path, size: ours.size },
      builtAt: '2026-01-02T03:04:05Z',
      rows: 'skip',
      rowCount: 2,
    };
    const published = must((await publishDay(config, 'demo', 'home', [prepared], () => new Date('2026-01-02T04:00:00Z')))[0]);

    const stored = readFileSync(published.uri.slice('file://'.length));
    const record = must((await new FsRegistry(config.registry_dir).listRecords('demo', 'home'))[0]);
    expect(record.version).toBe(ours.version);
    expect({ sha256: record.sha256, size: record.size_bytes }).toEqual({ sha256: sha256(stored), size: stored.length });
    expect(published.bytes).toBe(stored.length);
  });

  it('keeps the fast path when the staged file is the one this run encoded', async () => {
    const config = testConfig(join(tmp.dir, 'own'), { raw_source: { type: 'fs', dir: tmp.dir }, artifact_kinds: ['popularity'] });
    const dir = stageDir(config.artifacts_dir, { tenant: 'demo', surface: 'home', segment: '', type: 'popularity', startDay: DAY, endDay: DAY });
    const ours = encodeArtifactToFile(header, payload, '2026-01-02T03:04:05Z', dir);
    const prepared: PreparedArtifact = {
      expect: { ...header, version: ours.version, maxRows: 10, maxItemsPerRow: Infinity, sha256: ours.sha256 },
      blob: { path: ours.path, size: ours.size },
      builtAt: '2026-01-02T03:04:05Z',
      rows: 'skip',
      rowCount: 2,
    };
    const published = must((await publishDay(config, 'demo', 'home', [prepared], () => new Date('2026-01-02T04:00:00Z')))[0]);
    const stored = readFileSync(published.uri.slice('file://'.length));
    const record = must((await new FsRegistry(config.registry_dir).listRecords('demo', 'home'))[0]);
    expect(record.sha256).toBe(ours.sha256);
    expect(sha256(stored)).toBe(ours.sha256);
  });
});
