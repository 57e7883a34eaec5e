/**
 * The Raft core's view of its log (etcd's log.go): the durable part, read through the storage's
 * synchronous reader, followed by the unstable part not yet persisted, and the high watermark.
 *
 * Positions are offsets. `termAt(startOffset - 1)` is the snapshot's term, so log matching works at
 * the log start too. Entries are whole batches: an `append` from the leader starts at an entry
 * boundary, and `entryBase` turns any offset into the boundary at or below it.
 *
 * Invariants:
 * - `startOffset <= highWatermark <= endOffset` (asserted on every commit);
 * - the high watermark never decreases (asserted) — it is the partition's high watermark, and a
 *   consumer may already have read below it;
 * - a committed entry is never overwritten: a follower's conflicting tail starts at or above the high
 *   watermark (asserted).
 */
import { asOffset, type Epoch, type Offset } from '../log/index.js';
import type { Entry, RaftSnapshot } from './entry.js';
import { invariant } from './invariant.js';
import type { RaftLogReader } from './raft-storage.js';
import { UnstableEntries } from './unstable-entries.js';

export class RaftLog<P> {
  readonly unstable: UnstableEntries<P>;
  private hw: Offset;

  constructor(
    private readonly storage: RaftLogReader<P>,
    highWatermark: Offset,
  ) {
    this.unstable = new UnstableEntries<P>(storage.endOffset());
    // Only a committed prefix is ever dropped (retention, snapshots), so everything below the log start
    // is committed even when the persisted high watermark lags it (it is written with the next Ready,
    // retention acts at once).
    const recovered = asOffset(Math.max(highWatermark, storage.startOffset()));
    invariant(recovered <= storage.endOffset(), () => `recovered high watermark ${recovered} above the log end ${storage.endOffset()}`);
    this.hw = recovered;
  }

  get highWatermark(): Offset {
    return this.hw;
  }

  get startOffset(): Offset {
    const snapshot = this.unstable.snapshot;
    return snapshot === undefined ? this.storage.startOffset() : asOffset(snapshot.lastOffset + 1);
  }

  get endOffset(): Offset {
    return this.unstable.endOffset;
  }

  /** The last entry's offset (its `lastOffset`), or `startOffset - 1` for an empty log. */
  get lastOffset(): Offset {
    return asOffset(this.endOffset - 1);
  }

  get lastTerm(): Epoch {
    return this.termAt(this.lastOffset) as Epoch;
  }

  termAt(offset: Offset): Epoch | undefined {
    if (offset < this.startOffset - 1 || offset >= this.endOffset) return undefined;
    if (offset >= this.unstable.offset || this.unstable.snapshot !== undefined) return this.unstable.termAt(offset);
    return this.storage.termAt(offset);
  }

  matchTerm(offset: Offset, term: Epoch): boolean {
    return this.termAt(offset) === term;
  }

  /** The base offset of the entry holding `offset`; `offset` itself at the log's start or end. */
  entryBase(offset: Offset): Offset {
    if (offset >= this.endOffset || offset < this.startOffset) return offset;
    if (offset >= this.unstable.offset) return (this.unstable.entries[this.unstable.indexOf(offset)] as Entry<P>).baseOffset;
    return this.storage.entryBase(offset);
  }

  /** Raft's election restriction: is a log ending with (lastOffset, lastTerm) at least as up to date as ours? */
  isUpToDate(lastOffset: Offset, lastTerm: Epoch): boolean {
    const ourTerm = this.lastTerm;
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastOffset >= this.lastOffset);
  }

  /**
   * The divergence hint: the largest offset at or below `offset` whose term is at most `term`, with
   * that term. Walks back one entry (and in practice one term) at a time.
   */
  findConflictByTerm(offset: Offset, term: Epoch): { offset: Offset; term: Epoch } {
    let at = asOffset(Math.min(offset, this.lastOffset));
    const floor = this.startOffset - 1;
    while (at > floor) {
      const t = this.termAt(at) as Epoch;
      if (t <= term) return { offset: at, term: t };
      at = asOffset(this.entryBase(at) - 1);
    }
    return { offset: asOffset(floor), term: this.termAt(asOffset(floor)) as Epoch };
  }

  /**
   * Whole entries from the boundary `from`, up to `maxBytes`: at least one entry when any exists,
   * except that storage may answer none for entries it does not hold in memory yet (it reads them and
   * calls back; see `RaftLogReader.entries`).
   */
  entriesFrom(from: Offset, maxBytes: number): Entry<P>[] {
    invariant(from >= this.startOffset && from <= this.endOffset, () => `entries from ${from} outside [${this.startOffset}, ${this.endOffset}]`);
    const out: Entry<P>[] = [];
    let bytes = 0;
    if (from < this.unstable.offset) {
      for (const entry of this.storage.entries(from, this.unstable.offset, maxBytes)) {
        out.push(entry);
        bytes += entry.sizeBytes;
      }
      if (bytes >= maxBytes || out.length === 0 || (out.at(-1) as Entry<P>).lastOffset + 1 < this.unstable.offset) return out;
    }
    let i = from < this.unstable.offset ? 0 : this.unstable.indexOf(from);
    if (i < 0) return out;
    const entries = this.unstable.entries;
    invariant(out.length > 0 || (entries[i] as Entry<P>).baseOffset === from, () => `entries from ${from}: not an entry boundary`);
    for (; i < entries.length; i++) {
      const entry = entries[i] as Entry<P>;
      if (out.length > 0 && bytes + entry.sizeBytes > maxBytes) break;
      out.push(entry);
      bytes += entry.sizeBytes;
    }
    return out;
  }

  /** The leader appends its own entries at the log end. */
  append(entries: readonly Entry<P>[]): void {
    const first = entries[0];
    if (first === undefined) return;
    invariant(first.baseOffset === this.endOffset, () => `append at ${first.baseOffset}, log ends at ${this.endOffset}`);
    this.unstable.truncateAndAppend(entries);
  }

  /**
   * A follower's append: if the log holds (prevOffset, prevTerm), keeps what already matches, drops a
   * conflicting tail and appends the rest. Returns the end of what the message proves we hold, or
   * undefined when the previous entry does not match.
   */
  maybeAppend(prevOffset: Offset, prevTerm: Epoch, entries: readonly Entry<P>[]): Offset | undefined {
    if (!this.matchTerm(prevOffset, prevTerm)) return undefined;
    const end = asOffset(entries.length === 0 ? prevOffset + 1 : (entries.at(-1) as Entry<P>).lastOffset + 1);
    let i = 0;
    for (; i < entries.length; i++) {
      const entry = entries[i] as Entry<P>;
      if (!this.matchTerm(entry.baseOffset, entry.term)) break;
    }
    if (i < entries.length) {
      const conflict = (entries[i] as Entry<P>).baseOffset;
      invariant(conflict >= this.hw, () => `conflicting entry at ${conflict} below the high watermark ${this.hw}`);
      this.unstable.truncateAndAppend(entries.slice(i));
    }
    return end;
  }

  commitTo(highWatermark: Offset): boolean {
    if (highWatermark <= this.hw) return false;
    invariant(highWatermark <= this.endOffset, () => `high watermark ${highWatermark} above the log end ${this.endOffset}`);
    this.hw = highWatermark;
    return true;
  }

  /** What the leader sends a follower that needs what is below the log start. */
  snapshot(): RaftSnapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Replaces the whole log by a snapshot from the leader. */
  restore(snapshot: RaftSnapshot): void {
    const end = asOffset(snapshot.lastOffset + 1);
    invariant(end >= this.hw, () => `snapshot ending at ${end} below the high watermark ${this.hw}`);
    this.unstable.restore(snapshot);
    this.hw = end;
  }
}
