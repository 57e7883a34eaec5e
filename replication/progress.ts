/**
 * What a leader knows of one follower (etcd's tracker/progress.go), in offsets.
 *
 * - `probe`: the leader does not know where the follower's log matches; it sends one append at a
 *   time and waits for the answer (a rejection carries a divergence hint, so probing moves back a
 *   term at a time).
 * - `replicate`: the follower matched; appends are pipelined, bounded by the inflights window.
 * - `snapshot`: the follower needs what the leader no longer has (below the leader's log start); a
 *   reset-to-log-start message is in flight and nothing else is sent until it is answered.
 *
 * Appends can be lost without anyone saying so (no transport reports it): a follower in `replicate`
 * whose match does not move for `STALLED_HEARTBEATS` heartbeat answers while appends are outstanding
 * goes back to `probe`, which resends from its match.
 *
 * Invariants: `matchEnd <= nextOffset`; `matchEnd` never decreases within a leader's term (a stale
 * answer is ignored, never applied backwards); in `replicate` the inflights hold exactly the sent and
 * unacknowledged appends above `matchEnd`.
 */
import { asOffset, type Offset } from '../log/index.js';
import { Inflights } from './inflights.js';
import { invariant } from './invariant.js';

/** Heartbeat answers without progress after which pipelined appends are presumed lost. */
export const STALLED_HEARTBEATS = 3;

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  state: ProgressState = 'probe';
  /** The follower's log equals the leader's below this offset. */
  matchEnd: Offset;
  /** The next offset to send (an entry boundary of the leader's log). */
  nextOffset: Offset;
  /** In probe: an append is out and unanswered. */
  probeSent = false;
  /** End of the snapshot in flight, in the snapshot state. */
  pendingSnapshotEnd: Offset = asOffset(0);
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /**
   * Answered since the last check-quorum round, and in the round before: unlike `recentActive`, which a
   * new leader presumes true, these say only what was heard, and together never blink off at a round's start.
   */
  heardThisRound = false;
  heardLastRound = false;
  /** Heartbeat answers in a row, in replicate with data outstanding, during which `matchEnd` did not move. */
  stalledHeartbeats = 0;
  readonly inflights: Inflights;

  constructor(nextOffset: Offset, maxInflight: number, maxInflightBytes: number) {
    this.matchEnd = asOffset(0);
    this.nextOffset = nextOffset;
    this.inflights = new Inflights(maxInflight, maxInflightBytes);
  }

  becomeProbe(): void {
    const from = this.state === 'snapshot' ? Math.max(this.matchEnd, this.pendingSnapshotEnd) : this.matchEnd;
    this.reset('probe');
    this.nextOffset = asOffset(from);
  }

  becomeReplicate(): void {
    this.reset('replicate');
    this.nextOffset = this.matchEnd;
  }

  becomeSnapshot(snapshotEnd: Offset): void {
    this.reset('snapshot');
    this.pendingSnapshotEnd = snapshotEnd;
    this.nextOffset = snapshotEnd;
  }

  /** Records an append that was sent, ending (exclusive) at `end`. */
  sent(end: Offset, bytes: number, entries: number): void {
    if (this.state === 'replicate') {
      if (entries > 0) {
        this.nextOffset = end;
        this.inflights.add(end, bytes);
      }
    } else {
      invariant(this.state === 'probe', 'append sent in the snapshot state');
      this.probeSent = true;
    }
  }

  /** An acknowledgement up to `end`; false when it tells nothing new (stale or duplicate). */
  maybeUpdate(end: Offset): boolean {
    this.probeSent = false;
    if (end <= this.matchEnd) return false;
    this.stalledHeartbeats = 0;
    this.matchEnd = end;
    if (this.nextOffset < end) this.nextOffset = end;
    this.inflights.freeTo(end);
    return true;
  }

  /**
   * A rejection of the append whose previous offset was `rejected`. `next` is where the leader
   * would probe next (from the hint); false when the rejection is stale.
   */
  maybeDecrease(rejected: Offset, next: Offset): boolean {
    if (this.state === 'replicate') {
      // Pipelined appends above an older match may be rejected in bulk; only one past the match counts.
      if (rejected < this.matchEnd) return false;
      this.becomeProbe();
      return true;
    }
    if (rejected !== this.nextOffset - 1) return false;
    this.nextOffset = asOffset(Math.max(Math.min(next, rejected), this.matchEnd));
    this.probeSent = false;
    return true;
  }

  paused(): boolean {
    if (this.state === 'probe') return this.probeSent;
    if (this.state === 'replicate') return this.inflights.full();
    return true;
  }

  private reset(state: ProgressState): void {
    this.state = state;
    this.stalledHeartbeats = 0;
    this.probeSent = false;
    this.pendingSnapshotEnd = asOffset(0);
    this.inflights.reset();
  }
}
