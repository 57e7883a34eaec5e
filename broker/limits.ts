/**
 * Every bound the broker enforces, in one place, with the relations between them checked when the
 * module loads. Per-broker settings (`config.ts`) and per-topic settings (`topic-config.ts`) are
 * validated against these.
 */
import { MAX_BATCH_BYTES_CEILING, MAX_BATCH_BYTES_DEFAULT } from '../log/index.js';
import { invariant } from './invariant.js';

/** Largest request frame accepted (Kafka's `socket.request.max.bytes` is 100 MiB). */
export const MAX_FRAME_BYTES_DEFAULT = 100 * 1024 * 1024;
/** A frame must hold at least a header; a ceiling keeps one frame from exhausting memory. */
export const MAX_FRAME_BYTES_MIN = 1024;
export const MAX_FRAME_BYTES_CEILING = 1024 * 1024 * 1024;

/** Open client connections; one more is refused with a clean close. */
export const MAX_CONNECTIONS_DEFAULT = 1000;
export const MAX_CONNECTIONS_CEILING = 100_000;

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

/** Graceful shutdown waits this long for in-flight requests before closing connections hard. */
export const SHUTDOWN_GRACE_MS_DEFAULT = 10_000;

/** A refused connection gets this long to read its close before it is destroyed. */
export const REFUSED_CONNECTION_LINGER_MS = 1000;

invariant(MAX_BATCH_BYTES_DEFAULT < MAX_FRAME_BYTES_DEFAULT, 'a default-sized batch fits in a default frame');
invariant(MAX_BATCH_BYTES_CEILING < MAX_FRAME_BYTES_CEILING, 'the largest batch fits in the largest frame');
invariant(MAX_FRAME_BYTES_MIN <= MAX_FRAME_BYTES_DEFAULT, 'default frame within range');
invariant(MAX_IN_FLIGHT_REQUESTS_DEFAULT <= MAX_IN_FLIGHT_REQUESTS_CEILING, 'default in-flight within range');
invariant(MAX_PENDING_FETCHES_DEFAULT <= MAX_PENDING_FETCHES_CEILING, 'default pending fetches within range');
