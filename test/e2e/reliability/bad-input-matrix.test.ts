/**
 * Bad raw input, end to end (issue 4, "Bad input"): one `it` per row of the matrix, each
 * running `runPipeline` in process (blocks are parsed on a worker thread; two workers for
 * the huge lines, whose blocks are parsed in parallel) on a tiny raw day file and asserting
 * the defined outcome.
 *
 * A rejected line, default policy `fail`: a PipelineError (never a crash) with code
 * E_BAD_INPUT and exit code 3 whose message holds `<file>:<line>: <rule>`, and nothing
 * written under out_dir (no canonical partition, no rejects file, no manifest). The same
 * line under `quarantine` (max_rejected_fraction 0.5, mixed with valid lines): the day
 * publishes, the rejects file lists it with its physical line number and the rule.
 *
 * Fast path vs slow path (src/io/parse/scanner.ts): every malformed line is tried in a
 * compact, generator-like form (what the byte scanner looks at first) and in a spaced form
 * (JSON white space between tokens, which the scanner also walks), and accepted oddities
 * (BOM, CRLF, duplicate keys, deep nesting, huge lines) also in a form that forces the
 * JSON.parse path (an escape in an unknown field). Both must give the same outcome.
 *
 * Already covered elsewhere and not repeated here: the line reader in isolation
 * (test/io/sources/lines.test.ts), the rules of parseExposureLine one by one
 * (test/io/parse/exposure-line.test.ts), the CLI exit codes and stderr (test/cli/bad-input.test.ts).
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../../src/config/schema';
import type { Config } from '../../../src/config/types';
import type { RunSummary } from '../../../src/engine/pipeline/request';
import { runPipeline } from '../../../src/engine/pipeline/run';
import { readCanonicalDay } from '../../../src/engine/pipeline/validate';
import { isPipelineError, type PipelineError } from '../../../src/errors';
import { partitionPath, rejectsPath } from '../../../src/io/canonical/partitions';
import { FsRegistry } from '../../../src/io/store/fs/registry';
import { must, removeDir, tempDir, testConfig } from '../../support/helpers';
import { PARSE_BLOCK_BYTES } from '../../../src/engine/pipeline/ingest';

const DAY = '2026-01-01';
const TENANT = 'demo';
const SURFACE = 'home';
const NOW = () => new Date('2026-01-02T06:00:00Z');
const MiB = 1 << 20;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/** Artifact kinds for the "same artifacts" comparisons: one per kernel family. */
const ALL_KINDS = ['popularity', 'cooc', 'session_seq'] as const;

const R_JSON = 'invalid JSON';
const R_UTF8 = 'invalid UTF-8';
const R_TS = 'ts: not an RFC 3339 timestamp';

// ---------------------------------------------------------------------------------------
// Raw lines. A line is built from [key, JSON text of the value] pairs, so malformed values
// and duplicate keys can be written, in two layouts.

type Field = [key: string, raw: string];
/** A raw line: text, or bytes (BOM, invalid UTF-8). */
type Piece = string | Buffer;

function tsOf(i: number): string {
  const sec = 3600 + ((i * 7) % 80_000);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${DAY}T${two(Math.floor(sec / 3600))}:${two(Math.floor((sec % 3600) / 60))}:${two(sec % 60)}Z`;
}

/** The fields of valid event `i` in the generator's order; `set` replaces (undefined: removes) or appends fields. */
function fields(i: number, set: Record<string, string | undefined> = {}): Field[] {
  const f: Field[] = [
    ['v', '1'],
    ['ts', JSON.stringify(tsOf(i))],
    ['tenant', '"demo"'],
    ['surface', '"home"'],
    ['user_id', `"u${i % 3}"`],
    ['session_id', `"s${i % 4}"`],
    ['request_id', `"r${i}"`],
    ['item_id', `"i${i % 5}"`],
    ['rank', String(i % 7)],
  ];
  for (const [k, v] of Object.entries(set)) {
    const at = f.findIndex(([key]) => key === k);
    if (at === -1) {
      if (v !== undefined) f.push([k, v]);
    } else if (v === undefined) f.splice(at, 1);
    else f[at] = [k, v];
  }
  return f;
}

/** `{"v":1,"ts":"…",…}`: what bench/gen.ts writes, the shape the byte scanner is built for. */
const compact = (f: Field[]) => `{${f.map(([k, v]) => `"${k}":${v}`).join(',')}}`;
/** The same object with JSON white space (space, tab) around every token. */
const spaced = (f: Field[]) => ` { ${f.map(([k, v]) => `"${k}" :\t${v}`).join(' , ')} }\t `;
/** The same object plus an unknown field holding an escape: the byte scanner gives up, JSON.parse decides. */
const slow = (f: Field[]) => compact([...f, ['note', '"caf\\u00e9 \\"x\\""']]);

const good = (i: number) => compact(fields(i));

// ---------------------------------------------------------------------------------------
// A sandbox per test: raw layout, config, what a run leaves on disk.

const cleanups: Array<() => void> = [];
afterAll(() => cleanups.forEach((c) => c()));

class Box {
  readonly dir: string;
  readonly raw: string;
  readonly out: string;

  constructor() {
    const t = tempDir('recsys-bad-input-');
    cleanups.push(t.cleanup);
    this.dir = t.dir;
    this.raw = join(t.dir, 'raw');
    this.out = join(t.dir, 'out');
    mkdirSync(join(this.raw, TENANT, SURFACE), { recursive: true });
  }

  file(ext: '.jsonl' | '.jsonl.gz' = '.jsonl'): string {
    return join(this.raw, TENANT, SURFACE, `exposure.${DAY}${ext}`);
  }

  /** Writes the day file: pieces joined by `eol`, with a final `eol`; removes the other twin. */
  write(pieces: Piece[], eol = '\n'): string {
    const bytes = Buffer.concat(pieces.flatMap((p) => [Buffer.isBuffer(p) ? p : Buffer.from(p), Buffer.from(eol)]));
    rmSync(this.file('.jsonl.gz'), { force: true });
    writeFileSync(this.file(), bytes);
    return this.file();
  }

  writeGz(bytes: Buffer): string {
    rmSync(this.file(), { force: true });
    writeFileSync(this.file('.jsonl.gz'), bytes);
    return this.file('.jsonl.gz');
  }

  config(input: ConfigInput = {}): Config {
    return testConfig(this.out, {
      raw_source: { type: 'fs', dir: this.raw },
      artifact_kinds: ['popularity'],
      ...input,
      engine: { workers: 1, ...input.engine },
    });
  }

  quarantine(input: ConfigInput = {}): Config {
    return this.config({ ...input, ingest: { bad_line_policy: 'quarantine', max_rejected_fraction: 0.5 } });
  }

  run(config: Config): Promise<RunSummary> {
    return runPipeline({ config, tenant: TENANT, surface: SURFACE, segment: '', start: DAY, end: DAY, incremental: false, log: () => {}, now: NOW });
  }

  /** The error the run fails with; fails the test if the run succeeds. */
  async failure(config: Config): Promise<PipelineError> {
    const err = await this.run(config).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err, 'the day must fail').not.toBeNull();
    // A crash would be anything but a PipelineError (run.ts rethrows those as they are).
    expect(isPipelineError(err), `a PipelineError, not a crash: ${(err as Error)?.stack}`).toBe(true);
    return err as PipelineError;
  }

  partition(config: Config): string {
    return partitionPath(config.canonical_dir, TENANT, SURFACE, DAY);
  }

  rejects(config: Config): string {
    return rejectsPath(config.canonical_dir, TENANT, SURFACE, DAY);
  }

  manifest(config: Config): string {
    return new FsRegistry(config.registry_dir).manifestPath(TENANT, SURFACE);
  }

  /** Every file under out_dir, relative. */
  outFiles(): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
      if (!existsSync(d)) return;
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        if (statSync(p).isDirectory()) walk(p);
        else out.push(relative(this.out, p));
      }
    };
    walk(this.out);
    return out.sort();
  }
}

/** `[type, version]` of what a run published. */
const versions = (s: RunSummary) => must(s.days[0], 'a day in the summary').published.map((p) => [p.type, p.version]);

/** Rejects file entries. */
function readRejects(path: string): Array<{ line: number; reason: string; raw: string }> {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

/** The text the slow path decodes from a piece (raw of a rejection). */
const textOf = (p: Piece) => (Buffer.isBuffer(p) ? p.toString('utf8') : p);

/**
 * The fail-policy assertions for one bad line: at physical line 4 (after a blank line, so
 * numbering counts physical lines), E_BAD_INPUT naming file:4 and the rule, nothing written.
 */
async function expectFailsAtLine4(box: Box, bad: Piece, rule: string): Promise<void> {
  const file = box.write([good(1), '', good(2), bad, good(3)]);
  const config = box.config();
  const err = await box.failure(config);
  expect(err.code).toBe('E_BAD_INPUT');
  expect(err.exitCode).toBe(3);
  expect(err.message).toBe(`bad input: ${file}:4: ${rule}`);
  expect(existsSync(box.partition(config))).toBe(false);
  expect(existsSync(box.rejects(config))).toBe(false);
  expect(existsSync(box.manifest(config))).toBe(false);
  expect(box.outFiles(), 'nothing half-written').toEqual([]);
}

/**
 * The quarantine assertions: every variant mixed with valid lines; each rejected with its
 * physical line number, the rule and (for valid UTF-8) the raw text; the valid lines kept.
 */
async function expectQuarantined(box: Box, bad: Piece[], rule: string): Promise<void> {
  const pieces: Piece[] = [good(1)];
  const badLines: number[] = [];
  bad.forEach((b, k) => {
    pieces.push(b);
    badLines.push(pieces.length);
    pieces.push(good(k + 2));
    if (k === 0) pieces.push('   '); // a blank line between: still counted as a physical line
  });
  box.write(pieces);
  const config = box.quarantine();
  const summary = await box.run(config);
  const counts = must(summary.days[0]?.counts, 'the day counts');
  expect(counts.rejected).toEqual({ [rule]: bad.length });
  expect(counts.events).toBe(bad.length + 1);
  expect(counts.lines).toBe(2 * bad.length + 1);
  expect(readRejects(box.rejects(config))).toEqual(bad.map((b, k) => ({ line: badLines[k], reason: rule, raw: rule === R_UTF8 ? '' : textOf(b) })));
  expect((await readCanonicalDay(config, { tenant: TENANT, surface: SURFACE }, DAY))!.rows).toBe(bad.length + 1);
  expect(existsSync(box.manifest(config))).toBe(true);
}

// ---------------------------------------------------------------------------------------
// Rejected lines: [row name, rule, variants]. Variant 0 is the compact form, variant 1 the
// spaced form; more variants where the row has more shapes.

const deepOpen = (n: number, sep = '') => Array(n).fill('[').join(sep);
const deepClose = (n: number, sep = '') => Array(n).fill(']').join(sep);
const invalidUtf8 = (line: string, at: string, bytes: number[]) => {
  const k = line.indexOf(at) + at.length;
  return Buffer.concat([Buffer.from(line.slice(0, k)), Buffer.from(bytes), Buffer.from(line.slice(k))]);
};

const REJECTED: Array<[name: string, rule: string, variants: Piece[]]> = [
  ['truncated JSON: cut inside a string', R_JSON, [compact(fields(9)).slice(0, 40), spaced(fields(9)).slice(0, 60)]],
  ['truncated JSON: closing brace missing', R_JSON, [compact(fields(9)).slice(0, -1), spaced(fields(9)).trimEnd().slice(0, -1)]],
  [
    'not JSON',
    R_JSON,
    [
      compact(fields(9)).replace(/"(\w+)":/g, '$1:'), // a JS object literal: unquoted keys
      '  plain text, not JSON at all  ',
      compact(fields(9)) + compact(fields(10)), // two objects on one line
      compact(fields(9)).replace(',"surface"', '"surface"'), // a comma missing
      compact(fields(9)).replace('}', ',}'), // a trailing comma
    ],
  ],
  ['a JSON value that is not an object', 'not a JSON object', ['[1,2,3]', '  "just a string"  ', 'null']],
  [
    'UTF-8 BOM on line 2 (not the first line) is not white space',
    R_JSON,
    [Buffer.concat([BOM, Buffer.from(good(9))]), Buffer.concat([BOM, Buffer.from(spaced(fields(9)))])],
  ],
  [
    'invalid UTF-8 bytes in a line',
    R_UTF8,
    [
      invalidUtf8(good(9), '"item_id":"i', [0xff]), // a byte that is never UTF-8
      invalidUtf8(spaced(fields(9)), '"session_id" :\t"s', [0xc3]), // a truncated 2-byte sequence
      invalidUtf8(good(9), '"user_id":"u', [0xed, 0xa0, 0x80]), // an encoded surrogate
      invalidUtf8(good(9), '"request_id":"r', [0xc0, 0xaf]), // an overlong encoding
      invalidUtf8(good(9), '"rank":', [0x20, 0x80]), // a lone continuation byte outside strings
    ],
  ],
  ['"v":"1" (a string)', 'v must be 1', [compact(fields(9, { v: '"1"' })), spaced(fields(9, { v: '"1"' }))]],
  ['"v":2', 'v must be 1', [compact(fields(9, { v: '2' })), spaced(fields(9, { v: '2' }))]],
  [
    '"rank":"3" (a string)',
    'rank: must be a number (an integer in [0, 2147483647])',
    [compact(fields(9, { rank: '"3"' })), spaced(fields(9, { rank: '"3"' }))],
  ],
  ['"rank":1.5', 'rank: must be an integer in [0, 2147483647]', [compact(fields(9, { rank: '1.5' })), spaced(fields(9, { rank: '1.5' }))]],
  ...(['tenant', 'surface', 'session_id', 'item_id', 'ts'] as const).flatMap((f): Array<[string, string, Piece[]]> => [
    [`missing ${f}`, `${f}: required`, [compact(fields(9, { [f]: undefined })), spaced(fields(9, { [f]: undefined })), compact(fields(9, { [f]: 'null' }))]],
    [
      `empty ${f}`,
      f === 'ts' ? R_TS : `${f}: empty`,
      [compact(fields(9, { [f]: '""' })), spaced(fields(9, { [f]: '""' })), compact(fields(9, { [f]: '" \\t "' }))],
    ],
  ]),
  ...['2026-02-30T00:00:00Z', '2026-01-01 00:00:00', '2026-01-01T25:00:00Z'].map((ts): [string, string, Piece[]] => [
    `bad ts ${ts}`,
    R_TS,
    [compact(fields(9, { ts: `"${ts}"` })), spaced(fields(9, { ts: `"${ts}"` }))],
  ]),
  ['duplicate keys, last wins: "v":1 … "v":2 is rejected', 'v must be 1', [compact([...fields(9), ['v', '2']]), spaced([...fields(9), ['v', '2']])]],
  [
    'duplicate keys, last wins: "item_id":"a" … "item_id":"" is rejected',
    'item_id: empty',
    [compact([...fields(9, { item_id: '"a"' }), ['item_id', '""']]), spaced([...fields(9, { item_id: '"a"' }), ['item_id', '""']])],
  ],
  [
    'deeply nested unknown field, never closed: 10,000 levels of [',
    R_JSON,
    [compact(fields(9, { x: deepOpen(10_000) })), spaced(fields(9, { x: deepOpen(10_000, ' ') }))],
  ],
];

describe('rejected lines: fail stops the day with file:line and the rule; quarantine records them', () => {
  it.each(REJECTED)('%s → "%s"', async (_name, rule, variants) => {
    const box = new Box();
    for (const bad of variants) await expectFailsAtLine4(box, bad, rule);
    await expectQuarantined(box, variants, rule);
  });
});

// ---------------------------------------------------------------------------------------
// Accepted oddities: same events, same artifacts as the plain file.

/** Ten valid events. */
const tenEvents = () => Array.from({ length: 10 }, (_, i) => good(i + 1));

/** Runs `pieces` in a fresh box and returns versions, partition bytes and counts. */
async function outcome(pieces: Piece[], eol = '\n') {
  const box = new Box();
  box.write(pieces, eol);
  const config = box.config({ artifact_kinds: [...ALL_KINDS], limits: { min_cooc_support: 1 } });
  const summary = await box.run(config);
  return {
    versions: versions(summary),
    partition: readFileSync(box.partition(config)),
    counts: must(summary.days[0]?.counts, 'the day counts'),
    canonical: (await readCanonicalDay(config, { tenant: TENANT, surface: SURFACE }, DAY))!,
  };
}

describe('accepted oddities', () => {
  it('UTF-8 BOM on line 1: dropped; same artifacts as without it (compact, spaced and slow-path first lines)', async () => {
    const plain = await outcome(tenEvents());
    expect(plain.counts).toMatchObject({ lines: 10, events: 10, rejected: {} });
    for (const first of [good(1), spaced(fields(1)), slow(fields(1))]) {
      const withBom = await outcome([Buffer.concat([BOM, Buffer.from(first)]), ...tenEvents().slice(1)]);
      expect(withBom.counts).toEqual(plain.counts);
      expect(withBom.versions).toEqual(plain.versions);
      expect(withBom.partition.equals(plain.partition)).toBe(true);
    }
  });

  it('CRLF line endings: same artifacts (versions) and partition bytes as LF', async () => {
    // compact, spaced and slow-path lines, a blank line, and a stray second CR.
    const lines = [...tenEvents(), spaced(fields(11)), slow(fields(12)), '', good(13) + '\r'];
    const lf = await outcome(lines, '\n');
    const crlf = await outcome(lines, '\r\n');
    expect(lf.counts).toMatchObject({ lines: 13, events: 13, rejected: {} });
    expect(crlf.counts).toEqual(lf.counts);
    expect(crlf.versions).toEqual(lf.versions);
    expect(crlf.partition.equals(lf.partition)).toBe(true);
  });

  it('blank and white-space-only lines: ignored, not counted; a later bad line keeps its physical number', async () => {
    const blanks = ['', ' ', '\t', '  \t  ', '\r', '\v', '\f', '\u00a0', '\u3000 \u2003', '\u0085'];
    const plain = await outcome(tenEvents());
    const mixed = await outcome(tenEvents().flatMap((l, i) => [must(blanks[i]), l]));
    expect(mixed.counts).toEqual(plain.counts);
    expect(mixed.counts.lines).toBe(10);
    expect(mixed.versions).toEqual(plain.versions);
    expect(mixed.partition.equals(plain.partition)).toBe(true);

    const box = new Box();
    const file = box.write([...blanks, good(1), ...blanks, 'not json']);
    const err = await box.failure(box.config());
    expect(err.message).toBe(`bad input: ${file}:${2 * blanks.length + 2}: ${R_JSON}`);
  });

  it('duplicate keys: the last one wins, as JSON.parse and Go ("item_id":"a" … "item_id":"b" counts for b)', async () => {
    const dup = (i: number) => [...fields(i, { item_id: '"a"', v: '2' }), ['item_id', '"b"'], ['v', '1']] as Field[];
    const forms = [compact(dup(1)), spaced(dup(2)), slow(dup(3)), good(4)];
    const r = await outcome(forms);
    expect(r.counts).toMatchObject({ lines: 4, events: 4, rejected: {} });
    const items = Array.from(r.canonical.item.codes, (c) => r.canonical.item.values[c]);
    expect(items).toEqual(['b', 'b', 'b', 'i4']);
  });

  it('deeply nested unknown fields: accepted, no crash (10,000 levels of [ and of {, and 1,000,000 levels of [)', async () => {
    const deepObj = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    const lines = [
      compact(fields(1, { x: deepOpen(10_000) + deepClose(10_000) })),
      spaced(fields(2, { x: deepOpen(10_000, ' ') + deepClose(10_000, ' ') })),
      compact(fields(3, { x: deepObj(10_000) })),
      compact(fields(4, { x: deepOpen(1_000_000) + deepClose(1_000_000) })),
      good(5),
    ];
    const r = await outcome(lines);
    expect(r.counts).toMatchObject({ lines: 5, events: 5, rejected: {} });
  });
});

// ---------------------------------------------------------------------------------------
// A single line of HUGE_MIB MiB. The file is written in 1 MiB pieces from one buffer; the
// test never holds the line as a string, and reads back only the ends of the rejects file
// (as big). `npm test` uses 20 MiB: the line spans three parse blocks (PARSE_BLOCK_BYTES,
// 8 MiB), so it crosses block boundaries as a longer one does. `npm run test:long` runs these
// tests again at 100 MB, the size of the issue's matrix (vitest.long.config.mts sets
// RECSYS_TEST_HUGE_LINE_MIB).

const HUGE_MIB = Number(process.env.RECSYS_TEST_HUGE_LINE_MIB ?? 20);
/** The huge line's blocks are parsed on two workers at once. */
const TWO_WORKERS = { engine: { workers: 2 } };

/** Writes `before` lines, a line `head + 'x' × HUGE_MIB MiB + tail`, then `after` lines. */
function writeHuge(path: string, before: string[], head: string, tail: string, after: string[]): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, before.map((l) => l + '\n').join('') + head);
    const chunk = Buffer.alloc(MiB, 'x');
    for (let k = 0; k < HUGE_MIB; k++) writeSync(fd, chunk);
    writeSync(fd, tail + '\n' + after.map((l) => l + '\n').join(''));
  } finally {
    closeSync(fd);
  }
}

function readRange(path: string, position: number, length: number): string {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(length);
    const n = readSync(fd, b, 0, length, position);
    return b.toString('utf8', 0, n);
  } finally {
    closeSync(fd);
  }
}

/** Enough small lines after the huge one (> 1 MiB) that they land in a later parse block. */
const AFTER = Array.from({ length: 12_000 }, (_, i) => good(100 + i));

describe(`a single line of ${HUGE_MIB} MiB`, () => {
  it('spans several parse blocks', () => {
    expect(HUGE_MIB * MiB).toBeGreaterThan(2 * PARSE_BLOCK_BYTES);
  });

  it('a valid event with a huge unknown string: accepted (fast and slow path), the other events intact', async () => {
    for (const head of [
      good(1).slice(0, -1) + ',"pad":"', // the byte scanner walks it
      good(1).slice(0, -1) + ',"pad":"\\"', // an escape first: JSON.parse decodes it
    ]) {
      const box = new Box();
      writeHuge(box.file(), [good(2)], head, '"}', [...AFTER, good(3)]);
      expect(statSync(box.file()).size).toBeGreaterThan(HUGE_MIB * MiB);
      const config = box.config(TWO_WORKERS);
      const summary = await box.run(config);
      expect(summary.days[0]?.counts).toMatchObject({ lines: AFTER.length + 3, events: AFTER.length + 3, rejected: {} });
      const day = (await readCanonicalDay(config, { tenant: TENANT, surface: SURFACE }, DAY))!;
      expect(day.rows).toBe(AFTER.length + 3);
      // raw order kept: good(2), the huge event (= good(1)'s ids), then AFTER, then good(3)
      const items = (k: number) => day.item.values[must(day.item.codes[k])];
      expect([items(0), items(1), items(2), items(day.rows - 1)]).toEqual(['i2', 'i1', 'i0', 'i3']);
      removeDir(box.dir);
    }
  });

  it('a huge garbage line: rejected with its line number (fail); quarantined with the later lines numbered right', async () => {
    const box = new Box();
    const head = good(1).slice(0, -1) + ',"pad":"'; // looks like an event for HUGE_MIB MiB, never closed
    writeHuge(box.file(), [good(2)], head, '', [...AFTER, 'not json', good(3)]);
    const err = await box.failure(box.config(TWO_WORKERS));
    expect(err.code).toBe('E_BAD_INPUT');
    expect(err.message).toBe(`bad input: ${box.file()}:2: ${R_JSON}`);
    expect(box.outFiles()).toEqual([]);

    const config = box.quarantine(TWO_WORKERS);
    const summary = await box.run(config);
    expect(summary.days[0]?.counts).toMatchObject({ lines: AFTER.length + 4, events: AFTER.length + 2, rejected: { [R_JSON]: 2 } });
    const rejects = box.rejects(config);
    const size = statSync(rejects).size;
    expect(size).toBeGreaterThan(HUGE_MIB * MiB); // the raw line is kept whole
    expect(readRange(rejects, 0, 64)).toMatch(/^\{"line":2,"reason":"invalid JSON","raw":"\{\\"v\\":1,/);
    const last = readRange(rejects, size - 200, 200)
      .trimEnd()
      .split('\n')
      .pop()!;
    expect(JSON.parse(last)).toEqual({ line: AFTER.length + 3, reason: R_JSON, raw: 'not json' });
    removeDir(box.dir);
  });
});

// ---------------------------------------------------------------------------------------
// Whole files.

describe('whole files', () => {
  it('an empty file: a day without events; empty artifacts published, no partition (an earlier one removed), not over non-empty ones by default', async () => {
    for (const content of [Buffer.alloc(0), Buffer.from('\n\n  \n')]) {
      const box = new Box();
      const config = box.config({ artifact_kinds: [...ALL_KINDS] });
      writeFileSync(box.file(), content);
      const summary = await box.run(config);
      expect(summary.days[0]?.counts).toMatchObject({ lines: 0, events: 0, rejected: {} });
      expect(existsSync(box.partition(config))).toBe(false);
      expect(existsSync(box.rejects(config))).toBe(false);
      expect(summary.days[0]?.published.map((p) => p.type)).toEqual([...ALL_KINDS]);
      const manifest = JSON.parse(readFileSync(box.manifest(config), 'utf8'));
      expect(Object.keys(manifest.current).sort()).toEqual([...ALL_KINDS].sort());
      const pop = must(
        summary.days[0]?.published.find((p) => p.type === 'popularity'),
        'a popularity artifact',
      );
      expect(JSON.parse(readFileSync(fileURLToPath(pop.uri), 'utf8')).items).toEqual([]);
    }

    // A rerun of a day that had events: the partition goes; the drift gate keeps the non-empty
    // artifacts live by default (E_GATE), with gates.allow_empty `current` moves to empty artifacts.
    const box = new Box();
    const config = box.config();
    box.write(tenEvents());
    const before = await box.run(config);
    expect(existsSync(box.partition(config))).toBe(true);
    writeFileSync(box.file(), '');
    const blocked = await box.failure(config);
    expect(blocked.code).toBe('E_GATE');
    expect(blocked.message).toMatch(/an empty artifact would replace \d+ items/);
    expect(JSON.parse(readFileSync(box.manifest(config), 'utf8')).current.popularity).toBe(before.days[0]?.published[0]?.uri);
    const after = await box.run({ ...config, gates: { ...config.gates, allow_empty: true } });
    expect(existsSync(box.partition(config))).toBe(false);
    expect(versions(after)).not.toEqual(versions(before));
    expect(JSON.parse(readFileSync(box.manifest(config), 'utf8')).current.popularity).toBe(after.days[0]?.published[0]?.uri);
  });

  it('a truncated .jsonl.gz: E_BAD_INPUT (exit 3) naming the file, nothing published; a rerun leaves the previous partition and manifest intact', async () => {
    const gz = gzipSync(Buffer.from(Array.from({ length: 400 }, (_, i) => good(i) + '\n').join('')));
    const truncated = gz.subarray(0, Math.floor(gz.length / 2));

    const fresh = new Box();
    const file = fresh.writeGz(truncated);
    for (const config of [fresh.config(), fresh.quarantine()]) {
      const err = await fresh.failure(config);
      expect(err.code).toBe('E_BAD_INPUT');
      expect(err.exitCode).toBe(3);
      expect(err.message).toContain(`${file}: truncated gzip`);
      expect(fresh.outFiles(), 'nothing half-written').toEqual([]);
    }

    const box = new Box();
    const config = box.config();
    box.writeGz(gz);
    await box.run(config);
    const partition = readFileSync(box.partition(config));
    const manifest = readFileSync(box.manifest(config), 'utf8');
    const files = box.outFiles();
    box.writeGz(truncated);
    const err = await box.failure(config);
    expect(err.code).toBe('E_BAD_INPUT');
    expect(err.message).toContain(box.file('.jsonl.gz'));
    expect(readFileSync(box.partition(config)).equals(partition)).toBe(true);
    expect(readFileSync(box.manifest(config), 'utf8')).toBe(manifest);
    expect(box.outFiles()).toEqual(files);
  });
});

// ---------------------------------------------------------------------------------------
// Found by the matrix and fixed.

describe('fixed bugs', () => {
  // rank is stored in an Int32 column: 2^31 used to wrap to a negative value written as null,
  // 2^32 to 0. Such a line is now rejected ("rank: must be an integer in [0, 2147483647]").
  it('"rank" beyond Int32 (2^31, 2^32) is rejected or kept exactly, never silently wrapped', async () => {
    const box = new Box();
    const big = [2 ** 31, 2 ** 32];
    box.write([good(1), compact(fields(2, { rank: String(big[0]) })), spaced(fields(3, { rank: String(big[1]) })), slow(fields(4, { rank: String(big[0]) }))]);
    const config = box.config();
    const result = await box.run(config).then(
      () => null,
      (e: unknown) => e as PipelineError,
    );
    if (result !== null) {
      expect(result.message).toMatch(/:2: rank/);
      return;
    }
    const day = (await readCanonicalDay(config, { tenant: TENANT, surface: SURFACE }, DAY))!;
    expect(Array.from(day.rank)).toEqual([1, big[0], big[1], big[0]]);
  });
});
