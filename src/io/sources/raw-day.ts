/**
 * Where a (tenant, surface, UTC day)'s raw exposures come from, by `raw_source.type`:
 * files under `raw_source.dir` (fs.ts, docs/contract.md §1), per-day objects in an S3 bucket (s3.ts),
 * or the online service's Postgres exposure log (postgres.ts, docs/storage-contract.md). Every source
 * hands ingest the same thing, a RawDay: blocks of whole JSONL lines (lines.ts), parsed
 * and checked by the same code and the same bad-input policy.
 */
import type { Config } from '../../config/types';
import { fsDay } from './fs';
import type { BlockBuffers } from './lines';
import { postgresDay } from './postgres';
import { s3Day } from './s3';

/** A block of whole JSONL lines (see lines.ts) and, for a database source, where each line came from. */
export interface RawBlock {
  bytes: Buffer;
  /** Postgres: the row id of each line (1-based line i ↔ rowIds[i - 1]); absent for files and objects. */
  rowIds?: string[];
  /**
   * Postgres: rows whose `response` could not become lines at all (not an object, no
   * `items` array…), each placed after `before` lines of this block. Bad inputs like bad lines.
   */
  badRows?: Array<{ before: number; rowId: string; where: string; rule: string; raw: string }>;
}

/** Where a block's lines came from, without its bytes (those go to a worker). */
export type RawOrigin = Omit<RawBlock, 'bytes'>;

/** One day's raw input. */
export interface RawDay {
  /** The input as messages and the summary name it (a path, an s3:// URI, a table); null: none, the day has no events. */
  name: string | null;
  /** The flat layout: one file shared by every day (events selected by ts). */
  flat: boolean;
  /** Where line `line` (1-based within `block`, `lineBase` lines before the block) came from, for messages. */
  where(origin: RawOrigin, lineBase: number, line: number): string;
  /** The input in blocks of whole lines; a plain file's blocks come from `buffers` when given (see BlockBuffers). */
  blocks(blockBytes: number, buffers?: BlockBuffers): AsyncGenerator<RawBlock>;
}

/**
 * The raw input of a day from the configured source; contacts S3 (one HEAD or two) or
 * Postgres (the tenant lookup) but reads nothing yet.
 */
export async function openRawDay(config: Config, tenant: string, surface: string, day: string): Promise<RawDay> {
  const src = config.raw_source;
  let input: RawDay | null;
  if (src.type === 'postgres') input = await postgresDay(src.postgres!, tenant, surface, day);
  else if (src.type === 's3') input = await s3Day(src.s3!, tenant, surface, day);
  else input = fsDay(src.dir!, tenant, surface, day);
  return input ?? noEvents();
}

/** The input of a day without events: the source has none for it. */
function noEvents(): RawDay {
  return { name: null, flat: false, where: () => '', async *blocks() {} };
}
