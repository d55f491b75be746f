/**
 * The drift gate's figures (docs/contract.md §4, issue 14): how a new artifact differs from
 * the one it replaces, read from the blobs' bytes, for any artifact type (each declares its
 * payload's shape, `drift` in src/engine/artifact-types):
 *
 *   rows           payload rows (items or users) of each side; pairs: entries of the rows' lists
 *   row_shrink     (old rows - new rows) / old rows, 0 when the new one is not smaller
 *   key_overlap    |old keys ∩ new keys| / |old keys|
 *   top_n_overlap  ranked types: |top-N old ∩ top-N new| / |top-N old|
 *
 * Blobs are streamed through a byte scanner (no JSON.parse of the payload); only the old
 * side's keys are held (a set, and its first N for ranked types), never two blobs.
 * `evaluateDrift` turns figures into the reasons a publish is blocked; the publisher calls
 * it before anything is written (src/engine/publisher.ts), `diff` prints the same figures.
 */
import { createReadStream } from 'node:fs';
import type { Config, DriftThresholds } from '../config/types';
import { PipelineError } from '../errors';
import type { ObjectStore } from '../io/store/object-store';
import type { Manifest } from '../io/store/registry';
import { versionOfUri } from './ops/rollback';
import { artifactType, type ArtifactType } from './artifact-types';
import type { DriftShape } from './artifact-types/artifact-type';

/** A blob to read: its bytes, or the file that holds them (streamed). */
export type BlobSource = Uint8Array | { path: string };

/** One side of a comparison. */
export interface DriftSide {
  version: string;
  /** Payload rows (items or users, see `rows_of`). */
  rows: number;
  /** Entries of the rows' lists (neighbours, items, tags); null for a type with flat rows. */
  pairs: number | null;
}

export interface DriftFigures {
  type: ArtifactType;
  /** What a row is: `items` or `users`. */
  rows_of: 'items' | 'users';
  /** The artifact that is (or was) current; null when there is none to compare with. */
  from: DriftSide | null;
  to: DriftSide;
  /** (from.rows - to.rows) / from.rows, 0 when `to` is not smaller; null without rows to compare. */
  row_shrink: number | null;
  /** |from keys ∩ to keys| / |from keys|; null when `from` is missing or empty. */
  key_overlap: number | null;
  /** N of the top-N overlap (ranked types), else null. */
  top_n: number | null;
  /** |top-N from ∩ top-N to| / |top-N from| (ranked types); null when not ranked or `from` is missing or empty. */
  top_n_overlap: number | null;
}

/** What a payload scan found. */
export interface PayloadFigures {
  rows: number;
  pairs: number | null;
}

const OBJ = 1;
const ARR = 2;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Walks the bytes of an artifact blob (any JSON layout, chunks of any size) and reports
 * each row's key, in payload order, and the rows and pairs. Depths: 1 the blob object,
 * 2 the payload array, 3 a row, 4 the row's list.
 */
export class PayloadScanner {
  private readonly stack: number[] = [];
  /** Per open container: an object expects a key next / an array expects a value next. */
  private readonly expecting: boolean[] = [];
  private inString = false;
  private escaped = false;
  private capturing = false;
  private captured = Buffer.alloc(64);
  private capturedLength = 0;
  private rootKey = '';
  private rowKey = '';
  private inPayload = false;
  private payloadSeen = false;
  private inList = false;
  private rows = 0;
  private pairs = 0;
  private readonly payloadField: string;

  constructor(
    payloadField: string,
    private readonly shape: DriftShape,
    private readonly onKey: (key: string) => void,
  ) {
    this.payloadField = payloadField;
  }

  push(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.inString = false;
          this.endString();
          continue;
        }
        if (this.capturing) this.capture(c);
        continue;
      }
      switch (c) {
        case 0x20:
        case 0x0a:
        case 0x0d:
        case 0x09:
        case 0x3a: // ':' — the value of the key just read follows
          if (c === 0x3a) this.expecting[this.expecting.length - 1] = false;
          break;
        case 0x2c: // ','
          this.expecting[this.expecting.length - 1] = true;
          break;
        case 0x7b: // '{'
          this.valueStarts();
          if (this.inPayload && this.stack.length === 2) this.rows++;
          this.stack.push(OBJ);
          this.expecting.push(true);
          break;
        case 0x5b: // '['
          this.valueStarts();
          if (this.stack.length === 1 && !this.payloadSeen && this.rootKey === this.payloadField) {
            this.inPayload = true;
            this.payloadSeen = true;
          } else if (this.inPayload && this.stack.length === 3 && this.rowKey === this.shape.listField) {
            this.inList = true;
          }
          this.stack.push(ARR);
          this.expecting.push(true);
          break;
        case 0x7d: // '}'
        case 0x5d: // ']'
          this.stack.pop();
          this.expecting.pop();
          if (this.stack.length === 3) this.inList = false;
          if (this.stack.length === 1) this.inPayload = false;
          break;
        case QUOTE:
          this.capturing = this.wantsString();
          this.valueStarts();
          this.capturedLength = 0;
          this.inString = true;
          break;
        default: // a number or a literal: its first byte starts a value
          this.valueStarts();
      }
    }
  }

  /** Rows and pairs; throws when the bytes did not hold a complete artifact with the payload array. */
  end(): PayloadFigures {
    if (!this.payloadSeen || this.stack.length !== 0 || this.inString) {
      throw new Error(`not a complete artifact with a "${this.payloadField}" array`);
    }
    return { rows: this.rows, pairs: this.shape.listField === null ? null : this.pairs };
  }

  /** A value starts at the current depth: counted when it is an entry of a row's list. */
  private valueStarts(): void {
    const top = this.stack.length - 1;
    if (top < 0 || this.stack[top] !== ARR || !this.expecting[top]) return;
    this.expecting[top] = false;
    if (this.inList && this.stack.length === 4) this.pairs++;
  }

  /** Strings worth keeping: keys of the blob object, keys and values of a row's fields. */
  private wantsString(): boolean {
    const depth = this.stack.length;
    return depth === 1 || (this.inPayload && depth === 3);
  }

  private endString(): void {
    if (!this.capturing) return;
    this.capturing = false;
    const depth = this.stack.length;
    const isKey = this.stack[depth - 1] === OBJ && this.expecting[depth - 1];
    const text = this.capturedText();
    if (isKey) {
      if (depth === 1) this.rootKey = text;
      else this.rowKey = text;
    } else if (depth === 3 && this.rowKey === this.shape.keyField) {
      this.onKey(text);
    }
  }

  private capture(c: number): void {
    if (this.capturedLength === this.captured.length) {
      const grown = Buffer.alloc(this.captured.length * 2);
      this.captured.copy(grown);
      this.captured = grown;
    }
    this.captured[this.capturedLength++] = c;
  }

  /** The captured string's value (escapes decoded). */
  private capturedText(): string {
    const raw = this.captured.toString('utf8', 0, this.capturedLength);
    return raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
  }
}

async function* chunksOf(source: BlobSource): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    yield source;
    return;
  }
  for await (const chunk of createReadStream(source.path, { highWaterMark: 1 << 20 })) yield chunk as Buffer;
}

/** Streams a blob through a PayloadScanner of its type; `onKey` gets every row's key in order. */
export async function scanPayload(type: ArtifactType, source: BlobSource, onKey: (key: string) => void): Promise<PayloadFigures> {
  const def = artifactType(type);
  const scanner = new PayloadScanner(def.payloadField, def.drift, onKey);
  for await (const chunk of chunksOf(source)) scanner.push(chunk);
  return scanner.end();
}

/** A blob with the version it carries. */
export interface VersionedBlob {
  version: string;
  source: BlobSource;
}

/**
 * The figures of replacing `from` (null: nothing current) by `to`. `from` is read first and
 * only its keys are kept; `to` is then streamed against them.
 */
export async function driftFigures(type: ArtifactType, topN: number, from: VersionedBlob | null, to: VersionedBlob): Promise<DriftFigures> {
  const shape = artifactType(type).drift;
  const n = shape.ranked ? topN : null;
  let fromSide: DriftSide | null = null;
  const fromKeys = new Set<string>();
  const fromTop = new Set<string>();
  if (from) {
    const scanned = await scanPayload(type, from.source, (key) => {
      fromKeys.add(key);
      if (n !== null && fromTop.size < n) fromTop.add(key);
    });
    fromSide = { version: from.version, ...scanned };
  }
  let common = 0;
  let commonTop = 0;
  let seenTop = 0;
  const toSide: DriftSide = {
    version: to.version,
    ...(await scanPayload(type, to.source, (key) => {
      if (fromKeys.has(key)) common++;
      if (n !== null && seenTop < n) {
        seenTop++;
        if (fromTop.has(key)) commonTop++;
      }
    })),
  };
  const comparable = fromSide !== null && fromSide.rows > 0;
  return {
    type,
    rows_of: shape.rowNoun,
    from: fromSide,
    to: toSide,
    row_shrink: comparable ? Math.max(0, fromSide!.rows - toSide.rows) / fromSide!.rows : null,
    key_overlap: comparable && fromKeys.size > 0 ? common / fromKeys.size : null,
    top_n: n,
    top_n_overlap: comparable && n !== null && fromTop.size > 0 ? commonTop / fromTop.size : null,
  };
}

/** What lifts the gate for one run. */
export interface DriftAllowances {
  /** `--allow-drift`: the thresholds are not applied. */
  drift: boolean;
  /** `--allow-empty` or `gates.allow_empty`: an empty artifact may replace a non-empty one. */
  empty: boolean;
}

/**
 * Why these figures block the publish, one reason per crossed rule naming the figure and the
 * threshold (empty: the publish may go on). The empty rule is on by default; the thresholds
 * only when configured.
 */
export function evaluateDrift(f: DriftFigures, t: DriftThresholds, allow: DriftAllowances): string[] {
  const reasons: string[] = [];
  if (f.from === null || f.from.rows === 0) return reasons;
  if (f.to.rows === 0 && !allow.empty) {
    reasons.push(`an empty artifact would replace ${f.from.rows} ${f.rows_of} (gates.allow_empty is false)`);
  }
  if (allow.drift) return reasons;
  if (t.max_row_shrink !== null && f.row_shrink !== null && f.row_shrink > t.max_row_shrink) {
    reasons.push(`row_shrink ${ratio(f.row_shrink)} > max_row_shrink ${t.max_row_shrink}`);
  }
  if (t.min_key_overlap !== null && f.key_overlap !== null && f.key_overlap < t.min_key_overlap) {
    reasons.push(`key_overlap ${ratio(f.key_overlap)} < min_key_overlap ${t.min_key_overlap}`);
  }
  if (t.min_top_n_overlap !== null && f.top_n_overlap !== null && f.top_n_overlap < t.min_top_n_overlap) {
    reasons.push(`top_${f.top_n}_overlap ${ratio(f.top_n_overlap)} < min_top_n_overlap ${t.min_top_n_overlap}`);
  }
  return reasons;
}

/** A fraction with 4 decimals (enough to see which side of a threshold it is). */
export function ratio(x: number | null): string {
  return x === null ? '-' : String(Math.round(x * 10_000) / 10_000);
}

/**
 * One line: `popularity items 1000 → 380, pairs -, row_shrink 0.62, key_overlap 0.41, top_100_overlap 0.3`.
 * The versions are left out (the summary and `diff` print them in their own columns).
 */
export function describeDrift(f: DriftFigures): string {
  const rows = `${f.rows_of} ${f.from === null ? '(none)' : f.from.rows} → ${f.to.rows}`;
  const pairs = f.to.pairs === null ? '' : `, pairs ${f.from?.pairs ?? '(none)'} → ${f.to.pairs}`;
  const top = f.top_n === null ? '' : `, top_${f.top_n}_overlap ${ratio(f.top_n_overlap)}`;
  return `${f.type} ${rows}${pairs}, row_shrink ${ratio(f.row_shrink)}, key_overlap ${ratio(f.key_overlap)}${top}`;
}

/**
 * A publish the drift gate stopped (E_GATE, exit 3, like any gate): the message names each
 * crossed rule with its figure and threshold; `figures` are those of every artifact of the
 * day (empty when the day's raw input was missing), for the summary, the logs and the metrics.
 */
export class DriftBlockedError extends PipelineError {
  constructor(
    message: string,
    readonly figures: DriftFigures[],
  ) {
    super('E_GATE', 3, message);
  }
}

export function isDriftBlocked(err: unknown): err is DriftBlockedError {
  return err instanceof DriftBlockedError;
}

/** How to lift the gate, for the end of its messages. */
const LIFT_HINT =
  'nothing was published (docs/runbooks/drift-blocked.md: compare with `diff`; --allow-drift lifts the thresholds, --allow-empty the empty rule, for one run)';

/** The blob that is current for `type` under `manifest`, or null (none, its blob is gone, or it is outside the store). */
export async function currentBlob(store: ObjectStore, manifest: Manifest | null, type: string): Promise<VersionedBlob | null> {
  const uri = manifest?.current[type];
  if (uri === undefined) return null;
  let bytes: Uint8Array;
  try {
    bytes = await store.get(uri);
  } catch (err) {
    // A current blob that no longer exists is nothing to compare with (status reports it);
    // nor is one outside the object store (a moved store folder), which is never read: the
    // publish replaces its URI with one inside the store.
    if (err instanceof PipelineError && (err.code === 'E_NOT_FOUND' || err.code === 'E_UNSAFE_URI')) return null;
    throw err;
  }
  return { version: versionOfUri(uri), source: bytes };
}

/**
 * The drift gate of one day's publish (called by the publisher under its lock, before it
 * writes anything): the figures of each new artifact against the one `manifest` points at,
 * and a DriftBlockedError when any rule blocks. Old blobs are read one at a time.
 */
export async function driftGate(
  config: Config,
  store: ObjectStore,
  manifest: Manifest | null,
  artifacts: Array<{ type: ArtifactType; version: string; source: BlobSource }>,
  allow: DriftAllowances,
): Promise<DriftFigures[]> {
  const figures: DriftFigures[] = [];
  const blocked: string[] = [];
  for (const a of artifacts) {
    const thresholds = config.gates.drift[a.type];
    const f = await driftFigures(a.type, thresholds.top_n, await currentBlob(store, manifest, a.type), { version: a.version, source: a.source });
    figures.push(f);
    const reasons = evaluateDrift(f, thresholds, allow);
    if (reasons.length > 0) blocked.push(`${a.type}: ${reasons.join('; ')} [${describeDrift(f)}; thresholds ${describeThresholds(thresholds, f)}]`);
  }
  if (blocked.length > 0) throw new DriftBlockedError(`validation failed: drift: ${blocked.join(' | ')}; ${LIFT_HINT}`, figures);
  return figures;
}

/** `max_row_shrink 0.5, min_key_overlap off, …` (the keys of gates.drift.<type>). */
export function describeThresholds(t: DriftThresholds, f: Pick<DriftFigures, 'top_n'>): string {
  const v = (x: number | null) => (x === null ? 'off' : String(x));
  const top = f.top_n === null ? '' : `, min_top_n_overlap ${v(t.min_top_n_overlap)}, top_n ${t.top_n}`;
  return `max_row_shrink ${v(t.max_row_shrink)}, min_key_overlap ${v(t.min_key_overlap)}${top}`;
}

/**
 * The default-on rule on raw input: a day whose raw input is missing is not published
 * (SPEC §1/§2 publish it as a day without events; a deliberate change, docs/contract.md).
 */
export function rawMissingBlocked(day: string, where: string): DriftBlockedError {
  return new DriftBlockedError(
    `validation failed: raw input missing: no raw input for ${day} (${where}); a day whose raw input is missing is not published, ` +
      `nothing was. If the day really has no events (a gap in the source), rerun it with --allow-empty or set gates.allow_empty: true (docs/runbooks/drift-blocked.md)`,
    [],
  );
}
