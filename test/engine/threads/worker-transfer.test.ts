/**
 * Nothing crossing a thread boundary is transferred, and nothing large is copied: every
 * typed array of a shard result and of a parse task lives in a SharedArrayBuffer, so
 * structured clone (a real MessageChannel here) delivers arrays over the same memory and
 * leaves the sender's arrays attached. Transferring would detach an ArrayBuffer, which
 * slows every typed-array access of that thread from then on (src/engine/threads/shared-memory.ts).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MessagePort } from 'node:worker_threads';
import { MessageChannel } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { indexDay, indexItems } from '../../../src/kernels/day-index';
import runWorkerTask from '../../../src/engine/worker/index';
import type { TaskOutcome, WorkerTask } from '../../../src/engine/threads/messages';
import { parseBlock } from '../../../src/io/parse/scanner';
import { readLineBlocks } from '../../../src/io/sources/lines';
import { coocRows, itemRange } from '../../../src/kernels/cooc';
import { groupUserEvents } from '../../../src/kernels/group';
import { mergeColumn } from '../../../src/io/parse/byte-dictionary';
import { implicitRows } from '../../../src/kernels/implicit';
import { sessionSeqRows } from '../../../src/kernels/session-seq';
import { canonicalDayOf } from '../../support/canonical';
import { must, tempDir } from '../../support/helpers';
import { generateDayLines } from '../../support/generate';
import { dayStart, parseRawDay } from '../../support/reference';

const DAY = '2026-01-01';
const RAW = generateDayLines(5, { tenant: 't', surface: 's', day: DAY, events: 400, users: 8, items: 12 });

const smallDay = () => canonicalDayOf(parseRawDay(RAW, 't', 's', DAY).events);

const smallIndex = () => indexDay(smallDay());

const scanParams = { tenant: 't', surface: 's', dayStart: dayStart(DAY), dayEnd: dayStart(DAY) + 86_400_000_000, failFast: false, firstBlock: true };

/** Every typed array reachable from a message. */
function typedArrays(value: unknown, out: ArrayBufferView[] = []): ArrayBufferView[] {
  if (ArrayBuffer.isView(value)) out.push(value);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) typedArrays(v, out);
  return out;
}

function receive(port: MessagePort): Promise<unknown> {
  return new Promise((resolve) => port.once('message', resolve));
}

/** Posts `message` (no transfer list, as the pool does); returns what arrived. */
async function post(message: unknown): Promise<unknown> {
  const { port1, port2 } = new MessageChannel();
  try {
    const got = receive(port2);
    port1.postMessage(message);
    return await got;
  } finally {
    port1.close();
    port2.close();
  }
}

/** Sent and received arrays are views of the same memory: a write on one side shows on the other. */
function expectSameMemory(sent: ArrayBufferView[], received: ArrayBufferView[]): void {
  expect(received.length).toBe(sent.length);
  sent.forEach((a, i) => {
    const mine = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const other = must(received[i], `received array ${i}`);
    const theirs = new Uint8Array(other.buffer, other.byteOffset, other.byteLength);
    expect(theirs.byteLength).toBe(mine.byteLength);
    const first = mine[0];
    if (first === undefined) return; // empty
    mine[0] = first ^ 0xff;
    expect(theirs[0]).toBe(mine[0]);
    mine[0] = first;
  });
}

function results(): Array<[string, unknown]> {
  const ix = smallIndex();
  const day = smallDay();
  const half = RAW.indexOf('\n', RAW.length >> 1) + 1;
  const blocks = [RAW.slice(0, half), RAW.slice(half)].map((raw) => parseBlock(Buffer.from(raw), scanParams).parsed);
  const anonymousOnly =
    RAW.split('\n')
      .filter((l) => l && !/"user_id":"[^" \t\\]/.test(l))
      .join('\n') + '\n';
  return [
    ['cooc', coocRows(ix.sessions, itemRange(0, ix.nItems), 1, 5)],
    ['implicit', implicitRows(ix.userOffsets, ix.userItems, ix.nItems, 0, ix.nUsers, 3)],
    ['session_seq', sessionSeqRows(ix.userOffsets, ix.userItems, ix.userTs, ix.nItems, 0, ix.nUsers, 3)],
    ['parse', parseBlock(Buffer.from(RAW), scanParams)],
    ['parse, anonymous only', parseBlock(Buffer.from(anonymousOnly), scanParams)],
    ['column', mergeColumn(blocks.map(({ item }) => ({ rows: item.codes.length, codes: item.codes, dict: item.dict })))],
    ['items', indexItems(day.session.codes, day.session.size, day.item.codes, day.item.size)],
    ['users', groupUserEvents(day.user.codes, day.item.codes, day.tsMicros, day.user.size)],
  ];
}

describe('shard results are shared, never transferred', () => {
  it.each(results())('%s: every array is an exact-size view of a SharedArrayBuffer of its own', (_kind, result) => {
    const arrays = typedArrays(result);
    expect(arrays.length).toBeGreaterThanOrEqual(3);
    expect(new Set(arrays.map((a) => a.buffer)).size).toBe(arrays.length);
    for (const a of arrays) {
      expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(a.byteOffset).toBe(0);
      expect(a.buffer.byteLength).toBe(a.byteLength);
    }
  });

  it.each(results())('%s: posting it keeps the sender attached and delivers the same memory', async (_kind, result) => {
    const before = structuredClone(result);
    const arrays = typedArrays(result);
    const received = (await post({ state: 'ok', result })) as TaskOutcome & { state: 'ok' };
    expect(received.result).toEqual(before);
    expectSameMemory(arrays, typedArrays(received.result));
  });

  it('the worker entry returns a plain outcome (no transfer wrapper)', async () => {
    const ix = smallIndex();
    const input = { nItems: ix.nItems, userOffsets: ix.userOffsets, userItems: ix.userItems, lo: 0, hi: ix.nUsers, maxItemsPerUser: 3 };
    const task: WorkerTask = { task: 'kernel', type: 'implicit', shard: 0, input };
    const outcome = await runWorkerTask(task);
    expect(Object.getOwnPropertySymbols(outcome)).toEqual([]);
    expect(outcome.state).toBe('ok');
    expect(typedArrays(outcome).every((a) => a.buffer instanceof SharedArrayBuffer)).toBe(true);
  });

  it('no source file transfers buffers (postMessage transfer lists, piscina move)', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, e.name);
        if (e.isDirectory()) walk(path);
        else if (e.name.endsWith('.ts') && /transferList|transferableSymbol|\bmove\(/.test(readFileSync(path, 'utf8'))) offenders.push(path);
      }
    };
    walk(join(__dirname, '..', '..', '..', 'src'));
    expect(offenders).toEqual([]);
  });
});

describe('parse tasks are shared, never transferred', () => {
  const tmp = tempDir('recsys-transfer-');
  afterAll(() => tmp.cleanup());

  it('blocks from readLineBlocks have shared buffers of their own; posting a parse task shares the block', async () => {
    const dir = join(tmp.dir, 'raw');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'exposure.jsonl');
    // The file is read in 1 MiB chunks: a few MiB make several blocks.
    const raw = generateDayLines(6, { tenant: 't', surface: 's', day: DAY, events: 20_000, users: 50, items: 80 });
    writeFileSync(path, raw);
    const blocks: Buffer[] = [];
    for await (const block of readLineBlocks(path, 4096)) blocks.push(block);
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    expect(Buffer.concat(blocks).toString('utf8')).toBe(raw);
    for (const b of blocks) expect(b.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(new Set(blocks.map((b) => b.buffer)).size).toBe(blocks.length);

    const block = must(blocks[1]);
    const task: WorkerTask = { task: 'parse', shard: 1, block, params: { ...scanParams, firstBlock: false } };
    const received = (await post(task)) as WorkerTask & { task: 'parse' };
    expect(block.byteLength).toBeGreaterThan(0);
    expect(Buffer.from(received.block).equals(block)).toBe(true);
    expectSameMemory([block], [received.block]);
  });

  it('the day index (the compute inputs) is shared too', () => {
    const ix = smallIndex();
    const shared = [
      ix.itemCounts,
      ix.sessions.sessionOffsets,
      ix.sessions.sessionItems,
      ix.sessions.itemSessionOffsets,
      ix.sessions.itemSessions,
      ix.userOffsets,
      ix.userItems,
      ix.userTs,
    ];
    for (const a of shared) expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
  });
});
