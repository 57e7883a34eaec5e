/**
 * The cluster layer under producers, consumers and admins: the broker connections
 * (`broker-pool.ts`), the cluster metadata (`cluster-metadata.ts`), request routing and the rules for
 * keeping the metadata true. Producers, consumers and admins are built on a `Cluster` and reach
 * nothing above it; `Client` is the facade that makes them.
 *
 * - Discovery: the first request goes to a bootstrap broker; its Metadata response names every
 *   broker and each topic's partition leaders. Later requests go to the broker that leads the
 *   partition.
 * - Refresh: cached topic metadata is used until it is `metadataMaxAgeMs` old, or until a request
 *   fails with NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE or a
 *   connection error; then the topic is fetched again. A `leaderHint` moves the partition's leader at
 *   once. Concurrent refreshes of the same topics share one request.
 * - Any-broker requests (Metadata, admin) try the brokers in turn, starting with the last one that
 *   answered, and retry with backoff while the error is retriable. A Metadata answer that names no
 *   leader for a partition moves the next request on to another broker: a broker cut off from its
 *   peers knows no leader and would say so for as long as it is asked.
 * - Coordinators: `findGroupCoordinator` and `findTransactionCoordinator` ask any broker
 *   (FindCoordinator, key type 0 or 1) which broker coordinates a group or a transactional id,
 *   retrying while none does yet (COORDINATOR_NOT_AVAILABLE).
 * - Lifetime: what is built on the cluster registers itself (`adopt`) and is closed first by
 *   `close()` (producers flush), then the connections.
 */
import { ClusterMetadata, type TopicInfo } from './cluster-metadata.js';
import type { ResolvedClientConfig } from './config.js';
import { BrokerPool, addressKey, type BrokerAddress, type ConnectFn } from './broker-pool.js';
import {
  API_KEYS,
  COORDINATOR_KEY_TYPE_GROUP,
  COORDINATOR_KEY_TYPE_TRANSACTION,
  ERRORS,
  StrataError,
  type ApiKey,
  type Connection,
  type MetadataResponse,
  type RequestOf,
  type ResponseOf,
} from './protocol/index.js';
import { withRetry } from './retry.js';

/** Errors after which a topic's cached metadata is not trusted any more. */
const STALE_METADATA_CODES: ReadonlySet<number> = new Set([
  ERRORS.NOT_LEADER_OR_FOLLOWER.code,
  ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code,
  ERRORS.LEADER_NOT_AVAILABLE.code,
  ERRORS.NETWORK_EXCEPTION.code,
  ERRORS.REQUEST_TIMED_OUT.code,
]);

export function isStaleMetadataError(code: number): boolean {
  return STALE_METADATA_CODES.has(code);
}

/** Internal options, for tests: a substitute transport and clock. */
export interface ClusterInternals {
  connect?: ConnectFn;
  now?: () => number;
}

/** A coordinator (of a group or of a transactional id) as FindCoordinator names it. */
export interface CoordinatorAddress {
  nodeId: number;
  host: string;
  port: number;
}

export interface Closeable {
  close(): Promise<void>;
}

export class Cluster {
  readonly config: ResolvedClientConfig;
  readonly metadata = new ClusterMetadata();
  readonly pool: BrokerPool;
  private readonly now: () => number;
  private readonly children = new Set<Closeable>();
  private readonly refreshes = new Map<string, Promise<MetadataResponse>>();
  /** The broker that answered last; any-broker requests try it first. */
  private preferred: BrokerAddress | undefined;
  /** Where the candidate list starts when no broker is preferred; moved on by leaderless answers. */
  private rotation = 0;
  private isClosed = false;

  constructor(config: ResolvedClientConfig, internals: ClusterInternals = {}) {
    this.config = config;
    this.now = internals.now ?? Date.now;
    this.pool = new BrokerPool({
      clientId: this.config.clientId,
      requestTimeoutMs: this.config.requestTimeoutMs,
      connectTimeoutMs: this.config.connectTimeoutMs,
      retry: this.config.retry,
      ...(internals.connect === undefined ? {} : { connect: internals.connect }),
      now: this.now,
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Registers something built on the cluster, to be closed before the connections. */
  adopt<T extends Closeable>(child: T): T {
    if (this.isClosed) throw new StrataError('NETWORK_EXCEPTION', 'The client is closed.');
    this.children.add(child);
    return child;
  }

  /** Something built on the cluster closed on its own. */
  release(child: Closeable): void {
    this.children.delete(child);
  }

  /** Closes what was built on the cluster (producers flush), then every connection. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    const children = [...this.children];
    this.children.clear();
    await Promise.allSettled(children.map((child) => child.close()));
    this.isClosed = true;
    await this.pool.close();
  }

  // -------------------------------------------------------------------------------------------
  // Requests

  /** Brokers to try for an any-broker request: the last good one, the known ones, the bootstrap list. */
  private candidates(): BrokerAddress[] {
    const seen = new Set<string>();
    const list: BrokerAddress[] = [];
    const add = (address: BrokerAddress) => {
      const key = addressKey(address);
      if (!seen.has(key)) {
        seen.add(key);
        list.push(address);
      }
    };
    if (this.preferred !== undefined) add(this.preferred);
    for (const broker of this.metadata.brokers.values()) add(broker);
    for (const broker of this.config.brokers) add(broker);
    if (this.preferred !== undefined || list.length < 2) return list;
    const start = this.rotation % list.length;
    return [...list.slice(start), ...list.slice(0, start)];
  }

  /** The broker that last answered knows no leader for some partition: ask another one next time. */
  private avoidPreferred(): void {
    this.preferred = undefined;
    this.rotation++;
  }

  /** Sends one request to some broker, trying each once until one answers. No retry. */
  async requestAnyOnce<K extends ApiKey>(apiKey: K, body: RequestOf<K>): Promise<ResponseOf<K>> {
    let lastError: unknown;
    for (const address of this.candidates()) {
      let connection: Connection;
      try {
        connection = await this.pool.get(address);
      } catch (error) {
        lastError = error;
        continue;
      }
      try {
        const response = await connection.request(apiKey, body);
        this.preferred = address;
        return response;
      } catch (error) {
        lastError = error;
        // A broker that lets the request time out (partitioned away: its packets vanish, nothing
        // refuses) is as unreachable as one whose connection failed: try the next, and stop
        // preferring it. A whole-request error from a live broker (unsupported version, malformed)
        // is final.
        const unreachable = error instanceof StrataError && (error.errorName === 'NETWORK_EXCEPTION' || error.errorName === 'REQUEST_TIMED_OUT');
        if (!unreachable) throw error;
        if (this.preferred !== undefined && addressKey(this.preferred) === addressKey(address)) this.preferred = undefined;
      }
    }
    throw lastError ?? new StrataError('NETWORK_EXCEPTION', 'No broker to send the request to.');
  }

  /**
   * A new producer id and epoch from any broker (InitProducerId), with the client's retries. Throws
   * the broker's error as a StrataError.
   */
  async initProducerId(): Promise<{ producerId: number; producerEpoch: number }> {
    return withRetry(async () => {
      const answer = await this.requestAnyOnce(API_KEYS.initProducerId, { transactionalId: '', transactionTimeoutMs: 0, producerId: -1, producerEpoch: -1 });
      if (answer.errorCode !== 0) throw StrataError.fromCode(answer.errorCode, answer.errorMessage === '' ? undefined : answer.errorMessage);
      return { producerId: answer.producerId, producerEpoch: answer.producerEpoch };
    }, this.config.retry);
  }

  /** Any-broker request with the client's retry policy. */
  requestAny<K extends ApiKey>(apiKey: K, body: RequestOf<K>): Promise<ResponseOf<K>> {
    return withRetry(() => this.requestAnyOnce(apiKey, body), this.config.retry);
  }

  /** The connection to a node named by metadata. */
  connectionToNode(nodeId: number): Promise<Connection> {
    const broker = this.metadata.brokers.get(nodeId);
    if (broker === undefined) return Promise.reject(new StrataError('LEADER_NOT_AVAILABLE', `Broker ${nodeId} is not in the metadata.`));
    return this.pool.get(broker);
  }

  /**
   * The broker coordinating `groupId`, as FindCoordinator names it (its address is used as
   * given, whether or not the metadata knows the node yet). Retries while the answer is retriable.
   */
  findGroupCoordinator(groupId: string): Promise<CoordinatorAddress> {
    return this.findCoordinator(COORDINATOR_KEY_TYPE_GROUP, groupId, `group '${groupId}'`);
  }

  /** The broker coordinating transactional id `transactionalId` (FindCoordinator key type 1), as for a group. */
  findTransactionCoordinator(transactionalId: string): Promise<CoordinatorAddress> {
    return this.findCoordinator(COORDINATOR_KEY_TYPE_TRANSACTION, transactionalId, `transactional id '${transactionalId}'`);
  }

  private findCoordinator(keyType: number, key: string, what: string): Promise<CoordinatorAddress> {
    return withRetry(async () => {
      const response = await this.requestAnyOnce(API_KEYS.findCoordinator, { keyType, keys: [key] });
      const found = response.coordinators.find((c) => c.key === key);
      if (found === undefined) throw new StrataError('INVALID_RESPONSE', `FindCoordinator left out ${what}.`);
      if (found.errorCode !== 0) throw StrataError.fromCode(found.errorCode, `Coordinator of ${what}: ${found.errorMessage}`);
      return { nodeId: found.nodeId, host: found.host, port: found.port };
    }, this.config.retry);
  }

  /** Sends one request to a node. */
  async requestNode<K extends ApiKey>(nodeId: number, apiKey: K, body: RequestOf<K>): Promise<ResponseOf<K>> {
    const connection = await this.connectionToNode(nodeId);
    return connection.request(apiKey, body);
  }

  // -------------------------------------------------------------------------------------------
  // Metadata

  /**
   * Fetches metadata for `topics` (all topics when undefined) and applies it. Concurrent calls for
   * the same set share one request.
   */
  refreshMetadata(topics?: readonly string[]): Promise<MetadataResponse> {
    const names = topics === undefined ? undefined : [...new Set(topics)].sort();
    const key = names === undefined ? '\u0000all' : names.join('\u0000');
    const pending = this.refreshes.get(key);
    if (pending !== undefined) return pending;
    const refresh = this.requestAny(API_KEYS.metadata, { topics: names ?? [], allTopics: names === undefined })
      .then((response) => {
        this.metadata.apply(response, this.now());
        if (response.topics.some((t) => t.errorCode === 0 && t.partitions.some((p) => p.leaderId < 0))) this.avoidPreferred();
        return response;
      })
      .finally(() => this.refreshes.delete(key));
    this.refreshes.set(key, refresh);
    return refresh;
  }

  /** The topic's cached metadata while it is fresh (what `topicMetadata` answers without a request), else undefined. */
  freshTopicMetadata(topic: string): TopicInfo | undefined {
    const cached = this.metadata.topic(topic);
    return cached !== undefined && this.now() - cached.updatedMs < this.config.metadataMaxAgeMs ? cached : undefined;
  }

  /**
   * A topic's metadata, from the cache while it is fresh. A broker that answers that a topic this
   * client never saw does not exist (UNKNOWN_TOPIC_OR_PARTITION) has answered: that fails at once,
   * without the backoff meant for transient errors, so a mistyped name is reported in milliseconds.
   * A topic the client has seen is asked again with backoff instead: the broker asked may have just
   * restarted and not yet replayed the metadata log (a deleted topic then fails once the retries are
   * used up). Other retriable topic errors (LEADER_NOT_AVAILABLE while a topic is being created) are
   * asked again with backoff.
   */
  async topicMetadata(topic: string): Promise<TopicInfo> {
    const cached = this.metadata.topic(topic);
    if (cached !== undefined && this.now() - cached.updatedMs < this.config.metadataMaxAgeMs) return cached;
    const answer = await withRetry(async () => {
      const response = await this.refreshMetadata([topic]);
      const info = this.metadata.topic(topic);
      if (info !== undefined) return { info, code: 0 };
      const code = response.topics.find((t) => t.name === topic)?.errorCode ?? ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code;
      if (code === ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code && !this.metadata.wasSeen(topic)) return { info: undefined, code };
      throw StrataError.fromCode(code, `Topic '${topic}'.`);
    }, this.config.retry);
    if (answer.info === undefined) throw StrataError.fromCode(answer.code, `Topic '${topic}' does not exist.`);
    return answer.info;
  }

  /**
   * Reacts to a partition-level error: follows a leader hint, and forgets the topic's
   * metadata when the error says it is stale, so the next use refreshes it.
   */
  onPartitionError(topic: string, partition: number, code: number, leaderHint?: number): void {
    if (code === ERRORS.NOT_LEADER_OR_FOLLOWER.code && this.metadata.applyLeaderHint(topic, partition, leaderHint)) return;
    if (isStaleMetadataError(code)) this.metadata.invalidate(topic);
  }
}
