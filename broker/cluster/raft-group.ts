/**
 * One Raft group hosted by this broker over one of its logs: a partition replica, or the cluster
 * metadata. It ties the pieces of `replication/` together — the log's Raft storage (`LogStorage`),
 * the pure `RaftNode`, the `RaftDriver` doing its I/O, and the broker's `RaftHost` carrying its
 * messages — and gives the broker what it asks of a replicated log:
 *
 * - `append(batches, acks, timeoutMs, origin)`: a producer's batches (or, `origin: 'coordinator'`,
 *   one transaction marker from the transaction coordinator), validated and stamped by the log with
 *   the offsets and leader epoch (= Raft term) they will have, proposed, and answered when `acks`
 *   says: -1 (all) once a majority holds them (the high watermark passed them), 1 once this leader
 *   has them as durably as the flush policy says. A wait longer than `timeoutMs` answers
 *   REQUEST_TIMED_OUT (the batch may still commit: a non-idempotent producer's retry can duplicate
 *   it). An idempotent producer's retry of a batch the log holds or this leader proposed is not
 *   proposed again: it is answered with the original offsets once they are committed.
 * - who leads, at which epoch, how far each follower got (`followers()`), who is in sync.
 * - one log line with an `event` field, and a count in `BrokerStats`, per election started or won,
 *   leader stepping down and new leadership learned of; a count per term change.
 *
 * Invariants: batches are stamped with `baseOffset = node.log.endOffset` and `epoch = node.term` in
 * the same synchronous step as `propose`, so the offsets the log stamps are the ones Raft assigns;
 * the high watermark handed to `onCommitted` never passes what this broker's log holds.
 *
 * Concurrency: one thread; the driver processes one Ready at a time.
 */
import { asOffset, encodeLeaderChangeBatch, LogError, type AppendOrigin, type Epoch, type Log, type Offset } from '../../log/index.js';
import { StrataError } from '../../client/protocol/index.js';
import {
  LogStorage,
  NotLeader,
  ProposalLost,
  RaftDriver,
  RaftNode,
  type NodeId,
  type RaftHost,
  type RandomSource,
  type Role,
  type SnapshotData,
} from '../../replication/index.js';
import type { BrokerStats, RaftGroupKind } from '../broker-stats.js';
import { errorFields, type Logger } from '../logger.js';

export interface RaftGroupOptions {
  readonly group: string;
  readonly log: Log;
  readonly nodeId: NodeId;
  readonly voters: readonly NodeId[];
  readonly host: RaftHost;
  readonly random: RandomSource;
  readonly logger: Logger;
  /** Milliseconds since the epoch, for the leader-change batch's timestamp. */
  readonly clock: () => number;
  /** The high watermark moved to `to` (exclusive); offsets [from, to) are committed. */
  readonly onCommitted?: (from: Offset, to: Offset) => void;
  /** This replica's role or its known leader changed. */
  readonly onLeadership?: (group: RaftGroup) => void;
  /** The state machine's images below the log start (the metadata group); partitions have none. */
  readonly snapshotData?: SnapshotData;
  /** Where elections, term and leader changes are counted, under `kind`'s label. */
  readonly stats: BrokerStats;
  readonly kind: RaftGroupKind;
}

export interface FollowerProgress {
  readonly nodeId: NodeId;
  /** The follower's log matches the leader's below this offset. */
  readonly matchEnd: number;
  /** Offsets the follower lacks of the leader's log. */
  readonly lag: number;
}

interface PersistWaiter {
  readonly lastOffset: Offset;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** A producer's retry of a batch in the log or proposed: answered once the high watermark passes it. */
interface CommitWaiter {
  readonly lastOffset: Offset;
  readonly resolve: () => void;
}

export class RaftGroup {
  readonly group: string;
  readonly log: Log;
  readonly node: RaftNode<Buffer>;
  readonly driver: RaftDriver<Buffer>;
  private readonly storage: LogStorage;
  private readonly host: RaftHost;
  private readonly logger: Logger;
  private persistWaiters: PersistWaiter[] = [];
  private commitWaiters: CommitWaiter[] = [];
  /** Rejects each commit wait of this leadership: called when it ends (or the group closes). */
  private readonly commitAbandons = new Set<(error: Error) => void>();
  private closed = false;
  /** What this replica last reported (logs, counters): a change from these is an event. */
  private seenTerm: Epoch;
  private seenRole: Role = 'follower';
  private seenLeader: NodeId | undefined = undefined;
  /** The term in which `seenLeader` led: the same node elected again is a new leadership too. */
  private seenLeaderTerm: Epoch | undefined = undefined;
  /** This group's series of the broker's Raft counters. */
  private readonly electionsStarted: { inc(): void };
  private readonly termChanges: { inc(): void };
  private readonly leaderChanges: { inc(): void };

  private constructor(options: RaftGroupOptions, storage: LogStorage) {
    this.group = options.group;
    this.log = options.log;
    this.storage = storage;
    this.host = options.host;
    this.logger = options.logger;
    this.node = new RaftNode<Buffer>(
      {
        id: options.nodeId,
        voters: options.voters,
        // The host sends held heartbeats every `heartbeatTicks`: one queued per leader per interval.
        heartbeatTicks: options.host.heartbeatTicks,
        random: options.random,
        leaderChangePayload: (term, leader, baseOffset) => encodeLeaderChangeBatch(term, leader, baseOffset, options.clock()),
        sizeOf: (payload) => payload.length,
      },
      storage,
    );
    this.driver = new RaftDriver<Buffer>({
      node: this.node,
      storage,
      transport: options.host.transportFor(options.group),
      onCommitted: (from, to) => {
        options.onCommitted?.(from, asOffset(Math.min(to, this.log.logEndOffset)));
        this.releaseCommitWaiters();
      },
      // A new term is always persisted before it is acted on, so every term change passes here.
      onPersisted: (end) => {
        this.noticeTerm();
        this.persisted(end);
      },
      onSoftState: (role, leader) => {
        this.noticeTerm();
        this.noticeSoftState(role, leader);
        if (role !== 'leader') {
          // Proposals not yet written may never be: producer checks must see only the log.
          this.log.discardPreparedAppends();
          const lost = new StrataError('NOT_LEADER_OR_FOLLOWER', `${this.group} lost its leadership; the batch may still be committed by the next leader`, { leaderHint: leader ?? -1 });
          this.rejectPersistWaiters(lost);
          this.abandonCommitWaits(lost);
        }
        options.onLeadership?.(this);
      },
      onStopped: (error) => {
        this.logger.error(errorFields(error), 'raft group stopped: storage write failed; the replica is offline until the broker restarts');
        this.rejectPersistWaiters(new StrataError('KAFKA_STORAGE_ERROR', `${this.group}: ${(error as Error).message}`));
      },
    });
    this.seenTerm = this.node.term;
    this.electionsStarted = options.stats.raftElectionsStarted.labels({ group: options.kind });
    this.termChanges = options.stats.raftTermChanges.labels({ group: options.kind });
    this.leaderChanges = options.stats.raftLeaderChanges.labels({ group: options.kind });
    this.host.addGroup(options.group, this.driver);
    // A group no one has led yet (a new topic's partition, a new cluster's metadata): its first voter,
    // the preferred leader, campaigns after one heartbeat interval instead of a whole election
    // timeout, so a new topic takes writes in a fraction of a second. The interval leaves the other
    // replicas time to open the group from the same metadata record.
    if (this.node.term === 0 && options.voters[0] === options.nodeId) this.node.expediteElection(options.host.heartbeatTicks);
  }

  /** Counts a move to a higher term (several terms at once count as one change). */
  private noticeTerm(): void {
    const term = this.node.term;
    if (term === this.seenTerm) return;
    this.seenTerm = term;
    this.termChanges.inc();
  }

  /**
   * One log line and counter per event: an election started (this replica became a candidate, or a
   * lone voter won at once), an election won, a leader stepping down, a new leadership learned of
   * (a leader in a term not seen before, itself included). Pre-candidacy is not an election: a
   * pre-vote changes no term and usually fails quietly during a partition.
   */
  private noticeSoftState(role: Role, leader: NodeId | undefined): void {
    const term = this.node.term;
    if (role === 'candidate' || (role === 'leader' && this.seenRole !== 'candidate')) {
      this.electionsStarted.inc();
      this.logger.info({ event: 'election_started', term }, 'election started');
    }
    if (role === 'leader') this.logger.info({ event: 'election_won', term, voters: this.voters.length }, 'election won');
    if (this.seenRole === 'leader' && role !== 'leader') this.logger.info({ event: 'leader_stepped_down', term, role, leader: leader ?? null }, 'stepped down as leader');
    if (leader !== undefined && (leader !== this.seenLeader || term !== this.seenLeaderTerm)) {
      this.leaderChanges.inc();
      this.logger.info({ event: 'leader_changed', term, leader, previousLeader: this.seenLeader ?? null }, 'leader changed');
      this.seenLeader = leader;
      this.seenLeaderTerm = term;
    }
    this.seenRole = role;
  }

  static async open(options: RaftGroupOptions): Promise<RaftGroup> {
    let group: RaftGroup | undefined;
    const storage = await LogStorage.open(options.log, {
      onEntriesLoaded: () => group?.driver.entriesLoaded(),
      ...(options.snapshotData === undefined ? {} : { snapshotData: options.snapshotData }),
    });
    group = new RaftGroup(options, storage);
    return group;
  }

  get isLeader(): boolean {
    return this.node.role === 'leader';
  }

  get role(): Role {
    return this.node.role;
  }

  get leaderId(): NodeId | undefined {
    return this.node.leader;
  }

  get term(): Epoch {
    return this.node.term;
  }

  get highWatermark(): Offset {
    return asOffset(Math.min(this.node.highWatermark, this.log.logEndOffset));
  }

  get voters(): readonly NodeId[] {
    return this.node.config.voters;
  }

  /** What each follower holds, as the leader knows it; empty on a follower. */
  followers(): FollowerProgress[] {
    if (!this.isLeader) return [];
    const end = this.node.log.endOffset;
    return this.voters
      .filter((id) => id !== this.node.id)
      .map((nodeId) => {
        const matchEnd = this.node.progressOf(nodeId)?.matchEnd ?? 0;
        return { nodeId, matchEnd, lag: Math.max(0, end - matchEnd) };
      });
  }

  /** The leader and the followers holding everything below the high watermark (Kafka's ISR, as Raft sees it). */
  inSyncReplicas(): NodeId[] {
    if (!this.isLeader) return [...this.voters];
    const hw = this.node.highWatermark;
    return [this.node.id, ...this.followers().filter((f) => f.matchEnd >= hw).map((f) => f.nodeId)].sort((a, b) => a - b);
  }

  /**
   * Validates and stamps a producer's batches (or a coordinator's transaction marker: `origin`, as
   * `Log.append` takes it), proposes them, and resolves with their offsets once `acks` is met.
   * Throws NOT_LEADER_OR_FOLLOWER (with the leader as hint) on a follower, the log's LogError for a
   * bad batch, REQUEST_TIMED_OUT after `timeoutMs`.
   */
  async append(
    batches: Buffer,
    acks: 1 | -1,
    timeoutMs: number,
    origin: AppendOrigin = 'client',
  ): Promise<{ baseOffset: Offset; lastOffset: Offset; maxTimestamp: number }> {
    if (this.closed) throw new StrataError('NOT_LEADER_OR_FOLLOWER', `${this.group} is closing`);
    if (!this.isLeader || this.node.leadershipTransferee !== undefined) throw this.notLeader();
    const baseOffset = this.node.log.endOffset;
    const prepared = this.log.prepareLeaderAppend(batches, { baseOffset, leaderEpoch: this.node.term, origin });
    if (prepared.duplicateOf !== undefined) {
      // A producer's retry of a batch this log holds or this leader proposed: answered with the
      // original's offsets once it is committed, whatever `acks` (it may be an uncommitted entry of
      // an earlier term, which only a commit in this term makes safe to acknowledge).
      const original = prepared.duplicateOf;
      await withTimeout(this.untilHighWatermarkPasses(original.lastOffset), timeoutMs, this.group);
      return { baseOffset: original.baseOffset, lastOffset: original.lastOffset, maxTimestamp: prepared.maxTimestamp };
    }
    const records = prepared.lastOffset - baseOffset + 1;
    const committed = this.untilCommitted(batches, records);
    const result = { baseOffset, lastOffset: prepared.lastOffset, maxTimestamp: prepared.maxTimestamp };
    if (acks === 1) {
      // The commit may still fail; acks=1 does not wait for it, so its rejection is only logged.
      committed.catch((error: unknown) => this.logger.debug(errorFields(error), 'an acks=1 append did not commit'));
      await withTimeout(this.persistedThrough(prepared.lastOffset), timeoutMs, this.group);
    } else {
      await withTimeout(committed, timeoutMs, this.group);
    }
    return result;
  }

  /** Stamps and proposes whole batches, resolving once committed (the metadata group's writes). */
  async propose(batches: Buffer): Promise<{ baseOffset: Offset; lastOffset: Offset }> {
    if (!this.isLeader) throw this.notLeader();
    const baseOffset = this.node.log.endOffset;
    const prepared = this.log.prepareLeaderAppend(batches, { baseOffset, leaderEpoch: this.node.term });
    return this.untilCommitted(batches, prepared.lastOffset - baseOffset + 1);
  }

  /**
   * Proposes and waits for the commit, or for the end of this leadership: a leader that steps down
   * (check-quorum, a higher term) cannot know whether its entry will survive, so the wait ends at
   * once with NOT_LEADER_OR_FOLLOWER (the producer retries; the entry may then be there twice)
   * instead of hanging until the request times out.
   */
  private untilCommitted(batches: Buffer, records: number): Promise<{ baseOffset: Offset; lastOffset: Offset }> {
    const proposal = this.driver.propose(batches, records);
    let abandon: ((error: Error) => void) | undefined;
    const abandoned = new Promise<never>((_, reject) => {
      abandon = reject;
    });
    this.commitAbandons.add(abandon!);
    proposal.catch(() => undefined);
    return Promise.race([proposal, abandoned])
      .catch((error: unknown) => {
        throw this.translate(error);
      })
      .finally(() => this.commitAbandons.delete(abandon!));
  }

  /** Resolves once the high watermark is above `lastOffset`; rejected like a commit wait when this leadership ends. */
  private untilHighWatermarkPasses(lastOffset: Offset): Promise<void> {
    if (this.highWatermark > lastOffset) return Promise.resolve();
    let abandon: ((error: Error) => void) | undefined;
    const committed = new Promise<void>((resolve, reject) => {
      abandon = reject;
      this.commitWaiters.push({ lastOffset, resolve });
    });
    this.commitAbandons.add(abandon!);
    return committed.finally(() => this.commitAbandons.delete(abandon!));
  }

  private releaseCommitWaiters(): void {
    if (this.commitWaiters.length === 0) return;
    const hw = this.highWatermark;
    const still: CommitWaiter[] = [];
    for (const waiter of this.commitWaiters) {
      if (waiter.lastOffset < hw) waiter.resolve();
      else still.push(waiter);
    }
    this.commitWaiters = still;
  }

  private abandonCommitWaits(error: Error): void {
    this.commitWaiters = [];
    for (const abandon of [...this.commitAbandons]) abandon(error);
    this.commitAbandons.clear();
  }

  /** Graceful shutdown: hands leadership to the most caught-up follower first (bounded by `deadlineMs`). */
  async handOff(deadlineMs: number): Promise<void> {
    if (!this.isLeader || this.voters.length === 1) return;
    const target = this.driver.handOff();
    if (target === undefined) return;
    const until = performance.now() + deadlineMs;
    while (this.isLeader && performance.now() < until && !this.driver.isStopped) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.host.removeGroup(this.group);
    const closed = new StrataError('NOT_LEADER_OR_FOLLOWER', `${this.group} closed`);
    this.rejectPersistWaiters(closed);
    this.abandonCommitWaits(closed);
    await this.driver.settled().catch(() => undefined);
    await this.storage.close();
  }

  private notLeader(): StrataError {
    const leader = this.node.leader;
    return new StrataError('NOT_LEADER_OR_FOLLOWER', `${this.group} is ${leader === undefined || leader === this.node.id ? 'electing a leader' : `led by node ${leader}`}`, {
      leaderHint: leader === undefined || leader === this.node.id ? -1 : leader,
    });
  }

  private translate(error: unknown): unknown {
    if (error instanceof NotLeader || error instanceof ProposalLost) return this.notLeader();
    if (error instanceof StrataError || error instanceof LogError) return error;
    return new StrataError('KAFKA_STORAGE_ERROR', `${this.group}: ${(error as Error).message}`, { cause: error });
  }

  /** Called right after `propose`: the Ready that persists the entry is still to come, so a waiter cannot miss it. */
  private persistedThrough(lastOffset: Offset): Promise<void> {
    return new Promise((resolve, reject) => this.persistWaiters.push({ lastOffset, resolve, reject }));
  }

  private persisted(end: Offset): void {
    if (this.persistWaiters.length === 0) return;
    const still: PersistWaiter[] = [];
    for (const waiter of this.persistWaiters) {
      if (waiter.lastOffset < end) waiter.resolve();
      else still.push(waiter);
    }
    this.persistWaiters = still;
  }

  private rejectPersistWaiters(error: Error): void {
    for (const waiter of this.persistWaiters.splice(0)) waiter.reject(error);
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, group: string): Promise<T> {
  if (timeoutMs <= 0) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StrataError('REQUEST_TIMED_OUT', `${group}: not replicated within ${timeoutMs} ms; the batch may still be committed`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
