/**
 * The rows of a published popularity or cooc blob, read as a stream from its pretty layout
 * (for the Postgres signal tables, signals.ts): no JSON.parse of the whole blob.
 */
import { createReadStream } from 'node:fs';
import { artifactType } from '../../engine/artifact-types';
import { ioError } from '../../errors';
import type { PreparedArtifact } from '../../engine/publisher';

const SLICE_BYTES = 1 << 20;

/** One row for a signal table: (item, neighbour, count). */
export interface SignalRow {
  item: string;
  /** The neighbour (cooc); '' for popularity. */
  neighbor: string;
  count: number;
}

/**
 * The rows of a published popularity or cooc blob, `batch` at a time, in blob order:
 * popularity `{item_id, count}` → (item, '', count); cooc `{item_id, items: [{item_id,
 * count}]}` → one (item, neighbour, count) per neighbour.
 *
 * Reads the published pretty layout line by line (docs/contract.md §5: two-space indent, one key per
 * line; the publisher has checked the blob before this runs): payload elements at depth
 * 2 (6 spaces before their keys), cooc neighbours at depth 4 (10 spaces). Only `item_id`
 * values are JSON-decoded. A blob in another layout is an E_IO error naming it.
 */
export async function scanArtifactRows(
  blob: PreparedArtifact['blob'],
  type: 'popularity' | 'cooc',
  batch: number,
  write: (rows: SignalRow[]) => Promise<void>,
  /** Bytes read at a time (tests use tiny slices to cross every boundary). */
  sliceBytes = SLICE_BYTES,
): Promise<void> {
  const where = blob instanceof Uint8Array ? `the published ${type} artifact` : blob.path;
  const scanner = new RowScanner(type, where);
  let rows: SignalRow[] = [];
  const flush = async (all: boolean) => {
    while (rows.length >= batch || (all && rows.length > 0)) {
      const part = rows.length > batch ? rows.slice(0, batch) : rows;
      rows = rows.length > batch ? rows.slice(batch) : [];
      await write(part);
    }
  };
  for await (const slice of blobSlices(blob, sliceBytes)) {
    scanner.push(slice, rows);
    await flush(false);
  }
  scanner.end(rows);
  await flush(true);
}

async function* blobSlices(blob: PreparedArtifact['blob'], sliceBytes: number): AsyncGenerator<Buffer> {
  if (blob instanceof Uint8Array) {
    const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
    for (let at = 0; at < bytes.length; at += sliceBytes) yield bytes.subarray(at, at + sliceBytes);
    return;
  }
  const stream = createReadStream(blob.path, { highWaterMark: sliceBytes });
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (err) {
    throw ioError('read published artifact', blob.path, err);
  } finally {
    stream.destroy();
  }
}

const ITEM_KEY = Buffer.from('"item_id": ');
const COUNT_KEY = Buffer.from('"count": ');
const SPACE = 0x20;
const NEWLINE = 0x0a;

/** Line scanner of one blob's payload (see scanArtifactRows). */
class RowScanner {
  private readonly payloadOpen: Buffer;
  private readonly payloadEmpty: Buffer;
  private readonly rowIndent = 6;
  private readonly neighborIndent: number;
  private state: 'header' | 'payload' | 'done' = 'header';
  private rest: Buffer | null = null;
  private lineNo = 0;
  private item: string | null = null;
  private neighbor: string | null = null;

  constructor(
    private readonly type: 'popularity' | 'cooc',
    private readonly where: string,
  ) {
    const field = JSON.stringify(artifactType(type).payloadField);
    this.payloadOpen = Buffer.from(`  ${field}: [`);
    this.payloadEmpty = Buffer.from(`  ${field}: [],`);
    this.neighborIndent = type === 'cooc' ? 10 : -1;
  }

  push(slice: Buffer, out: SignalRow[]): void {
    let start = 0;
    if (this.rest !== null) {
      const nl = slice.indexOf(NEWLINE);
      if (nl === -1) {
        this.rest = Buffer.concat([this.rest, slice]);
        return;
      }
      const line = Buffer.concat([this.rest, slice.subarray(0, nl)]);
      this.rest = null;
      this.line(line, 0, line.length, out);
      start = nl + 1;
    }
    for (;;) {
      const nl = slice.indexOf(NEWLINE, start);
      if (nl === -1) break;
      this.line(slice, start, nl, out);
      start = nl + 1;
    }
    if (start < slice.length) this.rest = Buffer.from(slice.subarray(start));
  }

  end(out: SignalRow[]): void {
    if (this.rest !== null) this.line(this.rest, 0, this.rest.length, out);
    this.rest = null;
    if (this.state !== 'done') this.fail('the payload array is missing or not closed');
  }

  private fail(what: string): never {
    throw ioError('read rows of', this.where, new Error(`line ${this.lineNo}: ${what} (not a ${this.type} artifact in the published layout)`));
  }

  private line(buf: Buffer, start: number, end: number, out: SignalRow[]): void {
    this.lineNo++;
    if (this.state === 'done') return;
    if (end > start && buf[end - 1] === 0x0d) end--;
    if (this.state === 'header') {
      if (startsWith(buf, start, end, this.payloadEmpty) && end - start === this.payloadEmpty.length) this.state = 'done';
      else if (startsWith(buf, start, end, this.payloadOpen) && end - start === this.payloadOpen.length) this.state = 'payload';
      return;
    }
    let indent = start;
    while (indent < end && buf[indent] === SPACE) indent++;
    const depth = indent - start;
    if (depth === 2) {
      // `  ],` closes the payload.
      this.state = 'done';
      if (this.item !== null && this.type === 'popularity') this.fail('an item without a count');
      return;
    }
    if (depth !== this.rowIndent && depth !== this.neighborIndent) return;
    if (startsWith(buf, indent, end, ITEM_KEY)) {
      const id = this.stringValue(buf, indent + ITEM_KEY.length, end);
      if (depth === this.rowIndent) {
        this.item = id;
        this.neighbor = null;
      } else {
        this.neighbor = id;
      }
    } else if (startsWith(buf, indent, end, COUNT_KEY)) {
      const count = this.countValue(buf, indent + COUNT_KEY.length, end);
      if (this.item === null) this.fail('a count before its item_id');
      if (this.type === 'popularity') {
        if (depth !== this.rowIndent) this.fail('a count at an unexpected depth');
        out.push({ item: this.item, neighbor: '', count });
        this.item = null;
      } else {
        if (depth !== this.neighborIndent || this.neighbor === null) this.fail('a neighbour count without its item_id');
        out.push({ item: this.item, neighbor: this.neighbor, count });
        this.neighbor = null;
      }
    }
  }

  private stringValue(buf: Buffer, from: number, end: number): string {
    if (buf[end - 1] === 0x2c) end--;
    try {
      const v: unknown = JSON.parse(buf.toString('utf8', from, end));
      if (typeof v === 'string') return v;
    } catch {
      // fall through
    }
    this.fail('an item_id that is not a JSON string');
  }

  private countValue(buf: Buffer, from: number, end: number): number {
    if (buf[end - 1] === 0x2c) end--;
    const text = buf.toString('latin1', from, end);
    const n = Number(text);
    if (text === '' || !Number.isFinite(n)) this.fail('a count that is not a number');
    return n;
  }
}

function startsWith(buf: Buffer, at: number, end: number, prefix: Buffer): boolean {
  return end - at >= prefix.length && buf.compare(prefix, 0, prefix.length, at, at + prefix.length) === 0;
}
