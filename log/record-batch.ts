/**
 * The records inside a Kafka RecordBatch v2: encode a batch from records, decode one back, and
 * re-encode the survivors of a batch for compaction. The 61-byte header before them is
 * `batch-header.ts`'s; everything from byte 61 on is this file's, compressed as one unit when the
 * codec is not none (`compression.ts`).
 *
 * Each record (varints zig-zag, see `varint.ts`):
 *
 *   length          varint   bytes of the record after this field
 *   attributes      int8     0; unused by Kafka since 0.11, ignored when read
 *   timestampDelta  varlong  timestamp - baseTimestamp
 *   offsetDelta     varint   offset - baseOffset
 *   keyLength       varint   -1 for a null key
 *   key             bytes
 *   valueLength     varint   -1 for a null value (a tombstone, for compaction)
 *   value           bytes
 *   headerCount     varint
 *   headers         per header: keyLength varint (never -1), key UTF-8,
 *                               valueLength varint (-1 for null), value bytes
 *
 * Invariants of a batch this file encodes or accepts when decoding:
 * - The CRC is checked (validateBatch) before a single record byte is parsed.
 * - recordsCount records are present, each exactly as long as its length field says, and together
 *   they consume the records section exactly: no trailing bytes, before or after decompression.
 * - Offset deltas strictly increase and never pass lastOffsetDelta. A produced batch numbers them
 *   0..n-1; a compacted one may have gaps, and its last record may sit before lastOffsetDelta.
 * - Offsets and timestamps are safe integers (|n| < 2^53); anything else is rejected, not rounded.
 *
 * Like Kafka's Java producer, the encoder takes the first record's timestamp as baseTimestamp (so a
 * later record may have a negative delta) and the largest as maxTimestamp. kafkajs takes the
 * smallest as the base instead; both are valid. In a log-append-time batch every record's timestamp
 * is the batch's maxTimestamp, whatever its delta says: this is what Kafka's readers report.
 *
 * Decoded keys, values and header values are views into the input buffer (or into the
 * decompressed copy for lz4): they stay valid as long as that buffer is not reused. A record
 * without headers has a shared, frozen empty `headers` array: read it, never push to it.
 *
 * Encoding sizes every record first, allocates the batch once and writes varints in place, so an
 * uncompressed batch costs one buffer allocation besides two small typed arrays (sizes,
 * timestamps) and no per-record buffers; lz4 adds the uncompressed records scratch and the frame.
 * Pure functions: no state survives a call.
 */
import {
  BatchField,
  COMPRESSION_MASK,
  CompressionCodec,
  MAGIC_V2,
  TIMESTAMP_TYPE_LOG_APPEND_TIME,
  TRANSACTIONAL_FLAG,
  batchSizeAt,
  computeBatchCrc,
  readInt64,
  validateBatch,
  writeInt64,
  type BatchHeader,
} from './batch-header.js';
import { decompress, lz4FrameBound, writeLz4Frame } from './compression.js';
import { LogError } from './errors.js';
import { invariant } from './invariant.js';
import { BATCH_HEADER_BYTES, LOG_OVERHEAD_BYTES, MAX_BATCH_BYTES_CEILING, MAX_RECORDS_PER_BATCH } from './limits.js';
import type { Offset } from './units.js';
import { readVarint, readVarlong, sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong, type ByteCursor } from './varint.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/** A decoded record. `offset` = baseOffset + offsetDelta; `timestamp` = baseTimestamp + timestampDelta. */
export interface Record {
  offset: Offset;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/** A record to encode. Strings are written as UTF-8; a missing timestamp takes the encoder's clock. */
export interface RecordInput {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  timestamp?: number;
  headers?: { readonly [key: string]: Buffer | string | null } | readonly RecordHeader[];
}

export interface EncodeOptions {
  compression?: 'none' | 'lz4';
  /** Default 0: a producer's batch; the leader stamps the real base offset on append. */
  baseOffset?: number;
  /** Default -1 (no leader has stamped it). */
  partitionLeaderEpoch?: number;
  /** Default -1 (not idempotent). */
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  /** Sets the transactional attribute (a transactional producer's batch; it needs a producer id). Default false. */
  transactional?: boolean;
  /** Clock for records without a timestamp, read once per batch. Default Date.now. */
  now?: () => number;
}

export interface DecodedBatch {
  header: BatchHeader;
  records: Record[];
}

/**
 * Ceiling on a batch's decompressed records section. Kafka has none (it decompresses as it
 * iterates); Strata decodes a batch at once, so it bounds what a hostile batch can make it
 * allocate. Candidates for `limits.ts`.
 */
export const MAX_UNCOMPRESSED_RECORDS_BYTES = MAX_BATCH_BYTES_CEILING;
/** The smallest record: length, attributes, timestampDelta, offsetDelta, keyLength, valueLength, headerCount, one byte each. */
const MIN_RECORD_BYTES = 7;
const MIN_RECORD_BODY_BYTES = MIN_RECORD_BYTES - 1;
/** Bytes of a null field's length, varint(-1) = 0x01. */
const NULL_LENGTH_BYTES = 1;

const INT16_MIN = -(2 ** 15);
const INT16_MAX = 2 ** 15 - 1;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

// ---------------------------------------------------------------------------------------------
// Encoding

type Field = Buffer | string | null | undefined;

function fieldBytes(field: Buffer | string): number {
  return typeof field === 'string' ? Buffer.byteLength(field, 'utf8') : field.length;
}

/**
 * `Uint8Array.prototype.set`, called directly: for the 100-byte to 1 KiB values of a batch it
 * copies in about two thirds of the time `Buffer#set` takes (which goes through Buffer's prototype
 * chain), and a value copy is most of a record's encoding.
 */
const copyInto: (target: Uint8Array, source: Uint8Array, offset: number) => void = Function.prototype.call.bind(Uint8Array.prototype.set) as never;

/** Writes a length-prefixed field whose byte length (-1 for null) the size pass measured. */
function writeField(buf: Buffer, pos: number, field: Field, bytes: number): number {
  pos = writeVarint(buf, pos, bytes);
  if (field == null) return pos;
  if (typeof field === 'string') buf.write(field, pos, bytes, 'utf8');
  else copyInto(buf, field, pos);
  return pos + bytes;
}

/** Headers as [key, value] pairs in wire order, whichever form the caller used. */
function headerPairs(headers: RecordInput['headers']): ReadonlyArray<readonly [string, Buffer | string | null]> {
  if (headers === undefined) return [];
  if (Array.isArray(headers)) return (headers as readonly RecordHeader[]).map((h) => [h.key, h.value] as const);
  return Object.entries(headers as { readonly [key: string]: Buffer | string | null });
}

function headersBytes(pairs: ReadonlyArray<readonly [string, Buffer | string | null]>): number {
  let size = sizeOfVarint(pairs.length);
  for (const [key, value] of pairs) {
    const keyBytes = Buffer.byteLength(key, 'utf8');
    size += sizeOfVarint(keyBytes) + keyBytes;
    if (value === null) size += NULL_LENGTH_BYTES;
    else {
      const valueBytes = fieldBytes(value);
      size += sizeOfVarint(valueBytes) + valueBytes;
    }
  }
  return size;
}

function writeHeaders(buf: Buffer, pos: number, pairs: ReadonlyArray<readonly [string, Buffer | string | null]>): number {
  pos = writeVarint(buf, pos, pairs.length);
  for (const [key, value] of pairs) {
    pos = writeField(buf, pos, key, Buffer.byteLength(key, 'utf8'));
    pos = writeField(buf, pos, value, value === null ? -1 : fieldBytes(value));
  }
  return pos;
}

function checkTimestamp(timestamp: number, index: number): void {
  if (!Number.isSafeInteger(timestamp)) {
    throw new LogError('INVALID_RECORD', `record ${index} has timestamp ${timestamp}, not a safe integer`);
  }
}

/** What the header needs that the records do not say, shared by encodeBatch and encodeRetainedBatch. */
type HeaderFields = Omit<BatchHeader, 'sizeBytes' | 'magic' | 'crc' | 'baseOffset' | 'partitionLeaderEpoch'> & {
  baseOffset: number;
  partitionLeaderEpoch: number;
};

/**
 * The records of one batch in a form both encoders fill: per record its offset delta, timestamp
 * delta and the pieces to write. `sizes` caches, per record, the body length and key and value
 * lengths (-1 for null) that the size pass measured, so strings are measured once.
 */
interface PlannedRecords {
  count: number;
  offsetDelta(i: number): number;
  timestampDelta(i: number): number;
  key(i: number): Field;
  value(i: number): Field;
  headers(i: number): ReadonlyArray<readonly [string, Buffer | string | null]>;
}

/** Sizes every record into `sizes` (3 ints per record); returns the records section's bytes. */
function sizeRecords(plan: PlannedRecords, sizes: Int32Array): number {
  let total = 0;
  for (let i = 0; i < plan.count; i++) {
    const key = plan.key(i);
    const value = plan.value(i);
    const keyBytes = key == null ? -1 : fieldBytes(key);
    const valueBytes = value == null ? -1 : fieldBytes(value);
    const headers = plan.headers(i);
    const body =
      1 +
      sizeOfVarlong(plan.timestampDelta(i)) +
      sizeOfVarint(plan.offsetDelta(i)) +
      (keyBytes < 0 ? NULL_LENGTH_BYTES : sizeOfVarint(keyBytes) + keyBytes) +
      (valueBytes < 0 ? NULL_LENGTH_BYTES : sizeOfVarint(valueBytes) + valueBytes) +
      (headers.length === 0 ? 1 : headersBytes(headers));
    if (body > MAX_BATCH_BYTES_CEILING) {
      throw new LogError('MESSAGE_TOO_LARGE', `record ${i} is ${body} bytes, limit ${MAX_BATCH_BYTES_CEILING}`);
    }
    sizes[3 * i] = body;
    sizes[3 * i + 1] = keyBytes;
    sizes[3 * i + 2] = valueBytes;
    total += sizeOfVarint(body) + body;
  }
  return total;
}

function writeRecords(plan: PlannedRecords, sizes: Int32Array, buf: Buffer, pos: number): number {
  for (let i = 0; i < plan.count; i++) {
    pos = writeVarint(buf, pos, sizes[3 * i]!);
    buf[pos++] = 0;
    pos = writeVarlong(buf, pos, plan.timestampDelta(i));
    pos = writeVarint(buf, pos, plan.offsetDelta(i));
    pos = writeField(buf, pos, plan.key(i), sizes[3 * i + 1]!);
    pos = writeField(buf, pos, plan.value(i), sizes[3 * i + 2]!);
    const headers = plan.headers(i);
    if (headers.length === 0) buf[pos++] = 0;
    else pos = writeHeaders(buf, pos, headers);
  }
  return pos;
}

function writeHeader(buf: Buffer, h: HeaderFields): void {
  writeInt64(buf, BatchField.baseOffset, h.baseOffset);
  buf.writeInt32BE(buf.length - LOG_OVERHEAD_BYTES, BatchField.batchLength);
  buf.writeInt32BE(h.partitionLeaderEpoch, BatchField.partitionLeaderEpoch);
  buf.writeInt8(MAGIC_V2, BatchField.magic);
  buf.writeInt16BE(h.attributes, BatchField.attributes);
  buf.writeInt32BE(h.lastOffsetDelta, BatchField.lastOffsetDelta);
  writeInt64(buf, BatchField.baseTimestamp, h.baseTimestamp);
  writeInt64(buf, BatchField.maxTimestamp, h.maxTimestamp);
  writeInt64(buf, BatchField.producerId, h.producerId);
  buf.writeInt16BE(h.producerEpoch, BatchField.producerEpoch);
  buf.writeInt32BE(h.baseSequence, BatchField.baseSequence);
  buf.writeInt32BE(h.recordsCount, BatchField.recordsCount);
  // Last: the CRC covers every field from attributes on.
  buf.writeUInt32BE(computeBatchCrc(buf, 0, buf.length), BatchField.crc);
}

function checkBatchBytes(bytes: number): void {
  if (bytes > MAX_BATCH_BYTES_CEILING) {
    throw new LogError('MESSAGE_TOO_LARGE', `batch of ${bytes} bytes, limit ${MAX_BATCH_BYTES_CEILING}`);
  }
}

/** Sizes, allocates and writes a whole batch: header, records (compressed with `codec`), CRC. */
function buildBatch(plan: PlannedRecords, codec: number, fields: HeaderFields): Buffer {
  const sizes = new Int32Array(3 * plan.count);
  const recordsBytes = sizeRecords(plan, sizes);
  if (codec === CompressionCodec.none || plan.count === 0) {
    checkBatchBytes(BATCH_HEADER_BYTES + recordsBytes);
    const buf = Buffer.allocUnsafe(BATCH_HEADER_BYTES + recordsBytes);
    const end = writeRecords(plan, sizes, buf, BATCH_HEADER_BYTES);
    invariant(end === buf.length, () => `records sized ${recordsBytes} bytes, wrote ${end - BATCH_HEADER_BYTES}`);
    writeHeader(buf, fields);
    return buf;
  }
  invariant(codec === CompressionCodec.lz4, `codec ${codec} cannot be written`);
  checkBatchBytes(recordsBytes);
  const records = Buffer.allocUnsafe(recordsBytes);
  const recordsEnd = writeRecords(plan, sizes, records, 0);
  invariant(recordsEnd === recordsBytes, () => `records sized ${recordsBytes} bytes, wrote ${recordsEnd}`);
  const scratch = Buffer.allocUnsafe(BATCH_HEADER_BYTES + lz4FrameBound(recordsBytes));
  const end = writeLz4Frame(records, scratch, BATCH_HEADER_BYTES);
  checkBatchBytes(end);
  // Copy to an exact-size buffer: the caller may hold batches for a while (a producer's queue),
  // and the frame bound overshoots by whatever lz4 saved.
  const buf = Buffer.allocUnsafe(end);
  scratch.copy(buf, 0, 0, end);
  writeHeader(buf, fields);
  return buf;
}

const EMPTY_HEADERS: ReadonlyArray<readonly [string, Buffer | string | null]> = Object.freeze([]);

/**
 * The records of one batch column by column: record i is `keys[i]`, `values[i]`, `timestamps[i]`
 * and `headers?.[i]`. A producer fills these arrays as records arrive, so a queued record costs
 * array slots and no object of its own (records wait in a batch long enough for a young-generation
 * object to be promoted, and promoted garbage is what makes the GC expensive). Every timestamp is
 * given: the producer stamps records when they are sent, as Kafka's does.
 */
export interface RecordColumns {
  readonly count: number;
  readonly keys: ReadonlyArray<Buffer | string | null | undefined>;
  readonly values: ReadonlyArray<Buffer | string | null>;
  readonly timestamps: ArrayLike<number>;
  /** Absent when no record has headers. */
  readonly headers?: ReadonlyArray<RecordInput['headers']> | undefined;
}

/** The header fields encodeBatch and encodeBatchColumns take from their options, checked. */
function headerOptions(options: EncodeOptions): { codec: number; transactional: boolean; baseOffset: number; partitionLeaderEpoch: number; producerId: number; producerEpoch: number; baseSequence: number } {
  const codec = CompressionCodec[options.compression ?? 'none'];
  const baseOffset = options.baseOffset ?? 0;
  const partitionLeaderEpoch = options.partitionLeaderEpoch ?? -1;
  const producerId = options.producerId ?? -1;
  const producerEpoch = options.producerEpoch ?? -1;
  const baseSequence = options.baseSequence ?? -1;
  invariant(Number.isSafeInteger(baseOffset) && baseOffset >= 0, () => `baseOffset ${baseOffset}`);
  invariant(isInt(partitionLeaderEpoch, INT32_MIN, INT32_MAX), () => `partitionLeaderEpoch ${partitionLeaderEpoch}`);
  invariant(Number.isSafeInteger(producerId) && producerId >= -1, () => `producerId ${producerId}`);
  invariant(isInt(producerEpoch, INT16_MIN, INT16_MAX), () => `producerEpoch ${producerEpoch}`);
  invariant(isInt(baseSequence, INT32_MIN, INT32_MAX), () => `baseSequence ${baseSequence}`);
  const transactional = options.transactional ?? false;
  invariant(!transactional || producerId >= 0, 'a transactional batch needs a producer id');
  return { codec, transactional, baseOffset, partitionLeaderEpoch, producerId, producerEpoch, baseSequence };
}

function checkCount(count: number): void {
  if (count === 0) throw new LogError('INVALID_RECORD', 'a batch needs at least one record');
  if (count > MAX_RECORDS_PER_BATCH) throw new LogError('INVALID_RECORD', `${count} records, limit ${MAX_RECORDS_PER_BATCH}`);
}

/** Checks every timestamp and its delta from the first; returns the largest. */
function maxTimestampOf(timestamps: ArrayLike<number>, count: number): number {
  const baseTimestamp = timestamps[0]!;
  checkTimestamp(baseTimestamp, 0);
  let maxTimestamp = baseTimestamp;
  for (let i = 1; i < count; i++) {
    const t = timestamps[i]!;
    checkTimestamp(t, i);
    if (t > maxTimestamp) maxTimestamp = t;
    if (!Number.isSafeInteger(t - baseTimestamp)) {
      throw new LogError('INVALID_RECORD', `record ${i}: timestamp delta ${t} - ${baseTimestamp} is not a safe integer`);
    }
  }
  return maxTimestamp;
}

/** Encodes the plan of a produced batch (offset deltas 0..n-1) with the checked header options. */
function buildProducedBatch(plan: PlannedRecords, timestamps: ArrayLike<number>, options: EncodeOptions): Buffer {
  const { codec, transactional, ...fields } = headerOptions(options);
  const count = plan.count;
  return buildBatch(plan, codec, {
    ...fields,
    attributes: codec | (transactional ? TRANSACTIONAL_FLAG : 0),
    lastOffsetDelta: count - 1,
    baseTimestamp: timestamps[0]!,
    maxTimestamp: maxTimestampOf(timestamps, count),
    recordsCount: count,
  });
}

/**
 * Encodes `records` as one complete RecordBatch v2, CRC computed, offsets numbered 0..n-1 from
 * `baseOffset`. Throws INVALID_RECORD for an empty list or a bad timestamp, MESSAGE_TOO_LARGE when
 * the batch would exceed MAX_BATCH_BYTES_CEILING.
 */
export function encodeBatch(records: readonly RecordInput[], options: EncodeOptions = {}): Buffer {
  const count = records.length;
  checkCount(count);
  // One clock reading for every record without a timestamp, as Kafka's producer stamps a batch.
  let now = Number.NaN;
  const timestamps = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let timestamp = records[i]!.timestamp;
    if (timestamp === undefined) {
      if (Number.isNaN(now)) now = (options.now ?? Date.now)();
      timestamp = now;
    }
    checkTimestamp(timestamp, i);
    timestamps[i] = timestamp;
  }
  const baseTimestamp = timestamps[0]!;
  const plan: PlannedRecords = {
    count,
    offsetDelta: (i) => i,
    timestampDelta: (i) => timestamps[i]! - baseTimestamp,
    key: (i) => records[i]!.key,
    value: (i) => records[i]!.value,
    headers: (i) => {
      const headers = records[i]!.headers;
      return headers === undefined ? EMPTY_HEADERS : headerPairs(headers);
    },
  };
  return buildProducedBatch(plan, timestamps, options);
}

/**
 * `encodeBatch` for records kept column by column (`RecordColumns`): the same bytes as
 * `encodeBatch` of the records the columns describe, with the same errors.
 */
export function encodeBatchColumns(columns: RecordColumns, options: EncodeOptions = {}): Buffer {
  const { count, keys, values, timestamps, headers } = columns;
  checkCount(count);
  invariant(keys.length >= count && values.length >= count && timestamps.length >= count, 'every column holds every record');
  const baseTimestamp = timestamps[0]!;
  const plan: PlannedRecords = {
    count,
    offsetDelta: (i) => i,
    timestampDelta: (i) => timestamps[i]! - baseTimestamp,
    key: (i) => keys[i],
    value: (i) => values[i]!,
    headers:
      headers === undefined
        ? () => EMPTY_HEADERS
        : (i) => {
            const h = headers[i];
            return h === undefined ? EMPTY_HEADERS : headerPairs(h);
          },
  };
  return buildProducedBatch(plan, timestamps, options);
}

function isInt(n: number, min: number, max: number): boolean {
  return Number.isInteger(n) && n >= min && n <= max;
}

/**
 * Re-encodes the records a compaction keeps from the batch `header` described: the same
 * baseOffset, lastOffsetDelta, partitionLeaderEpoch, attributes (codec included), timestamps and
 * producer fields; each record keeps its offset, so gaps are allowed; recordsCount becomes
 * `retained.length`. Keeping every record of a create-time batch reproduces the batch.
 *
 * Kafka's cleaner differs in two ways: it recomputes baseTimestamp/maxTimestamp from the retained
 * records, where Strata keeps them (the time index already points at this batch by its
 * maxTimestamp); and when nothing is retained but the batch must stay (it carries producer state),
 * it writes an empty, uncompressed header — as Strata does for `retained = []`.
 *
 * `retained` must come from decoding that batch, in order; anything else is a programmer error.
 */
export function encodeRetainedBatch(header: BatchHeader, retained: readonly Record[]): Buffer {
  const count = retained.length;
  let previous = -1;
  for (let i = 0; i < count; i++) {
    const delta = retained[i]!.offset - header.baseOffset;
    invariant(
      delta > previous && delta <= header.lastOffsetDelta,
      () => `retained record ${i} at offset ${retained[i]!.offset} is out of order or outside the batch at ${header.baseOffset}`,
    );
    previous = delta;
  }
  const empty = count === 0;
  const plan: PlannedRecords = {
    count,
    offsetDelta: (i) => retained[i]!.offset - header.baseOffset,
    timestampDelta: (i) => retained[i]!.timestamp - header.baseTimestamp,
    key: (i) => retained[i]!.key,
    value: (i) => retained[i]!.value,
    headers: (i) => {
      const headers = retained[i]!.headers;
      return headers.length === 0 ? EMPTY_HEADERS : headers.map((h) => [h.key, h.value] as const);
    },
  };
  return buildBatch(plan, empty ? CompressionCodec.none : header.attributes & COMPRESSION_MASK, {
    baseOffset: header.baseOffset,
    partitionLeaderEpoch: header.partitionLeaderEpoch,
    attributes: empty ? header.attributes & ~COMPRESSION_MASK : header.attributes,
    lastOffsetDelta: header.lastOffsetDelta,
    baseTimestamp: empty ? header.maxTimestamp : header.baseTimestamp,
    maxTimestamp: header.maxTimestamp,
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    recordsCount: count,
  });
}

// ---------------------------------------------------------------------------------------------
// Decoding

function invalid(detail: string): LogError {
  return new LogError('INVALID_RECORD', detail);
}

/** A length-prefixed byte field: null for -1, a view into the buffer otherwise. */
function readNullableBytes(c: ByteCursor, buf: Buffer): Buffer | null {
  const length = readVarint(c);
  if (length < 0) {
    if (length === -1) return null;
    throw invalid(`negative length ${length} at ${c.pos}`);
  }
  const start = c.pos;
  if (length > c.end - start) throw invalid(`field of ${length} bytes at ${start} runs past its record`);
  c.pos = start + length;
  return buf.subarray(start, start + length);
}

/**
 * The headers of every record without any: one frozen array shared by all of them, since nearly
 * every record has none and a consumer keeps millions of decoded records alive at once.
 */
const NO_HEADERS: RecordHeader[] = Object.freeze([]) as unknown as RecordHeader[];

function readHeaders(c: ByteCursor, buf: Buffer): RecordHeader[] {
  const count = readVarint(c);
  if (count === 0) return NO_HEADERS;
  // A header takes at least two bytes (two lengths), which bounds the array a hostile count asks for.
  if (count < 0 || count > (c.end - c.pos) / 2) throw invalid(`header count ${count} at ${c.pos} does not fit its record`);
  const headers: RecordHeader[] = [];
  for (let i = 0; i < count; i++) {
    const keyBytes = readVarint(c);
    if (keyBytes < 0 || keyBytes > c.end - c.pos) throw invalid(`header key length ${keyBytes} at ${c.pos}`);
    const key = buf.toString('utf8', c.pos, c.pos + keyBytes);
    c.pos += keyBytes;
    headers.push({ key, value: readNullableBytes(c, buf) });
  }
  return headers;
}

/**
 * Builds what a decoder returns for one record. The decoder calls it once per record at or above
 * its `fromOffset`, in offset order; `key` and `value` are views (null for a null field) and
 * `headers` is the shared frozen empty array for a record without headers. A consumer builds its
 * own message objects here, so a record costs one object instead of a `Record` and a copy of it.
 */
export type RecordFactory<T> = (offset: Offset, timestamp: number, key: Buffer | null, value: Buffer | null, headers: RecordHeader[]) => T;

const makeRecord: RecordFactory<Record> = (offset, timestamp, key, value, headers) => ({ offset, timestamp, key, value, headers });

/**
 * Decodes the records of a batch whose header (and CRC) `validateBatch` already checked, pushing
 * `make(...)` of each record whose offset is at least `fromOffset` onto `out`. Every record is
 * parsed and checked, skipped or not.
 */
function decodeRecords<T>(batch: Buffer, pos: number, header: BatchHeader, maxUncompressedBytes: number, make: RecordFactory<T>, out: T[], fromOffset: number): void {
  const count = header.recordsCount;
  const sectionStart = pos + BATCH_HEADER_BYTES;
  const sectionEnd = pos + header.sizeBytes;
  const codec = header.attributes & COMPRESSION_MASK;
  // Kafka's reader yields nothing for an empty batch without looking at its body (compaction
  // writes empty batches uncompressed, with no body).
  if (count === 0) {
    if (codec === CompressionCodec.none && sectionEnd !== sectionStart) throw invalid(`empty batch at ${pos} has ${sectionEnd - sectionStart} trailing bytes`);
    return;
  }
  // Uncompressed records are read in place, at their positions in `batch`: no view of the section.
  let buf: Buffer;
  let start: number;
  let end: number;
  if (codec === CompressionCodec.none) {
    buf = batch;
    start = sectionStart;
    end = sectionEnd;
  } else {
    buf = decompress(codec, batch.subarray(sectionStart, sectionEnd), maxUncompressedBytes);
    start = 0;
    end = buf.length;
  }
  if (count > (end - start) / MIN_RECORD_BYTES) {
    throw invalid(`${count} records cannot fit in ${end - start} bytes`);
  }
  const logAppendTime = (header.attributes & TIMESTAMP_TYPE_LOG_APPEND_TIME) !== 0;
  const { baseOffset, baseTimestamp, maxTimestamp, lastOffsetDelta } = header;
  const c: ByteCursor = { buf, pos: start, end };
  let previousDelta = -1;
  for (let i = 0; i < count; i++) {
    c.end = end;
    const length = readVarint(c);
    if (length < MIN_RECORD_BODY_BYTES || length > end - c.pos) {
      throw invalid(`record ${i} of batch at ${pos} declares ${length} bytes, ${end - c.pos} left`);
    }
    const recordEnd = c.pos + length;
    c.end = recordEnd;
    c.pos++; // attributes: unused
    const timestampDelta = readVarlong(c);
    const offsetDelta = readVarint(c);
    if (offsetDelta <= previousDelta || offsetDelta > lastOffsetDelta) {
      throw invalid(`record ${i} of batch at ${pos}: offset delta ${offsetDelta} after ${previousDelta}, last ${lastOffsetDelta}`);
    }
    previousDelta = offsetDelta;
    const key = readNullableBytes(c, buf);
    const value = readNullableBytes(c, buf);
    const headers = readHeaders(c, buf);
    if (c.pos !== recordEnd) throw invalid(`record ${i} of batch at ${pos} declares ${length} bytes, holds ${length - (recordEnd - c.pos)}`);
    const timestamp = logAppendTime ? maxTimestamp : baseTimestamp + timestampDelta;
    if (!Number.isSafeInteger(timestamp)) throw invalid(`record ${i} of batch at ${pos}: timestamp is not a safe integer`);
    const offset = baseOffset + offsetDelta;
    if (offset >= fromOffset) out.push(make(offset as Offset, timestamp, key, value, headers));
  }
  if (c.pos !== end) throw invalid(`batch at ${pos} has ${end - c.pos} bytes after its ${count} records`);
}

/**
 * Decodes the batch at `pos` like `decodeBatch` (same checks, same errors), but hands each record
 * at or above `fromOffset` to `make` and pushes the result onto `out` instead of building `Record`s.
 * Returns the batch's header. The consumer decodes fetched batches with it, one at a time, as the
 * application reaches them.
 */
export function decodeBatchInto<T>(buf: Buffer, pos: number, make: RecordFactory<T>, out: T[], fromOffset = 0): BatchHeader {
  const header = validateBatch(buf, pos, buf.length, MAX_BATCH_BYTES_CEILING, false);
  decodeRecords(buf, pos, header, MAX_UNCOMPRESSED_RECORDS_BYTES, make, out, fromOffset);
  return header;
}

/**
 * Decodes the batch at `pos`: validates it (size, magic, CRC, codec, counts) without a size limit
 * beyond MAX_BATCH_BYTES_CEILING, decompresses, and decodes every record. Throws a LogError:
 * CORRUPT_MESSAGE for a damaged batch, INVALID_RECORD for malformed records inside a sound one.
 */
export function decodeBatch(buf: Buffer, pos = 0, maxUncompressedBytes = MAX_UNCOMPRESSED_RECORDS_BYTES): DecodedBatch {
  const header = validateBatch(buf, pos, buf.length, MAX_BATCH_BYTES_CEILING, false);
  const records: Record[] = [];
  decodeRecords(buf, pos, header, maxUncompressedBytes, makeRecord, records, 0);
  return { header, records };
}

/**
 * Walks the whole batches at the start of `buf` by their headers alone (no CRC, no records): the
 * bytes they take and the offset after the last of them (baseOffset + lastOffsetDelta + 1; -1 when
 * there is none). A trailing partial batch is left out and an impossible length throws
 * CORRUPT_MESSAGE, as in `decodeBatches`. Each batch is still checked in full when decoded.
 */
export function wholeBatches(buf: Buffer): { bytes: number; nextOffset: number } {
  let pos = 0;
  let nextOffset = -1;
  while (buf.length - pos >= LOG_OVERHEAD_BYTES) {
    const size = batchSizeAt(buf, pos);
    if (size < BATCH_HEADER_BYTES || size > MAX_BATCH_BYTES_CEILING) {
      throw new LogError('CORRUPT_MESSAGE', `batch at ${pos} declares ${size} bytes`);
    }
    if (size > buf.length - pos) break;
    const end = readInt64(buf, pos + BatchField.baseOffset) + buf.readInt32BE(pos + BatchField.lastOffsetDelta) + 1;
    if (end > nextOffset) nextOffset = end;
    pos += size;
  }
  return { bytes: pos, nextOffset };
}

/**
 * Decodes consecutive whole batches, as a log read returns them. A trailing partial batch (a read
 * cut at maxBytes) ends the iteration quietly; a batch whose length field is impossible (below the
 * header size or above the ceiling) throws CORRUPT_MESSAGE, as Kafka's reader does, instead of
 * passing for a partial one.
 */
export function* decodeBatches(buf: Buffer): Generator<DecodedBatch> {
  let pos = 0;
  while (buf.length - pos >= LOG_OVERHEAD_BYTES) {
    const size = batchSizeAt(buf, pos);
    if (size < BATCH_HEADER_BYTES || size > MAX_BATCH_BYTES_CEILING) {
      throw new LogError('CORRUPT_MESSAGE', `batch at ${pos} declares ${size} bytes`);
    }
    if (size > buf.length - pos) return;
    yield decodeBatch(buf, pos);
    pos += size;
  }
}
