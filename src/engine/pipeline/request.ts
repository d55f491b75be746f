/**
 * What a pipeline command is asked to do (RunRequest) and what it reports back
 * (RunSummary): the interface between the CLI and the day loop.
 */
import type { ArtifactType } from '../artifact-types';
import type { Config } from '../../config/types';
import type { ErrorCode, ExitCode } from '../../errors';
import type { PublishedArtifact } from '../publisher';
import type { DriftFigures } from '../drift';
import type { SignalCounts } from '../../io/postgres/signals';
import type { IngestCounts } from './ingest';
import type { WorkPart } from './part';
import type { Reporter, Stage } from './progress';

export type { Stage } from './progress';

/** The day-by-day commands: `run` and the job steps. */
export type PipelineCommand = 'run' | 'ingest' | 'validate' | 'compute' | 'publish';

/** The stages each command runs for every day, in order. */
export const COMMAND_STAGES: Readonly<Record<PipelineCommand, readonly Stage[]>> = {
  run: ['ingest', 'validate', 'compute', 'publish'],
  ingest: ['ingest'],
  validate: ['validate'],
  compute: ['validate', 'compute'],
  publish: ['publish'],
};

export interface RunRequest {
  config: Config;
  tenant: string;
  surface: string;
  segment: string;
  start?: string;
  end?: string;
  incremental: boolean;
  /** Default 'run'. */
  command?: PipelineCommand;
  /** The types compute and publish handle; default `config.artifact_kinds` (`compute --type` gives one). */
  types?: ArtifactType[];
  /**
   * Only this part of the command's units (an Indexed Job's pod, `--index/--count`; part.ts);
   * default all of them. For ingest and validate, not for run or publish.
   */
  part?: WorkPart;
  /** `--allow-drift`: the drift thresholds are not applied for this run. */
  allowDrift?: boolean;
  /** `--allow-empty`: publish days whose raw input is missing, and empty artifacts over non-empty ones (as gates.allow_empty). */
  allowEmpty?: boolean;
  /** Report a failed day and go on with the next one (the command still fails at the end). */
  continueOnError?: boolean;
  /** Progress on stderr; default: text lines to `log`. */
  reporter?: Reporter;
  /** Sink of the default text reporter, one line per call (no trailing newline). */
  log?: (line: string) => void;
  now?: () => Date;
  /** Monotonic milliseconds the stage times are measured with; default performance.now (tests inject one). */
  clock?: () => number;
  /**
   * Receives the summary when the day loop ends, also when it ends with an error (the days
   * done and the failed one), so that the metrics describe failed runs too.
   */
  onFinish?: (summary: RunSummary) => void;
  /**
   * Aborted (reason: the signal) when SIGINT or SIGTERM asks the command to stop: the stage
   * under way finishes (nothing is left half-written), no later stage starts, and the command
   * fails with E_INTERRUPTED.
   */
  stop?: AbortSignal;
}

/** Size of a validated window (what the hard limits looked at). */
export interface WindowCounts {
  events: number;
  sessions: number;
  items: number;
  users: number;
  max_items_per_session: number;
}

export interface StagedInfo {
  type: ArtifactType;
  version: string;
  bytes: number;
  /** Rows of the payload (items, neighbour rows or users). */
  rows: number;
  path: string;
}

export interface DaySummary {
  day: string;
  /** The raw file ingest read (null: no file, the day has no events, or ingest did not run). */
  input: string | null;
  /** Ingest counts; null when the command does not ingest. */
  counts: IngestCounts | null;
  /** Validated window; null when the command does not validate. */
  window: WindowCounts | null;
  /** Milliseconds per stage (0 for stages the command does not run). */
  ms: Record<Stage, number>;
  staged: StagedInfo[];
  published: PublishedArtifact[];
  /** Rows upserted into the Postgres signal tables after publish (with db.dsn). */
  signals?: SignalCounts;
}

export interface DayFailure {
  day: string;
  stage: Stage;
  code: ErrorCode;
  exitCode: ExitCode;
  message: string;
  /** Set when the drift gate blocked the publish (metrics reason="drift"): the figures of the day's artifacts. */
  drift?: DriftFigures[];
  /** Set when the day failed after the manifest swap: its artifacts are live, its checkpoint is not. */
  live?: true;
}

export interface RunSummary {
  command: PipelineCommand;
  stages: readonly Stage[];
  tenant: string;
  surface: string;
  segment: string;
  /** Days that completed, in order. */
  days: DaySummary[];
  /** Days that failed (only more than one with continueOnError). */
  failed: DayFailure[];
  /** The manifest, when this command published something (else it may not exist: null). */
  manifest: string | null;
  /** The part done (`--index/--count`) and the command's units over all parts; absent without a split. */
  part?: WorkPart & { units: number; partUnits: number };
}
