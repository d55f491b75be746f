import { sharedCopy } from '../../engine/threads/shared-memory';

/** Append-only Int32/Float64 column (amortised doubling; `finish` returns an exact-size shared copy). */
export class GrowableColumn<T extends Int32Array | Float64Array> {
  length = 0;
  constructor(private data: T) {}

  /** Makes room for `n` more values; returns the backing array to write at [length, length + n). */
  reserve(n: number): T {
    if (this.length + n > this.data.length) {
      const next = new (this.data.constructor as { new (n: number): T })(Math.max(this.length + n, this.data.length * 2));
      next.set(this.data.subarray(0, this.length));
      this.data = next;
    }
    return this.data;
  }

  push(v: number): void {
    if (this.length === this.data.length) this.reserve(1);
    this.data[this.length++] = v;
  }

  append(values: ArrayLike<number>): void {
    this.reserve(values.length).set(values, this.length);
    this.length += values.length;
  }

  fill(v: number, n: number): void {
    this.reserve(n).fill(v, this.length, this.length + n);
    this.length += n;
  }

  finish(): T {
    return sharedCopy(this.data.subarray(0, this.length) as T);
  }
}
