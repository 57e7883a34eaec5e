/**
 * The bounds of the `strata` client commands, in one place, with their relations to the client's and
 * the log's limits checked when the module loads.
 */
import { MAX_BATCH_BYTES_CEILING } from '../../log/index.js';
import { BATCH_SIZE_BYTES_MAX, LINGER_MS_MAX } from '../limits.js';

/**
 * A line of `strata produce` input is one record. The topic's `max.message.bytes` (1 MiB by default)
 * decides what is stored; this bound only keeps a stream without newlines from filling memory.
 */
export const PRODUCE_LINE_BYTES_MAX = 16 * 1024 * 1024;
/** The producer's default `bufferMemory` (client/config.ts). */
const PRODUCER_BUFFER_BYTES_DEFAULT = 32 * 1024 * 1024;
/**
 * The send window of `produce` and `perf produce`: records handed to the producer and not yet
 * acknowledged. 256 KiB keeps every partition's batches filling and requests in flight; measured on
 * one broker, larger windows (1 to 16 MiB) were slower (the producer's per-send work grows with what
 * queues in it) and only added queueing time to every latency (Little's law: latency = window /
 * throughput). A record larger than the window still goes, alone.
 */
export const PENDING_BYTES_MAX = 256 * 1024;
/** The same window in records, for small or empty lines. */
export const PENDING_RECORDS_MAX = 10_000;
/**
 * `perf produce` hands records to the producer in sends of about this many bytes (at least one
 * record). Each send costs the producer a fixed amount of work (promises, a metadata lookup) besides
 * its per-record work; 16 KiB sends make that fixed part small at 100-byte records.
 */
export const PERF_SEND_BYTES = 16 * 1024;
/** `perf produce --batch-size`: any batch the producer accepts (the topic's max.message.bytes still applies). */
export const PERF_BATCH_BYTES_MAX = BATCH_SIZE_BYTES_MAX;
/** `perf produce --linger-ms`: the producer's bound. */
export const PERF_LINGER_MS_MAX = LINGER_MS_MAX;
/** `perf produce --throughput`: a bound that only rejects nonsense. */
export const PERF_THROUGHPUT_MAX = 1_000_000_000;
/**
 * `perf produce`'s window holds this many batches per partition: one in flight (the producer keeps at
 * most one per partition while it may retry) and one filling behind it.
 */
export const PERF_WINDOW_BATCHES_PER_PARTITION = 2;
/** `perf produce` keeps every latency for exact percentiles: 8 bytes a record. */
export const PERF_RECORDS_MAX = 100_000_000;
/** `perf produce --record-size`: as large as a line of `produce`. */
export const PERF_RECORD_BYTES_MAX = PRODUCE_LINE_BYTES_MAX;
/** `consume --timeout-ms` and `perf consume --timeout-ms`: a day is long enough to mean "forever". */
export const IDLE_TIMEOUT_MS_MAX = 24 * 60 * 60 * 1000;
/**
 * How long a client command waits for a broker to answer before it fails naming the broker, unless
 * its `--timeout-ms` says otherwise: a CLI must never hang silently on a broker that is down.
 */
export const BROKER_WAIT_MS_DEFAULT = 30_000;
/** `--timeout-ms` as a broker wait: as long as the idle timeout may be. */
export const BROKER_WAIT_MS_MAX = 24 * 60 * 60 * 1000;

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`cli limits: ${what}`);
}
check(PRODUCE_LINE_BYTES_MAX < PRODUCER_BUFFER_BYTES_DEFAULT, "the largest line fits in the producer's default buffer");
check(PENDING_BYTES_MAX < PRODUCER_BUFFER_BYTES_DEFAULT, "the window fits in the producer's default buffer, so a send never waits for memory the window holds");
check(PERF_SEND_BYTES <= PENDING_BYTES_MAX, 'a perf send fits in the window');
check(PRODUCE_LINE_BYTES_MAX < MAX_BATCH_BYTES_CEILING, 'a line could be stored by a topic that allows it');
