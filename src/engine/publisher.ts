/**
 * The single writer that commits one day's artifacts (docs/contract.md §6), holding the
 * (tenant, surface) publisher lock for the whole day:
 *   write every blob → re-read and validate it → write its registry record → swap the
 *   manifest last.
 * A failure before the swap leaves the previous manifest untouched; blobs and records
 * already written are immutable and harmless (nothing points at them yet).
 */
import { open, readFile, stat } from 'node:fs/promises';
import { ioError } from '../errors';
import { objectKey } from '../io/store/object-store';
import type { ObjectStore } from '../io/store/object-store';
import type { RegistryRecord } from '../io/store/registry';
import { withPublisherLock } from '../io/store/lock';
import { openStorage } from '../io/store/open';
import { blobEnvelope, sha256Hex } from '../io/artifacts/codec';
import { rfc3339Seconds } from '../days';
import type { Config } from '../config/types';
import type { BlobExpectation } from './gates';
import { checkArtifactBlob } from './gates';
import { faultPoint } from './faults';
import { removeStalePublishTemps } from './pipeline/cleanup';
import { driftGate, type DriftAllowances, type DriftFigures } from './drift';

export interface PreparedArtifact {
  expect: BlobExpectation;
  /** The blob in memory, or (large artifacts encoded on a worker) the file it was staged to. */
  blob: Uint8Array | { path: string; size: number };
  builtAt: string;
  /** 'skip' when the rows were already checked on the typed arrays (run); 'inspect' for staged blobs. */
  rows: 'inspect' | 'skip';
  /** Rows of the payload when this run computed it; null for a staged blob (the 'inspect' check counts them). */
  rowCount: number | null;
}

export interface PublishedArtifact {
  type: string;
  version: string;
  uri: string;
  bytes: number;
  /** Rows of the payload (items, neighbour rows or users). */
  rows: number;
  /** How it compares with the artifact it replaced (the drift gate's figures). */
  drift: DriftFigures;
}

export async function publishDay(
  config: Config,
  tenant: string,
  surface: string,
  artifacts: PreparedArtifact[],
  now: () => Date,
  /** Runs after the manifest swap, still under the lock (the checkpoint: two runs cannot move it backwards). */
  afterSwap?: () => Promise<void>,
  /** What lifts the drift gate for this publish; default: nothing but `gates.allow_empty`. */
  allow: DriftAllowances = { drift: false, empty: config.gates.allow_empty },
  /** Where a notice goes (a lock left behind by a dead publisher, taken over). */
  notice?: (message: string) => void,
): Promise<PublishedArtifact[]> {
  const { store, registry } = openStorage(config);
  return withPublisherLock(registry, tenant, surface, { onTakeOver: notice }, async () => {
    await removeStalePublishTemps(
      config,
      tenant,
      surface,
      artifacts.map((a) => a.expect),
    );
    // Before anything is written: a blocked publish leaves no blob, record or manifest change.
    const figures = await driftGate(
      config,
      store,
      await registry.readManifest(tenant, surface),
      artifacts.map((a) => ({ type: a.expect.artifactType, version: a.expect.version, source: a.blob })),
      allow,
    );
    const published: Array<PublishedArtifact & { record: RegistryRecord }> = [];
    for (const [i, a] of artifacts.entries()) {
      const { expect } = a;
      const key = objectKey(tenant, surface, expect.artifactType, expect.version);
      let uri: string;
      let size: number;
      let storedSha256: string;
      let inspectedRows: number | null;
      const linked = await linkStaged(store, key, a);
      if (linked) {
        ({ uri, size, sha256: storedSha256 } = linked);
        faultPoint('after-blob-write');
        inspectedRows = checkArtifactBlob(linked.envelope, expect, a.rows, storedSha256);
      } else {
        const bytes = a.blob instanceof Uint8Array ? a.blob : await readBlob(a.blob.path);
        ({ uri } = await store.put(key, bytes));
        faultPoint('after-blob-write');
        const stored = await store.get(uri);
        storedSha256 = sha256Hex(stored);
        size = stored.length;
        inspectedRows = checkArtifactBlob(stored, expect, a.rows, storedSha256);
      }
      published.push({
        type: expect.artifactType,
        version: expect.version,
        uri,
        bytes: size,
        rows: a.rowCount ?? inspectedRows ?? 0,
        drift: figures[i],
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
          size_bytes: size,
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
    return published.map(({ type, version, uri, bytes, rows, drift }) => ({ type, version, uri, bytes, rows, drift }));
  });
}

async function readBlob(file: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (err) {
    throw ioError('read staged artifact', file, err);
  }
}

/**
 * A blob the encoder streamed into its staging file (`run`), stored by hard link instead of
 * a copy (FsObjectStore.putFile). The stored blob is then the file the staging name held,
 * and its SHA-256 is the one the encoder computed over the bytes it wrote (`expect.sha256`),
 * not re-read, when that file is the encoder's: checked by identity (same device and inode as
 * the staging name, same size) and by the build time in the stored blob (see below). Also
 * returns the blob's envelope (its ends, for the gate). Null when this path does not apply
 * (bytes in memory, staged blobs to inspect, a store without links, an existing key, a file
 * another run staged): the caller copies (or keeps the existing blob), reads back and hashes.
 */
async function linkStaged(
  store: ObjectStore,
  key: string,
  a: PreparedArtifact,
): Promise<{ uri: string; path: string; size: number; sha256: string; envelope: Uint8Array } | null> {
  const { sha256 } = a.expect;
  if (a.blob instanceof Uint8Array || a.rows !== 'skip' || sha256 === undefined || !store.putFile) return null;
  const staged = a.blob.path;
  const linked = await store.putFile(key, staged);
  if (!linked) return null;
  const stored = linked.path;
  const [s, t] = await Promise.all([stat(staged), stat(stored)]).catch((err) => {
    throw ioError('stat', stored, err);
  });
  if (s.ino !== t.ino || s.dev !== t.dev || t.size !== a.blob.size) return null;
  // The staging name is shared by every run of the window: another run may have staged the
  // same version, with its own build time, under it after this run's encoder wrote it (a
  // rename, so a new inode), and the link then stored that run's file. Same version and same
  // build time mean the same bytes (the encoding is a function of both), so the encoder's
  // SHA-256 holds only when the stored blob carries this run's build time; otherwise the
  // caller hashes what was stored.
  const envelope = await readEnvelope(stored, t.size);
  const build = blobEnvelope(envelope, a.expect.payloadField)?.build;
  if (build?.built_at !== a.builtAt) return null;
  return { uri: linked.uri, path: stored, size: t.size, sha256, envelope };
}

/** Bytes read from each end of a linked blob: its header and build, around the payload. */
const ENVELOPE_BYTES = 64 << 10;

/**
 * The stored blob with its payload left out: the first and last ENVELOPE_BYTES (the whole
 * blob when it is smaller). Enough for the gate's check of a trusted blob, which reads only
 * the header before the payload field and the build after it (blobEnvelope).
 */
async function readEnvelope(file: string, size: number): Promise<Uint8Array> {
  if (size <= 2 * ENVELOPE_BYTES) return readBlob(file);
  const handle = await open(file, 'r').catch((err) => {
    throw ioError('read', file, err);
  });
  try {
    const out = Buffer.alloc(2 * ENVELOPE_BYTES);
    await handle.read(out, 0, ENVELOPE_BYTES, 0);
    await handle.read(out, ENVELOPE_BYTES, ENVELOPE_BYTES, size - ENVELOPE_BYTES);
    return out;
  } catch (err) {
    throw ioError('read', file, err);
  } finally {
    await handle.close();
  }
}
