/**
 * The broker-wide budget of unsent answer bytes: bytes of answers that connections have built and
 * their clients have not yet taken (finished answers waiting behind an earlier one, and the bytes
 * in a socket's write buffer). Each connection keeps its own count under its own bound
 * (`maxUnsentBytesPerConnection`, checked by the connection); this budget bounds the sum
 * (`maxUnsentBytes`), so many clients that stop reading cannot together exhaust the broker's memory.
 *
 * Rule: while the total is under `maxBytes`, every connection may take more work. Above it, a
 * connection may go on only while it holds at most its share, `maxBytes / holders` (holders:
 * connections holding any unsent bytes). So the connections holding the most stop first, and a
 * connection whose client keeps up (holding nothing) is never stopped: one slow reader cannot starve
 * the others. At least one holder is always above its share when the total is above `maxBytes`, so
 * the rule always stops someone. A stopped connection is woken when the total drains below
 * `maxBytes`, and re-checks whenever its own bytes drain.
 *
 * The total may pass `maxBytes` by the answers being built when it is crossed (at most one large
 * answer per connection: a connection builds one fetch answer at a time, see
 * `connection-handler.ts`).
 *
 * Concurrency: one thread; members call `add`/`release` as their bytes change.
 */
import { invariant } from './invariant.js';

/** A connection as the budget sees it. */
export interface UnsentBytesHolder {
  /** Unsent answer bytes this connection holds now. */
  readonly unsentBytes: number;
  /** Called once the total drained below the bound after this member was refused. */
  wake(): void;
}

export class UnsentBytesBudget {
  readonly maxBytes: number;
  private total = 0;
  private holders = 0;
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
    if (bytes === 0) return;
    if (before === 0) this.holders += 1;
    this.total += bytes;
  }

  /** A member that held `before` bytes now holds `bytes` fewer (written to the kernel, or dropped). */
  release(before: number, bytes: number): void {
    invariant(bytes >= 0 && bytes <= before && bytes <= this.total, () => `cannot release ${bytes} of ${before} unsent bytes (total ${this.total})`);
    if (bytes === 0) return;
    if (before === bytes) this.holders -= 1;
    this.total -= bytes;
    if (this.total < this.maxBytes && this.stopped.size > 0) {
      const woken = [...this.stopped];
      this.stopped.clear();
      for (const member of woken) member.wake();
    }
  }

  /**
   * Whether `member` may read and serve more now. When it may not, it is remembered and woken once
   * the total drains below the bound.
   */
  allows(member: UnsentBytesHolder): boolean {
    if (this.total < this.maxBytes || member.unsentBytes * this.holders <= this.maxBytes) return true;
    this.stopped.add(member);
    return false;
  }

  /** A closed member is never woken. */
  forget(member: UnsentBytesHolder): void {
    this.stopped.delete(member);
  }
}
