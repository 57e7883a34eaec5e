/**
 * The Raft log's unit and its durable companions, in Strata's words: the partition log *is* the Raft
 * log, so an entry is one record batch. Its position is an offset range `[baseOffset, lastOffset]`
 * (a batch of n records covers n offsets), its term is the batch's `partitionLeaderEpoch`, and the
 * commit index is the partition's high watermark.
 *
 * Invariants (every log the core sees):
 * - entries are contiguous: the next entry's `baseOffset` is the previous entry's `lastOffset + 1`;
 * - `baseOffset <= lastOffset` (a batch covers at least one offset);
 * - terms never decrease along the log;
 * - the payload is opaque to the core (a record batch for a partition, a metadata record for the
 *   metadata group); the core only asks its size, to bound what is in flight.
 */
import type { Epoch, Offset } from '../log/index.js';

export interface Entry<P> {
  readonly baseOffset: Offset;
  readonly lastOffset: Offset;
  readonly term: Epoch;
  readonly payload: P;
  /** The payload's size in bytes, counted against the in-flight byte budget. */
  readonly sizeBytes: number;
}

/** What must be on disk before a message that depends on it leaves: Raft's term and vote, and the high watermark. */
export interface HardState {
  readonly term: Epoch;
  /** The node voted for in `term`, if any. */
  readonly vote: number | undefined;
  /** Exclusive: every offset below it is committed (Kafka's high watermark). */
  readonly highWatermark: Offset;
}

/**
 * Everything below `lastOffset + 1` replaced by one image. For a partition it carries no data: the
 * follower drops its log and restarts at the leader's log start offset (`lastOffset + 1`). For the
 * metadata group `data` is the state machine's image at `lastOffset`.
 */
export interface RaftSnapshot {
  readonly lastOffset: Offset;
  readonly lastTerm: Epoch;
  readonly data: Uint8Array;
}

/** Offsets `[baseOffset, lastOffset]` assigned to a proposal, in `term`. */
export interface Proposed {
  readonly baseOffset: Offset;
  readonly lastOffset: Offset;
  readonly term: Epoch;
}

/** The index in `entries` (contiguous, ascending) of the entry holding `offset`, or -1: a binary search. */
export function indexOfEntry<P>(entries: readonly Entry<P>[], offset: Offset): number {
  let low = 0;
  let high = entries.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const entry = entries[mid] as Entry<P>;
    if (offset < entry.baseOffset) high = mid - 1;
    else if (offset > entry.lastOffset) low = mid + 1;
    else return mid;
  }
  return -1;
}
