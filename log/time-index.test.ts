// Method: fast-check properties feed TimeIndex random maybeAppend calls and run it against a plain
// array model (same append rule, linear-scan lookup, filter truncation), decoding the file on disk
// independently with readBigInt64BE; examples cover torn files, the sanity check and the invariants.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvariantViolation } from './invariant.js';
import { TimeIndex } from './time-index.js';
import { asOffset } from './units.js';

interface Entry {
  timestamp: number;
  offset: number;
}

const MAX_BYTES = 1024 * 1024;
let dir = '';
let fileCounter = 0;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-'));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function freshFile(): string {
  fileCounter += 1;
  return path.join(dir, `${String(fileCounter).padStart(20, '0')}.timeindex`);
}

/** A run of maybeAppend calls: offsets never decrease, timestamps wander (so many calls are no-ops). */
interface Scenario {
  base: number;
  calls: Entry[];
}

const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    base: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 50 })),
    // Around now, near 2^32 (the hi/lo seam) and near the largest safe integer.
    startTimestamp: fc.oneof(
      fc.integer({ min: -5, max: 100 }),
      fc.integer({ min: 1_600_000_000_000, max: 1_800_000_000_000 }),
      fc.integer({ min: 2 ** 32 - 500, max: 2 ** 32 + 500 }),
      fc.integer({ min: Number.MAX_SAFE_INTEGER - 2 ** 20, max: Number.MAX_SAFE_INTEGER - 2 ** 19 }),
    ),
    steps: fc.array(fc.tuple(fc.integer({ min: -50, max: 1000 }), fc.integer({ min: 0, max: 100 })), {
      maxLength: 300,
    }),
  })
  .map(({ base, startTimestamp, steps }) => {
    const calls: Entry[] = [];
    let timestamp = startTimestamp;
    let offset = base;
    for (const [timestampStep, offsetStep] of steps) {
      timestamp += timestampStep;
      offset += offsetStep;
      calls.push({ timestamp, offset });
    }
    return { base, calls };
  });

/** Kafka's rule: an entry only for a timestamp above the last entry's, an empty index counting as -1. */
function modelEntries(calls: readonly Entry[]): Entry[] {
  const entries: Entry[] = [];
  for (const call of calls) {
    if (call.timestamp > (entries.at(-1)?.timestamp ?? -1)) entries.push(call);
  }
  return entries;
}

function modelLookup(base: number, entries: readonly Entry[], target: number): Entry {
  let found: Entry = { timestamp: -1, offset: base };
  for (const e of entries) if (e.timestamp <= target) found = e;
  return found;
}

function build(file: string, base: number, calls: readonly Entry[], maxBytes = MAX_BYTES): TimeIndex {
  const index = TimeIndex.open(file, asOffset(base), maxBytes);
  for (const c of calls) index.maybeAppend(c.timestamp, asOffset(c.offset));
  return index;
}

/** Decodes a .timeindex with BigInt, independently of the hi/lo arithmetic under test. */
function decodeFile(file: string, base: number): Entry[] {
  const bytes = fs.readFileSync(file);
  const entries: Entry[] = [];
  for (let at = 0; at + 12 <= bytes.length; at += 12) {
    entries.push({ timestamp: Number(bytes.readBigInt64BE(at)), offset: base + bytes.readInt32BE(at + 8) });
  }
  return entries;
}

function expectSameAsModel(index: TimeIndex, base: number, entries: readonly Entry[]): void {
  expect(index.entryCount).toBe(entries.length);
  expect(index.sizeBytes).toBe(entries.length * 12);
  expect(index.lastEntry()).toEqual(entries.at(-1));
  for (const e of entries) expect(index.lookup(e.timestamp)).toEqual(e);
  expect(index.lookup(Number.MAX_SAFE_INTEGER)).toEqual(modelLookup(base, entries, Number.MAX_SAFE_INTEGER));
}

function targetsArb(entries: readonly Entry[]): fc.Arbitrary<number[]> {
  const first = entries[0]?.timestamp ?? 0;
  const last = entries.at(-1)?.timestamp ?? 0;
  return fc.array(
    fc.oneof(
      fc.integer({ min: first - 10, max: last + 10 }),
      entries.length > 0 ? fc.constantFrom(...entries.map((e) => e.timestamp)) : fc.constant(0),
      fc.constantFrom(-1, -(2 ** 40), Number.MAX_SAFE_INTEGER),
    ),
    { minLength: 1, maxLength: 50 },
  );
}

describe('TimeIndex.maybeAppend and lookup', () => {
  it('keeps exactly the entries of increasing timestamp, and lookup matches a linear scan', () => {
    fc.assert(
      fc.property(
        scenarioArb.chain((s) => fc.tuple(fc.constant(s), targetsArb(modelEntries(s.calls)))),
        ([{ base, calls }, targets]) => {
          const index = build(freshFile(), base, calls);
          const entries = modelEntries(calls);
          try {
            expectSameAsModel(index, base, entries);
            for (const target of targets) expect(index.lookup(target)).toEqual(modelLookup(base, entries, target));
          } finally {
            index.delete();
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('returns { -1, baseOffset } when no entry is at or below the target', () => {
    const index = TimeIndex.open(freshFile(), asOffset(500), MAX_BYTES);
    expect(index.lookup(1_700_000_000_000)).toEqual({ timestamp: -1, offset: 500 });
    index.maybeAppend(-1, asOffset(500)); // no timestamp: no entry
    expect(index.entryCount).toBe(0);
    index.maybeAppend(1_700_000_000_000, asOffset(510));
    expect(index.lookup(1_699_999_999_999)).toEqual({ timestamp: -1, offset: 500 });
    expect(index.lookup(1_700_000_000_000)).toEqual({ timestamp: 1_700_000_000_000, offset: 510 });
    expect(index.lookup(Number.NaN)).toEqual({ timestamp: -1, offset: 500 });
    index.delete();
  });
});

describe('TimeIndex persistence', () => {
  it('persist/close/reopen gives the same entries, stored as int64 BE + int32 BE', () => {
    fc.assert(
      fc.property(scenarioArb, fc.nat(), fc.boolean(), ({ base, calls }, split, persistFirst) => {
        const file = freshFile();
        const cut = split % (calls.length + 1);
        const index = build(file, base, calls.slice(0, cut));
        if (persistFirst) index.persist();
        for (const c of calls.slice(cut)) index.maybeAppend(c.timestamp, asOffset(c.offset));
        index.close();
        const entries = modelEntries(calls);
        expect(decodeFile(file, base)).toEqual(entries);
        const reopened = TimeIndex.open(file, asOffset(base), MAX_BYTES);
        expectSameAsModel(reopened, base, entries);
        expect(reopened.isSane()).toBe(true);
        reopened.delete();
      }),
      { numRuns: 100 },
    );
  });

  it('sync writes and fdatasyncs the entries', async () => {
    const file = freshFile();
    const index = build(file, 0, [{ timestamp: 2 ** 40 + 7, offset: 3 }]);
    expect(fs.statSync(file).size).toBe(0);
    await index.sync();
    expect(decodeFile(file, 0)).toEqual([{ timestamp: 2 ** 40 + 7, offset: 3 }]);
    index.close();
  });

  it('loads the whole entries of a cut file and heals the tear on the next write', () => {
    fc.assert(
      fc.property(scenarioArb, fc.nat(), ({ base, calls }, cutAt) => {
        const file = freshFile();
        build(file, base, calls).close();
        const entries = modelEntries(calls);
        const length = cutAt % (entries.length * 12 + 1);
        fs.truncateSync(file, length);
        const whole = entries.slice(0, Math.floor(length / 12));
        const index = TimeIndex.open(file, asOffset(base), MAX_BYTES);
        expectSameAsModel(index, base, whole);
        expect(index.isSane()).toBe(length % 12 === 0);
        const last = whole.at(-1) ?? { timestamp: 0, offset: base };
        const next = { timestamp: last.timestamp + 1, offset: last.offset };
        index.maybeAppend(next.timestamp, asOffset(next.offset));
        index.close();
        expect(decodeFile(file, base)).toEqual([...whole, next]);
        expect(fs.statSync(file).size).toBe((whole.length + 1) * 12);
        fs.unlinkSync(file);
      }),
      { numRuns: 100 },
    );
  });

  it('renameTo moves the file and the index keeps working', () => {
    const from = freshFile();
    const to = `${from}.cleaned`;
    const index = build(from, 0, [{ timestamp: 10, offset: 1 }]);
    index.renameTo(to);
    expect(index.file).toBe(to);
    index.maybeAppend(20, asOffset(2));
    index.close();
    expect(fs.existsSync(from)).toBe(false);
    expect(decodeFile(to, 0)).toEqual([{ timestamp: 10, offset: 1 }, { timestamp: 20, offset: 2 }]);
  });
});

describe('TimeIndex truncation', () => {
  it('truncateTo drops every entry with offset >= the target, also from the file', () => {
    fc.assert(
      fc.property(
        scenarioArb.chain((s) =>
          fc.record({
            scenario: fc.constant(s),
            at: fc.integer({ min: Math.max(0, s.base - 5), max: (s.calls.at(-1)?.offset ?? s.base) + 5 }),
            persistFirst: fc.boolean(),
            reopenFirst: fc.boolean(),
          }),
        ),
        ({ scenario: { base, calls }, at, persistFirst, reopenFirst }) => {
          const file = freshFile();
          let index = build(file, base, calls);
          if (persistFirst) index.persist();
          if (reopenFirst) {
            index.close();
            index = TimeIndex.open(file, asOffset(base), MAX_BYTES);
          }
          index.truncateTo(asOffset(at));
          const model = modelEntries(calls).filter((e) => e.offset < at);
          expectSameAsModel(index, base, model);
          // An entry appended after the truncation lands where the dropped ones were, on disk too.
          const last = model.at(-1) ?? { timestamp: 0, offset: base };
          const next = { timestamp: last.timestamp + 1, offset: Math.max(last.offset, at) };
          index.maybeAppend(next.timestamp, asOffset(next.offset));
          model.push(next);
          index.close();
          expect(decodeFile(file, base)).toEqual(model);
          const reopened = TimeIndex.open(file, asOffset(base), MAX_BYTES);
          expectSameAsModel(reopened, base, model);
          reopened.delete();
        },
      ),
      { numRuns: 150 },
    );
  });

  it('reset drops everything, and the next entry starts from no timestamp', () => {
    const file = freshFile();
    const index = build(file, 0, [{ timestamp: 100, offset: 0 }, { timestamp: 200, offset: 5 }]);
    index.persist();
    index.reset();
    expect(index.entryCount).toBe(0);
    expect(fs.statSync(file).size).toBe(0);
    index.maybeAppend(50, asOffset(1));
    expect(index.lastEntry()).toEqual({ timestamp: 50, offset: 1 });
    index.delete();
  });
});

describe('TimeIndex.isSane', () => {
  function rawIndex(entries: ReadonlyArray<readonly [bigint, number]>, base = 1000): TimeIndex {
    const file = freshFile();
    const bytes = Buffer.alloc(entries.length * 12);
    entries.forEach(([timestamp, relative], i) => {
      bytes.writeBigInt64BE(timestamp, i * 12);
      bytes.writeInt32BE(relative, i * 12 + 8);
    });
    fs.writeFileSync(file, bytes);
    return TimeIndex.open(file, asOffset(base), MAX_BYTES);
  }

  it('accepts increasing timestamps with non-decreasing offsets', () => {
    expect(rawIndex([]).isSane()).toBe(true);
    expect(rawIndex([[0n, 0], [5n, 0], [2n ** 45n, 7]]).isSane()).toBe(true);
  });

  it('rejects timestamps that do not strictly increase', () => {
    expect(rawIndex([[10n, 0], [10n, 1]]).isSane()).toBe(false);
    expect(rawIndex([[10n, 0], [9n, 1]]).isSane()).toBe(false);
  });

  it('rejects decreasing or negative relative offsets', () => {
    expect(rawIndex([[10n, 5], [11n, 4]]).isSane()).toBe(false);
    expect(rawIndex([[10n, -1]]).isSane()).toBe(false);
  });

  it('rejects negative and unsafe timestamps', () => {
    expect(rawIndex([[-5n, 0]]).isSane()).toBe(false);
    expect(rawIndex([[2n ** 60n, 0]]).isSane()).toBe(false);
  });

  it('rejects a file that ends in a partial entry', () => {
    const file = freshFile();
    fs.writeFileSync(file, Buffer.alloc(12 + 11));
    const index = TimeIndex.open(file, asOffset(0), MAX_BYTES);
    expect(index.entryCount).toBe(1);
    expect(index.isSane()).toBe(false);
    index.reset();
    expect(index.isSane()).toBe(true);
    index.delete();
  });
});

describe('TimeIndex invariants', () => {
  const expectViolation = (call: () => unknown): void => {
    expect(call).toThrow(InvariantViolation);
  };

  it('throws InvariantViolation when the offset goes back, even for a no-op timestamp', () => {
    const index = build(freshFile(), 100, [{ timestamp: 10, offset: 105 }]);
    expectViolation(() => index.maybeAppend(20, asOffset(104)));
    expectViolation(() => index.maybeAppend(5, asOffset(104)));
    index.maybeAppend(20, asOffset(105)); // an equal offset is fine
    expect(index.lastEntry()).toEqual({ timestamp: 20, offset: 105 });
    index.delete();
  });

  it('throws on offsets outside int32 of the base and on non-integer timestamps', () => {
    const index = TimeIndex.open(freshFile(), asOffset(1000), MAX_BYTES);
    expectViolation(() => index.maybeAppend(1, asOffset(999)));
    expectViolation(() => index.maybeAppend(1, asOffset(1000 + 2 ** 31)));
    expectViolation(() => index.maybeAppend(1.5, asOffset(1000)));
    expectViolation(() => index.maybeAppend(2 ** 53, asOffset(1000)));
    expect(index.entryCount).toBe(0);
    index.delete();
  });

  it('reports full one entry early, keeping the last slot for the roll entry', () => {
    const index = TimeIndex.open(freshFile(), asOffset(0), 12 * 100);
    for (let i = 0; i < 99; i += 1) {
      expect(index.isFull).toBe(false);
      index.maybeAppend(i, asOffset(i));
    }
    expect(index.isFull).toBe(true);
    index.maybeAppend(1000, asOffset(500)); // the segment's final largest timestamp
    expect(index.entryCount).toBe(100);
    index.maybeAppend(1000, asOffset(500)); // same timestamp: a no-op, not an overflow
    expectViolation(() => index.maybeAppend(1001, asOffset(501)));
    expect(index.lookup(2000)).toEqual({ timestamp: 1000, offset: 500 });
    index.delete();
  });

  it('throws after close, except close, delete and renameTo', () => {
    const file = freshFile();
    const index = build(file, 0, [{ timestamp: 1, offset: 0 }]);
    index.close();
    index.close();
    expectViolation(() => index.lookup(1));
    expectViolation(() => index.maybeAppend(2, asOffset(1)));
    expectViolation(() => index.isSane());
    expectViolation(() => index.sync());
    index.renameTo(`${file}.deleted`);
    index.delete();
    expect(fs.existsSync(`${file}.deleted`)).toBe(false);
  });
});
