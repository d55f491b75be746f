/**
 * Canonical partitions (docs/contract.md §3): one Arrow IPC file per (tenant, surface, UTC day) at
 * `<canonical_dir>/<tenant>/<surface>/exposures/YYYY-MM-DD.arrow` (arrow-codec.ts), and
 * beside it the day's quarantined bad lines, `YYYY-MM-DD.rejects.jsonl`.
 */
import { promises as fs } from 'node:fs';
import { ioError } from '../../errors';
import { writeFileAtomic } from '../atomic';
import { decodeCanonical, encodeCanonical } from './arrow-codec';
import type { CanonicalDay, EncodableDay } from './day';

export function partitionPath(canonicalDir: string, tenant: string, surface: string, day: string): string {
  return `${canonicalDir}/${tenant}/${surface}/exposures/${day}.arrow`;
}

export function rejectsPath(canonicalDir: string, tenant: string, surface: string, day: string): string {
  return `${canonicalDir}/${tenant}/${surface}/exposures/${day}.rejects.jsonl`;
}

/** Encodes a day and replaces its partition file atomically; returns the file's size. */
export async function writePartition(day: EncodableDay, path: string): Promise<number> {
  const bytes = encodeCanonical(day);
  await writeFileAtomic(path, bytes);
  return bytes.length;
}

/**
 * The day a partition file holds (decodeCanonical), or null when the file does not exist
 * (a day never ingested). A file that cannot be read or decoded is an error naming it.
 */
export async function readPartition(path: string): Promise<CanonicalDay | null> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw ioError('read canonical partition', path, err);
  }
  return decodeCanonical(bytes, path);
}
