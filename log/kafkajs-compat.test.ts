// Method: cross-check against kafkajs, an independent RecordBatch v2 implementation: fast-check
// record sets are encoded by one side and decoded by the other, field for field, and both encoders
// are compared byte for byte where both are deterministic; lz4 goes through a kafkajs codec built on
// node-lz4 the way the kafkajs-lz4 plugin builds it.
import { createRequire } from 'node:module';
import fc from 'fast-check';
import lz4 from 'lz4';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchField, CompressionCodec, readBatchHeader } from './batch-header.js';
import { LogError } from './errors.js';
import { BATCH_HEADER_BYTES } from './limits.js';
import { decodeBatch, encodeBatch, type EncodeOptions, type RecordHeader, type RecordInput } from './record-batch.js';
import { writeVarint, writeVarlong } from './varint.js';

// ---------------------------------------------------------------------------------------------
// kafkajs internals (CommonJS, untyped below the public API)

interface KafkajsEncoder {
  buffer: Buffer;
}
interface KafkajsCodec {
  compress(encoder: KafkajsEncoder): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}
type KafkajsHeaderValue = Buffer | string;
interface KafkajsMessage {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  timestamp: number;
  headers?: { [key: string]: KafkajsHeaderValue | KafkajsHeaderValue[] };
}
interface KafkajsDecodedRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: { [key: string]: Buffer | null | Array<Buffer | null> };
}
interface KafkajsDecodedBatch {
  firstOffset: string;
  firstTimestamp: string;
  maxTimestamp: string;
  partitionLeaderEpoch: number;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  inTransaction: boolean;
  isControlBatch: boolean;
  records: KafkajsDecodedRecord[];
}
interface KafkajsLong {
  toString(): string;
}

const require = createRequire(import.meta.url);
const kafkajs = require('kafkajs') as {
  CompressionTypes: { None: 0; GZIP: 1; LZ4: 3 };
  CompressionCodecs: { [codec: number]: () => KafkajsCodec };
};
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch(args: {
    compression: number;
    firstOffset: KafkajsLong;
    firstTimestamp: number;
    maxTimestamp: number;
    partitionLeaderEpoch: number;
    lastOffsetDelta: number;
    producerId: KafkajsLong;
    producerEpoch: number;
    firstSequence: number;
    records: KafkajsEncoder[];
  }): Promise<KafkajsEncoder>;
};
const KafkajsRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (args: {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | string | null | undefined;
  value: Buffer | string | null;
  headers: KafkajsMessage['headers'];
}) => KafkajsEncoder;
const decodeKafkajsBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (decoder: unknown) => Promise<KafkajsDecodedBatch>;
const KafkajsDecoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => unknown;
const KafkajsEncoderClass = require('kafkajs/src/protocol/encoder.js') as new () => KafkajsEncoder & {
  writeVarInt(n: number): unknown;
  writeVarLong(n: number): unknown;
};
const Long = require('kafkajs/src/utils/long.js') as { fromValue(n: number): KafkajsLong };
const kafkajsCrc32C = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (buffer: Buffer) => number;

const { CompressionTypes, CompressionCodecs } = kafkajs;
const originalLz4Codec = CompressionCodecs[CompressionTypes.LZ4];
afterEach(() => {
  if (originalLz4Codec) CompressionCodecs[CompressionTypes.LZ4] = originalLz4Codec;
});

/** The kafkajs-lz4 plugin: node-lz4's frame codec, with node-lz4's defaults (4 MiB blocks, content checksum) unless told otherwise. */
function useLz4Codec(options?: Parameters<typeof lz4.encode>[1]): void {
  const codec: KafkajsCodec = {
    compress: async (encoder) => lz4.encode(encoder.buffer, options === undefined ? undefined : { ...options }),
    decompress: async (buffer) => lz4.decode(buffer),
  };
  CompressionCodecs[CompressionTypes.LZ4] = () => codec;
}
/** node-lz4 told to write the frame Kafka writes: 64 KiB independent blocks, no checksums. */
const KAFKA_FRAME_OPTIONS = { blockMaxSize: 64 * 1024, blockIndependence: true, blockChecksum: false, streamChecksum: false };

interface BatchFields {
  baseOffset: number;
  partitionLeaderEpoch: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

/** Encodes with kafkajs as its producer does, but with the base timestamp Kafka's Java client (and Strata) takes: the first record's. */
async function kafkajsEncode(messages: readonly KafkajsMessage[], fields: BatchFields, compression: number): Promise<Buffer> {
  const firstTimestamp = messages[0]!.timestamp;
  const records = messages.map((m, i) =>
    KafkajsRecord({ offsetDelta: i, timestampDelta: m.timestamp - firstTimestamp, key: m.key, value: m.value, headers: m.headers }),
  );
  const batch = await RecordBatch({
    compression,
    firstOffset: Long.fromValue(fields.baseOffset),
    firstTimestamp,
    maxTimestamp: Math.max(...messages.map((m) => m.timestamp)),
    partitionLeaderEpoch: fields.partitionLeaderEpoch,
    lastOffsetDelta: messages.length - 1,
    producerId: Long.fromValue(fields.producerId),
    producerEpoch: fields.producerEpoch,
    firstSequence: fields.baseSequence,
    records,
  });
  return batch.buffer;
}

async function kafkajsDecode(batch: Buffer): Promise<KafkajsDecodedBatch> {
  return decodeKafkajsBatch(new KafkajsDecoder(batch));
}

/** kafkajs's header object, flattened in its wire order (Object.keys, arrays as repeated keys). */
function flattenHeaders(headers: KafkajsMessage['headers']): RecordHeader[] {
  if (headers === undefined) return [];
  return Object.keys(headers).flatMap((key) => {
    const v = headers[key]!;
    return (Array.isArray(v) ? v : [v]).map((value) => ({ key, value: Buffer.from(value) }));
  });
}

/** Our header list in kafkajs's decoded shape: repeated keys collected into arrays. */
function asKafkajsHeaders(headers: readonly RecordHeader[]): KafkajsDecodedRecord['headers'] {
  const out: KafkajsDecodedRecord['headers'] = {};
  for (const { key, value } of headers) {
    const prev = out[key];
    out[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

const asBuffer = (v: Buffer | string | null | undefined): Buffer | null => (v == null ? null : Buffer.from(v));

// ---------------------------------------------------------------------------------------------
// Arbitraries

const NOW = 1_700_000_000_000;
const bytes = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 6 }));
// Header keys as plain words: kafkajs decodes headers into an object, where '__proto__' would be special.
const headerKey = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);
const headerValue = fc.oneof(bytes, text);
const kafkajsMessage: fc.Arbitrary<KafkajsMessage> = fc
  .record({
    key: fc.oneof(bytes, text, fc.constant(null), fc.constant(undefined)),
    value: fc.oneof(bytes, text, fc.constant(null)),
    timestamp: fc.integer({ min: NOW - 100_000, max: NOW + 100_000 }),
    headers: fc.dictionary(headerKey, fc.oneof(headerValue, fc.array(headerValue, { minLength: 1, maxLength: 3 })), { maxKeys: 3 }),
  })
  .map(({ key, ...rest }) => (key === undefined ? rest : { key, ...rest }));
const batchFields: fc.Arbitrary<BatchFields> = fc.record({
  baseOffset: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 45 })),
  partitionLeaderEpoch: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
  producerId: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
  producerEpoch: fc.integer({ min: -1, max: 2 ** 15 - 1 }),
  baseSequence: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
});
const messages = fc.array(kafkajsMessage, { minLength: 1, maxLength: 25 });

/** Records as Strata's encoder takes them, in the same header order kafkajs writes. */
function asRecordInputs(list: readonly KafkajsMessage[]): RecordInput[] {
  return list.map((m) => {
    const input: RecordInput = { value: m.value, timestamp: m.timestamp, headers: flattenHeaders(m.headers) };
    if (m.key !== undefined) input.key = m.key;
    return input;
  });
}

function encodeOptions(fields: BatchFields, compression: 'none' | 'lz4'): EncodeOptions {
  return { compression, ...fields };
}

/** Field-for-field check of a batch kafkajs wrote, decoded by Strata. */
function expectStrataReads(batch: Buffer, list: readonly KafkajsMessage[], fields: BatchFields, codec: number): void {
  const { header, records } = decodeBatch(batch); // validates the CRC kafkajs computed
  expect(header).toMatchObject({
    baseOffset: fields.baseOffset,
    sizeBytes: batch.length,
    partitionLeaderEpoch: fields.partitionLeaderEpoch,
    magic: 2,
    attributes: codec,
    lastOffsetDelta: list.length - 1,
    baseTimestamp: list[0]!.timestamp,
    maxTimestamp: Math.max(...list.map((m) => m.timestamp)),
    producerId: fields.producerId,
    producerEpoch: fields.producerEpoch,
    baseSequence: fields.baseSequence,
    recordsCount: list.length,
  });
  expect(records).toEqual(
    list.map((m, i) => ({
      offset: fields.baseOffset + i,
      timestamp: m.timestamp,
      key: asBuffer(m.key),
      value: asBuffer(m.value),
      headers: flattenHeaders(m.headers),
    })),
  );
}

/** Field-for-field check of a batch Strata wrote, decoded by kafkajs. */
async function expectKafkajsReads(batch: Buffer, inputs: readonly RecordInput[], fields: BatchFields): Promise<void> {
  // kafkajs does not verify CRCs; check its independent CRC-32C agrees with the stored one.
  expect(kafkajsCrc32C(batch.subarray(BatchField.attributes))).toBe(batch.readUInt32BE(BatchField.crc));
  const decoded = await kafkajsDecode(batch);
  const timestamps = inputs.map((r) => r.timestamp!);
  expect(decoded).toMatchObject({
    firstOffset: String(fields.baseOffset),
    firstTimestamp: String(timestamps[0]),
    maxTimestamp: String(Math.max(...timestamps)),
    partitionLeaderEpoch: fields.partitionLeaderEpoch,
    lastOffsetDelta: inputs.length - 1,
    producerId: String(fields.producerId),
    producerEpoch: fields.producerEpoch,
    firstSequence: fields.baseSequence,
    inTransaction: false,
    isControlBatch: false,
  });
  expect(decoded.records.map((r) => ({ offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers }))).toEqual(
    inputs.map((r, i) => ({
      offset: String(fields.baseOffset + i),
      timestamp: String(r.timestamp),
      key: asBuffer(r.key),
      value: asBuffer(r.value),
      headers: asKafkajsHeaders((r.headers as RecordHeader[] | undefined) ?? []),
    })),
  );
}

/** True when some block of the LZ4 frame at `pos` is stored raw (high bit of its size word). */
function hasRawBlock(frame: Buffer): boolean {
  for (let pos = 7; ; ) {
    const word = frame.readUInt32LE(pos);
    if (word === 0) return false;
    if (word & 0x80000000) return true;
    pos += 4 + word;
  }
}

// ---------------------------------------------------------------------------------------------

describe('kafkajs encodes, Strata decodes', () => {
  it('uncompressed: every field, with a CRC Strata verifies', async () => {
    await fc.assert(
      fc.asyncProperty(messages, batchFields, async (list, fields) => {
        expectStrataReads(await kafkajsEncode(list, fields, CompressionTypes.None), list, fields, CompressionCodec.none);
      }),
      { numRuns: 200 },
    );
  });

  it('lz4 through the kafkajs-lz4 plugin (4 MiB blocks, content checksum)', async () => {
    useLz4Codec();
    await fc.assert(
      fc.asyncProperty(messages, batchFields, async (list, fields) => {
        const batch = await kafkajsEncode(list, fields, CompressionTypes.LZ4);
        expect([...batch.subarray(BATCH_HEADER_BYTES + 4, BATCH_HEADER_BYTES + 6)]).toEqual([0x64, 0x70]);
        expectStrataReads(batch, list, fields, CompressionCodec.lz4);
      }),
      { numRuns: 100 },
    );
  });

  it('gzip: the CRC checks out, then the codec is refused as unsupported', async () => {
    const list: KafkajsMessage[] = [{ key: 'k', value: 'v', timestamp: NOW }];
    const fields: BatchFields = { baseOffset: 0, partitionLeaderEpoch: 0, producerId: -1, producerEpoch: 0, baseSequence: 0 };
    const batch = await kafkajsEncode(list, fields, CompressionTypes.GZIP);
    expect(readBatchHeader(batch).attributes).toBe(CompressionCodec.gzip);
    expect(() => decodeBatch(batch)).toThrow(LogError);
    try {
      decodeBatch(batch);
    } catch (err) {
      expect((err as LogError).errorName).toBe('UNSUPPORTED_COMPRESSION_TYPE');
    }
  });
});

describe('Strata encodes, kafkajs decodes', () => {
  // Strata may write null header values; kafkajs can decode them (it cannot encode them).
  const withNullHeaders = fc.tuple(messages, fc.array(fc.record({ key: headerKey, value: fc.constant(null) }), { maxLength: 2 })).map(([list, nulls]) =>
    asRecordInputs(list).map((r, i) => (i === 0 ? { ...r, headers: [...(r.headers as RecordHeader[]), ...nulls] } : r)),
  );

  it('uncompressed: every field', async () => {
    await fc.assert(
      fc.asyncProperty(withNullHeaders, batchFields, async (inputs, fields) => {
        await expectKafkajsReads(encodeBatch(inputs, encodeOptions(fields, 'none')), inputs, fields);
      }),
      { numRuns: 200 },
    );
  });

  it('lz4: Kafka-style frames read by kafkajs through node-lz4', async () => {
    useLz4Codec();
    await fc.assert(
      fc.asyncProperty(withNullHeaders, batchFields, async (inputs, fields) => {
        await expectKafkajsReads(encodeBatch(inputs, encodeOptions(fields, 'lz4')), inputs, fields);
      }),
      { numRuns: 100 },
    );
  });
});

describe('byte-identical output', () => {
  it('uncompressed: the same records and fields give the same bytes', async () => {
    await fc.assert(
      fc.asyncProperty(messages, batchFields, async (list, fields) => {
        const theirs = await kafkajsEncode(list, fields, CompressionTypes.None);
        const ours = encodeBatch(asRecordInputs(list), encodeOptions(fields, 'none'));
        expect(ours.equals(theirs)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('lz4 with Kafka\'s frame parameters: identical unless a block is incompressible', async () => {
    // node-lz4 keeps a block compressed even when LZ4 made it larger; Kafka (and Strata) store such
    // a block raw with the high bit of its size set. That is the one legitimate difference: both
    // frames are valid and decode to the same records. Everything else (frame header, 64 KiB
    // blocks, LZ4_compress_default output, end mark) matches byte for byte.
    useLz4Codec(KAFKA_FRAME_OPTIONS);
    const compressible = fc.array(
      fc.record({
        key: fc.constantFrom('user-1', 'user-2', null),
        value: fc.array(fc.constantFrom('alpha ', 'beta ', 'gamma ', 'delta '), { maxLength: 60 }).map((w) => w.join('')),
        timestamp: fc.integer({ min: NOW, max: NOW + 1000 }),
      }),
      { minLength: 1, maxLength: 40 },
    );
    let identical = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(compressible, messages), batchFields, async (list, fields) => {
        const theirs = await kafkajsEncode(list, fields, CompressionTypes.LZ4);
        const ours = encodeBatch(asRecordInputs(list), encodeOptions(fields, 'lz4'));
        if (hasRawBlock(ours.subarray(BATCH_HEADER_BYTES))) {
          expect(decodeBatch(theirs).records).toEqual(decodeBatch(ours).records);
        } else {
          expect(ours.equals(theirs)).toBe(true);
          identical++;
        }
      }),
      { numRuns: 150 },
    );
    expect(identical).toBeGreaterThan(30);
  });

  it('lz4 across several 64 KiB blocks, both ways', async () => {
    useLz4Codec(KAFKA_FRAME_OPTIONS);
    const list: KafkajsMessage[] = Array.from({ length: 3000 }, (_, i) => ({
      key: `key-${i % 50}`,
      value: `value ${i} `.repeat(8),
      timestamp: NOW + i,
      headers: i % 10 === 0 ? { trace: `t-${i}` } : {},
    }));
    const fields: BatchFields = { baseOffset: 1000, partitionLeaderEpoch: 3, producerId: 77, producerEpoch: 1, baseSequence: 5 };
    const theirs = await kafkajsEncode(list, fields, CompressionTypes.LZ4);
    const ours = encodeBatch(asRecordInputs(list), encodeOptions(fields, 'lz4'));
    expect(ours.equals(theirs)).toBe(true);
    expectStrataReads(theirs, list, fields, CompressionCodec.lz4);
    await expectKafkajsReads(ours, asRecordInputs(list), fields);
  });

  it('varints and varlongs match kafkajs\'s encoder', () => {
    const check = (n: number, long: boolean): void => {
      const e = new KafkajsEncoderClass();
      if (long) e.writeVarLong(n);
      else e.writeVarInt(n);
      const mine = Buffer.alloc(10);
      const end = long ? writeVarlong(mine, 0, n) : writeVarint(mine, 0, n);
      expect(mine.subarray(0, end).equals(e.buffer)).toBe(true);
    };
    fc.assert(fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (n) => check(n, false)));
    fc.assert(fc.property(fc.maxSafeInteger(), (n) => check(n, true)));
  });
});
