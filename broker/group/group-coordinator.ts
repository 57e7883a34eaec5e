/**
 * The group coordinator: every consumer group whose `__consumer_offsets` partition this broker
 * leads. It serves the group APIs (heartbeat, commit, offset fetch, list, describe, delete), holds
 * long-poll heartbeats until their member has something to do, removes members whose session
 * passed, and keeps committed offsets as records of `__consumer_offsets` (`offsets-topic.ts`).
 *
 * - **Durability.** A commit is answered once its records are appended to the group's offsets
 *   partition under that topic's flush policy (`always` by default: fsynced, group-committed), and
 *   only then applied in memory. The topic is compacted, so it holds about one record per committed
 *   partition.
 * - **Recovery.** On open, every offsets partition this broker leads is read from its log start to
 *   its high watermark and the offsets are applied in log order; requests for a group whose
 *   partition is still loading answer COORDINATOR_LOAD_IN_PROGRESS. Membership is not persisted: after
 *   a coordinator restart members get UNKNOWN_MEMBER_ID on their next heartbeat, give up their
 *   partitions without committing and join again. Committed offsets are all that at-least-once needs.
 * - **Transactional commits** (TxnOffsetCommit) are appended as a transactional batch carrying the
 *   producer's id and epoch (origin 'coordinator': the log checks the epoch, not sequences) and kept
 *   pending per producer (`pending-txn-offsets.ts`), invisible to OffsetFetch, until the producer's
 *   marker lands in that offsets partition: a commit applies them, an abort drops them
 *   (`completeTransaction`, called once the marker is durable). A load does the same with the
 *   batches and markers it reads; what is still pending at its end belongs to an open transaction.
 * - **The topic** is created on the first group request (as Kafka does), with
 *   `offsetsTopicPartitions` partitions; clients cannot create, delete or produce to it.
 *
 * Concurrency: one thread. Group state changes synchronously inside a request; the only awaits are
 * the topic creation and the appends of commits and deletions, which are ordered per partition by
 * the log and applied by log offset (a later append always wins).
 */
import { performance } from 'node:perf_hooks';
import { CONTROL_FLAG, decodeBatches, encodeBatch, TRANSACTIONAL_FLAG, TXN_ABORT_CONTROL_TYPE, TXN_COMMIT_CONTROL_TYPE, type DecodedBatch, type RecordInput } from '../../log/index.js';
import {
  StrataError,
  type ConsumerGroupDescribeResponse,
  type ConsumerGroupHeartbeatRequest,
  type CommittedPartitionOffset,
  type ConsumerGroupHeartbeatResponse,
  type DeleteGroupsResponse,
  type DescribedGroup,
  type ListedGroup,
  type OffsetCommitRequest,
  type OffsetCommitResponse,
  type OffsetFetchRequest,
  type OffsetFetchResponse,
  type TopicPartitions,
  type TxnOffsetCommitRequest,
  type TxnOffsetCommitResponse,
} from '../../client/protocol/index.js';
import { errorResult, namedError, type ErrorResult } from '../error-result.js';
import { OFFSETS_TOPIC } from '../internal-topics.js';
import {
  GROUP_ID_MAX_CHARS,
  GROUP_SESSION_CHECK_INTERVAL_MS,
  GROUP_SUBSCRIBED_TOPICS_MAX,
  HEARTBEAT_MAX_WAIT_MS_CEILING,
  OFFSET_COMMIT_PARTITIONS_MAX,
  OFFSET_METADATA_MAX_BYTES,
} from '../limits.js';
import { errorFields, type Logger } from '../logger.js';
import type { Partition } from '../partition.js';
import type { PartitionManager } from '../partition-manager.js';
import { topicNameProblem } from '../topic-name.js';
import type { TopicPartition } from './assignor.js';
import { ConsumerGroup, reportedPartitions, type GroupSettings, type HeartbeatAnswer, type PartitionCountOf } from './consumer-group.js';
import { groupLag, type GroupLag } from './group-lag.js';
import { PendingTxnOffsets, type PendingTxnOffset } from './pending-txn-offsets.js';
import { decodeOffsetRecord, encodeOffsetRecord, OFFSETS_TOPIC_CONFIGS, offsetsPartitionFor, OffsetRecordError } from './offsets-topic.js';

/** Bytes read per step when loading an offsets partition. */
const LOAD_READ_BYTES = 1024 * 1024;

export interface GroupCoordinatorSettings extends GroupSettings {
  /** Partitions of `__consumer_offsets` when the coordinator creates it. */
  readonly offsetsTopicPartitions: number;
}

export interface GroupCoordinatorOptions {
  readonly partitions: PartitionManager;
  readonly settings: GroupCoordinatorSettings;
  readonly logger: Logger;
  /** Milliseconds since the epoch, for commit timestamps. */
  readonly clock?: () => number;
  /** A monotonic clock in ms, for sessions. */
  readonly monotonicClock?: () => number;
}

/** Who sent a heartbeat, and the signal that fires if its connection closes. */
export interface HeartbeatCaller {
  readonly clientId: string;
  readonly clientHost: string;
  readonly signal: AbortSignal;
}

interface HeldHeartbeat {
  readonly memberId: string;
  /** Keys of the partitions the member reported holding (`reportedPartitions`). */
  readonly holds: ReadonlySet<string>;
  finish(response: ConsumerGroupHeartbeatResponse): void;
}

export class GroupCoordinator {
  private readonly partitions: PartitionManager;
  private readonly settings: GroupCoordinatorSettings;
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly now: () => number;
  private readonly groups = new Map<string, ConsumerGroup>();
  private readonly held = new Map<string, Map<string, HeldHeartbeat>>();
  /** Offsets partitions being read back; their groups answer COORDINATOR_LOAD_IN_PROGRESS. */
  private readonly loading = new Set<number>();
  /** Offsets partitions whose load failed (data the coordinator cannot read); their groups answer COORDINATOR_NOT_AVAILABLE. */
  private readonly unloadable = new Set<number>();
  private topicCreation: Promise<void> | undefined;
  private readonly sessionTimer: NodeJS.Timeout;
  private closed = false;
  private readonly countOf: PartitionCountOf;
  private unsubscribe: () => void = () => undefined;
  /** Offsets partitions this broker leads and has loaded (or is loading), by index. */
  private readonly led = new Set<number>();
  /** Offsets committed in transactions whose marker has not arrived yet. */
  private readonly pendingTxn = new PendingTxnOffsets();

  private constructor(options: GroupCoordinatorOptions) {
    this.partitions = options.partitions;
    this.settings = options.settings;
    this.logger = options.logger.child({ component: 'group-coordinator' });
    this.clock = options.clock ?? Date.now;
    this.now = options.monotonicClock ?? (() => performance.now());
    this.countOf = (topic) => this.partitions.topic(topic)?.partitions;
    this.sessionTimer = setInterval(() => {
      // A background task: whatever goes wrong in it is logged, and the broker serves on.
      try {
        this.checkSessions();
      } catch (error) {
        this.logger.error(errorFields(error), 'group session check failed');
      }
    }, GROUP_SESSION_CHECK_INTERVAL_MS);
    this.sessionTimer.unref();
  }

  /**
   * Starts a coordinator and loads the offsets of every offsets partition this broker leads. A
   * partition that cannot be loaded (an unreadable record batch, a storage error) is logged and
   * left out: its groups answer COORDINATOR_NOT_AVAILABLE until a restart loads it, and the broker
   * starts and serves every other group. Failing the start instead would fail every restart too.
   */
  static async open(options: GroupCoordinatorOptions): Promise<GroupCoordinator> {
    const coordinator = new GroupCoordinator(options);
    // In a cluster, leadership of the offsets partitions moves: load on taking one over, drop its
    // groups on losing it.
    coordinator.unsubscribe = coordinator.partitions.subscribe({
      highWatermarkAdvanced: () => undefined,
      partitionRemoved: () => undefined,
      leadershipChanged: (partition) => {
        if (partition.topic === OFFSETS_TOPIC) coordinator.leadershipChanged(partition);
      },
    });
    for (const partition of coordinator.partitions.partitionsOf(OFFSETS_TOPIC)) {
      if (!partition.isLeader) continue;
      try {
        await coordinator.load(partition);
      } catch {
        coordinator.forgetLoaded(partition);
      }
    }
    return coordinator;
  }

  /** Answers every held heartbeat and stops the session checks. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    clearInterval(this.sessionTimer);
    for (const [groupId, held] of this.held) {
      const group = this.groups.get(groupId);
      for (const waiter of [...held.values()]) waiter.finish(this.heldAnswer(group, waiter));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Finding the coordinator

  /**
   * The offsets partition of `groupId`, creating the topic on first use. Throws INVALID_GROUP_ID,
   * COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS; NOT_COORDINATOR when another broker leads it.
   */
  async offsetsPartition(groupId: string): Promise<Partition> {
    checkGroupId(groupId);
    if (this.closed) throw new StrataError('BROKER_SHUTTING_DOWN');
    await this.ensureOffsetsTopic();
    const count = this.partitions.topic(OFFSETS_TOPIC)?.partitions;
    const partition = count === undefined ? undefined : this.partitions.partition(OFFSETS_TOPIC, offsetsPartitionFor(groupId, count));
    if (partition === undefined) {
      if (this.partitions.clustered) throw new StrataError('NOT_COORDINATOR', `${groupId} is coordinated by another broker.`);
      throw new StrataError('COORDINATOR_NOT_AVAILABLE', `${OFFSETS_TOPIC} is not open.`);
    }
    if (!partition.isLeader) throw new StrataError('NOT_COORDINATOR', `${groupId} is coordinated by node ${partition.leadership.leaderId}.`);
    if (this.loading.has(partition.index)) throw new StrataError('COORDINATOR_LOAD_IN_PROGRESS', `${partition.key}.`);
    if (this.unloadable.has(partition.index)) throw new StrataError('COORDINATOR_NOT_AVAILABLE', `${partition.key} could not be loaded; see the broker's log.`);
    return partition;
  }

  private ensureOffsetsTopic(): Promise<void> {
    const topic = this.partitions.topic(OFFSETS_TOPIC);
    if (this.partitions.clustered) {
      // The controller creates it once the cluster's brokers have registered.
      if (topic === undefined) return Promise.reject(new StrataError('COORDINATOR_NOT_AVAILABLE', `${OFFSETS_TOPIC} does not exist yet; the controller creates it once every broker registered.`));
      return Promise.resolve();
    }
    if (topic !== undefined && this.partitions.partitionsOf(OFFSETS_TOPIC).length === topic.partitions) return Promise.resolve();
    this.topicCreation ??= this.partitions
      .createTopic({ name: OFFSETS_TOPIC, partitions: this.settings.offsetsTopicPartitions, replicationFactor: 1, configs: OFFSETS_TOPIC_CONFIGS }, false, true)
      .then(
        () => this.logger.info({ partitions: this.settings.offsetsTopicPartitions }, `created ${OFFSETS_TOPIC}`),
        (error: unknown) => {
          if (!(error instanceof StrataError && error.errorName === 'TOPIC_ALREADY_EXISTS')) throw error;
        },
      )
      .finally(() => {
        this.topicCreation = undefined;
      });
    return this.topicCreation;
  }

  // -------------------------------------------------------------------------------------------
  // Membership

  async heartbeat(request: ConsumerGroupHeartbeatRequest, caller: HeartbeatCaller): Promise<ConsumerGroupHeartbeatResponse> {
    let answer: HeartbeatAnswer;
    let group: ConsumerGroup;
    let epochBefore = 0;
    try {
      await this.offsetsPartition(request.groupId);
      if (request.subscribedTopicNames.length > GROUP_SUBSCRIBED_TOPICS_MAX) {
        throw new StrataError('INVALID_REQUEST', `${request.subscribedTopicNames.length} subscribed topics, limit ${GROUP_SUBSCRIBED_TOPICS_MAX}.`);
      }
      const existing = this.groups.get(request.groupId);
      if (existing === undefined && request.memberEpoch !== 0) throw new StrataError('UNKNOWN_MEMBER_ID', `${request.memberId} in ${request.groupId}.`);
      group = existing ?? new ConsumerGroup(request.groupId);
      this.groups.set(request.groupId, group);
      epochBefore = group.groupEpoch;
      answer = group.heartbeat(
        {
          memberId: request.memberId,
          memberEpoch: request.memberEpoch,
          sessionTimeoutMs: request.sessionTimeoutMs,
          subscribedTopicNames: request.subscribedTopicNames,
          serverAssignor: request.serverAssignor,
          ownedPartitions: request.ownedPartitions,
          clientId: caller.clientId,
          clientHost: caller.clientHost,
        },
        this.settings,
        this.countOf,
        this.now(),
      );
    } catch (error) {
      const failed = errorResult(error, this.logger.child({ group: request.groupId }), 'heartbeat');
      // A fenced member was removed: the others may now take its partitions.
      const fencedIn = this.groups.get(request.groupId);
      if (fencedIn !== undefined) this.wake(fencedIn);
      return heartbeatError(failed);
    }
    const log = this.logger.child({ group: request.groupId, memberId: answer.memberId });
    if (request.memberEpoch === 0) log.info({ groupEpoch: group.groupEpoch, members: group.memberCount, subscriptions: request.subscribedTopicNames }, 'member joined');
    else if (request.memberEpoch === -1) log.info({ groupEpoch: group.groupEpoch, members: group.memberCount }, 'member left');
    const reason = request.memberEpoch === 0 ? 'member_joined' : request.memberEpoch === -1 ? 'member_left' : 'subscriptions_or_partitions_changed';
    if (group.groupEpoch !== epochBefore) this.logRebalance(group, reason);
    this.wake(group, answer.memberId);
    if (!answer.settled || request.maxWaitMs === 0 || request.memberEpoch <= 0 || this.closed) return heartbeatResponse(answer);
    return this.hold(group, answer.memberId, request, caller.signal);
  }

  /** Holds a heartbeat until its member has something to do, the wait ends or the connection closes. */
  private hold(group: ConsumerGroup, memberId: string, request: ConsumerGroupHeartbeatRequest, signal: AbortSignal): Promise<ConsumerGroupHeartbeatResponse> {
    let held = this.held.get(group.groupId);
    if (held === undefined) this.held.set(group.groupId, (held = new Map()));
    const groupHeld = held;
    // A member has one heartbeat held at most: an older one (its answer was lost) ends now.
    const previous = groupHeld.get(memberId);
    if (previous !== undefined) previous.finish(this.heldAnswer(group, previous));
    return new Promise((resolve) => {
      const waiter: HeldHeartbeat = {
        memberId,
        holds: reportedPartitions(request.ownedPartitions),
        finish: (response) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          if (groupHeld.get(memberId) === waiter) groupHeld.delete(memberId);
          if (groupHeld.size === 0 && this.held.get(group.groupId) === groupHeld) this.held.delete(group.groupId);
          group.setHeld(memberId, false, this.now());
          resolve(response);
        },
      };
      const onAbort = () => waiter.finish(this.heldAnswer(group, waiter));
      const timer = setTimeout(onAbort, Math.min(request.maxWaitMs, HEARTBEAT_MAX_WAIT_MS_CEILING));
      signal.addEventListener('abort', onAbort, { once: true });
      groupHeld.set(memberId, waiter);
      group.setHeld(memberId, true, this.now());
    });
  }

  private heldAnswer(group: ConsumerGroup | undefined, waiter: HeldHeartbeat): ConsumerGroupHeartbeatResponse {
    const answer = group?.reanswer(waiter.memberId, waiter.holds, this.settings);
    return answer === undefined ? heartbeatError(namedError('UNKNOWN_MEMBER_ID', `${waiter.memberId} was removed.`)) : heartbeatResponse(answer);
  }

  /** Answers the held heartbeats of `group` whose member now has something to do. */
  private wake(group: ConsumerGroup, except?: string): void {
    const held = this.held.get(group.groupId);
    if (held === undefined) return;
    for (const waiter of [...held.values()]) {
      if (waiter.memberId === except) continue;
      const answer = group.reanswer(waiter.memberId, waiter.holds, this.settings);
      if (answer === undefined || !answer.settled) waiter.finish(this.heldAnswer(group, waiter));
    }
  }

  /** One line per new target assignment (a new group epoch): the rebalance event. */
  private logRebalance(group: ConsumerGroup, reason: string): void {
    this.logger.info({ event: 'group_rebalanced', group: group.groupId, groupEpoch: group.groupEpoch, members: group.memberCount, reason }, 'group rebalanced');
  }

  /** Removes members whose session passed and follows partition-count changes; frees dead groups. */
  private checkSessions(): void {
    const nowMs = this.now();
    for (const [groupId, group] of this.groups) {
      const expired = group.expire(nowMs, this.countOf);
      for (const memberId of expired) this.logger.info({ group: groupId, memberId, groupEpoch: group.groupEpoch }, 'member removed: session timed out');
      if (expired.length > 0) this.logRebalance(group, 'session_expired');
      const resized = group.refreshPartitionCounts(this.countOf);
      if (resized) this.logRebalance(group, 'partitions_changed');
      if (expired.length > 0 || resized) this.wake(group);
      if (group.isDead && !this.held.has(groupId)) this.groups.delete(groupId);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Offsets

  async commit(request: OffsetCommitRequest): Promise<OffsetCommitResponse> {
    const logger = this.logger.child({ group: request.groupId });
    const entries = request.topics.flatMap((topic) => topic.partitions.map((p) => ({ topic: topic.name, ...p })));
    const results = entries.map((): ErrorResult | undefined => undefined);
    const accepted: number[] = [];
    try {
      const partition = await this.offsetsPartition(request.groupId);
      if (entries.length > OFFSET_COMMIT_PARTITIONS_MAX) throw new StrataError('INVALID_REQUEST', `${entries.length} partitions in one commit, limit ${OFFSET_COMMIT_PARTITIONS_MAX}.`);
      let group = this.groups.get(request.groupId);
      if (group === undefined) {
        if (request.memberId !== '') throw new StrataError('UNKNOWN_MEMBER_ID', `${request.memberId} in ${request.groupId}.`);
        group = new ConsumerGroup(request.groupId);
      }
      const checks = group.checkCommit(request.memberId, request.memberEpoch, entries);
      entries.forEach((entry, i) => {
        const problem = checks[i] ?? commitProblem(entry);
        if (problem !== undefined) results[i] = errorResult(problem, logger, 'commit');
        else accepted.push(i);
      });
      if (accepted.length > 0) {
        const commitTimestamp = this.clock();
        const records = offsetRecords(request.groupId, accepted.map((i) => entries[i]!), commitTimestamp);
        const appended = await partition.appendAsLeader(encodeBatch(records));
        this.groups.set(request.groupId, group);
        accepted.forEach((i, n) => {
          const { topic, partition: index, committedOffset, committedMetadata } = entries[i]!;
          const logOffset = appended.baseOffset + n;
          group.applyOffset(topic, index, { offset: committedOffset, metadata: committedMetadata, commitTimestamp, logOffset }, logOffset);
        });
      }
    } catch (error) {
      const failed = errorResult(error, logger, 'commit');
      entries.forEach((_, i) => {
        results[i] ??= failed;
      });
      return commitResponse(request, results, failed);
    }
    return commitResponse(request, results, undefined);
  }

  /**
   * TxnOffsetCommit: checked as OffsetCommit (member and epoch, unless the producer commits from
   * outside the group: member id '' and epoch -1 skip that check), appended as one transactional
   * batch with the producer's id and epoch, and kept pending until the producer's marker settles it.
   * A fenced producer's batch is refused by the log (INVALID_PRODUCER_EPOCH).
   */
  async txnCommit(request: TxnOffsetCommitRequest): Promise<TxnOffsetCommitResponse> {
    const logger = this.logger.child({ group: request.groupId, transactionalId: request.transactionalId });
    const entries = request.topics.flatMap((topic) => topic.partitions.map((p) => ({ topic: topic.name, ...p })));
    const results = entries.map((): ErrorResult | undefined => undefined);
    const accepted: number[] = [];
    try {
      const partition = await this.offsetsPartition(request.groupId);
      if (entries.length > OFFSET_COMMIT_PARTITIONS_MAX) throw new StrataError('INVALID_REQUEST', `${entries.length} partitions in one commit, limit ${OFFSET_COMMIT_PARTITIONS_MAX}.`);
      const { producerId, producerEpoch } = request;
      if (request.transactionalId.length === 0) throw new StrataError('INVALID_REQUEST', 'a transactional offset commit names its transactional id.');
      if (!Number.isSafeInteger(producerId) || producerId < 0 || !Number.isInteger(producerEpoch) || producerEpoch < 0 || producerEpoch > 32_767) {
        throw new StrataError('INVALID_REQUEST', `producer id ${producerId} with epoch ${producerEpoch}: give the id and epoch InitProducerId gave.`);
      }
      let checks: Array<StrataError | undefined> = entries.map(() => undefined);
      if (request.memberId !== '') {
        const group = this.groups.get(request.groupId);
        if (group === undefined) throw new StrataError('UNKNOWN_MEMBER_ID', `${request.memberId} in ${request.groupId}.`);
        checks = group.checkCommit(request.memberId, request.memberEpoch, entries);
      }
      entries.forEach((entry, i) => {
        const problem = checks[i] ?? commitProblem(entry);
        if (problem !== undefined) results[i] = errorResult(problem, logger, 'transactional commit');
        else accepted.push(i);
      });
      if (accepted.length > 0) {
        const commitTimestamp = this.clock();
        const records = offsetRecords(request.groupId, accepted.map((i) => entries[i]!), commitTimestamp);
        const batch = encodeBatch(records, { producerId, producerEpoch, baseSequence: -1, transactional: true });
        const appended = await partition.appendAsLeader(batch, -1, 0, 'coordinator');
        this.pendingTxn.add(
          partition.index,
          producerId,
          accepted.map((i, n) => {
            const { topic, partition: index, committedOffset, committedMetadata } = entries[i]!;
            return { groupId: request.groupId, topic, partition: index, committed: { offset: committedOffset, metadata: committedMetadata, commitTimestamp, logOffset: appended.baseOffset + n } };
          }),
        );
      }
    } catch (error) {
      const failed = errorResult(error, logger, 'transactional commit');
      entries.forEach((_, i) => {
        results[i] ??= failed;
      });
      return commitResponse(request, results, failed);
    }
    return commitResponse(request, results, undefined);
  }

  /**
   * A transaction marker of `producerId` is durable in offsets partition `offsetsPartition` (this
   * broker appended it as leader): its pending offsets there are applied (commit) or dropped (abort).
   */
  completeTransaction(offsetsPartition: number, producerId: number, commit: boolean): void {
    if (!this.led.has(offsetsPartition) && !this.partitions.partition(OFFSETS_TOPIC, offsetsPartition)?.isLeader) return;
    this.settlePending(offsetsPartition, producerId, commit);
  }

  private settlePending(offsetsPartition: number, producerId: number, commit: boolean): void {
    const pending = this.pendingTxn.take(offsetsPartition, producerId);
    if (!commit) return;
    for (const offset of pending) this.applyPending(offset);
  }

  private applyPending({ groupId, topic, partition, committed }: PendingTxnOffset): void {
    let group = this.groups.get(groupId);
    if (group === undefined) this.groups.set(groupId, (group = new ConsumerGroup(groupId)));
    group.applyOffset(topic, partition, committed, committed.logOffset);
  }

  async fetchOffsets(request: OffsetFetchRequest): Promise<OffsetFetchResponse> {
    try {
      await this.offsetsPartition(request.groupId);
    } catch (error) {
      const failed = errorResult(error, this.logger.child({ group: request.groupId }), 'offset fetch');
      return { errorCode: failed.errorCode, errorMessage: failed.errorMessage, topics: [] };
    }
    const group = this.groups.get(request.groupId);
    if (request.allTopics) return { errorCode: 0, errorMessage: '', topics: group === undefined ? [] : committedByTopic(group) };
    return {
      errorCode: 0,
      errorMessage: '',
      topics: request.topics.map(({ name, partitions }) => ({
        name,
        partitions: (partitions.length > 0 ? partitions : (group?.allCommitted() ?? []).filter((c) => c.topic === name).map((c) => c.partition))
          .map((partition) => committedOffset(group, name, partition)),
      })),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Administration

  /** Groups this broker coordinates that have members or committed offsets, by id. */
  listGroups(): ListedGroup[] {
    return [...this.groups.values()]
      .filter((group) => !group.isDead)
      .map((group) => ({ groupId: group.groupId, state: group.state, members: group.memberCount }))
      .sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }

  /** Lag of every live group (or of one), from the partitions this broker hosts (`group-lag.ts`). */
  lag(groupId?: string): GroupLag[] {
    const groups = groupId === undefined ? [...this.groups.values()] : [this.groups.get(groupId)].filter((g) => g !== undefined);
    return groups
      .filter((group) => !group.isDead)
      .map((group) => groupLag(group, this.partitions))
      .sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }

  async describeGroups(groupIds: readonly string[]): Promise<ConsumerGroupDescribeResponse> {
    const groups = await Promise.all(
      groupIds.map(async (groupId): Promise<DescribedGroup> => {
        const empty = { groupId, state: 'Dead', groupEpoch: -1, assignor: '', members: [], offsets: [] };
        try {
          await this.offsetsPartition(groupId);
          const group = this.groups.get(groupId);
          if (group === undefined || group.isDead) throw new StrataError('GROUP_ID_NOT_FOUND', `'${groupId}'.`);
          return {
            groupId,
            errorCode: 0,
            errorMessage: '',
            state: group.state,
            groupEpoch: group.groupEpoch,
            assignor: group.assignorName,
            members: group.describeMembers().map((m) => ({ ...m, assignment: toTopicPartitions(m.assignment), targetAssignment: toTopicPartitions(m.targetAssignment) })),
            offsets: committedByTopic(group),
          };
        } catch (error) {
          const failed = errorResult(error, this.logger.child({ group: groupId }), 'describe group');
          return { ...empty, errorCode: failed.errorCode, errorMessage: failed.errorMessage };
        }
      }),
    );
    return { groups };
  }

  async deleteGroups(groupIds: readonly string[]): Promise<DeleteGroupsResponse> {
    const results = await Promise.all(
      [...new Set(groupIds)].map(async (groupId) => {
        const logger = this.logger.child({ group: groupId });
        try {
          const partition = await this.offsetsPartition(groupId);
          const group = this.groups.get(groupId);
          if (group === undefined || group.isDead) throw new StrataError('GROUP_ID_NOT_FOUND', `'${groupId}'.`);
          if (group.memberCount > 0) throw new StrataError('NON_EMPTY_GROUP', `'${groupId}' has ${group.memberCount} members.`);
          const committed = group.allCommitted();
          if (committed.length > 0) {
            const timestamp = this.clock();
            const tombstones = committed.map(({ topic, partition: index }) => ({ ...encodeOffsetRecord({ groupId, topic, partition: index, committed: undefined }), timestamp }));
            const appended = await partition.appendAsLeader(encodeBatch(tombstones));
            committed.forEach(({ topic, partition: index }, n) => group.applyOffset(topic, index, undefined, appended.baseOffset + n));
          }
          if (group.isDead) this.groups.delete(groupId);
          logger.info({ offsets: committed.length }, 'group deleted');
          return { groupId, errorCode: 0, errorMessage: '' };
        } catch (error) {
          const failed = errorResult(error, logger, 'delete group');
          return { groupId, errorCode: failed.errorCode, errorMessage: failed.errorMessage };
        }
      }),
    );
    return { results };
  }

  // -------------------------------------------------------------------------------------------
  // Loading

  /**
   * A replica of an offsets partition became leader or stopped being it. A new leader loads once its
   * high watermark covers the log it was elected with (the committed offsets it must serve); until
   * then its groups answer COORDINATOR_LOAD_IN_PROGRESS. A replica that lost leadership drops its
   * groups (their members are told NOT_COORDINATOR and find the new one).
   */
  private leadershipChanged(partition: Partition): void {
    if (this.closed) return;
    if (!partition.isLeader) {
      if (this.led.delete(partition.index)) {
        this.dropGroupsOf(partition.index);
        partition.logger.info('no longer coordinating the groups of this offsets partition');
      }
      return;
    }
    if (this.led.has(partition.index)) return;
    this.led.add(partition.index);
    this.unloadable.delete(partition.index);
    this.dropGroupsOf(partition.index);
    this.loading.add(partition.index);
    const electedEnd = partition.logEndOffset;
    const caughtUp = (): boolean => partition.highWatermark >= electedEnd || !partition.isLeader || this.closed;
    void (async () => {
      const deadline = performance.now() + 30_000;
      while (!caughtUp() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      if (!partition.isLeader || this.closed) {
        this.loading.delete(partition.index);
        return;
      }
      await this.load(partition).catch(() => this.forgetLoaded(partition));
    })();
  }

  private dropGroupsOf(index: number): void {
    this.pendingTxn.dropPartition(index);
    const count = this.partitions.topic(OFFSETS_TOPIC)?.partitions;
    for (const groupId of this.groups.keys()) {
      if (count === undefined || offsetsPartitionFor(groupId, count) === index) this.groups.delete(groupId);
    }
  }

  /** A load of `partition` failed: the groups it applied in part are dropped, and its groups refused. */
  private forgetLoaded(partition: Partition): void {
    this.unloadable.add(partition.index);
    this.dropGroupsOf(partition.index);
  }

  /** Reads an offsets partition from its log start to its high watermark and applies its records. */
  private async load(partition: Partition): Promise<void> {
    this.loading.add(partition.index);
    const started = performance.now();
    let records = 0;
    let skipped = 0;
    try {
      let offset: number = partition.logStartOffset;
      while (offset < partition.highWatermark) {
        const { bytes, nextOffset } = await partition.read(offset, LOAD_READ_BYTES, true);
        if (nextOffset <= offset) break;
        for (const batch of decodeBatches(bytes)) {
          // Control batches: transaction markers settle pending offsets; leader-change ones (a
          // replicated partition's) carry nothing for groups.
          if ((batch.header.attributes & CONTROL_FLAG) !== 0) {
            const marker = markerOutcome(batch);
            if (marker !== undefined && batch.header.baseOffset >= offset) this.settlePending(partition.index, batch.header.producerId, marker === 'commit');
            continue;
          }
          const transactional = (batch.header.attributes & TRANSACTIONAL_FLAG) !== 0;
          for (const record of batch.records) {
            if (record.offset < offset) continue;
            try {
              const { groupId, topic, partition: index, committed } = decodeOffsetRecord(record.key, record.value);
              records++;
              if (transactional) {
                // A transactional commit: pending until its marker (below, or not yet written).
                if (committed !== undefined) this.pendingTxn.add(partition.index, batch.header.producerId, [{ groupId, topic, partition: index, committed: { ...committed, logOffset: record.offset } }]);
                continue;
              }
              let group = this.groups.get(groupId);
              if (group === undefined) this.groups.set(groupId, (group = new ConsumerGroup(groupId)));
              group.applyOffset(topic, index, committed === undefined ? undefined : { ...committed, logOffset: record.offset }, record.offset);
            } catch (error) {
              if (!(error instanceof OffsetRecordError)) throw error;
              skipped++;
              partition.logger.warn({ offset: record.offset, reason: error.message }, 'skipping a record that is not a committed offset');
            }
          }
        }
        offset = nextOffset;
      }
      for (const [groupId, group] of this.groups) if (group.isDead) this.groups.delete(groupId);
    } catch (error) {
      partition.logger.error({ ...errorFields(error), dir: partition.log.dir }, 'could not load committed offsets; its groups answer COORDINATOR_NOT_AVAILABLE until a restart');
      throw error;
    } finally {
      this.loading.delete(partition.index);
    }
    partition.logger.info({ records, skipped, groups: this.groups.size, openTransactions: this.pendingTxn.producersOf(partition.index).length, ms: Math.round(performance.now() - started) }, 'loaded committed offsets');
  }
}

/** 'commit' or 'abort' for a transaction marker batch; undefined for another control batch. */
function markerOutcome(batch: DecodedBatch): 'commit' | 'abort' | undefined {
  const key = batch.records[0]?.key;
  if (key === null || key === undefined || key.length < 4) return undefined;
  const type = key.readInt16BE(2);
  return type === TXN_COMMIT_CONTROL_TYPE ? 'commit' : type === TXN_ABORT_CONTROL_TYPE ? 'abort' : undefined;
}

function checkGroupId(groupId: string): void {
  if (groupId.length === 0 || groupId.length > GROUP_ID_MAX_CHARS) {
    throw new StrataError('INVALID_GROUP_ID', `got ${groupId.length} characters.`);
  }
}

/** The `__consumer_offsets` records of a group's commit of `entries` at `commitTimestamp`. */
function offsetRecords(groupId: string, entries: ReadonlyArray<{ topic: string; partition: number; committedOffset: number; committedMetadata: string }>, commitTimestamp: number): RecordInput[] {
  return entries.map(({ topic, partition, committedOffset, committedMetadata }) => ({
    ...encodeOffsetRecord({ groupId, topic, partition, committed: { offset: committedOffset, metadata: committedMetadata, commitTimestamp } }),
    timestamp: commitTimestamp,
  }));
}

function commitProblem(entry: { topic: string; committedOffset: number; committedMetadata: string }): StrataError | undefined {
  const nameProblem = topicNameProblem(entry.topic);
  if (nameProblem !== undefined) return new StrataError('INVALID_TOPIC_EXCEPTION', nameProblem);
  if (!Number.isSafeInteger(entry.committedOffset) || entry.committedOffset < 0) {
    return new StrataError('INVALID_REQUEST', `committed offset ${entry.committedOffset} of ${entry.topic}: offsets are >= 0.`);
  }
  if (Buffer.byteLength(entry.committedMetadata, 'utf8') > OFFSET_METADATA_MAX_BYTES) {
    return new StrataError('OFFSET_METADATA_TOO_LARGE', `limit ${OFFSET_METADATA_MAX_BYTES} bytes.`);
  }
  return undefined;
}

/** A partition's committed offset in the wire's shape: -1 (and no metadata) when there is none. */
function committedOffset(group: ConsumerGroup | undefined, topic: string, partition: number): CommittedPartitionOffset {
  const committed = group?.committed(topic, partition);
  return committed === undefined
    ? { partition, committedOffset: -1, metadata: '', commitTimestamp: -1 }
    : { partition, committedOffset: committed.offset, metadata: committed.metadata, commitTimestamp: committed.commitTimestamp };
}

/** Every committed offset of a group, by topic (sorted). */
function committedByTopic(group: ConsumerGroup): Array<{ name: string; partitions: CommittedPartitionOffset[] }> {
  const byTopic = new Map<string, CommittedPartitionOffset[]>();
  for (const c of group.allCommitted()) {
    const entry = { partition: c.partition, committedOffset: c.offset, metadata: c.metadata, commitTimestamp: c.commitTimestamp };
    const list = byTopic.get(c.topic);
    if (list === undefined) byTopic.set(c.topic, [entry]);
    else list.push(entry);
  }
  return [...byTopic].map(([name, partitions]) => ({ name, partitions }));
}

function heartbeatResponse(answer: HeartbeatAnswer): ConsumerGroupHeartbeatResponse {
  return {
    errorCode: 0,
    errorMessage: '',
    memberId: answer.memberId,
    memberEpoch: answer.memberEpoch,
    heartbeatIntervalMs: answer.heartbeatIntervalMs,
    sessionTimeoutMs: answer.sessionTimeoutMs,
    assignment: toTopicPartitions(answer.assignment),
  };
}

function heartbeatError(failed: ErrorResult): ConsumerGroupHeartbeatResponse {
  return { errorCode: failed.errorCode, errorMessage: failed.errorMessage, memberId: '', memberEpoch: -1, heartbeatIntervalMs: 0, sessionTimeoutMs: 0, assignment: [] };
}

function commitResponse(request: OffsetCommitRequest | TxnOffsetCommitRequest, results: ReadonlyArray<ErrorResult | undefined>, whole: ErrorResult | undefined): OffsetCommitResponse {
  let i = 0;
  return {
    errorCode: whole?.errorCode ?? 0,
    errorMessage: whole?.errorMessage ?? '',
    topics: request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map(({ partition }) => {
        const result = results[i++];
        return { partition, errorCode: result?.errorCode ?? 0, errorMessage: result?.errorMessage ?? '' };
      }),
    })),
  };
}

/** Sorted partitions grouped by topic, in the order they come. */
function groupByTopic(partitions: readonly TopicPartition[]): Array<{ name: string; partitions: number[] }> {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    const list = byTopic.get(topic);
    if (list === undefined) byTopic.set(topic, [partition]);
    else list.push(partition);
  }
  return [...byTopic].map(([name, list]) => ({ name, partitions: list }));
}

function toTopicPartitions(partitions: readonly TopicPartition[]): TopicPartitions[] {
  return groupByTopic(partitions).map(({ name, partitions: list }) => ({ topic: name, partitions: list }));
}
