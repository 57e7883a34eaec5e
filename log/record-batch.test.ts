// Method: fast-check properties over arbitrary record sets (encode→decode round trips for both
// codecs, every CRC-covered byte corrupted, any cut of concatenated batches, random compaction
// subsets), plus hand-made malformed batches and LZ4 frames re-sealed with a valid CRC so the
// record and frame checks behind it are the ones exercised.
import fc from 'fast-check';
import lz4 from 'lz4';
import { describe, expect, it } from 'vitest';
import {
  BatchField,
  COMPRESSION_MASK,
  CompressionCodec,
  TIMESTAMP_TYPE_LOG_APPEND_TIME,
  computeBatchCrc,
  readBatchHeader,
  validateBatch,
} from './batch-header.js';
import { lz4CompressFrame, lz4DecompressFrame, lz4FrameBound, writeLz4Frame } from './compression.js';
import { LogError, type LogErrorName } from './errors.js';
import { BATCH_HEADER_BYTES, MAX_BATCH_BYTES_CEILING } from './limits.js';
import {
  decodeBatch,
  decodeBatches,
  encodeBatch,
  encodeBatchColumns,
  encodeRetainedBatch,
  type EncodeOptions,
  type Record as LogRecord,
  type RecordHeader,
  type RecordInput,
} from './record-batch.js';

const NOW = 1_700_000_000_000;

function expectLogError(name: LogErrorName, fn: () => unknown): LogError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LogError);
    expect((err as LogError).errorName, (err as Error).message).toBe(name);
    return err as LogError;
  }
  return expect.fail(`expected LogError(${name})`);
}

function toBuffer(v: Buffer | string): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

/** Re-computes the CRC after a test edits bytes the CRC covers. */
function reseal(batch: Buffer): Buffer {
  batch.writeUInt32BE(computeBatchCrc(batch, 0, batch.length), BatchField.crc);
  return batch;
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

const bytes = fc.uint8Array({ maxLength: 48 }).map((a) => Buffer.from(a));
const text = fc.oneof(fc.string({ maxLength: 16 }), fc.string({ unit: 'binary', maxLength: 12 }), fc.constant(''));
const field = fc.oneof(bytes, text, fc.constant(Buffer.alloc(0)));
const headerList = fc.array(fc.record({ key: text, value: fc.option(bytes, { nil: null }) }), { maxLength: 4 });
const headerObject = fc.dictionary(text, fc.option(field, { nil: null }), { maxKeys: 4 });
const timestamp = fc.oneof(
  fc.integer({ min: NOW - 10_000, max: NOW + 10_000 }),
  fc.constantFrom(-1, 0),
  fc.integer({ min: -(2 ** 52), max: 2 ** 52 }),
);

const recordInput: fc.Arbitrary<RecordInput> = fc
  .record(
    {
      key: fc.option(field, { nil: null }),
      value: fc.option(field, { nil: null }),
      timestamp,
      headers: fc.oneof(headerList, headerObject),
    },
    { requiredKeys: ['value'] },
  )
  .map((r) => {
    const input: RecordInput = { value: r.value ?? null };
    if (r.key !== undefined) input.key = r.key;
    if (r.timestamp !== undefined) input.timestamp = r.timestamp;
    if (r.headers !== undefined) input.headers = r.headers;
    return input;
  });

const encodeOptions: fc.Arbitrary<EncodeOptions> = fc.record({
  compression: fc.constantFrom('none' as const, 'lz4' as const),
  baseOffset: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 40 }), fc.constant(Number.MAX_SAFE_INTEGER - 100_000)),
  partitionLeaderEpoch: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
  producerId: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
  producerEpoch: fc.integer({ min: -1, max: 2 ** 15 - 1 }),
  baseSequence: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
});

const batchInput = fc.record({
  records: fc.array(recordInput, { minLength: 1, maxLength: 30 }),
  options: encodeOptions,
});

/** What decoding `inputs` must give back. */
function expectedRecords(inputs: readonly RecordInput[], baseOffset: number): Array<Omit<LogRecord, 'offset'> & { offset: number }> {
  return inputs.map((r, i) => {
    let headers: RecordHeader[] = [];
    if (Array.isArray(r.headers)) headers = (r.headers as RecordHeader[]).map((h) => ({ key: Buffer.from(h.key).toString(), value: h.value }));
    else if (r.headers !== undefined) {
      headers = Object.entries(r.headers).map(([key, value]) => ({
        key: Buffer.from(key).toString(),
        value: value === null ? null : toBuffer(value),
      }));
    }
    return {
      offset: baseOffset + i,
      timestamp: r.timestamp ?? NOW,
      key: r.key == null ? null : toBuffer(r.key),
      value: r.value === null ? null : toBuffer(r.value),
      headers,
    };
  });
}

// ---------------------------------------------------------------------------------------------

describe('encodeBatch / decodeBatch', () => {
  it('round-trips arbitrary records with both codecs, and fills the header as Kafka does', () => {
    fc.assert(
      fc.property(batchInput, ({ records, options }) => {
        const batch = encodeBatch(records, { ...options, now: () => NOW });
        const header = validateBatch(batch, 0, batch.length, MAX_BATCH_BYTES_CEILING, true);
        const { header: decodedHeader, records: decoded } = decodeBatch(batch);
        expect(decodedHeader).toEqual(header);
        expect(decoded).toEqual(expectedRecords(records, options.baseOffset ?? 0));

        const timestamps = records.map((r) => r.timestamp ?? NOW);
        expect(header.sizeBytes).toBe(batch.length);
        expect(header.baseOffset).toBe(options.baseOffset);
        expect(header.partitionLeaderEpoch).toBe(options.partitionLeaderEpoch);
        expect(header.attributes).toBe(CompressionCodec[options.compression ?? 'none']);
        expect(header.lastOffsetDelta).toBe(records.length - 1);
        expect(header.recordsCount).toBe(records.length);
        expect(header.baseTimestamp).toBe(timestamps[0]);
        expect(header.maxTimestamp).toBe(Math.max(...timestamps));
        expect(header.producerId).toBe(options.producerId);
        expect(header.producerEpoch).toBe(options.producerEpoch);
        expect(header.baseSequence).toBe(options.baseSequence);
      }),
      { numRuns: 300 },
    );
  });

  it('encodes records kept column by column to the same bytes as encodeBatch', () => {
    fc.assert(
      fc.property(batchInput, ({ records, options }) => {
        const withHeaders = records.some((r) => r.headers !== undefined);
        const columns = {
          count: records.length,
          keys: records.map((r) => r.key),
          values: records.map((r) => r.value),
          timestamps: records.map((r) => r.timestamp ?? NOW),
          headers: withHeaders ? records.map((r) => r.headers) : undefined,
        };
        expect(encodeBatchColumns(columns, options)).toEqual(encodeBatch(records, { ...options, now: () => NOW }));
      }),
      { numRuns: 200 },
    );
    expectLogError('INVALID_RECORD', () => encodeBatchColumns({ count: 0, keys: [], values: [], timestamps: [] }));
    expectLogError('INVALID_RECORD', () => encodeBatchColumns({ count: 1, keys: [null], values: ['v'], timestamps: [1.5] }));
  });

  it('defaults: offsets from 0, epoch/producer fields -1, one clock reading for missing timestamps', () => {
    let reads = 0;
    const batch = encodeBatch([{ value: 'a' }, { value: 'b', timestamp: 5 }, { value: 'c' }], {
      now: () => {
        reads++;
        return NOW;
      },
    });
    expect(reads).toBe(1);
    const { header, records } = decodeBatch(batch);
    expect(header).toMatchObject({
      baseOffset: 0,
      partitionLeaderEpoch: -1,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      attributes: 0,
      baseTimestamp: NOW,
      maxTimestamp: NOW,
    });
    expect(records.map((r) => [r.offset, r.timestamp, r.key])).toEqual([
      [0, NOW, null],
      [1, 5, null],
      [2, NOW, null],
    ]);
  });

  it('writes the record layout byte for byte', () => {
    const batch = encodeBatch([{ key: 'k', value: Buffer.from([0xaa, 0xbb]), timestamp: 1000, headers: { h: null } }]);
    // length 12 | attributes 0 | tsDelta 0 | offsetDelta 0 | key len 1, 'k' | value len 2, aa bb |
    // 1 header: key len 1, 'h', value len -1
    expect([...batch.subarray(BATCH_HEADER_BYTES)]).toEqual([
      0x18, 0x00, 0x00, 0x00, 0x02, 0x6b, 0x04, 0xaa, 0xbb, 0x02, 0x02, 0x68, 0x01,
    ]);
  });

  it('rejects an empty record list and timestamps that are not safe integers', () => {
    expectLogError('INVALID_RECORD', () => encodeBatch([]));
    expectLogError('INVALID_RECORD', () => encodeBatch([{ value: 'x', timestamp: 1.5 }]));
    expectLogError('INVALID_RECORD', () => encodeBatch([{ value: 'x', timestamp: 2 ** 53 }]));
    expectLogError('INVALID_RECORD', () =>
      encodeBatch([
        { value: 'x', timestamp: -(2 ** 52) - 10 },
        { value: 'y', timestamp: 2 ** 52 + 10 },
      ]),
    );
  });

  it('refuses a batch above the ceiling before writing it', () => {
    const big = Buffer.alloc(1024 * 1024);
    const records = Array.from({ length: MAX_BATCH_BYTES_CEILING / big.length + 1 }, () => ({ value: big }));
    expectLogError('MESSAGE_TOO_LARGE', () => encodeBatch(records));
  });

  it('detects a corrupted byte anywhere from magic to the end; baseOffset and leader epoch sit outside the CRC', () => {
    fc.assert(
      fc.property(batchInput, fc.integer({ min: 1, max: 255 }), ({ records, options }, mask) => {
        const batch = encodeBatch(records, { ...options, now: () => NOW });
        for (let pos = BatchField.magic; pos < batch.length; pos++) {
          const copy = Buffer.from(batch);
          copy[pos]! ^= mask;
          expectLogError('CORRUPT_MESSAGE', () => decodeBatch(copy));
        }
        for (let pos = BatchField.batchLength; pos < BatchField.partitionLeaderEpoch; pos++) {
          const copy = Buffer.from(batch);
          copy[pos]! ^= mask;
          expect(() => decodeBatch(copy)).toThrow(LogError);
        }
        // By design: the leader stamps these without recomputing the CRC.
        const stamped = Buffer.from(batch);
        stamped[BatchField.baseOffset + 7]! ^= mask;
        stamped[BatchField.partitionLeaderEpoch + 3]! ^= mask;
        expect(decodeBatch(stamped).records).toHaveLength(records.length);
      }),
      { numRuns: 40 },
    );
  });
});

describe('decodeBatches', () => {
  const batches = fc.array(batchInput, { minLength: 1, maxLength: 5 }).map((inputs) => {
    let baseOffset = 0;
    return inputs.map(({ records, options }) => {
      const batch = encodeBatch(records, { ...options, baseOffset, now: () => NOW });
      baseOffset += records.length;
      return batch;
    });
  });

  it('decodes consecutive batches and ignores a trailing partial one at any cut', () => {
    fc.assert(
      fc.property(batches, fc.nat(), (list, cutSeed) => {
        const all = Buffer.concat(list);
        const decoded = [...decodeBatches(all)];
        expect(decoded.map((d) => d.header.sizeBytes)).toEqual(list.map((b) => b.length));
        expect(decoded.flatMap((d) => d.records.map((r) => r.offset))).toEqual(
          Array.from({ length: decoded.reduce((n, d) => n + d.records.length, 0) }, (_, i) => i),
        );

        const cut = cutSeed % (all.length + 1);
        let whole = 0;
        for (let end = 0; whole < list.length && end + list[whole]!.length <= cut; whole++) end += list[whole]!.length;
        expect([...decodeBatches(all.subarray(0, cut))]).toHaveLength(whole);
      }),
      { numRuns: 100 },
    );
  });

  it('throws on an impossible batch length instead of taking it for a partial batch', () => {
    const batch = encodeBatch([{ value: 'x' }]);
    const bad = Buffer.from(batch);
    bad.writeInt32BE(10, BatchField.batchLength);
    expectLogError('CORRUPT_MESSAGE', () => [...decodeBatches(bad)]);
    bad.writeInt32BE(0x7fffffff, BatchField.batchLength);
    expectLogError('CORRUPT_MESSAGE', () => [...decodeBatches(bad)]);
    expect([...decodeBatches(Buffer.alloc(0))]).toEqual([]);
    expect([...decodeBatches(batch.subarray(0, 11))]).toEqual([]);
  });
});

describe('encodeRetainedBatch', () => {
  it('keeps offsets, header fields and a valid CRC for any subset of records', () => {
    fc.assert(
      fc.property(batchInput, fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }), ({ records, options }, keep) => {
        const original = encodeBatch(records, { ...options, now: () => NOW });
        const { header, records: decoded } = decodeBatch(original);
        const retained = decoded.filter((_, i) => keep[i]);
        const rebuilt = encodeRetainedBatch(header, retained);

        const newHeader = validateBatch(rebuilt, 0, rebuilt.length, MAX_BATCH_BYTES_CEILING, false);
        const again = decodeBatch(rebuilt);
        expect(again.records).toEqual(retained);
        expect(newHeader.recordsCount).toBe(retained.length);
        const same = ['baseOffset', 'partitionLeaderEpoch', 'lastOffsetDelta', 'maxTimestamp', 'producerId', 'producerEpoch', 'baseSequence'] as const;
        for (const f of same) expect(newHeader[f], f).toBe(header[f]);
        if (retained.length > 0) {
          expect(newHeader.attributes).toBe(header.attributes);
          expect(newHeader.baseTimestamp).toBe(header.baseTimestamp);
        } else {
          // Kafka's empty batch: header only, uncompressed, baseTimestamp = maxTimestamp.
          expect(rebuilt.length).toBe(BATCH_HEADER_BYTES);
          expect(newHeader.attributes & COMPRESSION_MASK).toBe(CompressionCodec.none);
          expect(newHeader.baseTimestamp).toBe(header.maxTimestamp);
        }
        if (retained.length === decoded.length) expect(rebuilt.equals(original)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses records that did not come from the batch, in order', () => {
    const { header, records } = decodeBatch(encodeBatch([{ value: 'a' }, { value: 'b' }], { baseOffset: 10 }));
    expect(() => encodeRetainedBatch(header, [records[1]!, records[0]!])).toThrow(/invariant/);
    expect(() => encodeRetainedBatch(header, [{ ...records[0]!, offset: records[0]!.offset + 5 } as LogRecord])).toThrow(/invariant/);
  });
});

describe('decodeBatch on malformed records behind a valid CRC', () => {
  const one = (): Buffer => encodeBatch([{ key: 'k', value: 'v', timestamp: NOW }], { now: () => NOW });
  // Record layout from byte 61: length, attributes, tsDelta, offsetDelta, keyLen, 'k', valueLen, 'v', headerCount.
  const record = BATCH_HEADER_BYTES;

  it('rejects a record count below the records present (trailing bytes)', () => {
    const batch = encodeBatch([{ value: 'a' }, { value: 'b' }]);
    batch.writeInt32BE(1, BatchField.recordsCount);
    expectLogError('INVALID_RECORD', () => decodeBatch(reseal(batch)));
  });

  it('rejects bytes after the last record', () => {
    const batch = one();
    const longer = Buffer.concat([batch, Buffer.from([0])]);
    longer.writeInt32BE(longer.length - 12, BatchField.batchLength);
    expectLogError('INVALID_RECORD', () => decodeBatch(reseal(longer)));
  });

  it('rejects a record whose length field disagrees with its fields', () => {
    for (const length of [0, 2, 14, 18, 100]) {
      const batch = one();
      batch[record] = length;
      expectLogError('INVALID_RECORD', () => decodeBatch(reseal(batch)));
    }
  });

  it('rejects negative lengths other than -1, and negative header key lengths', () => {
    const batch = one();
    batch[record + 4] = 0x03; // key length -2
    expectLogError('INVALID_RECORD', () => decodeBatch(reseal(batch)));
    const withHeader = encodeBatch([{ value: 'v', headers: [{ key: 'h', value: null }] }]);
    withHeader[withHeader.length - 3] = 0x01; // header key length -1
    expectLogError('INVALID_RECORD', () => decodeBatch(reseal(withHeader)));
  });

  it('rejects offset deltas that pass lastOffsetDelta or do not increase', () => {
    const batch = one();
    batch[record + 3] = 0x02; // offsetDelta 1 in a batch whose lastOffsetDelta is 0
    expectLogError('INVALID_RECORD', () => decodeBatch(reseal(batch)));
    const two = encodeBatch([{ value: 'a' }, { value: 'b' }]);
    two[two.length - 5] = 0x00; // second record's offsetDelta 1 -> 0 (its 8 bytes: len, attr, ts, offset, ...)
    expectLogError('INVALID_RECORD', () => decodeBatch(reseal(two)));
  });

  it('rejects a hostile record count or header count without allocating for it', () => {
    const batch = one();
    batch.writeInt32BE(50_000_000, BatchField.recordsCount);
    batch.writeInt32BE(50_000_000, BatchField.lastOffsetDelta);
    expectLogError('INVALID_RECORD', () => decodeBatch(reseal(batch)));
    const headers = one();
    headers[headers.length - 1] = 0xfe; // varint continues: header count truncated / huge
    expectLogError('INVALID_RECORD', () => decodeBatch(reseal(headers)));
  });

  it('rejects a codec it cannot read, after checking the CRC', () => {
    const batch = one();
    batch.writeInt16BE(CompressionCodec.gzip, BatchField.attributes);
    expectLogError('CORRUPT_MESSAGE', () => decodeBatch(batch));
    expectLogError('UNSUPPORTED_COMPRESSION_TYPE', () => decodeBatch(reseal(batch)));
  });

  it('gives every record the maxTimestamp in a log-append-time batch, as Kafka readers do', () => {
    const batch = encodeBatch([{ value: 'a', timestamp: 10 }, { value: 'b', timestamp: 20 }]);
    batch.writeInt16BE(TIMESTAMP_TYPE_LOG_APPEND_TIME, BatchField.attributes);
    batch.writeUInt32BE(0, BatchField.maxTimestamp);
    batch.writeUInt32BE(99, BatchField.maxTimestamp + 4);
    expect(decodeBatch(reseal(batch)).records.map((r) => r.timestamp)).toEqual([99, 99]);
  });

  it('rejects a damaged lz4 frame and bounds decompression by the limit', () => {
    const records = Array.from({ length: 200 }, (_, i) => ({ value: `value ${i % 7}`.repeat(10), timestamp: NOW }));
    const batch = encodeBatch(records, { compression: 'lz4' });
    expect(batch.subarray(BATCH_HEADER_BYTES, BATCH_HEADER_BYTES + 7)).toEqual(Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]));
    const damaged = Buffer.from(batch);
    damaged[BATCH_HEADER_BYTES + 12]! ^= 0xff;
    expectLogError('CORRUPT_MESSAGE', () => decodeBatch(reseal(damaged)));
    expect(decodeBatch(batch).records).toHaveLength(200);
    expectLogError('MESSAGE_TOO_LARGE', () => decodeBatch(batch, 0, 1000));
  });
});

// ---------------------------------------------------------------------------------------------
// compression.ts: the LZ4 frames behind codec 3

interface Block {
  data: Buffer;
  raw?: boolean;
  checksum?: boolean;
}
interface FrameSpec {
  flg: number;
  bd?: number;
  contentSize?: number;
  blocks: Block[];
  contentChecksumOf?: Buffer;
  brokenHeaderChecksum?: boolean;
}

const xxh32 = (b: Uint8Array): number => lz4.utils.blockChecksum(b) >>> 0;
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

/** A hand-assembled frame, for the features neither Kafka nor node-lz4 writes correctly. */
function frame(spec: FrameSpec): Buffer {
  const descriptor = [spec.flg, spec.bd ?? 0x40];
  const size = spec.contentSize === undefined ? [] : [...u32(spec.contentSize), 0, 0, 0, 0];
  const magic = u32(0x184d2204);
  const described = Buffer.from([...descriptor, ...size]);
  const hc = (xxh32(spec.brokenHeaderChecksum ? Buffer.concat([magic, described]) : described) >>> 8) & 0xff;
  const parts = [magic, described, Buffer.from([hc])];
  for (const block of spec.blocks) {
    let stored = block.data;
    if (!block.raw) {
      const out = Buffer.alloc(lz4.encodeBound(block.data.length));
      stored = out.subarray(0, lz4.encodeBlock(block.data, out));
    }
    parts.push(u32(stored.length | (block.raw ? 0x80000000 : 0)), stored);
    if (block.checksum) parts.push(u32(xxh32(stored)));
  }
  parts.push(u32(0));
  if (spec.contentChecksumOf) parts.push(u32(xxh32(spec.contentChecksumOf)));
  return Buffer.concat(parts);
}

describe('LZ4 frames (compression.ts)', () => {
  const content = fc.oneof(
    fc.uint8Array({ maxLength: 2000 }),
    fc.array(fc.constantFrom('kafka ', 'strata ', 'log ', '\u00e9t\u00e9 '), { maxLength: 40_000 }).map((w) => Buffer.from(w.join(''))),
  ).map((a) => Buffer.from(a));

  it('writes Kafka\'s frame (FLG 0x60, BD 0x40, HC 0x82, 64 KiB independent blocks, no checksums) and reads it back', () => {
    fc.assert(
      fc.property(content, (data) => {
        const f = lz4CompressFrame(data);
        expect([...f.subarray(0, 7)]).toEqual([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]);
        expect([...f.subarray(f.length - 4)]).toEqual([0, 0, 0, 0]);
        expect(f.length).toBeLessThanOrEqual(lz4FrameBound(data.length));
        expect(lz4DecompressFrame(f, data.length).equals(data)).toBe(true);
        // node-lz4's decoder is an independent reader of the same frame.
        expect(lz4.decode(f).equals(data)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('stores an incompressible block raw, as Kafka does, and splits at 64 KiB', () => {
    const random = Buffer.from(fc.sample(fc.uint8Array({ minLength: 70_000, maxLength: 70_000 }), 1)[0]!);
    const f = Buffer.alloc(lz4FrameBound(random.length));
    const end = writeLz4Frame(random, f, 0);
    expect(end).toBe(lz4FrameBound(random.length));
    expect(f.readUInt32LE(7)).toBe((0x80000000 | 65536) >>> 0);
    expect(f.readUInt32LE(7 + 4 + 65536)).toBe((0x80000000 | (70_000 - 65536)) >>> 0);
    expect(lz4DecompressFrame(f.subarray(0, end), 1e6).equals(random)).toBe(true);
  });

  it('reads node-lz4 frames of every block size, with and without a content checksum', () => {
    const data = Buffer.from('the quick brown fox jumps over the lazy dog, '.repeat(30_000));
    for (const blockMaxSize of [64 << 10, 256 << 10, 1 << 20, 4 << 20]) {
      for (const streamChecksum of [true, false]) {
        const f = lz4.encode(data, { blockMaxSize, streamChecksum });
        expect(lz4DecompressFrame(f, data.length).equals(data), `${blockMaxSize} ${streamChecksum}`).toBe(true);
      }
    }
  });

  it('sizes its output by the content, not by a frame\'s 4 MiB block size', () => {
    const small = Buffer.from('a modest batch of records '.repeat(800));
    const out = lz4DecompressFrame(lz4.encode(small), 1 << 30);
    expect(out.equals(small)).toBe(true);
    expect(out.buffer.byteLength).toBeLessThanOrEqual(256 * 1024);
    // Content that expands beyond 4:1 takes the second pass, with independent and linked blocks.
    const zeros = Buffer.alloc(3 << 20);
    expect(lz4DecompressFrame(lz4.encode(zeros), 1 << 30).equals(zeros)).toBe(true);
    const linked = lz4.encode(zeros, { blockIndependence: false });
    expect(linked[4]! & 0x20).toBe(0);
    expect(lz4DecompressFrame(linked, 1 << 30).equals(zeros)).toBe(true);
  });

  it('verifies content and block checksums, content size and the header checksum', () => {
    const data = Buffer.from('abcdefgh'.repeat(100));
    const good = frame({ flg: 0x74, blocks: [{ data, checksum: true }], contentChecksumOf: data });
    expect(lz4DecompressFrame(good, 1e6).equals(data)).toBe(true);
    expectLogError('CORRUPT_MESSAGE', () =>
      lz4DecompressFrame(frame({ flg: 0x64, blocks: [{ data }], contentChecksumOf: Buffer.from('other') }), 1e6),
    );
    const badBlock = Buffer.from(good);
    badBlock[good.length - 9]! ^= 1; // the block checksum
    expectLogError('CORRUPT_MESSAGE', () => lz4DecompressFrame(badBlock, 1e6));
    const badHeader = Buffer.from(good);
    badHeader[6]! ^= 1;
    expectLogError('CORRUPT_MESSAGE', () => lz4DecompressFrame(badHeader, 1e6));

    expect(lz4DecompressFrame(frame({ flg: 0x68, contentSize: data.length, blocks: [{ data }] }), 1e6).equals(data)).toBe(true);
    expectLogError('CORRUPT_MESSAGE', () => lz4DecompressFrame(frame({ flg: 0x68, contentSize: 5, blocks: [{ data }] }), 1e6));
    expectLogError('MESSAGE_TOO_LARGE', () => lz4DecompressFrame(frame({ flg: 0x68, contentSize: 5000, blocks: [{ data }] }), 1000));
  });

  it('accepts the header checksum pre-0.10 Kafka clients wrote (over the magic too)', () => {
    const data = Buffer.from('legacy '.repeat(50));
    expect(lz4DecompressFrame(frame({ flg: 0x60, blocks: [{ data }], brokenHeaderChecksum: true }), 1e6).equals(data)).toBe(true);
  });

  it('decodes linked blocks whose matches reach into the previous block', () => {
    const first = Buffer.from('0123456789abcdef');
    // Block 2: a 16-byte match 16 bytes back (into block 1), then the mandatory literal tail.
    const second = Buffer.from([0x0c, 0x10, 0x00, 0x50, ...Buffer.from('WXYZ!')]);
    const spec = (flg: number): FrameSpec => ({ flg, blocks: [{ data: first, raw: true }, { data: second, raw: true }] });
    const linked = frame(spec(0x40));
    // Mark block 2 compressed: it is a hand-written LZ4 sequence, not raw bytes.
    const at = 7 + 4 + first.length;
    linked.writeUInt32LE(second.length, at);
    expect(lz4DecompressFrame(linked, 1000).toString()).toBe('0123456789abcdef0123456789abcdefWXYZ!');
    // The same block in an independent-block frame reaches outside its block: malformed.
    const independent = Buffer.from(linked);
    independent[4] = 0x60;
    independent[6] = (xxh32(Buffer.from([0x60, 0x40])) >>> 8) & 0xff;
    expectLogError('CORRUPT_MESSAGE', () => lz4DecompressFrame(independent, 1000));
  });

  it('skips skippable frames and reads concatenated frames', () => {
    const a = Buffer.from('first frame ');
    const b = Buffer.from('second frame');
    const skippable = Buffer.concat([u32(0x184d2a53), u32(3), Buffer.from([1, 2, 3])]);
    const joined = Buffer.concat([skippable, lz4CompressFrame(a), lz4CompressFrame(b)]);
    expect(lz4DecompressFrame(joined, 1000).toString()).toBe('first frame second frame');
  });

  it('rejects every truncation of a frame', () => {
    const data = Buffer.from('truncate me '.repeat(20));
    const f = frame({ flg: 0x74, blocks: [{ data, checksum: true }], contentChecksumOf: data });
    for (let end = 0; end < f.length; end++) expectLogError('CORRUPT_MESSAGE', () => lz4DecompressFrame(f.subarray(0, end), 1e6));
  });

  it('stops a decompression bomb at the limit', () => {
    const zeros = Buffer.alloc(8 << 20);
    const bomb = lz4CompressFrame(zeros);
    expect(bomb.length).toBeLessThan(40_000);
    expectLogError('MESSAGE_TOO_LARGE', () => lz4DecompressFrame(bomb, 1 << 20));
    expect(lz4DecompressFrame(bomb, 8 << 20).length).toBe(8 << 20);
    const rawBomb = frame({ flg: 0x60, blocks: [{ data: Buffer.alloc(2000), raw: true }] });
    expectLogError('MESSAGE_TOO_LARGE', () => lz4DecompressFrame(rawBomb, 1000));
  });

  it('rejects what is not an LZ4 frame', () => {
    expectLogError('CORRUPT_MESSAGE', () => lz4DecompressFrame(Buffer.alloc(0), 100));
    expectLogError('CORRUPT_MESSAGE', () => lz4DecompressFrame(Buffer.from('not an lz4 frame'), 100));
    const f = lz4CompressFrame(Buffer.from('x'));
    for (const [at, value] of [
      [4, 0x20], // version 00
      [4, 0x62], // reserved FLG bit
      [5, 0x30], // block size code 3
      [5, 0x41], // reserved BD bits
      [4, 0x61], // dictionary id
    ] as const) {
      const bad = Buffer.from(f);
      bad[at] = value;
      bad[6] = (xxh32(bad.subarray(4, 6)) >>> 8) & 0xff;
      expectLogError('CORRUPT_MESSAGE', () => lz4DecompressFrame(bad, 100));
    }
    expectLogError('CORRUPT_MESSAGE', () => lz4DecompressFrame(Buffer.concat([f, Buffer.from([1, 2])]), 100));
  });
});

// Keep the header reader honest about the batches this file writes.
describe('header of an encoded batch', () => {
  it('reads back through readBatchHeader at any position in a larger buffer', () => {
    const batch = encodeBatch([{ value: 'x', timestamp: 7 }], { baseOffset: 42 });
    const padded = Buffer.concat([Buffer.alloc(13), batch]);
    expect(readBatchHeader(padded, 13).baseOffset).toBe(42);
    expect(decodeBatch(padded, 13).records[0]!.offset).toBe(42);
  });
});
