/**
 * The broker's `MarkerWriter`: a transaction's marker to each of its partitions — appended here when
 * this broker leads the partition (`append-marker.ts`), sent as WriteTxnMarkers to its leader
 * otherwise (cluster metadata gives the address; `broker-connections.ts`). Each partition is retried
 * on its own with a backoff (TXN_MARKER_RETRY_BACKOFF_MS doubling to the max) until it holds the
 * marker: through leader changes, unreachable brokers and timeouts. It stops trying when the topic is
 * gone (nothing left to mark), when the partition refuses the marker for good (a newer producer epoch
 * or coordinator: logged), or when the coordinator's signal aborts.
 */
import { LogError } from '../../log/index.js';
import { API_KEYS, StrataError } from '../../client/protocol/index.js';
import type { ClusterNode } from '../cluster/cluster-node.js';
import type { GroupCoordinator } from '../group/group-coordinator.js';
import { TXN_MARKER_RETRY_BACKOFF_MAX_MS, TXN_MARKER_RETRY_BACKOFF_MS, TXN_MARKERS_ANSWER_TIMEOUT_MS } from '../limits.js';
import { errorFields, type Logger } from '../logger.js';
import type { PartitionManager } from '../partition-manager.js';
import { appendMarker } from './append-marker.js';
import { BrokerConnections } from './broker-connections.js';
import type { MarkerWriter, TxnMarkerSpec } from './marker-writer.js';
import type { TxnPartition } from './transaction-metadata.js';

/** Refusals that no retry changes: the partition has heard from a newer producer epoch or coordinator. */
const FINAL_REFUSALS: ReadonlySet<string> = new Set(['INVALID_PRODUCER_EPOCH', 'TRANSACTION_COORDINATOR_FENCED', 'PRODUCER_FENCED']);

export interface PartitionMarkersOptions {
  readonly partitions: PartitionManager;
  readonly groups: GroupCoordinator;
  readonly cluster: ClusterNode | undefined;
  readonly nodeId: number;
  readonly logger: Logger;
  readonly clock: () => number;
}

type Attempt = 'written' | 'gone' | 'refused' | 'retry';

export class PartitionMarkers implements MarkerWriter {
  private readonly options: PartitionMarkersOptions;
  private readonly logger: Logger;
  private readonly connections: BrokerConnections | undefined;

  constructor(options: PartitionMarkersOptions) {
    this.options = options;
    this.logger = options.logger.child({ component: 'transaction-markers' });
    this.connections = options.cluster === undefined ? undefined : new BrokerConnections(options.cluster, options.nodeId);
  }

  async write(marker: TxnMarkerSpec, partitions: readonly TxnPartition[], signal: AbortSignal): Promise<void> {
    await Promise.all(partitions.map((tp) => this.writeOne(marker, tp, signal)));
  }

  async close(): Promise<void> {
    await this.connections?.close();
  }

  private async writeOne(marker: TxnMarkerSpec, tp: TxnPartition, signal: AbortSignal): Promise<void> {
    let backoffMs = TXN_MARKER_RETRY_BACKOFF_MS;
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) throw new StrataError('NOT_COORDINATOR', `stopped writing the marker of producer ${marker.producerId} to ${tp.topic}-${tp.partition}`);
      const outcome = await this.attempt(marker, tp, attempt).catch((error: unknown): Attempt => {
        const name = error instanceof StrataError || error instanceof LogError ? error.errorName : undefined;
        if (name !== undefined && FINAL_REFUSALS.has(name)) {
          this.logger.warn({ ...errorFields(error), topic: tp.topic, partition: tp.partition, producerId: marker.producerId }, 'a partition refused a transaction marker for good');
          return 'refused';
        }
        this.logger.debug({ ...errorFields(error), topic: tp.topic, partition: tp.partition, attempt }, 'transaction marker not written yet; retrying');
        return 'retry';
      });
      if (outcome !== 'retry') return;
      await sleep(backoffMs, signal);
      backoffMs = Math.min(backoffMs * 2, TXN_MARKER_RETRY_BACKOFF_MAX_MS);
    }
  }

  private async attempt(marker: TxnMarkerSpec, tp: TxnPartition, attempt: number): Promise<Attempt> {
    const { partitions, groups } = this.options;
    const topic = partitions.topic(tp.topic);
    if (topic === undefined || tp.partition >= topic.partitions) return 'gone';
    const local = partitions.partition(tp.topic, tp.partition);
    if (local !== undefined && local.isLeader) {
      await appendMarker(local, marker, groups, TXN_MARKERS_ANSWER_TIMEOUT_MS, this.options.clock());
      return 'written';
    }
    if (this.connections === undefined) {
      // Standalone, every partition of an existing topic is here; one that is not is being deleted.
      return local === undefined ? 'gone' : 'retry';
    }
    const leader = this.leaderOf(tp, attempt);
    if (leader === undefined) return 'retry';
    let connection;
    try {
      connection = await this.connections.connection(leader);
    } catch {
      return 'retry';
    }
    let response;
    try {
      response = await connection.request(API_KEYS.writeTxnMarkers, {
        markers: [{ producerId: marker.producerId, producerEpoch: marker.producerEpoch, committed: marker.commit, coordinatorEpoch: marker.coordinatorEpoch, topics: [{ name: tp.topic, partitions: [tp.partition] }] }],
      });
    } catch (error) {
      if (error instanceof StrataError && error.errorName === 'NETWORK_EXCEPTION') this.connections.drop(leader);
      throw error;
    }
    const result = response.markers[0]?.topics[0]?.partitions[0];
    if (result === undefined) throw new StrataError('UNKNOWN_SERVER_ERROR', `broker ${leader} answered WriteTxnMarkers without ${tp.topic}-${tp.partition}`);
    if (result.errorCode === 0) return 'written';
    const error = StrataError.fromCode(result.errorCode, result.errorMessage);
    if (error.errorName === 'UNKNOWN_TOPIC_OR_PARTITION' && partitions.topic(tp.topic) === undefined) return 'gone';
    throw error;
  }

  /**
   * Where to send: the leader this broker's replica knows, else the one the cluster metadata last
   * recorded; with neither (or after failures) the replicas in turn, one of which leads.
   */
  private leaderOf(tp: TxnPartition, attempt: number): number | undefined {
    const { partitions, cluster } = this.options;
    const known = partitions.partition(tp.topic, tp.partition)?.leadership.leaderId ?? cluster?.quorum.image.partitionLeader(tp.topic, tp.partition)?.leader ?? -1;
    const replicas = partitions.replicasOf(tp.topic)?.[tp.partition] ?? [];
    if (known >= 0 && (attempt % 4 !== 3 || replicas.length === 0)) return known;
    return replicas.length === 0 ? undefined : replicas[attempt % replicas.length];
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
