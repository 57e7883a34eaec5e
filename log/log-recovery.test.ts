// Method: build multi-segment logs, copy their directory as a crash would leave it (while the log is
// open, or after a close with the clean-shutdown marker removed and a chosen recovery point), damage
// the copy — cut, flipped, appended or index-mangled bytes, a garbage checkpoint — reopen it, and
// compare every batch the log serves, byte for byte, with what was appended and with a model of what
// recovery must keep.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchSizeAt, lastOffsetOf, readInt64 } from './batch-header.js';
import { BATCH_HEADER_BYTES, SEGMENT_OFFSET_SPAN_MAX } from './limits.js';
import { CHECKPOINT_FILE, readLogCheckpoint, writeLogCheckpoint } from './log-checkpoint.js';
import { CLEAN_SHUTDOWN_FILE, Log } from './log.js';
import { decodeBatch, encodeBatch, type RecordInput } from './record-batch.js';
import { asOffset } from './units.js';
import { prng } from '../test/fixtures/prng.js';

/** Small segments and a small index interval, so a few dozen batches make several indexed segments. */
const CONFIG = {
  segmentBytes: 8 * 1024,
  maxBatchBytes: 2048,
  indexIntervalBytes: 256,
  flushPolicy: 'never',
} as const;
const T0 = 1_700_000_000_000;

// ------------------------------------------------------------------------------------------------
// Fixtures

/** A batch as the log stores it (offsets stamped), with each record's timestamp. */
interface Stored {
  baseOffset: number;
  lastOffset: number;
  bytes: Buffer;
  timestamps: number[];
}

/** A batch found in a `.log` file. */
interface FileBatch {
  position: number;
  size: number;
  baseOffset: number;
  lastOffset: number;
}

const temps: string[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-'));
  temps.push(dir);
  return dir;
}

function copyDir(from: string): string {
  const to = tempDir();
  fs.cpSync(from, to, { recursive: true });
  return to;
}

function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

afterAll(() => {
  for (const dir of temps) removeDir(dir);
});


function int(rng: () => number, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

function randomBytes(rng: () => number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = int(rng, 0, 255);
  return bytes;
}

/** Writes batches of random keyed records, timestamps jittered so they are not monotonic. */
class Producer {
  private readonly rng: () => number;
  private records: number;

  /** `firstRecord` places the timestamps: record n is stamped about T0 + 10 n. */
  constructor(seed: number, firstRecord = 0) {
    this.rng = prng(seed);
    this.records = firstRecord;
  }

  async append(log: Log, recordCount = int(this.rng, 1, 8)): Promise<Stored> {
    const rng = this.rng;
    const records: RecordInput[] = [];
    const timestamps: number[] = [];
    for (let i = 0; i < recordCount; i++) {
      const timestamp = T0 + this.records++ * 10 + int(rng, -25, 25);
      const record: RecordInput = {
        key: rng() < 0.1 ? null : `key-${int(rng, 0, 40)}`,
        value: rng() < 0.05 ? null : randomBytes(rng, recordCount === 1 ? int(rng, 0, 8) : int(rng, 0, 120)),
        timestamp,
      };
      if (rng() < 0.2) record.headers = { trace: `t${this.records}` };
      records.push(record);
      timestamps.push(timestamp);
    }
    const batch = encodeBatch(records, { compression: rng() < 0.25 ? 'lz4' : 'none' });
    const result = await log.append(batch);
    expect(result.lastOffset - result.baseOffset).toBe(recordCount - 1);
    // append stamped the base offset into `batch`: it now holds the bytes the log stores.
    return { baseOffset: result.baseOffset, lastOffset: result.lastOffset, bytes: Buffer.from(batch), timestamps };
  }
}

/** Appends random batches until the log has `segments` segments and its active one has room left. */
async function fill(log: Log, producer: Producer, segments: number, expected: Stored[] = []): Promise<Stored[]> {
  for (;;) {
    const activeBase = log.segmentBaseOffsets.at(-1) as number;
    const inActive = expected.filter((b) => b.baseOffset >= activeBase).length;
    const activeBytes = fs.statSync(segmentFile(log.dir, activeBase)).size;
    if (log.segmentCount >= segments && inActive >= 4 && activeBytes < CONFIG.segmentBytes - 1024) return expected;
    expected.push(await producer.append(log));
  }
}

function segmentFile(dir: string, base: number, suffix = '.log'): string {
  return path.join(dir, String(base).padStart(20, '0') + suffix);
}

function segmentBases(dir: string): number[] {
  return fs
    .readdirSync(dir)
    .filter((name) => /^\d{20}\.log$/.test(name))
    .map((name) => Number(name.slice(0, 20)))
    .sort((a, b) => a - b);
}

function fileBatches(file: string): FileBatch[] {
  const bytes = fs.readFileSync(file);
  const batches: FileBatch[] = [];
  let position = 0;
  while (position + BATCH_HEADER_BYTES <= bytes.length) {
    const size = batchSizeAt(bytes, position);
    if (size < BATCH_HEADER_BYTES || position + size > bytes.length) break;
    batches.push({ position, size, baseOffset: readInt64(bytes, position), lastOffset: lastOffsetOf(bytes, position) });
    position += size;
  }
  return batches;
}

/** Every batch the log serves, from its start to its end, as separate buffers. */
async function readAll(log: Log): Promise<Buffer[]> {
  const batches: Buffer[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const { bytes, nextOffset } = await log.read(offset, { maxBytes: 64 * 1024 });
    expect(bytes.length, `a read at ${offset} below the log end ${log.logEndOffset} returns a batch`).toBeGreaterThan(0);
    let position = 0;
    while (position < bytes.length) {
      const size = batchSizeAt(bytes, position);
      batches.push(Buffer.from(bytes.subarray(position, position + size)));
      position += size;
    }
    expect(nextOffset).toBeGreaterThan(offset);
    offset = nextOffset;
  }
  return batches;
}

function describeBatches(batches: readonly Buffer[]): string[] {
  return batches.map((b) => `${readInt64(b, 0)}..${lastOffsetOf(b, 0)} (${b.length} B)`);
}

/** The log serves exactly `expected`, byte for byte, and every batch decodes to its offsets. */
async function expectServes(log: Log, expected: readonly Buffer[]): Promise<void> {
  const actual = await readAll(log);
  expect(describeBatches(actual)).toEqual(describeBatches(expected));
  for (let i = 0; i < actual.length; i++) {
    expect((actual[i] as Buffer).equals(expected[i] as Buffer), `batch ${i} is byte-identical`).toBe(true);
  }
}

async function expectIntact(log: Log, expected: readonly Stored[]): Promise<void> {
  await expectServes(log, expected.map((b) => b.bytes));
  for (const stored of expected) {
    const { records } = decodeBatch(stored.bytes);
    expect(records.map((r) => r.offset)).toEqual(stored.timestamps.map((_, i) => stored.baseOffset + i));
  }
}

/** Appending after recovery continues at the recovered log end and reads back. */
async function expectAppendContinues(log: Log, producer: Producer): Promise<Stored> {
  const end = log.logEndOffset;
  const stored = await producer.append(log, 2);
  expect(stored.baseOffset).toBe(end);
  expect(log.logEndOffset).toBe(end + 2);
  const { bytes } = await log.read(asOffset(end), { maxBytes: 1 });
  expect(bytes.equals(stored.bytes)).toBe(true);
  return stored;
}

async function withLog<T>(dir: string, body: (log: Log) => Promise<T>): Promise<T> {
  const log = await Log.open(dir, CONFIG);
  try {
    return await body(log);
  } finally {
    await log.close();
  }
}

/** A directory image of a log stopped uncleanly: `open` copied while the log ran, `closed` after close(). */
interface Image {
  dir: string;
  expected: Stored[];
  bases: number[];
}

/**
 * Builds a log and copies its directory while it is still open: nothing has yielded to the event
 * loop since the appends, so no background seal has run and the image holds whole `.log` files, empty
 * indexes and the checkpoint written at open (recovery point 0) — a crash right after the appends.
 */
async function openImage(seed: number, segments: number, finalSmallBatch: boolean): Promise<Image> {
  const dir = tempDir();
  const log = await Log.open(dir, CONFIG);
  const producer = new Producer(seed);
  const expected = await fill(log, producer, segments);
  if (finalSmallBatch) expected.push(await producer.append(log, 1));
  const image = copyDir(dir);
  await log.close();
  removeDir(dir);
  return { dir: image, expected, bases: segmentBases(image) };
}

/** Builds a log and closes it: every index persisted, the marker left, the recovery point at the active segment. */
async function closedImage(seed: number, segments: number): Promise<Image> {
  const dir = tempDir();
  const expected = await withLog(dir, (log) => fill(log, new Producer(seed), segments));
  expect(fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE))).toBe(true);
  return { dir, expected, bases: segmentBases(dir) };
}

/** A copy of a closed image as an unclean stop leaves it: no marker. */
function uncleanCopy(image: Image): string {
  const dir = copyDir(image.dir);
  fs.rmSync(path.join(dir, CLEAN_SHUTDOWN_FILE));
  return dir;
}

function xorByte(file: string, position: number, mask: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, position);
    byte[0] = (byte[0] as number) ^ mask;
    fs.writeSync(fd, byte, 0, 1, position);
  } finally {
    fs.closeSync(fd);
  }
}

// ------------------------------------------------------------------------------------------------
// The tail of the active segment

describe('recovery of the active segment after an unclean stop', () => {
  let image: Image;
  let activeFile: string;
  let layout: FileBatch[];

  beforeAll(async () => {
    image = await openImage(1, 4, true);
    const activeBase = image.bases.at(-1) as number;
    activeFile = segmentFile(image.dir, activeBase);
    layout = fileBatches(activeFile);
    expect(image.bases.length).toBeGreaterThanOrEqual(4);
    expect(layout.length).toBeGreaterThanOrEqual(5);
    expect(readLogCheckpoint(image.dir)?.recoveryPoint).toBe(0);
    expect(fs.existsSync(path.join(image.dir, CLEAN_SHUTDOWN_FILE))).toBe(false);
  });

  it('serves everything when nothing was damaged', async () => {
    const dir = copyDir(image.dir);
    await withLog(dir, async (log) => {
      expect(log.recovery).toMatchObject({ clean: false, segmentsScanned: image.bases.length, bytesTruncated: 0, segmentsDeleted: 0 });
      expect(log.logEndOffset).toBe((image.expected.at(-1) as Stored).lastOffset + 1);
      await expectIntact(log, image.expected);
    });
    removeDir(dir);
  });

  it('cut at every byte of the last batch: keeps every batch before it, serves nothing of it, appends on', async () => {
    const last = layout.at(-1) as FileBatch;
    const before = image.expected.slice(0, -1);
    expect(last.baseOffset).toBe((image.expected.at(-1) as Stored).baseOffset);
    for (let cut = last.position; cut < last.position + last.size; cut++) {
      const dir = copyDir(image.dir);
      fs.truncateSync(segmentFile(dir, image.bases.at(-1) as number), cut);
      await withLog(dir, async (log) => {
        expect(log.logEndOffset, `cut at ${cut}`).toBe(last.baseOffset);
        expect(log.recovery.clean).toBe(false);
        expect(log.recovery.bytesTruncated, `cut at ${cut}`).toBe(cut - last.position);
        expect(log.recovery.segmentsDeleted).toBe(0);
        if (cut > last.position) expect(log.recovery.reason).toContain(path.basename(activeFile));
        else expect(log.recovery.reason).toBeUndefined();
        expect(fs.statSync(segmentFile(dir, image.bases.at(-1) as number)).size).toBe(last.position);
        await expectIntact(log, before);
        expect((await log.read(asOffset(last.baseOffset), { maxBytes: 1 })).bytes.length).toBe(0);
        await expectAppendContinues(log, new Producer(cut));
      });
      removeDir(dir);
    }
  });

  it('flipped bytes: the log ends at the first damaged batch, everything before it is intact', async () => {
    const original = fs.readFileSync(activeFile);
    const activeBase = image.bases.at(-1) as number;
    const before = image.expected.filter((b) => b.baseOffset < activeBase).map((b) => b.bytes);
    // Half the flips land in a batch header, where the fields the CRC does not cover live.
    const position = fc.oneof(
      fc.nat({ max: original.length - 1 }),
      fc.tuple(fc.constantFrom(...layout), fc.nat({ max: BATCH_HEADER_BYTES - 1 })).map(([b, at]) => b.position + at),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ position, mask: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 4 }),
        async (flips) => {
          const damaged = Buffer.from(original);
          for (const { position: at, mask } of flips) damaged[at] = (damaged[at] as number) ^ mask;
          const model = survivors(original, damaged, layout, activeBase);
          const firstChanged = layout.findIndex((b) => !original.subarray(b.position, b.position + b.size).equals(damaged.subarray(b.position, b.position + b.size)));
          const dir = copyDir(image.dir);
          fs.writeFileSync(segmentFile(dir, activeBase), damaged);
          try {
            await withLog(dir, async (log) => {
              await expectServes(log, [...before, ...model.kept]);
              expect(log.logEndOffset).toBe(model.logEndOffset);
              expect(log.recovery.bytesTruncated).toBe(original.length - model.validBytes);
              // The headline, independent of the model: batches before the first damaged one are
              // intact, and no batch whose CRC-covered bytes changed is served.
              for (let i = 0; i < firstChanged; i++) {
                expect((model.kept[i] as Buffer).equals(original.subarray((layout[i] as FileBatch).position, (layout[i] as FileBatch).position + (layout[i] as FileBatch).size))).toBe(true);
              }
              for (const kept of model.kept) decodeBatch(kept);
              await expectAppendContinues(log, new Producer(flips.length));
            });
          } finally {
            removeDir(dir);
          }
        },
      ),
      { numRuns: 80, seed: 20240601 },
    );
  });

  it('zeroes, garbage or an old batch after the last batch are cut off; nothing is lost', async () => {
    const activeBase = image.bases.at(-1) as number;
    const rng = prng(7);
    const oldBatch = (image.expected[1] as Stored).bytes;
    const tails: Array<[string, Buffer]> = [
      ...[1, 11, 12, 60, 61, 62, 1000, 9000].map((n): [string, Buffer] => [`${n} zero bytes`, Buffer.alloc(n)]),
      ...[1, 13, 61, 200, 3000].map((n): [string, Buffer] => [`${n} random bytes`, randomBytes(rng, n)]),
      ['a copy of an earlier batch', oldBatch],
      ['a batch whose length runs past the file', oldBatch.subarray(0, oldBatch.length - 1)],
    ];
    for (const [name, tail] of tails) {
      const dir = copyDir(image.dir);
      fs.appendFileSync(segmentFile(dir, activeBase), tail);
      await withLog(dir, async (log) => {
        expect(log.recovery.bytesTruncated, name).toBe(tail.length);
        expect(log.recovery.reason, name).toBeDefined();
        expect(log.logEndOffset, name).toBe((image.expected.at(-1) as Stored).lastOffset + 1);
        await expectIntact(log, image.expected);
        await expectAppendContinues(log, new Producer(tail.length));
      });
      removeDir(dir);
    }
  });
});

/**
 * What Segment.recover must keep of a damaged last segment. The CRC covers attributes..end; the
 * length is checked against the file and (through the CRC's range) the data; magic is checked; but
 * `baseOffset` (bytes 0-7) and `partitionLeaderEpoch` (12-15) are outside the CRC in Kafka's format.
 * So a batch is rejected when a byte at 8-11 or 16.. changed, or when its (possibly changed) base
 * offset is unsafe, not above the previous batch's last offset, or out of the segment's range; the
 * first rejection ends the segment. A changed epoch, or a base offset flipped upward, passes.
 */
function survivors(
  original: Buffer,
  damaged: Buffer,
  layout: readonly FileBatch[],
  segmentBase: number,
): { kept: Buffer[]; logEndOffset: number; validBytes: number } {
  const kept: Buffer[] = [];
  let expectedMin = segmentBase;
  let validBytes = 0;
  for (const b of layout) {
    let protectedChange = false;
    for (let at = 0; at < b.size; at++) {
      const inUncovered = at < 8 || (at >= 12 && at < 16);
      if (!inUncovered && original[b.position + at] !== damaged[b.position + at]) protectedChange = true;
    }
    if (protectedChange) break;
    const hi = damaged.readInt32BE(b.position);
    const base = hi * 2 ** 32 + damaged.readUInt32BE(b.position + 4);
    if (!Number.isSafeInteger(base) || base < expectedMin) break;
    const last = base + (b.lastOffset - b.baseOffset);
    if (last - segmentBase > SEGMENT_OFFSET_SPAN_MAX) break;
    kept.push(Buffer.from(damaged.subarray(b.position, b.position + b.size)));
    expectedMin = last + 1;
    validBytes = b.position + b.size;
  }
  return { kept, logEndOffset: expectedMin, validBytes };
}

// ------------------------------------------------------------------------------------------------
// Earlier segments and the recovery point

describe('damage in an earlier segment', () => {
  let image: Image;
  /** The segment damaged, the batch damaged in it, and the byte flipped: a record byte, CRC-covered. */
  let k: number;
  let victim: FileBatch;

  beforeAll(async () => {
    image = await closedImage(2, 5);
    expect(image.bases.length).toBeGreaterThanOrEqual(5);
    // close() leaves the recovery point at the active segment: every sealed segment is below it.
    expect(readLogCheckpoint(image.dir)?.recoveryPoint).toBe(image.bases.at(-1));
    k = 2;
    const layout = fileBatches(segmentFile(image.dir, image.bases[k] as number));
    victim = layout[Math.floor(layout.length / 2)] as FileBatch;
  });

  function damagedCopy(recoveryPoint: number | undefined): string {
    const dir = uncleanCopy(image);
    xorByte(segmentFile(dir, image.bases[k] as number), victim.position + BATCH_HEADER_BYTES + 1, 0xff);
    if (recoveryPoint === undefined) fs.rmSync(path.join(dir, CHECKPOINT_FILE));
    else writeLogCheckpoint(dir, { recoveryPoint: asOffset(recoveryPoint), logStartOffset: asOffset(0) });
    return dir;
  }

  async function expectEndsAtVictim(dir: string, scanned: number): Promise<void> {
    const segmentBytes = fs.statSync(segmentFile(dir, image.bases[k] as number)).size;
    await withLog(dir, async (log) => {
      expect(log.recovery).toMatchObject({
        clean: false,
        segmentsScanned: scanned,
        bytesTruncated: segmentBytes - victim.position,
        segmentsDeleted: image.bases.length - k - 1,
      });
      expect(log.recovery.reason).toContain(path.basename(segmentFile(dir, image.bases[k] as number)));
      expect(log.logEndOffset).toBe(victim.baseOffset);
      expect(log.segmentBaseOffsets).toEqual(image.bases.slice(0, k + 1));
      for (const base of image.bases.slice(k + 1)) {
        for (const suffix of ['.log', '.index', '.timeindex']) expect(fs.existsSync(segmentFile(dir, base, suffix))).toBe(false);
      }
      await expectIntact(log, image.expected.filter((b) => b.baseOffset < victim.baseOffset));
      await expectAppendContinues(log, new Producer(3));
    });
    // The truncation is durable state: a clean reopen serves the same and scans nothing.
    await withLog(dir, async (log) => {
      expect(log.recovery).toMatchObject({ clean: true, segmentsScanned: 0 });
      expect(log.logEndOffset).toBe(victim.baseOffset + 2);
    });
  }

  it('at or above the recovery point: the log ends at the damaged batch and later segments are deleted', async () => {
    const dir = damagedCopy(image.bases[k]);
    // Segments below the recovery point are trusted; the damaged one is scanned; the damage stops
    // the scan, so the later ones are deleted, not scanned.
    await expectEndsAtVictim(dir, 1);
  });

  it('without a checkpoint: every segment up to the damage is scanned, the rest deleted', async () => {
    const dir = damagedCopy(undefined);
    await expectEndsAtVictim(dir, k + 1);
  });

  it('below the recovery point: the segment is trusted, not rescanned, and served as it is on disk', async () => {
    const dir = damagedCopy(image.bases.at(-1));
    await withLog(dir, async (log) => {
      // Only the active segment, the one at the recovery point, is rescanned.
      expect(log.recovery).toMatchObject({ clean: false, segmentsScanned: 1, bytesTruncated: 0, segmentsDeleted: 0 });
      expect(log.logEndOffset).toBe((image.expected.at(-1) as Stored).lastOffset + 1);
      const served = await readAll(log);
      const expected = image.expected.map((b) => b.bytes);
      const i = image.expected.findIndex((b) => b.baseOffset === victim.baseOffset);
      const damaged = Buffer.from(expected[i] as Buffer);
      damaged[BATCH_HEADER_BYTES + 1] = (damaged[BATCH_HEADER_BYTES + 1] as number) ^ 0xff;
      expected[i] = damaged;
      await expectServes(log, expected);
      // The reader's own CRC check is what catches it.
      expect(() => decodeBatch(served[i] as Buffer)).toThrowError(expect.objectContaining({ errorName: 'CORRUPT_MESSAGE' }) as Error);
    });
  });
});

describe('the recovery point and the clean-shutdown marker', () => {
  it('a clean close then reopen scans nothing; an unclean stop rescans only from the recovery point', async () => {
    const dir = tempDir();
    const producer = new Producer(4);
    const expected = await withLog(dir, async (log) => {
      expect(log.recovery).toEqual({ clean: false, segmentsScanned: 0, bytesScanned: 0, bytesTruncated: 0, segmentsDeleted: 0, leaderEpochCache: 'rebuilt', leaderEpochBytesScanned: 0, producerStateSnapshot: undefined, producerStateBytesScanned: 0 });
      return fill(log, producer, 4);
    });
    const log = await Log.open(dir, CONFIG);
    let crash: string;
    let recoveryPoint: number;
    try {
      expect(log.recovery).toEqual({ clean: true, segmentsScanned: 0, bytesScanned: 0, bytesTruncated: 0, segmentsDeleted: 0, leaderEpochCache: 'file', leaderEpochBytesScanned: 0, producerStateSnapshot: log.logEndOffset, producerStateBytesScanned: 0 });
      expect(fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE))).toBe(false);
      await expectIntact(log, expected);
      // Open checkpoints its log end: everything below was flushed by the clean close.
      recoveryPoint = log.logEndOffset;
      expect(readLogCheckpoint(dir)?.recoveryPoint).toBe(recoveryPoint);
      await fill(log, producer, 7, expected);
      crash = copyDir(dir);
    } finally {
      await log.close();
    }
    expect(readLogCheckpoint(crash)?.recoveryPoint).toBe(recoveryPoint);
    const bases = segmentBases(crash);
    const rescanned = bases.filter((_, i) => bases[i + 1] === undefined || (bases[i + 1] as number) > recoveryPoint);
    expect(rescanned.length).toBeLessThan(bases.length);
    expect(rescanned.length).toBeGreaterThanOrEqual(3);
    const rescannedBytes = rescanned.reduce((sum, base) => sum + fs.statSync(segmentFile(crash, base)).size, 0);
    await withLog(crash, async (recovered) => {
      expect(recovered.recovery).toMatchObject({
        clean: false,
        segmentsScanned: rescanned.length,
        bytesScanned: rescannedBytes,
        bytesTruncated: 0,
        segmentsDeleted: 0,
        // The leader-epoch file is vouched for below the first rescanned segment only.
        leaderEpochCache: 'file+tail',
        leaderEpochBytesScanned: rescannedBytes,
      });
      await expectIntact(recovered, expected);
    });
  });

  // Under 'never' the recovery point must still move when a rolled segment is sealed (fsynced).
  for (const flushPolicy of ['always', 'never'] as const) {
    it(`under flushPolicy '${flushPolicy}', rolled segments raise the recovery point: a crash rescans only the active segment`, async () => {
      const dir = tempDir();
      const log = await Log.open(dir, { ...CONFIG, flushPolicy });
      let crash: string;
      try {
        const expected = await fill(log, new Producer(9), 4);
        const activeBase = log.segmentBaseOffsets.at(-1) as number;
        // Rolled segments are sealed in the background; give the seals time to checkpoint.
        for (let waited = 0; waited < 500 && readLogCheckpoint(dir)?.recoveryPoint !== activeBase; waited += 10) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        crash = copyDir(dir);
        await withLog(crash, async (recovered) => {
          expect(recovered.recovery).toMatchObject({ clean: false, segmentsScanned: 1, bytesTruncated: 0 });
          await expectIntact(recovered, expected);
        });
        expect(readLogCheckpoint(dir)?.recoveryPoint).toBe(activeBase);
      } finally {
        await log.close();
      }
    });
  }

  it('a garbage log.checkpoint is ignored: a full scan, no data lost', async () => {
    const image = await closedImage(5, 4);
    const rng = prng(5);
    const valid = fs.readFileSync(path.join(image.dir, CHECKPOINT_FILE), 'utf8');
    const garbage: Array<[string, string | Buffer]> = [
      ['random bytes', randomBytes(rng, 100)],
      ['an empty file', ''],
      ['a torn write', valid.slice(0, valid.length / 2)],
      ['a wrong CRC', '{"version":1,"recoveryPoint":1000000,"logStartOffset":3,"crc":1}\n'],
      ['an unknown version', valid.replace('"version":1', '"version":2')],
      ['a recovery point edited without its CRC', valid.replace(/"recoveryPoint":\d+/, '"recoveryPoint":99999999')],
    ];
    for (const [name, text] of garbage) {
      for (const clean of [false, true]) {
        const dir = clean ? copyDir(image.dir) : uncleanCopy(image);
        fs.writeFileSync(path.join(dir, CHECKPOINT_FILE), text);
        await withLog(dir, async (log) => {
          expect(log.recovery, `${name}, ${clean ? 'clean' : 'unclean'}`).toMatchObject({
            clean,
            segmentsScanned: clean ? 0 : image.bases.length,
            bytesTruncated: 0,
            segmentsDeleted: 0,
          });
          expect(log.logStartOffset).toBe(0);
          expect(log.logEndOffset).toBe((image.expected.at(-1) as Stored).lastOffset + 1);
          await expectIntact(log, image.expected);
          // Open replaced it with a valid one.
          expect(readLogCheckpoint(dir)).toEqual({ recoveryPoint: log.logEndOffset, logStartOffset: 0 });
        });
        removeDir(dir);
      }
    }
  });
});

// ------------------------------------------------------------------------------------------------
// Damaged indexes

type IndexKind = '.index' | '.timeindex';
const ENTRY_BYTES: Readonly<Record<IndexKind, number>> = { '.index': 8, '.timeindex': 12 };

/** What a damage function gets to know about the segment whose index it damages. */
interface SegmentFacts {
  logBytes: number;
  /** nextOffset - baseOffset. */
  relativeNext: number;
  /** Position of the segment's last batch. */
  lastBatchPosition: number;
}

type IndexDamage = (file: string, kind: IndexKind, segment: SegmentFacts) => void;

/** Ways to damage an index file; `undefined` where a way does not apply to that kind of index. */
const INDEX_DAMAGE: ReadonlyArray<[string, Partial<Record<IndexKind, IndexDamage>>]> = [
  ['deleted', both((file) => fs.rmSync(file, { force: true }))],
  ['cut to half', both((file) => fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2)))],
  [
    'entries reversed',
    both((file, kind) => {
      const bytes = fs.readFileSync(file);
      const size = ENTRY_BYTES[kind];
      const entries: Buffer[] = [];
      for (let at = 0; at + size <= bytes.length; at += size) entries.push(bytes.subarray(at, at + size));
      // Reversed, then the (old) first entry twice more, so even a short index is out of order.
      fs.writeFileSync(file, Buffer.concat([...entries.reverse(), ...entries.slice(-1), ...entries.slice(-1)]));
    }),
  ],
  [
    'random bytes',
    both((file, kind) => {
      const entries = Math.max(4, Math.floor(fs.statSync(file).size / ENTRY_BYTES[kind]));
      fs.writeFileSync(file, randomBytes(prng(entries), entries * ENTRY_BYTES[kind]));
    }),
  ],
  [
    'an entry past the end of the .log',
    {
      // Offset and position above every real entry; the position is beyond the .log.
      '.index': (file, _kind, segment) => fs.appendFileSync(file, offsetEntry(segment.relativeNext + 100, segment.logBytes + 100)),
    },
  ],
  [
    'an entry past the last offset',
    {
      // A real batch position, but an offset beyond the segment's last.
      '.index': (file, _kind, segment) => {
        const bytes = fs.readFileSync(file);
        const lastPosition = bytes.length >= 8 ? bytes.readInt32BE(bytes.length - 4) : -1;
        if (segment.lastBatchPosition <= lastPosition) bytes.subarray(bytes.length - 8).fill(0);
        const kept = segment.lastBatchPosition <= lastPosition ? bytes.subarray(0, bytes.length - 8) : bytes;
        fs.writeFileSync(file, Buffer.concat([kept, offsetEntry(segment.relativeNext + 100, segment.lastBatchPosition)]));
      },
      // A newer timestamp than any entry, for an offset beyond the segment's last.
      '.timeindex': (file, _kind, segment) => {
        const bytes = fs.readFileSync(file);
        const lastTimestamp = bytes.length >= 12 ? Number(bytes.readBigInt64BE(bytes.length - 12)) : T0;
        const entry = Buffer.alloc(12);
        entry.writeBigInt64BE(BigInt(lastTimestamp + 1), 0);
        entry.writeInt32BE(segment.relativeNext + 100, 8);
        fs.appendFileSync(file, entry);
      },
    },
  ],
];

function both(damage: IndexDamage): Record<IndexKind, IndexDamage> {
  return { '.index': damage, '.timeindex': damage };
}

function offsetEntry(relativeOffset: number, position: number): Buffer {
  const entry = Buffer.alloc(8);
  entry.writeInt32BE(relativeOffset, 0);
  entry.writeInt32BE(position, 4);
  return entry;
}

/**
 * Known bugs, reported, not fixed here (segment.ts is not this file's): `Segment.loadTail` trusts an
 * index whose last entry names an offset past the segment's last batch, so on a clean open the next
 * index append trips an invariant (`index offsets increase: 306 after 404`, or the time index's
 * `offsets never decrease` at the next seal), and because `Segment.append` writes the batch before
 * indexing it, each retried append leaves another copy of the same offset in the .log. Remove a
 * name from this set when its test passes.
 */
describe('damaged indexes are rebuilt', () => {
  let image: Image;
  let records: Array<{ offset: number; timestamp: number }>;

  beforeAll(async () => {
    image = await closedImage(6, 4);
    records = image.expected.flatMap((b) => b.timestamps.map((timestamp, i) => ({ offset: b.baseOffset + i, timestamp })));
    for (const base of image.bases) {
      expect(fs.statSync(segmentFile(image.dir, base, '.index')).size).toBeGreaterThanOrEqual(3 * 8);
      expect(fs.statSync(segmentFile(image.dir, base, '.timeindex')).size).toBeGreaterThanOrEqual(2 * 12);
    }
  });

  /** Offset and timestamp lookups agree with a linear scan of what was appended. */
  async function expectLookups(log: Log, expected: readonly Stored[]): Promise<void> {
    for (const stored of expected) {
      for (const offset of new Set([stored.baseOffset, (stored.baseOffset + stored.lastOffset) >> 1, stored.lastOffset])) {
        const { bytes, nextOffset } = await log.read(asOffset(offset), { maxBytes: 1 });
        expect(nextOffset, `read at ${offset}`).toBe(stored.lastOffset + 1);
        expect(bytes.equals(stored.bytes), `read at ${offset}`).toBe(true);
      }
    }
    const all = expected.flatMap((b) => b.timestamps.map((timestamp, i) => ({ offset: b.baseOffset + i, timestamp })));
    const timestamps = all.map((r) => r.timestamp);
    const targets = new Set([Math.min(...timestamps) - 1, Math.max(...timestamps), Math.max(...timestamps) + 1]);
    for (let i = 0; i < all.length; i += 3) {
      const t = (all[i] as { timestamp: number }).timestamp;
      targets.add(t - 1).add(t).add(t + 1);
    }
    for (const target of targets) {
      const want = all.find((r) => r.timestamp >= target);
      expect(await log.offsetForTimestamp(target), `offsetForTimestamp(${target})`).toEqual(want);
    }
  }

  it('the undamaged log answers lookups like a linear scan', async () => {
    const dir = copyDir(image.dir);
    await withLog(dir, (log) => expectLookups(log, image.expected));
    expect(records.length).toBeGreaterThan(100);
  });

  for (const kind of ['.index', '.timeindex'] as const) {
    for (const [damage, ways] of INDEX_DAMAGE) {
      const apply = ways[kind];
      if (apply === undefined) continue;
      for (const clean of [true, false]) {
        const name = `${kind} ${damage}, ${clean ? 'clean' : 'unclean'} shutdown: lookups, appends and a reopen stay right`;
        it(name, async () => {
          const dir = clean ? copyDir(image.dir) : uncleanCopy(image);
          for (const base of image.bases) {
            const last = fileBatches(segmentFile(dir, base)).at(-1) as FileBatch;
            apply(segmentFile(dir, base, kind), kind, {
              logBytes: fs.statSync(segmentFile(dir, base)).size,
              relativeNext: last.lastOffset + 1 - base,
              lastBatchPosition: last.position,
            });
          }
          const expected = [...image.expected];
          // Newer timestamps than any so far, so appends add time index entries.
          const producer = new Producer(8, records.length + 100);
          await withLog(dir, async (log) => {
            expect(log.recovery.clean).toBe(clean);
            expect(log.recovery.bytesTruncated).toBe(0);
            await expectIntact(log, expected);
            await expectLookups(log, expected);
            // Appends index the new batches on top of whatever was loaded or rebuilt.
            await fill(log, producer, image.bases.length + 1, expected);
            await expectLookups(log, expected);
          });
          await withLog(dir, async (log) => {
            expect(log.recovery).toMatchObject({ clean: true, bytesTruncated: 0 });
            await expectLookups(log, expected);
          });
          removeDir(dir);
        });
      }
    }
  }
});
