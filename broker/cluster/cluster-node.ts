/**
 * This broker as a member of a cluster: the Raft host carrying every group's messages over the peer
 * links, the metadata quorum, and the duties that go with it.
 *
 * - As a member: registers its addresses with the controller until the metadata holds them, makes
 *   its partition replicas follow the metadata image (`PartitionManager.applyTopics`), and reports
 *   the partitions it leads (leader epoch, in-sync replicas) with AlterPartition whenever the image
 *   says otherwise, so every broker can name every partition's leader. A changed ISR alone is
 *   reported at most every `ISR_REPORT_INTERVAL_MS` per partition: under load a slow follower
 *   drops in and out of it, and the metadata log need not follow every blink.
 * - As the controller (the metadata leader): plans topic creations and deletions against its image
 *   and proposes them (`metadata-planner.ts`), records registrations and leader reports, and creates the internal
 *   `__consumer_offsets` topic once the voters have registered.
 * - For the HTTP API and `strata cluster status`: `status()`.
 *
 * Admin calls on a broker that is not the controller throw NOT_CONTROLLER with the controller as the
 * hint; the client retries against it.
 *
 * Concurrency: one thread; the registration and controller duties run on one timer, one pass at a
 * time.
 */
import { randomInt, randomUUID } from 'node:crypto';
import {
  API_KEYS,
  Connection,
  ERRORS,
  StrataError,
  type AlterPartitionRequest,
  type AlterPartitionResult,
  type BrokerRegistrationRequest,
  type RequestOf,
  type ResponseOf,
} from '../../client/protocol/index.js';
import { Prng, RaftHost, type NodeId, type RaftBatch, type RandomSource } from '../../replication/index.js';
import type { HostPort, PeerAddress } from '../config.js';
import type { BrokerStats } from '../broker-stats.js';
import { errorFields, type Logger } from '../logger.js';
import type { ClusterReplication, ClusterTopic, CreateTopicRequest, PartitionManager } from '../partition-manager.js';
import type { TopicConfigs } from '../topic-config.js';
import type { TopicMetadata } from '../topic-store.js';
import { MetadataImage } from './metadata-image.js';
import { planCreateTopic, planDeleteTopic, planInternalTopics, planPartitionLeader } from './metadata-planner.js';
import { MetadataQuorum } from './metadata-quorum.js';
import type { MetadataRecord } from './metadata-records.js';
import { PeerLinks } from '../peer-links.js';

/** Registration and controller duties run this often until there is nothing left to do. */
const DUTY_INTERVAL_MS = 500;
const REGISTRATION_TIMEOUT_MS = 5000;
const ISR_REPORT_INTERVAL_MS = 5000;

export interface ClusterNodeOptions {
  readonly dataDir: string;
  readonly nodeId: NodeId;
  readonly peers: readonly PeerAddress[];
  readonly raftTickMs: number;
  /** Leaders heartbeat, and the host sends held heartbeats and answers, every this many ticks. */
  readonly raftHeartbeatTicks: number;
  readonly metadataSnapshotRecords: number;
  readonly defaultTopicConfigs: TopicConfigs;
  readonly offsetsTopicPartitions: number;
  /** Partitions of `__transaction_state` when the controller creates it. */
  readonly transactionStateTopicPartitions: number;
  readonly logger: Logger;
  readonly clock: () => number;
  /** Where the metadata group's Raft events and fsyncs are counted. */
  readonly stats: BrokerStats;
  /** Election jitter; a seeded source in tests. */
  readonly random?: RandomSource;
}

export interface ClusterStatus {
  readonly nodeId: NodeId;
  readonly metadataLeader: NodeId | null;
  readonly metadataTerm: number;
  readonly brokers: { nodeId: NodeId; host: string; port: number; httpHost: string | null; httpPort: number | null }[];
  readonly partitions: {
    topic: string;
    partition: number;
    replicas: number[];
    leader: NodeId | null;
    leaderEpoch: number;
    isLeaderHere: boolean;
    highWatermark: number;
    logEndOffset: number;
    followers: { nodeId: NodeId; matchEnd: number; lag: number }[];
  }[];
}

export class ClusterNode implements ClusterReplication {
  readonly host: RaftHost;
  readonly random: RandomSource;
  readonly quorum: MetadataQuorum;
  private readonly links: PeerLinks;
  private readonly options: ClusterNodeOptions;
  private readonly logger: Logger;
  private partitions: PartitionManager | undefined;
  private self: BrokerRegistrationRequest | undefined;
  private dutyTimer: NodeJS.Timeout | undefined;
  private dutyRun: Promise<void> | undefined;
  private controllerConnection: { nodeId: NodeId; connection: Promise<Connection> } | undefined;
  /** When each partition's leader report was last sent (`topic-partition` → ms). */
  private readonly reportedAt = new Map<string, number>();
  private closed = false;
  /** Set by `cutOff`: every Raft message to or from this broker is dropped (a network partition). */
  private isolated = false;

  private constructor(options: ClusterNodeOptions, host: RaftHost, links: PeerLinks, quorum: MetadataQuorum, random: RandomSource) {
    this.options = options;
    this.logger = options.logger.child({ component: 'cluster' });
    this.host = host;
    this.links = links;
    this.quorum = quorum;
    this.random = random;
  }

  /** Opens the metadata quorum (replaying its log); nothing is ticking or sent until `start`. */
  static async open(options: ClusterNodeOptions): Promise<ClusterNode> {
    const random = options.random ?? new Prng(randomInt(2 ** 31));
    const others = new Map(options.peers.filter((p) => p.nodeId !== options.nodeId).map((p) => [p.nodeId, { host: p.host, port: p.port }]));
    const links = new PeerLinks({ nodeId: options.nodeId, peers: others, logger: options.logger });
    let node: ClusterNode | undefined;
    const host = new RaftHost({
      nodeId: options.nodeId,
      transport: { send: (to, batch) => (node?.isolated === true ? undefined : links.send(to, batch)) },
      timers: {
        every: (ms, callback) => {
          const timer = setInterval(callback, ms);
          return { cancel: () => clearInterval(timer) };
        },
      },
      tickMs: options.raftTickMs,
      heartbeatTicks: options.raftHeartbeatTicks,
      onUnknownGroup: () => {
        // A replica not opened yet (its topic's metadata is still on its way): Raft retries.
      },
    });
    const quorum = await MetadataQuorum.open({
      dataDir: options.dataDir,
      nodeId: options.nodeId,
      voters: options.peers.map((p) => p.nodeId),
      host,
      random,
      logger: options.logger,
      clock: options.clock,
      snapshotRecords: options.metadataSnapshotRecords,
      stats: options.stats,
    });
    node = new ClusterNode(options, host, links, quorum, random);
    return node;
  }

  /** Where the broker hands inbound Raft messages (dropped while cut off). */
  deliver(batch: RaftBatch): void {
    if (!this.isolated) this.host.deliver(batch);
  }

  /**
   * Cuts this broker off from its peers (true) or heals it (false): every Raft message either way is
   * dropped, as a network partition between brokers would. Client connections are left alone. For
   * tests of failover (`startCluster`'s `partitionBroker`).
   */
  cutOff(isolated: boolean): void {
    this.isolated = isolated;
  }

  get controllerId(): NodeId | undefined {
    return this.quorum.leaderId;
  }

  /** Starts ticking, follows the metadata with `partitions`, and registers `self` with the controller. */
  start(partitions: PartitionManager, self: { address: HostPort; httpAddress: HostPort | undefined }): void {
    this.partitions = partitions;
    this.self = {
      nodeId: this.options.nodeId,
      host: self.address.host,
      port: self.address.port,
      httpHost: self.httpAddress?.host ?? '',
      httpPort: self.httpAddress?.port ?? 0,
    };
    const follow = (image: MetadataImage): void => {
      partitions.applyTopics(clusterTopics(image)).catch((error: unknown) => this.logger.error(errorFields(error), 'could not open the replicas the metadata assigns'));
    };
    this.quorum.subscribe(follow);
    follow(this.quorum.image);
    this.host.start();
    this.dutyTimer = setInterval(() => {
      this.dutyRun ??= this.duties()
        .catch((error: unknown) => this.logger.debug(errorFields(error), 'cluster duty pass failed; retrying'))
        .finally(() => {
          this.dutyRun = undefined;
        });
    }, DUTY_INTERVAL_MS);
    this.dutyTimer.unref();
  }

  // ------------------------------------------------------------------------------------------
  // The controller's side

  /** Internal topics are the controller's own (`duties`); a request for one is refused by the planner. */
  async createTopic(request: CreateTopicRequest, validateOnly: boolean): Promise<TopicMetadata> {
    this.quorum.assertController();
    const image = this.quorum.image;
    const planned = planCreateTopic(image, request, {
      liveBrokers: this.quorum.activeVoters(),
      defaultReplicationFactor: Math.min(3, this.options.peers.length),
      defaultConfigs: this.options.defaultTopicConfigs,
      newTopicId: randomUUID,
    });
    if ('error' in planned) throw new StrataError(planned.error.name, planned.error.message);
    const record = planned.record;
    if (record.type !== 'create-topic') throw new Error(`planner returned ${record.type} for a topic creation`);
    const topic: TopicMetadata = { name: record.name, topicId: record.topicId, partitions: record.partitions.length, configs: record.configs, createdAtMs: this.options.clock() };
    if (validateOnly) return topic;
    await this.quorum.propose([record]);
    this.logger.info({ topic: record.name, topicId: record.topicId, replicas: record.partitions.map((p) => p.replicas) }, 'topic created');
    return topic;
  }

  async deleteTopic(name: string): Promise<void> {
    this.quorum.assertController();
    const planned = planDeleteTopic(this.quorum.image, { name });
    if ('error' in planned) throw new StrataError(planned.error.name, planned.error.message);
    await this.quorum.propose([planned.record]);
    this.logger.info({ topic: name }, 'topic deleted');
  }

  /** Records a member's addresses (controller only). */
  async register(request: BrokerRegistrationRequest): Promise<void> {
    this.quorum.assertController();
    if (!this.options.peers.some((p) => p.nodeId === request.nodeId)) {
      throw new StrataError('INVALID_REQUEST', `node ${request.nodeId} is not a voter of this cluster (${this.options.peers.map((p) => p.nodeId).join(', ')})`);
    }
    if (registered(this.quorum.image, request)) return;
    const record: MetadataRecord = {
      type: 'register-broker',
      nodeId: request.nodeId,
      host: request.host,
      port: request.port,
      httpHost: request.httpHost === '' ? null : request.httpHost,
      httpPort: request.httpPort === 0 ? null : request.httpPort,
    };
    await this.quorum.propose([record]);
    this.logger.info({ node: request.nodeId, host: request.host, port: request.port }, 'broker registered');
  }

  /** Records partition leaders' reports of themselves (controller only); each partition answered on its own. */
  async alterPartitions(request: AlterPartitionRequest): Promise<AlterPartitionResult[]> {
    this.quorum.assertController();
    const image = this.quorum.image;
    const records: MetadataRecord[] = [];
    const results = request.partitions.map(({ topic, topicId, partition, leaderEpoch, isr }): AlterPartitionResult => {
      const planned = planPartitionLeader(image, { topic, topicId, partition, leader: request.brokerId, leaderEpoch, isr });
      if ('error' in planned) return { topic, partition, errorCode: ERRORS[planned.error.name].code, errorMessage: planned.error.message };
      if (planned.record !== undefined) records.push(planned.record);
      return { topic, partition, errorCode: 0, errorMessage: '' };
    });
    if (records.length > 0) await this.quorum.propose(records);
    return results;
  }

  // ------------------------------------------------------------------------------------------
  // Status

  status(): ClusterStatus {
    const image = this.quorum.image;
    const partitions = this.partitions?.allPartitions() ?? [];
    return {
      nodeId: this.options.nodeId,
      metadataLeader: this.quorum.leaderId ?? null,
      metadataTerm: this.quorum.term,
      brokers: image.brokers().map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, httpHost: b.httpHost, httpPort: b.httpPort })),
      partitions: partitions
        .filter((p) => p.replica !== undefined)
        .map((p) => {
          const replica = p.replica!;
          return {
            topic: p.topic,
            partition: p.index,
            replicas: [...replica.voters],
            leader: replica.leaderId ?? null,
            leaderEpoch: replica.term,
            isLeaderHere: replica.isLeader,
            highWatermark: p.highWatermark,
            logEndOffset: p.logEndOffset,
            followers: replica.followers(),
          };
        }),
    };
  }

  /** Graceful shutdown's first step: the controller hands the metadata leadership to another voter. */
  handOffLeadership(): Promise<void> {
    return this.quorum.handOff();
  }

  /** Stops duties, the metadata quorum, the Raft host and the peer links. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.dutyTimer !== undefined) clearInterval(this.dutyTimer);
    await this.dutyRun;
    const connection = this.controllerConnection;
    this.controllerConnection = undefined;
    if (connection !== undefined) await connection.connection.then((c) => c.close()).catch(() => undefined);
    await this.quorum.close();
    this.host.stop();
    await this.links.close();
  }

  /** One pass: register this broker if the metadata lacks it; as controller, create internal topics. */
  private async duties(): Promise<void> {
    const self = this.self;
    if (self === undefined || this.closed) return;
    const image = this.quorum.image;
    if (!registered(image, self)) {
      if (this.quorum.isController) await this.register(self);
      else await this.registerRemotely(self);
      return;
    }
    await this.reportLeadership(image);
    if (this.quorum.isController) {
      const records = planInternalTopics(image, {
        voterCount: this.options.peers.length,
        offsetsTopicPartitions: this.options.offsetsTopicPartitions,
        transactionStateTopicPartitions: this.options.transactionStateTopicPartitions,
        defaultConfigs: this.options.defaultTopicConfigs,
        newTopicId: randomUUID,
      });
      if (records.length > 0) {
        await this.quorum.propose(records);
        this.logger.info({ topics: records.map((r) => (r.type === 'create-topic' ? r.name : r.type)) }, 'internal topics created');
      }
    }
  }

  private async registerRemotely(self: BrokerRegistrationRequest): Promise<void> {
    const answer = await this.toController(API_KEYS.brokerRegistration, self);
    if (answer !== undefined && answer.errorCode !== 0) this.logger.debug({ errorCode: answer.errorCode, message: answer.errorMessage }, 'registration refused; retrying');
  }

  /** Reports the partitions led here whose leadership the image does not hold yet (see the header). */
  private async reportLeadership(image: MetadataImage): Promise<void> {
    const now = this.options.clock();
    const partitions = (this.partitions?.allPartitions() ?? []).filter((p) => p.replica?.isLeader === true);
    const reports: AlterPartitionRequest['partitions'] = [];
    for (const partition of partitions) {
      const replica = partition.replica!;
      const topicId = image.topic(partition.topic)?.topicId;
      if (topicId === undefined) continue;
      const known = image.partitionLeader(partition.topic, partition.index);
      const isr = replica.inSyncReplicas();
      const key = `${partition.topic}-${partition.index}`;
      const leaderChanged = known === undefined || known.leader !== this.options.nodeId || known.leaderEpoch !== replica.term;
      const isrChanged = known !== undefined && known.isr.join() !== isr.join() && now - (this.reportedAt.get(key) ?? 0) >= ISR_REPORT_INTERVAL_MS;
      if (!leaderChanged && !isrChanged) continue;
      reports.push({ topic: partition.topic, topicId, partition: partition.index, leaderEpoch: replica.term, isr });
      this.reportedAt.set(key, now);
    }
    if (reports.length === 0) return;
    const request: AlterPartitionRequest = { brokerId: this.options.nodeId, partitions: reports };
    const results = this.quorum.isController ? await this.alterPartitions(request) : (await this.toController(API_KEYS.alterPartition, request))?.partitions;
    for (const refused of (results ?? []).filter((r) => r.errorCode !== 0)) {
      this.logger.debug({ topic: refused.topic, partition: refused.partition, errorCode: refused.errorCode, message: refused.errorMessage }, 'leader report refused');
    }
  }

  /** One request to the controller over a connection kept for it; undefined while there is none to ask. */
  private async toController<K extends typeof API_KEYS.brokerRegistration | typeof API_KEYS.alterPartition>(apiKey: K, body: RequestOf<K>): Promise<ResponseOf<K> | undefined> {
    const controller = this.quorum.leaderId;
    if (controller === undefined || controller === this.options.nodeId) return undefined;
    const peer = this.options.peers.find((p) => p.nodeId === controller);
    if (peer === undefined) return undefined;
    if (this.controllerConnection?.nodeId !== controller) {
      const old = this.controllerConnection;
      if (old !== undefined) void old.connection.then((c) => c.close()).catch(() => undefined);
      const connection = Connection.connect({ host: peer.host, port: peer.port, clientId: `strata-broker-${this.options.nodeId}`, requestTimeoutMs: REGISTRATION_TIMEOUT_MS });
      connection.catch(() => undefined);
      this.controllerConnection = { nodeId: controller, connection };
    }
    try {
      const connection = await this.controllerConnection.connection;
      return await connection.request(apiKey, body);
    } catch (error) {
      this.controllerConnection = undefined;
      throw error;
    }
  }
}

function registered(image: MetadataImage, self: BrokerRegistrationRequest): boolean {
  const known = image.broker(self.nodeId);
  return (
    known !== undefined &&
    known.host === self.host &&
    known.port === self.port &&
    (known.httpHost ?? '') === self.httpHost &&
    (known.httpPort ?? 0) === self.httpPort
  );
}

/** The image's topics as the partition manager takes them. */
export function clusterTopics(image: MetadataImage): ClusterTopic[] {
  return image.topics().map((topic) => ({
    name: topic.name,
    topicId: topic.topicId,
    partitions: topic.partitions.length,
    configs: topic.configs,
    createdAtMs: 0,
    replicas: topic.partitions.map((p) => p.replicas),
  }));
}
