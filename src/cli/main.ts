/**
 * The command line (docs/contract.md §8). Exit codes: 0 success, 1 runtime failure (a step, a gate or
 * a limit failed), 2 usage or config error. A user mistake never prints a stack trace.
 *
 * stdout carries the final summary (or the `--json` object); progress, logs and errors go
 * to stderr (`--log-format text|json`).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { configWithOverrides, loadConfig, metricsTextfileFlag } from '../config/load';
import { ARTIFACT_TYPE_DEFS, artifactTypeOf, describeArtifactTypes, type ArtifactType } from '../engine/artifact-types';
import { combinedExitCode, configError, interrupted, isPipelineError, PipelineError, usageError } from '../errors';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { importCatalog } from '../io/postgres/catalog-import';
import { pathSegment } from '../io/atomic';
import { checkpointRel } from '../io/store/checkpoint';
import { openFolders } from '../io/store/folder';
import { S3Bucket } from '../io/store/s3/bucket';
import { openStorage } from '../io/store/open';
import { planRun } from '../engine/ops/dry-run';
import { readHistory } from '../engine/ops/history';
import { diffArtifacts } from '../engine/ops/diff';
import { parseDayFlag } from '../days';
import { formatDiff } from './diff';
import { rollback } from '../engine/ops/rollback';
import { COMMAND_STAGES, type PipelineCommand, type RunSummary } from '../engine/pipeline/request';
import { JOB_COMPLETION_INDEX, workPartFromFlags } from '../engine/pipeline/part';
import { runPipeline } from '../engine/pipeline/run';
import { parseDuration, readStatus } from '../engine/ops/status';
import type { LogFormat, Reporter } from '../engine/pipeline/progress';
import { createReporter } from '../engine/pipeline/progress';
import { PACKAGE_VERSION as VERSION } from '../package-root';
import { formatHistory, formatPlan, formatRollback, formatRunSummary, formatStatus } from './summary';
import { statusMetricsText, withRunMetrics, writeStatusTextfile } from './metrics';

interface ScopeFlags {
  config: string;
  tenant: string;
  surface: string;
}

/** Where the metrics of a state-changing command go (override the config's `metrics`). */
interface MetricsFlags {
  metricsTextfile?: string;
  pushgateway?: string;
}

interface DayFlags extends ScopeFlags, MetricsFlags {
  segment?: string;
  start?: string;
  end?: string;
  incremental?: boolean;
  workers?: number;
  windowDays?: number;
  logFormat: LogFormat;
  continueOnError?: boolean;
  dryRun?: boolean;
  type?: string;
  index?: number;
  count?: number;
  allowDrift?: boolean;
  allowEmpty?: boolean;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('must be an integer >= 1');
  return n;
}

function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be an integer >= 0');
  return Number(value);
}

/** `--index/--count`: the part of a job step's units an Indexed Job's pod does (docs/cli.md "Splitting a job step"). */
function withPartFlags(command: Command): Command {
  return command
    .addOption(new Option('--index <i>', `part to do, 0..count-1 (default: $${JOB_COMPLETION_INDEX} when --count is given)`).argParser(nonNegativeInt))
    .addOption(
      new Option('--count <n>', 'split the units (days; compute: day × type) into n contiguous parts and do only part --index').argParser(positiveInt),
    );
}

/**
 * Loads the config and checks the ids that become path segments, before anything is read or
 * written.
 */
function prepare(flags: ScopeFlags & MetricsFlags & { segment?: string; workers?: number; windowDays?: number }) {
  const tenant = pathSegment('--tenant', flags.tenant);
  const surface = pathSegment('--surface', flags.surface);
  const segment = flags.segment === undefined || flags.segment === '' ? '' : pathSegment('--segment', flags.segment);
  const config = configWithOverrides(loadConfig(flags.config), {
    workers: flags.workers,
    windowDays: flags.windowDays,
    metricsTextfile: flags.metricsTextfile,
    pushgateway: flags.pushgateway,
  });
  checkpointRel(tenant, surface, segment); // refuses the reserved segment "_" up front
  openStorage(config); // contacts nothing; a bad object_store.s3 (half-set credentials) fails now, not after compute
  openFolders(config); // the same for s3:// folders
  if (config.raw_source.s3) new S3Bucket(config.raw_source.s3, { configKey: 'raw_source.s3' }); // the same for raw_source.s3
  return { config, tenant, surface, segment };
}

/**
 * More worker threads than cores: accepted (output does not depend on the count), but the
 * threads take turns on the cores, so the run is slower than with one per core.
 */
function warnIfOversubscribed(workers: number, flag: number | undefined, reporter: Reporter): void {
  const cores = availableParallelism();
  if (workers <= cores) return;
  const source = flag === undefined ? `engine.workers ${workers}` : `--workers ${workers}`;
  reporter.warn(
    `${source} exceeds the ${cores} core(s) of this machine (os.availableParallelism()): the run will be slower than with --workers ${cores}, not faster`,
  );
}

/** `--type` (a type or an alias) as an artifact type. */
function artifactTypeFlag(value: string): ArtifactType {
  const type = artifactTypeOf(value);
  if (type === undefined) throw usageError(`--type: unknown artifact type ${JSON.stringify(value)} (valid: ${describeArtifactTypes()})`);
  return type;
}

/** `popularity, cooc, …, content_sim (content), …`: the types for --help. */
const TYPE_CHOICES = ARTIFACT_TYPE_DEFS.map((d) => (d.aliases.length ? `${d.name} (${d.aliases.join(', ')})` : d.name)).join(', ');

/** An error whose message the reporter already printed; main only turns it into the exit code. */
class Reported extends Error {
  constructor(readonly exitCode: number) {
    super(`exit code ${exitCode} (already reported)`);
  }
}

/** Runs a command's action with its reporter; a PipelineError is printed through it (text or JSON). */
async function withReporter(io: CliOutput, format: LogFormat, action: (reporter: Reporter) => Promise<void>): Promise<void> {
  const reporter = createReporter({
    format,
    write: io.err,
    tty: format === 'text' && io.errIsTTY,
  });
  try {
    await action(reporter);
  } catch (err) {
    if (!isPipelineError(err)) throw err;
    reporter.fatal(err);
    throw new Reported(err.exitCode);
  }
}

/** The error a command with --continue-on-error ends with when some days failed. */
/** The flags of the commands that change state: where their metrics go. */
function withMetricsFlags(command: Command): Command {
  return command
    .option(
      '--metrics-textfile <path>',
      "write this run's metrics for the node_exporter textfile collector, atomically (a .prom file; overrides metrics.textfile)",
    )
    .option('--pushgateway <url>', "push this run's metrics to a Prometheus Pushgateway (overrides metrics.pushgateway.url)");
}

/** Metrics problems are warnings: the text goes to stderr, the exit code is the command's. */
const warnOnStderr = (message: string) => process.stderr.write(`warning: ${message}\n`);

/**
 * SIGINT / SIGTERM during a day command: the first asks the day loop to stop after the stage
 * under way (it then prints what was done and fails with E_INTERRUPTED, exit 130 / 143); a
 * second one stops the process at once with the same exit code.
 */
function stopOnSignals(reporter: Reporter): { signal: AbortSignal; remove: () => void } {
  const stop = new AbortController();
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((name) => {
    const handler = () => {
      const exitCode = interrupted(name, '').exitCode;
      if (stop.signal.aborted) {
        reporter.close();
        process.stderr.write(`error: interrupted by ${name} again: stopped at once\n`);
        process.exit(exitCode);
      }
      reporter.notice(`${name} received: stopping after the stage under way (${name === 'SIGINT' ? 'Ctrl-C' : 'send it'} again to stop at once)`);
      stop.abort(name);
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  return { signal: stop.signal, remove: () => handlers.forEach(([name, handler]) => process.off(name, handler)) };
}

function daysFailed(s: RunSummary): PipelineError {
  const total = s.days.length + s.failed.length;
  const which = s.failed.map((f) => `${f.day} (${f.code})`).join(', ');
  return new PipelineError(s.failed[0].code, combinedExitCode(s.failed.map((f) => f.exitCode)), `${s.failed.length} of ${total} day(s) failed: ${which}`);
}

/**
 * Where the CLI writes: `out` gets the summary (stdout), `err` progress, logs and errors
 * (stderr). The process's own streams by default; tests pass their own to run the CLI in
 * their process.
 */
export interface CliOutput {
  out: (s: string) => void;
  err: (s: string) => void;
  /** stderr is a terminal: text progress rewrites one line in place. */
  errIsTTY: boolean;
}

function processOutput(): CliOutput {
  return {
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
    errIsTTY: process.stderr.isTTY === true,
  };
}

export function buildProgram(io: CliOutput = processOutput()): Command {
  const { out } = io;
  const program = new Command('recsys-pipelines')
    .description('Turns raw exposure logs into versioned, rollbackable recommendation artifacts.')
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: io.err })
    .showHelpAfterError('(run with --help for usage)')
    // `--version`/`-V` before a command prints the version; after one it is that command's
    // option (`rollback --version <v>`): program options are read only before the command.
    .enablePositionalOptions()
    .version(`recsys-pipelines ${VERSION}`, '-V, --version', 'print the version');

  /** The flags every day-by-day command shares (run and the job steps). */
  const dayCommand = (name: PipelineCommand, description: string) =>
    withMetricsFlags(program.command(name))
      .description(description)
      .requiredOption('--config <path>', 'config file (JSON)')
      .requiredOption('--tenant <tenant>', 'tenant id')
      .requiredOption('--surface <surface>', 'surface id')
      .option('--segment <segment>', 'segment written into the artifacts and the staging path', '')
      .option('--start <YYYY-MM-DD>', 'first day (inclusive)')
      .option('--end <YYYY-MM-DD>', 'last day (inclusive); with --incremental defaults to yesterday (UTC)')
      .option('--incremental', 'start the day after the checkpoint (the last published day)')
      .addOption(new Option('--workers <n>', 'worker threads (overrides engine.workers)').argParser(positiveInt))
      .addOption(new Option('--window-days <n>', "each day's artifacts cover the N days ending that day (overrides window_days)").argParser(positiveInt))
      .option('--continue-on-error', 'report a failed day and go on with the next one (at the end: exit 3 if no failure is one a retry may fix, else 1)')
      .addOption(new Option('--log-format <format>', 'progress and logs on stderr').choices(['text', 'json']).default('text'));

  const runDays = (command: PipelineCommand) => async (flags: DayFlags) =>
    withReporter(io, flags.logFormat, async (reporter) => {
      const part = workPartFromFlags(flags);
      const { config, tenant, surface, segment } = prepare(flags);
      const base = { config, tenant, surface, segment, start: flags.start, end: flags.end, incremental: Boolean(flags.incremental), part };
      if (flags.dryRun) {
        out(formatPlan(await planRun({ ...base, command: command as 'run' | 'ingest', allowEmpty: Boolean(flags.allowEmpty) })));
        return;
      }
      let types: ArtifactType[] | undefined;
      if (command === 'compute' && flags.type !== undefined) {
        const type = artifactTypeFlag(flags.type);
        if (!config.artifact_kinds.includes(type)) {
          throw usageError(`--type ${type} is not in the config's artifact_kinds (${config.artifact_kinds.join(', ')}): publish would never pick it up`);
        }
        types = [type];
      }
      const stages = COMMAND_STAGES[command];
      if (stages.includes('ingest') || stages.includes('compute')) warnIfOversubscribed(config.engine.workers, flags.workers, reporter);
      const metricsScope = {
        config,
        command,
        tenant,
        surface,
        segment,
        types: types ?? config.artifact_kinds,
        workers: stages.includes('ingest') || stages.includes('compute') ? config.engine.workers : null,
        warn: (m: string) => reporter.warn(m),
      };
      await withRunMetrics(metricsScope, async (onFinish) => {
        // The summary of what was done is printed however the day loop ends: all days done,
        // a failed day (fail-fast), or a signal; then the error line (withReporter).
        let finished = null as RunSummary | null;
        const stopOnSignal = stopOnSignals(reporter);
        try {
          const summary = await runPipeline({
            ...base,
            command,
            types,
            continueOnError: Boolean(flags.continueOnError),
            allowDrift: Boolean(flags.allowDrift),
            allowEmpty: Boolean(flags.allowEmpty),
            reporter,
            stop: stopOnSignal.signal,
            onFinish: (s) => {
              finished = s;
              onFinish(s);
            },
          });
          if (summary.failed.length > 0) throw daysFailed(summary);
        } finally {
          stopOnSignal.remove();
          if (finished !== null) out(formatRunSummary(finished, config.engine.workers));
        }
      });
    });

  /** The flags of the commands that publish: what lifts the drift gate for one run. */
  const withGateFlags = (command: Command) =>
    command
      .option('--allow-drift', 'publish even when a gates.drift threshold is crossed (this run only)')
      .option('--allow-empty', 'publish days whose raw input is missing, and empty artifacts over non-empty ones (as gates.allow_empty: true)');

  withGateFlags(dayCommand('run', 'ingest → validate → compute → publish every day of --start..--end'))
    .option('--dry-run', 'print the plan (days, input files, sizes, estimated events) and write nothing')
    .action(runDays('run'));
  withPartFlags(dayCommand('ingest', 'raw JSONL → canonical Arrow partition, for every day'))
    .option('--dry-run', 'print the plan (days, input files, sizes, estimated events) and write nothing')
    .action(runDays('ingest'));
  withPartFlags(dayCommand('validate', 'check the canonical partitions: gates and hard limits')).action(runDays('validate'));
  withPartFlags(dayCommand('compute', 'compute artifact types from the canonical partitions and stage them (no publish)'))
    .option('--type <type>', `only this artifact type (default: every type in artifact_kinds, from one read of each partition): ${TYPE_CHOICES}`)
    .action(runDays('compute'));
  withGateFlags(dayCommand('publish', 'publish the staged artifacts of every type in artifact_kinds, day by day, and swap the manifest')).action(
    runDays('publish'),
  );

  const scopeCommand = (name: string, description: string) =>
    program
      .command(name)
      .description(description)
      .requiredOption('--config <path>', 'config file (JSON)')
      .requiredOption('--tenant <tenant>', 'tenant id')
      .requiredOption('--surface <surface>', 'surface id');

  withMetricsFlags(scopeCommand('rollback', "point one type's current artifact back at an earlier, still valid version"))
    .requiredOption('--type <type>', 'artifact type (or alias)')
    .option('--version <version>', 'the version to point at (it must have a registry record)')
    .option('--previous', 'the version that was current for --type before the current one')
    .option('--json', 'print the result as one JSON object')
    .action(async (flags: ScopeFlags & MetricsFlags & { type: string; version?: string; previous?: boolean; json?: boolean }) => {
      const { config, tenant, surface } = prepare(flags);
      const type = artifactTypeFlag(flags.type);
      const metricsScope = { config, command: 'rollback' as const, tenant, surface, segment: '', types: [type], workers: null, warn: warnOnStderr };
      await withRunMetrics(metricsScope, async () => {
        const result = await rollback({ config, tenant, surface, type, version: flags.version, previous: flags.previous });
        out(flags.json ? JSON.stringify(result) + '\n' : formatRollback(result));
      });
    });

  scopeCommand('diff', "the drift gate's figures of two artifacts of one type, side by side (reads only)")
    .requiredOption('--type <type>', 'artifact type (or alias)')
    .requiredOption('--from <ref>', 'current, staged or a version')
    .requiredOption('--to <ref>', 'staged, current or a version')
    .option('--day <YYYY-MM-DD>', 'the day whose window "staged" names (required with staged)')
    .option('--segment <segment>', 'segment of the staging path', '')
    .option('--json', 'print one JSON object')
    .action(async (flags: ScopeFlags & { type: string; from: string; to: string; day?: string; segment: string; json?: boolean }) => {
      const { config, tenant, surface, segment } = prepare(flags);
      const type = artifactTypeFlag(flags.type);
      const day = flags.day === undefined ? undefined : (parseDayFlag('--day', flags.day), flags.day);
      const result = await diffArtifacts({ config, tenant, surface, segment, type, from: flags.from, to: flags.to, day });
      out(flags.json ? JSON.stringify(result) + '\n' : formatDiff(result));
    });

  scopeCommand('history', 'past manifests, the current one, published records and the audit log')
    .option('--type <type>', 'only this artifact type')
    .option('--json', 'print one JSON object')
    .action(async (flags: ScopeFlags & { type?: string; json?: boolean }) => {
      const { config, tenant, surface } = prepare(flags);
      const type = flags.type === undefined ? undefined : artifactTypeFlag(flags.type);
      const history = await readHistory(config, tenant, surface, type);
      out(flags.json ? JSON.stringify(history) + '\n' : formatHistory(history));
    });

  scopeCommand('status', 'freshness of the current manifest: exit 0 fresh, 1 stale or missing')
    .option('--max-age <duration>', 'oldest acceptable manifest: 90s, 30m, 26h, 2d', '26h')
    .option('--json', 'print one JSON object')
    .addOption(new Option('--metrics', 'print the status as Prometheus metrics (text exposition format)').conflicts('json'))
    .option('--metrics-textfile <path>', 'also write the status metrics for the node_exporter textfile collector, atomically (a .prom file)')
    .action(async (flags: ScopeFlags & { maxAge: string; json?: boolean; metrics?: boolean; metricsTextfile?: string }) => {
      const maxAgeMs = parseDuration(flags.maxAge);
      const textfile = flags.metricsTextfile === undefined ? undefined : metricsTextfileFlag(flags.metricsTextfile);
      const { config, tenant, surface } = prepare({ config: flags.config, tenant: flags.tenant, surface: flags.surface });
      const status = await readStatus(config, tenant, surface, maxAgeMs);
      out(flags.metrics ? await statusMetricsText(status) : flags.json ? JSON.stringify(status) + '\n' : formatStatus(status));
      if (textfile !== undefined)
        await writeStatusTextfile(textfile, status).catch((err: Error) => warnOnStderr(`metrics: cannot write the textfile: ${err.message}`));
      if (status.state !== 'fresh') throw new Reported(1);
    });

  const catalog = program.command('catalog').description('catalog commands (Postgres, db.dsn)');
  catalog
    .command('import')
    .description('upsert the catalog (item_id, tags, price, created_at) into Postgres item_tags, namespace = --surface')
    .requiredOption('--config <path>', 'config file (JSON) with db.dsn')
    .requiredOption('--tenant <tenant>', 'tenant id (tenants.external_id or id)')
    .requiredOption('--surface <surface>', 'surface id: the namespace written, and the catalog rows read')
    .option('--catalog <path>', 'catalog file (default: catalog.path of the config)')
    .addOption(new Option('--format <format>', 'catalog format (default: catalog.format, or by the file extension)').choices(['csv', 'jsonl']))
    .action(async (flags: ScopeFlags & { catalog?: string; format?: 'csv' | 'jsonl' }) => {
      const { config, tenant, surface } = prepare(flags);
      if (!config.db) throw configError(`db.dsn: not set in ${flags.config}; catalog import writes item_tags in Postgres (see docs/postgres.md)`);
      const catalogPath = flags.catalog === undefined ? config.catalog?.path : resolve(flags.catalog);
      if (catalogPath === undefined) throw usageError('--catalog: no catalog file: pass --catalog <path> or set catalog.path in the config');
      const format =
        flags.format ??
        (config.catalog && config.catalog.path === catalogPath ? config.catalog.format : /\.(jsonl|ndjson)$/i.test(catalogPath) ? 'jsonl' : 'csv');
      const r = await importCatalog(config.db, { tenant, surface, catalogPath, format });
      out(
        `catalog import ${tenant}/${surface}: ${r.rows} row(s) upserted into ${r.table} (${r.items} item(s) from ${r.catalog}, tenant_id ${r.tenant_id}, namespace ${r.namespace})\n`,
      );
    });

  program
    .command('version')
    .description('print the version')
    .action(() => out(`recsys-pipelines ${VERSION}\n`));

  for (const command of allCommands(program)) addHelpFooter(command);
  return program;
}

const SCOPE = '--config configs/local.json --tenant demo --surface home';

/** Two examples per command for `--help` (commands as "<parent> <name>" for subcommands). */
const HELP_EXAMPLES: Record<string, [string, string]> = {
  run: [`run ${SCOPE} --start 2026-01-01 --end 2026-01-03`, `run ${SCOPE} --incremental --log-format json`],
  ingest: [`ingest ${SCOPE} --start 2026-01-01 --end 2026-01-03`, `ingest ${SCOPE} --start 2026-01-01 --end 2026-01-03 --dry-run`],
  validate: [`validate ${SCOPE} --start 2026-01-01 --end 2026-01-03`, `validate ${SCOPE} --start 2026-01-01 --end 2026-01-31 --count 4 --index 0`],
  compute: [`compute ${SCOPE} --start 2026-01-01 --end 2026-01-03`, `compute ${SCOPE} --start 2026-01-03 --end 2026-01-03 --type cooc`],
  publish: [`publish ${SCOPE} --start 2026-01-01 --end 2026-01-03`, `publish ${SCOPE} --start 2026-01-03 --end 2026-01-03 --allow-drift`],
  rollback: [`rollback ${SCOPE} --type popularity --previous`, `rollback ${SCOPE} --type popularity --version <version> --json`],
  diff: [`diff ${SCOPE} --type popularity --from current --to staged --day 2026-01-03`, `diff ${SCOPE} --type cooc --from <version> --to current --json`],
  history: [`history ${SCOPE}`, `history ${SCOPE} --type popularity --json`],
  status: [`status ${SCOPE}`, `status ${SCOPE} --max-age 30h --json`],
  'catalog import': [`catalog import ${SCOPE}`, `catalog import ${SCOPE} --catalog testdata/catalog.csv --format csv`],
};

/** Every command of the program, subcommands included. */
function allCommands(command: Command): Command[] {
  return command.commands.flatMap((c) => [c, ...allCommands(c)]);
}

/** The full name of a command below the program: `run`, `catalog import`. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** After a command's options in `--help`: its required flags, two examples and the docs section. */
function addHelpFooter(command: Command): void {
  const name = commandPath(command);
  const anchor = ['ingest', 'validate', 'compute', 'publish'].includes(name) ? 'job-mode-ingest-validate-compute-publish' : name.replace(/ /g, '-');
  command.addHelpText('after', () => {
    const required = command.options.filter((o) => o.mandatory).map((o) => o.long ?? o.flags);
    const examples = HELP_EXAMPLES[name];
    const lines = [''];
    if (required.length > 0) lines.push(`Required: ${required.join(', ')}`, '');
    if (examples) lines.push('Examples:', ...examples.map((e) => `  npx recsys-pipelines ${e}`), '');
    lines.push(examples ? `Docs: docs/cli.md#${anchor}` : 'Docs: docs/cli.md');
    return lines.join('\n');
  });
}

/** Runs the CLI (`argv` as process.argv: node, script, arguments…) and resolves to the exit code. */
export async function main(argv: string[], io: CliOutput = processOutput()): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof Reported) return err.exitCode;
    if (err instanceof CommanderError) {
      // --help and --version exit through here with code 0; everything else is usage.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (isPipelineError(err)) {
      io.err(`error: ${err.message}\n`);
      return err.exitCode;
    }
    io.err(`internal error (please report): ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}
