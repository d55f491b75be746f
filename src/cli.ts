/**
 * The command line (SPEC §8). Exit codes: 0 success, 1 runtime failure (a step, a gate or
 * a limit failed), 2 usage or config error. A user mistake never prints a stack trace.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { configWithOverrides, loadConfig } from './config';
import { isPipelineError, unsupported } from './errors';
import { pathSegment } from './io/atomic';
import { runPipeline, RunSummary } from './engine/run';
import { formatRunSummary } from './summary';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION: string = require('../../package.json').version;

interface CommonFlags {
  config: string;
  tenant: string;
  surface: string;
  segment?: string;
  start?: string;
  end?: string;
  incremental?: boolean;
  workers?: number;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('must be an integer >= 1');
  return n;
}

/** Loads the config and checks the ids that become path segments, before anything is read or written. */
function prepare(flags: CommonFlags) {
  const tenant = pathSegment('--tenant', flags.tenant);
  const surface = pathSegment('--surface', flags.surface);
  const segment = flags.segment === undefined || flags.segment === '' ? '' : pathSegment('--segment', flags.segment);
  const config = configWithOverrides(loadConfig(flags.config), { workers: flags.workers });
  if (config.raw_source.type !== 'fs') throw unsupported(`raw_source.type "${config.raw_source.type}" is not supported by this build yet`);
  if (config.object_store.type !== 'fs') throw unsupported(`object_store.type "${config.object_store.type}" is not supported by this build yet`);
  return { config, tenant, surface, segment };
}

const log = (line: string) => process.stderr.write(line + '\n');

export function buildProgram(out: (s: string) => void = (s) => process.stdout.write(s)): Command {
  const program = new Command('recsys-pipelines')
    .description('Turns raw exposure logs into versioned, rollbackable recommendation artifacts.')
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('run')
    .description('ingest → validate → compute → publish every day of --start..--end')
    .requiredOption('--config <path>', 'config file (JSON)')
    .requiredOption('--tenant <tenant>', 'tenant id')
    .requiredOption('--surface <surface>', 'surface id')
    .option('--segment <segment>', 'segment written into the artifacts and the staging path', '')
    .option('--start <YYYY-MM-DD>', 'first day (inclusive)')
    .option('--end <YYYY-MM-DD>', 'last day (inclusive); with --incremental defaults to yesterday (UTC)')
    .option('--incremental', 'start the day after the checkpoint')
    .addOption(new Option('--workers <n>', 'worker threads (overrides engine.workers)').argParser(positiveInt))
    .action(async (flags: CommonFlags) => {
      const { config, tenant, surface, segment } = prepare(flags);
      const summary: RunSummary = await runPipeline({
        config,
        tenant,
        surface,
        segment,
        start: flags.start,
        end: flags.end,
        incremental: Boolean(flags.incremental),
        log,
      });
      out(formatRunSummary(summary, config.engine.workers));
    });

  program
    .command('version')
    .description('print the version')
    .action(() => out(`recsys-pipelines ${VERSION}\n`));

  return program;
}

/** Runs the CLI and resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit through here with code 0; everything else is usage.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (isPipelineError(err)) {
      process.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`internal error (please report): ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}
