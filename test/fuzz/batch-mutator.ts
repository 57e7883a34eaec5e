/**
 * Record batches for the fuzzer's Produce requests, written field by field here (not with
 * `encodeBatch`) so that any field can lie: most have a VALID CRC-32C over malformed records, the
 * case a CRC check alone lets through to the log, the cleaner and the consumers.
 *
 * A batch is the 61-byte v2 header (see log/batch-header.ts for the layout) and its records. Each
 * record is written from a `FuzzRecord` whose lengths and counts may disagree with its content;
 * after the corruption is applied, `batchLength` is set to the real size (unless the corruption is
 * that length) and the CRC is recomputed with the log's own `crc32c` over attributes..end.
 *
 * Keys come from a small set (`k0`..`k15`) so that a compacted topic has superseded records and its
 * cleaner has work; some batches are stamped 8 days ahead so that a segment rolls on time (a 7-day
 * `segment.ms` by default) and the cleaner sees the batch in a sealed segment.
 */
import { lz4CompressFrame } from '../../log/compression.js';
import { crc32c } from '../../log/crc32c.js';
import type { FuzzRandom } from './fuzz-prng.js';

const HEADER_BYTES = 61;
const CRC_OFFSET = 17;
const CRC_START = 21;
const DAY_MS = 24 * 60 * 60 * 1000;

/** One record as it will be written; `*Lie` fields replace the true value in the bytes. */
interface FuzzRecord {
  attributes: number;
  timestampDelta: number;
  offsetDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<{ key: Buffer; value: Buffer | null }>;
  lengthLie?: number;
  keyLengthLie?: number;
  valueLengthLie?: number;
  headerCountLie?: number;
  /** Raw bytes written in place of the key length varint (an overlong or unterminated varint). */
  rawKeyLength?: Buffer;
}

interface FuzzBatchHeader {
  baseOffset: number;
  partitionLeaderEpoch: number;
  magic: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
}

export interface FuzzBatch {
  readonly bytes: Buffer;
  /** What was done to it, for the failure report (e.g. `recordsCount=16777216`). */
  readonly description: string;
}

// ---------------------------------------------------------------------------------------------
// Zig-zag varints of any safe integer (Kafka's record fields), written with arithmetic so that
// values past 32 bits stay exact.

function zigzagVarint(n: number): Buffer {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  const out: number[] = [];
  while (z >= 0x80) {
    out.push((z % 0x80) | 0x80);
    z = Math.floor(z / 0x80);
  }
  out.push(z);
  return Buffer.from(out);
}

function lengthPrefixed(bytes: Buffer | null, lie: number | undefined): Buffer[] {
  if (bytes === null) return [zigzagVarint(lie ?? -1)];
  return [zigzagVarint(lie ?? bytes.length), bytes];
}

function encodeRecord(record: FuzzRecord): Buffer {
  const body: Buffer[] = [
    Buffer.from([record.attributes & 0xff]),
    zigzagVarint(record.timestampDelta),
    zigzagVarint(record.offsetDelta),
  ];
  if (record.rawKeyLength !== undefined) body.push(record.rawKeyLength, record.key ?? Buffer.alloc(0));
  else body.push(...lengthPrefixed(record.key, record.keyLengthLie));
  body.push(...lengthPrefixed(record.value, record.valueLengthLie));
  body.push(zigzagVarint(record.headerCountLie ?? record.headers.length));
  for (const header of record.headers) body.push(...lengthPrefixed(header.key, undefined), ...lengthPrefixed(header.value, undefined));
  const content = Buffer.concat(body);
  return Buffer.concat([zigzagVarint(record.lengthLie ?? content.length), content]);
}

function writeInt64(buf: Buffer, pos: number, n: number): void {
  buf.writeBigInt64BE(BigInt(Math.trunc(n)), pos);
}

/** Header + records region; batchLength from the real size unless `batchLengthLie`; CRC recomputed. */
function assemble(header: FuzzBatchHeader, records: Buffer, batchLengthLie?: number): Buffer {
  const buf = Buffer.alloc(HEADER_BYTES + records.length);
  writeInt64(buf, 0, header.baseOffset);
  buf.writeInt32BE(batchLengthLie ?? buf.length - 12, 8);
  buf.writeInt32BE(header.partitionLeaderEpoch, 12);
  buf.writeInt8(header.magic, 16);
  buf.writeInt16BE(header.attributes, 21);
  buf.writeInt32BE(header.lastOffsetDelta | 0, 23);
  writeInt64(buf, 27, header.baseTimestamp);
  writeInt64(buf, 35, header.maxTimestamp);
  writeInt64(buf, 43, header.producerId);
  buf.writeInt16BE(header.producerEpoch, 51);
  buf.writeInt32BE(header.baseSequence | 0, 53);
  buf.writeInt32BE(header.recordsCount | 0, 57);
  records.copy(buf, HEADER_BYTES);
  buf.writeUInt32BE(crc32c(buf.subarray(CRC_START)), CRC_OFFSET);
  return buf;
}

function randomRecords(rng: FuzzRandom): FuzzRecord[] {
  const n = rng.between(1, 6);
  const records: FuzzRecord[] = [];
  for (let i = 0; i < n; i++) {
    const headers: FuzzRecord['headers'] = [];
    if (rng.chance(0.3)) for (let h = rng.between(1, 3); h > 0; h--) headers.push({ key: Buffer.from(rng.word(1, 6)), value: rng.chance(0.2) ? null : rng.bytes(rng.below(12)) });
    records.push({
      attributes: 0,
      timestampDelta: rng.chance(0.8) ? 0 : rng.between(-1000, 1000),
      offsetDelta: i,
      key: rng.chance(0.1) ? null : Buffer.from(`k${rng.below(16)}`),
      value: rng.chance(0.15) ? null : rng.bytes(rng.below(64)),
      headers,
    });
  }
  return records;
}

function headerFor(records: readonly FuzzRecord[], baseTimestamp: number): FuzzBatchHeader {
  let maxTimestamp = baseTimestamp;
  for (const r of records) maxTimestamp = Math.max(maxTimestamp, baseTimestamp + r.timestampDelta);
  return {
    baseOffset: 0,
    partitionLeaderEpoch: -1,
    magic: 2,
    attributes: 0,
    lastOffsetDelta: records.length - 1,
    baseTimestamp,
    maxTimestamp,
    producerId: -1,
    producerEpoch: -1,
    baseSequence: -1,
    recordsCount: records.length,
  };
}

/** A well-formed batch of `k*` keys (some null values: tombstones), at `nowMs` or 8 days ahead. */
export function validBatch(rng: FuzzRandom, nowMs: number): FuzzBatch {
  const ahead = rng.chance(0.2);
  const baseTimestamp = ahead ? nowMs + 8 * DAY_MS + rng.below(DAY_MS) : nowMs;
  const records = randomRecords(rng);
  const header = headerFor(records, baseTimestamp);
  const bytes = assemble(header, Buffer.concat(records.map(encodeRecord)));
  return { bytes, description: `valid batch of ${records.length}${ahead ? ', 8 days ahead' : ''}` };
}

const OVERLONG_VARINTS: readonly Buffer[] = [
  Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
  Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]),
  Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80]),
  Buffer.from([0xff]),
];

type Corruption = (rng: FuzzRandom, header: FuzzBatchHeader, records: FuzzRecord[]) => { region?: Buffer; batchLengthLie?: number; note: string };

const ABSURD_COUNTS = [16_777_216, 2 ** 31 - 1, 0, -1, -(2 ** 31), 65_536, 1_000_000];

/**
 * The ways a batch with a valid CRC can still be wrong. Each changes the header or records and
 * returns a note; `region` replaces the encoded records entirely when it is given.
 */
const CORRUPTIONS: ReadonlyArray<readonly [number, Corruption]> = [
  [3, (rng, h, records) => {
    const count = rng.chance(0.7) ? rng.pick(ABSURD_COUNTS) : records.length + rng.pick([-1, 1, 2]);
    h.recordsCount = count;
    // A producer's batch must say count = lastOffsetDelta + 1; agreeing lies pass that header check.
    const agreeing = rng.chance(0.7);
    if (agreeing) h.lastOffsetDelta = count - 1;
    return { note: `recordsCount=${count}${agreeing ? ' (lastOffsetDelta agrees)' : ''}` };
  }],
  [1, (rng, h) => {
    h.lastOffsetDelta = rng.pick([-1, 2 ** 31 - 1, h.lastOffsetDelta + 1, h.lastOffsetDelta - 1, 16_777_216]);
    return { note: `lastOffsetDelta=${h.lastOffsetDelta}` };
  }],
  [2, (rng, _h, records) => {
    const r = rng.pick(records);
    r.lengthLie = rng.pick([2 ** 31 - 1, -1, -(2 ** 31), 0, 1, 16_777_216, 2 ** 40]);
    return { note: `record length=${r.lengthLie}` };
  }],
  [2, (rng, _h, records) => {
    const r = rng.pick(records);
    r.rawKeyLength = rng.pick(OVERLONG_VARINTS);
    return { note: `key length varint ${r.rawKeyLength.toString('hex')}` };
  }],
  [2, (rng, _h, records) => {
    const r = rng.pick(records);
    if (rng.chance(0.5)) r.keyLengthLie = rng.pick([2 ** 31 - 1, -2, 1_000_000, (r.key?.length ?? 0) + 5]);
    else r.valueLengthLie = rng.pick([2 ** 31 - 1, -2, -(2 ** 31), 1_000_000, (r.value?.length ?? 0) + 5]);
    return { note: `key/value length ${r.keyLengthLie ?? r.valueLengthLie}` };
  }],
  [2, (rng, _h, records) => {
    const r = rng.pick(records);
    r.headerCountLie = rng.pick([2 ** 31 - 1, -1, 16_777_216, 1_000_000, r.headers.length + 3, -(2 ** 31)]);
    return { note: `headerCount=${r.headerCountLie}` };
  }],
  [1, (rng, _h, records) => {
    const r = rng.pick(records);
    r.offsetDelta = rng.pick([-1, 2 ** 31 - 1, 0, r.offsetDelta + 7, 16_777_216]);
    if (records.length > 1 && rng.chance(0.5)) (records[records.length - 1] as FuzzRecord).offsetDelta = 0;
    return { note: `offsetDelta=${r.offsetDelta}` };
  }],
  [1, (rng, _h, records) => {
    const r = rng.pick(records);
    r.timestampDelta = rng.pick([2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 62, -(2 ** 62), 8 * DAY_MS * 1000]);
    return { note: `timestampDelta=${r.timestampDelta}` };
  }],
  [2, (rng, h) => {
    const which = rng.below(4);
    if (which === 0) h.baseTimestamp = -(2 ** 53 - 1);
    else if (which === 1) { h.maxTimestamp = h.baseTimestamp - 1_000_000; }
    else if (which === 2) { h.baseTimestamp = 2 ** 62; h.maxTimestamp = 2 ** 62; }
    else { h.baseTimestamp += 365 * DAY_MS * 1000; h.maxTimestamp = h.baseTimestamp; }
    return { note: `timestamps base=${h.baseTimestamp} max=${h.maxTimestamp}` };
  }],
  [1, (rng, _h, records) => {
    const region = Buffer.concat(records.map(encodeRecord));
    return { region: Buffer.concat([region, rng.bytes(rng.between(1, 20))]), note: 'trailing bytes after the records' };
  }],
  [1, (rng, _h, records) => {
    const region = Buffer.concat(records.map(encodeRecord));
    return { region: region.subarray(0, rng.below(region.length)), note: 'records cut short' };
  }],
  [2, (rng, _h, records) => {
    const region = Buffer.concat(records.map(encodeRecord));
    const flips = rng.between(1, 4);
    for (let i = 0; i < flips && region.length > 0; i++) region[rng.below(region.length)]! ^= 1 << rng.below(8);
    return { region, note: `${flips} bit flips in the records` };
  }],
  [2, (rng, h) => {
    h.attributes = (h.attributes & ~0x07) | 3;
    const garbage = rng.bytes(rng.between(0, 64));
    // Half of them start like a real LZ4 frame (magic 0x184D2204, little-endian), so the decoder goes further.
    if (rng.chance(0.5) && garbage.length >= 4) garbage.writeUInt32LE(0x184d2204, 0);
    return { region: garbage, note: 'lz4 codec bit over garbage' };
  }],
  [2, (rng, h, records) => {
    // Malformed records, validly LZ4-compressed: only decompression reveals them.
    const r = rng.pick(records);
    r.headerCountLie = rng.pick([2 ** 31 - 1, 16_777_216, -1]);
    h.attributes = (h.attributes & ~0x07) | 3;
    if (rng.chance(0.5)) h.recordsCount = rng.pick(ABSURD_COUNTS);
    return { region: lz4CompressFrame(Buffer.concat(records.map(encodeRecord))), note: `lz4 of bad records (headerCount=${r.headerCountLie}, recordsCount=${h.recordsCount})` };
  }],
  [1, (rng, h) => {
    h.attributes = (h.attributes & ~0x07) | rng.pick([1, 2, 4, 5, 6, 7]);
    return { note: `codec ${h.attributes & 7}` };
  }],
  [1, (rng, h) => {
    h.attributes |= rng.pick([0x10, 0x20, 0x40, 0x30, 0x7ff8]);
    return { note: `attributes 0x${h.attributes.toString(16)}` };
  }],
  [1, (rng, h) => {
    h.magic = rng.pick([0, 1, 3, -1]);
    return { note: `magic ${h.magic}` };
  }],
  [1, (rng, h) => {
    h.baseOffset = rng.pick([1, 2 ** 31, 2 ** 53 - 1, -1]);
    return { note: `baseOffset ${h.baseOffset}` };
  }],
  [1, (rng, h) => {
    h.producerId = rng.pick([0, 2 ** 53 - 1]);
    h.producerEpoch = rng.pick([0, 32767, -2]);
    h.baseSequence = rng.pick([0, 2 ** 31 - 1, -2]);
    return { note: `producer ${h.producerId}/${h.producerEpoch}/${h.baseSequence}` };
  }],
  [1, (rng) => {
    const lie = rng.pick([0, 48, 49, 2 ** 31 - 1, -1]);
    return { batchLengthLie: lie, note: `batchLength=${lie}` };
  }],
];

/**
 * A batch with a valid CRC-32C and one or two corruptions of its header or records; sometimes
 * preceded by a valid batch in the same `records` field (the bad one second).
 */
export function malformedBatch(rng: FuzzRandom, nowMs: number): FuzzBatch {
  const ahead = rng.chance(0.2);
  const baseTimestamp = ahead ? nowMs + 8 * DAY_MS : nowMs;
  const records = randomRecords(rng);
  const header = headerFor(records, baseTimestamp);
  const notes: string[] = [];
  let region: Buffer | undefined;
  let batchLengthLie: number | undefined;
  for (let n = rng.chance(0.25) ? 2 : 1; n > 0; n--) {
    const result = rng.weighted(CORRUPTIONS)(rng, header, records);
    notes.push(result.note);
    if (result.region !== undefined) region = result.region;
    if (result.batchLengthLie !== undefined) batchLengthLie = result.batchLengthLie;
  }
  let bytes = assemble(header, region ?? Buffer.concat(records.map(encodeRecord)), batchLengthLie);
  if (rng.chance(0.15)) {
    bytes = Buffer.concat([validBatch(rng, nowMs).bytes, bytes]);
    notes.push('after a valid batch');
  }
  return { bytes, description: `valid-CRC batch: ${notes.join(', ')}${ahead ? ', 8 days ahead' : ''}` };
}
