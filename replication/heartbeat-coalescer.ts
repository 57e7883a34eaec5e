/**
 * Coalesced heartbeats (Redpanda's heartbeat batching): a broker hosts many Raft groups, and between
 * two brokers every group's leader heartbeats every heartbeat interval. Sent one by one that is
 * groups × peers messages per interval for groups that may be idle. The coalescer folds all
 * heartbeats (and all heartbeat answers) from one broker to another into one message per flush (the
 * `RaftHost` sends them once per heartbeat interval), and the receiver fans it back out to its
 * groups. Appends, votes and everything else are left alone.
 *
 * Invariants: `expand(coalesce(x))` yields exactly the heartbeats of x (same group, term, high
 * watermark, sender, receiver), in order; one batch per (from, to) pair per call.
 */
import { asOffset, type Epoch, type Offset } from '../log/index.js';
import type { Heartbeat, HeartbeatResponse, Message, NodeId } from './message.js';

/** A message of one Raft group, as a multi-group host sends it. */
export interface GroupMessage<P> {
  readonly group: string;
  readonly message: Message<P>;
}

/** All heartbeats and heartbeat answers of one tick from one broker to another. */
export interface CoalescedHeartbeats {
  readonly from: NodeId;
  readonly to: NodeId;
  /** (group, term, high watermark) of each heartbeat. */
  readonly beats: readonly { readonly group: string; readonly term: Epoch; readonly highWatermark: Offset }[];
  /** (group, term) of each heartbeat answer. */
  readonly answers: readonly { readonly group: string; readonly term: Epoch }[];
}

/** Splits outgoing messages into one coalesced heartbeat message per destination and the rest. */
export function coalesceHeartbeats<P>(outgoing: readonly GroupMessage<P>[]): { batches: CoalescedHeartbeats[]; others: GroupMessage<P>[] } {
  const byPair = new Map<string, { from: NodeId; to: NodeId; beats: CoalescedHeartbeats['beats'][number][]; answers: CoalescedHeartbeats['answers'][number][] }>();
  const others: GroupMessage<P>[] = [];
  for (const { group, message } of outgoing) {
    if (message.type !== 'heartbeat' && message.type !== 'heartbeat-response') {
      others.push({ group, message });
      continue;
    }
    const pair = `${message.from}>${message.to}`;
    let batch = byPair.get(pair);
    if (batch === undefined) {
      batch = { from: message.from, to: message.to, beats: [], answers: [] };
      byPair.set(pair, batch);
    }
    if (message.type === 'heartbeat') batch.beats.push({ group, term: message.term, highWatermark: message.highWatermark });
    else batch.answers.push({ group, term: message.term });
  }
  return { batches: [...byPair.values()], others };
}

/** The receiver's side: the per-group heartbeats and answers a coalesced message stands for. */
export function expandHeartbeats(batch: CoalescedHeartbeats): GroupMessage<never>[] {
  const out: GroupMessage<never>[] = [];
  for (const beat of batch.beats) {
    const message: Heartbeat = { type: 'heartbeat', from: batch.from, to: batch.to, term: beat.term, highWatermark: asOffset(beat.highWatermark) };
    out.push({ group: beat.group, message });
  }
  for (const answer of batch.answers) {
    const message: HeartbeatResponse = { type: 'heartbeat-response', from: batch.from, to: batch.to, term: answer.term };
    out.push({ group: answer.group, message });
  }
  return out;
}
