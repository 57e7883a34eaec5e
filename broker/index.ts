/**
 * The broker's public surface: the only file other folders (tests, benchmarks, a future CLI
 * launcher) import.
 */
export { startBroker, type Broker, type BrokerOptions } from './broker.js';
export type { ClusterStatus } from './cluster/cluster-node.js';
export { startCluster, type EmbeddedCluster, type EmbeddedClusterOptions } from './cluster/embedded-cluster.js';
export {
  FSYNC_DURATION_BUCKETS_SECONDS,
  REQUEST_DURATION_BUCKETS_SECONDS,
  UNKNOWN_API_KEY,
  type ApiCounters,
  type ApiStatsSnapshot,
  type BrokerStats,
  type BrokerStatsSnapshot,
} from './broker-stats.js';
export { BrokerConfigError, DEFAULT_BROKER_CONFIG, parseBrokerConfig, parseHostPort, parsePeers, type BrokerConfig, type HostPort, type PeerAddress } from './config.js';
export type { GroupCoordinator } from './group/group-coordinator.js';
export type { HttpError } from './http-server.js';
export { createLogger, silentLogger, type Logger } from './logger.js';
export type { Partition, PartitionLeadership } from './partition.js';
export { PeerLinks, type PeerConnection, type PeerLinksOptions, type PeerLinksTimers, type PeerLinkState, type PeerLinkStats } from './peer-links.js';
export { decodeRaftBatch, encodeRaftBatch } from './raft-batch-codec.js';
export type { PartitionManager } from './partition-manager.js';
export { parseTopicConfigs, TOPIC_CONFIG_KEYS, toLogConfig, type TopicConfigs } from './topic-config.js';
export { isValidTopicName, topicNameProblem } from './topic-name.js';
export type { TopicMetadata } from './topic-store.js';
