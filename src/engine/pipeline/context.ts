/**
 * What every stage of a day reads: the run's settings and resources (RunContext, fixed for
 * the whole command) and the day with its window (DayContext).
 */
import type { ArtifactType } from '../artifact-types';
import type { Config } from '../../config/types';
import type { DriftAllowances } from '../drift';
import type { CatalogItem } from '../../io/sources/catalog';
import type { Scope } from '../../scope';
import type { WorkerPool } from '../threads/pool';
import type { Stage } from './progress';
import type { DayWindow } from './window';

export interface RunContext {
  config: Config;
  scope: Scope;
  /** The stages the command runs for each day. */
  stages: readonly Stage[];
  /** The artifact types compute and publish handle, in canonical order. */
  types: readonly ArtifactType[];
  /** Null for commands that run nothing on workers (publish, validate). */
  pool: WorkerPool | null;
  /** Loaded once per run when a computed type needs it; empty otherwise. */
  catalog: readonly CatalogItem[];
  /** The build time every artifact of the run carries. */
  builtAt: string;
  now: () => Date;
  /** What lifts the drift gate for this run (`--allow-drift`; `--allow-empty` or `gates.allow_empty`). */
  allow: DriftAllowances;
  /** A notice on the progress stream (never a failure). */
  notice: (message: string) => void;
}

export interface DayContext extends RunContext {
  day: string;
  window: DayWindow;
}
