/**
 * The partitions this broker hosts: one `Log` per partition under `<dataDir>/<topic>-<partition>/`,
 * topic creation and deletion, the periodic retention/compaction task, and the notifications that
 * wake long-poll fetches when a high watermark moves.
 *
 * On disk, next to the log's own files, each partition directory holds `partition.metadata`
 * (`{"version":1,"topic","partition","topicId"}`, Kafka's file of the same name): a directory whose
 * topic id is not the topic's current one is the remains of an older topic of the same name and is
 * replaced by an empty log.
 *
 * Crash safety of topic changes rests on `topics.json` (`topic-store.ts`) being the commit point:
 * - create: commit the topic, then open its logs (a crash in between opens them empty on restart);
 * - delete: commit the removal, then close the logs and remove the directories (a crash in between
 *   leaves directories no topic owns; `open` removes them, recognising them by `partition.metadata`).
 * A data dir holding partition directories but no `topics.json` is refused rather than emptied.
 *
 * Concurrency: one thread; topic changes run one at a time (a promise chain), so a create and a
 * delete of the same name never interleave across their awaits. Appends and reads never wait for
 * that chain.
 */
import fs from 'node:fs';
import path from 'node:path';
import { asEpoch, fsyncDirectory, Log, replaceFileAtomically, type LogConfig } from '../log/index.js';
import { StrataError } from '../client/protocol/index.js';
import { isInternalTopic } from './internal-topics.js';
import { MAX_PARTITIONS_PER_TOPIC, MAX_TOPICS } from './limits.js';
import type { BrokerStats } from './broker-stats.js';
import { errorFields, partitionLogger, topicLogger, type Logger } from './logger.js';
import type { RaftHost, RandomSource } from '../replication/index.js';
import { RaftGroup } from './cluster/raft-group.js';
import { Partition } from './partition.js';
import { parseTopicConfigs, toLogConfig, type TopicConfigs } from './topic-config.js';
import { topicNameProblem } from './topic-name.js';
import { TopicStore, type TopicMetadata } from './topic-store.js';

export const PARTITION_METADATA_FILE = 'partition.metadata';
/** How long a closing broker waits for each partition it leads to change leader. */
const HAND_OFF_MS = 2000;

/** What the long-poll machinery (and later metrics) hears about partitions. */
export interface PartitionListener {
  /** The high watermark of `partition` moved; about `visibleBytes` became readable. */
  highWatermarkAdvanced(partition: Partition, visibleBytes: number): void;
  /** The partition's topic was deleted; anything waiting on it should answer now. */
  partitionRemoved(partition: Partition): void;
  /** In a cluster: this replica became leader, or stopped being it, or learned of a new leader. */
  leadershipChanged?(partition: Partition): void;
}

export interface PartitionManagerOptions {
  readonly dataDir: string;
  readonly nodeId: number;
  readonly defaultTopicConfigs: TopicConfigs;
  readonly logger: Logger;
  readonly clock?: () => number;
  /** Where fsync times and the partitions' Raft events are counted. */
  readonly stats: BrokerStats;
}

/**
 * In a cluster, topics are decided by the controller and every partition is a Raft group: the
 * manager opens the replicas the metadata image assigns to this broker (`applyTopics`) and sends
 * topic changes to the controller.
 */
export interface ClusterReplication {
  readonly host: RaftHost;
  readonly random: RandomSource;
  createTopic(request: CreateTopicRequest, validateOnly: boolean): Promise<TopicMetadata>;
  deleteTopic(name: string): Promise<void>;
}

/** A topic as the cluster metadata holds it: its replicas per partition. */
export interface ClusterTopic extends TopicMetadata {
  readonly replicas: readonly (readonly number[])[];
}

export interface CreateTopicRequest {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly configs: Readonly<Record<string, string>>;
}

export class PartitionManager {
  readonly dataDir: string;
  readonly nodeId: number;
  private readonly defaults: TopicConfigs;
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly stats: BrokerStats;
  /** Standalone: `topics.json`. */
  private readonly store: TopicStore | undefined;
  /** In a cluster: the controller, the Raft host, and every topic of the cluster as last applied. */
  private readonly cluster: ClusterReplication | undefined;
  private clusterTopics = new Map<string, ClusterTopic>();
  private readonly partitionsByTopic = new Map<string, Partition[]>();
  private readonly listeners = new Set<PartitionListener>();
  private adminChain: Promise<unknown> = Promise.resolve();
  private cleanupTimer: NodeJS.Timeout | undefined;
  private cleanupRun: Promise<void> | undefined;
  private closed = false;

  private constructor(options: PartitionManagerOptions, store: TopicStore | undefined, cluster?: ClusterReplication) {
    this.cluster = cluster;
    this.dataDir = options.dataDir;
    this.nodeId = options.nodeId;
    this.defaults = options.defaultTopicConfigs;
    this.logger = options.logger;
    this.clock = options.clock ?? Date.now;
    this.stats = options.stats;
    this.store = store;
  }

  /** Loads `topics.json`, removes leftovers of committed deletions and opens every partition's log. */
  static async open(options: PartitionManagerOptions): Promise<PartitionManager> {
    const store = TopicStore.load(options.dataDir);
    const manager = new PartitionManager(options, store);
    manager.sweepOrphans();
    try {
      for (const topic of store.list()) await manager.openTopic(topic);
    } catch (error) {
      await manager.close();
      throw error;
    }
    return manager;
  }

  /**
   * A cluster member's manager: no `topics.json`; partitions open as `applyTopics` assigns them.
   * Nothing is swept at startup: the metadata image may still be catching up, and a directory it
   * does not name yet may hold committed records. Directories go only with an applied deletion.
   */
  static openClustered(options: PartitionManagerOptions, cluster: ClusterReplication): PartitionManager {
    if (fs.existsSync(path.join(options.dataDir, 'topics.json'))) {
      throw new Error(`${options.dataDir} holds a standalone broker's topics.json; a cluster member cannot take it over yet (start it without --peers, or use a new data dir)`);
    }
    return new PartitionManager(options, undefined, cluster);
  }

  get clustered(): boolean {
    return this.cluster !== undefined;
  }

  /**
   * Makes the hosted replicas match the cluster's topics: opens the partitions assigned to this
   * broker, removes the topics that were deleted (or re-created with a new id). Serialized with
   * other topic changes.
   */
  applyTopics(topics: readonly ClusterTopic[]): Promise<void> {
    return this.serialize(async () => {
      const next = new Map(topics.map((t) => [t.name, t]));
      for (const [name, local] of this.clusterTopics) {
        const now = next.get(name);
        if (now === undefined || now.topicId !== local.topicId) {
          await this.removeTopicFiles(name);
          topicLogger(this.logger, name).info({ topicId: local.topicId }, 'topic deleted');
        }
      }
      for (const topic of topics) {
        const known = this.clusterTopics.get(topic.name);
        this.clusterTopics.set(topic.name, topic);
        if (known?.topicId === topic.topicId) continue;
        await this.openTopic(topic);
        topicLogger(this.logger, topic.name).info({ topicId: topic.topicId, partitions: topic.partitions, replicas: topic.replicas }, 'topic opened');
      }
      this.clusterTopics = next;
    });
  }

  subscribe(listener: PartitionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  topics(): TopicMetadata[] {
    return this.store?.list() ?? [...this.clusterTopics.values()];
  }

  topic(name: string): TopicMetadata | undefined {
    return this.store?.get(name) ?? this.clusterTopics.get(name);
  }

  /** In a cluster: the replicas of each partition of `name`. */
  replicasOf(name: string): readonly (readonly number[])[] | undefined {
    return this.clusterTopics.get(name)?.replicas;
  }

  partitionsOf(topic: string): readonly Partition[] {
    return this.partitionsByTopic.get(topic) ?? [];
  }

  /** The partition, or undefined if this broker does not host it. */
  partition(topic: string, index: number): Partition | undefined {
    const partitions = this.partitionsByTopic.get(topic);
    const partition = partitions?.[index];
    // In a cluster a broker hosts only some partitions of a topic: the list is not indexed by partition.
    return partition?.index === index ? partition : partitions?.find((p) => p.index === index);
  }

  /** Like `partition`, but throws UNKNOWN_TOPIC_OR_PARTITION. */
  requirePartition(topic: string, index: number): Partition {
    const partition = this.partition(topic, index);
    if (partition === undefined) throw new StrataError('UNKNOWN_TOPIC_OR_PARTITION', `${topic}-${index}`);
    return partition;
  }

  allPartitions(): Partition[] {
    return [...this.partitionsByTopic.values()].flat();
  }

  /**
   * Checks a topic creation (name, partitions, replication factor 1 on this single node, configs,
   * that it does not exist) and, unless `validateOnly`, creates it durably and opens its logs.
   * Internal topics (`internal-topics.ts`) are created only by the broker itself (`internal`).
   * Throws StrataError with the code to answer.
   */
  createTopic(request: CreateTopicRequest, validateOnly = false, internal = false): Promise<TopicMetadata> {
    if (this.cluster !== undefined) return this.cluster.createTopic(request, validateOnly);
    const store = this.store as TopicStore;
    return this.serialize(async () => {
      if (isInternalTopic(request.name) && !internal) {
        throw new StrataError('INVALID_REQUEST', `'${request.name}' is an internal topic; the broker creates it when it is first needed`);
      }
      const topic = this.checkCreate(store, request);
      if (validateOnly) return topic;
      store.put(topic);
      try {
        await this.openTopic(topic);
      } catch (error) {
        // The logs could not be opened (disk): undo the commit so the topic does not half-exist.
        this.logger.error({ ...errorFields(error), topic: topic.name }, 'could not open the logs of a new topic; rolling back');
        await this.removeTopicFiles(topic.name);
        throw new StrataError('KAFKA_STORAGE_ERROR', `creating ${topic.name}: ${(error as Error).message}`, { cause: error });
      }
      topicLogger(this.logger, topic.name).info({ topicId: topic.topicId, partitions: topic.partitions, configs: topic.configs }, 'topic created');
      return topic;
    });
  }

  /** Deletes a topic: durably forgets it, closes its logs and removes its directories. */
  deleteTopic(name: string): Promise<void> {
    if (isInternalTopic(name)) return Promise.reject(new StrataError('INVALID_REQUEST', `'${name}' is an internal topic and cannot be deleted`));
    if (this.cluster !== undefined) return this.cluster.deleteTopic(name);
    return this.serialize(async () => {
      if (this.topic(name) === undefined) throw new StrataError('UNKNOWN_TOPIC_OR_PARTITION', `topic '${name}' does not exist`);
      await this.removeTopicFiles(name);
      topicLogger(this.logger, name).info('topic deleted');
    });
  }

  /** Starts the periodic retention and compaction task. Nothing it meets ends the process. */
  startCleanup(intervalMs: number): void {
    if (this.cleanupTimer !== undefined) return;
    this.cleanupTimer = setInterval(() => {
      if (this.cleanupRun !== undefined) return;
      this.cleanupRun = this.runCleanup()
        .catch((error: unknown) => this.logger.error(errorFields(error), 'log cleanup pass failed'))
        .then(() => {
          this.cleanupRun = undefined;
        });
    }, intervalMs);
    this.cleanupTimer.unref();
  }

  /**
   * One pass of producer id expiry, retention (age, size) and, for compacted topics, compaction over every partition,
   * never at or above the high watermark. Failures are logged per partition; the pass goes on.
   * Failed partitions (a storage failure, reported when it happened) are skipped. A compaction
   * failure leaves the log uncleanable, which the log itself remembers: it is logged here once,
   * and later passes only apply retention to that partition.
   */
  async runCleanup(): Promise<void> {
    for (const partition of this.allPartitions()) {
      if (this.closed || partition.isRemoved || partition.isFailed) continue;
      try {
        const expired = partition.log.removeExpiredProducers();
        if (expired > 0) partition.logger.info({ event: 'producers_expired', producers: expired }, 'idle producer ids expired');
        const retention = await partition.log.enforceRetention(partition.highWatermark);
        if (retention.deleted > 0) {
          partition.logger.info({ event: 'retention_deleted', segments: retention.deleted, reasons: retention.reasons, logStartOffset: partition.logStartOffset }, 'retention deleted segments');
        }
        // A replica does not compact yet: a follower catching up copies the leader's batches with their
        // offsets, and compaction removes whole batches, leaving gaps a follower's log refuses.
        if (partition.log.config.cleanupPolicy.includes('compact') && partition.replica === undefined) {
          const compaction = await partition.log.compact(partition.highWatermark);
          partition.logger.debug({ compaction }, 'compaction pass');
        }
      } catch (error) {
        if (partition.isRemoved || this.closed) continue;
        const uncleanable = partition.log.uncleanable;
        if (uncleanable !== undefined && uncleanable.error === error) {
          partition.logger.error({ ...errorFields(error), dir: partition.log.dir, segment: uncleanable.segment },
            'compaction failed; the log is uncleanable until the broker restarts (reads, appends and retention go on)');
        } else if (error !== partition.log.storageFailure) {
          partition.logger.error({ ...errorFields(error), dir: partition.log.dir }, 'log cleanup failed');
        }
      }
    }
  }

  /**
   * Graceful shutdown's first step in a cluster: every partition this broker leads is handed to a
   * caught-up follower, so producers find a new leader at once instead of after an election timeout.
   * Runs while the broker still serves (the new leader's messages must reach us).
   */
  async handOffLeadership(): Promise<void> {
    await Promise.allSettled(this.allPartitions().map((p) => p.replica?.handOff(HAND_OFF_MS)));
  }

  /** Stops the cleanup task, waits for topic changes, then closes every log (clean-shutdown markers). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.cleanupTimer !== undefined) clearInterval(this.cleanupTimer);
    await this.adminChain.catch(() => undefined);
    await this.cleanupRun;
    const partitions = this.allPartitions();
    this.partitionsByTopic.clear();
    const results = await Promise.allSettled(
      partitions.map(async (p) => {
        await p.replica?.close();
        await p.log.close();
      }),
    );
    results.forEach((result, i) => {
      if (result.status === 'rejected') (partitions[i] as Partition).logger.error(errorFields(result.reason), 'log close failed');
    });
  }

  private serialize<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StrataError('BROKER_SHUTTING_DOWN'));
    const run = this.adminChain.then(work, work);
    this.adminChain = run.catch(() => undefined);
    return run;
  }

  private checkCreate(store: TopicStore, request: CreateTopicRequest): TopicMetadata {
    const problem = topicNameProblem(request.name);
    if (problem !== undefined) throw new StrataError('INVALID_TOPIC_EXCEPTION', problem);
    if (!Number.isSafeInteger(request.partitions) || request.partitions < 1 || request.partitions > MAX_PARTITIONS_PER_TOPIC) {
      throw new StrataError('INVALID_PARTITIONS', `partitions must be from 1 to ${MAX_PARTITIONS_PER_TOPIC}, got ${request.partitions}`);
    }
    // -1 asks for the broker's default, which on a broker of its own is 1.
    if (request.replicationFactor !== 1 && request.replicationFactor !== -1) {
      throw new StrataError('INVALID_REPLICATION_FACTOR', `replication factor must be 1 on this single-node broker, got ${request.replicationFactor}`);
    }
    if (store.get(request.name) !== undefined) throw new StrataError('TOPIC_ALREADY_EXISTS', `topic '${request.name}' already exists`);
    if (store.size >= MAX_TOPICS) throw new StrataError('INVALID_REQUEST', `the broker holds its limit of ${MAX_TOPICS} topics`);
    // Both throw INVALID_CONFIG naming the key: unknown keys and non-strings, then values and ranges.
    const configs = parseTopicConfigs(request.configs);
    toLogConfig(configs, this.defaults);
    return TopicStore.newTopic(request.name, request.partitions, configs, this.clock());
  }

  private async openTopic(topic: TopicMetadata | ClusterTopic): Promise<void> {
    const config = toLogConfig(topic.configs, this.defaults);
    const partitions: Partition[] = [];
    this.partitionsByTopic.set(topic.name, partitions);
    for (let index = 0; index < topic.partitions; index++) {
      const replicas = 'replicas' in topic ? topic.replicas[index] : undefined;
      if (replicas !== undefined && !replicas.includes(this.nodeId)) continue;
      partitions.push(await this.openPartition(topic, index, config, replicas));
    }
  }

  private async openPartition(topic: TopicMetadata, index: number, config: LogConfig, replicas: readonly number[] | undefined): Promise<Partition> {
    const dir = this.partitionDir(topic.name, index);
    const logger = partitionLogger(this.logger, topic.name, index);
    const recorded = readPartitionMetadata(dir);
    if (recorded !== undefined && recorded.topicId !== topic.topicId) {
      logger.warn({ dir, staleTopicId: recorded.topicId, topicId: topic.topicId }, 'removing the directory of an older topic of the same name');
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const log = await Log.open(dir, config, {
      clock: this.clock,
      events: {
        segmentRolled: (roll) => logger.info({ event: 'segment_rolled', ...roll }, 'segment rolled'),
        flushed: (ms) => this.stats.fsyncDurations.observe(ms / 1000),
      },
      // Once, when it happens: from then on produce answers KAFKA_STORAGE_ERROR without logging again.
      onFailure: (error) => logger.error({ ...errorFields(error), dir }, 'partition failed: storage error; produce answers KAFKA_STORAGE_ERROR until the broker restarts'),
    });
    if (recorded?.topicId !== topic.topicId) writePartitionMetadata(dir, topic, index);
    if (!log.recovery.clean && log.recovery.segmentsScanned > 0) {
      const { segmentsScanned, bytesScanned, bytesTruncated, segmentsDeleted, reason } = log.recovery;
      logger.warn({ event: 'log_recovered', reason, segmentsScanned, bytesScanned, bytesTruncated, segmentsDeleted, logEndOffset: log.logEndOffset }, 'log recovered after an unclean stop');
    }
    logger.debug({ logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset }, 'partition opened');
    const notify = (partition: Partition, bytes: number): void => {
      for (const listener of this.listeners) listener.highWatermarkAdvanced(partition, bytes);
    };
    let partition: Partition | undefined;
    const replica =
      this.cluster === undefined || replicas === undefined
        ? undefined
        : await RaftGroup.open({
            group: `${topic.name}-${index}`,
            log,
            nodeId: this.nodeId,
            voters: replicas,
            host: this.cluster.host,
            random: this.cluster.random,
            logger,
            clock: this.clock,
            stats: this.stats,
            kind: 'partition',
            onCommitted: (from, to) => partition?.advanceHighWatermark(to, Math.max(1, to - from)),
            onLeadership: () => {
              if (partition !== undefined) for (const listener of this.listeners) listener.leadershipChanged?.(partition);
            },
          });
    partition = new Partition({
      topic: topic.name,
      index,
      topicId: topic.topicId,
      log,
      localNodeId: this.nodeId,
      leadership: { leaderId: this.nodeId, leaderEpoch: asEpoch(0), replicas: [this.nodeId], isr: [this.nodeId] },
      ...(replica === undefined ? {} : { replica }),
      logger,
      onHighWatermark: notify,
    });
    return partition;
  }

  /** Commits the topic's removal, then closes its logs and deletes its directories. */
  private async removeTopicFiles(name: string): Promise<void> {
    const partitions = this.partitionsByTopic.get(name) ?? [];
    const count = Math.max(partitions.length, this.topic(name)?.partitions ?? 0);
    this.store?.remove(name);
    this.partitionsByTopic.delete(name);
    for (const partition of partitions) {
      partition.markRemoved();
      for (const listener of this.listeners) listener.partitionRemoved(partition);
    }
    await Promise.allSettled(partitions.map(async (p) => {
      await p.replica?.close();
      await p.log.close();
    }));
    for (let index = 0; index < count; index++) fs.rmSync(this.partitionDir(name, index), { recursive: true, force: true });
    fsyncDirectory(this.dataDir);
  }

  private partitionDir(topic: string, index: number): string {
    return path.join(this.dataDir, `${topic}-${index}`);
  }

  /**
   * Removes partition directories no topic owns (a deletion committed before its files went). Only
   * directories with a `partition.metadata` are ours to remove; anything else is left with a warning.
   */
  private sweepOrphans(): void {
    const store = this.store as TopicStore;
    const owned = new Set<string>();
    for (const topic of store.list()) for (let i = 0; i < topic.partitions; i++) owned.add(`${topic.name}-${i}`);
    const orphans: string[] = [];
    for (const entry of fs.readdirSync(this.dataDir, { withFileTypes: true })) {
      if (!entry.isDirectory() || owned.has(entry.name)) continue;
      const dir = path.join(this.dataDir, entry.name);
      if (readPartitionMetadata(dir) === undefined) {
        this.logger.warn({ dir }, 'data dir holds a directory that is not a partition of any topic; leaving it');
        continue;
      }
      orphans.push(dir);
    }
    if (orphans.length === 0) return;
    if (!store.existed) {
      throw new Error(`${store.file} is missing but ${this.dataDir} holds partition directories (${orphans.length}); refusing to start rather than delete them`);
    }
    for (const dir of orphans) {
      this.logger.info({ dir }, 'removing the directory of a deleted topic');
      fs.rmSync(dir, { recursive: true, force: true });
    }
    fsyncDirectory(this.dataDir);
  }
}

interface PartitionMetadataFile {
  version: 1;
  topic: string;
  partition: number;
  topicId: string;
}

function readPartitionMetadata(dir: string): PartitionMetadataFile | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(path.join(dir, PARTITION_METADATA_FILE), 'utf8')) as Partial<PartitionMetadataFile>;
    return typeof parsed.topicId === 'string' ? (parsed as PartitionMetadataFile) : undefined;
  } catch {
    return undefined;
  }
}

function writePartitionMetadata(dir: string, topic: TopicMetadata, index: number): void {
  const file = path.join(dir, PARTITION_METADATA_FILE);
  const body: PartitionMetadataFile = { version: 1, topic: topic.name, partition: index, topicId: topic.topicId };
  replaceFileAtomically(file, JSON.stringify(body));
}
