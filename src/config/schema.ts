/**
 * The config file's schema (what a user writes): every key optional, unknown keys refused;
 * and the text of its errors, which name the full key path, the offending value and the
 * closest known key. Defaults and cross-key rules are applied by `load.ts`.
 */
import { z } from 'zod';
import { artifactAliases, ARTIFACT_TYPES, describeArtifactTypes } from '../engine/artifact-types';
import { configError } from '../errors';
import { MAX_WORKERS } from './types';

const MiB = 1024 * 1024;

/** One message for every way an integer can be wrong: type, fraction, range. */
const int = (min: number, text = min === 0 ? 'expected a non-negative integer' : `expected an integer >= ${min}`) =>
  z.number({ error: text }).int({ error: text }).min(min, { error: text });

const pathString = z.string().min(1, { error: 'expected a non-empty path' });

const s3Schema = z.strictObject({
  endpoint: z.string().optional(),
  bucket: z.string().optional(),
  access_key: z.string().optional(),
  secret_key: z.string().optional(),
  region: z.string().optional(),
  prefix: z.string().optional(),
  use_ssl: z.boolean().optional(),
});

export type S3Input = z.output<typeof s3Schema>;

const limitsSchema = z.strictObject({
  max_days_backfill: int(0).optional(),
  max_events_per_run: int(0).optional(),
  max_sessions_per_run: int(0).optional(),
  max_items_per_session: int(0).optional(),
  max_distinct_items_per_run: int(0).optional(),
  max_neighbors_per_item: int(0).optional(),
  max_items_per_artifact: int(0).optional(),
  min_cooc_support: int(0).optional(),
  max_users_per_run: int(0).optional(),
  max_items_per_user: int(0).optional(),
  min_events_per_run: int(0).optional(),
});

/** A fraction in [0, 1] (drift thresholds). */
const fraction = () =>
  z.number({ error: 'expected a number in [0, 1]' }).min(0, { error: 'expected a number in [0, 1]' }).max(1, { error: 'expected a number in [0, 1]' });

const driftThresholdsSchema = z.strictObject({
  max_row_shrink: fraction().optional(),
  min_key_overlap: fraction().optional(),
  min_top_n_overlap: fraction().optional(),
  top_n: int(1).optional(),
});

export type DriftThresholdsInput = z.output<typeof driftThresholdsSchema>;

const gatesSchema = z.strictObject({
  allow_empty: z.boolean().optional(),
  drift: z.strictObject(Object.fromEntries(ARTIFACT_TYPES.map((t) => [t, driftThresholdsSchema.optional()]))).optional(),
});

const artifactKindNames = [...ARTIFACT_TYPES, ...artifactAliases().map(([alias]) => alias)] as [string, ...string[]];

export const configSchema = z.strictObject({
  out_dir: pathString.optional(),
  raw_source: z
    .strictObject({
      type: z.enum(['fs', 's3', 'minio', 'postgres']).optional(),
      dir: pathString.optional(),
      s3: s3Schema.optional(),
      postgres: z
        .strictObject({
          dsn: z.string().optional(),
          tenant_table: z.string().min(1).optional(),
          exposure_table: z.string().min(1).optional(),
        })
        .optional(),
    })
    .optional(),
  raw_events_dir: pathString.optional(),
  canonical_dir: pathString.optional(),
  checkpoint_dir: pathString.optional(),
  artifacts_dir: pathString.optional(),
  object_store: z
    .strictObject({
      type: z.enum(['fs', 's3', 'minio']).optional(),
      dir: pathString.optional(),
      s3: s3Schema.optional(),
    })
    .optional(),
  object_store_dir: pathString.optional(),
  registry_dir: pathString.optional(),
  // As the Go tool reads it: each entry trimmed and lower-cased before it is matched
  // (" Popularity " and "COOC" are valid); `[]` means the default (load.ts).
  artifact_kinds: z
    .array(
      z
        .string()
        .transform((kind) => kind.trim().toLowerCase())
        .pipe(
          z.enum(artifactKindNames, {
            error: `unknown artifact kind (valid: ${describeArtifactTypes()})`,
          }),
        ),
    )
    .optional(),
  catalog: z
    .strictObject({
      path: pathString.optional(),
      format: z.enum(['csv', 'jsonl']).optional(),
    })
    .optional(),
  window_days: int(1).optional(),
  limits: limitsSchema.optional(),
  engine: z
    .strictObject({
      workers: int(1)
        .max(MAX_WORKERS, { error: `expected an integer from 1 to ${MAX_WORKERS}` })
        .optional(),
      shard_rows: int(1024).optional(),
      max_inflight_bytes: int(MiB, 'expected an integer >= 1048576 (1 MiB)').optional(),
      worker_heap_mb: int(64).optional(),
    })
    .optional(),
  ingest: z
    .strictObject({
      bad_line_policy: z.enum(['fail', 'quarantine']).optional(),
      max_rejected_fraction: z
        .number({ error: 'expected a number in [0, 1]' })
        .min(0, { error: 'expected a number in [0, 1]' })
        .max(1, { error: 'expected a number in [0, 1]' })
        .optional(),
    })
    .optional(),
  db: z
    .strictObject({
      dsn: z.string().optional(),
      auto_create_tenant: z.boolean().optional(),
      statement_timeout_s: int(1).optional(),
    })
    .optional(),
  metrics: z
    .strictObject({
      textfile: pathString.optional(),
      pushgateway: z
        .strictObject({
          url: z.string().optional(),
          timeout_s: z.number({ error: 'expected a number of seconds > 0' }).positive({ error: 'expected a number of seconds > 0' }).optional(),
        })
        .optional(),
    })
    .optional(),
  gates: gatesSchema.optional(),
});

/** The config as written in the file: every key optional, legacy keys and aliases allowed. */
export type ConfigInput = z.input<typeof configSchema>;
export type ParsedInput = z.output<typeof configSchema>;

/** The input checked against the schema; a config error (exit 2) naming every problem otherwise. */
export function checkConfigInput(raw: unknown, source: string): ParsedInput {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw configError(`config error in ${source}: expected a JSON object at the top level, got ${describeValue(raw)}`);
  }
  const result = configSchema.safeParse(raw, { error: problemText });
  if (!result.success) {
    const problems = result.error.issues.map((issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.message
        : `${formatPath(issue.path) || '<root>'}: ${issue.message}, got ${describeValue(valueAt(raw, issue.path), issue.code === 'invalid_value')}`,
    );
    throw configError(`config error in ${source}: ${problems.join('; ')}`);
  }
  return result.data;
}

// ---------------------------------------------------------------------------------------
// Error text
// ---------------------------------------------------------------------------------------

/**
 * Per-parse zod error map: the problem part of each message (the path and the offending
 * value are added by `parseConfig`). Schema-level messages, such as the integer ones,
 * take precedence over this map.
 */
function problemText(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(issue.inst);
      return issue.keys
        .map((key) => {
          const hint = closest(key, known);
          return `unknown key "${formatPath([...(issue.path ?? []), key])}"${hint ? ` (did you mean "${hint}"?)` : ''}`;
        })
        .join('; ');
    }
    case 'invalid_type':
      return `expected ${withArticle(issue.expected)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return issue.origin === 'string' ? 'expected a non-empty string' : `expected at least ${issue.minimum}`;
    default:
      return 'invalid value';
  }
}

function withArticle(expected: string): string {
  if (expected === 'object' || expected === 'array') return `an ${expected}`;
  return `a ${expected}`;
}

function knownKeys(inst: unknown): string[] {
  const shape = (inst as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

/** The known key nearest to a misspelt one, if it is plausibly a typo. */
function closest(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    const d = editDistance(key, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** `limits.max_events_per_run`, `artifact_kinds[2]`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

/**
 * The offending value for a message, without echoing the file: a string only by its length
 * (a config holds credentials and DSNs, and one in the wrong place must not reach a log),
 * unless `named` (a value meant to be one of a fixed list of names, such as an artifact
 * kind or a backend type, is shown as written). Numbers and booleans are shown.
 */
function describeValue(value: unknown, named = false): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string' && !named) {
    const n = [...value].length;
    return n === 0 ? 'an empty string' : `a string of ${n} character${n === 1 ? '' : 's'}`;
  }
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  // What is left of a parsed JSON value: a number or a boolean (undefined for a missing key).
  return value === undefined ? 'undefined' : JSON.stringify(value);
}
