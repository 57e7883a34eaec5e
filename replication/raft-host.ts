/**
 * The host of every Raft group on one broker (one group per partition replica, plus the metadata
 * group): it ticks them all from one timer, fans incoming batches out to their drivers, and gathers
 * what they send into ONE `RaftBatch` per destination broker per turn.
 *
 * Outgoing path: each group's driver is built with `transportFor(group)`, which only queues its
 * messages in the host's outbox and schedules one flush (`defer`, `setImmediate` by default, so that
 * every group ticked or stepped in this turn, and every persist that completed in its microtasks, is
 * in it). The flush folds heartbeats and heartbeat answers into coalesced (group, term, high
 * watermark) lists and sends, per peer, one batch holding those lists and every other message in
 * the order the groups sent them.
 *
 * Incoming path: `deliver(batch)` expands the coalesced heartbeats and steps each group's driver,
 * heartbeats first, then the other messages in order. A message for a group this broker does not
 * host goes to `onUnknownGroup` (the broker may create the replica, or ignore it); by default it is
 * dropped, as Raft tolerates loss.
 *
 * Invariant: at most one batch per peer per flush, whatever the number of groups. An idle cluster
 * sends each peer its heartbeats when it ticks and its answers to the peer's heartbeats when they
 * arrive: one batch per peer per heartbeat tick when both fall in one turn (as in the test's lockstep
 * network), two when the brokers' ticks are out of phase — never one per group. Every message queued
 * names this node as `from`, and no message is addressed to this node itself.
 *
 * Concurrency: single-threaded (one event loop); `deliver`, the tick and the flush never interleave.
 */
import type { CoalescedHeartbeats, GroupMessage } from './heartbeat-coalescer.js';
import { coalesceHeartbeats, expandHeartbeats } from './heartbeat-coalescer.js';
import { invariant } from './invariant.js';
import type { Message, NodeId } from './message.js';
import type { RaftDriver, RaftTransport } from './raft-driver.js';

/** Everything one broker sends another in one turn, for all the groups they share. */
export interface RaftBatch {
  readonly from: NodeId;
  readonly to: NodeId;
  /** The coalesced heartbeats and heartbeat answers from `from` to `to`. */
  readonly heartbeats: Pick<CoalescedHeartbeats, 'beats' | 'answers'>;
  /** Every other message, in the order its group sent it. */
  readonly messages: readonly GroupMessage<Buffer>[];
}

/** The network between brokers: best effort, never blocks, never throws (a batch may be lost). */
export interface PeerTransport {
  send(to: NodeId, batch: RaftBatch): void;
}

export interface RaftHostTimers {
  every(ms: number, callback: () => void): { cancel(): void };
}

export interface RaftHostOptions {
  nodeId: NodeId;
  transport: PeerTransport;
  timers: RaftHostTimers;
  tickMs: number;
  onUnknownGroup?: (group: string, message: Message<Buffer>) => void;
  /** Runs the flush once the current turn is over; `setImmediate` by default. */
  defer?: (flush: () => void) => void;
}

export class RaftHost {
  readonly nodeId: NodeId;
  private readonly transport: PeerTransport;
  private readonly timers: RaftHostTimers;
  private readonly tickMs: number;
  private readonly onUnknownGroup: (group: string, message: Message<Buffer>) => void;
  private readonly defer: (flush: () => void) => void;
  private readonly drivers = new Map<string, RaftDriver<Buffer>>();
  private outbox: GroupMessage<Buffer>[] = [];
  private flushScheduled = false;
  private ticker: { cancel(): void } | undefined;

  constructor(options: RaftHostOptions) {
    if (!Number.isSafeInteger(options.nodeId)) throw new RangeError(`nodeId must be an integer, got ${options.nodeId}`);
    if (!Number.isFinite(options.tickMs) || options.tickMs <= 0) throw new RangeError(`tickMs must be a positive number, got ${options.tickMs}`);
    this.nodeId = options.nodeId;
    this.transport = options.transport;
    this.timers = options.timers;
    this.tickMs = options.tickMs;
    this.onUnknownGroup = options.onUnknownGroup ?? (() => {});
    this.defer = options.defer ?? ((flush) => setImmediate(flush));
  }

  /** The transport to build `group`'s driver with: its messages join the host's next batches. */
  transportFor(group: string): RaftTransport<Buffer> {
    return {
      send: (messages) => {
        // A driver removed from the host may still finish a Ready; what it sends is dropped.
        if (!this.drivers.has(group)) return;
        for (const message of messages) {
          invariant(message.from === this.nodeId, () => `group ${group} sent a message from ${message.from} through host ${this.nodeId}`);
          invariant(message.to !== this.nodeId, () => `group ${group} sent a message to its own host ${this.nodeId}`);
          this.outbox.push({ group, message });
        }
        this.scheduleFlush();
      },
    };
  }

  addGroup(group: string, driver: RaftDriver<Buffer>): void {
    if (group.length === 0) throw new Error('a raft group needs a name');
    if (this.drivers.has(group)) throw new Error(`raft group ${group} is already hosted on node ${this.nodeId}`);
    if (driver.node.id !== this.nodeId) throw new Error(`raft group ${group}: its node is ${driver.node.id}, this host is node ${this.nodeId}`);
    this.drivers.set(group, driver);
  }

  /** Stops hosting `group`: it is no longer ticked nor stepped. Returns whether it was hosted. */
  removeGroup(group: string): boolean {
    return this.drivers.delete(group);
  }

  /** The names of the hosted groups. */
  groups(): string[] {
    return [...this.drivers.keys()];
  }

  /** Hands a batch from a peer to its groups: heartbeats and answers first, then the rest in order. */
  deliver(batch: RaftBatch): void {
    if (batch.to !== this.nodeId) throw new Error(`raft batch for node ${batch.to} delivered to node ${this.nodeId}`);
    if (batch.from === this.nodeId) throw new Error(`raft batch from node ${batch.from} to itself`);
    const expanded = expandHeartbeats({ from: batch.from, to: batch.to, beats: batch.heartbeats.beats, answers: batch.heartbeats.answers });
    for (const { group, message } of expanded) this.step(group, message);
    for (const { group, message } of batch.messages) {
      if (message.from !== batch.from || message.to !== batch.to) {
        throw new Error(`raft batch ${batch.from}->${batch.to} holds a message ${message.from}->${message.to} of group ${group}`);
      }
      this.step(group, message);
    }
  }

  /** Starts the one timer that ticks every hosted group. */
  start(): void {
    if (this.ticker !== undefined) return;
    this.ticker = this.timers.every(this.tickMs, () => this.tick());
  }

  /** Stops ticking; messages already queued are still flushed. */
  stop(): void {
    this.ticker?.cancel();
    this.ticker = undefined;
  }

  private tick(): void {
    for (const driver of this.drivers.values()) driver.tick();
  }

  private step(group: string, message: Message<Buffer>): void {
    const driver = this.drivers.get(group);
    if (driver === undefined) this.onUnknownGroup(group, message);
    else driver.step(message);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.defer(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const outgoing = this.outbox;
    this.outbox = [];
    if (outgoing.length === 0) return;
    const { batches, others } = coalesceHeartbeats(outgoing);
    const byPeer = new Map<NodeId, { beats: CoalescedHeartbeats['beats']; answers: CoalescedHeartbeats['answers']; messages: GroupMessage<Buffer>[] }>();
    const batchFor = (to: NodeId) => {
      let batch = byPeer.get(to);
      if (batch === undefined) {
        batch = { beats: [], answers: [], messages: [] };
        byPeer.set(to, batch);
      }
      return batch;
    };
    for (const coalesced of batches) {
      const batch = batchFor(coalesced.to);
      batch.beats = coalesced.beats;
      batch.answers = coalesced.answers;
    }
    for (const groupMessage of others) batchFor(groupMessage.message.to).messages.push(groupMessage);
    for (const [to, { beats, answers, messages }] of byPeer) {
      this.transport.send(to, { from: this.nodeId, to, heartbeats: { beats, answers }, messages });
    }
  }
}
