/**
 * Deterministic generator of realistic exposure JSONL (per-day layout):
 *   npm run gen -- --out DIR --days D --events N [--users U --items I --seed S
 *                  --start YYYY-MM-DD --tenant T --surface S --anonymous 0.1 --session-mean 8]
 *
 * Item popularity and user activity follow power laws (Zipf), session lengths are
 * geometric (mean --session-mean, capped at 60 distinct items so the default
 * max_items_per_session of 200 holds), a fraction of sessions is anonymous, and events
 * within a session are seconds apart. Same arguments → same bytes.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { addDays, dayStartMicros } from '../src/days';

export interface GenOptions {
  out: string;
  days: number;
  events: number;
  users: number;
  items: number;
  seed: number;
  start: string;
  tenant: string;
  surface: string;
  anonymous: number;
  sessionMean: number;
}

export const GEN_DEFAULTS: Omit<GenOptions, 'out'> = {
  days: 1,
  events: 100_000,
  users: 50_000,
  items: 20_000,
  seed: 1,
  start: '2026-01-01',
  tenant: 'demo',
  surface: 'home',
  anonymous: 0.1,
  sessionMean: 8,
};

/** mulberry32: small, fast, good enough for synthetic data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Sampler of ranks 0..n-1 with P(k) ∝ 1/(k+1)^s, by binary search over the CDF. */
export function zipf(n: number, s: number, rand: () => number): () => number {
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let k = 0; k < n; k++) cdf[k] = acc += 1 / Math.pow(k + 1, s);
  for (let k = 0; k < n; k++) cdf[k] /= acc;
  return () => {
    const u = rand();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const pad2 = (n: number) => (n < 10 ? '0' + n : String(n));

/** Writes one file per day; resolves to the paths written. */
export async function generate(o: GenOptions): Promise<string[]> {
  const rand = prng(o.seed);
  const pickItem = zipf(o.items, 1.05, rand);
  const pickUser = zipf(o.users, 0.9, rand);
  // Item ids are hashed-looking so that id order differs from popularity order.
  const itemId = (k: number) => `sku-${((k * 2654435761) >>> 0).toString(36)}`;
  const dir = join(o.out, o.tenant, o.surface);
  mkdirSync(dir, { recursive: true });
  const paths: string[] = [];
  let session = 0;
  for (let d = 0; d < o.days; d++) {
    const day = addDays(o.start, d);
    const dayMs = (dayStartMicros(day) as number) / 1000;
    const path = join(dir, `exposure.${day}.jsonl`);
    const stream = createWriteStream(path);
    let written = 0;
    let chunk: string[] = [];
    while (written < o.events) {
      session++;
      const anonymous = rand() < o.anonymous;
      const user = anonymous ? '' : `"user_id":"u${pickUser()}",`;
      const len = Math.min(o.events - written, 1 + Math.min(59, Math.floor(-Math.log(1 - rand()) * (o.sessionMean - 1))));
      let t = dayMs + Math.floor(rand() * 86_000_000);
      for (let r = 1; r <= len; r++) {
        t = Math.min(t + Math.floor(rand() * 20_000), dayMs + 86_399_999);
        const ts = new Date(t);
        const iso = `${day}T${pad2(ts.getUTCHours())}:${pad2(ts.getUTCMinutes())}:${pad2(ts.getUTCSeconds())}Z`;
        chunk.push(
          `{"v":1,"ts":"${iso}","tenant":"${o.tenant}","surface":"${o.surface}",${user}"session_id":"s${session}","request_id":"r${session}","item_id":"${itemId(pickItem())}","rank":${r}}\n`,
        );
      }
      written += len;
      if (chunk.length >= 8192) {
        if (!stream.write(chunk.join(''))) await new Promise<void>((r) => stream.once('drain', () => r()));
        chunk = [];
      }
    }
    stream.write(chunk.join(''));
    await new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
    paths.push(path);
  }
  return paths;
}

export const GEN_USAGE = `usage: npm run gen -- --out DIR [options]   (or: node dist/bench/gen.js --out DIR [options])

Writes DIR/<tenant>/<surface>/exposure.<day>.jsonl, one file per day, deterministically
(same arguments, same bytes).

  --out DIR            output folder (required)
  --days D             days to write (default ${GEN_DEFAULTS.days})
  --events N           events per day (default ${GEN_DEFAULTS.events})
  --users U            distinct users (default ${GEN_DEFAULTS.users})
  --items I            distinct items (default ${GEN_DEFAULTS.items})
  --seed S             random seed (default ${GEN_DEFAULTS.seed})
  --start YYYY-MM-DD   first day (default ${GEN_DEFAULTS.start})
  --tenant T           tenant (default ${GEN_DEFAULTS.tenant})
  --surface S          surface (default ${GEN_DEFAULTS.surface})
  --anonymous F        fraction of anonymous sessions (default ${GEN_DEFAULTS.anonymous})
  --session-mean M     mean session length (default ${GEN_DEFAULTS.sessionMean})
  --help, -h           print this and exit
`;

/** A bad command line: main prints the message and the usage, no stack trace, exit 2. */
export class GenUsageError extends Error {}

export function parseArgs(argv: string[]): GenOptions {
  const o: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) throw new GenUsageError(`bad argument ${argv[i]}`);
    o[argv[i].slice(2)] = argv[i + 1];
  }
  if (!o.out) throw new GenUsageError('--out DIR is required');
  const num = (k: string, d: number) => (o[k] === undefined ? d : Number(o[k]));
  return {
    out: o.out,
    days: num('days', GEN_DEFAULTS.days),
    events: num('events', GEN_DEFAULTS.events),
    users: num('users', GEN_DEFAULTS.users),
    items: num('items', GEN_DEFAULTS.items),
    seed: num('seed', GEN_DEFAULTS.seed),
    start: o.start ?? GEN_DEFAULTS.start,
    tenant: o.tenant ?? GEN_DEFAULTS.tenant,
    surface: o.surface ?? GEN_DEFAULTS.surface,
    anonymous: num('anonymous', GEN_DEFAULTS.anonymous),
    sessionMean: num('session-mean', GEN_DEFAULTS.sessionMean),
  };
}

/** The options of the command line, or null after printing the usage (`--help`) or a usage error (exit code set). */
function commandLine(argv: string[]): GenOptions | null {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(GEN_USAGE);
    return null;
  }
  try {
    return parseArgs(argv);
  } catch (err) {
    if (!(err instanceof GenUsageError)) throw err;
    process.stderr.write(`error: ${err.message}\n\n${GEN_USAGE}`);
    process.exitCode = 2;
    return null;
  }
}

const cliOpts = require.main === module ? commandLine(process.argv.slice(2)) : null;
if (cliOpts !== null) {
  const opts = cliOpts;
  const t0 = Date.now();
  generate(opts).then(
    (paths) => console.log(`wrote ${opts.days} day(s) × ${opts.events} events in ${Date.now() - t0} ms: ${paths.join(', ')}`),
    (err: unknown) => {
      console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 2;
    },
  );
}
