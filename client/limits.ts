/**
 * Every bound the client library enforces on its options, in one place, with the relations between
 * them checked when the module loads. Defaults live in `config.ts`.
 */
import { MAX_BATCH_BYTES_CEILING } from '../log/index.js';
import { MAX_FRAME_BYTES_DEFAULT, MAX_IN_FLIGHT_REQUESTS_DEFAULT } from './protocol/index.js';

/** A producer batch (estimated, uncompressed) never exceeds what the log accepts. */
export const BATCH_SIZE_BYTES_MAX = MAX_BATCH_BYTES_CEILING;
/** Produce requests in flight per broker connection; the broker reads at most this many at once. */
export const PRODUCER_MAX_IN_FLIGHT_MAX = MAX_IN_FLIGHT_REQUESTS_DEFAULT;
/** Batches per partition an idempotent producer keeps in flight: the five the partition leader remembers per producer. */
export const IDEMPOTENT_MAX_IN_FLIGHT_MAX = 5;
/** Retries of anything (a batch, a metadata or admin request). */
export const RETRIES_MAX = 1000;
/** Linger longer than a minute is a configuration mistake, not a batching strategy. */
export const LINGER_MS_MAX = 60_000;
/** A fetch response must fit in a frame the client accepts. */
export const FETCH_MAX_BYTES_MAX = MAX_FRAME_BYTES_DEFAULT - 1024 * 1024;
/** uint32 fields on the wire (timeouts, byte counts). */
export const UINT32_MAX = 2 ** 32 - 1;
/** int32 fields on the wire (the transaction timeout). */
export const INT32_MAX = 2 ** 31 - 1;

/** Consumer groups. A group id is at most as long as a topic name (the broker's INVALID_GROUP_ID rule). */
export const GROUP_ID_MAX_CHARS = 249;
/** Session timeouts: below 100 ms a member cannot heartbeat reliably; above an hour a dead one lingers. */
export const SESSION_TIMEOUT_MS_MIN = 100;
export const SESSION_TIMEOUT_MS_MAX = 60 * 60_000;
/** How long a revocation waits for the application to finish the message in hand. */
export const REBALANCE_TIMEOUT_MS_MAX = 60 * 60_000;
export const AUTO_COMMIT_INTERVAL_MS_MAX = 24 * 60 * 60_000;
/**
 * OffsetCommit requests one consumer keeps in flight on its coordinator connection. Below the
 * broker's per-connection bound, so commits never stall the connection for its other users.
 */
export const COMMIT_MAX_IN_FLIGHT = 64;

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`client limits: ${what}`);
}
check(BATCH_SIZE_BYTES_MAX < MAX_FRAME_BYTES_DEFAULT, 'the largest batch fits in a default frame');
check(FETCH_MAX_BYTES_MAX > BATCH_SIZE_BYTES_MAX, 'a fetch can always carry the largest batch whole');
check(PRODUCER_MAX_IN_FLIGHT_MAX >= 1, 'at least one request in flight');
check(COMMIT_MAX_IN_FLIGHT >= 1 && COMMIT_MAX_IN_FLIGHT < MAX_IN_FLIGHT_REQUESTS_DEFAULT, 'commits in flight below the broker bound');
check(SESSION_TIMEOUT_MS_MIN < SESSION_TIMEOUT_MS_MAX && SESSION_TIMEOUT_MS_MAX <= UINT32_MAX, 'session timeouts fit the wire');
