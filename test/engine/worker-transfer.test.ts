/**
 * Results travel back from workers by transfer, not by copy (and parse blocks travel to
 * them the same way): the transfer lists in src/engine/worker/messages.ts name every
 * buffer of a message, each buffer is exact-size and appears once, and posting through a
 * real MessageChannel with that list detaches the sender's arrays (byteLength 0) while the
 * receiver gets the same contents. Compute inputs are SharedArrayBuffers: shared, never
 * transferred. The worker entry hands Piscina exactly resultTransferList(result).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MessageChannel, MessagePort } from 'node:worker_threads';
import { transferableSymbol, valueSymbol } from 'piscina';
import { afterAll, describe, expect, it } from 'vitest';
import { indexDay } from '../../src/engine/coordinator';
import computeShard from '../../src/engine/worker/index';
import { resultTransferList, ShardOutcome, ShardTask, taskTransferList } from '../../src/engine/worker/messages';
import { CanonicalDayBuilder } from '../../src/io/canonical';
import { parseBlock, ParseResult } from '../../src/io/exposure-scan';
import { readLineBlocks } from '../../src/io/lines';
import { coocRows, itemRange } from '../../src/kernels/cooc';
import { implicitRows } from '../../src/kernels/implicit';
import type { ScoredRows } from '../../src/kernels/scored-rows';
import { sessionSeqRows } from '../../src/kernels/session-seq';
import { tempDir } from '../helpers';
import { generateDayLines } from '../reference/generate';
import { dayStart, parseRawDay, tsMicros } from '../reference/reference';

const DAY = '2026-01-01';
const RAW = generateDayLines(5, { tenant: 't', surface: 's', day: DAY, events: 400, users: 8, items: 12 });

function smallIndex() {
  const b = new CanonicalDayBuilder();
  for (const e of parseRawDay(RAW, 't', 's', DAY).events) {
    b.add({ tsMicros: tsMicros(e.ts), tenant: e.tenant, surface: e.surface, sessionId: e.session_id, itemId: e.item_id, userId: e.user_id ?? '', requestId: '', rank: -1 });
  }
  return indexDay(b.finish());
}

const scanParams = { tenant: 't', surface: 's', dayStart: dayStart(DAY), dayEnd: dayStart(DAY) + 86_400_000_000, failFast: false, firstBlock: true };

/** Every typed array reachable from a message (the things whose buffers must move). */
function typedArrays(value: unknown, out: ArrayBufferView[] = []): ArrayBufferView[] {
  if (ArrayBuffer.isView(value)) out.push(value);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) typedArrays(v, out);
  return out;
}

function receive(port: MessagePort): Promise<unknown> {
  return new Promise((resolve) => port.once('message', resolve));
}

/** Posts `message` with `transfer`; returns what arrived. */
async function post(message: unknown, transfer: ArrayBuffer[]): Promise<unknown> {
  const { port1, port2 } = new MessageChannel();
  try {
    const got = receive(port2);
    port1.postMessage(message, transfer);
    return await got;
  } finally {
    port1.close();
    port2.close();
  }
}

function results(): Array<[string, ScoredRows | ParseResult]> {
  const ix = smallIndex();
  const anonymousOnly = RAW.split('\n').filter((l) => l && !/"user_id":"[^" \t\\]/.test(l)).join('\n') + '\n';
  return [
    ['cooc', coocRows(ix.sessions, itemRange(0, ix.nItems), 1, 5)],
    ['implicit', implicitRows(ix.userOffsets, ix.userItems, ix.nItems, 0, ix.nUsers, 3)],
    ['session_seq', sessionSeqRows(ix.userOffsets, ix.userItems, ix.userTs, ix.nItems, 0, ix.nUsers, 3)],
    ['parse', parseBlock(Buffer.from(RAW), scanParams)],
    // empty columns (no users) must not share one empty buffer
    ['parse, anonymous only', parseBlock(Buffer.from(anonymousOnly), scanParams)],
  ];
}

describe('shard result transfer', () => {
  it.each(results())('%s: the transfer list is every buffer of the result, each once, exact-size, not shared', (_kind, result) => {
    const list = resultTransferList(result);
    const arrays = typedArrays(result);
    expect(arrays.length).toBeGreaterThanOrEqual(4);
    expect(new Set(list).size).toBe(list.length);
    expect(new Set(list)).toEqual(new Set(arrays.map((a) => a.buffer)));
    for (const a of arrays) {
      expect(a.buffer).toBeInstanceOf(ArrayBuffer);
      expect(a.byteOffset).toBe(0);
      expect(a.buffer.byteLength).toBe(a.byteLength);
    }
  });

  it.each(results())('%s: posting with resultTransferList detaches the sender and delivers equal data', async (_kind, result) => {
    const before = structuredClone(result);
    const arrays = typedArrays(result).filter((a) => a.byteLength > 0);
    expect(arrays.length).toBeGreaterThanOrEqual(3);
    const received = (await post({ state: 'ok', shard: 3, result }, resultTransferList(result))) as ShardOutcome & { state: 'ok' };
    for (const a of arrays) expect(a.byteLength).toBe(0);
    expect(received.shard).toBe(3);
    expect(received.result).toEqual(before);
  });

  it('the worker entry returns its result with exactly that transfer list', async () => {
    const ix = smallIndex();
    const task: ShardTask = { kind: 'implicit', shard: 0, nItems: ix.nItems, userOffsets: ix.userOffsets, userItems: ix.userItems, lo: 0, hi: ix.nUsers, maxItemsPerUser: 3 };
    const moved = (await computeShard(task)) as unknown as Record<symbol, unknown>;
    const value = moved[valueSymbol] as ShardOutcome & { state: 'ok' };
    expect(value.state).toBe('ok');
    expect(moved[transferableSymbol]).toEqual(resultTransferList(value.result));
    expect(new Set(moved[transferableSymbol] as ArrayBuffer[])).toEqual(new Set(typedArrays(value.result).map((a) => a.buffer)));
  });
});

describe('shard task transfer', () => {
  const tmp = tempDir('recsys-transfer-');
  afterAll(() => tmp.cleanup());

  it('compute inputs are shared (SharedArrayBuffer), so a compute task transfers nothing', () => {
    const ix = smallIndex();
    const shared = [ix.sessions.sessionOffsets, ix.sessions.sessionItems, ix.sessions.itemSessionOffsets, ix.sessions.itemSessions, ix.userOffsets, ix.userItems, ix.userTs];
    for (const a of shared) expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
    const cooc: ShardTask = { kind: 'cooc', shard: 0, index: ix.sessions, items: itemRange(0, ix.nItems), minSupport: 1, maxNeighbors: 5 };
    expect(taskTransferList(cooc)).toEqual([]);
  });

  it('parse blocks from readLineBlocks own exact-size buffers; posting a parse task detaches only its block', async () => {
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
    for (const b of blocks) {
      expect(b.byteOffset).toBe(0);
      expect(b.buffer.byteLength).toBe(b.byteLength);
    }
    expect(new Set(blocks.map((b) => b.buffer)).size).toBe(blocks.length);

    const copy = Buffer.from(blocks[1]);
    const task: ShardTask = { kind: 'parse', shard: 1, block: blocks[1], params: { ...scanParams, firstBlock: false } };
    const received = (await post(task, taskTransferList(task))) as ShardTask & { kind: 'parse' };
    expect(blocks[1].byteLength).toBe(0);
    expect(blocks[0].byteLength).toBeGreaterThan(0);
    expect(blocks[2].byteLength).toBeGreaterThan(0);
    expect(Buffer.from(received.block).equals(copy)).toBe(true);
  });
});
