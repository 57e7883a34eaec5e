/**
 * The window of append messages in flight to one follower (etcd's tracker/inflights.go): a ring of
 * (end offset, bytes) per message, bounded both in count and in bytes, so a leader pipelines several
 * appends without waiting yet never floods a slow follower.
 *
 * Invariants: ends are strictly increasing from the oldest to the newest; `count <= maxCount`;
 * `bytes` is the sum of the window's sizes; `freeTo(end)` releases exactly the messages whose end is
 * at or below `end` (the follower acknowledged them).
 */
import type { Offset } from '../log/index.js';
import { invariant } from './invariant.js';

export class Inflights {
  private readonly ends: number[];
  private readonly sizes: number[];
  private start = 0;
  private countValue = 0;
  private bytesValue = 0;

  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
  ) {
    invariant(Number.isInteger(maxCount) && maxCount > 0, `inflights maxCount ${maxCount}`);
    this.ends = new Array<number>(maxCount).fill(0);
    this.sizes = new Array<number>(maxCount).fill(0);
  }

  get count(): number {
    return this.countValue;
  }

  get bytes(): number {
    return this.bytesValue;
  }

  full(): boolean {
    return this.countValue === this.maxCount || (this.maxBytes > 0 && this.bytesValue >= this.maxBytes);
  }

  add(end: Offset, bytes: number): void {
    invariant(!this.full(), 'add to a full inflights window');
    if (this.countValue > 0) {
      const newest = this.ends[(this.start + this.countValue - 1) % this.maxCount] as number;
      invariant(end > newest, () => `inflight end ${end} not above ${newest}`);
    }
    const slot = (this.start + this.countValue) % this.maxCount;
    this.ends[slot] = end;
    this.sizes[slot] = bytes;
    this.countValue++;
    this.bytesValue += bytes;
  }

  /** Releases every message whose end is at or below `end`. */
  freeTo(end: Offset): void {
    while (this.countValue > 0 && (this.ends[this.start] as number) <= end) {
      this.bytesValue -= this.sizes[this.start] as number;
      this.start = (this.start + 1) % this.maxCount;
      this.countValue--;
    }
    if (this.countValue === 0) this.start = 0;
  }

  reset(): void {
    this.start = 0;
    this.countValue = 0;
    this.bytesValue = 0;
  }
}
