/**
 * The compute stage: every selected artifact type's compute step (src/engine/artifact-types)
 * over one validated window, each artifact encoded, then staged.
 *
 * Everything goes to the pool at once (the id quoting, every type's kernel tasks, each
 * type's encode as soon as its payload is ready), so no worker idles while one type
 * finishes. This thread does no long work meanwhile: it must stay free to hand the next task
 * to whichever worker finishes.
 */
import { artifactType, type AnyArtifactTypeDef, type ArtifactType } from '../artifact-types';
import type { ComputeContext } from '../artifact-types/artifact-type';
import { encodeArtifact, type ArtifactHeader, type EncodedArtifact, type FileArtifact, type TypedPayload } from '../../io/artifacts/codec';
import { quoteAll, type QuotedStrings } from '../../io/artifacts/go-json';
import type { RowsPayload } from '../../io/artifacts/payloads';
import { localStageDir, stageArtifact, type StageKey } from '../../io/artifacts/staging';
import { openFolders } from '../../io/store/folder';
import type { CanonicalDay } from '../../io/canonical/day';
import type { DayIndex } from '../../kernels/day-index';
import type { ByteDictionarySnapshot } from '../../io/parse/byte-dictionary';
import { faultPoint } from '../faults';
import type { PreparedArtifact } from '../publisher';
import type { WorkerPool } from '../threads/pool';
import type { DayContext } from './context';
import type { StagedInfo } from './request';
import { artifactHeader } from './window';

/** Number of shards for a window: one per `shardRows` events, at least one. */
export function shardCount(events: number, shardRows: number): number {
  return Math.max(1, Math.ceil(events / shardRows));
}

/** Where a type's artifact of the context's window is staged. */
export function stageKey(ctx: DayContext, type: ArtifactType): StageKey {
  return { ...ctx.scope, type, startDay: ctx.window.startDay, endDay: ctx.window.endDay };
}

/**
 * Computes the day's artifacts of `ctx.types` and stages each one (`run` has written the
 * day's partition before: nothing is staged, and so nothing can be published later by a
 * `publish` job, for a day whose partition failed to be written).
 */
export async function computeStep(ctx: DayContext, events: CanonicalDay, index: DayIndex): Promise<{ prepared: PreparedArtifact[]; staged: StagedInfo[] }> {
  const prepared = await computeArtifacts(ctx, events, index);
  const staged: StagedInfo[] = [];
  const staging = openFolders(ctx.config).staging;
  for (const a of prepared) {
    const type = a.expect.artifactType;
    const inMemory = a.blob instanceof Uint8Array ? a.blob : null;
    // A `run` publishes a big blob from the local file the encoder wrote: keep its scratch copy (S3 staging).
    const keepLocal = ctx.stages.includes('publish');
    const file = await stageArtifact(staging, stageKey(ctx, type), a.expect.version, inMemory, { keepLocal });
    staged.push({
      type,
      version: a.expect.version,
      bytes: inMemory ? inMemory.length : (a.blob as { size: number }).size,
      rows: a.rowCount ?? 0,
      path: file,
    });
  }
  return { prepared, staged };
}

/**
 * Every type's artifact for the window, in `ctx.types` order, encoded (big ones already
 * written into their staging folder by a worker). When one type fails, the others are let
 * finish first: an encode task killed by the pool's shutdown would leave its staging temp
 * file behind.
 */
export async function computeArtifacts(ctx: DayContext, events: CanonicalDay, index: DayIndex): Promise<PreparedArtifact[]> {
  const defs = ctx.types.map(artifactType);
  const itemIds = lazyQuote(ctx.pool, 'item', events.item.utf8);
  const userIds = lazyQuote(ctx.pool, 'user', events.user.utf8);
  // The ids are quoted on the pool while the kernels run.
  void itemIds();
  if (defs.some((d) => d.needs.userIds)) void userIds();
  const shards = shardCount(index.events, ctx.config.engine.shard_rows);
  const settled = await Promise.allSettled(
    defs.map(async (def): Promise<PreparedArtifact> => {
      const caps = def.caps(ctx.config.limits);
      const header = artifactHeader(ctx.scope, ctx.window, def.name);
      const computeCtx: ComputeContext<unknown, unknown> = {
        index,
        limits: ctx.config.limits,
        caps,
        shards,
        itemIds,
        userIds,
        catalog: def.needs.catalog ? ctx.catalog : [],
        runKernel: kernelRunner(ctx.pool, def),
      };
      const payload = await def.compute(computeCtx);
      faultPoint('after-compute');
      const encoded = await encode(ctx.pool, header, payload, ctx.builtAt, localStageDir(openFolders(ctx.config).staging, stageKey(ctx, def.name)));
      const blob = 'blob' in encoded ? encoded.blob : { path: encoded.path, size: encoded.size };
      // The blob is validated by the publisher, after it is written and read back.
      return {
        expect: { ...header, version: encoded.version, ...caps, sha256: encoded.sha256 },
        blob,
        builtAt: ctx.builtAt,
        rows: 'skip',
        rowCount: payload.length,
      };
    }),
  );
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<PreparedArtifact>).value);
}

/** A dictionary's quoted ids, quoted once (on the pool when there is one) on first call. */
function lazyQuote(pool: WorkerPool | null, ids: 'item' | 'user', values: ByteDictionarySnapshot): () => Promise<QuotedStrings> {
  let quoted: Promise<QuotedStrings> | undefined;
  return () => {
    if (!quoted) {
      quoted = pool ? pool.run('compute', { task: 'quote', ids, values }) : Promise.resolve(quoteAll(values));
      quoted.catch(() => undefined); // awaited by the compute steps that need it
    }
    return quoted;
  };
}

/** `ctx.runKernel` of a type: its kernel as a pool task (shards numbered in call order), or on this thread without a pool. */
export function kernelRunner(
  pool: WorkerPool | null,
  def: Pick<AnyArtifactTypeDef, 'kernel'> & { name: string },
): ComputeContext<unknown, unknown>['runKernel'] {
  const { kernel } = def;
  let shard = 0;
  return (input, label) => {
    if (kernel === null) return Promise.reject(new Error(`artifact type ${def.name} has no kernel`));
    // A type outside the table (a test's) runs only without a pool: the worker would not find it.
    const task = { task: 'kernel' as const, type: def.name as ArtifactType, shard: label === undefined ? shard++ : -1, label, input };
    return pool ? pool.run(`compute ${def.name}`, task) : Promise.resolve(kernel(input) as unknown);
  };
}

/**
 * Encodes an artifact. A rows payload (the big ones) is encoded on a worker, straight into
 * its staging file, so the artifacts of a day encode in parallel and none is held whole in
 * memory. Small payloads encode here, in memory.
 */
async function encode(
  pool: WorkerPool | null,
  header: ArtifactHeader,
  payload: TypedPayload,
  builtAt: string,
  stageDir: string,
): Promise<EncodedArtifact | FileArtifact> {
  const spec = (payload as Partial<RowsPayload>).spec;
  if (!pool || !spec) return encodeArtifact(header, payload, builtAt);
  return pool.run(`encode ${header.artifactType}`, { task: 'encode', header, spec, builtAt, stageDir });
}
