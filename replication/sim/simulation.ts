/**
 * The deterministic simulation (after Kafka's RaftEventSimulationTest and TigerBeetle's VOPR): real
 * RaftNodes over a simulated clock, network and disk, all driven by one seeded PRNG.
 *
 * - Clock: a heap of timed events; each node ticks every TICK_MS of simulated time (its own phase).
 * - Network: every message may be dropped, delayed (1..maxDelayMs), duplicated, and so reordered;
 *   partitions split the nodes in two groups until healed.
 * - Disk: each Ready is written to a MemoryStorage at once and synced `syncDelay` later; only then do
 *   the Ready's after-persist messages leave. A crash loses every write not yet synced. A full disk
 *   makes the next write throw, and the node stops (a broker would). In half the seeds a leader's
 *   read of entries to send may miss (up to 20% of reads): storage answers "not in memory yet" and a
 *   `loaded` event a few ms later calls `entriesLoaded()`, as a partition log's asynchronous read does.
 *   In 30% of the seeds `entryBase` answers the start of the offset's term, as `LogStorage` does
 *   below its in-memory tail.
 * - Faults (crash, restart, partition, heal, disk full, compaction, leadership transfer) and client
 *   proposals arrive at random times. Every popped event counts as one event.
 *
 * After every event the SafetyChecker runs; a failure throws with the seed and the event number, and
 * `runSimulation(seed, events)` replays it exactly. After the chaos, a quiet phase heals everything
 * and checks liveness: a leader is elected and a fresh proposal commits on every node.
 */
import type { Offset } from '../../log/index.js';
import type { Entry } from '../entry.js';
import { MemoryStorage, StorageFull } from '../memory-storage.js';
import type { Message, NodeId } from '../message.js';
import { Prng } from '../prng.js';
import type { QuorumRule } from '../quorum.js';
import { RaftNode } from '../raft-node.js';
import { mustPersist, type Ready } from '../ready.js';
import { describeVerdict, WriteHistory } from '../history-checker.js';
import { EventQueue } from './event-queue.js';
import { SafetyChecker, SafetyViolation } from './safety-checker.js';

const TICK_MS = 10;
const LIVENESS_MS = 30_000;

export interface SimulationOptions {
  seed: number;
  /** Events of the chaos phase. */
  events: number;
  /** Injected quorum rule (a mutation test passes a broken one). */
  quorum?: QuorumRule;
  /** Check liveness after the chaos (default true). */
  liveness?: boolean;
  /** Called with one line per event and the nodes' states after it (for replaying a failure). */
  trace?: (line: string) => void;
  /** Makes each node's disk (a mutation test passes one that lies about fsync). */
  storage?: () => MemoryStorage<number>;
}

export interface SimulationResult {
  seed: number;
  events: number;
  nodes: number;
  committed: number;
  acknowledged: number;
  leaders: number;
  crashes: number;
  simulatedMs: number;
}

export class SimulationFailure extends Error {
  constructor(
    readonly seed: number,
    readonly event: number,
    events: number,
    cause: unknown,
  ) {
    const why = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`seed ${seed} failed at event ${event}: ${why}\nreplay: npm run sim -- --seed ${seed} --events ${events} --trace`);
    this.name = 'SimulationFailure';
  }
}

type SimEvent =
  | { kind: 'tick'; node: NodeId; incarnation: number }
  | { kind: 'deliver'; message: Message<number> }
  | { kind: 'synced'; node: NodeId; incarnation: number; ready: Ready<number> }
  | { kind: 'loaded'; node: NodeId }
  | { kind: 'fault' }
  | { kind: 'propose' };

interface SimNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage<number>;
  raft: RaftNode<number> | undefined;
  incarnation: number;
  pending: Ready<number> | undefined;
  /** The high watermark last seen in this incarnation (it never goes back). */
  lastHighWatermark: Offset;
}

function describeEvent(event: SimEvent): string {
  if (event.kind === 'deliver') {
    const { type, from, to, term, ...rest } = event.message;
    const body = JSON.stringify(rest, (k, v: unknown) => (k === 'entries' ? (v as Entry<number>[]).map((e) => `${e.baseOffset}-${e.lastOffset}:${e.term}:${e.payload}`) : k === 'data' ? undefined : v));
    return `deliver ${type} ${from}->${to} term ${term} ${body}`;
  }
  if (event.kind === 'synced') {
    return `synced node ${event.node} (${event.ready.entries.length} entries${event.ready.hardState === undefined ? '' : `, hard state ${JSON.stringify(event.ready.hardState)}`})`;
  }
  if (event.kind === 'tick') return `tick node ${event.node}`;
  if (event.kind === 'loaded') return `entries loaded on node ${event.node}`;
  return event.kind;
}

export function runSimulation(options: SimulationOptions): SimulationResult {
  const sim = new Simulation(options);
  return sim.run();
}

class Simulation {
  private readonly prng: Prng;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly nodes: SimNode[] = [];
  private readonly checker = new SafetyChecker();
  private readonly ids: NodeId[];
  private now = 0;
  private eventNumber = 0;
  private group = new Map<NodeId, number>();
  private dropRate: number;
  private duplicateRate: number;
  private maxDelayMs: number;
  private readonly faultEveryMs: number;
  /** Flow control per seed: from one entry per append, one append in flight, to wide pipelines. */
  private readonly maxAppendBytes: number;
  private readonly maxInflightAppends: number;
  private nextPayload = 1;
  /** Proposals the leader reported committed (acks=all): payload -> base offset. */
  private readonly acknowledged = new Map<number, number>();
  /** Every proposal as a client would see it (invoked, then acknowledged at an offset or never): judged at the end by the same checker as the real-process fault tests. */
  private readonly history = new WriteHistory();
  private crashes = 0;
  /** Chance that a read of entries to send misses (storage reads them and calls back). */
  private readonly readMissRate: number;
  /** Set while the checker reads committed entries, which must never miss. */
  private observing = false;
  private leadersSeen = new Set<string>();
  private quiet = false;

  constructor(private readonly options: SimulationOptions) {
    this.prng = new Prng(options.seed);
    const count = this.prng.chance(0.5) ? 3 : 5;
    this.ids = Array.from({ length: count }, (_, i) => i + 1);
    this.dropRate = this.prng.next() * 0.15;
    this.duplicateRate = this.prng.next() * 0.05;
    this.maxDelayMs = 1 + this.prng.nextInt(30);
    this.faultEveryMs = 20 + this.prng.nextInt(80);
    this.maxAppendBytes = [100, 500, 5_000][this.prng.nextInt(3)] as number;
    this.maxInflightAppends = 1 + this.prng.nextInt(8);
    this.readMissRate = this.prng.chance(0.5) ? 0 : this.prng.next() * 0.2;
    const termStartEntryBase = this.prng.chance(0.3);
    for (const id of this.ids) {
      const slowReads = {
        miss: (): boolean => !this.observing && this.readMissRate > 0 && this.prng.chance(this.readMissRate),
        load: (): void => this.queue.push(this.now + 1 + this.prng.nextInt(5), { kind: 'loaded', node: id }),
      };
      this.nodes.push({ id, storage: options.storage?.() ?? new MemoryStorage<number>({ slowReads, termStartEntryBase }), raft: undefined, incarnation: 0, pending: undefined, lastHighWatermark: 0 as Offset });
      this.group.set(id, 0);
    }
  }

  run(): SimulationResult {
    for (const node of this.nodes) this.start(node);
    this.queue.push(this.prng.nextInt(this.faultEveryMs), { kind: 'fault' });
    this.queue.push(this.prng.nextInt(10), { kind: 'propose' });
    try {
      while (this.eventNumber < this.options.events) this.step();
      this.checker.checkDurable(this.nodes.map((n) => n.storage));
      if (this.options.liveness !== false) this.checkLiveness();
      this.checkAcknowledged();
    } catch (error) {
      throw new SimulationFailure(this.options.seed, this.eventNumber, this.options.events, error);
    }
    return {
      seed: this.options.seed,
      events: this.eventNumber,
      nodes: this.ids.length,
      committed: this.checker.committed.size,
      acknowledged: this.acknowledged.size,
      leaders: this.leadersSeen.size,
      crashes: this.crashes,
      simulatedMs: this.now,
    };
  }

  private step(): void {
    const next = this.queue.pop();
    if (next === undefined) throw new Error('the event queue ran dry');
    this.now = next.time;
    this.eventNumber++;
    this.options.trace?.(`#${this.eventNumber} t=${this.now} ${describeEvent(next.event)}`);
    this.handle(next.event);
    this.options.trace?.(`    ${this.describeNodes()}`);
    this.check();
  }

  private handle(event: SimEvent): void {
    switch (event.kind) {
      case 'tick': {
        const node = this.nodes[event.node - 1] as SimNode;
        if (node.raft === undefined || node.incarnation !== event.incarnation) return;
        node.raft.tick();
        this.pump(node);
        this.queue.push(this.now + TICK_MS, event);
        return;
      }
      case 'deliver': {
        const m = event.message;
        const node = this.nodes[m.to - 1] as SimNode;
        if (node.raft === undefined || !this.connected(m.from, m.to)) return;
        node.raft.step(m);
        this.pump(node);
        return;
      }
      case 'synced': {
        const node = this.nodes[event.node - 1] as SimNode;
        if (node.raft === undefined || node.incarnation !== event.incarnation) return;
        node.storage.sync();
        node.pending = undefined;
        this.finish(node, event.ready);
        this.pump(node);
        return;
      }
      case 'loaded': {
        const node = this.nodes[event.node - 1] as SimNode;
        node.raft?.entriesLoaded();
        this.pump(node);
        return;
      }
      case 'fault':
        if (!this.quiet) {
          this.fault();
          this.queue.push(this.now + 1 + this.prng.nextInt(2 * this.faultEveryMs), event);
        }
        return;
      case 'propose':
        this.propose();
        this.queue.push(this.now + 1 + this.prng.nextInt(8), event);
        return;
    }
  }

  /** Each node as id:<role initial><term>/hw/end/start, e.g. `2:l5/hw75/end85/start0`. */
  private describeNodes(): string {
    return this.nodes
      .map((n) => (n.raft === undefined ? `${n.id}:down` : `${n.id}:${n.raft.role[0]}${n.raft.term}/hw${n.raft.highWatermark}/end${n.raft.log.endOffset}/start${n.raft.log.startOffset}`))
      .join(' ');
  }

  private check(): void {
    const live: RaftNode<number>[] = [];
    for (const node of this.nodes) {
      const raft = node.raft;
      if (raft === undefined) continue;
      live.push(raft);
      if (raft.highWatermark < node.lastHighWatermark) {
        throw new SafetyViolation(`node ${node.id}'s high watermark went back from ${node.lastHighWatermark} to ${raft.highWatermark}`);
      }
      node.lastHighWatermark = raft.highWatermark;
      if (raft.role === 'leader') this.leadersSeen.add(`${raft.term}:${raft.id}`);
    }
    this.checker.observeLeaders(live);
  }

  // ---- the driver, simulated -------------------------------------------------------------------

  private pump(node: SimNode): void {
    for (;;) {
      const raft = node.raft;
      if (raft === undefined || node.pending !== undefined || !raft.hasReady()) return;
      const ready = raft.ready();
      if (ready.committed !== undefined) this.observeCommit(raft, ready.committed.from, ready.committed.to);
      for (const m of ready.messages) this.send(m);
      if (!mustPersist(ready)) {
        this.finish(node, ready);
        continue;
      }
      try {
        if (ready.snapshot !== undefined) node.storage.applySnapshot(ready.snapshot);
        this.checker.beforeAppend(node.id, node.storage, ready.entries);
        node.storage.append(ready.entries);
        if (ready.hardState !== undefined) node.storage.setHardState(ready.hardState);
      } catch (error) {
        if (!(error instanceof StorageFull)) throw error;
        this.crash(node);
        return;
      }
      node.pending = ready;
      this.queue.push(this.now + this.prng.nextInt(4), { kind: 'synced', node: node.id, incarnation: node.incarnation, ready });
      return;
    }
  }

  private finish(node: SimNode, ready: Ready<number>): void {
    for (const m of ready.messagesAfterPersist) this.send(m);
    (node.raft as RaftNode<number>).advance(ready);
  }

  private observeCommit(raft: RaftNode<number>, from: Offset, to: Offset): void {
    const log = raft.log;
    const start = Math.max(from, log.startOffset);
    if (start >= to) return;
    const entries: Entry<number>[] = [];
    let at = log.entryBase(start as Offset);
    this.observing = true;
    while (at < to) {
      const chunk = log.entriesFrom(at as Offset, Number.MAX_SAFE_INTEGER);
      for (const entry of chunk) {
        if (entry.baseOffset >= to) break;
        entries.push(entry);
      }
      at = to;
    }
    this.observing = false;
    this.checker.observeCommitted(raft, entries);
    if (raft.role === 'leader') {
      for (const entry of entries) {
        if (entry.payload <= 0 || entry.term !== raft.term || this.acknowledged.has(entry.payload)) continue;
        this.acknowledged.set(entry.payload, entry.baseOffset);
        this.history.ok(String(entry.payload), entry.baseOffset);
      }
    }
  }

  private send(m: Message<number>): void {
    if (this.prng.chance(this.dropRate)) return;
    this.queue.push(this.now + 1 + this.prng.nextInt(this.maxDelayMs), { kind: 'deliver', message: m });
    if (this.prng.chance(this.duplicateRate)) this.queue.push(this.now + 1 + this.prng.nextInt(this.maxDelayMs), { kind: 'deliver', message: m });
  }

  private connected(a: NodeId, b: NodeId): boolean {
    return this.group.get(a) === this.group.get(b);
  }

  // ---- nodes and faults ------------------------------------------------------------------------

  private start(node: SimNode): void {
    const persisted = node.storage.hardState().highWatermark;
    node.raft = new RaftNode<number>(
      {
        id: node.id,
        voters: this.ids,
        electionTicks: 6,
        heartbeatTicks: 2,
        maxInflightAppends: this.maxInflightAppends,
        maxInflightBytes: 2_000,
        maxAppendBytes: this.maxAppendBytes,
        random: this.prng.fork(),
        ...(this.options.quorum === undefined ? {} : { quorum: this.options.quorum }),
        leaderChangePayload: (term, leader) => -(term * 16 + leader),
        sizeOf: () => 100,
      },
      node.storage,
    );
    if (node.raft.highWatermark < persisted) throw new SafetyViolation(`node ${node.id} restarted below its persisted high watermark`);
    node.lastHighWatermark = node.raft.highWatermark;
    node.incarnation++;
    node.pending = undefined;
    this.queue.push(this.now + this.prng.nextInt(TICK_MS), { kind: 'tick', node: node.id, incarnation: node.incarnation });
  }

  private crash(node: SimNode): void {
    node.storage.crash();
    node.raft = undefined;
    node.pending = undefined;
    node.incarnation++;
    this.crashes++;
    this.checker.checkDurable(this.nodes.map((n) => n.storage));
  }

  private fault(): void {
    const node = this.nodes[this.prng.nextInt(this.nodes.length)] as SimNode;
    const roll = this.prng.nextInt(100);
    if (roll < 20) {
      if (node.raft !== undefined) this.crash(node);
    } else if (roll < 45) {
      if (node.raft === undefined) {
        if (this.prng.chance(0.7)) node.storage.diskFull = false;
        this.start(node);
      }
    } else if (roll < 60) {
      for (const id of this.ids) this.group.set(id, this.prng.nextInt(2));
    } else if (roll < 80) {
      for (const id of this.ids) this.group.set(id, 0);
    } else if (roll < 85) {
      node.storage.diskFull = true;
    } else if (roll < 92) {
      this.compact(node);
    } else if (roll < 96) {
      // Leadership transfer (a graceful shutdown's first step) to a random peer.
      const leader = this.nodes.find((n) => n.raft?.role === 'leader');
      if (leader !== undefined && node !== leader) {
        leader.raft?.transferLeadership(node.id);
        this.pump(leader);
      }
    } else {
      this.dropRate = this.prng.next() * 0.15;
      this.maxDelayMs = 1 + this.prng.nextInt(30);
    }
  }

  /** Retention: drop a committed, synced prefix of a node's log. */
  private compact(node: SimNode): void {
    const raft = node.raft;
    if (raft === undefined) return;
    const durable = node.storage.durableEntries();
    const durableEnd = durable.at(-1)?.lastOffset ?? -1;
    const upTo = Math.min(node.lastHighWatermark, raft.log.unstable.offset, durableEnd + 1) - this.prng.nextInt(3);
    if (upTo <= node.storage.startOffset() || upTo > node.storage.endOffset()) return;
    const base = node.storage.entryBase((upTo - 1) as Offset);
    if (base <= node.storage.startOffset()) return;
    node.storage.compact(base);
  }

  private propose(): void {
    // A client asks a random node and follows its answer to the leader it knows of, if any.
    let node = this.nodes[this.prng.nextInt(this.nodes.length)] as SimNode;
    const known = node.raft?.leader;
    if (node.raft !== undefined && node.raft.role !== 'leader' && known !== undefined) node = this.nodes[known - 1] as SimNode;
    const raft = node.raft;
    if (raft === undefined || raft.role !== 'leader') return;
    const payload = this.nextPayload++;
    if (raft.propose(payload, 1 + this.prng.nextInt(3)).ok) this.history.invoke(String(payload), 0, 'sim');
    this.pump(node);
  }

  /**
   * No acknowledged write lost, none committed that was never proposed, none committed twice: the
   * shared Jepsen-style checker (`history-checker.ts`) over what was committed at the end.
   */
  private checkAcknowledged(): void {
    const reads = [...this.checker.committed].filter(([, c]) => c.payload > 0).map(([offset, c]) => ({ partition: 0, offset, value: String(c.payload) }));
    const verdict = this.history.check(reads);
    if (verdict.lost.length > 0 || verdict.unexpected.length > 0 || verdict.duplicated.length > 0) throw new SafetyViolation(`write history: ${describeVerdict(verdict)}`);
  }

  // ---- liveness --------------------------------------------------------------------------------

  private checkLiveness(): void {
    this.quiet = true;
    this.dropRate = 0;
    this.duplicateRate = 0;
    for (const id of this.ids) this.group.set(id, 0);
    for (const node of this.nodes) {
      node.storage.diskFull = false;
      if (node.raft === undefined) this.start(node);
    }
    const deadline = this.now + LIVENESS_MS;
    let marker: { payload: number; lastOffset: Offset; term: number } | undefined;
    while (this.now < deadline) {
      this.step();
      const leader = this.nodes.find((n) => n.raft?.role === 'leader')?.raft;
      if (leader === undefined) continue;
      if (marker === undefined || leader.term !== marker.term) {
        const payload = this.nextPayload++;
        const result = leader.propose(payload);
        if (!result.ok) continue;
        this.history.invoke(String(payload), 0, 'sim');
        marker = { payload, lastOffset: result.lastOffset, term: result.term };
        this.pump(this.nodes[leader.id - 1] as SimNode);
        continue;
      }
      if (this.nodes.every((n) => (n.raft?.highWatermark ?? 0) > (marker as { lastOffset: Offset }).lastOffset)) return;
    }
    throw new SafetyViolation(
      `liveness: no proposal committed on every node within ${LIVENESS_MS} ms of quiet (${this.nodes.map((n) => `${n.id}:${n.raft?.role}@${n.raft?.term}`).join(' ')})`,
    );
  }
}
