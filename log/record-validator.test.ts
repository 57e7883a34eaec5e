// Method: fast-check properties — every batch `encodeBatch` writes validates (both codecs, both
// origins), and every byte or varint mutation of the records (re-sealed with a valid CRC, then
// optionally lz4-compressed) is either refused or decodes to recordsCount records — plus one
// hand-made batch per attack from the tracker, each refused by the validator and by `Log.append`
// with the log left as it was.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchField, COMPRESSION_MASK, CONTROL_FLAG, CompressionCodec, computeBatchCrc, TIMESTAMP_TYPE_LOG_APPEND_TIME, TRANSACTIONAL_FLAG } from './batch-header.js';
import { lz4CompressFrame } from './compression.js';
import { LogError, type LogErrorName } from './errors.js';
import { BATCH_HEADER_BYTES } from './limits.js';
import { Log } from './log.js';
import { decodeBatch, encodeBatch, encodeRetainedBatch, type RecordInput } from './record-batch.js';
import { validateRecordBatch, type BatchOrigin, type ValidationRules } from './record-validator.js';
import { writeVarint, writeVarlong } from './varint.js';

const NOW = 1_700_000_000_000;
const HOUR_MS = 60 * 60 * 1000;

function rules(origin: BatchOrigin, overrides: Partial<ValidationRules> = {}): ValidationRules {
  return {
    origin,
    maxBatchBytes: 1024 * 1024,
    now: NOW,
    messageTimestampBeforeMaxMs: Number.MAX_SAFE_INTEGER,
    messageTimestampAfterMaxMs: HOUR_MS,
    ...overrides,
  };
}

function validate(batch: Buffer, origin: BatchOrigin = 'client', overrides: Partial<ValidationRules> = {}): void {
  validateRecordBatch(batch, 0, batch.length, rules(origin, overrides));
}

function expectLogError(name: LogErrorName, fn: () => unknown): LogError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(LogError);
    expect((error as LogError).errorName, (error as Error).message).toBe(name);
    return error as LogError;
  }
  return expect.fail(`expected LogError(${name})`);
}

/** Re-computes the CRC after a test edits bytes it covers. */
function reseal(batch: Buffer): Buffer {
  batch.writeUInt32BE(computeBatchCrc(batch, 0, batch.length), BatchField.crc);
  return batch;
}

// ---------------------------------------------------------------------------------------------
// Hand-made records, so that each attack is exactly the bytes it names.

interface RawRecord {
  attributes?: number;
  timestampDelta?: number;
  offsetDelta: number;
  keyLength?: number;
  key?: Buffer;
  valueLength?: number;
  value?: Buffer;
  /** Written as the header count, whatever `headers` holds. */
  headerCount?: number;
  headers?: Array<{ keyLength: number; key: Buffer; valueLength: number; value: Buffer }>;
  /** Added to the record's true length in its length field. */
  lengthSkew?: number;
}

function rawRecord(r: RawRecord): Buffer {
  const body = Buffer.alloc(1024);
  let pos = 0;
  body[pos++] = r.attributes ?? 0;
  pos = writeVarlong(body, pos, r.timestampDelta ?? 0);
  pos = writeVarint(body, pos, r.offsetDelta);
  const key = r.key ?? Buffer.from('k');
  pos = writeVarint(body, pos, r.keyLength ?? key.length);
  pos += key.copy(body, pos);
  const value = r.value ?? Buffer.from('value');
  pos = writeVarint(body, pos, r.valueLength ?? value.length);
  pos += value.copy(body, pos);
  const headers = r.headers ?? [];
  pos = writeVarint(body, pos, r.headerCount ?? headers.length);
  for (const h of headers) {
    pos = writeVarint(body, pos, h.keyLength);
    pos += h.key.copy(body, pos);
    pos = writeVarint(body, pos, h.valueLength);
    pos += h.value.copy(body, pos);
  }
  const prefix = Buffer.alloc(5);
  const prefixEnd = writeVarint(prefix, 0, pos + (r.lengthSkew ?? 0));
  return Buffer.concat([prefix.subarray(0, prefixEnd), body.subarray(0, pos)]);
}

interface RawBatch {
  records: Buffer;
  count: number;
  lastOffsetDelta?: number;
  attributes?: number;
  baseTimestamp?: number;
  maxTimestamp?: number;
  producerId?: number;
  baseSequence?: number;
}

/** A batch around a records section, with a valid CRC whatever the section holds. */
function rawBatch(b: RawBatch): Buffer {
  const buf = Buffer.alloc(BATCH_HEADER_BYTES + b.records.length);
  buf.writeBigInt64BE(0n, BatchField.baseOffset);
  buf.writeInt32BE(buf.length - 12, BatchField.batchLength);
  buf.writeInt32BE(-1, BatchField.partitionLeaderEpoch);
  buf.writeInt8(2, BatchField.magic);
  buf.writeInt16BE(b.attributes ?? 0, BatchField.attributes);
  buf.writeInt32BE(b.lastOffsetDelta ?? b.count - 1, BatchField.lastOffsetDelta);
  buf.writeBigInt64BE(BigInt(b.baseTimestamp ?? NOW), BatchField.baseTimestamp);
  buf.writeBigInt64BE(BigInt(b.maxTimestamp ?? NOW), BatchField.maxTimestamp);
  buf.writeBigInt64BE(BigInt(b.producerId ?? -1), BatchField.producerId);
  buf.writeInt16BE(-1, BatchField.producerEpoch);
  buf.writeInt32BE(b.baseSequence ?? -1, BatchField.baseSequence);
  buf.writeInt32BE(b.count, BatchField.recordsCount);
  b.records.copy(buf, BATCH_HEADER_BYTES);
  return reseal(buf);
}

function records(...rs: RawRecord[]): Buffer {
  return Buffer.concat(rs.map(rawRecord));
}

/** The uncompressed batch `batch` rewritten with its records section lz4-compressed. */
function toLz4(batch: Buffer): Buffer {
  const frame = lz4CompressFrame(batch.subarray(BATCH_HEADER_BYTES));
  const out = Buffer.concat([batch.subarray(0, BATCH_HEADER_BYTES), frame]);
  out.writeInt32BE(out.length - 12, BatchField.batchLength);
  out.writeInt16BE((out.readInt16BE(BatchField.attributes) & ~COMPRESSION_MASK) | CompressionCodec.lz4, BatchField.attributes);
  return reseal(out);
}

// ---------------------------------------------------------------------------------------------
// Properties

const bytes = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 8 }));
const recordInput: fc.Arbitrary<RecordInput> = fc.record({
  key: fc.option(fc.oneof(bytes, text), { nil: null }),
  value: fc.option(fc.oneof(bytes, text), { nil: null }),
  timestamp: fc.oneof(fc.integer({ min: NOW - 100_000, max: NOW + 100_000 }), fc.constantFrom(0, -1), fc.integer({ min: 0, max: 2 ** 45 })),
  headers: fc.array(fc.record({ key: text, value: fc.option(bytes, { nil: null }) }), { maxLength: 3 }),
});
const recordList = fc.array(recordInput, { minLength: 1, maxLength: 20 });
const codec = fc.constantFrom('none' as const, 'lz4' as const);
/** Bounds wide enough that only the batch's own structure decides. */
const UNBOUNDED: Partial<ValidationRules> = { messageTimestampAfterMaxMs: Number.MAX_SAFE_INTEGER - NOW };

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('varint' as const), at: fc.nat(), value: fc.oneof(fc.integer({ min: -3, max: 300 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), value: fc.integer({ min: 1, max: 6 }) }),
);

/** Applies `m` to the records section of the uncompressed `batch`; fixes the length and the CRC. */
function mutate(batch: Buffer, m: { kind: 'byte' | 'varint' | 'insert' | 'delete'; at: number; value: number }): Buffer {
  const section = Buffer.from(batch.subarray(BATCH_HEADER_BYTES));
  const at = m.at % Math.max(section.length, 1);
  let next: Buffer;
  const varint = Buffer.alloc(5);
  const varintEnd = writeVarint(varint, 0, m.value);
  switch (m.kind) {
    case 'byte':
      section[at] = m.value;
      next = section;
      break;
    case 'varint':
      varint.subarray(0, Math.min(varintEnd, section.length - at)).copy(section, at);
      next = section;
      break;
    case 'insert':
      next = Buffer.concat([section.subarray(0, at), varint.subarray(0, varintEnd), section.subarray(at)]);
      break;
    case 'delete':
      next = Buffer.concat([section.subarray(0, at), section.subarray(at + m.value)]);
      break;
  }
  const out = Buffer.concat([batch.subarray(0, BATCH_HEADER_BYTES), next]);
  out.writeInt32BE(out.length - 12, BatchField.batchLength);
  return reseal(out);
}

describe('validateRecordBatch properties', () => {
  it('accepts every batch encodeBatch writes, from a client and from a replica', () => {
    fc.assert(
      fc.property(recordList, codec, (list, compression) => {
        const batch = encodeBatch(list, { compression });
        validate(batch, 'client', UNBOUNDED);
        validate(batch, 'replica');
      }),
      { numRuns: 300 },
    );
  });

  it('accepts from a replica every batch compaction writes (any subset of records kept, none included)', () => {
    fc.assert(
      fc.property(recordList, codec, fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }), (list, compression, keep) => {
        const { header, records: decoded } = decodeBatch(encodeBatch(list, { compression }));
        const retained = decoded.filter((_, i) => keep[i] === true);
        validate(encodeRetainedBatch(header, retained), 'replica');
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a mutated batch or accepts one that decodeBatch decodes into recordsCount records', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(recordList, mutation, fc.boolean(), fc.constantFrom<BatchOrigin>('client', 'replica'), (list, m, lz4, origin) => {
        let batch = mutate(encodeBatch(list), m);
        if (lz4) batch = toLz4(batch);
        try {
          validate(batch, origin, UNBOUNDED);
        } catch (error) {
          if (!(error instanceof LogError)) throw error;
          refused += 1;
          return;
        }
        accepted += 1;
        const decoded = decodeBatch(batch);
        expect(decoded.records).toHaveLength(decoded.header.recordsCount);
      }),
      { numRuns: 2000 },
    );
    // Both outcomes happen: the property is not vacuous.
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------
// The named attacks

const ONE = (): RawRecord => ({ offsetDelta: 0 });

const ATTACKS: Array<{ name: string; error: LogErrorName; batch: () => Buffer; overrides?: Partial<ValidationRules> }> = [
  {
    name: 'record count 2^31-1 in a 1.5 KB batch',
    error: 'INVALID_RECORD',
    batch: () => rawBatch({ records: records(...Array.from({ length: 60 }, (_, i) => ({ offsetDelta: i }))), count: 2 ** 31 - 1 }),
  },
  {
    name: 'a key length far past the record',
    error: 'INVALID_RECORD',
    batch: () => rawBatch({ records: records({ offsetDelta: 0, keyLength: 2 ** 30 }), count: 1 }),
  },
  {
    name: 'a value length of -7',
    error: 'INVALID_RECORD',
    batch: () => rawBatch({ records: records({ offsetDelta: 0, valueLength: -7 }), count: 1 }),
  },
  {
    name: 'a record length past the batch',
    error: 'INVALID_RECORD',
    batch: () => rawBatch({ records: records({ offsetDelta: 0, lengthSkew: 1000 }), count: 1 }),
  },
  {
    name: 'a record length short of its fields',
    error: 'INVALID_RECORD',
    batch: () => rawBatch({ records: records({ offsetDelta: 0, lengthSkew: -2 }, { offsetDelta: 1 }), count: 2 }),
  },
  {
    name: 'a header count of 3 with one header',
    error: 'INVALID_RECORD',
    batch: () =>
      rawBatch({
        records: records({ offsetDelta: 0, headerCount: 3, headers: [{ keyLength: 1, key: Buffer.from('h'), valueLength: 1, value: Buffer.from('v') }] }),
        count: 1,
      }),
  },
  {
    name: 'a null header key',
    error: 'INVALID_RECORD',
    batch: () => rawBatch({ records: records({ offsetDelta: 0, headers: [{ keyLength: -1, key: Buffer.alloc(0), valueLength: 0, value: Buffer.alloc(0) }] }), count: 1 }),
  },
  {
    name: 'record attributes other than 0',
    error: 'INVALID_RECORD',
    batch: () => rawBatch({ records: records({ offsetDelta: 0, attributes: 0x40 }), count: 1 }),
  },
  {
    name: 'fewer records than the header counts',
    error: 'INVALID_RECORD',
    batch: () => rawBatch({ records: records(ONE(), { offsetDelta: 1 }), count: 3 }),
  },
  {
    name: 'bytes after the last record',
    error: 'INVALID_RECORD',
    batch: () => rawBatch({ records: Buffer.concat([records(ONE()), Buffer.from([0, 0, 0])]), count: 1 }),
  },
  {
    name: 'offset deltas out of order',
    error: 'INVALID_RECORD',
    batch: () => rawBatch({ records: records({ offsetDelta: 0 }, { offsetDelta: 2 }, { offsetDelta: 1 }), count: 3 }),
  },
  {
    name: 'lz4 garbage under a valid CRC',
    error: 'CORRUPT_MESSAGE',
    batch: () =>
      rawBatch({ records: Buffer.concat([Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]), Buffer.alloc(200, 0xa5)]), count: 3, attributes: CompressionCodec.lz4 }),
  },
  {
    name: 'a decompression bomb (64 KiB batch limit, 4 MiB of zeros)',
    error: 'MESSAGE_TOO_LARGE',
    batch: () => rawBatch({ records: lz4CompressFrame(Buffer.alloc(4 * 1024 * 1024)), count: 1, attributes: CompressionCodec.lz4 }),
    overrides: { maxBatchBytes: 64 * 1024 },
  },
  {
    name: 'lz4 that decompresses to records with a byte to spare',
    error: 'INVALID_RECORD',
    batch: () => rawBatch({ records: lz4CompressFrame(Buffer.concat([records(ONE()), Buffer.from([0])])), count: 1, attributes: CompressionCodec.lz4 }),
  },
  {
    name: 'a record timestamp above the batch max timestamp',
    error: 'INVALID_TIMESTAMP',
    batch: () => rawBatch({ records: records({ offsetDelta: 0, timestampDelta: 5000 }), count: 1 }),
  },
  {
    name: 'a batch max timestamp above every record',
    error: 'INVALID_TIMESTAMP',
    batch: () => rawBatch({ records: records(ONE()), count: 1, maxTimestamp: NOW + 60_000 }),
  },
  {
    name: 'a record timestamp below -1',
    error: 'INVALID_TIMESTAMP',
    batch: () => rawBatch({ records: records({ offsetDelta: 0, timestampDelta: -NOW - 10 }), count: 1 }),
  },
  {
    name: 'a control batch from a client',
    error: 'INVALID_RECORD',
    batch: () => rawBatch({ records: records(ONE()), count: 1, attributes: CONTROL_FLAG | TRANSACTIONAL_FLAG, producerId: 7, baseSequence: 0 }),
  },
  {
    name: 'a transactional batch without a producer id',
    error: 'INVALID_RECORD',
    batch: () => rawBatch({ records: records(ONE()), count: 1, attributes: TRANSACTIONAL_FLAG }),
  },
  {
    name: 'timestamps beyond message.timestamp.after.max.ms',
    error: 'INVALID_TIMESTAMP',
    batch: () => rawBatch({ records: records(ONE()), count: 1, baseTimestamp: NOW + HOUR_MS + 1, maxTimestamp: NOW + HOUR_MS + 1 }),
  },
  {
    name: 'timestamps beyond message.timestamp.before.max.ms',
    error: 'INVALID_TIMESTAMP',
    batch: () => rawBatch({ records: records(ONE()), count: 1, baseTimestamp: NOW - 8 * 24 * HOUR_MS, maxTimestamp: NOW - 8 * 24 * HOUR_MS }),
    overrides: { messageTimestampBeforeMaxMs: 7 * 24 * HOUR_MS },
  },
  {
    name: 'a log-append-time batch stamped beyond after.max.ms',
    error: 'INVALID_TIMESTAMP',
    batch: () => rawBatch({ records: records(ONE()), count: 1, attributes: TIMESTAMP_TYPE_LOG_APPEND_TIME, maxTimestamp: NOW + 2 * HOUR_MS }),
  },
];

describe('validateRecordBatch refuses each named attack', () => {
  it('accepts the well-formed batch the attacks are made from', () => {
    validate(rawBatch({ records: records({ offsetDelta: 0, headers: [{ keyLength: 1, key: Buffer.from('h'), valueLength: -1, value: Buffer.alloc(0) }] }, { offsetDelta: 1 }), count: 2 }));
    validate(toLz4(rawBatch({ records: records(ONE(), { offsetDelta: 1 }), count: 2 })));
  });

  it.each(ATTACKS)('$name: $error', ({ error, batch, overrides }) => {
    expectLogError(error, () => validate(batch(), 'client', overrides));
  });

  it('accepts from a replica what only a client may not send: a control batch, old timestamps, compacted gaps', () => {
    validate(rawBatch({ records: records(ONE()), count: 1, attributes: CONTROL_FLAG | TRANSACTIONAL_FLAG, producerId: 7, baseSequence: 0 }), 'replica');
    validate(rawBatch({ records: records(ONE()), count: 1, baseTimestamp: NOW + 10 * HOUR_MS, maxTimestamp: NOW + 10 * HOUR_MS }), 'replica');
    // Compaction: records 0 and 3 of 0..4 kept, maxTimestamp kept from the original batch.
    validate(rawBatch({ records: records({ offsetDelta: 0 }, { offsetDelta: 3 }), count: 2, lastOffsetDelta: 4, maxTimestamp: NOW + 9 }), 'replica');
    validate(rawBatch({ records: Buffer.alloc(0), count: 0, lastOffsetDelta: 4 }), 'replica');
    expectLogError('INVALID_RECORD', () => validate(rawBatch({ records: records({ offsetDelta: 0 }, { offsetDelta: 3 }), count: 2, lastOffsetDelta: 4 }), 'client'));
    expectLogError('INVALID_RECORD', () => validate(rawBatch({ records: records({ offsetDelta: 0 }, { offsetDelta: 5 }), count: 2, lastOffsetDelta: 4 }), 'replica'));
  });
});

describe('Log.append refuses each named attack and writes nothing', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-validator-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each(ATTACKS)('$name: $error', async ({ error, batch, overrides }) => {
    const log = await Log.open(dir, { flushPolicy: 'never', maxBatchBytes: overrides?.maxBatchBytes ?? 1024 * 1024, ...(overrides?.messageTimestampBeforeMaxMs === undefined ? {} : { messageTimestampBeforeMaxMs: overrides.messageTimestampBeforeMaxMs }) }, { clock: () => NOW });
    try {
      const good = encodeBatch([{ value: 'before', timestamp: NOW }]);
      await log.append(good);
      const sizeBefore = log.sizeBytes;
      await expect(log.append(Buffer.concat([encodeBatch([{ value: 'fine', timestamp: NOW }]), batch()]))).rejects.toMatchObject({ errorName: error });
      expect(log.logEndOffset).toBe(1);
      expect(log.sizeBytes).toBe(sizeBefore);
      await log.append(encodeBatch([{ value: 'after', timestamp: NOW }]));
      expect(log.logEndOffset).toBe(2);
    } finally {
      await log.close();
    }
  });
});
