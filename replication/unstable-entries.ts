/**
 * The tail of the Raft log that is not yet durable (etcd's log_unstable.go): entries appended by the
 * leader or received by a follower, and possibly a snapshot received from the leader, which the
 * driver has not yet persisted and acknowledged through `advance`.
 *
 * Invariants:
 * - `offset` is where the unstable part begins: everything below it is in storage (durable), or
 *   below the pending snapshot;
 * - entries are contiguous from `offset` (the first entry's `baseOffset === offset`);
 * - with a pending snapshot, `offset === snapshot.lastOffset + 1` and storage is not consulted;
 * - `stableTo` only moves `offset` up to the end of an entry that is still there with the same term:
 *   an acknowledgement of entries since overwritten changes nothing.
 */
import { asOffset, type Epoch, type Offset } from '../log/index.js';
import { indexOfEntry, type Entry, type RaftSnapshot } from './entry.js';
import { invariant } from './invariant.js';

export class UnstableEntries<P> {
  entries: Entry<P>[] = [];
  snapshot: RaftSnapshot | undefined;

  constructor(public offset: Offset) {}

  get endOffset(): Offset {
    const last = this.entries.at(-1);
    return last === undefined ? this.offset : asOffset(last.lastOffset + 1);
  }

  /** The index in `entries` of the entry holding `offset`, or -1. */
  indexOf(offset: Offset): number {
    return indexOfEntry(this.entries, offset);
  }

  /** The term at `offset` if the unstable part knows it. */
  termAt(offset: Offset): Epoch | undefined {
    if (this.snapshot !== undefined && offset === this.snapshot.lastOffset) return this.snapshot.lastTerm;
    const i = this.indexOf(offset);
    return i < 0 ? undefined : (this.entries[i] as Entry<P>).term;
  }

  /** Appends `entries`, first dropping whatever unstable entries sit at or above their base offset. */
  truncateAndAppend(entries: readonly Entry<P>[]): void {
    const first = entries[0];
    if (first === undefined) return;
    const base = first.baseOffset;
    if (base === this.endOffset) {
      for (const entry of entries) this.entries.push(entry);
    } else if (base <= this.offset) {
      // Replaces the whole unstable part; storage will be truncated at `base` when persisted.
      invariant(this.snapshot === undefined || base > this.snapshot.lastOffset, () => `append at ${base} below the pending snapshot`);
      this.offset = base;
      this.entries = [...entries];
    } else {
      const keep = this.indexOf(asOffset(base - 1));
      invariant(keep >= 0 && (this.entries[keep] as Entry<P>).lastOffset === base - 1, () => `append at ${base} is not an entry boundary`);
      this.entries.length = keep + 1;
      for (const entry of entries) this.entries.push(entry);
    }
  }

  /** The driver made entries durable up to `end` (exclusive), the last of them of `term`. */
  stableTo(end: Offset, term: Epoch): void {
    if (this.snapshot !== undefined || end <= this.offset) return;
    const i = this.indexOf(asOffset(end - 1));
    if (i < 0) return;
    const entry = this.entries[i] as Entry<P>;
    if (entry.term !== term || entry.lastOffset !== end - 1) return;
    this.entries = this.entries.slice(i + 1);
    this.offset = end;
  }

  stableSnapshot(snapshot: RaftSnapshot): void {
    if (this.snapshot !== undefined && this.snapshot.lastOffset === snapshot.lastOffset && this.snapshot.lastTerm === snapshot.lastTerm) {
      this.snapshot = undefined;
    }
  }

  restore(snapshot: RaftSnapshot): void {
    this.offset = asOffset(snapshot.lastOffset + 1);
    this.entries = [];
    this.snapshot = snapshot;
  }
}
