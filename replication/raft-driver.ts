/**
 * The thin driver that does a Raft node's I/O (etcd's rawnode loop): it feeds the node messages and
 * ticks, and for every Ready it sends what may leave at once, persists (snapshot, entries, hard
 * state), syncs, then sends what had to wait for the persist and calls `advance`. This is what the
 * broker runs per group, over a `RaftStorage` (a partition log adapter, or memory) and a transport.
 *
 * acks=all: `propose` returns a promise that resolves once the high watermark passes the proposal and
 * the entry at its offset is still the one proposed (same term); it rejects if that offset was
 * overwritten by another leader's entry, or when the driver stops.
 *
 * A storage write that throws (disk full, I/O error) stops the driver: the node is dropped, every
 * waiter rejected, `onStopped` called. A broker then restarts the replica from what is durable.
 *
 * Concurrency: one Ready is processed at a time (a single async loop); inputs arriving meanwhile change
 * the node's memory and are picked up by the next Ready.
 */
import type { Offset } from '../log/index.js';
import type { Proposed } from './entry.js';
import type { Message, NodeId } from './message.js';
import type { RaftNode } from './raft-node.js';
import type { RaftStorage } from './raft-storage.js';
import { mustPersist, type Ready, type Role } from './ready.js';

export interface RaftTransport<P> {
  /** Hands messages to the network; delivery is best effort (Raft tolerates loss and reordering). */
  send(messages: readonly Message<P>[]): void;
}

export interface RaftDriverOptions<P> {
  node: RaftNode<P>;
  storage: RaftStorage<P>;
  transport: RaftTransport<P>;
  /** Offsets [from, to) are committed (after they are durable here). */
  onCommitted?: (from: Offset, to: Offset) => void;
  /** Everything below `end` is durable here (after each persist): what acks=1 waits for on a leader. */
  onPersisted?: (end: Offset) => void;
  /** The node's role or known leader changed. */
  onSoftState?: (role: Role, leader: NodeId | undefined) => void;
  onStopped?: (error: unknown) => void;
}

export class NotLeader extends Error {
  constructor(readonly leader: NodeId | undefined) {
    super(`not the leader${leader === undefined ? '' : `; the leader is ${leader}`}`);
    this.name = 'NotLeader';
  }
}

export class ProposalLost extends Error {
  constructor(offset: Offset) {
    super(`the entry proposed at ${offset} was replaced by another leader's`);
    this.name = 'ProposalLost';
  }
}

interface Waiter {
  readonly proposed: Proposed;
  readonly resolve: (proposed: Proposed) => void;
  readonly reject: (error: Error) => void;
}

export class RaftDriver<P> {
  readonly node: RaftNode<P>;
  private readonly storage: RaftStorage<P>;
  private readonly transport: RaftTransport<P>;
  private readonly options: RaftDriverOptions<P>;
  private waiters: Waiter[] = [];
  private running = false;
  private stoppedWith: unknown = undefined;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();

  constructor(options: RaftDriverOptions<P>) {
    this.options = options;
    this.node = options.node;
    this.storage = options.storage;
    this.transport = options.transport;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  step(message: Message<P>): void {
    if (this.stopped) return;
    this.node.step(message);
    this.kick();
  }

  tick(): void {
    if (this.stopped) return;
    this.node.tick();
    this.kick();
  }

  /** Appends `payload` (covering `records` offsets) and resolves once it is committed. */
  propose(payload: P, records = 1): Promise<Proposed> {
    if (this.stopped) return Promise.reject(new Error('raft driver stopped', { cause: this.stoppedWith }));
    const result = this.node.propose(payload, records);
    if (!result.ok) return Promise.reject(new NotLeader(result.leader));
    const proposed: Proposed = { baseOffset: result.baseOffset, lastOffset: result.lastOffset, term: result.term };
    const done = new Promise<Proposed>((resolve, reject) => this.waiters.push({ proposed, resolve, reject }));
    this.kick();
    return done;
  }

  /** The storage read entries it had answered "not in memory yet" for (its `onEntriesLoaded`). */
  entriesLoaded(): void {
    if (this.stopped) return;
    this.node.entriesLoaded();
    this.kick();
  }

  transferLeadership(to: NodeId): boolean {
    const started = this.node.transferLeadership(to);
    this.kick();
    return started;
  }

  /**
   * Graceful shutdown's first step: hands leadership to the most caught-up voter (transfer, then
   * timeout-now), so the group elects at once instead of after an election timeout. Returns the
   * chosen target, or undefined when this node is not the leader. The caller keeps ticking and
   * delivering until `node.role` is no longer 'leader' (or gives up after an election timeout).
   */
  handOff(): NodeId | undefined {
    if (this.node.role !== 'leader') return undefined;
    let best: NodeId | undefined;
    let bestMatch = -1;
    for (const id of this.node.config.voters) {
      const match = this.node.progressOf(id)?.matchEnd ?? -1;
      if (id !== this.node.id && match > bestMatch) {
        best = id;
        bestMatch = match;
      }
    }
    if (best !== undefined) this.transferLeadership(best);
    return best;
  }

  /** Resolves once every Ready produced so far is persisted and sent. */
  settled(): Promise<void> {
    return this.idle;
  }

  private kick(): void {
    if (this.running || this.stopped || !this.node.hasReady()) return;
    this.running = true;
    this.idle = this.loop();
  }

  private async loop(): Promise<void> {
    try {
      while (!this.stopped && this.node.hasReady()) {
        const ready = this.node.ready();
        if (ready.messages.length > 0) this.transport.send(ready.messages);
        const persisted = mustPersist(ready);
        if (persisted) await this.persist(ready);
        if (ready.messagesAfterPersist.length > 0) this.transport.send(ready.messagesAfterPersist);
        this.node.advance(ready);
        if (persisted) this.options.onPersisted?.(this.storage.endOffset());
        if (ready.committed !== undefined) this.committed(ready.committed.from, ready.committed.to);
        if (ready.soft !== undefined) this.options.onSoftState?.(ready.soft.role, ready.soft.leader);
      }
    } catch (error) {
      this.stop(error);
    } finally {
      this.running = false;
    }
  }

  private async persist(ready: Ready<P>): Promise<void> {
    if (ready.snapshot !== undefined) await this.storage.applySnapshot(ready.snapshot);
    if (ready.entries.length > 0) await this.storage.append(ready.entries);
    if (ready.hardState !== undefined) await this.storage.setHardState(ready.hardState);
    await this.storage.sync();
  }

  private committed(from: Offset, to: Offset): void {
    this.options.onCommitted?.(from, to);
    const still: Waiter[] = [];
    for (const waiter of this.waiters) {
      const { baseOffset, lastOffset, term } = waiter.proposed;
      const now = this.node.log.termAt(baseOffset);
      if (now !== undefined && now !== term) waiter.reject(new ProposalLost(baseOffset));
      else if (lastOffset < to && now === term) waiter.resolve(waiter.proposed);
      else if (lastOffset < to && baseOffset < this.node.log.startOffset) waiter.reject(new ProposalLost(baseOffset));
      else still.push(waiter);
    }
    this.waiters = still;
  }

  private stop(error: unknown): void {
    this.stopped = true;
    this.stoppedWith = error;
    for (const waiter of this.waiters) waiter.reject(new Error('raft driver stopped', { cause: error }));
    this.waiters = [];
    this.options.onStopped?.(error);
  }
}
