/**
 * The filesystem raw source (`raw_source.type: "fs"`, docs/contract.md §1). Which raw file holds a
 * (tenant, surface, day) under `raw_source.dir`:
 * - `<dir>/exposure.jsonl` (flat layout) is the single input for every day;
 * - else `<dir>/<tenant>/<surface>/exposure.YYYY-MM-DD.jsonl`, else its `.jsonl.gz` twin
 *   (when both exist the plain file wins);
 * - else no file: the day has no events (not an error). Something else in a file's place
 *   (a folder, a dangling symlink, an entry that cannot be looked at) fails the day.
 * Files are read in blocks of whole lines (lines.ts), gunzipped when they end in `.gz`.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { dayStartMicros } from '../../days';
import { ioError, usageError } from '../../errors';
import { pathSegment } from '../atomic';
import { readLineBlocks } from './lines';
import type { RawDay } from './raw-day';

export type RawInput = { kind: 'flat'; path: string } | { kind: 'day'; path: string } | { kind: 'none'; expected: string };

const FLAT_FILE = 'exposure.jsonl';

/**
 * `<tenant>/<surface>/exposure.YYYY-MM-DD.jsonl`, the per-day name under the source's
 * folder (or bucket prefix, s3.ts). E_USAGE for a day that is not a date, or a tenant or
 * surface that would leave the layout.
 */
export function rawDayName(tenant: string, surface: string, day: string): string {
  if (dayStartMicros(day) === null) throw usageError(`invalid day "${day}": must be a date YYYY-MM-DD`);
  // tenant and surface become path segments (or key segments): refuse anything that would leave the layout.
  pathSegment('tenant', tenant);
  pathSegment('surface', surface);
  return `${tenant}/${surface}/exposure.${day}.jsonl`;
}

export function resolveRawFiles(dir: string, tenant: string, surface: string, day: string): RawInput {
  const name = rawDayName(tenant, surface, day);

  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir);
  } catch (err) {
    throw ioError('read raw_source.dir', dir, err);
  }
  if (!st.isDirectory()) throw ioError('read raw_source.dir', dir, 'not a directory');

  const flat = nodePath.join(dir, FLAT_FILE);
  if (rawEntry(flat)) return { kind: 'flat', path: flat };

  const plain = nodePath.join(dir, name);
  if (rawEntry(plain)) return { kind: 'day', path: plain };
  const gz = `${plain}.gz`;
  if (rawEntry(gz)) return { kind: 'day', path: gz };
  return { kind: 'none', expected: plain };
}

/** The day's file under `dir` as a RawDay; null when there is none. */
export function fsDay(dir: string, tenant: string, surface: string, day: string): RawDay | null {
  const input = resolveRawFiles(dir, tenant, surface, day);
  if (input.kind === 'none') return null;
  return jsonlFileDay(input.path, input.kind === 'flat');
}

/** One JSONL file (`.gz` gunzipped) as a RawDay: lines named `<path>:<line>` in messages. */
export function jsonlFileDay(path: string, flat = false): RawDay {
  return {
    name: path,
    flat,
    where: (_block, lineBase, line) => `${path}:${lineBase + line}`,
    async *blocks(blockBytes, buffers) {
      for await (const bytes of readLineBlocks(path, blockBytes, buffers)) yield { bytes };
    },
  };
}

/**
 * True for a regular file at `p` (symlinks followed), false when nothing is there. Anything
 * else in a raw file's place fails the day with E_IO naming it, as in the Go tool, instead
 * of passing for a day without events: a folder, a device or pipe, a symbolic link to
 * nothing, a path through a file (ENOTDIR), a folder we may not search (EACCES).
 */
function rawEntry(p: string): boolean {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(p, { throwIfNoEntry: false });
  } catch (err) {
    throw ioError('read raw file', p, err);
  }
  if (st === undefined) {
    if (fs.lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink()) throw ioError('read raw file', p, 'a symbolic link to nothing');
    return false;
  }
  if (st.isFile()) return true;
  throw ioError('read raw file', p, st.isDirectory() ? 'a folder, not a file' : 'not a regular file');
}
