/**
 * A consumer's life in a group (at-least-once): the membership (`group-membership.ts`: heartbeats and
 * reconciliation), the commits (`offset-committer.ts`), and what ties them to the consumer's
 * partitions.
 *
 * - **Never commit ahead of the application.** A message handed out is *in hand* until the
 *   application has *finished* it: for `for await`, when the iterator's `next()` is called again (or
 *   the loop breaks or returns); for `eachMessage`/`eachBatch`, when the handler's promise resolves.
 *   A partition's committable offset is its last finished message's offset + 1, but never above the
 *   lowest offset still in hand. A message whose handler threw is not finished: the partition is
 *   sought back to it (it is handed out again if `run` is called again) and nothing past it is
 *   committed. (A `for await` body that throws ends the loop like `break`, which the iterator cannot
 *   tell apart: that message counts as finished.)
 * - **Records are handed out only while the partition is owned.** A partition enters the
 *   assignment once its committed offset is known (no committed offset: earliest with
 *   `fromBeginning`, else latest) and, with `onAssigned`, is handed out only after the callback
 *   resolved. On revoke it stops being handed out and fetched at once; the consumer waits (at most
 *   `rebalanceTimeoutMs`) for the application to finish what it holds from it, commits its finished
 *   offset (`autoCommit`), calls `onRevoked(partitions, 'revoked')`, drops it, and only then reports
 *   it given up. A lost partition (fenced, session timed out) is dropped at once, without a commit.
 * - **Per-partition offset order.** Commits of a partition are written in the order they were made
 *   on one connection (`offset-committer.ts`): an older offset never overwrites a newer one.
 * - Auto-commit (every `autoCommitIntervalMs`) commits the partitions whose committable offset moved
 *   since the last commit; `commit()` commits every committable offset now; `close()` commits,
 *   `onRevoked`, leaves the group (the partitions move at once), each step bounded by
 *   min(requestTimeoutMs, sessionTimeoutMs), so it returns even when the broker is gone.
 */
import type { Cluster } from './cluster.js';
import type { ResolvedConsumerConfig } from './config.js';
import { asError, committableOffset, newPartitionState, type Delivery, type PartitionState } from './consumer-partition.js';
import type { FetchBuffer } from './fetch-buffer.js';
import { GroupCoordinatorClient } from './group-coordinator-client.js';
import { GroupMembership, withDeadline, type MembershipHost } from './group-membership.js';
import type { MemberIdentity } from './offset-committer.js';
import { COMMIT_MAX_IN_FLIGHT } from './limits.js';
import { OffsetCommitter, type CommitOffset } from './offset-committer.js';
import { ERRORS, StrataError } from './protocol/index.js';
import { isRetriable } from './retry.js';
import { topicPartitionKey, type TopicPartition } from './topic-partitions.js';

/** Errors of a commit that say the partition is not ours any more: nothing to report. */
const NOT_OURS_CODES: ReadonlySet<number> = new Set([
  ERRORS.UNKNOWN_MEMBER_ID.code,
  ERRORS.FENCED_MEMBER_EPOCH.code,
  ERRORS.PARTITION_NOT_ASSIGNED.code,
  ERRORS.STALE_MEMBER_EPOCH.code,
]);

export interface GroupRuntimeHost {
  /** The consumer's partitions, owned by the consumer and changed here as the group assigns them. */
  readonly partitions: Map<string, PartitionState>;
  readonly buffer: FetchBuffer;
  isClosed(): boolean;
  pump(): void;
  notify(): void;
  /** Hands an error to the application. */
  raise(error: Error): void;
  /** Seeks a partition back to `offset` (a handler threw). */
  reposition(state: PartitionState, offset: number): void;
}

export interface GroupRuntimeOptions {
  readonly cluster: Cluster;
  readonly config: ResolvedConsumerConfig;
  readonly groupId: string;
  /** Names the consumer's heartbeat connection. */
  readonly consumerId: number;
  readonly topics: readonly string[];
  readonly fromBeginning: boolean;
  readonly host: GroupRuntimeHost;
}

export class ConsumerGroupRuntime {
  /** Resolves once the member joined (the first heartbeat answered). */
  readonly joined: Promise<void>;
  private readonly cluster: Cluster;
  private readonly config: ResolvedConsumerConfig;
  private readonly host: GroupRuntimeHost;
  private readonly coordinator: GroupCoordinatorClient;
  private readonly membership: GroupMembership;
  private readonly committer: OffsetCommitter;
  private fromBeginning: boolean;
  private finishWaiters: Array<() => void> = [];
  private autoCommitTimer: NodeJS.Timeout | undefined;

  constructor(options: GroupRuntimeOptions) {
    this.cluster = options.cluster;
    this.config = options.config;
    this.host = options.host;
    this.fromBeginning = options.fromBeginning;
    this.coordinator = new GroupCoordinatorClient(this.cluster, options.groupId);
    this.membership = new GroupMembership({
      coordinator: this.coordinator,
      pool: this.cluster.pool,
      lane: `heartbeat-${options.consumerId}`,
      topics: options.topics,
      sessionTimeoutMs: this.config.sessionTimeoutMs,
      heartbeatIntervalMs: this.config.heartbeatIntervalMs,
      assignor: this.config.assignor ?? '',
      requestTimeoutMs: this.cluster.config.requestTimeoutMs,
      retry: this.cluster.config.retry,
      host: this.membershipHost(),
    });
    const membership = this.membership;
    this.committer = new OffsetCommitter({
      coordinator: this.coordinator,
      member: () => membership.identity(),
      nextHeartbeat: () => membership.nextHeartbeat(),
      retry: this.cluster.config.retry,
      maxInFlight: COMMIT_MAX_IN_FLIGHT,
    });
    this.joined = this.membership.start();
    if (this.config.autoCommit) this.scheduleAutoCommit();
  }

  /** Changes the subscription; resolves once the member joined. */
  subscribe(topics: readonly string[], fromBeginning: boolean): Promise<void> {
    this.fromBeginning = fromBeginning;
    this.membership.subscribe(topics);
    return this.joined;
  }

  /** Commits exactly these offsets, or (without) every partition's committable offset. */
  commit(offsets?: readonly CommitOffset[]): Promise<void> {
    if (offsets === undefined) return this.commitFinished([...this.host.partitions.values()], false);
    return this.committer.commit(offsets);
  }

  /** With a group, records what the application now holds. */
  handOut(state: PartitionState, firstOffset: number, nextOffset: number): Delivery {
    state.inHand.push(firstOffset);
    return { state, epoch: state.epoch, firstOffset, nextOffset };
  }

  /** The application finished a delivery: its partition's finished offset moves past it. */
  finish(delivery: Delivery | undefined): void {
    if (delivery === undefined) return;
    const state = delivery.state;
    const i = state.inHand.indexOf(delivery.firstOffset);
    if (i >= 0) state.inHand.splice(i, 1);
    if (this.host.partitions.get(state.key) === state && state.epoch === delivery.epoch) {
      state.finishedOffset = Math.max(state.finishedOffset ?? 0, delivery.nextOffset);
    }
    this.wakeFinishWaiters();
  }

  /**
   * A handler threw: the delivery is not finished. Nothing from it on counts as finished, and the
   * partition is sought back to it so that it is handed out again.
   */
  unfinish(delivery: Delivery | undefined): void {
    if (delivery === undefined) return;
    const state = delivery.state;
    const i = state.inHand.indexOf(delivery.firstOffset);
    if (i >= 0) state.inHand.splice(i, 1);
    if (this.host.partitions.get(state.key) === state && state.epoch === delivery.epoch && !this.host.isClosed()) {
      if (state.finishedOffset !== undefined) state.finishedOffset = Math.min(state.finishedOffset, delivery.firstOffset);
      this.host.reposition(state, delivery.firstOffset);
    }
    this.wakeFinishWaiters();
  }

  /** The member's id and epoch, or undefined while it is not a member (joining, fenced, left). */
  identity(): MemberIdentity | undefined {
    return this.membership.identity();
  }

  /**
   * Leaves the group: commits the finished offsets (`autoCommit`), calls `onRevoked(…, 'revoked')`,
   * leaves; each step bounded by min(requestTimeoutMs, sessionTimeoutMs). The consumer is closed
   * already (nothing is fetched or handed out any more).
   */
  async close(): Promise<void> {
    if (this.autoCommitTimer !== undefined) clearTimeout(this.autoCommitTimer);
    const boundMs = Math.min(this.cluster.config.requestTimeoutMs, this.config.sessionTimeoutMs);
    const states = [...this.host.partitions.values()].filter((s) => !s.revoking);
    for (const state of states) state.revoking = true;
    if (this.membership.identity() !== undefined) {
      if (this.config.autoCommit) await withDeadline(this.commitFinished(states, false), boundMs).catch(() => undefined);
      const onRevoked = this.config.onRevoked;
      if (onRevoked !== undefined && states.length > 0) {
        await withDeadline(Promise.resolve().then(() => onRevoked(states.map(({ topic, partition }) => ({ topic, partition })), 'revoked')), boundMs)
          .catch(() => undefined);
      }
    }
    await this.membership.leave(boundMs);
    this.committer.close();
    this.wakeFinishWaiters();
  }

  /** Commits the committable offsets of `states` (only those that moved since the last auto-commit, with `onlyMoved`). */
  private commitFinished(states: readonly PartitionState[], onlyMoved: boolean): Promise<void> {
    const offsets: CommitOffset[] = [];
    const sent: Array<[PartitionState, number]> = [];
    for (const state of states) {
      const offset = committableOffset(state);
      if (offset === undefined || (onlyMoved && offset === state.commitSentOffset)) continue;
      offsets.push({ topic: state.topic, partition: state.partition, offset });
      sent.push([state, offset]);
      state.commitSentOffset = offset;
    }
    const done = this.committer.commit(offsets);
    done.catch(() => {
      // Not durable: the next auto-commit sends it again.
      for (const [state, offset] of sent) if (state.commitSentOffset === offset) state.commitSentOffset = undefined;
    });
    return done;
  }

  private scheduleAutoCommit(): void {
    this.autoCommitTimer = setTimeout(() => {
      this.autoCommitTimer = undefined;
      if (this.host.isClosed()) return;
      if (this.membership.identity() !== undefined) {
        this.commitFinished([...this.host.partitions.values()], true).catch((error: unknown) => {
          // Retriable failures are retried at the next interval; a partition that is not ours is
          // the membership's business. Anything else is the application's.
          if (!isRetriable(error) && !(error instanceof StrataError && NOT_OURS_CODES.has(error.code)) && !this.host.isClosed()) this.host.raise(asError(error));
        });
      }
      this.scheduleAutoCommit();
    }, this.config.autoCommitIntervalMs);
  }

  /** Runs an application callback; what it throws goes to the application. */
  private async callback(run: () => void | Promise<void>, timeoutMs?: number): Promise<void> {
    try {
      const result = run();
      if (result !== undefined) await (timeoutMs === undefined ? result : withDeadline(Promise.resolve(result), timeoutMs));
    } catch (error) {
      this.host.raise(asError(error));
    }
  }

  private membershipHost(): MembershipHost {
    return {
      owned: () => [...this.host.partitions.values()].map(({ topic, partition }) => ({ topic, partition })),
      assign: (partitions, stillAssigned) => this.takePartitions(partitions, stillAssigned),
      revoke: (partitions) => this.givePartitionsUp(partitions),
      lose: (partitions) => this.losePartitions(partitions),
      fail: (error) => this.host.raise(error),
    };
  }

  /** Newly assigned partitions: positioned at the group's committed offsets, then `onAssigned`. */
  private async takePartitions(partitions: TopicPartition[], stillAssigned: (tp: TopicPartition) => boolean): Promise<void> {
    const committed = await this.coordinator.fetchOffsets(partitions, () => this.host.isClosed());
    if (this.host.isClosed()) return;
    const added: PartitionState[] = [];
    for (const tp of partitions) {
      const key = topicPartitionKey(tp.topic, tp.partition);
      if (!stillAssigned(tp) || this.host.partitions.has(key)) continue;
      const offset = committed.get(key) ?? -1;
      const state = newPartitionState(tp.topic, tp.partition, offset >= 0 ? offset : { kind: this.fromBeginning ? 'earliest' : 'latest' });
      state.held = this.config.onAssigned !== undefined;
      this.host.partitions.set(key, state);
      added.push(state);
    }
    this.host.pump();
    const onAssigned = this.config.onAssigned;
    if (added.length === 0 || onAssigned === undefined) return;
    await this.callback(() => onAssigned(added.map(({ topic, partition }) => ({ topic, partition }))));
    for (const state of added) state.held = false;
    this.host.notify();
  }

  /** Revoked partitions: stop, let the application finish, commit, `onRevoked`, drop. */
  private async givePartitionsUp(partitions: TopicPartition[]): Promise<void> {
    let states = this.statesOf(partitions);
    for (const state of states) state.revoking = true;
    this.host.buffer.dropWhere((state) => state.revoking);
    await this.waitFinished(states, this.config.rebalanceTimeoutMs);
    // Lost meanwhile (fenced, session timed out): already dropped and reported as lost.
    states = states.filter((state) => this.host.partitions.get(state.key) === state);
    if (states.length === 0) return;
    const boundMs = Math.min(this.cluster.config.requestTimeoutMs, this.config.sessionTimeoutMs);
    if (this.config.autoCommit) await withDeadline(this.commitFinished(states, false), boundMs).catch(() => undefined);
    const onRevoked = this.config.onRevoked;
    if (onRevoked !== undefined && states.length > 0) {
      await this.callback(() => onRevoked(states.map(({ topic, partition }) => ({ topic, partition })), 'revoked'), this.config.rebalanceTimeoutMs);
    }
    for (const state of states) this.drop(state);
  }

  /** Lost partitions: dropped at once, nothing committed, then `onRevoked(…, 'lost')`. */
  private async losePartitions(partitions: TopicPartition[]): Promise<void> {
    const states = this.statesOf(partitions);
    for (const state of states) this.drop(state);
    const onRevoked = this.config.onRevoked;
    if (onRevoked !== undefined && states.length > 0) {
      await this.callback(() => onRevoked(states.map(({ topic, partition }) => ({ topic, partition })), 'lost'), this.config.rebalanceTimeoutMs);
    }
  }

  private statesOf(partitions: readonly TopicPartition[]): PartitionState[] {
    return partitions.flatMap((tp) => {
      const state = this.host.partitions.get(topicPartitionKey(tp.topic, tp.partition));
      return state === undefined ? [] : [state];
    });
  }

  private drop(state: PartitionState): void {
    if (this.host.partitions.get(state.key) === state) this.host.partitions.delete(state.key);
    state.epoch++;
    state.revoking = true;
    this.host.buffer.dropWhere((s) => s === state);
    this.wakeFinishWaiters();
  }

  /** Until nothing of `states` is in the application's hands (or they were dropped), at most `timeoutMs`. */
  private async waitFinished(states: readonly PartitionState[], timeoutMs: number): Promise<void> {
    const deadlineMs = Date.now() + timeoutMs;
    for (;;) {
      const busy = states.some((s) => s.inHand.length > 0 && this.host.partitions.get(s.key) === s);
      const leftMs = deadlineMs - Date.now();
      if (!busy || leftMs <= 0 || this.host.isClosed()) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, leftMs);
        this.finishWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private wakeFinishWaiters(): void {
    for (const wake of this.finishWaiters.splice(0)) wake();
  }
}
