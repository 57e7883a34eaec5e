/**
 * What a request handler gets besides its request body: the request's header and connection (for
 * logs), a signal that fires if the client goes away, and the broker's services. Handlers are plain
 * async functions of (body, context); they return the response body, or undefined for a request
 * that is not answered (produce with acks 0).
 */
import type { RequestHeader } from '../client/protocol/index.js';
import type { RaftBatch } from '../replication/index.js';
import type { BrokerStats } from './broker-stats.js';
import type { ClusterNode } from './cluster/cluster-node.js';
import type { HostPort } from './config.js';
import type { FetchPurgatory } from './delayed-fetch.js';
import type { GroupCoordinator } from './group/group-coordinator.js';
import type { Logger } from './logger.js';
import type { PartitionManager } from './partition-manager.js';
import type { ProducerIdManager } from './producer-id-manager.js';
import type { TransactionCoordinator } from './txn/transaction-coordinator.js';

export interface BrokerServices {
  readonly nodeId: number;
  readonly partitions: PartitionManager;
  readonly fetches: FetchPurgatory;
  readonly groups: GroupCoordinator;
  /** The transactional ids this broker coordinates. */
  readonly transactions: TransactionCoordinator;
  readonly stats: BrokerStats;
  /** Producer ids for InitProducerId, unique across the cluster. */
  readonly producerIds: ProducerIdManager;
  /** Record bytes of one fetch answer at most (Kafka's `fetch.max.bytes`). */
  readonly fetchMaxBytes: number;
  /** In a cluster: this broker's membership (metadata, controller duties, status). */
  readonly cluster?: ClusterNode;
  /** The address clients reach this broker at (Metadata's broker list). */
  advertisedAddress(): HostPort;
  /** True once shutdown began: long polls answer at once. */
  isShuttingDown(): boolean;
  /** The host of this broker's Raft groups; absent while the broker runs none (RaftMessages are dropped). */
  readonly raft?: { deliver(batch: RaftBatch): void };
}

export interface RequestContext {
  readonly header: RequestHeader;
  /** The client's IP address, as the socket reports it. */
  readonly clientHost: string;
  /** Fires when the connection closes before the answer is written. */
  readonly signal: AbortSignal;
  /** Carries the connection id, client id, api and correlation id. */
  readonly logger: Logger;
  readonly services: BrokerServices;
  /**
   * Waits for the connection's answer room before building a large answer (a fetch): one at a time
   * per connection, while its client takes what it was sent. Resolves false if the connection
   * closed meanwhile (nobody will read the answer). The room is held until this request's answer
   * is finished, or until `leaveAnswerRoom`.
   */
  answerRoom(): Promise<boolean>;
  /** Gives the answer room up early: the handler holds no answer bytes (a parked long poll). */
  leaveAnswerRoom(): void;
}
