/**
 * The broker's Prometheus metrics, built fresh at each scrape from what the broker already counts:
 * `BrokerStats` (requests, errors, latency histograms per api; bytes; connections), the partitions
 * (offsets and sizes) and the long-poll purgatory. Nothing here runs on the request path.
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `strata_requests_total` | counter | `api` |
 * | `strata_request_errors_total` | counter | `api`, `error` (the error table's name) |
 * | `strata_request_duration_seconds` | histogram | `api` |
 * | `strata_bytes_in_total`, `strata_bytes_out_total` | counter | (protocol socket bytes) |
 * | `strata_produced_bytes_total`, `strata_fetched_bytes_total` | counter | (record batch bytes) |
 * | `strata_connections_open` | gauge | |
 * | `strata_connections_accepted_total`, `_protocol_errors_total` | counter | |
 * | `strata_connections_refused_total` | counter | `reason` (`connection_limit`, `ip_limit`, `shutting_down`) |
 * | `strata_connections_timed_out_total` | counter | `reason` (`idle`, `first_request`, `request_read`) |
 * | `strata_unsent_bytes` | gauge | (answer bytes built and not yet taken by clients) |
 * | `strata_fetches_pending` | gauge | (parked long polls) |
 * | `strata_topics` | gauge | |
 * | `strata_partition_log_start_offset`, `_log_end_offset`, `_high_watermark`, `_size_bytes`, `_failed`, `_uncleanable` | gauge | `topic`, `partition` |
 * | `strata_group_members` | gauge | `group`, `state` |
 * | `strata_group_committed_offset`, `strata_group_lag` | gauge | `group`, `topic`, `partition` (lag only where this broker hosts the partition) |
 *
 * Whole-request errors are counted (the response header's code); per-partition codes inside an
 * answer are not.
 */
import { API_REGISTRY, errorByCode, isApiKey } from '../client/protocol/index.js';
import type { BrokerStats } from './broker-stats.js';
import type { GroupCoordinator } from './group/group-coordinator.js';
import { MetricsRegistry } from './metrics.js';
import type { PartitionManager } from './partition-manager.js';

export interface BrokerMetricsSources {
  readonly stats: BrokerStats;
  readonly partitions: PartitionManager;
  readonly groups: GroupCoordinator;
  readonly pendingFetches: () => number;
  readonly unsentBytes: () => number;
}

/** The api label: the protocol's name for a served api key, `unknown` for the shared counter of the others. */
function apiName(apiKey: number): string {
  return isApiKey(apiKey) ? API_REGISTRY[apiKey].name : 'unknown';
}

export function collectBrokerMetrics(sources: BrokerMetricsSources): MetricsRegistry {
  const registry = new MetricsRegistry();
  const stats = sources.stats.snapshot();

  const requests = registry.counter('strata_requests_total', 'Requests served, per api.');
  const errors = registry.counter('strata_request_errors_total', 'Requests answered with an error code in the response header, per api and error.');
  const durations = registry.histogram('strata_request_duration_seconds', 'Time from reading a request to its answer being ready, per api.');
  const apiKeys = Object.keys(stats.apis).map(Number).sort((a, b) => a - b);
  for (const apiKey of apiKeys) {
    const api = stats.apis[apiKey];
    if (api === undefined) continue;
    const labels = { api: apiName(apiKey) };
    requests.set(labels, api.requests);
    for (const [code, count] of Object.entries(api.errorsByCode)) {
      errors.set({ ...labels, error: errorByCode(Number(code))?.name ?? `code_${code}` }, count);
    }
    durations.set(labels, api.durations);
  }

  registry.counter('strata_bytes_in_total', 'Bytes read from protocol connections.').set({}, stats.bytesIn);
  registry.counter('strata_bytes_out_total', 'Bytes written to protocol connections.').set({}, stats.bytesOut);
  registry.counter('strata_produced_bytes_total', 'Record batch bytes appended by produce requests.').set({}, stats.producedBytes);
  registry.counter('strata_fetched_bytes_total', 'Record batch bytes returned by fetch requests.').set({}, stats.fetchedBytes);
  registry.gauge('strata_connections_open', 'Protocol connections open now.').set({}, stats.connectionsOpen);
  registry.counter('strata_connections_accepted_total', 'Protocol connections accepted.').set({}, stats.connectionsAccepted);
  const refused = registry.counter('strata_connections_refused_total', 'Protocol connections refused, per reason.');
  refused.set({ reason: 'connection_limit' }, stats.connectionsRefusedConnectionLimit);
  refused.set({ reason: 'ip_limit' }, stats.connectionsRefusedIpLimit);
  refused.set({ reason: 'shutting_down' }, stats.connectionsRefusedShuttingDown);
  const timedOut = registry.counter('strata_connections_timed_out_total', 'Protocol connections closed by a deadline, per reason.');
  timedOut.set({ reason: 'idle' }, stats.connectionsClosedIdle);
  timedOut.set({ reason: 'first_request' }, stats.connectionsClosedFirstRequestTimeout);
  timedOut.set({ reason: 'request_read' }, stats.connectionsClosedRequestReadTimeout);
  registry.gauge('strata_unsent_bytes', 'Answer bytes built for clients and not yet taken by them.').set({}, sources.unsentBytes());
  registry
    .counter('strata_connections_protocol_errors_total', 'Protocol connections closed for an unreadable or oversized frame.')
    .set({}, stats.connectionsClosedForProtocolErrors);
  registry.gauge('strata_fetches_pending', 'Long-poll fetches parked now.').set({}, sources.pendingFetches());
  registry.gauge('strata_topics', 'Topics on this broker.').set({}, sources.partitions.topics().length);

  const logStart = registry.gauge('strata_partition_log_start_offset', 'First offset a partition holds.');
  const logEnd = registry.gauge('strata_partition_log_end_offset', 'Offset the next appended record of a partition gets.');
  const highWatermark = registry.gauge('strata_partition_high_watermark', 'Offset below which records of a partition are visible to consumers.');
  const size = registry.gauge('strata_partition_size_bytes', 'Bytes of a partition\'s log segments.');
  const failed = registry.gauge('strata_partition_failed', '1 if a storage failure took a partition offline (produce answers KAFKA_STORAGE_ERROR until restart).');
  const uncleanable = registry.gauge('strata_partition_uncleanable', '1 if compaction failed on a partition and is off until restart.');
  for (const partition of sources.partitions.allPartitions()) {
    if (partition.isRemoved) continue;
    const labels = { topic: partition.topic, partition: partition.index };
    logStart.set(labels, partition.logStartOffset);
    logEnd.set(labels, partition.logEndOffset);
    highWatermark.set(labels, partition.highWatermark);
    size.set(labels, partition.log.sizeBytes);
    failed.set(labels, partition.isFailed ? 1 : 0);
    uncleanable.set(labels, partition.log.uncleanable === undefined ? 0 : 1);
  }

  const members = registry.gauge('strata_group_members', 'Members of a consumer group this broker coordinates, with the group\'s state.');
  const committed = registry.gauge('strata_group_committed_offset', 'Offset a consumer group committed for a partition (the next one it will read).');
  const lag = registry.gauge('strata_group_lag', 'Records of a partition above what a consumer group committed (high watermark - committed).');
  for (const group of sources.groups.lag()) {
    members.set({ group: group.groupId, state: group.state }, group.members);
    for (const p of group.partitions) {
      const labels = { group: group.groupId, topic: p.topic, partition: p.partition };
      if (p.committedOffset >= 0) committed.set(labels, p.committedOffset);
      if (p.lag !== null) lag.set(labels, p.lag);
    }
  }
  return registry;
}
