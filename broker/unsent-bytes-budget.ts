/**
 * The broker-wide budget of unsent answer bytes: bytes of answers that connections have built and
 * their clients have not yet taken (finished answers waiting behind an earlier one, and the bytes
 * in a socket's write buffer). Each connection keeps its own count under its own bound
 * (`maxUnsentBytesPerConnection`, checked by the connection); this budget bounds the sum
 * (`maxUnsentBytes`), so many clients that stop reading cannot together exhaust the broker's memory.
 *
 * Rule: while the total is under `maxBytes`, every connection may take more work. Above it, only a
 * connection holding nothing may: the connections holding unsent bytes — the ones whose clients
 * stopped reading above all, since their bytes never drain — stop being read and served until
 * their own bytes drain or the total falls below `maxBytes` (they are woken then). A client that
 * keeps up holds its answers only until the kernel takes them, so it goes on, at its own pace, an
 * answer at a time: one slow reader cannot starve the others.
 *
 * The total passes `maxBytes` by at most one answer per connection (a connection builds one large
 * answer at a time, see `connection-handler.ts`), whatever the number of clients that stop reading.
 *
 * Concurrency: one thread; members call `add`/`release` as their bytes change.
 */
import { invariant } from './invariant.js';

/** A connection as the budget sees it. */
export interface UnsentBytesHolder {
  /** Called once the total drained below the bound after this member was refused. */
  wake(): void;
}

export class UnsentBytesBudget {
  readonly maxBytes: number;
  private total = 0;
  private readonly stopped = new Set<UnsentBytesHolder>();

  constructor(maxBytes: number) {
    invariant(Number.isSafeInteger(maxBytes) && maxBytes > 0, () => `maxUnsentBytes must be a positive integer, got ${maxBytes}`);
    this.maxBytes = maxBytes;
  }

  /** Unsent answer bytes across every connection. */
  get totalBytes(): number {
    return this.total;
  }

  /** A member that held `before` bytes now holds `bytes` more. */
  add(before: number, bytes: number): void {
    invariant(bytes >= 0 && before >= 0, () => `unsent bytes cannot grow by ${bytes} from ${before}`);
    this.total += bytes;
  }

  /** A member that held `before` bytes now holds `bytes` fewer (written to the kernel, or dropped). */
  release(before: number, bytes: number): void {
    invariant(bytes >= 0 && bytes <= before && bytes <= this.total, () => `cannot release ${bytes} of ${before} unsent bytes (total ${this.total})`);
    if (bytes === 0) return;
    this.total -= bytes;
    if (this.total < this.maxBytes && this.stopped.size > 0) {
      const woken = [...this.stopped];
      this.stopped.clear();
      for (const member of woken) member.wake();
    }
  }

  /**
   * Whether `member`, judged as holding `bytes` (its unsent bytes, or the part of them it can
   * drain), may read and serve more now. When it may not, it is remembered and woken once the total
   * drains below the bound.
   */
  allows(member: UnsentBytesHolder, bytes: number): boolean {
    if (this.total < this.maxBytes || bytes === 0) return true;
    this.stopped.add(member);
    return false;
  }

  /** A closed member is never woken. */
  forget(member: UnsentBytesHolder): void {
    this.stopped.delete(member);
  }
}
