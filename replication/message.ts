/**
 * The messages Raft nodes exchange. Plain data, so a transport may encode them as it likes; payloads
 * of entries stay opaque (`P`).
 *
 * Every message carries the sender's `term`, with two exceptions taken from the pre-vote design
 * (Raft thesis §9.6): a `pre-vote` carries the term the sender *would* campaign in without having
 * moved to it, and a granted `pre-vote-response` echoes that future term. Neither changes any term.
 *
 * Log matching is by (previous offset, previous term): an `append` says "after the entry ending at
 * `prevOffset`, of term `prevTerm`, come `entries`". A follower that does not hold that entry
 * answers with a hint (Kafka's divergence / OffsetsForLeaderEpoch idea): the last offset at or below
 * `prevOffset` whose term is at most `prevTerm`, and that term, so the leader jumps back a whole term
 * at a time instead of one entry at a time.
 */
import type { Epoch, Offset } from '../log/index.js';
import type { Entry, RaftSnapshot } from './entry.js';

export type NodeId = number;

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Epoch;
}

/** A pre-candidate asks whether it could win at `term` (its own term + 1) before disturbing anyone. */
export interface PreVote extends Envelope {
  readonly type: 'pre-vote';
  readonly lastOffset: Offset;
  readonly lastTerm: Epoch;
}

export interface Vote extends Envelope {
  readonly type: 'vote';
  readonly lastOffset: Offset;
  readonly lastTerm: Epoch;
  /** Set by a leadership transfer: voters ignore their leader lease for it. */
  readonly transfer: boolean;
}

export interface VoteResponse extends Envelope {
  readonly type: 'vote-response' | 'pre-vote-response';
  readonly granted: boolean;
}

export interface Append<P> extends Envelope {
  readonly type: 'append';
  readonly prevOffset: Offset;
  readonly prevTerm: Epoch;
  readonly entries: readonly Entry<P>[];
  /** The leader's high watermark, capped at the end of what this message proves the follower holds. */
  readonly highWatermark: Offset;
}

export interface AppendResponse extends Envelope {
  readonly type: 'append-response';
  readonly success: boolean;
  /** On success: the follower's log matches the leader's below this offset (exclusive). */
  readonly matchEnd: Offset;
  /** On rejection: the `prevOffset` that did not match, and the divergence hint. */
  readonly rejectedOffset: Offset;
  readonly hintOffset: Offset;
  readonly hintTerm: Epoch;
}

/** Small on purpose: many groups' heartbeats to one broker are coalesced into one message. */
export interface Heartbeat extends Envelope {
  readonly type: 'heartbeat';
  readonly highWatermark: Offset;
}

export interface HeartbeatResponse extends Envelope {
  readonly type: 'heartbeat-response';
}

/** Reset to the leader's log start: the follower drops its log and restarts after `snapshot.lastOffset`. */
export interface InstallSnapshot extends Envelope {
  readonly type: 'snapshot';
  readonly snapshot: RaftSnapshot;
}

/** Leadership transfer: the target is caught up, it campaigns at once (no pre-vote, no lease). */
export interface TimeoutNow extends Envelope {
  readonly type: 'timeout-now';
}

export type Message<P> = PreVote | Vote | VoteResponse | Append<P> | AppendResponse | Heartbeat | HeartbeatResponse | InstallSnapshot | TimeoutNow;
export type MessageType = Message<unknown>['type'];
