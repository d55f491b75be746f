/**
 * Progress and logs on stderr (stdout is kept for the final summary and `--json` output).
 *
 * `--log-format text` (default): one line per day per stage, `2026-01-01 ingest 1000000 events 3.2s`.
 * When stderr is a terminal the lines are replaced by one progress line that is rewritten
 * in place (`[3/30] 2026-01-03 compute ...`); failures and notices still get a line of their own.
 * `--log-format json`: one JSON object per line, always with the keys
 * `{ts, level, event, day, stage, counts, ms}` (null when they do not apply) and, for
 * errors, `code` and `message`. Events: `stage_done`, `day_failed`, `drift` (the drift gate's
 * figures of a publish, with `blocked` and `drift`), `notice`, `warning`, `error`.
 */
import type { PipelineError } from '../../errors';
import type { DriftFigures } from '../drift';

export type LogFormat = 'text' | 'json';
export type Stage = 'ingest' | 'validate' | 'compute' | 'publish';
export type Counts = Record<string, number>;

export interface Reporter {
  /** The number of days the command covers (for the TTY progress line). */
  plan(days: number): void;
  /** A stage of a day starts (only the TTY progress line shows it). */
  begin(day: string, stage: Stage): void;
  /** A stage of a day finished. */
  done(day: string, stage: Stage, counts: Counts, ms: number): void;
  /** A day failed in `stage`; with --continue-on-error the command goes on with the next day. */
  dayFailed(day: string, stage: Stage, err: PipelineError, ms: number): void;
  notice(message: string): void;
  /**
   * The drift gate's figures of a day's publish, blocked or not (JSON logs: a `drift`
   * record; text: nothing, the summary and the failure message carry them).
   */
  drift(day: string, figures: DriftFigures[], blocked: boolean): void;
  /** Something went wrong that does not fail the command (a metrics push). */
  warn(message: string): void;
  /** The error that ends the command: always the last line (`error: …`, or an `error` JSON record), also after dayFailed. */
  fatal(err: PipelineError): void;
  /** Clears the TTY progress line; call before printing the summary. */
  close(): void;
}

export interface ReporterOptions {
  format: LogFormat;
  write: (text: string) => void;
  /** Rewrite one progress line in place (text format only). */
  tty?: boolean;
  /** Clock of the `ts` field. */
  clock?: () => Date;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** `1000000 events` plus what a reader needs per stage; zero extras are left out. */
export function describeCounts(stage: Stage, c: Counts): string {
  const parts: string[] = [];
  const add = (n: number | undefined, what: string, always = false) => {
    if (n !== undefined && (always || n !== 0)) parts.push(`${n} ${what}`);
  };
  switch (stage) {
    case 'ingest':
      add(c.events, 'events', true);
      if (c.lines !== c.events) add(c.lines, 'lines'); // only when some were skipped or rejected
      add(c.skipped_other_tenant_surface, 'skipped (other tenant/surface)');
      add(c.skipped_outside_day, 'skipped (outside the day)');
      add(c.rejected, 'rejected');
      break;
    case 'validate':
      add(c.events, 'events', true);
      add(c.sessions, 'sessions', true);
      add(c.items, 'items', true);
      add(c.users, 'users', true);
      break;
    default:
      add(c.artifacts, 'artifacts', true);
      add(c.bytes, 'bytes', true);
  }
  return parts.join(' ');
}

export function createReporter(opts: ReporterOptions): Reporter {
  return opts.format === 'json' ? new JsonReporter(opts) : new TextReporter(opts);
}

/** Errors already printed as a day failure: the final line then carries the code too, as the day's line did. */
const reportedAsDay = new WeakSet<object>();

class TextReporter implements Reporter {
  private total = 0;
  private dayIndex = 0;
  private lastDay = '';
  private lineOpen = false;

  constructor(private readonly opts: ReporterOptions) {}

  plan(days: number): void {
    this.total = days;
  }

  begin(day: string, stage: Stage): void {
    if (day !== this.lastDay) {
      this.lastDay = day;
      this.dayIndex++;
    }
    if (this.opts.tty) this.status(`${day} ${stage} ...`);
  }

  done(day: string, stage: Stage, counts: Counts, ms: number): void {
    const line = `${day} ${stage} ${describeCounts(stage, counts)} ${seconds(ms)}`;
    if (this.opts.tty) this.status(line);
    else this.opts.write(line + '\n');
  }

  dayFailed(day: string, stage: Stage, err: PipelineError, ms: number): void {
    reportedAsDay.add(err);
    this.line(`${day} ${stage} failed after ${seconds(ms)}: ${err.message} [${err.code}]`);
  }

  notice(message: string): void {
    this.line(message);
  }

  drift(): void {}

  warn(message: string): void {
    this.line(`warning: ${message}`);
  }

  fatal(err: PipelineError): void {
    // Always the last line, also after the day's own failure line: a reader of the tail of
    // the log sees how the command ended.
    this.line(`error: ${err.message}${reportedAsDay.has(err) ? ` [${err.code}]` : ''}`);
  }

  close(): void {
    if (this.lineOpen) this.opts.write('\r\x1b[2K');
    this.lineOpen = false;
  }

  /** The in-place progress line: `[3/30] 2026-01-03 compute 2 artifacts 1234 bytes 0.4s`. */
  private status(text: string): void {
    const counter = this.total > 0 ? `[${this.dayIndex}/${this.total}] ` : '';
    this.opts.write(`\r\x1b[2K${counter}${text}`);
    this.lineOpen = true;
  }

  /** A line of its own (above the progress line on a TTY). */
  private line(text: string): void {
    this.close();
    this.opts.write(text + '\n');
  }
}

class JsonReporter implements Reporter {
  constructor(private readonly opts: ReporterOptions) {}

  plan(): void {}
  begin(): void {}
  close(): void {}

  done(day: string, stage: Stage, counts: Counts, ms: number): void {
    this.emit('info', 'stage_done', day, stage, counts, ms);
  }

  dayFailed(day: string, stage: Stage, err: PipelineError, ms: number): void {
    reportedAsDay.add(err);
    this.emit('error', 'day_failed', day, stage, null, ms, { code: err.code, message: err.message });
  }

  notice(message: string): void {
    this.emit('info', 'notice', null, null, null, null, { message });
  }

  drift(day: string, figures: DriftFigures[], blocked: boolean): void {
    this.emit(blocked ? 'error' : 'info', 'drift', day, 'publish', null, null, { blocked, drift: figures });
  }

  warn(message: string): void {
    this.emit('warn', 'warning', null, null, null, null, { message });
  }

  fatal(err: PipelineError): void {
    this.emit('error', 'error', null, null, null, null, { code: err.code, message: err.message });
  }

  private emit(
    level: 'info' | 'warn' | 'error',
    event: string,
    day: string | null,
    stage: Stage | null,
    counts: Counts | null,
    ms: number | null,
    extra: Record<string, unknown> = {},
  ): void {
    const ts = (this.opts.clock ?? (() => new Date()))().toISOString();
    const record = { ts, level, event, day, stage, counts, ms: ms === null ? null : Math.round(ms), ...extra };
    this.opts.write(JSON.stringify(record) + '\n');
  }
}
