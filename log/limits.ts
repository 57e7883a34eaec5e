/**
 * Every bound the storage engine enforces, in one place, with the relations between them checked
 * when the module loads. Per-log settings (segment size, retention...) live in `config.ts` and are
 * validated against these.
 */
import { invariant } from './invariant.js';

/** Bytes before a batch's `batchLength` field: baseOffset (8) + batchLength (4). */
export const LOG_OVERHEAD_BYTES = 12;
/** The fixed RecordBatch v2 header, up to the first record. */
export const BATCH_HEADER_BYTES = 61;

/** Default and ceiling for one record batch (Kafka's `max.message.bytes` defaults to ~1 MiB). */
export const MAX_BATCH_BYTES_DEFAULT = 1024 * 1024;
export const MAX_BATCH_BYTES_CEILING = 64 * 1024 * 1024;

/** A segment file's positions are int32 on disk. */
export const SEGMENT_BYTES_MAX = 2 ** 31 - 1;
export const SEGMENT_BYTES_MIN = 1024;
export const SEGMENT_BYTES_DEFAULT = 1024 * 1024 * 1024;

/** Relative offsets in the indexes are int32 too: a segment never spans more offsets than this. */
export const SEGMENT_OFFSET_SPAN_MAX = 2 ** 31 - 1;

/** Sparse index spacing (Kafka's `index.interval.bytes`) and per-index ceiling (`segment.index.bytes`). */
export const INDEX_INTERVAL_BYTES_DEFAULT = 4096;
export const INDEX_BYTES_DEFAULT = 10 * 1024 * 1024;
export const OFFSET_INDEX_ENTRY_BYTES = 8;
export const TIME_INDEX_ENTRY_BYTES = 12;

/**
 * Open `.log` descriptors of sealed segments, across every log of the process (`descriptor-pool.ts`).
 * Each log's active segment holds one more of its own, and index files are opened only while they
 * are written, so a broker's open files are about partitions + this, however many segments exist.
 */
export const SEALED_SEGMENT_DESCRIPTORS_MAX = 256;

/** Records in one batch: bounded so a decoder never allocates from a hostile count. */
export const MAX_RECORDS_PER_BATCH = Math.floor(MAX_BATCH_BYTES_CEILING / 7);

/**
 * Decompressed records section of one batch: at most this many times the batch limit on the leader
 * (a decompression bomb of a 1 MiB batch stops at 32 MiB), and never above the ceiling every decoder
 * accepts (`MAX_UNCOMPRESSED_RECORDS_BYTES` in `record-batch.ts`, the same 64 MiB). lz4 on real
 * payloads compresses 2-10x; 32x leaves room for very repetitive values.
 */
export const RECORDS_EXPANSION_MAX = 32;
/** The validator's reusable decompression scratch is kept between batches up to this size. */
export const VALIDATION_SCRATCH_RETAINED_BYTES = 2 * 1024 * 1024;

/** Kafka 4.0's default for `message.timestamp.after.max.ms`: one hour into the future. */
export const MESSAGE_TIMESTAMP_AFTER_MAX_MS_DEFAULT = 60 * 60 * 1000;

invariant(BATCH_HEADER_BYTES > LOG_OVERHEAD_BYTES, 'batch header includes the log overhead');
invariant(RECORDS_EXPANSION_MAX >= 1, 'a batch may always hold its own size of records uncompressed');
invariant(VALIDATION_SCRATCH_RETAINED_BYTES >= MAX_BATCH_BYTES_DEFAULT, 'the kept scratch holds a default-sized batch');
invariant(MAX_BATCH_BYTES_DEFAULT <= MAX_BATCH_BYTES_CEILING, 'default batch size within ceiling');
invariant(MAX_BATCH_BYTES_CEILING < SEGMENT_BYTES_MAX, 'a batch always fits in an empty segment');
invariant(INDEX_BYTES_DEFAULT % OFFSET_INDEX_ENTRY_BYTES === 0, 'offset index holds whole entries');
