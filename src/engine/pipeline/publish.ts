/**
 * The publish stage of a day: the artifacts computed by this run (or, for a `publish` job,
 * what `compute` staged), handed to the single-writer publisher; after the manifest swap,
 * under the same lock, the Postgres signals and the checkpoint.
 */
import * as path from 'node:path';
import { artifactType } from '../artifact-types';
import { splitBlob } from '../../io/artifacts/codec';
import { CURRENT_VERSION_FILE, readStaged, stageDir } from '../../io/artifacts/staging';
import { publishSignals, type SignalCounts } from '../../io/postgres/signals';
import { advanceCheckpoint } from '../../io/store/checkpoint';
import { notFound } from '../../errors';
import { publishDay, type PreparedArtifact, type PublishedArtifact } from '../publisher';
import type { DayContext } from './context';
import { stageKey } from './compute';
import { artifactHeader } from './window';

export interface PublishOptions {
  /** What this run computed; null: read what is staged (a `publish` job). */
  prepared: PreparedArtifact[] | null;
  /** Move the checkpoint to this day (not after an earlier day of the run failed). */
  advanceCheckpoint: boolean;
}

export async function publishStep(ctx: DayContext, opts: PublishOptions): Promise<{ published: PublishedArtifact[]; signals?: SignalCounts }> {
  const { config, scope } = ctx;
  const artifacts = opts.prepared ?? (await readStagedDay(ctx));
  let signals: SignalCounts | undefined;
  // A signal failure leaves the checkpoint behind, so a rerun retries the signals.
  const afterSwap = async () => {
    if (config.db) {
      signals = (await publishSignals(config.db, { ...scope, day: ctx.day, signalDay: ctx.window.startDay }, artifacts)) ?? undefined;
    }
    if (opts.advanceCheckpoint) await advanceCheckpoint(config.checkpoint_dir, scope.tenant, scope.surface, scope.segment, ctx.day, ctx.now());
  };
  const published = await publishDay(config, scope.tenant, scope.surface, artifacts, ctx.now, afterSwap);
  return { published, signals };
}

/**
 * What `compute` staged for the window, one artifact per type, ready for the publisher,
 * which validates every row of it ('inspect'). Nothing staged for a type is E_NOT_FOUND
 * naming the type, the window and the file expected.
 */
async function readStagedDay(ctx: DayContext): Promise<PreparedArtifact[]> {
  const { config, window: w } = ctx;
  const out: PreparedArtifact[] = [];
  for (const type of ctx.types) {
    const key = stageKey(ctx, type);
    const staged = await readStaged(config.artifacts_dir, key);
    if (staged === null) {
      const expected = path.join(stageDir(config.artifacts_dir, key), CURRENT_VERSION_FILE);
      throw notFound(`nothing staged for ${type}, window ${w.startDay}_${w.endDay}: expected ${expected} (run "compute --type ${type}" for ${w.day} first)`);
    }
    const def = artifactType(type);
    // The record keeps the build time the blob carries; a blob without one fails the publisher's check.
    const builtAt = splitBlob(staged.bytes, def.payloadField)?.build.built_at;
    out.push({
      expect: { ...artifactHeader(ctx.scope, w, type), version: staged.version, ...def.caps(config.limits) },
      blob: staged.bytes,
      builtAt: typeof builtAt === 'string' ? builtAt : '',
      rows: 'inspect',
      rowCount: null,
    });
  }
  return out;
}
