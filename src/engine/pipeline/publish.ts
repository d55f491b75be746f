/**
 * The publish stage of a day: the artifacts computed by this run (or, for a `publish` job,
 * what `compute` staged), handed to the single-writer publisher; after the manifest swap,
 * under the same lock, the Postgres signals and the checkpoint.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { artifactType } from '../artifact-types';
import { splitBlob } from '../../io/artifacts/codec';
import { CURRENT_VERSION_FILE, readStaged, stageRel } from '../../io/artifacts/staging';
import { openFolders } from '../../io/store/folder';
import { publishSignals, type SignalCounts } from '../../io/postgres/signals';
import { advanceCheckpoint } from '../../io/store/checkpoint';
import { isPipelineError, notFound, PipelineError } from '../../errors';
import { publishDay, type PreparedArtifact, type PublishedArtifact } from '../publisher';
import { rawMissingBlocked } from '../drift';
import { rawDayName } from '../../io/sources/fs';
import { openRawDay } from '../../io/sources/raw-day';
import type { RawState } from '../../io/canonical/partitions';
import { readIngestRecord } from './validate';
import type { Config } from '../../config/types';
import type { DayContext } from './context';
import { stageKey } from './compute';
import { artifactHeader } from './window';

export interface PublishOptions {
  /** What this run computed; null: read what is staged (a `publish` job). */
  prepared: PreparedArtifact[] | null;
  /** Move the checkpoint to this day (not after an earlier day of the run failed). */
  advanceCheckpoint: boolean;
  /**
   * The raw input this run's ingest read for the day (null: none, the raw input is
   * missing; `run` has checked it with rawInputGate); undefined when this command did not
   * ingest it (a `publish` job: checked here).
   */
  rawInput: string | null | undefined;
}

/** A failure after the manifest swap: the day is live, its checkpoint is not written. */
export class PublishedNotCheckpointedError extends PipelineError {}

export async function publishStep(ctx: DayContext, opts: PublishOptions): Promise<{ published: PublishedArtifact[]; signals?: SignalCounts }> {
  const { config, scope } = ctx;
  // `run` checked right after its ingest (before the partition write); a `publish` job checks here.
  if (opts.rawInput === undefined) await rawInputGate(ctx, undefined);
  const artifacts = opts.prepared ?? (await readStagedDay(ctx));
  let signals: SignalCounts | undefined;
  // A signal failure leaves the checkpoint behind, so a rerun retries the signals.
  const afterSwap = async () => {
    try {
      if (config.db) {
        signals = (await publishSignals(config.db, { ...scope, day: ctx.day, signalDay: ctx.window.startDay }, artifacts)) ?? undefined;
      }
      if (opts.advanceCheckpoint) await advanceCheckpoint(openFolders(config).checkpoints, scope.tenant, scope.surface, scope.segment, ctx.day, ctx.now());
    } catch (err) {
      // The manifest already points at this day: say so, and that a rerun finishes the rest
      // (it republishes the same versions, which changes nothing, then retries these steps).
      if (!isPipelineError(err)) throw err;
      throw new PublishedNotCheckpointedError(
        err.code,
        err.exitCode,
        `published, checkpoint not advanced: the manifest already points at ${ctx.day}'s artifacts, but ${err.message}; ` +
          `fix that and rerun ${ctx.day} (or run --incremental): the rerun publishes the same versions and finishes the checkpoint`,
      );
    }
  };
  const published = await publishDay(config, scope.tenant, scope.surface, artifacts, ctx.now, afterSwap, ctx.allow, ctx.notice);
  // A `run` with its staging on S3 published big blobs from their local scratch copies: drop them.
  if (opts.prepared && openFolders(config).staging.remote) {
    for (const a of opts.prepared) if (!(a.blob instanceof Uint8Array)) await fs.rm(a.blob.path, { force: true });
  }
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
    const staging = openFolders(config).staging;
    const staged = await readStaged(staging, key);
    if (staged === null) {
      const expected = staging.where(`${stageRel(key)}/${CURRENT_VERSION_FILE}`);
      throw notFound(
        `nothing staged for ${type}, window ${w.startDay}_${w.endDay}: expected ${expected} or a lone staged blob beside it (run "compute --type ${type}" for ${w.day} first)`,
      );
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

/**
 * The default-on rule on raw input (drift gate): a day whose raw input is missing is not
 * published unless `--allow-empty` / `gates.allow_empty`. `ingested`: what this run's
 * ingest read (null: nothing), undefined when it did not ingest the day.
 */
export async function rawInputGate(ctx: DayContext, ingested: string | null | undefined): Promise<void> {
  if (ctx.allow.empty || (await rawInputState(ctx, ingested)) !== 'missing') return;
  throw rawMissingBlocked(ctx.day, describeMissingRaw(ctx.config, ctx.scope.tenant, ctx.scope.surface, ctx.day));
}

/**
 * Whether the day's raw input was there: what this run's ingest read; else (a `publish`
 * job) what the day's ingest record says; else (a day ingested by the Go tool, or never)
 * what the raw source holds now. The one place that decides "raw input missing".
 */
async function rawInputState(ctx: DayContext, ingested: string | null | undefined): Promise<RawState> {
  if (ingested !== undefined) return ingested === null ? 'missing' : 'present';
  const { config, scope, day } = ctx;
  const record = await readIngestRecord(config, scope, day);
  if (record !== undefined) return record.raw;
  const raw = await openRawDay(config, scope.tenant, scope.surface, day);
  return raw.name === null ? 'missing' : 'present';
}

/** Where the day's raw input was looked for, for the message. */
function describeMissingRaw(config: Config, tenant: string, surface: string, day: string): string {
  const src = config.raw_source;
  const name = rawDayName(tenant, surface, day);
  if (src.type === 'fs') return `no ${path.join(src.dir!, name)} or .gz in raw_source.dir`;
  if (src.type === 's3') return `no s3://${src.s3!.bucket}/${src.s3!.prefix ? `${src.s3!.prefix}/` : ''}${name} or .gz`;
  return `tenant ${tenant} not found in ${src.postgres!.tenant_table}`;
}
