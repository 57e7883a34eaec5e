/**
 * The broker's Prometheus metrics, through prom-client, in a registry of the broker's own (several
 * brokers share a process in tests; prom-client's global registry would mix their series and throw
 * on the second registration). Counters and gauges are read at scrape time from what the broker
 * already counts (`BrokerStats`) and holds (partitions, Raft progress, groups): nothing extra on the
 * request path but the histogram observations `BrokerStats` makes. Process metrics (event-loop lag,
 * heap, RSS, GC) follow from the process-wide registry (`process-metrics.ts`).
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `strata_requests_total` | counter | `api` |
 * | `strata_request_errors_total` | counter | `api`, `code` (the error table's number), `error` (its name) |
 * | `strata_request_duration_seconds` | histogram | `api` |
 * | `strata_bytes_in_total`, `strata_bytes_out_total` | counter | (protocol socket bytes) |
 * | `strata_produced_bytes_total`, `strata_fetched_bytes_total` | counter | (record batch bytes) |
 * | `strata_topic_bytes_in_total`, `strata_topic_bytes_out_total` | counter | `topic` (record batch bytes produced, fetched) |
 * | `strata_connections_open` | gauge | |
 * | `strata_connections_accepted_total`, `_protocol_errors_total` | counter | |
 * | `strata_connections_refused_total` | counter | `reason` (`connection_limit`, `ip_limit`, `shutting_down`) |
 * | `strata_connections_timed_out_total` | counter | `reason` (`idle`, `first_request`, `request_read`) |
 * | `strata_unsent_bytes` | gauge | (answer bytes built and not yet taken by clients) |
 * | `strata_fetches_pending` | gauge | (parked long polls) |
 * | `strata_topics` | gauge | |
 * | `strata_partition_log_start_offset`, `_log_end_offset`, `_high_watermark`, `_size_bytes`, `_failed`, `_uncleanable` | gauge | `topic`, `partition` |
 * | `strata_partition_follower_lag` | gauge | `topic`, `partition`, `follower` (on the leader: offsets the follower lacks) |
 * | `strata_log_fsync_duration_seconds` | histogram | |
 * | `strata_raft_elections_started_total`, `_term_changes_total`, `_leader_changes_total` | counter | `group` (`metadata`, `partition`) |
 * | `strata_group_members` | gauge | `group`, `state` |
 * | `strata_group_committed_offset`, `strata_group_lag` | gauge | `group`, `topic`, `partition` (lag only where this broker hosts the partition) |
 * | `strata_group_total_lag` | gauge | `group` (the sum of its partitions' lag) |
 *
 * Whole-request errors are counted (the response header's code); per-partition codes inside an
 * answer are not.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { errorByCode } from '../client/protocol/index.js';
import { apiLabel, type BrokerStats } from './broker-stats.js';
import type { GroupCoordinator } from './group/group-coordinator.js';
import type { PartitionManager } from './partition-manager.js';
import type { TransactionCoordinator } from './txn/transaction-coordinator.js';
import { processMetricsRegistry } from './process-metrics.js';

export interface BrokerMetricsSources {
  readonly stats: BrokerStats;
  readonly partitions: PartitionManager;
  readonly groups: GroupCoordinator;
  readonly transactions: TransactionCoordinator;
  readonly pendingFetches: () => number;
  readonly unsentBytes: () => number;
}

/** Reads one family at scrape time: calls `emit` once per series. */
type Read<L extends string> = (emit: (labels: Partial<Record<L, string | number>>, value: number) => void) => void;

export class BrokerMetrics {
  /** The content type of `render()`'s text (Prometheus text format 0.0.4). */
  readonly contentType: string;
  private readonly registry = new Registry();

  constructor(sources: BrokerMetricsSources) {
    const { stats, partitions, groups } = sources;
    this.contentType = this.registry.contentType;
    const registers = [this.registry];

    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[], read: Read<L>): void => {
      new Counter<L>({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          read((labels, value) => this.inc(labels, value));
        },
      });
    };
    const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], read: Read<L>): void => {
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          read((labels, value) => this.set(labels, value));
        },
      });
    };
    const one = (value: () => number): Read<never> => (emit) => emit({}, value());

    const apis = () => Object.entries(stats.snapshot().apis).map(([key, api]) => ({ api: apiLabel(Number(key)), ...api }));
    counter('strata_requests_total', 'Requests served, per api.', ['api'], (emit) => {
      for (const api of apis()) emit({ api: api.api }, api.requests);
    });
    counter('strata_request_errors_total', 'Requests answered with an error code in the response header, per api and error.', ['api', 'code', 'error'], (emit) => {
      for (const api of apis()) {
        for (const [code, count] of Object.entries(api.errorsByCode)) emit({ api: api.api, code, error: errorByCode(Number(code))?.name ?? 'UNKNOWN' }, count);
      }
    });
    this.registry.registerMetric(stats.requestDurations);

    counter('strata_bytes_in_total', 'Bytes read from protocol connections.', [], one(() => stats.bytesIn));
    counter('strata_bytes_out_total', 'Bytes written to protocol connections.', [], one(() => stats.bytesOut));
    counter('strata_produced_bytes_total', 'Record batch bytes appended by produce requests.', [], one(() => stats.producedBytes));
    counter('strata_fetched_bytes_total', 'Record batch bytes returned by fetch requests.', [], one(() => stats.fetchedBytes));
    const topicBytes = () => {
      // A deleted topic's counts go with it, so deleted topics never pile up as series.
      const existing = new Set(partitions.topics().map((t) => t.name));
      for (const topic of stats.topicBytes().keys()) if (!existing.has(topic)) stats.forgetTopic(topic);
      return stats.topicBytes();
    };
    counter('strata_topic_bytes_in_total', 'Record batch bytes appended by produce requests, per topic.', ['topic'], (emit) => {
      for (const [topic, bytes] of topicBytes()) if (bytes.in > 0) emit({ topic }, bytes.in);
    });
    counter('strata_topic_bytes_out_total', 'Record batch bytes returned by fetch requests, per topic.', ['topic'], (emit) => {
      for (const [topic, bytes] of topicBytes()) if (bytes.out > 0) emit({ topic }, bytes.out);
    });
    gauge('strata_connections_open', 'Protocol connections open now.', [], one(() => stats.connectionsOpen));
    counter('strata_connections_accepted_total', 'Protocol connections accepted.', [], one(() => stats.connectionsAccepted));
    counter('strata_connections_refused_total', 'Protocol connections refused, per reason.', ['reason'], (emit) => {
      emit({ reason: 'connection_limit' }, stats.connectionsRefusedConnectionLimit);
      emit({ reason: 'ip_limit' }, stats.connectionsRefusedIpLimit);
      emit({ reason: 'shutting_down' }, stats.connectionsRefusedShuttingDown);
    });
    counter('strata_connections_timed_out_total', 'Protocol connections closed by a deadline, per reason.', ['reason'], (emit) => {
      emit({ reason: 'idle' }, stats.connectionsClosedIdle);
      emit({ reason: 'first_request' }, stats.connectionsClosedFirstRequestTimeout);
      emit({ reason: 'request_read' }, stats.connectionsClosedRequestReadTimeout);
    });
    counter('strata_connections_protocol_errors_total', 'Protocol connections closed for an unreadable or oversized frame.', [], one(() => stats.connectionsClosedForProtocolErrors));
    gauge('strata_unsent_bytes', 'Answer bytes built for clients and not yet taken by them.', [], one(sources.unsentBytes));
    gauge('strata_fetches_pending', 'Long-poll fetches parked now.', [], one(sources.pendingFetches));
    gauge('strata_topics', 'Topics on this broker.', [], one(() => partitions.topics().length));

    const live = () => partitions.allPartitions().filter((p) => !p.isRemoved);
    const perPartition = (name: string, help: string, value: (p: ReturnType<typeof live>[number]) => number): void =>
      gauge(name, help, ['topic', 'partition'], (emit) => {
        for (const p of live()) emit({ topic: p.topic, partition: p.index }, value(p));
      });
    perPartition('strata_partition_log_start_offset', 'First offset a partition holds.', (p) => p.logStartOffset);
    perPartition('strata_partition_log_end_offset', 'Offset the next appended record of a partition gets.', (p) => p.logEndOffset);
    perPartition('strata_partition_high_watermark', 'Offset below which records of a partition are visible to consumers.', (p) => p.highWatermark);
    perPartition('strata_partition_size_bytes', "Bytes of a partition's log segments.", (p) => p.log.sizeBytes);
    perPartition('strata_partition_failed', '1 if a storage failure took a partition offline (produce answers KAFKA_STORAGE_ERROR until restart).', (p) => (p.isFailed ? 1 : 0));
    perPartition('strata_partition_uncleanable', '1 if compaction failed on a partition and is off until restart.', (p) => (p.log.uncleanable === undefined ? 0 : 1));
    gauge('strata_partition_follower_lag', 'On the leader of a replicated partition: offsets of its log a follower does not hold yet (from Raft progress).', ['topic', 'partition', 'follower'], (emit) => {
      for (const p of live()) {
        for (const follower of p.replica?.followers() ?? []) emit({ topic: p.topic, partition: p.index, follower: follower.nodeId }, follower.lag);
      }
    });

    this.registry.registerMetric(stats.fsyncDurations);
    this.registry.registerMetric(stats.raftElectionsStarted);
    this.registry.registerMetric(stats.raftTermChanges);
    this.registry.registerMetric(stats.raftLeaderChanges);

    const lags = () => groups.lag();
    gauge('strata_group_members', "Members of a consumer group this broker coordinates, with the group's state.", ['group', 'state'], (emit) => {
      for (const group of lags()) emit({ group: group.groupId, state: group.state }, group.members);
    });
    gauge('strata_group_committed_offset', 'Offset a consumer group committed for a partition (the next one it will read).', ['group', 'topic', 'partition'], (emit) => {
      for (const group of lags()) {
        for (const p of group.partitions) if (p.committedOffset >= 0) emit({ group: group.groupId, topic: p.topic, partition: p.partition }, p.committedOffset);
      }
    });
    gauge('strata_group_lag', 'Records of a partition above what a consumer group committed (high watermark - committed).', ['group', 'topic', 'partition'], (emit) => {
      for (const group of lags()) {
        for (const p of group.partitions) if (p.lag !== null) emit({ group: group.groupId, topic: p.topic, partition: p.partition }, p.lag);
      }
    });
    gauge('strata_transactions_open', 'Transactions open (Ongoing or ending) among the transactional ids this broker coordinates.', [], (emit) => emit({}, sources.transactions.openTransactions));
    gauge('strata_group_total_lag', "A consumer group's lag summed over the partitions this broker hosts.", ['group'], (emit) => {
      for (const group of lags()) emit({ group: group.groupId }, group.partitions.reduce((sum, p) => sum + (p.lag ?? 0), 0));
    });
  }

  /** The exposition text: this broker's families, then the process's. */
  async render(): Promise<string> {
    const own = await this.registry.metrics();
    const text = `${own}\n${await processMetricsRegistry().metrics()}`;
    // prom-client writes NaN as `Nan` (an event-loop histogram before its first sample); the format says `NaN`.
    return text.replace(/ Nan$/gm, ' NaN');
  }
}
