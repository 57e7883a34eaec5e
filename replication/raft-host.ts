/**
 * The host of every Raft group on one broker (one group per partition replica, plus the metadata
 * group): it ticks them all from one timer, fans incoming batches out to their drivers, and gathers
 * what they send into ONE `RaftBatch` per destination broker.
 *
 * Outgoing path: each group's driver is built with `transportFor(group)`, which only queues its
 * messages in the host's outbox. Two kinds of message leave on two schedules:
 *
 * - Urgent ones (appends and their answers, votes, snapshots, timeout-now) schedule one flush
 *   (`defer`, `setImmediate` by default, so that every group ticked or stepped in this turn, and every
 *   persist that completed in its microtasks, is in it): they leave within the turn.
 * - Heartbeats and heartbeat answers are held: the latest per (group, peer, kind) waits in the
 *   outbox until the host's heartbeat tick (every `heartbeatTicks` ticks, counted by the host) or
 *   until an urgent batch leaves for the same peer, which carries them along. Each group's leader
 *   heartbeats at its own phase (its count restarts when it is elected), so without this an idle
 *   broker would write a small batch to each peer on most ticks; with it, one per peer per heartbeat
 *   interval, its heartbeats and its answers to the peer's together. A heartbeat or answer waits at
 *   most `heartbeatTicks` ticks, which Raft tolerates as it tolerates any delay; the groups' own
 *   `heartbeatTicks` should be the host's (`RaftGroup` takes it from here), so each leader queues one
 *   heartbeat per interval and none is superseded unsent.
 *
 * A flush folds the held heartbeats and answers into coalesced (group, term, high watermark) lists
 * and sends, per peer, one batch holding those lists and every urgent message in the order the groups
 * sent them.
 *
 * Incoming path: `deliver(batch)` expands the coalesced heartbeats and steps each group's driver,
 * heartbeats first, then the other messages in order. A message for a group this broker does not
 * host goes to `onUnknownGroup` (the broker may create the replica, or ignore it); by default it is
 * dropped, as Raft tolerates loss.
 *
 * Invariants: at most one batch per peer per flush, whatever the number of groups; an idle broker
 * (no urgent message) sends each peer at most one batch per `heartbeatTicks` ticks, and none on the
 * ticks between (`raft-host.test.ts` counts both). Every message queued names this node as `from`,
 * and no message is addressed to this node itself.
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
  /**
   * Held heartbeats and answers leave every this many ticks (1 by default: every tick). Give the
   * groups the same `heartbeatTicks` (`host.heartbeatTicks`).
   */
  heartbeatTicks?: number;
  onUnknownGroup?: (group: string, message: Message<Buffer>) => void;
  /** Runs the flush once the current turn is over; `setImmediate` by default. */
  defer?: (flush: () => void) => void;
}

export class RaftHost {
  readonly nodeId: NodeId;
  private readonly transport: PeerTransport;
  private readonly timers: RaftHostTimers;
  private readonly tickMs: number;
  readonly heartbeatTicks: number;
  private readonly onUnknownGroup: (group: string, message: Message<Buffer>) => void;
  private readonly defer: (flush: () => void) => void;
  private readonly drivers = new Map<string, RaftDriver<Buffer>>();
  /** Urgent messages, in the order the groups sent them. */
  private outbox: GroupMessage<Buffer>[] = [];
  /** Held heartbeats and answers per peer: the latest per `kind group`. */
  private readonly held = new Map<NodeId, Map<string, GroupMessage<Buffer>>>();
  private flushScheduled = false;
  /** Ticks since the last heartbeat tick. */
  private ticksSinceBeat = 0;
  private ticker: { cancel(): void } | undefined;

  constructor(options: RaftHostOptions) {
    if (!Number.isSafeInteger(options.nodeId)) throw new RangeError(`nodeId must be an integer, got ${options.nodeId}`);
    if (!Number.isFinite(options.tickMs) || options.tickMs <= 0) throw new RangeError(`tickMs must be a positive number, got ${options.tickMs}`);
    this.nodeId = options.nodeId;
    this.transport = options.transport;
    this.timers = options.timers;
    this.tickMs = options.tickMs;
    this.heartbeatTicks = options.heartbeatTicks ?? 1;
    if (!Number.isSafeInteger(this.heartbeatTicks) || this.heartbeatTicks <= 0) throw new RangeError(`heartbeatTicks must be a positive integer, got ${options.heartbeatTicks}`);
    this.onUnknownGroup = options.onUnknownGroup ?? (() => {});
    this.defer = options.defer ?? ((flush) => setImmediate(flush));
  }

  /** The transport to build `group`'s driver with: its messages join the host's next batches. */
  transportFor(group: string): RaftTransport<Buffer> {
    return {
      send: (messages) => {
        // A driver removed from the host may still finish a Ready; what it sends is dropped.
        if (!this.drivers.has(group)) return;
        let urgent = false;
        for (const message of messages) {
          invariant(message.from === this.nodeId, () => `group ${group} sent a message from ${message.from} through host ${this.nodeId}`);
          invariant(message.to !== this.nodeId, () => `group ${group} sent a message to its own host ${this.nodeId}`);
          if (message.type === 'heartbeat' || message.type === 'heartbeat-response') {
            let held = this.held.get(message.to);
            if (held === undefined) {
              held = new Map();
              this.held.set(message.to, held);
            }
            // A later heartbeat (or answer) of the group supersedes an unsent one: same or higher term and high watermark.
            const key = heldKey(message.type, group);
            held.delete(key);
            held.set(key, { group, message });
          } else {
            this.outbox.push({ group, message });
            urgent = true;
          }
        }
        if (urgent) this.scheduleFlush();
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
    // Its held heartbeats and answers go too, as anything it sends from now on would.
    for (const held of this.held.values()) {
      held.delete(heldKey('heartbeat', group));
      held.delete(heldKey('heartbeat-response', group));
    }
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

  /** Stops ticking; urgent messages already queued are still flushed, held heartbeats are not. */
  stop(): void {
    this.ticker?.cancel();
    this.ticker = undefined;
  }

  private tick(): void {
    for (const driver of this.drivers.values()) driver.tick();
    if (++this.ticksSinceBeat < this.heartbeatTicks) return;
    this.ticksSinceBeat = 0;
    // The groups' heartbeats of this tick are queued already (a driver sends before it awaits).
    this.flush(true);
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

  /**
   * Sends the urgent messages, each peer's batch carrying that peer's held heartbeats and answers;
   * `beat` (the heartbeat tick) sends every peer's held ones too.
   */
  private flush(beat = false): void {
    this.flushScheduled = false;
    const urgent = this.outbox;
    this.outbox = [];
    const byPeer = new Map<NodeId, GroupMessage<Buffer>[]>();
    for (const groupMessage of urgent) {
      const to = groupMessage.message.to;
      const messages = byPeer.get(to);
      if (messages === undefined) byPeer.set(to, [groupMessage]);
      else messages.push(groupMessage);
    }
    if (beat) for (const to of this.held.keys()) if (!byPeer.has(to)) byPeer.set(to, []);
    for (const [to, messages] of byPeer) {
      const held = this.held.get(to);
      const heartbeats: RaftBatch['heartbeats'] = held === undefined || held.size === 0 ? NO_HEARTBEATS : coalesceHeartbeats([...held.values()]).batches[0] ?? NO_HEARTBEATS;
      this.held.delete(to);
      if (messages.length === 0 && heartbeats === NO_HEARTBEATS) continue;
      this.transport.send(to, { from: this.nodeId, to, heartbeats: { beats: heartbeats.beats, answers: heartbeats.answers }, messages });
    }
  }
}

/** The key of a held heartbeat or answer of `group` (one of each per group and peer). */
function heldKey(type: 'heartbeat' | 'heartbeat-response', group: string): string {
  return `${type === 'heartbeat' ? 'b' : 'a'} ${group}`;
}

const NO_HEARTBEATS: RaftBatch['heartbeats'] = Object.freeze({ beats: Object.freeze([]), answers: Object.freeze([]) });
