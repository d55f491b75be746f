/**
 * Ingest one (tenant, surface, UTC day): raw JSONL → validated, normalised events →
 * canonical Arrow partition, replaced atomically (SPEC §1, §3).
 *
 * Nothing is written until the whole input has been read: with the `fail` policy the first
 * bad line stops the day and the previous partition stays as it was.
 */
import { promises as fs } from 'node:fs';
import { MICROS_PER_DAY } from '../days';
import { badInput, PipelineError } from '../errors';
import { writeFileAtomic } from '../io/atomic';
import { CanonicalDay, CanonicalDayBuilder, encodeCanonical, partitionPath, rejectsPath } from '../io/canonical';
import { isBlankLine, parseExposureLine } from '../io/exposure';
import { encodeCompact } from '../io/go-json';
import { readLines } from '../io/lines';
import { resolveRawFiles } from '../io/raw-source';
import type { Config } from '../config';

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

export interface IngestResult {
  day: string;
  input: string | null;
  partition: string | null;
  counts: IngestCounts;
  canonical: CanonicalDay;
}

interface Rejection {
  line: number;
  reason: string;
  raw: string;
}

export async function ingestDay(config: Config, tenant: string, surface: string, day: string, dayStart: number): Promise<IngestResult> {
  const dayEnd = dayStart + MICROS_PER_DAY;
  const source = resolveRawFiles(config.raw_source.dir as string, tenant, surface, day);
  const counts: IngestCounts = { lines: 0, events: 0, skippedOtherTenantSurface: 0, skippedOutsideDay: 0, rejected: {} };
  const builder = new CanonicalDayBuilder();
  const rejections: Rejection[] = [];
  const policy = config.ingest.bad_line_policy;

  if (source.kind !== 'none') {
    for await (const line of readLines(source.path)) {
      if ('invalidUtf8' in line) {
        counts.lines++;
        reject(source.path, line.lineNo, 'invalid UTF-8', '');
        continue;
      }
      if (isBlankLine(line.text)) continue;
      counts.lines++;
      const parsed = parseExposureLine(line.text);
      if (!parsed.ok) {
        reject(source.path, line.lineNo, parsed.rule, line.text);
        continue;
      }
      const e = parsed.event;
      if (e.tenant !== tenant || e.surface !== surface) counts.skippedOtherTenantSurface++;
      else if (e.tsMicros < dayStart || e.tsMicros >= dayEnd) counts.skippedOutsideDay++;
      else builder.add(e);
    }
  }

  function reject(path: string, lineNo: number, rule: string, raw: string): void {
    if (policy === 'fail') throw badInput(`${path}:${lineNo}`, rule);
    counts.rejected[rule] = (counts.rejected[rule] ?? 0) + 1;
    rejections.push({ line: lineNo, reason: rule, raw });
  }

  if (rejections.length > 0) {
    const fraction = rejections.length / counts.lines;
    const max = config.ingest.max_rejected_fraction;
    if (fraction > max) {
      const first = rejections[0];
      throw new PipelineError(
        'E_BAD_INPUT',
        1,
        `bad input: ${source.kind === 'none' ? '' : source.path}: ${rejections.length} of ${counts.lines} lines rejected ` +
          `(${(fraction * 100).toFixed(2)}% > ingest.max_rejected_fraction ${max}); first at line ${first.line}: ${first.reason}`,
      );
    }
  }

  const canonical = builder.finish();
  counts.events = canonical.rows;
  const partition = partitionPath(config.canonical_dir, tenant, surface, day);
  const rejects = rejectsPath(config.canonical_dir, tenant, surface, day);
  if (canonical.rows > 0) await writeFileAtomic(partition, encodeCanonical(canonical));
  else await removeIfPresent(partition);
  if (rejections.length > 0) await writeFileAtomic(rejects, rejections.map((r) => encodeCompact(r) + '\n').join(''));
  else await removeIfPresent(rejects);

  return {
    day,
    input: source.kind === 'none' ? null : source.path,
    partition: canonical.rows > 0 ? partition : null,
    counts,
    canonical,
  };
}

async function removeIfPresent(path: string): Promise<void> {
  await fs.rm(path, { force: true });
}
