/**
 * UTC day arithmetic. A day is a `YYYY-MM-DD` string; its window is [00:00, 24:00) UTC.
 * Timestamps inside the engine are integer microseconds since the Unix epoch, held in
 * plain numbers (exact up to year 2255).
 */
import { usageError } from './errors';

export const MICROS_PER_DAY = 86_400_000_000;

const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Parses `YYYY-MM-DD` (a real calendar date) to the epoch micros of its 00:00 UTC, or null.
 * Days are limited to 1970-01-01 .. 2200-12-31: timestamps are integer microseconds held
 * exactly in a double, and the day after must still be a `YYYY-MM-DD`.
 */
export function dayStartMicros(day: string): number | null {
  const m = DAY_RE.exec(day);
  if (!m) return null;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  if (y < 1970 || y > 2200) return null;
  return ms * 1000;
}

/** Like dayStartMicros but a usage error (exit 2) naming the flag when the date is invalid. */
export function parseDayFlag(flag: string, day: string): number {
  const start = dayStartMicros(day);
  if (start === null) throw usageError(`${flag} must be a date YYYY-MM-DD between 1970-01-01 and 2200-12-31, got "${day}"`);
  return start;
}

export function dayOfMicros(micros: number): string {
  return new Date(Math.floor(micros / 1000)).toISOString().slice(0, 10);
}

export function addDays(day: string, n: number): string {
  return dayOfMicros((dayStartMicros(day) as number) + n * MICROS_PER_DAY);
}

/** Number of days from start to end inclusive (0 when end < start). */
export function dayCount(start: string, end: string): number {
  return Math.max(0, ((dayStartMicros(end) as number) - (dayStartMicros(start) as number)) / MICROS_PER_DAY + 1);
}

/** Inclusive list of days from start to end (empty when end < start). */
export function daysBetween(start: string, end: string): string[] {
  const out: string[] = [];
  for (let d = start; d <= end; d = addDays(d, 1)) out.push(d);
  return out;
}

/** RFC 3339 UTC with whole seconds, the format of artifact windows and build times. */
export function rfc3339Seconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
