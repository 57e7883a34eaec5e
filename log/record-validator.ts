/**
 * Validates a record batch before the log writes it: the header and CRC (`validateBatch`), then a
 * walk over every record's framing, in place, as Apache Kafka's `LogValidator` does. A batch that
 * passes is one that `decodeBatch` decodes into exactly `recordsCount` records, so nothing a
 * consumer, the cleaner or a follower cannot parse ever reaches the disk.
 *
 * The walk reads varints where they lie and builds no record objects; it allocates nothing per
 * record. A compressed records section is decompressed into one scratch buffer that every log in
 * the process shares (validation is synchronous and the process has one thread), kept between
 * batches up to VALIDATION_SCRATCH_RETAINED_BYTES.
 *
 * What is checked, per record (layout in `record-batch.ts`):
 *
 *   length          6 .. bytes left in the section; the fields below end exactly at its end
 *   attributes      0 (Kafka writes 0 and defines no bit; anything else is damage or a format we
 *                   cannot read)
 *   timestampDelta  a varlong within the safe-integer range
 *   offsetDelta     from a client: exactly the record's index (0..n-1); from a replica: strictly
 *                   increasing and at most lastOffsetDelta (compaction leaves gaps)
 *   key, value      length -1 (null) or 0 .. bytes left in the record
 *   headerCount     0 .. (bytes left) / 2; each header key non-null, each value -1 or within the record
 *
 * and per batch: the records consume the section exactly (before and after decompression), their
 * count is recordsCount, and for a create-time batch every record timestamp is at least -1 (Kafka's
 * NO_TIMESTAMP) and at most maxTimestamp, with maxTimestamp equal to the largest of them (from a
 * replica, at least the largest: compaction keeps a batch's maxTimestamp when it drops records).
 * Record timestamps are not required to be at or above baseTimestamp: Kafka's Java producer takes
 * the first record's timestamp as the base, so a later record may be older (a negative delta).
 *
 * Leader-only rules (`origin: 'client'` or `'coordinator'`): a client's batch is never a control
 * batch and a coordinator's is a control batch or a transactional batch with a producer id and no
 * sequence (a TxnOffsetCommit's offsets; only coordinators write markers; `log.ts`
 * checks it is exactly one transaction marker), a transactional batch carries a producer id, an
 * idempotent batch (producer id set, not a marker) a base sequence; every record timestamp within [now - messageTimestampBeforeMaxMs,
 * now + messageTimestampAfterMaxMs] for a create-time batch (for a log-append-time batch, its
 * maxTimestamp, which every record reports). A replica's batches were checked by their leader
 * against its clock; a follower checks only that it can parse them.
 *
 * Errors (LogError, Kafka's codes): CORRUPT_MESSAGE for a damaged batch (size, CRC, lz4 frame),
 * MESSAGE_TOO_LARGE for a batch or decompressed section over its limit, INVALID_RECORD for
 * malformed records inside a sound batch or a forbidden batch kind, INVALID_TIMESTAMP for
 * timestamps outside the batch's own range or the topic's bounds.
 */
import { CONTROL_FLAG, COMPRESSION_MASK, CompressionCodec, TIMESTAMP_TYPE_LOG_APPEND_TIME, TRANSACTIONAL_FLAG, validateBatch, type BatchHeader } from './batch-header.js';
import { lz4DecompressFrameInto } from './compression.js';
import { LogError } from './errors.js';
import { BATCH_HEADER_BYTES, RECORDS_EXPANSION_MAX, VALIDATION_SCRATCH_RETAINED_BYTES } from './limits.js';
import { MAX_UNCOMPRESSED_RECORDS_BYTES } from './record-batch.js';
import { readVarint, readVarlong, type ByteCursor } from './varint.js';

/**
 * Kafka's AppendOrigin: a client's batch on the leader, a coordinator's marker or own transactional batch on the
 * leader (control batches only), or a replica copying its leader's.
 */
export type BatchOrigin = 'client' | 'coordinator' | 'replica';

export interface ValidationRules {
  readonly origin: BatchOrigin;
  /** The topic's batch limit (`max.message.bytes`). */
  readonly maxBatchBytes: number;
  /** The broker's clock now, for the timestamp bounds; ignored for replicas. */
  readonly now: number;
  readonly messageTimestampBeforeMaxMs: number;
  readonly messageTimestampAfterMaxMs: number;
}

/** The smallest record body after its length: attributes and five one-byte varints. */
const MIN_RECORD_BODY_BYTES = 6;
/** Kafka's NO_TIMESTAMP; nothing below it has a meaning. */
const NO_TIMESTAMP = -1;

const scratch = { buf: Buffer.allocUnsafe(64 * 1024) };
/** One cursor for every walk: validation never runs two batches at once. */
const cursor: { buf: Uint8Array; pos: number; end: number } = { buf: scratch.buf, pos: 0, end: 0 };

function invalid(detail: string): LogError {
  return new LogError('INVALID_RECORD', detail);
}

/**
 * Validates the batch at `pos` (ending at or before `end`) under `rules`, records included, and
 * returns its header. Throws a LogError naming the first problem; reads `buf` without changing it.
 */
export function validateRecordBatch(buf: Buffer, pos: number, end: number, rules: ValidationRules): BatchHeader {
  // Made by this broker's leader (a producer's batch or a coordinator's marker): offsets 0..n-1, its clock's bounds.
  const fromClient = rules.origin !== 'replica';
  const header = validateBatch(buf, pos, end, rules.maxBatchBytes, fromClient);
  const attributes = header.attributes;
  const control = (attributes & CONTROL_FLAG) !== 0;
  if (rules.origin === 'client' && control) throw invalid(`batch at ${pos} is a control batch; clients may not write control records`);
  if (rules.origin === 'coordinator' && !control && ((attributes & TRANSACTIONAL_FLAG) === 0 || header.producerId < 0)) {
    throw invalid(`batch at ${pos} is neither a control batch nor a transactional one; a coordinator appends transaction markers and its own transactional batches only`);
  }
  if (fromClient) {
    if ((attributes & TRANSACTIONAL_FLAG) !== 0 && header.producerId < 0) throw invalid(`transactional batch at ${pos} has no producer id`);
    // A marker carries its producer's id and epoch but no sequence (Kafka's baseSequence -1).
    if (rules.origin === 'client' && !control && header.producerId >= 0 && header.baseSequence < 0) throw invalid(`batch at ${pos} has producer id ${header.producerId} and base sequence ${header.baseSequence}`);
  }
  const sectionStart = pos + BATCH_HEADER_BYTES;
  const sectionEnd = pos + header.sizeBytes;
  const count = header.recordsCount;
  if (count === 0) {
    // Only a replica gets here (a client's batch holds a record): compaction's empty batch, a
    // header alone whatever its codec, as Kafka's cleaner writes it.
    if (sectionEnd !== sectionStart) throw invalid(`empty batch at ${pos} has ${sectionEnd - sectionStart} bytes of records`);
    return header;
  }
  const codec = attributes & COMPRESSION_MASK;
  let oldest: number;
  try {
    if (codec === CompressionCodec.none) {
      oldest = walkRecords(buf, sectionStart, sectionEnd, header, pos, fromClient);
    } else {
      // validateBatch admits no codec but none and lz4. A client's batch may expand to a multiple of
      // its topic's limit; a replica's to what any decoder accepts (its leader took it).
      const limit = fromClient ? Math.min(MAX_UNCOMPRESSED_RECORDS_BYTES, RECORDS_EXPANSION_MAX * rules.maxBatchBytes) : MAX_UNCOMPRESSED_RECORDS_BYTES;
      const length = lz4DecompressFrameInto(buf.subarray(sectionStart, sectionEnd), limit, scratch);
      oldest = walkRecords(scratch.buf, 0, length, header, pos, fromClient);
    }
  } finally {
    // A bomb or a large batch may have grown the scratch; keep only a modest one between batches.
    if (scratch.buf.length > VALIDATION_SCRATCH_RETAINED_BYTES) scratch.buf = Buffer.allocUnsafe(VALIDATION_SCRATCH_RETAINED_BYTES);
    // Hold no caller's buffer (nor a bomb's output) past the call.
    cursor.buf = scratch.buf;
  }
  if (fromClient) checkTimestampBounds(oldest, header.maxTimestamp, pos, rules);
  return header;
}

/**
 * Walks `count` records in `records[start, stop)`; throws on the first malformed one. Checks the
 * batch's timestamps against its records as it goes (create time only; a log-append-time batch's
 * records all report maxTimestamp, whatever their deltas). Returns the oldest record timestamp
 * other than NO_TIMESTAMP (+Infinity if none), which the leader's clock bounds check needs.
 *
 * Varints are read through the shared cursor by `varint.ts` (one-byte values on its fast path);
 * `c.end` is narrowed to the record being read, so no field can run into the next record.
 */
function walkRecords(records: Uint8Array, start: number, stop: number, header: BatchHeader, pos: number, fromClient: boolean): number {
  const count = header.recordsCount;
  if (count > (stop - start) / (MIN_RECORD_BODY_BYTES + 1)) throw invalid(`batch at ${pos} claims ${count} records in ${stop - start} bytes`);
  const { baseTimestamp, maxTimestamp, lastOffsetDelta } = header;
  const createTime = (header.attributes & TIMESTAMP_TYPE_LOG_APPEND_TIME) === 0;
  const c = cursor;
  c.buf = records;
  c.pos = start;
  let previousDelta = -1;
  let largest = Number.NEGATIVE_INFINITY;
  let oldest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < count; i++) {
    c.end = stop;
    const length = readVarint(c);
    if (length < MIN_RECORD_BODY_BYTES || length > stop - c.pos) throw invalid(`record ${i} of batch at ${pos} declares ${length} bytes, ${stop - c.pos} left`);
    const recordEnd = c.pos + length;
    c.end = recordEnd;
    const recordAttributes = records[c.pos++]!;
    if (recordAttributes !== 0) throw invalid(`record ${i} of batch at ${pos} has attributes ${recordAttributes}, expected 0`);
    const timestampDelta = readVarlong(c);
    const offsetDelta = readVarint(c);
    if (fromClient ? offsetDelta !== i : offsetDelta <= previousDelta || offsetDelta > lastOffsetDelta) {
      throw invalid(`record ${i} of batch at ${pos} has offset delta ${offsetDelta} after ${previousDelta}, last ${lastOffsetDelta}`);
    }
    previousDelta = offsetDelta;
    if (!skipField(c, true)) throw invalid(`record ${i} of batch at ${pos} has a key length below -1 or past its end`);
    if (!skipField(c, true)) throw invalid(`record ${i} of batch at ${pos} has a value length below -1 or past its end`);
    const headerCount = readVarint(c);
    // A header takes at least two bytes (its two lengths).
    if (headerCount < 0 || headerCount > (recordEnd - c.pos) / 2) throw invalid(`record ${i} of batch at ${pos} has header count ${headerCount}`);
    for (let h = 0; h < headerCount; h++) {
      if (!skipField(c, false)) throw invalid(`record ${i} of batch at ${pos}: header ${h} has a null key or a key length past its end`);
      if (!skipField(c, true)) throw invalid(`record ${i} of batch at ${pos}: header ${h} has a value length below -1 or past its end`);
    }
    if (c.pos !== recordEnd) throw invalid(`record ${i} of batch at ${pos} declares ${length} bytes, holds ${length - (recordEnd - c.pos)}`);
    if (createTime) {
      const timestamp = baseTimestamp + timestampDelta;
      if (!Number.isSafeInteger(timestamp) || timestamp < NO_TIMESTAMP || timestamp > maxTimestamp) {
        throw new LogError('INVALID_TIMESTAMP', `record ${i} of batch at ${pos} has timestamp ${timestamp}, batch max ${maxTimestamp}`);
      }
      if (timestamp > largest) largest = timestamp;
      if (timestamp !== NO_TIMESTAMP && timestamp < oldest) oldest = timestamp;
    }
  }
  if (c.pos !== stop) throw invalid(`batch at ${pos} has ${stop - c.pos} bytes after its ${count} records`);
  // A replica's batch may be compacted: its maxTimestamp stays while records go.
  if (createTime && fromClient && largest !== maxTimestamp) {
    throw new LogError('INVALID_TIMESTAMP', `batch at ${pos} declares max timestamp ${maxTimestamp}, its records reach ${largest}`);
  }
  if (createTime) return oldest;
  // Every record reports maxTimestamp, so it must be a timestamp itself.
  if (maxTimestamp < NO_TIMESTAMP) throw new LogError('INVALID_TIMESTAMP', `log-append-time batch at ${pos} has max timestamp ${maxTimestamp}`);
  return maxTimestamp === NO_TIMESTAMP ? Number.POSITIVE_INFINITY : maxTimestamp;
}

/** Skips a length-prefixed field; false if its length is below -1, -1 where not `nullable`, or past the record. */
function skipField(c: ByteCursor, nullable: boolean): boolean {
  const length = readVarint(c);
  if (length < 0) return nullable && length === -1;
  if (length > c.end - c.pos) return false;
  c.pos += length;
  return true;
}

/**
 * The topic's bounds on a client's timestamps around the broker's clock (Kafka's
 * `message.timestamp.before.max.ms` / `.after.max.ms`), applied to the batch's oldest and newest
 * record timestamps; records without a timestamp (NO_TIMESTAMP) are not bounded, as in Kafka.
 */
function checkTimestampBounds(oldest: number, newest: number, pos: number, rules: ValidationRules): void {
  const earliest = rules.now - rules.messageTimestampBeforeMaxMs;
  const latest = rules.now + rules.messageTimestampAfterMaxMs;
  if (oldest < earliest || newest > latest) {
    throw new LogError(
      'INVALID_TIMESTAMP',
      `batch at ${pos} has timestamps ${oldest}..${newest}; the topic accepts ${earliest}..${latest} (now ${rules.now})`,
    );
  }
}
