/**
 * Ingest one (tenant, surface, UTC day): raw JSONL → validated, normalised events →
 * canonical Arrow partition, replaced atomically (docs/contract.md §1, §3).
 *
 * The main thread streams the raw file (gunzipping `.jsonl.gz`) in blocks of whole lines
 * and hands each block to the worker pool, which parses it into dictionary-coded columns
 * (src/io/parse/scanner.ts). At most `engine.max_inflight_bytes` of blocks are queued or
 * being parsed at once: the reader waits, nothing is dropped. Blocks are merged in file
 * order, so the partition keeps raw input order whatever the number of workers. Each block's
 * dictionaries come back sorted; at the end each column's are merged on the pool, in parallel.
 *
 * Nothing is written until the whole input has been read: with the `fail` policy a bad
 * line stops the day and the previous partition stays as it was.
 */
import { MICROS_PER_DAY } from '../../days';
import { badInput, limitExceeded } from '../../errors';
import { CanonicalDayBuilder } from '../../io/canonical/builder';
import type { CanonicalDay } from '../../io/canonical/day';
import { encodableDay } from '../../io/canonical/day';
import { encodeIngestRecord, type IngestRecord, ingestRecordRel, partitionRel, type RawState, rejectsRel, writePartition } from '../../io/canonical/partitions';
import { openFolders } from '../../io/store/folder';
import type { ParseResult, ScanParams } from '../../io/parse/scanner';
import { parseBlock } from '../../io/parse/scanner';
import { encodeCompact } from '../../io/artifacts/go-json';
import { BlockBuffers } from '../../io/sources/lines';
import type { RawDay, RawOrigin } from '../../io/sources/raw-day';
import { openRawDay } from '../../io/sources/raw-day';
import type { Config } from '../../config/types';
import type { WorkerPool } from '../threads/pool';
import { faultPoint } from '../faults';
import { removeStaleIngestTemps } from './cleanup';

/** Bytes of raw lines per parse shard: large enough to amortise a task, small enough to balance. */
export const PARSE_BLOCK_BYTES = 8 << 20;

export interface IngestCounts {
  /** Non-blank lines read from the input. */
  lines: number;
  /** Events kept in the partition. */
  events: number;
  skippedOtherTenantSurface: number;
  skippedOutsideDay: number;
  /** Rejected lines by rule (only with the quarantine policy; `fail` stops at the first). */
  rejected: Record<string, number>;
}

/** A parsed block and where its lines came from (the block's bytes went to a worker). */
interface ParsedRawBlock {
  result: ParseResult;
  origin: RawOrigin;
}

/**
 * Parses the blocks of `input` on the pool (or on this thread without one) and yields the
 * results in input order as soon as each is ready, so the caller merges block k while later
 * blocks parse, and a merged block's arrays are dropped at once. At most
 * `engine.max_inflight_bytes` of raw blocks are queued or parsing: the reader waits.
 */
async function* parseBlocks(
  input: RawDay,
  params: Omit<ScanParams, 'firstBlock' | 'countOnly'>,
  config: Config,
  pool: WorkerPool | undefined,
  /** Read when each block is handed out: once set, later blocks are only counted. */
  mode: { countOnly: boolean },
): AsyncGenerator<ParsedRawBlock> {
  const queue: Array<{ block: Uint8Array; result: Promise<ParseResult>; origin: ParsedRawBlock['origin'] }> = [];
  // A block's buffer is reused once its parse has settled: raw memory stays bounded by the
  // blocks in flight whatever the garbage collectors of the threads do.
  const buffers = new BlockBuffers(PARSE_BLOCK_BYTES);
  let inflightBytes = 0;
  let shard = 0;
  const settle = async (head: (typeof queue)[number]): Promise<ParseResult> => {
    try {
      return await head.result;
    } finally {
      inflightBytes -= head.block.length;
      buffers.give(head.block);
    }
  };
  try {
    for await (const { bytes: block, ...origin } of input.blocks(PARSE_BLOCK_BYTES, buffers)) {
      while (queue.length > 0 && inflightBytes + block.length > config.engine.max_inflight_bytes) {
        const head = queue.shift()!;
        yield { result: await settle(head), origin: head.origin };
      }
      // After the wait: the consumer may have switched to count-only meanwhile.
      const task: ScanParams = { ...params, firstBlock: shard === 0, countOnly: mode.countOnly };
      const result = pool ? pool.run('ingest', { task: 'parse', shard: shard++, block, params: task }) : Promise.resolve(parseBlock(block, task));
      if (!pool) shard++;
      result.catch(() => undefined); // awaited in order below; a failure must not go unhandled meanwhile
      queue.push({ block, result, origin });
      inflightBytes += block.length;
    }
    while (queue.length > 0) {
      const head = queue.shift()!;
      yield { result: await settle(head), origin: head.origin };
    }
  } finally {
    // The consumer stopped early (a bad line): let blocks still parsing finish quietly.
    // Their buffers are not given back: nothing is read any more.
    await Promise.allSettled(queue.map((q) => q.result));
  }
}

/**
 * A line (or a database row) left out under the quarantine policy, as the rejects file
 * records it: the line number in the input and, for a database source, the row id.
 */
export interface Rejected {
  line: number;
  row_id?: string;
  reason: string;
  raw: string;
}

/** A day read and validated line by line, not yet written (see writeDay). */
export interface ReadDay {
  tenant: string;
  surface: string;
  day: string;
  input: string | null;
  counts: IngestCounts;
  canonical: CanonicalDay;
  rejections: Rejected[];
}

/** Reads, parses and checks a day; nothing is written (a backfill reads day k+1 ahead). */
export async function readDay(
  config: Config,
  tenant: string,
  surface: string,
  day: string,
  dayStart: number,
  pool?: WorkerPool,
  /** Aborted: stop at the next block (the run failed; this day will not be processed). */
  signal?: AbortSignal,
): Promise<ReadDay> {
  const input = await openRawDay(config, tenant, surface, day);
  return readInput(config, input, { tenant, surface, day, dayStart, policy: config.ingest.bad_line_policy }, pool, signal);
}

/**
 * Reads, parses and checks one input of a day (readDay's raw input, or a canonical
 * partition the Go tool wrote as JSONL, validate.ts) with the line policy given.
 */
export async function readInput(
  config: Config,
  input: RawDay,
  what: { tenant: string; surface: string; day: string; dayStart: number; policy: 'fail' | 'quarantine' },
  pool?: WorkerPool,
  signal?: AbortSignal,
): Promise<ReadDay> {
  const { tenant, surface, day, dayStart, policy } = what;
  const counts: IngestCounts = { lines: 0, events: 0, skippedOtherTenantSurface: 0, skippedOutsideDay: 0, rejected: {} };
  const builder = new CanonicalDayBuilder();
  const rejections: Rejected[] = [];
  const reject = (r: Rejected) => {
    rejections.push(r);
    counts.rejected[r.reason] = (counts.rejected[r.reason] ?? 0) + 1;
  };

  const params = { tenant, surface, dayStart, dayEnd: dayStart + MICROS_PER_DAY, failFast: policy === 'fail' };
  const maxEvents = config.limits.max_events_per_run;
  // Once the day crosses max_events_per_run it will fail; the rest of the input is parsed in
  // count-only mode (nothing stored, memory stays bounded by the limit) so that the message
  // gives the day's true count, not the count where storing stopped.
  const mode = { countOnly: false };
  let overLimit = false;
  let events = 0; // events of the day: stored, then only counted once over the limit
  let countStoppedAt: string | null = null; // where a block parsed before the switch stopped (a bad line)
  let lineBase = 0; // physical lines before the current block
  for await (const { result, origin } of parseBlocks(input, params, config, pool, mode)) {
    if (signal?.aborted) throw new Error(`reading ${day} stopped: the run failed`);
    const { parsed, badLine } = result;
    const at = (line: number) => input.where(origin, lineBase, line);
    events += parsed.events;
    if (overLimit) {
      // Blocks handed out before the switch were parsed in full mode: a bad line stopped them early.
      if (badLine && countStoppedAt === null) countStoppedAt = at(badLine.line);
      lineBase += parsed.lines;
      continue;
    }
    // Rows of a database source that gave no lines at all (placed after `before` lines of the block).
    const badRows = origin.badRows ?? [];
    const firstBadRow = badRows.find((row) => !badLine || row.before < badLine.line);
    if (policy === 'fail' && firstBadRow) throw badInput(firstBadRow.where, firstBadRow.rule);
    if (badLine) throw badInput(at(badLine.line), badLine.rule);
    const blockRejects = parsed.rejections.map((r) => ({
      order: r.line,
      rejected: { line: lineBase + r.line, ...(origin.rowIds && { row_id: origin.rowIds[r.line - 1] }), reason: r.reason, raw: r.raw },
    }));
    for (const row of badRows) {
      blockRejects.push({ order: row.before + 0.5, rejected: { line: lineBase + row.before, row_id: row.rowId, reason: row.rule, raw: row.raw } });
      counts.lines++;
    }
    for (const r of blockRejects.sort((a, b) => a.order - b.order)) reject(r.rejected);
    counts.lines += parsed.nonBlank;
    counts.skippedOtherTenantSurface += parsed.skippedOtherTenantSurface;
    counts.skippedOutsideDay += parsed.skippedOutsideDay;
    lineBase += parsed.lines;
    if (builder.rows + parsed.events > maxEvents) {
      overLimit = true;
      mode.countOnly = true;
      continue;
    }
    builder.addBlock(parsed, tenant, surface);
  }
  if (overLimit) {
    throw limitExceeded('max_events_per_run', events, maxEvents, countStoppedAt && `reading stopped at a bad line, ${countStoppedAt}`);
  }

  if (rejections.length > 0) {
    const fraction = rejections.length / counts.lines;
    const max = config.ingest.max_rejected_fraction;
    if (fraction > max) {
      const first = rejections[0];
      // Bad input like a line under `fail`: exit 3, the same file fails the same way on a retry.
      throw badInput(
        input.name ?? '',
        `${rejections.length} of ${counts.lines} lines rejected ` +
          `(${(fraction * 100).toFixed(2)}% > ingest.max_rejected_fraction ${max}); first at line ${first.line}: ${first.reason}`,
      );
    }
  }

  const canonical = await buildDay(builder, 'ingest', pool);
  counts.events = canonical.rows;
  return { tenant, surface, day, input: input.name, counts, canonical, rejections };
}

/** The builder's day: its dictionary columns merged, on the pool (in parallel) when there is one. */
export function buildDay(builder: CanonicalDayBuilder, stage: string, pool?: WorkerPool): Promise<CanonicalDay> {
  if (!pool) return Promise.resolve(builder.finish());
  return builder.finishOn((column, runs) => pool.run(stage, { task: 'merge', column, runs }));
}

/** What the source held for the day: no input at all, an input without lines, or one with lines. */
export function rawState(read: Pick<ReadDay, 'input' | 'counts'>): RawState {
  if (read.input === null) return 'missing';
  return read.counts.lines === 0 ? 'empty' : 'present';
}

/**
 * Replaces the day's canonical partition (and rejects file) atomically, then writes its
 * ingest record (partitions.ts); the promise settles when all are durable (fsynced and
 * renamed into place), and the ingest stage is reported done only then (run.ts). The record
 * goes last, once the partition is durable, so a record never describes a partition that is
 * not there yet. With a pool the partition is encoded and written on a worker, so the next
 * day's read can go on meanwhile.
 */
export function writeDay(config: Config, read: ReadDay, pool?: WorkerPool): Promise<void> {
  const { tenant, surface, day, canonical, rejections } = read;
  const folder = openFolders(config).canonical;
  const partition = partitionRel(tenant, surface, day);
  const rejects = rejectsRel(tenant, surface, day);
  const write = async () => {
    faultPoint('after-ingest-parse');
    // Only temp files of dead writers go, so the clean-up may run alongside our own write.
    const cleaned = removeStaleIngestTemps(config, tenant, surface, day);
    try {
      if (canonical.rows === 0) await folder.remove(partition);
      else {
        // Written locally (on a worker when there is a pool), then uploaded when the folder is on S3.
        const local = folder.localPath(partition);
        if (pool) await pool.run('ingest', { task: 'partition', day: encodableDay(canonical), path: local });
        else await writePartition(canonical, local);
        await folder.commit(partition);
      }
    } finally {
      await cleaned;
    }
    faultPoint('after-partition-write');
    if (rejections.length > 0) await folder.write(rejects, rejections.map((r) => encodeCompact(r) + '\n').join(''));
    else await folder.remove(rejects);
    const record: IngestRecord = {
      v: 1,
      tenant,
      surface,
      day,
      events: canonical.rows,
      lines: read.counts.lines,
      raw: rawState(read),
      input: read.input,
    };
    await folder.write(ingestRecordRel(tenant, surface, day), encodeIngestRecord(record));
  };
  const written = write();
  written.catch(() => undefined); // awaited by the caller; must not go unhandled meanwhile
  return written;
}
