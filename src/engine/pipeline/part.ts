/**
 * The work split of a Kubernetes Indexed Job (docs/cli.md "Splitting a job step"): a job step's
 * units, ordered day-major (the days; for `compute`, day × type in `artifact_kinds` order),
 * cut into `count` contiguous parts; part `index` is the block
 * [⌊index·U/count⌋, ⌊(index+1)·U/count⌋). The parts cover every unit exactly once whatever
 * `count` is (with more parts than units some parts are empty), and each pod computes its
 * part from the flags alone: no coordination between pods.
 */
import { usageError } from '../../errors';
import type { ArtifactType } from '../artifact-types';

/** Part `index` of `count` (0 ≤ index < count). */
export interface WorkPart {
  index: number;
  count: number;
}

/** A day of a part and the types it computes there (every selected type for ingest and validate). */
export interface PartDay {
  day: string;
  types: ArtifactType[];
}

/** The contiguous block of `units` that part `index` of `count` does. */
export function workPartOf<T>(units: readonly T[], index: number, count: number): T[] {
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 0 || index >= count) {
    throw usageError(`work part ${index} of ${count}: need integers 0 <= index < count`);
  }
  const total = units.length;
  // Exact for any realistic unit count (index·total stays far below 2^53).
  return units.slice(Math.floor((index * total) / count), Math.floor(((index + 1) * total) / count));
}

/**
 * The days (in order) of a job step's part, each with the types it handles there. Units are
 * days, or with `perType` (compute) day × type in the order of `types`; a day split between
 * two parts gives each part some of its types.
 */
export function partDays(days: readonly string[], types: readonly ArtifactType[], part: WorkPart, perType: boolean): PartDay[] {
  const units: Array<{ day: string; type: ArtifactType | null }> = perType
    ? days.flatMap((day) => types.map((type) => ({ day, type })))
    : days.map((day) => ({ day, type: null }));
  const out: PartDay[] = [];
  for (const unit of workPartOf(units, part.index, part.count)) {
    let last = out[out.length - 1];
    if (last === undefined || last.day !== unit.day) {
      last = { day: unit.day, types: perType ? [] : [...types] };
      out.push(last);
    }
    if (unit.type !== null) last.types.push(unit.type);
  }
  return out;
}

/** The units of a command over `days`: days, or day × type for compute. */
export function unitCount(days: readonly string[], types: readonly ArtifactType[], perType: boolean): number {
  return perType ? days.length * types.length : days.length;
}

/** Environment variable the Kubernetes Job controller sets to the pod's completion index. */
export const JOB_COMPLETION_INDEX = 'JOB_COMPLETION_INDEX';

/**
 * The part `--index`/`--count` select, or undefined without `--count`. With `--count` and no
 * `--index`, the index is `$JOB_COMPLETION_INDEX` (an Indexed Job's pod). Usage errors (exit
 * 2) name the flag: `--index` without `--count`, an index ≥ count, no index at all.
 */
export function workPartFromFlags(flags: { index?: number; count?: number }, env: NodeJS.ProcessEnv = process.env): WorkPart | undefined {
  if (flags.count === undefined) {
    if (flags.index !== undefined) throw usageError('--index needs --count (the number of parts the work is split into)');
    return undefined;
  }
  let index = flags.index;
  if (index === undefined) {
    const fromEnv = env[JOB_COMPLETION_INDEX];
    if (fromEnv === undefined || fromEnv === '') {
      throw usageError(`--index: --count ${flags.count} is given but neither --index nor $${JOB_COMPLETION_INDEX} (set by an Indexed Job) is`);
    }
    if (!/^\d+$/.test(fromEnv)) throw usageError(`--index: $${JOB_COMPLETION_INDEX} must be an integer >= 0, got ${JSON.stringify(fromEnv)}`);
    index = Number(fromEnv);
  }
  if (index >= flags.count) {
    throw usageError(`--index ${index} must be below --count ${flags.count} (parts are numbered 0..${flags.count - 1})`);
  }
  return { index, count: flags.count };
}
