/**
 * The admin client: topics, offsets and consumer groups. Topic changes go to the controller when the
 * metadata names one (any broker otherwise; Strata brokers forward or answer NOT_CONTROLLER, which is
 * retried after a metadata refresh). Offset queries go to each partition's leader.
 *
 * `createTopics` follows kafkajs: it resolves `true` when every topic was created, `false` when some
 * already existed (not an error), and rejects with the first other error; unless `validateOnly`, it
 * then waits until the metadata shows a leader for every new partition, so a producer created right
 * after it does not race the election.
 *
 * Group requests go to the group's coordinator, found with FindCoordinator and remembered per group
 * until it answers NOT_COORDINATOR (or COORDINATOR_NOT_AVAILABLE, or its connection fails); those and
 * COORDINATOR_LOAD_IN_PROGRESS are retried, after finding the coordinator again, under the client's
 * retry policy — the rules of `group-coordinator-client.ts`, which the group consumer follows too.
 * Every whole-request or per-group error code becomes a StrataError rejection.
 * `listGroups` asks every broker, since each lists only the groups it coordinates.
 *
 * Transactions (`listTransactions`, `describeTransactions`): `transaction-admin.ts`.
 *
 * Lag (`describeGroup`) is `logEndOffset - committedOffset`, where `logEndOffset` is what ListOffsets
 * answers for 'latest' at the partition's leader: the high watermark, the end of what a consumer can
 * read. For a partition with nothing committed it is `logEndOffset - logStartOffset`: everything still
 * in the log is unread. A partition whose offsets cannot be read any more (its topic was deleted)
 * shows `logEndOffset` and `lag` -1.
 */
import type { Cluster } from './cluster.js';
import type { PartitionInfo } from './cluster-metadata.js';
import { compareTopicPartitions, fromTopicPartitions, topicPartitionKey, type TopicPartition } from './topic-partitions.js';
import { GROUP_LANE, GroupCoordinatorClient } from './group-coordinator-client.js';
import {
  API_KEYS,
  ERRORS,
  errorByCode,
  LIST_OFFSETS_EARLIEST,
  LIST_OFFSETS_LATEST,
  StrataError,
  type ApiKey,
  type DescribedGroup,
  type ListedGroup,
  type ListOffsetsPartitionResult,
  type RequestOf,
  type ResponseOf,
} from './protocol/index.js';
import { sleep, withRetry } from './retry.js';
import { describeTransactions, listTransactions, type TransactionDescription, type TransactionListing } from './transaction-admin.js';

export interface ITopicConfig {
  topic: string;
  numPartitions: number;
  /**
   * Default -1: the broker's default, as Kafka's `default.replication.factor` (3 in a cluster of three
   * or more brokers, every broker in a smaller one, 1 on a standalone broker).
   */
  replicationFactor?: number;
  /** Kafka's names: `segment.bytes`, `retention.ms`, `cleanup.policy`, `flush.policy`... */
  configs?: { [name: string]: string };
}

export interface PartitionOffsets {
  partition: number;
  offset: number;
  /** The timestamp of the record at `offset` for a timestamp query; -1 otherwise or when none. */
  timestamp: number;
}

export interface PartitionDescription {
  partition: number;
  /** Node id of the leader; -1 when there is none. */
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  logStartOffset: number;
  highWatermark: number;
  logEndOffset: number;
}

export interface TopicDescription {
  name: string;
  partitions: PartitionDescription[];
  /** The configs the topic was created with (its overrides of the broker's defaults), by name. */
  configs: Record<string, string>;
}

/** One group as `listGroups` reports it. `state`: `Empty`, `Reconciling` or `Stable`. */
export type GroupListing = ListedGroup;

export interface GroupMemberDescription {
  memberId: string;
  clientId: string;
  clientHost: string;
  memberEpoch: number;
  subscribedTopics: string[];
  /** The partitions the member may own now, sorted. */
  assignment: TopicPartition[];
  /** What it will own once the group is stable (the same as `assignment` then). */
  targetAssignment: TopicPartition[];
}

export interface GroupPartitionLag {
  topic: string;
  partition: number;
  /** The member that owns the partition now, or null. */
  member: string | null;
  /** The next offset the group will read; -1 when it committed nothing for the partition. */
  committedOffset: number;
  /** The high watermark (ListOffsets 'latest'); -1 when it cannot be read (a deleted topic). */
  logEndOffset: number;
  /** `logEndOffset - committedOffset`, or `logEndOffset - logStartOffset` without a commit; -1 when unknown. */
  lag: number;
}

export interface GroupDescription {
  group: string;
  /** `Empty`, `Reconciling` or `Stable`. */
  state: string;
  /** The server-side assignor, `sticky` or `range` ('' for a group that never had a member). */
  assignor: string;
  members: GroupMemberDescription[];
  /** Every partition of every subscribed topic, and every partition with a committed offset; by topic, partition. */
  partitions: GroupPartitionLag[];
}

export interface GroupOffset {
  topic: string;
  partition: number;
  /** -1 when nothing is committed. */
  committedOffset: number;
  metadata: string;
  /** Milliseconds since the epoch; -1 with no commit. */
  commitTimestamp: number;
}

/** Where `resetOffsets` moves a group: the log start, the high watermark, an offset, or a time. */
export type ResetTarget = { earliest: true } | { latest: true } | { offset: number } | { timestamp: number };

export interface OffsetResetPlan {
  topic: string;
  partition: number;
  /** -1 when nothing was committed. */
  currentOffset: number;
  newOffset: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;


export class Admin {
  private readonly cluster: Cluster;
  /** The way to each group's coordinator, remembered while it answers. */
  private readonly coordinators = new Map<string, GroupCoordinatorClient>();
  private isClosed = false;

  constructor(cluster: Cluster) {
    this.cluster = cluster;
  }

  /**
   * A topic-change request to the controller, retried on retriable errors. A broker that is not the
   * controller answers each topic NOT_CONTROLLER (the controller moved, or the metadata is stale):
   * the metadata is refreshed and the request sent again, until the controller takes it or the
   * retries run out.
   */
  private async toController<K extends typeof API_KEYS.createTopics | typeof API_KEYS.deleteTopics>(apiKey: K, body: RequestOf<K>): Promise<ResponseOf<K>> {
    this.checkOpen();
    if (this.cluster.metadata.updatedMs === 0) await this.cluster.refreshMetadata([]);
    const retry = this.cluster.config.retry;
    for (let attempt = 0; ; attempt++) {
      const response = await this.sendToController(apiKey, body);
      const topics = (response as { topics: { errorCode: number }[] }).topics;
      const moved = topics.length > 0 && topics.every((t) => t.errorCode === ERRORS.NOT_CONTROLLER.code);
      if (!moved || attempt >= retry.retries) return response;
      await sleep(Math.min(retry.initialRetryTimeMs * 2 ** attempt, retry.maxRetryTimeMs));
      await this.cluster.refreshMetadata([]).catch(() => undefined);
    }
  }

  private async sendToController<K extends ApiKey>(apiKey: K, body: RequestOf<K>): Promise<ResponseOf<K>> {
    const controller = this.cluster.metadata.controllerId;
    if (controller >= 0 && this.cluster.metadata.brokers.has(controller)) {
      try {
        return await this.cluster.requestNode(controller, apiKey, body);
      } catch (error) {
        if (!(error instanceof StrataError) || !error.retriable) throw error;
      }
    }
    return this.cluster.requestAny(apiKey, body);
  }

  async createTopics(options: { topics: readonly ITopicConfig[]; validateOnly?: boolean; timeoutMs?: number; waitForLeaders?: boolean }): Promise<boolean> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const response = await this.toController(API_KEYS.createTopics, {
      topics: options.topics.map((t) => ({
        name: t.topic,
        partitions: t.numPartitions,
        replicationFactor: t.replicationFactor ?? -1,
        configs: { ...(t.configs ?? {}) },
      })),
      timeoutMs,
      validateOnly: options.validateOnly ?? false,
    });
    let allCreated = true;
    for (const result of response.topics) {
      if (result.errorCode === ERRORS.TOPIC_ALREADY_EXISTS.code) allCreated = false;
      else if (result.errorCode !== 0) throw topicError(result);
    }
    if (!(options.validateOnly ?? false) && (options.waitForLeaders ?? true)) {
      await this.waitForLeaders(options.topics.map((t) => t.topic), timeoutMs);
    }
    return allCreated;
  }

  private async waitForLeaders(topics: string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      await this.cluster.refreshMetadata(topics).catch(() => undefined);
      const ready = topics.every((topic) => {
        const info = this.cluster.metadata.topic(topic);
        return info !== undefined && info.partitions.length > 0 && info.partitions.every((p) => this.cluster.metadata.leaderOf(topic, p.partition) !== undefined);
      });
      if (ready) return;
      if (Date.now() >= deadline) throw new StrataError('LEADER_NOT_AVAILABLE', `No leader for every partition of ${topics.join(', ')} after ${timeoutMs} ms.`);
      await sleep(Math.min(50 * 2 ** attempt, 500));
    }
  }

  /** Deletes topics; rejects with the first error (UNKNOWN_TOPIC_OR_PARTITION for a missing one). */
  async deleteTopics(options: { topics: readonly string[]; timeoutMs?: number }): Promise<void> {
    const response = await this.toController(API_KEYS.deleteTopics, { topics: [...options.topics], timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS });
    for (const topic of options.topics) this.cluster.metadata.invalidate(topic);
    for (const result of response.topics) {
      if (result.errorCode !== 0) throw topicError(result);
    }
  }

  /** Every topic's name, sorted. */
  async listTopics(): Promise<string[]> {
    this.checkOpen();
    const response = await this.cluster.refreshMetadata();
    return response.topics.filter((t) => t.errorCode === 0).map((t) => t.name).sort();
  }

  /** A topic's own configs (DescribeConfigs). */
  private async topicConfigs(topic: string): Promise<Record<string, string>> {
    const response = await this.cluster.requestAny(API_KEYS.describeConfigs, { topics: [topic] });
    const answer = response.topics.find((t) => t.name === topic);
    if (answer === undefined) throw new StrataError('INVALID_RESPONSE', `DescribeConfigs left out topic '${topic}'.`);
    if (answer.errorCode !== 0) throw StrataError.fromCode(answer.errorCode, `Topic '${topic}': ${answer.errorMessage}`);
    return Object.fromEntries(answer.configs.map((c) => [c.name, c.value]));
  }

  /** Partitions with leader, replicas, isr and the log start / high watermark / log end offsets. */
  async describeTopics(options: { topics: readonly string[] }): Promise<{ topics: TopicDescription[] }> {
    this.checkOpen();
    const topics: TopicDescription[] = [];
    for (const name of options.topics) {
      this.cluster.metadata.invalidate(name);
      const info = await this.cluster.topicMetadata(name);
      const [earliest, latest, configs] = await Promise.all([
        this.partitionOffsets(name, info.partitions, LIST_OFFSETS_EARLIEST),
        this.partitionOffsets(name, info.partitions, LIST_OFFSETS_LATEST),
        this.topicConfigs(name),
      ]);
      const highWatermarks = await this.highWatermarks(name, info.partitions, latest);
      topics.push({
        name,
        partitions: info.partitions.map((p) => ({
          partition: p.partition,
          leader: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          replicas: [...p.replicas],
          isr: [...p.isr],
          logStartOffset: earliest.get(p.partition)?.offset ?? -1,
          highWatermark: highWatermarks.get(p.partition) ?? -1,
          logEndOffset: latest.get(p.partition)?.offset ?? -1,
        })),
        configs,
      });
    }
    return { topics };
  }

  /**
   * Each partition's offset for `timestamp`: 'earliest' (log start), 'latest' (default; the next
   * offset to be written as the broker reports it), or the first offset at or after a time in ms.
   */
  async listOffsets(options: { topic: string; timestamp?: 'earliest' | 'latest' | number }): Promise<PartitionOffsets[]> {
    this.checkOpen();
    const spec = options.timestamp ?? 'latest';
    const timestamp = spec === 'earliest' ? LIST_OFFSETS_EARLIEST : spec === 'latest' ? LIST_OFFSETS_LATEST : spec;
    const info = await this.cluster.topicMetadata(options.topic);
    const results = await this.partitionOffsets(options.topic, info.partitions, timestamp);
    return info.partitions.map((p) => {
      const r = results.get(p.partition)!;
      return { partition: p.partition, offset: r.offset, timestamp: r.timestamp };
    });
  }

  /** ListOffsets for every partition of a topic, each at its leader, retried after metadata refresh. */
  private async partitionOffsets(topic: string, partitions: readonly PartitionInfo[], timestamp: number): Promise<Map<number, ListOffsetsPartitionResult>> {
    const results = new Map<number, ListOffsetsPartitionResult>();
    await withRetry(
      async () => {
        const missing = partitions.filter((p) => !results.has(p.partition));
        const byLeader = new Map<number, number[]>();
        for (const p of missing) {
          const leader = this.cluster.metadata.leaderOf(topic, p.partition);
          if (leader === undefined) throw new StrataError('LEADER_NOT_AVAILABLE', `${topic}-${p.partition}.`);
          byLeader.set(leader, [...(byLeader.get(leader) ?? []), p.partition]);
        }
        let failure: StrataError | undefined;
        await Promise.all(
          [...byLeader].map(async ([nodeId, ids]) => {
            const response = await this.cluster.requestNode(nodeId, API_KEYS.listOffsets, {
              topics: [{ name: topic, partitions: ids.map((partition) => ({ partition, timestamp })) }],
            });
            for (const result of response.topics.find((t) => t.name === topic)?.partitions ?? []) {
              if (result.errorCode === 0) results.set(result.partition, result);
              else {
                this.cluster.onPartitionError(topic, result.partition, result.errorCode, result.leaderHint);
                failure ??= StrataError.fromCode(result.errorCode, `${topic}-${result.partition}.`);
              }
            }
          }),
        );
        if (failure !== undefined) throw failure;
        if (partitions.some((p) => !results.has(p.partition))) throw new StrataError('INVALID_RESPONSE', `ListOffsets left out partitions of ${topic}.`);
      },
      this.cluster.config.retry,
      async () => {
        await this.cluster.topicMetadata(topic);
      },
    );
    return results;
  }

  /** High watermarks, read from an empty Fetch at the latest offset (the response carries them). */
  private async highWatermarks(topic: string, partitions: readonly PartitionInfo[], latest: Map<number, ListOffsetsPartitionResult>): Promise<Map<number, number>> {
    const byLeader = new Map<number, number[]>();
    for (const p of partitions) {
      const leader = this.cluster.metadata.leaderOf(topic, p.partition);
      if (leader !== undefined) byLeader.set(leader, [...(byLeader.get(leader) ?? []), p.partition]);
    }
    const highWatermarks = new Map<number, number>();
    await Promise.all(
      [...byLeader].map(async ([nodeId, ids]) => {
        const response = await this.cluster.requestNode(nodeId, API_KEYS.fetch, {
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 1,
          topics: [{ name: topic, partitions: ids.map((partition) => ({ partition, fetchOffset: latest.get(partition)?.offset ?? 0, partitionMaxBytes: 1 })) }],
        });
        for (const result of response.topics.find((t) => t.name === topic)?.partitions ?? []) {
          if (result.errorCode === 0) highWatermarks.set(result.partition, result.highWatermark);
        }
      }),
    );
    return highWatermarks;
  }

  // -------------------------------------------------------------------------------------------
  // Consumer groups

  /** Every group of the cluster, each broker asked for those it coordinates; sorted by id. */
  async listGroups(): Promise<GroupListing[]> {
    this.checkOpen();
    await this.cluster.refreshMetadata([]);
    const nodeIds = [...this.cluster.metadata.brokers.keys()];
    const answers = await Promise.all(
      nodeIds.map((nodeId) =>
        withRetry(async () => {
          const response = await this.cluster.requestNode(nodeId, API_KEYS.listGroups, {});
          if (response.errorCode !== 0) throw groupError(undefined, response.errorCode, response.errorMessage);
          return response.groups;
        }, this.cluster.config.retry),
      ),
    );
    // While a coordinator moves, two brokers may both list a group: keep the first answer.
    const byId = new Map<string, GroupListing>();
    for (const group of answers.flat()) if (!byId.has(group.groupId)) byId.set(group.groupId, { ...group });
    return [...byId.values()].sort((a, b) => compareStrings(a.groupId, b.groupId));
  }

  /** Members, assignment, committed offsets and lag of one group (GROUP_ID_NOT_FOUND if unknown). */
  async describeGroup(groupId: string): Promise<GroupDescription> {
    this.checkOpen();
    const response = await this.toCoordinator(groupId, API_KEYS.consumerGroupDescribe, { groupIds: [groupId] }, (r) => {
      const group = r.groups.find((g) => g.groupId === groupId);
      return group ?? { errorCode: ERRORS.INVALID_RESPONSE.code, errorMessage: `The answer left out group '${groupId}'.` };
    });
    const described = response.groups.find((g) => g.groupId === groupId)!;
    return this.withLag(described);
  }

  /** `describeGroup` for each id, in the order given; rejects with the first failure. */
  describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    return Promise.all(groupIds.map((groupId) => this.describeGroup(groupId)));
  }

  /**
   * Deletes groups and their committed offsets. Each must be empty (NON_EMPTY_GROUP) and known
   * (GROUP_ID_NOT_FOUND); every group is tried, then the first failure rejects.
   */
  async deleteGroups(groupIds: readonly string[]): Promise<void> {
    this.checkOpen();
    const results = await Promise.allSettled(
      groupIds.map((groupId) =>
        this.toCoordinator(groupId, API_KEYS.deleteGroups, { groupIds: [groupId] }, (r) => {
          const result = r.results.find((g) => g.groupId === groupId);
          return result ?? { errorCode: ERRORS.INVALID_RESPONSE.code, errorMessage: `The answer left out group '${groupId}'.` };
        }),
      ),
    );
    for (const result of results) if (result.status === 'rejected') throw result.reason;
  }

  /**
   * A group's committed offsets: for `topics`, every partition of each (-1 where nothing is
   * committed); without, every partition the group committed. Sorted by topic, partition.
   */
  async fetchOffsets(options: { groupId: string; topics?: readonly string[] }): Promise<GroupOffset[]> {
    this.checkOpen();
    const { groupId } = options;
    let request: RequestOf<typeof API_KEYS.offsetFetch>;
    if (options.topics === undefined) request = { groupId, topics: [], allTopics: true };
    else {
      const topics = await Promise.all(options.topics.map((topic) => this.cluster.topicMetadata(topic)));
      request = { groupId, topics: topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partition) })), allTopics: false };
    }
    const response = await this.toCoordinator(groupId, API_KEYS.offsetFetch, request, (r) => r);
    const offsets: GroupOffset[] = [];
    for (const topic of response.topics) {
      for (const p of topic.partitions) {
        offsets.push({ topic: topic.name, partition: p.partition, committedOffset: p.committedOffset, metadata: p.metadata, commitTimestamp: p.commitTimestamp });
      }
    }
    return offsets.sort(compareTopicPartitions);
  }

  /**
   * Moves a group's committed offsets for every partition of `topic`: to the log start (`earliest`),
   * the high watermark (`latest`), an offset (kept within [log start, high watermark], as Kafka's
   * tool does), or the first record at or after a time (the high watermark when there is none).
   * Resolves with the plan; with `execute` it first commits it, from outside the group (member ''
   * and epoch -1), which the coordinator accepts only while the group has no members: otherwise the
   * promise rejects with NON_EMPTY_GROUP and nothing changes.
   */
  async resetOffsets(options: { groupId: string; topic: string; to: ResetTarget; execute: boolean }): Promise<OffsetResetPlan[]> {
    this.checkOpen();
    const { groupId, topic, to } = options;
    if ('offset' in to && (!Number.isSafeInteger(to.offset) || to.offset < 0)) throw new RangeError(`resetOffsets: offset must be an integer >= 0, got ${String(to.offset)}`);
    if ('timestamp' in to && (!Number.isSafeInteger(to.timestamp) || to.timestamp < 0)) throw new RangeError(`resetOffsets: timestamp must be milliseconds >= 0, got ${String(to.timestamp)}`);
    const info = await this.cluster.topicMetadata(topic);
    const [current, newOffsets] = await Promise.all([this.fetchOffsets({ groupId, topics: [topic] }), this.resetTargetOffsets(topic, info.partitions, to)]);
    const plan = info.partitions.map((p) => ({
      topic,
      partition: p.partition,
      currentOffset: current.find((o) => o.partition === p.partition)?.committedOffset ?? -1,
      newOffset: newOffsets.get(p.partition)!,
    }));
    if (options.execute) {
      const response = await this.toCoordinator(
        groupId,
        API_KEYS.offsetCommit,
        { groupId, memberId: '', memberEpoch: -1, topics: [{ name: topic, partitions: plan.map((p) => ({ partition: p.partition, committedOffset: p.newOffset, committedMetadata: '' })) }] },
        (r) => r,
      );
      for (const t of response.topics) {
        for (const p of t.partitions) {
          if (p.errorCode !== 0) throw groupError(groupId, p.errorCode, p.errorMessage, ` ${t.name}-${p.partition}`);
        }
      }
    }
    return plan;
  }

  /** Each partition's new offset for a reset. */
  private async resetTargetOffsets(topic: string, partitions: readonly PartitionInfo[], to: ResetTarget): Promise<Map<number, number>> {
    if ('timestamp' in to) {
      const found = await this.partitionOffsets(topic, partitions, to.timestamp);
      return new Map([...found].map(([partition, r]) => [partition, r.offset]));
    }
    const [earliest, latest] = await Promise.all([
      this.partitionOffsets(topic, partitions, LIST_OFFSETS_EARLIEST),
      this.partitionOffsets(topic, partitions, LIST_OFFSETS_LATEST),
    ]);
    const offsets = new Map<number, number>();
    for (const p of partitions) {
      const start = earliest.get(p.partition)!.offset;
      const end = latest.get(p.partition)!.offset;
      offsets.set(p.partition, 'earliest' in to ? start : 'latest' in to ? end : Math.min(end, Math.max(start, to.offset)));
    }
    return offsets;
  }

  /** A described group with each partition's owner, committed offset, log end offset and lag. */
  private async withLag(group: DescribedGroup): Promise<GroupDescription> {
    const members: GroupMemberDescription[] = group.members.map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      memberEpoch: m.memberEpoch,
      subscribedTopics: [...m.subscribedTopicNames].sort(compareStrings),
      assignment: fromTopicPartitions(m.assignment).sort(compareTopicPartitions),
      targetAssignment: fromTopicPartitions(m.targetAssignment).sort(compareTopicPartitions),
    }));
    const owners = new Map<string, string>();
    for (const m of members) for (const tp of m.assignment) owners.set(topicPartitionKey(tp.topic, tp.partition), m.memberId);
    const committed = new Map<string, number>();
    for (const t of group.offsets) for (const p of t.partitions) if (p.committedOffset >= 0) committed.set(topicPartitionKey(t.name, p.partition), p.committedOffset);

    // The partitions to show: all of each subscribed topic, and every committed one.
    const subscribed = new Set(members.flatMap((m) => m.subscribedTopics));
    const topics = [...new Set([...subscribed, ...group.offsets.map((t) => t.name)])].sort(compareStrings);
    const wanted = new Map<string, Set<number>>(topics.map((t) => [t, new Set<number>()]));
    for (const t of group.offsets) for (const p of t.partitions) if (p.committedOffset >= 0) wanted.get(t.name)!.add(p.partition);
    if (topics.length > 0) await this.cluster.refreshMetadata(topics);
    const ends = new Map<string, { logStartOffset: number; logEndOffset: number }>();
    await Promise.all(
      topics.map(async (topic) => {
        const info = this.cluster.metadata.topic(topic);
        // A subscribed topic that does not exist has no partitions; a deleted one keeps its commits, without offsets.
        if (info === undefined) return;
        if (subscribed.has(topic)) for (const p of info.partitions) wanted.get(topic)!.add(p.partition);
        const [earliest, latest] = await Promise.all([
          this.partitionOffsets(topic, info.partitions, LIST_OFFSETS_EARLIEST),
          this.partitionOffsets(topic, info.partitions, LIST_OFFSETS_LATEST),
        ]);
        for (const p of info.partitions) {
          ends.set(topicPartitionKey(topic, p.partition), { logStartOffset: earliest.get(p.partition)!.offset, logEndOffset: latest.get(p.partition)!.offset });
        }
      }),
    );
    const partitions: GroupPartitionLag[] = [];
    for (const topic of topics) {
      for (const partition of [...wanted.get(topic)!].sort((a, b) => a - b)) {
        const key = topicPartitionKey(topic, partition);
        const committedOffset = committed.get(key) ?? -1;
        const end = ends.get(key);
        const lag = end === undefined ? -1 : end.logEndOffset - (committedOffset >= 0 ? committedOffset : end.logStartOffset);
        partitions.push({ topic, partition, member: owners.get(key) ?? null, committedOffset, logEndOffset: end?.logEndOffset ?? -1, lag });
      }
    }
    return { group: group.groupId, state: group.state, assignor: group.assignor, members, partitions };
  }

  /**
   * Sends a group request to the group's coordinator and checks the answer's error (`errorOf`
   * picks the whole-request or this group's result). Retriable errors are retried under the
   * client's policy, the coordinator looked up again when the error says it moved
   * (`group-coordinator-client.ts`, shared with the group consumer).
   */
  private toCoordinator<K extends ApiKey>(
    groupId: string,
    apiKey: K,
    body: RequestOf<K>,
    errorOf: (response: ResponseOf<K>) => { errorCode: number; errorMessage: string },
  ): Promise<ResponseOf<K>> {
    let coordinator = this.coordinators.get(groupId);
    if (coordinator === undefined) {
      coordinator = new GroupCoordinatorClient(this.cluster, groupId);
      this.coordinators.set(groupId, coordinator);
    }
    const to = coordinator;
    return to.withCoordinatorRetry(async () => {
      const connection = await to.connection(GROUP_LANE);
      const response = await connection.request(apiKey, body);
      const { errorCode, errorMessage } = errorOf(response);
      if (errorCode !== 0) throw groupError(groupId, errorCode, errorMessage);
      return response;
    });
  }

  // -------------------------------------------------------------------------------------------
  // Transactions

  /** Every transactional id (optionally only those in `states`, Kafka's state names), each broker asked for those it coordinates; by id. */
  listTransactions(options: { states?: readonly string[] } = {}): Promise<TransactionListing[]> {
    this.checkOpen();
    return listTransactions(this.cluster, options);
  }

  /** State, epoch, timeout, partitions and start of each id's transaction, from its coordinator (TRANSACTIONAL_ID_NOT_FOUND if unknown). */
  async describeTransactions(transactionalIds: readonly string[]): Promise<TransactionDescription[]> {
    this.checkOpen();
    return describeTransactions(this.cluster, transactionalIds);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.coordinators.clear();
    this.cluster.release(this);
  }

  private checkOpen(): void {
    if (this.isClosed) throw new StrataError('NETWORK_EXCEPTION', 'The admin client is closed.');
  }
}

/**
 * The error for a topic's result. The broker's message already opens with the code's generic text,
 * which StrataError adds too: keep it once.
 */
function topicError(result: { name: string; errorCode: number; errorMessage: string }): StrataError {
  const generic = errorByCode(result.errorCode)?.message ?? '';
  const detail = result.errorMessage.startsWith(generic) ? result.errorMessage.slice(generic.length).trim() : result.errorMessage;
  if (detail === '') return StrataError.fromCode(result.errorCode, `Topic '${result.name}'.`);
  // The topic named once: the broker's detail usually quotes it already.
  return StrataError.fromCode(result.errorCode, detail.includes(`'${result.name}'`) ? detail : `Topic '${result.name}': ${detail}`);
}

/**
 * The error for a group request's code: the generic text once (the broker's message repeats it), and
 * the group named once — the broker's detail usually quotes it already.
 */
function groupError(groupId: string | undefined, code: number, message: string, where = ''): StrataError {
  const generic = errorByCode(code)?.message ?? '';
  const detail = message.startsWith(generic) ? message.slice(generic.length).trim() : message.trim();
  if (groupId === undefined) return StrataError.fromCode(code, detail === '' ? undefined : detail);
  const subject = `Group '${groupId}'${where}`;
  if (detail === '') return StrataError.fromCode(code, `${subject}.`);
  if (where === '' && detail.includes(`'${groupId}'`)) return StrataError.fromCode(code, detail.replace(`'${groupId}'`, subject));
  return StrataError.fromCode(code, `${subject}: ${detail}`);
}

/** Code-unit order, the same on every machine (no locale). */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
