/**
 * The broker's configuration: its type, frozen defaults, and a parser that checks ranges and rejects
 * unknown keys with a clear message (the same shape as `log/config.ts`). Addresses are written
 * `host:port` (or `{ host, port }`); port 0 asks the OS for a free port.
 *
 * `http` defaults to 127.0.0.1:7481, except that a broker whose `listen` port is 0 gets HTTP on a free
 * port too (127.0.0.1:0): brokers started on free ports (tests, several on one machine) must not
 * compete for the well-known one. `http: null` serves no HTTP (an embedded broker).
 */
import {
  CONNECTION_IDLE_MS_DEFAULT,
  FETCH_MAX_BYTES_CEILING,
  FETCH_MAX_BYTES_DEFAULT,
  FETCH_MAX_BYTES_MIN,
  FIRST_REQUEST_TIMEOUT_MS_DEFAULT,
  MAX_CONNECTIONS_PER_IP_DEFAULT,
  MAX_UNSENT_BYTES_CEILING,
  MAX_UNSENT_BYTES_DEFAULT,
  MAX_UNSENT_BYTES_MIN,
  MAX_UNSENT_BYTES_PER_CONNECTION_DEFAULT,
  REQUEST_READ_TIMEOUT_MS_DEFAULT,
  GROUP_HEARTBEAT_INTERVAL_MS_DEFAULT,
  GROUP_MAX_SIZE_CEILING,
  GROUP_MAX_SIZE_DEFAULT,
  GROUP_SESSION_CHECK_INTERVAL_MS,
  GROUP_SESSION_TIMEOUT_MS_DEFAULT,
  GROUP_SESSION_TIMEOUT_MS_MAX_DEFAULT,
  GROUP_SESSION_TIMEOUT_MS_MIN_DEFAULT,
  LOG_CLEANUP_INTERVAL_MS_DEFAULT,
  LOG_CLEANUP_INTERVAL_MS_MIN,
  MAX_CONNECTIONS_CEILING,
  MAX_CONNECTIONS_DEFAULT,
  MAX_FRAME_BYTES_CEILING,
  MAX_FRAME_BYTES_DEFAULT,
  MAX_FRAME_BYTES_MIN,
  MAX_IN_FLIGHT_REQUESTS_CEILING,
  MAX_IN_FLIGHT_REQUESTS_DEFAULT,
  MAX_PENDING_FETCHES_CEILING,
  MAX_PARTITIONS_PER_TOPIC,
  MAX_PENDING_FETCHES_DEFAULT,
  OFFSETS_TOPIC_PARTITIONS_DEFAULT,
  TRANSACTION_MAX_TIMEOUT_MS_DEFAULT,
  TRANSACTION_STATE_TOPIC_PARTITIONS_DEFAULT,
  TRANSACTION_TIMEOUT_CHECK_INTERVAL_MS_DEFAULT,
  TRANSACTION_TIMEOUT_CHECK_INTERVAL_MS_MIN,
  RAFT_HEARTBEAT_TICKS_DEFAULT,
  RAFT_HEARTBEAT_TICKS_MAX,
  RAFT_TICK_MS_DEFAULT,
  RAFT_TICK_MS_MIN,
  METADATA_SNAPSHOT_RECORDS_DEFAULT,
  SHUTDOWN_GRACE_MS_DEFAULT,
} from './limits.js';
import { StrataError } from '../client/protocol/index.js';
import { parseTopicConfigs, type TopicConfigs } from './topic-config.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** A voter of the cluster: its node id and the protocol address other brokers reach it at. */
export interface PeerAddress {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

export interface BrokerConfig {
  /** This broker's id in metadata responses (Kafka's `node.id`). */
  readonly nodeId: number;
  /**
   * Every voter of the cluster, this broker included (`1@host:port,2@host:port,...`). Empty: a
   * standalone broker (topics in `topics.json`, no replication).
   */
  readonly peers: readonly PeerAddress[];
  /** One Raft tick; elections time out after 10 to 20 ticks. */
  readonly raftTickMs: number;
  /**
   * Leaders heartbeat every this many ticks, all of a broker's groups on the same tick (one batch per
   * peer): fewer wake an idle broker less often, at the cost of a thinner margin before a slow
   * leader's followers campaign (at most 5: two beats within the shortest election timeout).
   */
  readonly raftHeartbeatTicks: number;
  /** Metadata records past the log start that make the metadata group snapshot its image and cut its log. */
  readonly metadataSnapshotRecords: number;
  /** Where `topics.json` and the partition directories live. */
  readonly dataDir: string;
  /** The protocol listener. */
  readonly listen: HostPort;
  /** The HTTP admin/metrics listener (`http-server.ts`); null serves none. */
  readonly http: HostPort | null;
  readonly maxFrameBytes: number;
  readonly maxConnections: number;
  /** Open connections from one client IP address (Kafka's `max.connections.per.ip`). */
  readonly maxConnectionsPerIp: number;
  readonly maxInFlightRequestsPerConnection: number;
  /** Answer bytes one connection holds unsent before the broker stops reading it. */
  readonly maxUnsentBytesPerConnection: number;
  /** Answer bytes all connections hold unsent before the ones holding most stop being read. */
  readonly maxUnsentBytes: number;
  /** Record bytes of one fetch answer, whatever the request's `max_bytes` (Kafka's `fetch.max.bytes`). */
  readonly fetchMaxBytes: number;
  /** A connection idle this long (no bytes, nothing in flight) is closed; 0 never closes one. */
  readonly connectionIdleMs: number;
  /** A connection that sent no valid request this long after it was accepted is closed; 0 never. */
  readonly firstRequestTimeoutMs: number;
  /** A frame must arrive whole this long after its first byte, or the connection is closed; 0 never. */
  readonly requestReadTimeoutMs: number;
  /** Long-poll fetches parked at once across all connections. */
  readonly maxPendingFetches: number;
  /** Period of the retention and compaction task. */
  readonly logCleanupIntervalMs: number;
  /** How long `close()` waits for in-flight requests before closing connections hard. */
  readonly shutdownGraceMs: number;
  /** Topic configs (Kafka names) every topic starts from; a topic's own configs override them. */
  readonly defaultTopicConfigs: TopicConfigs;
  /** A group member's session when it asks for none (sends 0). */
  readonly groupSessionTimeoutMs: number;
  /** The session timeouts members may ask for. */
  readonly groupMinSessionTimeoutMs: number;
  readonly groupMaxSessionTimeoutMs: number;
  /** How often members are told to heartbeat (at most a third of their session). */
  readonly groupHeartbeatIntervalMs: number;
  /** Members of one group. */
  readonly groupMaxSize: number;
  /** Partitions of `__consumer_offsets` when this broker creates it; an existing topic keeps its own. */
  readonly offsetsTopicPartitions: number;
  /** Partitions of `__transaction_state` when this broker (or the controller) creates it. */
  readonly transactionStateTopicPartitions: number;
  /** The longest transaction timeout a producer may ask for (Kafka's `transaction.max.timeout.ms`). */
  readonly transactionMaxTimeoutMs: number;
  /** How often open transactions are checked against their timeout. */
  readonly transactionTimeoutCheckIntervalMs: number;
}

export const DEFAULT_BROKER_CONFIG: Omit<BrokerConfig, 'dataDir'> = Object.freeze({
  nodeId: 0,
  peers: Object.freeze([]),
  raftTickMs: RAFT_TICK_MS_DEFAULT,
  raftHeartbeatTicks: RAFT_HEARTBEAT_TICKS_DEFAULT,
  metadataSnapshotRecords: METADATA_SNAPSHOT_RECORDS_DEFAULT,
  listen: Object.freeze({ host: '127.0.0.1', port: 7401 }),
  http: Object.freeze({ host: '127.0.0.1', port: 7481 }),
  maxFrameBytes: MAX_FRAME_BYTES_DEFAULT,
  maxConnections: MAX_CONNECTIONS_DEFAULT,
  maxConnectionsPerIp: MAX_CONNECTIONS_PER_IP_DEFAULT,
  maxInFlightRequestsPerConnection: MAX_IN_FLIGHT_REQUESTS_DEFAULT,
  maxUnsentBytesPerConnection: MAX_UNSENT_BYTES_PER_CONNECTION_DEFAULT,
  maxUnsentBytes: MAX_UNSENT_BYTES_DEFAULT,
  fetchMaxBytes: FETCH_MAX_BYTES_DEFAULT,
  connectionIdleMs: CONNECTION_IDLE_MS_DEFAULT,
  firstRequestTimeoutMs: FIRST_REQUEST_TIMEOUT_MS_DEFAULT,
  requestReadTimeoutMs: REQUEST_READ_TIMEOUT_MS_DEFAULT,
  maxPendingFetches: MAX_PENDING_FETCHES_DEFAULT,
  logCleanupIntervalMs: LOG_CLEANUP_INTERVAL_MS_DEFAULT,
  shutdownGraceMs: SHUTDOWN_GRACE_MS_DEFAULT,
  defaultTopicConfigs: Object.freeze({}),
  groupSessionTimeoutMs: GROUP_SESSION_TIMEOUT_MS_DEFAULT,
  groupMinSessionTimeoutMs: GROUP_SESSION_TIMEOUT_MS_MIN_DEFAULT,
  groupMaxSessionTimeoutMs: GROUP_SESSION_TIMEOUT_MS_MAX_DEFAULT,
  groupHeartbeatIntervalMs: GROUP_HEARTBEAT_INTERVAL_MS_DEFAULT,
  groupMaxSize: GROUP_MAX_SIZE_DEFAULT,
  offsetsTopicPartitions: OFFSETS_TOPIC_PARTITIONS_DEFAULT,
  transactionStateTopicPartitions: TRANSACTION_STATE_TOPIC_PARTITIONS_DEFAULT,
  transactionMaxTimeoutMs: TRANSACTION_MAX_TIMEOUT_MS_DEFAULT,
  transactionTimeoutCheckIntervalMs: TRANSACTION_TIMEOUT_CHECK_INTERVAL_MS_DEFAULT,
});

const FREE_HTTP_ADDRESS: HostPort = Object.freeze({ host: '127.0.0.1', port: 0 });

export class BrokerConfigError extends Error {
  constructor(message: string) {
    super(`invalid broker config: ${message}`);
    this.name = 'BrokerConfigError';
  }
}

type Check = (value: unknown, key: string) => unknown;

const integerIn = (min: number, max: number): Check => (value, key) => {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max) return value;
  throw new BrokerConfigError(`'${key}' must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
};

const nonEmptyString: Check = (value, key) => {
  if (typeof value === 'string' && value.length > 0) return value;
  throw new BrokerConfigError(`'${key}' must be a non-empty string, got ${JSON.stringify(value)}`);
};

/** Parses `host:port`, `[v6]:port` or `{ host, port }`. */
export function parseHostPort(value: unknown, key = 'address'): HostPort {
  let host: unknown;
  let port: unknown;
  if (typeof value === 'string') {
    const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
    if (match === null) throw new BrokerConfigError(`'${key}' must look like HOST:PORT, got ${JSON.stringify(value)}`);
    host = match[1] ?? match[2];
    port = Number(match[3]);
  } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const extra = Object.keys(value).filter((k) => k !== 'host' && k !== 'port');
    if (extra.length > 0) throw new BrokerConfigError(`'${key}' has unknown key '${extra[0]}'; known keys: host, port`);
    ({ host, port } = value as { host?: unknown; port?: unknown });
  } else {
    throw new BrokerConfigError(`'${key}' must be HOST:PORT or { host, port }, got ${JSON.stringify(value)}`);
  }
  if (typeof host !== 'string' || host.length === 0) throw new BrokerConfigError(`'${key}' needs a host, got ${JSON.stringify(value)}`);
  integerIn(0, 65535)(port, `${key}.port`);
  return Object.freeze({ host, port: port as number });
}

/** Parses `1@host:port,2@host:port` (or an array of `{ nodeId, host, port }`): distinct ids and addresses. */
export function parsePeers(value: unknown, key = 'peers'): readonly PeerAddress[] {
  const items: unknown[] = typeof value === 'string' ? value.split(',').filter((s) => s.trim().length > 0) : Array.isArray(value) ? value : [];
  if (typeof value !== 'string' && !Array.isArray(value)) throw new BrokerConfigError(`'${key}' must be ID@HOST:PORT,... or an array of { nodeId, host, port }, got ${JSON.stringify(value)}`);
  const peers = items.map((item): PeerAddress => {
    if (typeof item === 'string') {
      const match = /^\s*(\d+)@(.+?)\s*$/.exec(item);
      if (match === null) throw new BrokerConfigError(`'${key}' entry must look like ID@HOST:PORT, got ${JSON.stringify(item)}`);
      const address = parseHostPort(match[2], key);
      return Object.freeze({ nodeId: integerIn(0, 2 ** 31 - 1)(Number(match[1]), `${key} node id`) as number, ...address });
    }
    if (typeof item !== 'object' || item === null) throw new BrokerConfigError(`'${key}' entry must be ID@HOST:PORT or { nodeId, host, port }, got ${JSON.stringify(item)}`);
    const { nodeId, ...address } = item as { nodeId?: unknown };
    return Object.freeze({ nodeId: integerIn(0, 2 ** 31 - 1)(nodeId, `${key}.nodeId`) as number, ...parseHostPort(address, key) });
  });
  const ids = new Set(peers.map((p) => p.nodeId));
  if (ids.size !== peers.length) throw new BrokerConfigError(`'${key}' names a node id twice: ${peers.map((p) => p.nodeId).join(', ')}`);
  const addresses = new Set(peers.map((p) => `${p.host}:${p.port}`));
  if (addresses.size !== peers.length) throw new BrokerConfigError(`'${key}' names an address twice`);
  if (peers.some((p) => p.port === 0)) throw new BrokerConfigError(`'${key}' needs real ports (other brokers must reach each voter), got port 0`);
  return Object.freeze(peers);
}

const CHECKS: Readonly<Record<keyof BrokerConfig, Check>> = {
  nodeId: integerIn(0, 2 ** 31 - 1),
  peers: (value, key) => parsePeers(value, key),
  raftTickMs: integerIn(RAFT_TICK_MS_MIN, 60_000),
  raftHeartbeatTicks: integerIn(1, RAFT_HEARTBEAT_TICKS_MAX),
  metadataSnapshotRecords: integerIn(1, 2 ** 31 - 1),
  dataDir: nonEmptyString,
  listen: (value, key) => parseHostPort(value, key),
  http: (value, key) => (value === null ? null : parseHostPort(value, key)),
  maxFrameBytes: integerIn(MAX_FRAME_BYTES_MIN, MAX_FRAME_BYTES_CEILING),
  maxConnections: integerIn(1, MAX_CONNECTIONS_CEILING),
  maxConnectionsPerIp: integerIn(1, MAX_CONNECTIONS_CEILING),
  maxInFlightRequestsPerConnection: integerIn(1, MAX_IN_FLIGHT_REQUESTS_CEILING),
  maxUnsentBytesPerConnection: integerIn(MAX_UNSENT_BYTES_MIN, MAX_UNSENT_BYTES_CEILING),
  maxUnsentBytes: integerIn(MAX_UNSENT_BYTES_MIN, MAX_UNSENT_BYTES_CEILING),
  fetchMaxBytes: integerIn(FETCH_MAX_BYTES_MIN, FETCH_MAX_BYTES_CEILING),
  connectionIdleMs: integerIn(0, 2 ** 31 - 1),
  firstRequestTimeoutMs: integerIn(0, 2 ** 31 - 1),
  requestReadTimeoutMs: integerIn(0, 2 ** 31 - 1),
  maxPendingFetches: integerIn(0, MAX_PENDING_FETCHES_CEILING),
  logCleanupIntervalMs: integerIn(LOG_CLEANUP_INTERVAL_MS_MIN, 2 ** 31 - 1),
  shutdownGraceMs: integerIn(0, 2 ** 31 - 1),
  defaultTopicConfigs: (value, key) => {
    try {
      return parseTopicConfigs(value);
    } catch (error) {
      throw new BrokerConfigError(`'${key}': ${error instanceof StrataError ? error.message : String(error)}`);
    }
  },
  groupSessionTimeoutMs: integerIn(GROUP_SESSION_CHECK_INTERVAL_MS, 2 ** 31 - 1),
  groupMinSessionTimeoutMs: integerIn(GROUP_SESSION_CHECK_INTERVAL_MS, 2 ** 31 - 1),
  groupMaxSessionTimeoutMs: integerIn(GROUP_SESSION_CHECK_INTERVAL_MS, 2 ** 31 - 1),
  groupHeartbeatIntervalMs: integerIn(1, 2 ** 31 - 1),
  groupMaxSize: integerIn(1, GROUP_MAX_SIZE_CEILING),
  offsetsTopicPartitions: integerIn(1, MAX_PARTITIONS_PER_TOPIC),
  transactionStateTopicPartitions: integerIn(1, MAX_PARTITIONS_PER_TOPIC),
  transactionMaxTimeoutMs: integerIn(1, 2 ** 31 - 1),
  transactionTimeoutCheckIntervalMs: integerIn(TRANSACTION_TIMEOUT_CHECK_INTERVAL_MS_MIN, 2 ** 31 - 1),
};

/**
 * Builds a config from `input` on top of the defaults. `dataDir` is required. Throws
 * `BrokerConfigError` naming the key and the rule it breaks: unknown key, wrong type or range.
 */
export function parseBrokerConfig(input: unknown): BrokerConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new BrokerConfigError('config must be an object');
  const config: Record<string, unknown> = { ...DEFAULT_BROKER_CONFIG };
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    const check = CHECKS[key as keyof BrokerConfig] as Check | undefined;
    if (check === undefined) throw new BrokerConfigError(`unknown key '${key}'; known keys: ${Object.keys(CHECKS).join(', ')}`);
    config[key] = check(value, key);
  }
  if (config['dataDir'] === undefined) throw new BrokerConfigError(`'dataDir' is required`);
  const [sessionMin, session, sessionMax] = [config['groupMinSessionTimeoutMs'], config['groupSessionTimeoutMs'], config['groupMaxSessionTimeoutMs']] as number[];
  if (!(sessionMin! <= session! && session! <= sessionMax!)) {
    throw new BrokerConfigError(`'groupSessionTimeoutMs' (${session}) must lie within groupMinSessionTimeoutMs (${sessionMin}) and groupMaxSessionTimeoutMs (${sessionMax})`);
  }
  const [perConnection, unsent] = [config['maxUnsentBytesPerConnection'], config['maxUnsentBytes']] as number[];
  if (!(perConnection! <= unsent!)) {
    throw new BrokerConfigError(`'maxUnsentBytesPerConnection' (${perConnection}) must not exceed maxUnsentBytes (${unsent})`);
  }
  const peers = config['peers'] as readonly PeerAddress[];
  if (peers.length > 0 && !peers.some((p) => p.nodeId === config['nodeId'])) {
    throw new BrokerConfigError(`'peers' must include this broker (node id ${String(config['nodeId'])}); it lists ${peers.map((p) => p.nodeId).join(', ')}`);
  }
  // A broker on a free protocol port takes a free HTTP port too, unless told otherwise.
  if ((input as Record<string, unknown>)['http'] === undefined && (config['listen'] as HostPort).port === 0) config['http'] = FREE_HTTP_ADDRESS;
  return Object.freeze(config) as unknown as BrokerConfig;
}
