/**
 * What a Raft node hands its driver after it stepped (etcd's Ready): what to persist, what to send,
 * and how far the high watermark moved. The driver persists in this order — snapshot, entries, hard
 * state — then syncs, and only then sends `messagesAfterPersist` and calls `advance(ready)`.
 *
 * Why two lists of messages: a vote, a vote request at a new term, and a follower's acknowledgement of
 * entries all promise something about the sender's disk, so they may only leave once the write is
 * durable. A leader's appends and heartbeats promise nothing about its own disk (the leader counts
 * itself in the quorum only after `advance`), so they leave at once and the leader's fsync overlaps
 * its followers' (Raft thesis §10.2.1).
 *
 * An idle node produces no Ready: `hasReady()` is false when nothing changed, so it costs no I/O.
 */
import type { Offset } from '../log/index.js';
import type { Entry, HardState, RaftSnapshot } from './entry.js';
import type { Message, NodeId } from './message.js';

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

export interface Ready<P> {
  /** Set when term, vote or high watermark changed since the last Ready. */
  readonly hardState: HardState | undefined;
  /** Set when a snapshot from the leader replaces the log. */
  readonly snapshot: RaftSnapshot | undefined;
  /** Entries to write; storage drops whatever it holds at or above the first one's base offset. */
  readonly entries: readonly Entry<P>[];
  readonly messages: readonly Message<P>[];
  readonly messagesAfterPersist: readonly Message<P>[];
  /** The high watermark before and after, when it advanced: offsets in [from, to) became committed. */
  readonly committed: { readonly from: Offset; readonly to: Offset } | undefined;
  /** Role and known leader, when either changed. */
  readonly soft: { readonly role: Role; readonly leader: NodeId | undefined } | undefined;
}

export function mustPersist<P>(ready: Ready<P>): boolean {
  return ready.hardState !== undefined || ready.snapshot !== undefined || ready.entries.length > 0;
}
