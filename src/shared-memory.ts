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
