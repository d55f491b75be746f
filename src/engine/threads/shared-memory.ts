/**
 * Typed arrays over SharedArrayBuffers: how every array crosses between threads here.
 *
 * Nothing is ever transferred (a postMessage transfer list, piscina's `move`). Detaching a
 * single ArrayBuffer invalidates V8's array-buffer-detaching protector for the whole
 * thread, and from then on optimised code checks every typed-array access for a detached
 * buffer: the raw parser ran about 30% slower on a 5M-event day, and the kernels pay the
 * same. A SharedArrayBuffer cannot be detached, and structured clone passes it by
 * reference: no copy, no detach. So raw blocks, parse results, kernel inputs and results,
 * and encode payloads all live in SharedArrayBuffers (docs/engine.md, "Threads and memory").
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const sharedInt32 = (length: number): Int32Array => new Int32Array(new SharedArrayBuffer(length * 4));

export const sharedFloat64 = (length: number): Float64Array => new Float64Array(new SharedArrayBuffer(length * 8));

/** A Buffer over a SharedArrayBuffer of its own (never a slice of Node's pool). */
export const sharedBytes = (length: number): Buffer => Buffer.from(new SharedArrayBuffer(length));

/** An exact-size copy of `a` over a SharedArrayBuffer. */
export function sharedCopy<T extends Int32Array | Float64Array | Uint8Array>(a: T): T {
  const copy = new (a.constructor as { new (buffer: SharedArrayBuffer): T })(new SharedArrayBuffer(a.byteLength));
  copy.set(a);
  return copy;
}

/**
 * A full garbage collection of this thread's heap (~10-50 ms), run by each worker after
 * each day-level task and by the main thread after each day. A SharedArrayBuffer's memory
 * is freed only once every thread that saw it has collected its wrapper, and a thread that
 * allocates little JS (a worker between tasks, the coordinating main thread) collects
 * rarely: without this, a backfill's peak RSS grew with every day (2 workers, 1M-event
 * days: 0.6 GB after 2 days, 1.0 GB after 15 with only the workers collecting; 1.9 GB
 * after 8 once the main thread stopped doing the id lookups that made it collect). `gc`
 * is read from a new context because the flag only affects contexts created after it is set.
 */
export const collectGarbage: () => void = (() => {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    if (typeof gc === 'function') return gc as () => void;
  } catch {
    // Setting V8 flags at run time is not guaranteed: without gc, memory is reclaimed later.
  }
  return () => undefined;
})();
