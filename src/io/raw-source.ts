/**
 * Which raw file holds a (tenant, surface, day) under `raw_source.dir` (SPEC §1):
 * - `<dir>/exposure.jsonl` (flat layout) is the single input for every day;
 * - else `<dir>/<tenant>/<surface>/exposure.YYYY-MM-DD.jsonl`, else its `.jsonl.gz` twin
 *   (when both exist the plain file wins);
 * - else no file: the day has no events (not an error).
 */
import * as fs from 'fs';
import * as nodePath from 'path';
import { dayStartMicros } from '../days';
import { ioError, usageError } from '../errors';
import { pathSegment } from './atomic';

export type RawInput =
  | { kind: 'flat'; path: string }
  | { kind: 'day'; path: string }
  | { kind: 'none'; expected: string };

export const FLAT_FILE = 'exposure.jsonl';

export function resolveRawFiles(dir: string, tenant: string, surface: string, day: string): RawInput {
  if (dayStartMicros(day) === null) throw usageError(`invalid day "${day}": must be a date YYYY-MM-DD`);
  // tenant and surface become path segments: refuse anything that would leave the layout.
  pathSegment('tenant', tenant);
  pathSegment('surface', surface);

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

