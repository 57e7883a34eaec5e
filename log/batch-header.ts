/**
 * The fixed 61-byte header of a Kafka RecordBatch v2 (magic 2): read it, validate a whole batch
 * without decoding its records, and stamp the fields a leader assigns. This is all the broker's hot
 * path touches; `record-batch.ts` encodes and decodes the records behind it.
 *
 *   offset size field                 notes
 *   ------ ---- --------------------- ---------------------------------------------------------
 *        0    8 baseOffset            int64 BE; assigned by the leader on append
 *        8    4 batchLength           int32 BE; bytes after this field (whole batch = 12 + it)
 *       12    4 partitionLeaderEpoch  int32 BE; stamped by the leader, -1 when none
 *       16    1 magic                 int8, always 2
 *       17    4 crc                   uint32 BE; CRC-32C of bytes 21..end of batch
 *       21    2 attributes            int16 BE; bits 0-2 codec, 3 timestamp type,
 *                                     4 transactional, 5 control, 6 delete horizon
 *       23    4 lastOffsetDelta       int32 BE
 *       27    8 baseTimestamp         int64 BE, ms
 *       35    8 maxTimestamp          int64 BE, ms
 *       43    8 producerId            int64 BE, -1 when none
 *       51    2 producerEpoch         int16 BE, -1 when none
 *       53    4 baseSequence          int32 BE, -1 when none
 *       57    4 recordsCount          int32 BE
 *       61    … records               compressed as one block when the codec is not 0
 *
 * Because the CRC starts at `attributes`, stamping `baseOffset` and `partitionLeaderEpoch` never
 * invalidates it. int64 fields are read as JS numbers and must be exactly representable (|n| < 2^53).
 */
import { crc32c } from './crc32c.js';
import { LogError } from './errors.js';
import { BATCH_HEADER_BYTES, LOG_OVERHEAD_BYTES } from './limits.js';
import type { Epoch, Offset } from './units.js';

export const BatchField = Object.freeze({
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordsCount: 57,
});

export const MAGIC_V2 = 2;
/** The CRC covers attributes..end. */
export const CRC_START = BatchField.attributes;

/** Compression codecs in attribute bits 0-2, as Kafka numbers them. */
export const CompressionCodec = Object.freeze({ none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 });
export type CompressionName = keyof typeof CompressionCodec;
export const COMPRESSION_MASK = 0x07;
export const TIMESTAMP_TYPE_LOG_APPEND_TIME = 0x08;
export const TRANSACTIONAL_FLAG = 0x10;
export const CONTROL_FLAG = 0x20;
export const DELETE_HORIZON_FLAG = 0x40;

/** Codecs this build can write and read. */
const SUPPORTED_CODECS: ReadonlySet<number> = new Set([CompressionCodec.none, CompressionCodec.lz4]);

export interface BatchHeader {
  baseOffset: Offset;
  /** Bytes of the whole batch, log overhead included (12 + batchLength). */
  sizeBytes: number;
  partitionLeaderEpoch: Epoch;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
}

const TWO_32 = 2 ** 32;

/** Reads a big-endian int64 as a number; asserts it is exactly representable. */
export function readInt64(buf: Uint8Array, pos: number): number {
  const view = buf as Buffer;
  const hi = view.readInt32BE(pos);
  const lo = view.readUInt32BE(pos + 4);
  const n = hi * TWO_32 + lo;
  if (!Number.isSafeInteger(n)) throw new LogError('CORRUPT_MESSAGE', `int64 at ${pos} is not a safe integer`);
  return n;
}

/** Writes a safe-integer number as a big-endian int64. */
export function writeInt64(buf: Uint8Array, pos: number, n: number): void {
  const view = buf as Buffer;
  const hi = Math.floor(n / TWO_32);
  view.writeInt32BE(hi, pos);
  view.writeUInt32BE(n - hi * TWO_32, pos + 4);
}

/** Size of the batch starting at `pos` (12 + batchLength), read from its length field alone. */
export function batchSizeAt(buf: Uint8Array, pos: number): number {
  return LOG_OVERHEAD_BYTES + (buf as Buffer).readInt32BE(pos + BatchField.batchLength);
}

export function readBatchHeader(buf: Uint8Array, pos = 0): BatchHeader {
  const b = buf as Buffer;
  return {
    baseOffset: readInt64(b, pos + BatchField.baseOffset) as Offset,
    sizeBytes: LOG_OVERHEAD_BYTES + b.readInt32BE(pos + BatchField.batchLength),
    partitionLeaderEpoch: b.readInt32BE(pos + BatchField.partitionLeaderEpoch) as Epoch,
    magic: b.readInt8(pos + BatchField.magic),
    crc: b.readUInt32BE(pos + BatchField.crc),
    attributes: b.readInt16BE(pos + BatchField.attributes),
    lastOffsetDelta: b.readInt32BE(pos + BatchField.lastOffsetDelta),
    baseTimestamp: readInt64(b, pos + BatchField.baseTimestamp),
    maxTimestamp: readInt64(b, pos + BatchField.maxTimestamp),
    producerId: readInt64(b, pos + BatchField.producerId),
    producerEpoch: b.readInt16BE(pos + BatchField.producerEpoch),
    baseSequence: b.readInt32BE(pos + BatchField.baseSequence),
    recordsCount: b.readInt32BE(pos + BatchField.recordsCount),
  };
}

/** CRC-32C over attributes..end of the batch at `pos` of `sizeBytes` bytes. */
export function computeBatchCrc(buf: Uint8Array, pos: number, sizeBytes: number): number {
  return crc32c(buf.subarray(pos + CRC_START, pos + sizeBytes));
}

/**
 * Checks the batch at `pos` without decoding its records: a sane length that fits in `end` and in
 * `maxBatchBytes`, magic 2, a matching CRC, a known codec and consistent counts. Returns its header;
 * throws a `LogError` (CORRUPT_MESSAGE, MESSAGE_TOO_LARGE, UNSUPPORTED_COMPRESSION_TYPE,
 * INVALID_RECORD) naming what is wrong.
 *
 * `fromProducer` adds the checks a producer's batch must pass but a compacted one need not: at least
 * one record, and records numbered 0..count-1 without gaps.
 */
export function validateBatch(
  buf: Uint8Array,
  pos: number,
  end: number,
  maxBatchBytes: number,
  fromProducer: boolean,
): BatchHeader {
  if (end - pos < BATCH_HEADER_BYTES) {
    throw new LogError('CORRUPT_MESSAGE', `${end - pos} bytes left at ${pos}, less than a batch header`);
  }
  const size = batchSizeAt(buf, pos);
  if (size < BATCH_HEADER_BYTES) throw new LogError('CORRUPT_MESSAGE', `batch length ${size} at ${pos} is too small`);
  // A length past the end of the bytes at hand is damage, whatever its size; only a whole batch can be too large.
  if (size > end - pos) throw new LogError('CORRUPT_MESSAGE', `batch of ${size} bytes at ${pos} runs past the end`);
  if (size > maxBatchBytes) {
    throw new LogError('MESSAGE_TOO_LARGE', `batch of ${size} bytes at ${pos}, limit ${maxBatchBytes}`);
  }
  const header = readBatchHeader(buf, pos);
  if (header.magic !== MAGIC_V2) throw new LogError('CORRUPT_MESSAGE', `magic ${header.magic} at ${pos}, expected 2`);
  const crc = computeBatchCrc(buf, pos, size);
  if (crc !== header.crc) {
    throw new LogError('CORRUPT_MESSAGE', `CRC mismatch at ${pos}: stored ${header.crc}, computed ${crc}`);
  }
  if (!SUPPORTED_CODECS.has(header.attributes & COMPRESSION_MASK)) {
    throw new LogError('UNSUPPORTED_COMPRESSION_TYPE', `codec ${header.attributes & COMPRESSION_MASK} at ${pos}`);
  }
  if (header.lastOffsetDelta < 0 || header.recordsCount < 0 || header.recordsCount > header.lastOffsetDelta + 1) {
    throw new LogError(
      'CORRUPT_MESSAGE',
      `batch at ${pos} claims ${header.recordsCount} records over offset delta ${header.lastOffsetDelta}`,
    );
  }
  if (fromProducer && (header.recordsCount === 0 || header.recordsCount !== header.lastOffsetDelta + 1)) {
    throw new LogError(
      'INVALID_RECORD',
      `a produced batch needs records numbered 0..count-1; got ${header.recordsCount} records, last delta ${header.lastOffsetDelta}`,
    );
  }
  return header;
}

/** Writes the fields a leader assigns on append. The CRC does not cover them, so it stays valid. */
export function stampBatch(buf: Uint8Array, pos: number, baseOffset: Offset, leaderEpoch: Epoch): void {
  writeInt64(buf, pos + BatchField.baseOffset, baseOffset);
  (buf as Buffer).writeInt32BE(leaderEpoch, pos + BatchField.partitionLeaderEpoch);
}

/** Last offset of the batch at `pos`: baseOffset + lastOffsetDelta. */
export function lastOffsetOf(buf: Uint8Array, pos: number): Offset {
  return (readInt64(buf, pos + BatchField.baseOffset) + (buf as Buffer).readInt32BE(pos + BatchField.lastOffsetDelta)) as Offset;
}
