// Method: the log as a Raft log. A fast-check model test drives a real Log through random leader
// appends (non-decreasing epochs), follower appends of several batches, truncations, log-start moves,
// resets and clean or kill-style reopens (the directory copied while the log is open), and after every
// step compares the leader-epoch cache and endOffsetFor with a model computed from the batches the log
// holds. Examples then cover truncation below the log start, resetTo, the durability of truncateTo
// (which files are fsynced before it resolves), damaged or stale epoch files, and the flushed-offset
// notification under each flush policy with an injected flush timer.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { stampBatch } from './batch-header.js';
import type { LogConfig } from './config.js';
import { LEADER_EPOCH_CHECKPOINT_FILE, readLeaderEpochCheckpoint, writeLeaderEpochCheckpoint, type EpochEntry } from './leader-epoch-cache.js';
import { readLogCheckpoint } from './log-checkpoint.js';
import { CLEAN_SHUTDOWN_FILE, Log, type LogTimers } from './log.js';
import { decodeBatches, encodeBatch } from './record-batch.js';
import { asEpoch, asOffset, type Offset } from './units.js';

const temps: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-raft-log-'));
  temps.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** Small segments, so a few dozen batches span several, and the active one rolls often. */
const CONFIG: Partial<LogConfig> = { flushPolicy: 'never', segmentBytes: 1024, indexIntervalBytes: 128 };

function records(n: number, tag: string): Buffer {
  return encodeBatch(Array.from({ length: n }, (_, i) => ({ key: `${tag}-${i}`, value: `v-${tag}-${i}`, timestamp: 1_000 + i })));
}

/** One batch as a leader would have stamped it: base offset and epoch set. */
function stamped(base: number, n: number, epoch: number, tag: string): Buffer {
  const batch = records(n, tag);
  stampBatch(batch, 0, asOffset(base), asEpoch(epoch));
  return batch;
}

/** Copies `dir` as a kill -9 would leave it: whatever was written, no clean-shutdown marker. */
function killCopy(dir: string): string {
  const copy = tempDir();
  fs.cpSync(dir, copy, { recursive: true });
  expect(fs.existsSync(path.join(copy, CLEAN_SHUTDOWN_FILE))).toBe(false);
  return copy;
}

async function offsetsIn(log: Log): Promise<number[]> {
  const seen: number[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const { bytes, nextOffset } = await log.read(offset, { maxBytes: 1 << 20 });
    for (const batch of decodeBatches(bytes)) for (const r of batch.records) if (r.offset >= log.logStartOffset) seen.push(r.offset);
    offset = nextOffset;
  }
  return seen;
}

// ------------------------------------------------------------------------------------------------
// The model

interface ModelBatch {
  base: number;
  last: number;
  epoch: number;
}

interface Model {
  batches: ModelBatch[];
  logStart: number;
  logEnd: number;
}

/** Each epoch's first offset among the batches at or above the log start (the log start for the first). */
function modelEntries(model: Model): EpochEntry[] {
  const entries: EpochEntry[] = [];
  for (const b of model.batches) {
    if (b.last < model.logStart || b.epoch < 0 || entries.at(-1)?.epoch === b.epoch) continue;
    entries.push({ epoch: asEpoch(b.epoch), startOffset: asOffset(Math.max(b.base, model.logStart)) });
  }
  return entries;
}

function modelEndOffsetFor(entries: readonly EpochEntry[], epoch: number, logEnd: number): { epoch: number; endOffset: number } {
  const floor = entries.filter((e) => e.epoch <= epoch).at(-1);
  if (floor === undefined) return { epoch: -1, endOffset: -1 };
  return { epoch: floor.epoch, endOffset: entries.find((e) => e.epoch > epoch)?.startOffset ?? logEnd };
}

function expectMatchesModel(log: Log, model: Model): void {
  expect(log.logStartOffset).toBe(model.logStart);
  expect(log.logEndOffset).toBe(model.logEnd);
  const entries = modelEntries(model);
  expect(log.leaderEpochs).toEqual(entries);
  expect(log.latestEpoch).toBe(entries.at(-1)?.epoch ?? -1);
  for (let epoch = -1; epoch <= (entries.at(-1)?.epoch ?? 0) + 1; epoch++) {
    expect(log.endOffsetFor(asEpoch(epoch)), `endOffsetFor(${epoch})`).toEqual(modelEndOffsetFor(entries, epoch, model.logEnd));
  }
}

type Op =
  | { kind: 'append'; n: number; epochStep: number }
  | { kind: 'follow'; batches: { n: number; epochStep: number }[] }
  | { kind: 'truncate' | 'deleteBefore'; at: number }
  | { kind: 'reset'; ahead: number }
  | { kind: 'reopen'; clean: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('append' as const), n: fc.integer({ min: 1, max: 6 }), epochStep: fc.constantFrom(0, 0, 1, 2) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('follow' as const),
      batches: fc.array(fc.record({ n: fc.integer({ min: 1, max: 4 }), epochStep: fc.constantFrom(0, 1) }), { minLength: 1, maxLength: 4 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('truncate' as const, 'deleteBefore' as const), at: fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reset' as const), ahead: fc.integer({ min: -5, max: 50 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const), clean: fc.boolean() }) },
);

describe('the leader-epoch cache of a live log', () => {
  it('equals a model of the batches in the log through appends, truncations, start moves, resets and reopens', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
        let dir = tempDir();
        let log = await Log.open(dir, CONFIG);
        const model: Model = { batches: [], logStart: 0, logEnd: 0 };
        let tag = 0;
        try {
          for (const op of ops) {
            const latest = modelEntries(model).at(-1)?.epoch ?? 0;
            const fraction = (at: number): Offset => asOffset(model.logStart + Math.floor(at * (model.logEnd - model.logStart)));
            switch (op.kind) {
              case 'append': {
                const epoch = latest + op.epochStep;
                const result = await log.append(records(op.n, `a${tag++}`), { leaderEpoch: asEpoch(epoch) });
                model.batches.push({ base: result.baseOffset, last: result.lastOffset, epoch });
                model.logEnd = result.lastOffset + 1;
                break;
              }
              case 'follow': {
                let epoch = latest;
                const parts: Buffer[] = [];
                for (const b of op.batches) {
                  epoch += b.epochStep;
                  parts.push(stamped(model.logEnd, b.n, epoch, `f${tag++}`));
                  model.batches.push({ base: model.logEnd, last: model.logEnd + b.n - 1, epoch });
                  model.logEnd += b.n;
                }
                await log.appendAsFollower(Buffer.concat(parts));
                break;
              }
              case 'truncate': {
                const at = fraction(op.at);
                await log.truncateTo(at);
                model.batches = model.batches.filter((b) => b.last < at);
                const last = model.batches.at(-1);
                // With every batch gone the log ends at its one segment's base, which the model does not track.
                model.logEnd = last !== undefined ? last.last + 1 : log.logEndOffset;
                expect(model.logEnd).toBeLessThanOrEqual(at);
                model.logStart = Math.min(model.logStart, model.logEnd);
                break;
              }
              case 'deleteBefore': {
                const at = fraction(op.at);
                await log.deleteRecordsBefore(at);
                model.logStart = Math.max(model.logStart, at);
                break;
              }
              case 'reset': {
                const at = Math.max(0, model.logEnd + op.ahead);
                await log.resetTo(asOffset(at));
                Object.assign(model, { batches: [], logStart: at, logEnd: at });
                expect(log.flushedOffset).toBe(at);
                break;
              }
              case 'reopen': {
                if (op.clean) {
                  await log.close();
                  expect(readLeaderEpochCheckpoint(dir)).toEqual(modelEntries(model));
                } else {
                  const copy = killCopy(dir);
                  await log.close();
                  dir = copy;
                }
                log = await Log.open(dir, CONFIG);
                expect(log.recovery.clean).toBe(op.clean);
                if (op.clean) expect(log.recovery.leaderEpochCache).toBe('file');
                break;
              }
            }
            expectMatchesModel(log, model);
          }
          expect((await offsetsIn(log)).length).toBe(model.logEnd - model.logStart);
        } finally {
          await log.close();
        }
      }),
      { numRuns: 100 },
    );
  });

  // Found by the property above (seed -1366368660): the rebuild took the epoch of a batch the log
  // had cut away below its start, and then skipped the lower epoch that followed it.
  it('leaves batches wholly below the log start out of a rebuild after an unclean stop', async () => {
    const dir = tempDir();
    const log = await Log.open(dir, CONFIG);
    await log.append(records(1, 'a'), { leaderEpoch: asEpoch(2) });
    await log.appendAsFollower(stamped(1, 1, 2, 'f'));
    await log.deleteRecordsBefore(asOffset(1));
    await log.truncateTo(asOffset(1)); // offset 0 (epoch 2) stays in the segment, below the log start
    await log.append(records(1, 'b'), { leaderEpoch: asEpoch(0) });
    expect(log.leaderEpochs).toEqual([{ epoch: 0, startOffset: 1 }]);
    const copy = killCopy(dir);
    await log.close();
    const reopened = await Log.open(copy, CONFIG);
    try {
      expect(reopened.recovery.clean).toBe(false);
      expect(reopened.leaderEpochs).toEqual([{ epoch: 0, startOffset: 1 }]);
    } finally {
      await reopened.close();
    }
  });

  it('is rebuilt from the batch headers when its file is missing, damaged or stale', async () => {
    const dir = tempDir();
    let log = await Log.open(dir, CONFIG);
    for (let epoch = 0; epoch < 6; epoch++) for (let i = 0; i < 4; i++) await log.append(records(3, `e${epoch}-${i}`), { leaderEpoch: asEpoch(epoch * 2) });
    await log.deleteRecordsBefore(asOffset(10));
    const expected = [...log.leaderEpochs];
    expect(expected).toEqual([0, 2, 4, 6, 8, 10].map((epoch, i) => ({ epoch, startOffset: i === 0 ? 10 : i * 12 })));
    const file = path.join(dir, LEADER_EPOCH_CHECKPOINT_FILE);
    const cases: [string, () => void][] = [
      ['missing', () => fs.rmSync(file)],
      ['damaged', () => fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('6 36', '6 37'))],
      // A file from before the last two epochs, passing its CRC: the last batch's epoch gives it away.
      ['stale', () => writeLeaderEpochCheckpoint(dir, expected.slice(0, 4))],
      // Claims an epoch at an offset the log does not hold in that epoch.
      ['wrong', () => writeLeaderEpochCheckpoint(dir, [...expected.slice(0, 4), { epoch: asEpoch(9), startOffset: asOffset(50) }, ...expected.slice(5)])],
    ];
    for (const [name, damage] of cases) {
      await log.close();
      damage();
      log = await Log.open(dir, CONFIG);
      expect(log.recovery.clean, name).toBe(true);
      expect(log.recovery.leaderEpochCache, name).toBe('rebuilt');
      expect(log.leaderEpochs, name).toEqual(expected);
    }
    await log.close();
    expect(readLeaderEpochCheckpoint(dir)).toEqual(expected);
  });

  it('after a crash that lost the unflushed tail, claims no epoch beyond what recovery kept', async () => {
    const dir = tempDir();
    const log = await Log.open(dir, { ...CONFIG, segmentBytes: 64 * 1024 });
    await log.append(records(5, 'one'), { leaderEpoch: asEpoch(1) });
    await log.flush();
    const kept = fs.statSync(path.join(dir, '00000000000000000000.log')).size;
    await log.append(records(5, 'three'), { leaderEpoch: asEpoch(3) });
    await log.append(records(5, 'four'), { leaderEpoch: asEpoch(4) });
    // A log start move writes the checkpoint, and with it the epoch file, while epochs 3 and 4 are unflushed.
    await log.deleteRecordsBefore(asOffset(2));
    expect(readLeaderEpochCheckpoint(dir)?.map((e) => [e.epoch, e.startOffset])).toEqual([[1, 0], [3, 5], [4, 10]]);
    const crash = killCopy(dir);
    await log.close();
    // The power went: the page cache never reached the disk past the flushed first batch.
    fs.truncateSync(path.join(crash, '00000000000000000000.log'), kept);
    const recovered = await Log.open(crash, CONFIG);
    try {
      expect(recovered.recovery.clean).toBe(false);
      expect(recovered.logEndOffset).toBe(5);
      expect(recovered.leaderEpochs).toEqual([{ epoch: 1, startOffset: 2 }]);
      expect(recovered.endOffsetFor(asEpoch(3))).toEqual({ epoch: 1, endOffset: 5 });
      await recovered.append(records(2, 'five'), { leaderEpoch: asEpoch(5) });
      expect(recovered.leaderEpochs).toEqual([{ epoch: 1, startOffset: 2 }, { epoch: 5, startOffset: 5 }]);
    } finally {
      await recovered.close();
    }
  });
});

describe('truncateTo', () => {
  it('below the log start is OFFSET_OUT_OF_RANGE naming resetTo, and the log stays usable', async () => {
    const log = await Log.open(tempDir(), CONFIG);
    try {
      for (let i = 0; i < 10; i++) await log.append(records(3, `t${i}`), { leaderEpoch: asEpoch(1) });
      await log.deleteRecordsBefore(asOffset(12));
      const error = await log.truncateTo(asOffset(5)).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'LogError', errorName: 'OFFSET_OUT_OF_RANGE' });
      expect(String(error)).toMatch(/resetTo/);
      await expect(log.truncateTo(asOffset(Number.NaN))).rejects.toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE' });
      expect((await log.append(records(1, 'after'), { leaderEpoch: asEpoch(1) })).baseOffset).toBe(30);
    } finally {
      await log.close();
    }
  });

  it('resolves only once the cut .log and indexes, the directory, the epoch file and the checkpoint are fsynced', async () => {
    const dir = tempDir();
    const log = await Log.open(dir, CONFIG);
    try {
      for (let i = 0; i < 30; i++) await log.append(records(3, `d${i}`), { leaderEpoch: asEpoch(i < 20 ? 1 : 2) });
      await log.flush();
      expect(log.segmentCount).toBeGreaterThan(3);
      const synced: string[] = [];
      const realFdatasync = fs.fdatasync;
      const realFsync = fs.fsync;
      const realFsyncSync = fs.fsyncSync;
      const name = (fd: number): string => fs.readlinkSync(`/proc/self/fd/${fd}`);
      vi.spyOn(fs, 'fdatasync').mockImplementation((fd, callback) => {
        synced.push(name(fd));
        realFdatasync(fd, callback);
      });
      vi.spyOn(fs, 'fsync').mockImplementation((fd, callback) => {
        synced.push(name(fd));
        realFsync(fd, callback);
      });
      vi.spyOn(fs, 'fsyncSync').mockImplementation((fd) => {
        synced.push(name(fd));
        realFsyncSync(fd);
      });
      await log.truncateTo(asOffset(50));
      const active = path.join(dir, String(log.segmentBaseOffsets.at(-1)).padStart(20, '0'));
      expect(synced).toEqual(expect.arrayContaining([`${active}.log`, `${active}.index`, `${active}.timeindex`, dir]));
      expect(synced.some((f) => f.startsWith(path.join(dir, LEADER_EPOCH_CHECKPOINT_FILE)))).toBe(true);
      expect(readLeaderEpochCheckpoint(dir)).toEqual([{ epoch: 1, startOffset: 0 }]);
      expect(readLogCheckpoint(dir)?.recoveryPoint).toBeLessThanOrEqual(log.logEndOffset);
      expect(log.flushedOffset).toBe(log.logEndOffset);
    } finally {
      await log.close();
    }
  });
});

describe('resetTo', () => {
  it('empties the log and restarts it at an offset; follower appends continue there and survive clean and unclean reopens', async () => {
    const dir = tempDir();
    let log = await Log.open(dir, CONFIG);
    for (let i = 0; i < 20; i++) await log.append(records(4, `old${i}`), { leaderEpoch: asEpoch(3) });
    await log.resetTo(asOffset(1000));
    expect([log.logStartOffset, log.logEndOffset, log.flushedOffset, log.segmentCount]).toEqual([1000, 1000, 1000, 1]);
    expect(log.leaderEpochs).toEqual([]);
    expect(log.endOffsetFor(asEpoch(3))).toEqual({ epoch: -1, endOffset: -1 });
    await expect(log.read(asOffset(999), { maxBytes: 1024 })).rejects.toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE' });
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.log'))).toEqual(['00000000000000001000.log']);

    // A crash right after the reset: an empty log at 1000.
    const afterReset = killCopy(dir);
    const empty = await Log.open(afterReset, CONFIG);
    expect([empty.logStartOffset, empty.logEndOffset, empty.leaderEpochs.length]).toEqual([1000, 1000, 0]);
    await empty.close();

    await log.appendAsFollower(Buffer.concat([stamped(1000, 3, 7, 'n0'), stamped(1003, 2, 8, 'n1')]));
    await log.flush();
    const expected = { start: 1000, end: 1005, epochs: [{ epoch: 7, startOffset: 1000 }, { epoch: 8, startOffset: 1003 }] };
    const check = async (l: Log): Promise<void> => {
      expect({ start: l.logStartOffset, end: l.logEndOffset, epochs: l.leaderEpochs }).toEqual(expected);
      expect(await offsetsIn(l)).toEqual([1000, 1001, 1002, 1003, 1004]);
    };
    await check(log);
    const crash = killCopy(dir);
    await log.close();
    log = await Log.open(dir, CONFIG);
    expect(log.recovery.clean).toBe(true);
    await check(log);
    await log.close();
    log = await Log.open(crash, CONFIG);
    expect(log.recovery.clean).toBe(false);
    await check(log);
    await log.close();
  });

  it('restarts below the old log end too, and rejects a negative offset', async () => {
    const log = await Log.open(tempDir(), CONFIG);
    try {
      for (let i = 0; i < 10; i++) await log.append(records(4, `x${i}`), { leaderEpoch: asEpoch(1) });
      await expect(log.resetTo(asOffset(-1))).rejects.toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE' });
      await log.resetTo(asOffset(7));
      expect([log.logStartOffset, log.logEndOffset]).toEqual([7, 7]);
      expect((await log.append(records(2, 'y'), { leaderEpoch: asEpoch(2) })).baseOffset).toBe(7);
      expect(await offsetsIn(log)).toEqual([7, 8]);
    } finally {
      await log.close();
    }
  });
});

/** A flush timer the test fires by hand. */
function manualTimers(): LogTimers & { fire: () => void; intervals: number[]; cancelled: number } {
  const callbacks: (() => void)[] = [];
  const timers = {
    intervals: [] as number[],
    cancelled: 0,
    every(ms: number, callback: () => void) {
      timers.intervals.push(ms);
      callbacks.push(callback);
      return () => {
        timers.cancelled += 1;
      };
    },
    fire() {
      for (const callback of callbacks) callback();
    },
  };
  return timers;
}

/** Subscribes to `log.onFlushed`, asserting each value grows and never passes the log end. */
function recordFlushes(log: Log): number[] {
  const seen: number[] = [];
  log.onFlushed((offset) => {
    expect(offset).toBeGreaterThan(seen.at(-1) ?? -1);
    expect(offset).toBeLessThanOrEqual(log.logEndOffset);
    expect(log.flushedOffset).toBe(offset);
    seen.push(offset);
  });
  return seen;
}

describe('onFlushed', () => {
  it("under 'always': reports the flushed offset before the append it covers resolves", async () => {
    const log = await Log.open(tempDir(), { ...CONFIG, flushPolicy: 'always' });
    try {
      const seen = recordFlushes(log);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => log.append(records(2, `w${i}`))));
      expect(seen.at(-1)).toBe(40);
      for (const r of results) expect(seen.some((s) => s > r.lastOffset)).toBe(true);
    } finally {
      await log.close();
    }
  });

  it("under 'interval': the injected timer drives the flush, and close stops it", async () => {
    const timers = manualTimers();
    const log = await Log.open(tempDir(), { ...CONFIG, flushPolicy: 'interval', flushIntervalMs: 60_000 }, { timers });
    const seen = recordFlushes(log);
    expect(timers.intervals).toEqual([60_000]);
    await log.append(records(3, 'i'));
    expect(seen).toEqual([]);
    expect(log.flushedOffset).toBe(0);
    timers.fire();
    await vi.waitFor(() => expect(seen).toEqual([3]), { timeout: 5000 });
    await log.close();
    expect(timers.cancelled).toBe(1);
  });

  it("under 'never': reports a rolled segment's seal and an explicit flush; after a truncation resumes from there", async () => {
    const log = await Log.open(tempDir(), CONFIG);
    try {
      const seen = recordFlushes(log);
      await log.append(records(3, 'n'));
      expect(seen).toEqual([]);
      while (log.segmentCount < 2) await log.append(records(3, 'n'));
      const rolledAt = log.segmentBaseOffsets[1] as number;
      await vi.waitFor(() => expect(seen).toEqual([rolledAt]), { timeout: 5000 });
      await log.append(records(3, 'n'));
      await log.flush();
      expect(seen).toEqual([rolledAt, log.logEndOffset]);
      const before = log.logEndOffset;
      await log.truncateTo(asOffset(rolledAt + 1));
      expect(log.flushedOffset).toBe(log.logEndOffset);
      seen.length = 0;
      await log.append(records(3, 'n'));
      await log.flush();
      expect(seen).toEqual([log.logEndOffset]);
      expect(log.logEndOffset).toBeLessThan(before);
    } finally {
      await log.close();
    }
  });
});
