/**
 * Canonical partitions (docs/contract.md §3): one Arrow IPC file per (tenant, surface, UTC day) at
 * `<canonical_dir>/<tenant>/<surface>/exposures/YYYY-MM-DD.arrow` (arrow-codec.ts), and
 * beside it the day's quarantined bad lines, `YYYY-MM-DD.rejects.jsonl`, and the day's
 * ingest record, `YYYY-MM-DD.ingested.json` (below).
 */
import { promises as fs } from 'node:fs';
import { dayStartMicros } from '../../days';
import { ioError, parseStateJson } from '../../errors';
import { encodePretty } from '../artifacts/go-json';
import { writeFileAtomic } from '../atomic';
import { decodeCanonical, encodeCanonical } from './arrow-codec';
import type { CanonicalDay, EncodableDay } from './day';

/** The folder of a (tenant, surface)'s partitions, rejects and ingest records, as a key in the canonical folder (../store/folder.ts). */
export function exposuresRel(tenant: string, surface: string): string {
  return `${tenant}/${surface}/exposures`;
}

/**
 * The Go tool's canonical partition of a day (docs/contract.md §9): JSON Lines, one event per
 * line, read where no partition of ours exists (validate.ts readCanonicalDay); never written.
 */
export function goPartitionRel(tenant: string, surface: string, day: string): string {
  return `${exposuresRel(tenant, surface)}/${day}.jsonl`;
}

export function goPartitionPath(canonicalDir: string, tenant: string, surface: string, day: string): string {
  return `${canonicalDir}/${goPartitionRel(tenant, surface, day)}`;
}

/** The partition's key in the canonical folder (read and uploaded on the main thread, pipeline/validate.ts and ingest.ts). */
export function partitionRel(tenant: string, surface: string, day: string): string {
  return `${exposuresRel(tenant, surface)}/${day}.arrow`;
}

export function rejectsRel(tenant: string, surface: string, day: string): string {
  return `${exposuresRel(tenant, surface)}/${day}.rejects.jsonl`;
}

/** `<tenant>/<surface>/exposures/YYYY-MM-DD.ingested.json`, beside the day's partition. */
export function ingestRecordRel(tenant: string, surface: string, day: string): string {
  return `${exposuresRel(tenant, surface)}/${day}.ingested.json`;
}

/** The partition file under a local `canonical_dir`. */
export function partitionPath(canonicalDir: string, tenant: string, surface: string, day: string): string {
  return `${canonicalDir}/${partitionRel(tenant, surface, day)}`;
}

/** The folder of a (tenant, surface)'s partitions, rejects and ingest records under a local `canonical_dir`. */
export function exposuresDir(canonicalDir: string, tenant: string, surface: string): string {
  return `${canonicalDir}/${exposuresRel(tenant, surface)}`;
}

export function rejectsPath(canonicalDir: string, tenant: string, surface: string, day: string): string {
  return `${canonicalDir}/${rejectsRel(tenant, surface, day)}`;
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

/**
 * What the raw source held for the day when it was ingested: `present` (an input with at
 * least one non-blank line), `empty` (an input without any), `missing` (the source has no
 * input for the day: no file, no object, a tenant unknown to Postgres).
 */
export type RawState = 'present' | 'missing' | 'empty';

/**
 * The ingest record: ingest writes one for every day it ingested, empty or not, after the
 * partition (or its removal) is durable. It is how a day without events (no partition) is
 * told apart from a day never ingested (no partition, no record): a missing partition alone
 * is never read as an empty day.
 */
export interface IngestRecord {
  v: 1;
  tenant: string;
  surface: string;
  day: string;
  /** Events in the partition (0: there is no partition file). */
  events: number;
  /** Non-blank lines read from the input. */
  lines: number;
  raw: RawState;
  /** The input read (a path, an s3:// URI, a table), null when the raw input was missing. */
  input: string | null;
}

/** `<canonical_dir>/<tenant>/<surface>/exposures/YYYY-MM-DD.ingested.json` under a local `canonical_dir`. */
export function ingestRecordPath(canonicalDir: string, tenant: string, surface: string, day: string): string {
  return `${canonicalDir}/${ingestRecordRel(tenant, surface, day)}`;
}

/** The record's file content: fields in the order above, two-space indent, a final newline. */
export function encodeIngestRecord(record: IngestRecord): string {
  const { tenant, surface, day, events, lines, raw, input } = record;
  return encodePretty({ v: 1, tenant, surface, day, events, lines, raw, input }) + '\n';
}

/** Parses a record's text; E_IO naming `file` (with the position of bad JSON, never its content). */
export function parseIngestRecord(file: string, text: string): IngestRecord {
  const r = parseStateJson(file, text, 'ingest record') as Partial<IngestRecord> | null;
  const count = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (
    r === null ||
    typeof r !== 'object' ||
    r.v !== 1 ||
    typeof r.tenant !== 'string' ||
    typeof r.surface !== 'string' ||
    typeof r.day !== 'string' ||
    dayStartMicros(r.day) === null ||
    !count(r.events) ||
    !count(r.lines) ||
    (r.raw !== 'present' && r.raw !== 'missing' && r.raw !== 'empty') ||
    (r.input !== null && typeof r.input !== 'string')
  ) {
    throw ioError('parse ingest record', file, 'expected {"v":1,"tenant","surface","day":"YYYY-MM-DD","events","lines","raw":"present|missing|empty","input"}');
  }
  return { v: 1, tenant: r.tenant, surface: r.surface, day: r.day, events: r.events!, lines: r.lines!, raw: r.raw, input: r.input ?? null };
}

/** Writes the record atomically (replacing the one of an earlier ingest of the day). */
export async function writeIngestRecord(path: string, record: IngestRecord): Promise<void> {
  await writeFileAtomic(path, encodeIngestRecord(record));
}

/** The record at `path`; undefined when there is none (the day was never ingested by this tool). */
export async function readIngestRecord(path: string): Promise<IngestRecord | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError('read ingest record', path, err);
  }
  return parseIngestRecord(path, text);
}
