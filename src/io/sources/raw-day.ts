/**
 * Where a (tenant, surface, UTC day)'s raw exposures come from, by `raw_source.type`:
 * files under `raw_source.dir` (docs/contract.md §1), per-day objects in an S3 bucket, or the online
 * service's Postgres exposure log (docs/storage-contract.md §3). Every source hands ingest the same thing:
 * blocks of whole JSONL lines, parsed and checked by the same code and the same bad-input
 * policy.
 *
 * Which raw file holds a (tenant, surface, day) under `raw_source.dir` (docs/contract.md §1):
 * - `<dir>/exposure.jsonl` (flat layout) is the single input for every day;
 * - else `<dir>/<tenant>/<surface>/exposure.YYYY-MM-DD.jsonl`, else its `.jsonl.gz` twin
 *   (when both exist the plain file wins);
 * - else no file: the day has no events (not an error).
 */
import * as fs from 'fs';
import * as nodePath from 'path';
import type { Config } from '../../config/types';
import { dayStartMicros } from '../../days';
import { ioError, usageError } from '../../errors';
import { pathSegment } from '../atomic';
import { BlockBuffers, lineBlocks, readLineBlocks } from './lines';
import { postgresDay } from './postgres';
import { S3Bucket } from '../store/s3/bucket';

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

/** The raw input of a day from the configured source; contacts S3 (one HEAD or two) but reads nothing yet. */
export async function openRawDay(config: Config, tenant: string, surface: string, day: string): Promise<RawDay> {
  const src = config.raw_source;
  if (src.type === 'postgres') return postgresDay(src.postgres!, tenant, surface, day);
  if (src.type === 's3') return s3Day(new S3Bucket(src.s3!, { configKey: 'raw_source.s3' }), tenant, surface, day);
  const input = resolveRawFiles(src.dir!, tenant, surface, day);
  if (input.kind === 'none') return noInput();
  return {
    name: input.path,
    flat: input.kind === 'flat',
    where: (_block, lineBase, line) => `${input.path}:${lineBase + line}`,
    async *blocks(blockBytes, buffers) {
      for await (const bytes of readLineBlocks(input.path, blockBytes, buffers)) yield { bytes };
    },
  };
}

function noInput(): RawDay {
  return { name: null, flat: false, where: () => '', async *blocks() {} };
}

/**
 * `<prefix>/<tenant>/<surface>/exposure.YYYY-MM-DD.jsonl`, else its `.jsonl.gz` twin (docs/storage-contract.md §2),
 * streamed; a missing object is a day without events.
 */
async function s3Day(bucket: S3Bucket, tenant: string, surface: string, day: string): Promise<RawDay> {
  checkIds(tenant, surface, day);
  const plain = bucket.key(`${tenant}/${surface}/exposure.${day}.jsonl`);
  let key: string | null = null;
  if (await bucket.exists(plain)) key = plain;
  else if (await bucket.exists(`${plain}.gz`)) key = `${plain}.gz`;
  if (key === null) return noInput();
  const uri = bucket.uri(key);
  const objectKey = key;
  return {
    name: uri,
    flat: false,
    where: (_block, lineBase, line) => `${uri}:${lineBase + line}`,
    async *blocks(blockBytes) {
      const body = await bucket.stream(objectKey);
      if (body === null) throw ioError('read', uri, 'the object disappeared after it was found');
      for await (const bytes of lineBlocks(body, uri, blockBytes)) yield { bytes };
    },
  };
}

function checkIds(tenant: string, surface: string, day: string): void {
  if (dayStartMicros(day) === null) throw usageError(`invalid day "${day}": must be a date YYYY-MM-DD`);
  // tenant and surface become path segments (or key segments): refuse anything that would leave the layout.
  pathSegment('tenant', tenant);
  pathSegment('surface', surface);
}

export type RawInput =
  | { kind: 'flat'; path: string }
  | { kind: 'day'; path: string }
  | { kind: 'none'; expected: string };

export const FLAT_FILE = 'exposure.jsonl';

export function resolveRawFiles(dir: string, tenant: string, surface: string, day: string): RawInput {
  checkIds(tenant, surface, day);

  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir);
  } catch (err) {
    throw ioError('read raw_source.dir', dir, err);
  }
  if (!st.isDirectory()) throw ioError('read raw_source.dir', dir, 'not a directory');

  const flat = nodePath.join(dir, FLAT_FILE);
  if (isFile(flat)) return { kind: 'flat', path: flat };

  const plain = nodePath.join(dir, tenant, surface, `exposure.${day}.jsonl`);
  if (isFile(plain)) return { kind: 'day', path: plain };
  const gz = `${plain}.gz`;
  if (isFile(gz)) return { kind: 'day', path: gz };
  return { kind: 'none', expected: plain };
}

/** True for an existing regular file (symlinks followed); false when missing; other stat failures throw. */
function isFile(p: string): boolean {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(p, { throwIfNoEntry: false });
  } catch (err) {
    // ENOTDIR: a path component is a file, so this path cannot exist.
    if ((err as { code?: string }).code === 'ENOTDIR') return false;
    throw ioError('read', p, err);
  }
  return st !== undefined && st.isFile();
}

