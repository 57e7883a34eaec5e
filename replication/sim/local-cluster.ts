/**
 * A cluster of Raft nodes in one process, stepped by hand: the harness of the paper tests, the
 * transcript tests and the in-memory benchmark. Every Ready is persisted to a `MemoryStorage` and
 * synced at once, its messages queued in order; `deliver()` hands them out one at a time (FIFO), so a
 * test decides exactly what happens and in which order. Deterministic: jitter comes from one seed.
 */
import { asOffset, type Epoch, type Offset } from '../../log/index.js';
import type { Entry } from '../entry.js';
import { MemoryStorage } from '../memory-storage.js';
import type { Message, NodeId } from '../message.js';
import { Prng } from '../prng.js';
import type { RaftConfigInput } from '../raft-config.js';
import { RaftNode } from '../raft-node.js';
import { mustPersist } from '../ready.js';

export type ClusterOptions = Partial<Omit<RaftConfigInput<string>, 'id' | 'voters' | 'random' | 'leaderChangePayload' | 'sizeOf'>> & { seed?: number };

export const LEADER_CHANGE = (term: Epoch, leader: NodeId): string => `leader-change(${term},${leader})`;

export class LocalCluster {
  readonly ids: readonly NodeId[];
  readonly storages = new Map<NodeId, MemoryStorage<string>>();
  readonly nodes = new Map<NodeId, RaftNode<string>>();
  readonly down = new Set<NodeId>();
  /** Messages sent and not yet delivered, oldest first. */
  queue: Message<string>[] = [];
  /** Drops a message instead of delivering it when this returns true. */
  drop: (m: Message<string>) => boolean = () => false;
  private readonly prng: Prng;

  constructor(
    count: number,
    private readonly options: ClusterOptions = {},
  ) {
    this.ids = Array.from({ length: count }, (_, i) => i + 1);
    this.prng = new Prng(options.seed ?? 1);
    for (const id of this.ids) {
      this.storages.set(id, new MemoryStorage<string>());
      this.start(id);
    }
  }

  node(id: NodeId): RaftNode<string> {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`node ${id} is down`);
    return node;
  }

  storage(id: NodeId): MemoryStorage<string> {
    return this.storages.get(id) as MemoryStorage<string>;
  }

  /** Persists and syncs every pending Ready and queues its messages, until no node has one. */
  pump(): void {
    for (let again = true; again; ) {
      again = false;
      for (const [id, node] of this.nodes) {
        if (!node.hasReady()) continue;
        again = true;
        const ready = node.ready();
        const storage = this.storage(id);
        for (const m of ready.messages) this.queue.push(m);
        if (mustPersist(ready)) {
          if (ready.snapshot !== undefined) storage.applySnapshot(ready.snapshot);
          storage.append(ready.entries);
          if (ready.hardState !== undefined) storage.setHardState(ready.hardState);
          storage.sync();
        }
        for (const m of ready.messagesAfterPersist) this.queue.push(m);
        node.advance(ready);
      }
    }
  }

  /** Delivers queued messages in order until none is left (or `max` were delivered); returns how many. */
  deliver(max = Number.POSITIVE_INFINITY): number {
    this.pump();
    let delivered = 0;
    while (this.queue.length > 0 && delivered < max) {
      const m = this.queue.shift() as Message<string>;
      if (this.down.has(m.to) || this.drop(m)) continue;
      this.node(m.to).step(m);
      delivered++;
      this.pump();
    }
    return delivered;
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.node(id).tick();
    this.pump();
  }

  /** `rounds` heartbeat rounds of leader `id`, each delivered in full (lost appends are resent after a few). */
  heartbeats(id: NodeId, rounds = 4): void {
    for (let i = 0; i < rounds; i++) {
      this.tick(id);
      this.deliver();
    }
  }

  /** `id` campaigns and every message is delivered: with a working network it ends as leader. */
  elect(id: NodeId): void {
    this.node(id).campaign();
    this.deliver();
  }

  propose(id: NodeId, payload: string): void {
    const result = this.node(id).propose(payload);
    if (!result.ok) throw new Error(`node ${id} cannot propose: ${result.reason}`);
    this.pump();
  }

  crash(id: NodeId): void {
    this.storage(id).crash();
    this.nodes.delete(id);
    this.down.add(id);
    this.queue = this.queue.filter((m) => m.to !== id && m.from !== id);
  }

  restart(id: NodeId): void {
    this.down.delete(id);
    this.start(id);
  }

  isolate(id: NodeId): void {
    this.drop = (m) => m.from === id || m.to === id;
  }

  heal(): void {
    this.drop = () => false;
  }

  leader(): RaftNode<string> | undefined {
    return [...this.nodes.values()].find((n) => n.role === 'leader');
  }

  /** The payloads of a node's log (unstable part included), one per entry. */
  payloads(id: NodeId): string[] {
    const log = this.node(id).log;
    if (log.startOffset >= log.endOffset) return [];
    return log.entriesFrom(log.startOffset, Number.MAX_SAFE_INTEGER).map((e: Entry<string>) => e.payload);
  }

  /** One line per node: role, term, vote, high watermark, log end, and the log as offset:term:payload. */
  describe(): string {
    return this.ids
      .map((id) => {
        const node = this.nodes.get(id);
        if (node === undefined) return `${id}: down`;
        const log = node.log;
        const entries = log.startOffset >= log.endOffset ? [] : log.entriesFrom(log.startOffset, Number.MAX_SAFE_INTEGER);
        const body = entries.map((e) => `${e.baseOffset}:${e.term}:${e.payload}`).join(' ');
        return `${id}: ${node.role} term=${node.term} vote=${node.vote ?? '-'} hw=${node.highWatermark} end=${log.endOffset} [${body}]`;
      })
      .join('\n');
  }

  lastOffset(id: NodeId): Offset {
    return asOffset(this.node(id).log.endOffset - 1);
  }

  private start(id: NodeId): void {
    const { seed: _seed, ...config } = this.options;
    const node = new RaftNode<string>(
      { electionTicks: 10, heartbeatTicks: 1, ...config, id, voters: this.ids, random: this.prng.fork(), leaderChangePayload: LEADER_CHANGE, sizeOf: (p) => p.length },
      this.storage(id),
    );
    this.nodes.set(id, node);
  }
}
