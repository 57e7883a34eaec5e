// Method: fast-check runs random sequences of assign / truncate-from-end / truncate-from-start on the
// cache and on a model that recomputes the entries from the list of (epoch, start) facts the sequence
// implies; endOffsetFor is checked against a brute-force reading of its definition; the file format
// is round-tripped and damaged byte by byte; the header scan is run over real batches of all sizes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stampBatch } from './batch-header.js';
import { InvariantViolation } from './invariant.js';
import {
  LEADER_EPOCH_CHECKPOINT_FILE,
  LeaderEpochCache,
  readLeaderEpochCheckpoint,
  scanBatchEpochs,
  UNDEFINED_EPOCH_END_OFFSET,
  writeLeaderEpochCheckpoint,
  type EpochEndOffset,
  type EpochEntry,
} from './leader-epoch-cache.js';
import { encodeBatch } from './record-batch.js';
import { asEpoch, asOffset, type Offset } from './units.js';

const temps: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-epochs-'));
  temps.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

const entry = (epoch: number, startOffset: number): EpochEntry => ({ epoch: asEpoch(epoch), startOffset: asOffset(startOffset) });

/** endOffsetFor read straight from its definition, by linear scans. */
function modelEndOffsetFor(entries: readonly EpochEntry[], epoch: number, logEndOffset: number): EpochEndOffset {
  const floor = entries.filter((e) => e.epoch <= epoch).at(-1);
  if (floor === undefined) return UNDEFINED_EPOCH_END_OFFSET;
  const next = entries.find((e) => e.epoch > epoch);
  return { epoch: floor.epoch, endOffset: next?.startOffset ?? asOffset(logEndOffset) };
}

/** Strictly increasing entries: epochs from gaps >= 1, offsets from gaps >= 1. */
const entriesArb = fc
  .array(fc.record({ epochGap: fc.integer({ min: 1, max: 3 }), offsetGap: fc.integer({ min: 1, max: 50 }) }), { maxLength: 8 })
  .map((gaps) => {
    let epoch = -1;
    let offset = -1;
    return gaps.map((g) => {
      epoch += g.epochGap;
      offset += g.offsetGap;
      return entry(epoch, offset);
    });
  });

describe('LeaderEpochCache', () => {
  it('records a new epoch at its first offset, ignores the same epoch again and batches without an epoch', () => {
    const cache = new LeaderEpochCache();
    expect(cache.latestEpoch).toBe(-1);
    cache.assign(asEpoch(-1), asOffset(0));
    cache.assign(asEpoch(3), asOffset(10));
    cache.assign(asEpoch(3), asOffset(15));
    cache.assign(asEpoch(5), asOffset(20));
    expect(cache.entries).toEqual([entry(3, 10), entry(5, 20)]);
    expect(cache.latestEpoch).toBe(5);
    expect(cache.isDirty).toBe(true);
  });

  it('asserts that epochs never go back and that two epochs never start at one offset', () => {
    const cache = new LeaderEpochCache([entry(3, 10)]);
    expect(() => cache.assign(asEpoch(2), asOffset(20))).toThrow(InvariantViolation);
    expect(() => cache.assign(asEpoch(4), asOffset(10))).toThrow(InvariantViolation);
    expect(() => cache.assign(asEpoch(3), asOffset(5))).toThrow(InvariantViolation);
    expect(() => new LeaderEpochCache([entry(3, 10), entry(3, 20)])).toThrow(InvariantViolation);
    expect(() => new LeaderEpochCache([entry(3, 10), entry(4, 10)])).toThrow(InvariantViolation);
  });

  it('truncateFromEnd drops the entries starting at or above the new end', () => {
    const cache = new LeaderEpochCache([entry(1, 0), entry(2, 10), entry(4, 30)]);
    cache.truncateFromEnd(asOffset(31));
    expect(cache.entries).toEqual([entry(1, 0), entry(2, 10), entry(4, 30)]);
    expect(cache.isDirty).toBe(false);
    cache.truncateFromEnd(asOffset(30));
    expect(cache.entries).toEqual([entry(1, 0), entry(2, 10)]);
    cache.truncateFromEnd(asOffset(0));
    expect(cache.entries).toEqual([]);
  });

  it('truncateFromStart folds the entries at or below the new start into one at it (Kafka)', () => {
    const cache = new LeaderEpochCache([entry(1, 0), entry(2, 10), entry(4, 30)]);
    cache.truncateFromStart(asOffset(0));
    expect(cache.isDirty).toBe(false);
    cache.truncateFromStart(asOffset(15));
    expect(cache.entries).toEqual([entry(2, 15), entry(4, 30)]);
    cache.truncateFromStart(asOffset(30));
    expect(cache.entries).toEqual([entry(4, 30)]);
    cache.truncateFromStart(asOffset(99));
    expect(cache.entries).toEqual([entry(4, 99)]);
  });

  it('endOffsetFor: the largest epoch <= the one asked, ending where the next starts or at the log end', () => {
    const cache = new LeaderEpochCache([entry(2, 10), entry(5, 40), entry(6, 70)]);
    expect(cache.endOffsetFor(asEpoch(1), asOffset(100))).toEqual(UNDEFINED_EPOCH_END_OFFSET);
    expect(cache.endOffsetFor(asEpoch(-1), asOffset(100))).toEqual(UNDEFINED_EPOCH_END_OFFSET);
    expect(cache.endOffsetFor(asEpoch(2), asOffset(100))).toEqual({ epoch: 2, endOffset: 40 });
    expect(cache.endOffsetFor(asEpoch(3), asOffset(100))).toEqual({ epoch: 2, endOffset: 40 });
    expect(cache.endOffsetFor(asEpoch(5), asOffset(100))).toEqual({ epoch: 5, endOffset: 70 });
    expect(cache.endOffsetFor(asEpoch(6), asOffset(100))).toEqual({ epoch: 6, endOffset: 100 });
    expect(cache.endOffsetFor(asEpoch(9), asOffset(100))).toEqual({ epoch: 6, endOffset: 100 });
    expect(new LeaderEpochCache().endOffsetFor(asEpoch(0), asOffset(0))).toEqual(UNDEFINED_EPOCH_END_OFFSET);
  });

  it('endOffsetFor agrees with its definition on any cache and any epoch', () => {
    fc.assert(
      fc.property(entriesArb, fc.integer({ min: -2, max: 30 }), fc.integer({ min: 0, max: 100 }), (entries, epoch, extra) => {
        const logEndOffset = (entries.at(-1)?.startOffset ?? 0) + 1 + extra;
        const cache = new LeaderEpochCache(entries);
        expect(cache.endOffsetFor(asEpoch(epoch), asOffset(logEndOffset))).toEqual(modelEndOffsetFor(entries, epoch, logEndOffset));
      }),
    );
  });

  it('under random assigns and truncations equals a model recomputed from the surviving epoch starts', () => {
    type Op = { kind: 'assign'; epochStep: number; offsetStep: number } | { kind: 'end' | 'start'; at: number };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('assign' as const), epochStep: fc.integer({ min: 0, max: 2 }), offsetStep: fc.integer({ min: 1, max: 20 }) }),
      fc.record({ kind: fc.constantFrom('end' as const, 'start' as const), at: fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000) }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const cache = new LeaderEpochCache();
        // The model: the log as (epoch of each offset) from logStart to logEnd.
        let logStart = 0;
        let epochs: number[] = []; // epochs[i] is the epoch of offset logStart + i
        let latest = -1;
        for (const op of ops) {
          const logEnd = logStart + epochs.length;
          if (op.kind === 'assign') {
            const epoch = Math.max(latest, 0) + op.epochStep;
            cache.assign(asEpoch(epoch), asOffset(logEnd));
            epochs = epochs.concat(Array.from({ length: op.offsetStep }, () => epoch));
          } else if (op.kind === 'end') {
            const at = logStart + Math.floor(op.at * epochs.length);
            cache.truncateFromEnd(asOffset(at));
            epochs = epochs.slice(0, at - logStart);
          } else {
            const at = logStart + Math.floor(op.at * epochs.length);
            cache.truncateFromStart(asOffset(at));
            epochs = epochs.slice(at - logStart);
            logStart = at;
          }
          // As the log does after a start move: no entry at or past the log end, even the fold.
          if (epochs.length === 0) cache.truncateFromEnd(asOffset(logStart));
          latest = epochs.at(-1) ?? -1;
          const expected: EpochEntry[] = [];
          epochs.forEach((epoch, i) => {
            if (expected.at(-1)?.epoch !== epoch) expected.push(entry(epoch, logStart + i));
          });
          expect(cache.entries).toEqual(expected);
        }
      }),
    );
  });
});

describe('leader-epoch-checkpoint file', () => {
  it('round-trips any cache, and reads as absent when missing', () => {
    const dir = tempDir();
    expect(readLeaderEpochCheckpoint(dir)).toBeUndefined();
    fc.assert(
      fc.property(entriesArb, (entries) => {
        writeLeaderEpochCheckpoint(dir, entries);
        expect(readLeaderEpochCheckpoint(dir)).toEqual(entries);
      }),
    );
    writeLeaderEpochCheckpoint(dir, [entry(5, 100), entry(6, 150)]);
    expect(fs.readFileSync(path.join(dir, LEADER_EPOCH_CHECKPOINT_FILE), 'utf8')).toMatch(/^1\n2\n5 100\n6 150\ncrc \d+\n$/);
  });

  it('persist writes only a changed cache', () => {
    const dir = tempDir();
    const cache = new LeaderEpochCache();
    cache.persist(dir);
    expect(readLeaderEpochCheckpoint(dir)).toBeUndefined();
    cache.assign(asEpoch(1), asOffset(0));
    cache.persist(dir);
    expect(readLeaderEpochCheckpoint(dir)).toEqual([entry(1, 0)]);
    expect(cache.isDirty).toBe(false);
    new LeaderEpochCache([], { unwritten: true }).persist(dir);
    expect(readLeaderEpochCheckpoint(dir)).toEqual([]);
  });

  it('any flipped, cut or appended byte makes the file read as absent', () => {
    const dir = tempDir();
    writeLeaderEpochCheckpoint(dir, [entry(5, 100), entry(6, 150), entry(9, 2_000_000)]);
    const file = path.join(dir, LEADER_EPOCH_CHECKPOINT_FILE);
    const good = fs.readFileSync(file);
    for (let i = 0; i < good.length; i++) {
      const flipped = Buffer.from(good);
      flipped[i] = (flipped[i] as number) ^ 0x04;
      fs.writeFileSync(file, flipped);
      expect(readLeaderEpochCheckpoint(dir), `byte ${i} flipped`).toBeUndefined();
      fs.writeFileSync(file, good.subarray(0, i));
      expect(readLeaderEpochCheckpoint(dir), `cut at ${i}`).toBeUndefined();
    }
    fs.writeFileSync(file, Buffer.concat([good, Buffer.from('7 9\n')]));
    expect(readLeaderEpochCheckpoint(dir)).toBeUndefined();
  });

  it('a well-formed file whose entries do not increase reads as absent', () => {
    const dir = tempDir();
    writeLeaderEpochCheckpoint(dir, [entry(5, 100), entry(4, 150)]);
    expect(readLeaderEpochCheckpoint(dir)).toBeUndefined();
    writeLeaderEpochCheckpoint(dir, [entry(5, 100), entry(6, 100)]);
    expect(readLeaderEpochCheckpoint(dir)).toBeUndefined();
  });
});

function stamped(base: number, epoch: number): Buffer {
  const batch = encodeBatch([{ value: 'x', timestamp: 1 }]);
  stampBatch(batch, 0, asOffset(base), asEpoch(epoch));
  return batch;
}

describe('scanBatchEpochs', () => {
  it('visits the first batch and each epoch change, among small batches and ones larger than its read window, from any batch boundary', () => {
    const dir = tempDir();
    const file = path.join(dir, '00000000000000000000.log');
    const sizes = [1, 3, 200, 1, 40_000, 2, 1, 9, 1];
    let offset = 0;
    const expected: { epoch: number; baseOffset: Offset; position: number }[] = [];
    const parts: Buffer[] = [];
    let position = 0;
    sizes.forEach((records, i) => {
      // Values of 2 KiB on every 7th record make the 40,000-record batch (~12 MB) larger than the 1 MiB read window.
      const batch = encodeBatch(Array.from({ length: records }, (_, r) => ({ value: Buffer.alloc(r % 7 === 0 ? 2048 : 8, r), timestamp: 1 })));
      const epoch = Math.floor(i / 2) + (i === 5 ? 7 : 0);
      stampBatch(batch, 0, asOffset(offset), asEpoch(epoch));
      expected.push({ epoch, baseOffset: asOffset(offset), position });
      parts.push(batch);
      position += batch.length;
      offset += records;
    });
    const bytes = Buffer.concat(parts);
    expect(bytes.length).toBeGreaterThan(1024 * 1024);
    fs.writeFileSync(file, bytes);
    for (const start of expected) {
      const seen: { epoch: number; baseOffset: Offset }[] = [];
      scanBatchEpochs(file, start.position, bytes.length, (epoch, baseOffset) => seen.push({ epoch, baseOffset }));
      const changes = expected.filter((e, i) => e.position >= start.position && (e.position === start.position || e.epoch !== expected[i - 1]?.epoch));
      expect(seen).toEqual(changes.map(({ epoch, baseOffset }) => ({ epoch, baseOffset })));
    }
  });

  it('reports bytes that are not whole batches as CORRUPT_MESSAGE, not a crash', () => {
    const file = path.join(tempDir(), '00000000000000000000.log');
    const batch = stamped(0, 3);
    fs.writeFileSync(file, Buffer.concat([batch, Buffer.alloc(40, 0xff)]));
    expect(() => scanBatchEpochs(file, 0, batch.length + 40, () => undefined)).toThrow(expect.objectContaining({ errorName: 'CORRUPT_MESSAGE' }));
    fs.writeFileSync(file, Buffer.concat([batch, batch.subarray(0, 10)]));
    expect(() => scanBatchEpochs(file, 0, batch.length + 10, () => undefined)).toThrow(expect.objectContaining({ errorName: 'CORRUPT_MESSAGE' }));
  });
});
