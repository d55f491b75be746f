/**
 * The single writer that commits one day's artifacts (SPEC §6), holding the
 * (tenant, surface) publisher lock for the whole day:
 *   write every blob → re-read and validate it → write its registry record → swap the
 *   manifest last.
 * A failure before the swap leaves the previous manifest untouched; blobs and records
 * already written are immutable and harmless (nothing points at them yet).
 */
import { readFile } from 'node:fs/promises';
import { ioError } from '../errors';
import { objectKey } from '../io/object-store';
import type { RegistryRecord } from '../io/registry';
import { openStorage } from '../io/storage';
import { sha256Hex } from '../io/artifact-codec';
import { rfc3339Seconds } from '../days';
import type { Config } from '../config';
import { BlobExpectation, checkArtifactBlob } from './gates';
import { faultPoint } from './faults';
import { removeStalePublishTemps } from './cleanup';

export interface PreparedArtifact {
  expect: BlobExpectation;
  /** The blob in memory, or (large artifacts encoded on a worker) the file it was staged to. */
  blob: Uint8Array | { path: string; size: number };
  builtAt: string;
  /** 'skip' when the rows were already checked on the typed arrays (run); 'inspect' for staged blobs. */
  rows: 'inspect' | 'skip';
}

export interface PublishedArtifact {
  type: string;
  version: string;
  uri: string;
  bytes: number;
}

export async function publishDay(
  config: Config,
  tenant: string,
  surface: string,
  artifacts: PreparedArtifact[],
  now: () => Date,
  /** Runs after the manifest swap, still under the lock (the checkpoint: two runs cannot move it backwards). */
  afterSwap?: () => Promise<void>,
): Promise<PublishedArtifact[]> {
  const { store, registry } = openStorage(config);
  const release = await registry.acquireLock(tenant, surface);
  let failed = false;
  try {
    await removeStalePublishTemps(config, tenant, surface, artifacts.map((a) => a.expect));
    const published: Array<PublishedArtifact & { record: RegistryRecord }> = [];
    for (const a of artifacts) {
      const { expect } = a;
      const bytes = a.blob instanceof Uint8Array ? a.blob : await readBlob(a.blob.path);
      const { uri } = await store.put(objectKey(tenant, surface, expect.artifactType, expect.version), bytes);
      faultPoint('after-blob-write');
      const stored = await store.get(uri);
      const storedSha256 = sha256Hex(stored);
      checkArtifactBlob(stored, expect, a.rows, storedSha256);
      published.push({
        type: expect.artifactType,
        version: expect.version,
        uri,
        bytes: stored.length,
        record: {
          v: 1,
          tenant,
          surface,
          segment: expect.segment === '' ? undefined : expect.segment,
          artifact_type: expect.artifactType,
          version: expect.version,
          uri,
          window: expect.window,
          built_at: a.builtAt,
          published_at: rfc3339Seconds(now().getTime()),
          size_bytes: stored.length,
          sha256: storedSha256,
        },
      });
    }
    for (const p of published) await registry.writeRecord(p.record);
    faultPoint('after-record-write');
    const updates = Object.fromEntries(published.map((p) => [p.type, p.uri]));
    if (published.length > 0) await registry.swapManifest(tenant, surface, updates, now());
    faultPoint('after-manifest-swap');
    await afterSwap?.();
    return published.map(({ type, version, uri, bytes }) => ({ type, version, uri, bytes }));
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    // When the day failed, its own error is the one to report, not a failed release (an
    // object store that went away fails both).
    await release().catch((err: unknown) => {
      if (!failed) throw err;
    });
  }
}

async function readBlob(file: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (err) {
    throw ioError('read staged artifact', file, err);
  }
}
