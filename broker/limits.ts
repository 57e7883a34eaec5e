/**
 * Every bound the broker enforces, in one place, with the relations between them checked when the
 * module loads. Per-broker settings (`config.ts`) and per-topic settings (`topic-config.ts`) are
 * validated against these.
 */
import { MAX_FRAME_BYTES_CEILING as WIRE_FRAME_BYTES_CEILING } from '../client/protocol/index.js';
import { MAX_BATCH_BYTES_CEILING, MAX_BATCH_BYTES_DEFAULT } from '../log/index.js';
import { RAFT_CONFIG_DEFAULTS } from '../replication/index.js';
import { invariant } from './invariant.js';

/** Largest request frame accepted (Kafka's `socket.request.max.bytes` is 100 MiB). */
export const MAX_FRAME_BYTES_DEFAULT = 100 * 1024 * 1024;
/** A frame must hold at least a header; a ceiling keeps one frame from exhausting memory. */
export const MAX_FRAME_BYTES_MIN = 1024;
export const MAX_FRAME_BYTES_CEILING = 1024 * 1024 * 1024;

/**
 * Open client connections; one more is refused with a clean close. The broker-wide bound is ten
 * times the per-address one, so a single address (one host, or a flood from one attacker) can hold
 * at most a tenth of the broker's connections and never lock the others out.
 */
export const MAX_CONNECTIONS_DEFAULT = 10_000;
export const MAX_CONNECTIONS_CEILING = 100_000;
/**
 * Open connections from one client IP address (Kafka's `max.connections.per.ip`). A test suite or
 * a benchmark opens a few connections per client, tens of clients at most, all from 127.0.0.1: a
 * thousand leaves them room to spare.
 */
export const MAX_CONNECTIONS_PER_IP_DEFAULT = 1000;

/**
 * Answer bytes a connection holds that the client has not yet taken: answers finished and waiting
 * for an earlier one, plus the socket's write buffer. Above it the broker stops reading and serving
 * that connection until the client reads (Kafka mutes a channel while its response is unsent).
 */
export const MAX_UNSENT_BYTES_PER_CONNECTION_DEFAULT = 64 * 1024 * 1024;
/**
 * The same across every connection: above it, the connections holding more than their share
 * (`maxUnsentBytes / connections holding any`) stop being read until the total drains, while
 * connections whose clients keep up go on.
 */
export const MAX_UNSENT_BYTES_DEFAULT = 512 * 1024 * 1024;
/** The floor keeps a bound above one small answer; the ceiling keeps the sums far from 2^53. */
export const MAX_UNSENT_BYTES_MIN = 64 * 1024;
export const MAX_UNSENT_BYTES_CEILING = 64 * 1024 * 1024 * 1024;

/**
 * Record bytes one fetch answer carries at most, whatever its `max_bytes` asks (Kafka's
 * `fetch.max.bytes`, 55 MiB). The first batch of the answer may pass it (KIP-74, a consumer always
 * makes progress), by at most one batch.
 */
export const FETCH_MAX_BYTES_DEFAULT = 55 * 1024 * 1024;
export const FETCH_MAX_BYTES_MIN = 1024;
/**
 * The record bytes of an answer plus one oversized first batch must fit in a wire frame; the
 * per-partition framing on top is checked by the frame encoder, which refuses a frame whose length
 * does not fit (the request then fails as a whole).
 */
export const FETCH_MAX_BYTES_CEILING = 1024 * 1024 * 1024;

/** Requests read from one connection and not yet answered; at the bound the socket is paused. */
export const MAX_IN_FLIGHT_REQUESTS_DEFAULT = 100;
export const MAX_IN_FLIGHT_REQUESTS_CEILING = 10_000;

/** Long-poll fetches parked at once across the broker; beyond it a fetch answers at once. */
export const MAX_PENDING_FETCHES_DEFAULT = 10_000;
export const MAX_PENDING_FETCHES_CEILING = 1_000_000;

/** A fetch never waits longer than this, whatever its `max_wait_ms` says. */
export const FETCH_MAX_WAIT_MS_CEILING = 5 * 60 * 1000;

/** Partitions of one topic, and topics on one broker (each partition holds open files). */
export const MAX_PARTITIONS_PER_TOPIC = 10_000;
export const MAX_TOPICS = 10_000;

/** Kafka's topic name rule: 1 to 249 characters. */
export const TOPIC_NAME_MAX_LENGTH = 249;

/** How often retention and compaction run (Kafka's `log.retention.check.interval.ms`). */
export const LOG_CLEANUP_INTERVAL_MS_DEFAULT = 5 * 60 * 1000;
export const LOG_CLEANUP_INTERVAL_MS_MIN = 10;

/** A connection with no traffic and nothing in flight this long is closed (Kafka's `connections.max.idle.ms`). */
export const CONNECTION_IDLE_MS_DEFAULT = 10 * 60 * 1000;
/**
 * A connection that has not sent one valid request this long after it was accepted is closed: a
 * client sends its first request at once, so the long idle allowance above is only for connections
 * that proved they speak the protocol (there is no authentication yet; this stands in for its
 * deadline).
 */
export const FIRST_REQUEST_TIMEOUT_MS_DEFAULT = 10_000;
/**
 * A frame must arrive whole this long after its first byte did (Kafka's `request.timeout.ms` is
 * 30 s too): a client that trickles a frame a byte at a time (slowloris) is closed.
 */
export const REQUEST_READ_TIMEOUT_MS_DEFAULT = 30_000;

/** Graceful shutdown waits this long for in-flight requests before closing connections hard. */
export const SHUTDOWN_GRACE_MS_DEFAULT = 10_000;

/** A refused connection gets this long to read its close before it is destroyed. */
export const REFUSED_CONNECTION_LINGER_MS = 1000;

/** Consumer groups (`group/`): Kafka's defaults where Kafka has one, the where it sets one. */
export const GROUP_ID_MAX_CHARS = 249;
export const GROUP_SESSION_TIMEOUT_MS_DEFAULT = 10_000;
export const GROUP_SESSION_TIMEOUT_MS_MIN_DEFAULT = 1000;
export const GROUP_SESSION_TIMEOUT_MS_MAX_DEFAULT = 5 * 60 * 1000;
/** The floor of `groupMinSessionTimeoutMs`: sessions are checked this often, so shorter ones make no sense. */
export const GROUP_SESSION_CHECK_INTERVAL_MS = 100;
export const GROUP_HEARTBEAT_INTERVAL_MS_DEFAULT = 1000;
export const GROUP_MAX_SIZE_DEFAULT = 1000;
export const GROUP_MAX_SIZE_CEILING = 100_000;
/** A held (long-poll) heartbeat answers after at most this long. */
export const HEARTBEAT_MAX_WAIT_MS_CEILING = 30_000;
/** Topics one member may subscribe to; partitions one commit may name. */
export const GROUP_SUBSCRIBED_TOPICS_MAX = 1000;
export const OFFSET_COMMIT_PARTITIONS_MAX = 4096;
/** Kafka's `offset.metadata.max.bytes`. */
export const OFFSET_METADATA_MAX_BYTES = 4096;
/** Partitions of `__consumer_offsets` when the broker creates it (Kafka's default is 50). */
export const OFFSETS_TOPIC_PARTITIONS_DEFAULT = 16;

/** Transactions (`txn/`): Kafka's defaults (`transaction.max.timeout.ms`, the timed-out abort check), the partition count as for offsets. */
export const TRANSACTION_STATE_TOPIC_PARTITIONS_DEFAULT = 16;
export const TRANSACTION_MAX_TIMEOUT_MS_DEFAULT = 15 * 60 * 1000;
export const TRANSACTION_TIMEOUT_CHECK_INTERVAL_MS_DEFAULT = 10_000;
export const TRANSACTION_TIMEOUT_CHECK_INTERVAL_MS_MIN = 10;
/** Characters of a transactional id (Kafka has no bound; the key of its state record must stay small). */
export const TRANSACTIONAL_ID_MAX_CHARS = 249;
/** Partitions one AddPartitionsToTxn may name; ids one DescribeTransactions may. */
export const ADD_PARTITIONS_TO_TXN_MAX = 4096;
export const TRANSACTIONS_DESCRIBED_MAX = 1000;
/** Partitions one WriteTxnMarkers may name (a coordinator sends one per request). */
export const WRITE_TXN_MARKERS_PARTITIONS_MAX = 4096;
/**
 * How long EndTxn (and an InitProducerId that must abort first) waits for its markers before
 * answering REQUEST_TIMED_OUT (CONCURRENT_TRANSACTIONS for InitProducerId); the coordinator keeps
 * writing them. Below the client's default request timeout (30 s), so the answer arrives.
 */
export const TXN_MARKERS_ANSWER_TIMEOUT_MS = 15_000;
/** Marker writes to an unreachable or moving leader are retried after this, doubling to the max. */
export const TXN_MARKER_RETRY_BACKOFF_MS = 50;
export const TXN_MARKER_RETRY_BACKOFF_MAX_MS = 1000;

/**
 * Cluster metadata (`cluster/`): bounds on what a metadata record may hold, so a damaged or hostile
 * record is refused when decoded instead of growing the image. Kafka's node ids are int32 and its
 * replication factor an int16; a host name is at most 253 characters (DNS) and a topic id is a UUID.
 */
export const NODE_ID_MAX = 2 ** 31 - 1;
export const REPLICATION_FACTOR_MAX = 2 ** 15 - 1;
export const BROKER_HOST_MAX_CHARS = 253;
export const TOPIC_ID_MAX_CHARS = 64;
/** The replication factor of `__consumer_offsets` when the cluster has at least this many brokers (Kafka's `offsets.topic.replication.factor`). */
export const OFFSETS_TOPIC_REPLICATION_FACTOR_DEFAULT = 3;

/**
 * Bytes a Raft peer link may hold in its socket's write buffer; above it, batches to that peer are
 * dropped (Raft tolerates loss and resends) rather than queued without bound behind a slow peer.
 */
export const RAFT_PEER_MAX_UNSENT_BYTES_DEFAULT = 8 * 1024 * 1024;
/** A lost peer link is retried after this, doubling per failed attempt up to the max (Kafka's `reconnect.backoff.ms`, `.max.ms`). */
export const RAFT_PEER_RECONNECT_BACKOFF_MS_DEFAULT = 50;
export const RAFT_PEER_RECONNECT_BACKOFF_MAX_MS_DEFAULT = 1000;
/** A peer that does not accept the connection within this is treated as unreachable. */
export const RAFT_PEER_CONNECT_TIMEOUT_MS_DEFAULT = 5000;
/**
 * One Raft tick. Followers campaign after 10 to 20 ticks without a leader (1 to 2 s): a dead leader
 * is replaced within about 2 s plus an election round, inside the 3 s failover goal.
 */
export const RAFT_TICK_MS_DEFAULT = 100;
export const RAFT_TICK_MS_MIN = 5;
/**
 * Leaders heartbeat every this many ticks (`raftHeartbeatTicks`), and the broker's `RaftHost` sends
 * what it holds of heartbeats and answers on the same beat: an idle broker writes each peer one batch
 * per interval (300 ms by default) whatever the number of groups, which is most of an idle broker's
 * CPU. Three beats fit in the shortest election timeout (10 ticks), so a leader whose event loop
 * stalls for less than 700 ms makes no follower campaign, and check-quorum's window (10 ticks) sees
 * several answers.
 * The most allowed keeps two beats in it.
 */
export const RAFT_HEARTBEAT_TICKS_DEFAULT = 3;
export const RAFT_HEARTBEAT_TICKS_MAX = 5;

/**
 * Metadata records applied past the log start before the metadata group writes a snapshot of its
 * image and cuts the log below it (KRaft snapshots by bytes, 20 MB; a record here is a few hundred
 * bytes, so this is about 2 MB of log).
 */
export const METADATA_SNAPSHOT_RECORDS_DEFAULT = 10_000;

invariant(RAFT_HEARTBEAT_TICKS_DEFAULT * 3 <= RAFT_CONFIG_DEFAULTS.electionTicks, 'three heartbeats fit in the shortest election timeout');
invariant(RAFT_HEARTBEAT_TICKS_MAX * 2 <= RAFT_CONFIG_DEFAULTS.electionTicks, 'two heartbeats fit in the shortest election timeout');
invariant(MAX_BATCH_BYTES_DEFAULT < MAX_FRAME_BYTES_DEFAULT, 'a default-sized batch fits in a default frame');
invariant(MAX_BATCH_BYTES_CEILING < MAX_FRAME_BYTES_CEILING, 'the largest batch fits in the largest frame');
invariant(MAX_FRAME_BYTES_MIN <= MAX_FRAME_BYTES_DEFAULT, 'default frame within range');
invariant(MAX_CONNECTIONS_PER_IP_DEFAULT <= MAX_CONNECTIONS_DEFAULT && MAX_CONNECTIONS_DEFAULT <= MAX_CONNECTIONS_CEILING, 'per-address connections within the broker-wide bound');
invariant(
  MAX_UNSENT_BYTES_MIN <= MAX_UNSENT_BYTES_PER_CONNECTION_DEFAULT && MAX_UNSENT_BYTES_PER_CONNECTION_DEFAULT <= MAX_UNSENT_BYTES_DEFAULT && MAX_UNSENT_BYTES_DEFAULT <= MAX_UNSENT_BYTES_CEILING,
  'a connection\'s unsent bytes bound within the broker\'s',
);
invariant(FETCH_MAX_BYTES_DEFAULT <= MAX_UNSENT_BYTES_PER_CONNECTION_DEFAULT, 'a full-size fetch answer fits in a connection\'s unsent bytes');
invariant(FETCH_MAX_BYTES_MIN <= FETCH_MAX_BYTES_DEFAULT && FETCH_MAX_BYTES_DEFAULT <= FETCH_MAX_BYTES_CEILING, 'default fetch answer size within range');
invariant(
  FETCH_MAX_BYTES_CEILING + MAX_BATCH_BYTES_CEILING < WIRE_FRAME_BYTES_CEILING,
  'the record bytes of the largest fetch answer (one oversized first batch included) fit in a wire frame',
);
invariant(FIRST_REQUEST_TIMEOUT_MS_DEFAULT <= CONNECTION_IDLE_MS_DEFAULT, 'a new connection gets less idle time than a proven one');
invariant(MAX_IN_FLIGHT_REQUESTS_DEFAULT <= MAX_IN_FLIGHT_REQUESTS_CEILING, 'default in-flight within range');
invariant(MAX_PENDING_FETCHES_DEFAULT <= MAX_PENDING_FETCHES_CEILING, 'default pending fetches within range');
invariant(GROUP_SESSION_CHECK_INTERVAL_MS <= GROUP_SESSION_TIMEOUT_MS_MIN_DEFAULT, 'sessions are checked more often than the shortest one lasts');
invariant(
  GROUP_SESSION_TIMEOUT_MS_MIN_DEFAULT <= GROUP_SESSION_TIMEOUT_MS_DEFAULT && GROUP_SESSION_TIMEOUT_MS_DEFAULT <= GROUP_SESSION_TIMEOUT_MS_MAX_DEFAULT,
  'default session timeout within its range',
);
invariant(GROUP_HEARTBEAT_INTERVAL_MS_DEFAULT * 3 <= GROUP_SESSION_TIMEOUT_MS_DEFAULT, 'three heartbeats fit in a default session');
invariant(OFFSETS_TOPIC_PARTITIONS_DEFAULT <= MAX_PARTITIONS_PER_TOPIC, 'the offsets topic is a valid topic');
invariant(TRANSACTION_STATE_TOPIC_PARTITIONS_DEFAULT <= MAX_PARTITIONS_PER_TOPIC, 'the transaction state topic is a valid topic');
invariant(TXN_MARKER_RETRY_BACKOFF_MS <= TXN_MARKER_RETRY_BACKOFF_MAX_MS, 'the first marker retry backoff within its cap');

invariant(OFFSETS_TOPIC_REPLICATION_FACTOR_DEFAULT <= REPLICATION_FACTOR_MAX, 'the offsets topic replication factor is a valid one');
invariant(RAFT_PEER_RECONNECT_BACKOFF_MS_DEFAULT <= RAFT_PEER_RECONNECT_BACKOFF_MAX_MS_DEFAULT, 'the first reconnect backoff within its cap');
