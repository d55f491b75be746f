/**
 * `run`: every day of [start, end] in order, each its own window:
 *   ingest → canonical gates → compute (worker pool) → artifact gates → stage → publish,
 * then the checkpoint advances. A failed day stops the run; earlier days stay published.
 */
import type { Config, ArtifactType } from '../config';
import { addDays, dayOfMicros, daysBetween, MICROS_PER_DAY, parseDayFlag, rfc3339Seconds } from '../days';
import { limitExceeded, usageError } from '../errors';
import { encodeArtifact, ArtifactHeader, TypedPayload } from '../io/artifact-codec';
import { QuotedStrings } from '../io/go-json';
import type { CanonicalDay } from '../io/canonical';
import { loadCatalog } from '../io/catalog';
import { readCheckpoint, writeCheckpoint } from '../io/checkpoint';
import { stageArtifact } from '../io/staging';
import { computeRows, DayIndex, indexDay } from './coordinator';
import { checkCanonical, checkHardLimits, checkScoredRows } from './gates';
import { ingestDay, IngestCounts } from './ingest';
import { contentSimPayload, coocPayload, popularityPayload, userPayload } from './payloads';
import { ComputePool } from './pool';
import { PreparedArtifact, publishDay, PublishedArtifact } from './publisher';

export interface RunRequest {
  config: Config;
  tenant: string;
  surface: string;
  segment: string;
  start?: string;
  end?: string;
  incremental: boolean;
  /** Progress lines for humans (stderr). */
  log: (line: string) => void;
  now?: () => Date;
}

export type Stage = 'ingest' | 'validate' | 'compute' | 'publish';

export interface DaySummary {
  day: string;
  input: string | null;
  counts: IngestCounts;
  ms: Record<Stage, number>;
  published: PublishedArtifact[];
}

export interface RunSummary {
  tenant: string;
  surface: string;
  segment: string;
  days: DaySummary[];
  manifest: string;
}

/** Resolves the day range of a run (flags, checkpoint, max_days_backfill). */
export async function planDays(req: RunRequest): Promise<string[]> {
  const { config } = req;
  let start = req.start;
  if (req.incremental) {
    const last = await readCheckpoint(config.checkpoint_dir, req.tenant, req.surface, req.segment);
    if (last) start = addDays(last, 1);
    else if (!start) throw usageError('--incremental: no checkpoint yet, so the first incremental run needs --start');
  }
  if (!start) throw usageError('--start is required (or --incremental with a checkpoint)');
  parseDayFlag('--start', start);
  // Incremental runs default to the last complete UTC day.
  const end = req.end ?? (req.incremental ? dayOfMicros(Date.now() * 1000 - MICROS_PER_DAY) : undefined);
  if (!end) throw usageError('--end is required');
  parseDayFlag('--end', end);
  if (end < start && !req.incremental) throw usageError(`--end ${end} is before --start ${start}`);
  const days = daysBetween(start, end);
  if (days.length > config.limits.max_days_backfill) {
    throw limitExceeded('max_days_backfill', days.length, config.limits.max_days_backfill);
  }
  return days;
}

export async function runPipeline(req: RunRequest): Promise<RunSummary> {
  const now = req.now ?? (() => new Date());
  const builtAt = rfc3339Seconds(now().getTime());
  const days = await planDays(req);
  const { config } = req;
  const catalog = config.artifact_kinds.includes('content_sim')
    ? loadCatalog(config.catalog!.path, config.catalog!.format, req.surface)
    : [];
  const pool = new ComputePool({ workers: config.engine.workers, workerHeapMb: config.engine.worker_heap_mb });
  const summaries: DaySummary[] = [];
  try {
    if (days.length === 0) req.log('nothing to do: the checkpoint is already at or past --end');
    for (const day of days) {
      const ms: Record<Stage, number> = { ingest: 0, validate: 0, compute: 0, publish: 0 };
      const timed = async <T>(stage: Stage, f: () => Promise<T> | T): Promise<T> => {
        const t0 = performance.now();
        try {
          return await f();
        } finally {
          ms[stage] += performance.now() - t0;
        }
      };
      const dayStart = parseDayFlag('--start', day);
      const ingested = await timed('ingest', () => ingestDay(config, req.tenant, req.surface, day, dayStart, pool));
      const index = await timed('validate', () => validateWindow(config, ingested.canonical, dayStart));
      const header = (artifactType: ArtifactType): ArtifactHeader => ({
        artifactType,
        tenant: req.tenant,
        surface: req.surface,
        segment: req.segment,
        window: { start: rfc3339Seconds(dayStart / 1000), end: rfc3339Seconds((dayStart + MICROS_PER_DAY) / 1000) },
      });
      const prepared = await timed('compute', () =>
        computeArtifacts(config, pool, ingested.canonical, index, catalog, header, builtAt),
      );
      const published = await timed('publish', async () => {
        for (const a of prepared) {
          await stageArtifact(config.artifacts_dir, req.tenant, req.surface, req.segment, a.expect.artifactType, day, addDays(day, 1), a.expect.version, a.blob);
        }
        const out = await publishDay(config, req.tenant, req.surface, prepared, now);
        await writeCheckpoint(config.checkpoint_dir, req.tenant, req.surface, req.segment, day, now());
        return out;
      });
      summaries.push({ day, input: ingested.input, counts: ingested.counts, ms, published });
      req.log(`${day}: ${ingested.counts.events} events, published ${published.length} artifacts`);
    }
  } finally {
    await pool.close();
  }
  return {
    tenant: req.tenant,
    surface: req.surface,
    segment: req.segment,
    days: summaries,
    manifest: `${config.registry_dir}/current/${req.tenant}/${req.surface}/manifest.json`,
  };
}

/** Canonical gates and hard limits; returns the index compute reads. */
export function validateWindow(config: Config, canonical: CanonicalDay, windowStart: number): DayIndex {
  checkCanonical(canonical, windowStart, 1);
  const index = indexDay(canonical);
  checkHardLimits(index, config.limits);
  return index;
}

export async function computeArtifacts(
  config: Config,
  pool: ComputePool | null,
  canonical: CanonicalDay,
  index: DayIndex,
  catalog: ReturnType<typeof loadCatalog>,
  header: (t: ArtifactType) => ArtifactHeader,
  builtAt: string,
): Promise<PreparedArtifact[]> {
  const L = config.limits;
  const items = new QuotedStrings(canonical.item.values);
  const users = new QuotedStrings(canonical.user.values);
  const computeLimits = {
    minCoocSupport: L.min_cooc_support,
    maxNeighborsPerItem: L.max_neighbors_per_item,
    maxItemsPerUser: L.max_items_per_user,
  };
  const out: PreparedArtifact[] = [];
  for (const kind of config.artifact_kinds) {
    let payload: TypedPayload;
    let maxRows = L.max_items_per_artifact;
    let maxItemsPerRow = Infinity;
    switch (kind) {
      case 'popularity':
        payload = popularityPayload(index.itemCounts, items, L.max_items_per_artifact);
        break;
      case 'cooc': {
        maxItemsPerRow = L.max_neighbors_per_item;
        const rows = await computeRows(pool!, index, kind, computeLimits, config.engine.shard_rows);
        checkScoredRows(kind, rows, maxItemsPerRow);
        payload = coocPayload(rows, index.itemCounts, items, L.max_items_per_artifact);
        break;
      }
      case 'implicit':
      case 'session_seq': {
        maxRows = Infinity; // bounded by the max_users_per_run hard limit instead
        maxItemsPerRow = L.max_items_per_user;
        const rows = await computeRows(pool!, index, kind, computeLimits, config.engine.shard_rows);
        checkScoredRows(kind, rows, maxItemsPerRow);
        payload = userPayload(rows, users, items);
        break;
      }
      case 'content_sim':
        payload = contentSimPayload(catalog, L.max_items_per_artifact);
        break;
    }
    const h = header(kind);
    const { version, blob } = encodeArtifact(h, payload, builtAt);
    // The blob is validated by the publisher, after it is written and read back.
    out.push({ expect: { ...h, version, maxRows, maxItemsPerRow }, blob, builtAt, rows: 'skip' });
  }
  return out;
}
