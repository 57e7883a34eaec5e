// Method: a contract suite run over every compression codec × flush policy — examples for each
// promise of the Log API plus a fast-check model test (random appends and reads against an in-memory
// list of records) — and separate examples for retention, truncation, rolling and group commit.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BatchField } from './batch-header.js';
import type { FlushPolicy, LogConfig } from './config.js';
import { LogError } from './errors.js';
import { Log } from './log.js';
import { decodeBatches, encodeBatch, type RecordInput } from './record-batch.js';
import { asEpoch, asOffset, type Offset } from './units.js';

let dir: string;
const open: Log[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-log-'));
});

afterEach(async () => {
  for (const log of open.splice(0)) await log.close().catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
  vi.restoreAllMocks();
});

async function openLog(config: Partial<LogConfig> = {}, clock?: () => number): Promise<Log> {
  const log = await Log.open(dir, config, clock === undefined ? {} : { clock });
  open.push(log);
  return log;
}

async function closeLog(log: Log): Promise<void> {
  await log.close();
  open.splice(open.indexOf(log), 1);
}

interface Seen {
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
}

/** Every record from `from` to the log end, read in `maxBytes` steps. */
async function readAll(log: Log, from: Offset = log.logStartOffset, maxBytes = 64 * 1024, maxOffset?: Offset): Promise<Seen[]> {
  const seen: Seen[] = [];
  let offset = from;
  const end = maxOffset ?? log.logEndOffset;
  while (offset < end) {
    const { bytes, nextOffset } = await log.read(offset, maxOffset === undefined ? { maxBytes } : { maxBytes, maxOffset });
    if (bytes.length === 0) break;
    for (const batch of decodeBatches(bytes)) {
      for (const r of batch.records) {
        if (r.offset < from) continue;
        seen.push({ offset: r.offset, timestamp: r.timestamp, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null });
      }
    }
    expect(nextOffset).toBeGreaterThan(offset);
    offset = nextOffset;
  }
  return seen;
}

function batchOf(n: number, prefix: string, timestamp = 1_000, compression: 'none' | 'lz4' = 'none'): Buffer {
  const records: RecordInput[] = [];
  for (let i = 0; i < n; i++) records.push({ key: `${prefix}-k${i}`, value: `${prefix}-v${i}`, timestamp: timestamp + i });
  return encodeBatch(records, { compression });
}

const CODECS = ['none', 'lz4'] as const;
const POLICIES: FlushPolicy[] = ['always', 'interval', 'never'];

describe.each(CODECS.flatMap((codec) => POLICIES.map((policy) => [codec, policy] as const)))('Log contract (%s, flush %s)', (codec, flushPolicy) => {
  const config = { flushPolicy, flushIntervalMs: 10, segmentBytes: 2048, indexIntervalBytes: 256 };

  it('assigns consecutive offsets across appends and multi-batch appends', async () => {
    const log = await openLog(config);
    const first = await log.append(batchOf(3, 'a', 1000, codec));
    expect(first).toMatchObject({ baseOffset: 0, lastOffset: 2 });
    const two = Buffer.concat([batchOf(2, 'b', 2000, codec), batchOf(4, 'c', 3000, codec)]);
    const second = await log.append(two);
    expect(second).toMatchObject({ baseOffset: 3, lastOffset: 8, maxTimestamp: 3003 });
    expect(log.logEndOffset).toBe(9);
    const seen = await readAll(log);
    expect(seen.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(seen.map((r) => r.value)).toEqual(['a-v0', 'a-v1', 'a-v2', 'b-v0', 'b-v1', 'c-v0', 'c-v1', 'c-v2', 'c-v3']);
  });

  it('stamps the leader epoch without breaking the CRC', async () => {
    const log = await openLog(config);
    await log.append(batchOf(2, 'e', 1000, codec), { leaderEpoch: asEpoch(7) });
    const { bytes } = await log.read(asOffset(0), { maxBytes: 1 << 20 });
    expect(bytes.readInt32BE(BatchField.partitionLeaderEpoch)).toBe(7);
    expect([...decodeBatches(bytes)][0]?.header.partitionLeaderEpoch).toBe(7);
  });

  it('rolls segments and reads every record back across them, from any offset', async () => {
    const log = await openLog(config);
    for (let i = 0; i < 60; i++) await log.append(batchOf(5, `r${i}`, 10_000 + i * 10, codec));
    expect(log.segmentCount).toBeGreaterThan(2);
    const all = await readAll(log, asOffset(0), 2048);
    expect(all.map((r) => r.offset)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    for (const from of [0, 1, 4, 5, 149, 150, 298, 299]) {
      const suffix = await readAll(log, asOffset(from), 1);
      expect(suffix[0]?.offset).toBe(from);
      expect(suffix.length).toBe(300 - from);
    }
  });

  it('survives a clean close and reopen with the same contents', async () => {
    const log = await openLog(config);
    for (let i = 0; i < 30; i++) await log.append(batchOf(4, `x${i}`, 5000 + i, codec));
    const before = await readAll(log);
    await closeLog(log);
    const reopened = await openLog(config);
    expect(reopened.recovery).toMatchObject({ clean: true, segmentsScanned: 0 });
    expect(reopened.logEndOffset).toBe(120);
    expect(await readAll(reopened)).toEqual(before);
    expect((await reopened.append(batchOf(1, 'after', 9000, codec))).baseOffset).toBe(120);
  });

  it('finds the first record at or after a timestamp', async () => {
    const log = await openLog(config);
    for (let i = 0; i < 40; i++) await log.append(batchOf(5, `t${i}`, 100_000 + i * 100, codec));
    expect(await log.offsetForTimestamp(0)).toEqual({ offset: 0, timestamp: 100_000 });
    expect(await log.offsetForTimestamp(100_002)).toEqual({ offset: 2, timestamp: 100_002 });
    expect(await log.offsetForTimestamp(100_005)).toEqual({ offset: 5, timestamp: 100_100 });
    expect(await log.offsetForTimestamp(103_904)).toEqual({ offset: 199, timestamp: 103_904 });
    expect(await log.offsetForTimestamp(103_905)).toBeUndefined();
  });

  it('matches an in-memory model under random appends and reads', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.record({ key: fc.option(fc.string(), { nil: null }), value: fc.option(fc.string({ maxLength: 300 }), { nil: null }) }), { minLength: 1, maxLength: 20 }), { minLength: 1, maxLength: 25 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 4096 })), { maxLength: 10 }),
        async (appends, reads) => {
          fs.rmSync(dir, { recursive: true, force: true });
          const log = await openLog({ ...config, segmentBytes: 4096 });
          const model: Array<{ key: string | null; value: string | null }> = [];
          for (const records of appends) {
            const result = await log.append(encodeBatch(records, { compression: codec }));
            expect(result.baseOffset).toBe(model.length);
            model.push(...records);
          }
          for (const [at, maxBytes] of reads) {
            const from = asOffset(at % model.length);
            const seen = await readAll(log, from, maxBytes);
            expect(seen.map((r) => ({ key: r.key, value: r.value }))).toEqual(model.slice(from));
            expect(seen.map((r) => r.offset)).toEqual(model.slice(from).map((_, i) => from + i));
          }
          await closeLog(log);
        },
      ),
      { numRuns: 15 },
    );
  });
});

describe('Log reads', () => {
  it('returns at least one whole batch even when it exceeds maxBytes, and only whole batches', async () => {
    const log = await openLog({ flushPolicy: 'never' });
    await log.append(batchOf(50, 'big'));
    await log.append(batchOf(50, 'big2'));
    const tiny = await log.read(asOffset(0), { maxBytes: 1 });
    expect([...decodeBatches(tiny.bytes)].length).toBe(1);
    expect(tiny.nextOffset).toBe(50);
    const mid = await log.read(asOffset(10), { maxBytes: tiny.bytes.length + 10 });
    expect(mid.bytes.length).toBe(tiny.bytes.length);
  });

  it('never returns batches at or above maxOffset (the high watermark)', async () => {
    const log = await openLog({ flushPolicy: 'never' });
    for (let i = 0; i < 5; i++) await log.append(batchOf(10, `h${i}`));
    const seen = await readAll(log, asOffset(0), 1 << 20, asOffset(30));
    expect(seen.map((r) => r.offset)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect((await log.read(asOffset(30), { maxBytes: 1 << 20, maxOffset: asOffset(30) })).bytes.length).toBe(0);
    // A high watermark inside a batch hides that whole batch.
    expect((await log.read(asOffset(30), { maxBytes: 1 << 20, maxOffset: asOffset(35) })).bytes.length).toBe(0);
  });

  it('answers OFFSET_OUT_OF_RANGE below the start and above the end, and empty at the end', async () => {
    const log = await openLog({ flushPolicy: 'never' });
    await log.append(batchOf(3, 'o'));
    await expect(log.read(asOffset(4), { maxBytes: 100 })).rejects.toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE', code: 1 });
    await expect(log.read(asOffset(-1), { maxBytes: 100 })).rejects.toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE' });
    expect(await log.read(asOffset(3), { maxBytes: 100 })).toEqual({ bytes: Buffer.alloc(0), nextOffset: 3 });
  });
});

describe('Log appends of bad input', () => {
  it('rejects a corrupt, oversized, empty or malformed append and leaves the log untouched', async () => {
    const log = await openLog({ flushPolicy: 'never', maxBatchBytes: 4096 });
    await log.append(batchOf(2, 'ok'));
    const corrupt = batchOf(2, 'bad');
    corrupt.writeUInt8(corrupt.readUInt8(corrupt.length - 1) ^ 0xff, corrupt.length - 1);
    const good = batchOf(1, 'good');
    const cases: Array<[Buffer, string]> = [
      [Buffer.concat([good, corrupt]), 'CORRUPT_MESSAGE'],
      [encodeBatch([{ value: Buffer.alloc(5000) }]), 'MESSAGE_TOO_LARGE'],
      [Buffer.alloc(0), 'CORRUPT_MESSAGE'],
      [Buffer.concat([batchOf(1, 'x'), Buffer.alloc(10)]), 'CORRUPT_MESSAGE'],
      [Buffer.alloc(100, 7), 'CORRUPT_MESSAGE'],
    ];
    for (const [bytes, name] of cases) {
      await expect(log.append(bytes)).rejects.toMatchObject({ errorName: name });
    }
    expect(log.logEndOffset).toBe(2);
    expect((await readAll(log)).map((r) => r.value)).toEqual(['ok-v0', 'ok-v1']);
    expect((await log.append(batchOf(1, 'next'))).baseOffset).toBe(2);
  });

  it('fails with LOG_CLOSED after close', async () => {
    const log = await openLog({ flushPolicy: 'never' });
    await closeLog(log);
    await expect(log.append(batchOf(1, 'late'))).rejects.toBeInstanceOf(LogError);
    await expect(log.append(batchOf(1, 'late'))).rejects.toMatchObject({ errorName: 'LOG_CLOSED' });
    await expect(log.read(asOffset(0), { maxBytes: 1 })).rejects.toMatchObject({ errorName: 'LOG_CLOSED' });
  });
});

describe('Log durability', () => {
  it('under flush policy always, resolves an append only after an fsync that covers it, one fsync for many appends', async () => {
    const log = await openLog({ flushPolicy: 'always' });
    const fsyncs = vi.spyOn(fs, 'fdatasync');
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(batchOf(2, `g${i}`))));
    expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
    expect(log.flushedOffset).toBe(100);
    expect(fsyncs.mock.calls.length).toBeGreaterThan(0);
    expect(fsyncs.mock.calls.length).toBeLessThan(50);
  });

  it('after an unclean stop, fsyncs the recovered segments before the recovery point vouches for them', async () => {
    const log = await openLog({ flushPolicy: 'never', segmentBytes: 4096 });
    for (let i = 0; i < 20; i++) await log.append(batchOf(10, `u${i}`));
    const copy = `${dir}-copy`;
    fs.cpSync(dir, copy, { recursive: true });
    const synced: string[] = [];
    const real = fs.fdatasync;
    vi.spyOn(fs, 'fdatasync').mockImplementation((fd, callback) => {
      synced.push(fs.readlinkSync(`/proc/self/fd/${fd}`));
      real(fd, callback);
    });
    try {
      const recovered = await Log.open(copy, { flushPolicy: 'never', segmentBytes: 4096 });
      expect(recovered.recovery.clean).toBe(false);
      const activeLog = path.join(copy, `${String(recovered.segmentBaseOffsets.at(-1)).padStart(20, '0')}.log`);
      expect(synced).toContain(activeLog);
      await recovered.close();
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });

  it('under flush policy never, leaves the flushed offset behind until flush()', async () => {
    const log = await openLog({ flushPolicy: 'never' });
    await log.append(batchOf(3, 'n'));
    expect(log.flushedOffset).toBe(0);
    await log.flush();
    expect(log.flushedOffset).toBe(3);
  });

  it('under flush policy interval, flushes on its own', async () => {
    const log = await openLog({ flushPolicy: 'interval', flushIntervalMs: 5 });
    await log.append(batchOf(3, 'i'));
    await vi.waitFor(() => expect(log.flushedOffset).toBe(3), { timeout: 2000 });
  });
});

describe('Log rolling, retention and truncation', () => {
  it('rolls on segment age (segmentMs) by the injected clock', async () => {
    let now = 1_000_000;
    const log = await openLog({ flushPolicy: 'never', segmentMs: 60_000 }, () => now);
    await log.append(batchOf(1, 'a', now));
    now += 30_000;
    await log.append(batchOf(1, 'b', now));
    expect(log.segmentCount).toBe(1);
    now += 31_000;
    await log.append(batchOf(1, 'c', now));
    expect(log.segmentBaseOffsets).toEqual([0, 2]);
  });

  it('deletes whole segments by age, never the active one, and moves the log start', async () => {
    let now = 10_000_000;
    const log = await openLog({ flushPolicy: 'never', segmentBytes: 4096, retentionMs: 100_000 }, () => now);
    for (let i = 0; i < 40; i++) await log.append(batchOf(20, `a${i}`, now - 390_000 + i * 10_000));
    const segments = log.segmentCount;
    expect(segments).toBeGreaterThan(3);
    const result = await log.enforceRetention();
    expect(result.deleted).toBeGreaterThan(0);
    expect(result.reasons.every((r) => r === 'age')).toBe(true);
    expect(log.segmentCount).toBe(segments - result.deleted);
    expect(log.logStartOffset).toBe(log.segmentBaseOffsets[0]);
    const left = await readAll(log);
    expect(left[0]?.offset).toBe(log.logStartOffset);
    expect(left.at(-1)?.offset).toBe(799);
    now += 10_000_000;
    await log.enforceRetention();
    expect(log.logStartOffset).toBe(800);
    expect(log.logEndOffset).toBe(800);
    expect((await log.append(batchOf(1, 'fresh', now))).baseOffset).toBe(800);
  });

  it('deletes by size down to retentionBytes and keeps what is above the high watermark', async () => {
    const log = await openLog({ flushPolicy: 'never', segmentBytes: 4096, retentionBytes: 8192, retentionMs: -1 });
    for (let i = 0; i < 60; i++) await log.append(batchOf(5, `s${i}`));
    await log.enforceRetention(asOffset(0));
    expect(log.logStartOffset).toBe(0);
    await log.enforceRetention();
    expect(log.sizeBytes).toBeGreaterThanOrEqual(8192);
    expect(log.sizeBytes - (log.segmentCount > 1 ? 4096 : 0)).toBeLessThan(8192 + 4096);
  });

  it('deleteRecordsBefore hides earlier offsets at once and survives reopen', async () => {
    const log = await openLog({ flushPolicy: 'never', segmentBytes: 4096 });
    for (let i = 0; i < 30; i++) await log.append(batchOf(5, `d${i}`));
    await log.deleteRecordsBefore(asOffset(77));
    expect(log.logStartOffset).toBe(77);
    await expect(log.read(asOffset(76), { maxBytes: 100 })).rejects.toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE' });
    expect((await readAll(log))[0]?.offset).toBe(77);
    expect(log.segmentBaseOffsets[0]).toBeLessThanOrEqual(77);
    await expect(log.deleteRecordsBefore(asOffset(1000))).rejects.toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE' });
    await closeLog(log);
    const reopened = await openLog({ flushPolicy: 'never', segmentBytes: 4096 });
    expect(reopened.logStartOffset).toBe(77);
  });

  it('truncateTo drops a divergent tail across segments; appends continue from there', async () => {
    const log = await openLog({ flushPolicy: 'never', segmentBytes: 4096 });
    for (let i = 0; i < 40; i++) await log.append(batchOf(5, `t${i}`));
    await log.truncateTo(asOffset(50));
    expect(log.logEndOffset).toBe(50);
    await log.truncateTo(asOffset(47));
    expect(log.logEndOffset).toBe(45); // the batch 45..49 straddles 47 and goes whole
    expect((await log.append(batchOf(2, 'new'))).baseOffset).toBe(45);
    const seen = await readAll(log);
    expect(seen.map((r) => r.offset)).toEqual(Array.from({ length: 47 }, (_, i) => i));
    expect(seen.at(-1)?.value).toBe('new-v1');
    await closeLog(log);
    const reopened = await openLog({ flushPolicy: 'never', segmentBytes: 4096 });
    expect(await readAll(reopened)).toEqual(seen);
  });

  it('appendAsFollower keeps the leader-assigned offsets and rejects going backwards', async () => {
    const leader = await Log.open(path.join(dir, 'leader'), { flushPolicy: 'never' });
    open.push(leader);
    const follower = await Log.open(path.join(dir, 'follower'), { flushPolicy: 'never' });
    open.push(follower);
    for (let i = 0; i < 5; i++) await leader.append(batchOf(3, `f${i}`), { leaderEpoch: asEpoch(2) });
    const { bytes } = await leader.read(asOffset(0), { maxBytes: 1 << 20 });
    await follower.appendAsFollower(Buffer.from(bytes));
    expect(follower.logEndOffset).toBe(15);
    expect(await readAll(follower)).toEqual(await readAll(leader));
    await expect(follower.appendAsFollower(Buffer.from(bytes))).rejects.toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE' });
  });
});

describe('Log append path: offsets, epochs and the clean-shutdown tail', () => {
  /** A replica's batch: records at `baseOffset`.., stamped with `epoch`. */
  function replicaBatch(baseOffset: number, n: number, epoch: number, timestamp = 1_000): Buffer {
    const records: RecordInput[] = Array.from({ length: n }, (_, i) => ({ value: `r${baseOffset + i}`, timestamp }));
    return encodeBatch(records, { baseOffset, partitionLeaderEpoch: epoch });
  }

  it('appendAsFollower refuses a gap: the first base offset must be the log end, and batches contiguous', async () => {
    const log = await openLog({ flushPolicy: 'never' });
    await expect(log.appendAsFollower(replicaBatch(5, 1, 0))).rejects.toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE' });
    expect(log.logEndOffset).toBe(0);
    expect((await log.read(asOffset(0), { maxBytes: 1 << 20 })).bytes.length).toBe(0);
    await expect(log.appendAsFollower(Buffer.concat([replicaBatch(0, 2, 0), replicaBatch(3, 1, 0)]))).rejects.toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE' });
    expect(log.logEndOffset).toBe(0);
    await log.appendAsFollower(Buffer.concat([replicaBatch(0, 2, 0), replicaBatch(2, 1, 0)]));
    expect((await readAll(log)).map((r) => r.offset)).toEqual([0, 1, 2]);
  });

  it('append refuses a leader epoch below the last one appended, also after a reopen', async () => {
    const log = await openLog({ flushPolicy: 'never' });
    await log.append(batchOf(1, 'a'));
    await log.append(batchOf(1, 'b'), { leaderEpoch: asEpoch(9) });
    await expect(log.append(batchOf(1, 'c'), { leaderEpoch: asEpoch(2) })).rejects.toMatchObject({ errorName: 'FENCED_LEADER_EPOCH', code: 74 });
    await expect(log.append(batchOf(1, 'c'))).rejects.toMatchObject({ errorName: 'FENCED_LEADER_EPOCH' });
    expect(log.logEndOffset).toBe(2);
    await log.append(batchOf(1, 'd'), { leaderEpoch: asEpoch(9) });
    await closeLog(log);
    const reopened = await openLog({ flushPolicy: 'never' });
    await expect(reopened.append(batchOf(1, 'e'), { leaderEpoch: asEpoch(8) })).rejects.toMatchObject({ errorName: 'FENCED_LEADER_EPOCH' });
    expect((await reopened.append(batchOf(1, 'f'), { leaderEpoch: asEpoch(10) })).baseOffset).toBe(3);
  });

  it('appendAsFollower refuses an epoch going backwards, across calls and inside one', async () => {
    const log = await openLog({ flushPolicy: 'never' });
    await log.appendAsFollower(replicaBatch(0, 2, 9));
    await expect(log.appendAsFollower(replicaBatch(2, 1, 2))).rejects.toMatchObject({ errorName: 'FENCED_LEADER_EPOCH' });
    await expect(log.appendAsFollower(Buffer.concat([replicaBatch(2, 1, 10), replicaBatch(3, 1, 9)]))).rejects.toMatchObject({ errorName: 'FENCED_LEADER_EPOCH' });
    expect(log.logEndOffset).toBe(2);
    await log.appendAsFollower(Buffer.concat([replicaBatch(2, 1, 9), replicaBatch(3, 1, 11)]));
    expect(log.logEndOffset).toBe(4);
  });

  it('after truncateTo drops the newer epochs, a batch of the older epoch appends again', async () => {
    const log = await openLog({ flushPolicy: 'never' });
    await log.appendAsFollower(Buffer.concat([replicaBatch(0, 2, 3), replicaBatch(2, 2, 5)]));
    await log.truncateTo(asOffset(2));
    await log.appendAsFollower(replicaBatch(2, 1, 4));
    expect(log.logEndOffset).toBe(3);
  });

  it('refuses a record newer than the clock by more than messageTimestampAfterMaxMs on the leader only', async () => {
    const now = 1_700_000_000_000;
    const log = await openLog({ flushPolicy: 'never', messageTimestampAfterMaxMs: 60_000 }, () => now);
    await expect(log.append(batchOf(1, 'late', now + 60_001))).rejects.toMatchObject({ errorName: 'INVALID_TIMESTAMP', code: 32 });
    await log.append(batchOf(1, 'ok', now + 60_000));
    // A follower copies what its leader accepted by the leader's clock.
    await log.appendAsFollower(replicaBatch(1, 1, -1, now + 10 * 60_000));
    expect(log.logEndOffset).toBe(2);
  });

  it('cuts a duplicated tail batch written after a clean shutdown (offsets 6 7 8 6 7 8 9)', async () => {
    const log = await openLog({ flushPolicy: 'never' });
    for (let i = 0; i < 3; i++) await log.append(batchOf(3, `b${i}`));
    await closeLog(log);
    const file = path.join(dir, '00000000000000000000.log');
    const bytes = fs.readFileSync(file);
    const last = bytes.subarray(bytes.length - batchOf(3, 'b2').length);
    expect(last.readBigInt64BE(BatchField.baseOffset)).toBe(6n);
    // The stale copy (6..8), then a batch 6..9's worth: 6 7 8 6 7 8 9 if trusted.
    const extra = encodeBatch(Array.from({ length: 4 }, (_, i) => ({ value: `s${i}`, timestamp: 1 })), { baseOffset: 6 });
    fs.appendFileSync(file, Buffer.concat([Buffer.from(last), extra]));
    const reopened = await openLog({ flushPolicy: 'never' });
    expect(reopened.recovery.clean).toBe(true);
    expect(reopened.recovery.bytesTruncated).toBe(last.length + extra.length);
    expect(reopened.logEndOffset).toBe(9);
    expect((await readAll(reopened)).map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    await reopened.append(batchOf(1, 'next'));
    expect(reopened.logEndOffset).toBe(10);
  });
});
