/**
 * A fixed-capacity ring of samples, oldest first: pushing onto a full ring drops the oldest. The
 * dashboard keeps one per partition and per consumer group (`traffic-sampler.ts`), so memory per
 * series is bounded by `capacity` whatever the uptime.
 *
 * Invariant: `size <= capacity`; `toArray()` returns the last `size` values pushed, in push order.
 */
export class SampleRing<T> {
  private readonly slots: (T | undefined)[];
  /** Index of the next write. */
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`a ring holds at least 1 sample, got capacity ${capacity}`);
    this.slots = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(value: T): void {
    this.slots[this.next] = value;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** The samples held, oldest first (a copy). */
  toArray(): T[] {
    const start = (this.next - this.count + this.capacity) % this.capacity;
    return Array.from({ length: this.count }, (_, i) => this.slots[(start + i) % this.capacity] as T);
  }
}
