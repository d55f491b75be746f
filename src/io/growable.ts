/** Append-only Int32/Float64 column (amortised doubling; `finish` returns an exact-size copy). */
export class GrowableColumn<T extends Int32Array | Float64Array> {
  length = 0;
  constructor(private data: T) {}

  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new (this.data.constructor as { new (n: number): T })(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }

  finish(): T {
    return this.data.slice(0, this.length) as T;
  }
}
