// Method: fast-check properties run OffsetIndex against a plain array model (linear-scan lookup, filter
// truncation) and compare the bytes it leaves on disk with the model's own big-endian encoding;
// examples cover torn files, the sanity check and the append invariants.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvariantViolation } from './invariant.js';
import { OffsetIndex } from './offset-index.js';
import { asOffset, asPosition } from './units.js';

interface Entry {
  offset: number;
  position: number;
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
  return path.join(dir, `${String(fileCounter).padStart(20, '0')}.index`);
}

/** Strictly increasing offsets (>= base) and positions (>= 0), up to `maxLength` entries. */
function entriesArb(maxLength = 300): fc.Arbitrary<{ base: number; entries: Entry[] }> {
  return fc
    .record({
      base: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 50 })),
      firstOffsetGap: fc.integer({ min: 0, max: 50 }),
      firstPosition: fc.integer({ min: 0, max: 10_000 }),
      gaps: fc.array(fc.tuple(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 8192 })), { maxLength }),
    })
    .map(({ base, firstOffsetGap, firstPosition, gaps }) => {
      const entries: Entry[] = [];
      let offset = base + firstOffsetGap;
      let position = firstPosition;
      for (const [offsetGap, positionGap] of gaps) {
        entries.push({ offset, position });
        offset += offsetGap;
        position += positionGap;
      }
      return { base, entries };
    });
}

function build(file: string, base: number, entries: readonly Entry[], maxBytes = MAX_BYTES): OffsetIndex {
  const index = OffsetIndex.open(file, asOffset(base), maxBytes);
  for (const e of entries) index.append(asOffset(e.offset), asPosition(e.position));
  return index;
}

function modelLookup(base: number, entries: readonly Entry[], target: number): Entry {
  let found: Entry = { offset: base, position: 0 };
  for (const e of entries) if (e.offset <= target) found = e;
  return found;
}

function encode(base: number, entries: readonly Entry[]): Buffer {
  const bytes = Buffer.alloc(entries.length * 8);
  entries.forEach((e, i) => {
    bytes.writeInt32BE(e.offset - base, i * 8);
    bytes.writeInt32BE(e.position, i * 8 + 4);
  });
  return bytes;
}

/** Targets around every entry, below the base and far past the end. */
function targetsArb(base: number, entries: readonly Entry[]): fc.Arbitrary<number[]> {
  const last = entries.at(-1)?.offset ?? base;
  return fc.array(
    fc.oneof(
      fc.integer({ min: Math.max(0, base - 10), max: last + 10 }),
      entries.length > 0 ? fc.constantFrom(...entries.map((e) => e.offset)) : fc.constant(base),
      fc.constant(base + 2 ** 31 + 5),
    ),
    { minLength: 1, maxLength: 50 },
  );
}

function expectSameAsModel(index: OffsetIndex, base: number, entries: readonly Entry[]): void {
  expect(index.entryCount).toBe(entries.length);
  expect(index.sizeBytes).toBe(entries.length * 8);
  expect(index.lastEntry()).toEqual(entries.at(-1));
  for (const e of entries) expect(index.lookup(asOffset(e.offset))).toEqual(e);
  expect(index.lookup(asOffset(base + 2 ** 40))).toEqual(modelLookup(base, entries, base + 2 ** 40));
}

describe('OffsetIndex.lookup', () => {
  it('returns the greatest entry <= target, as a linear scan does', () => {
    fc.assert(
      fc.property(
        entriesArb().chain(({ base, entries }) =>
          fc.tuple(fc.constant(base), fc.constant(entries), targetsArb(base, entries))),
        ([base, entries, targets]) => {
          const index = build(freshFile(), base, entries);
          try {
            for (const target of targets) {
              expect(index.lookup(asOffset(target))).toEqual(modelLookup(base, entries, target));
            }
          } finally {
            index.delete();
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('returns the segment start for an empty index and for targets below the base', () => {
    const index = OffsetIndex.open(freshFile(), asOffset(100), MAX_BYTES);
    expect(index.lookup(asOffset(150))).toEqual({ offset: 100, position: 0 });
    index.append(asOffset(110), asPosition(4096));
    expect(index.lookup(asOffset(99))).toEqual({ offset: 100, position: 0 });
    expect(index.lookup(asOffset(109))).toEqual({ offset: 100, position: 0 });
    expect(index.lookup(asOffset(110))).toEqual({ offset: 110, position: 4096 });
    expect(index.lookup(asOffset(Number.MAX_SAFE_INTEGER))).toEqual({ offset: 110, position: 4096 });
    index.delete();
  });
});

describe('OffsetIndex persistence', () => {
  it('persist/close/reopen gives the same entries, and the file holds them big-endian', () => {
    fc.assert(
      fc.property(entriesArb(), fc.nat(), fc.boolean(), ({ base, entries }, split, syncFirstPart) => {
        const file = freshFile();
        const cut = entries.length === 0 ? 0 : split % (entries.length + 1);
        const index = build(file, base, entries.slice(0, cut));
        if (syncFirstPart) index.persist();
        for (const e of entries.slice(cut)) index.append(asOffset(e.offset), asPosition(e.position));
        index.close();
        expect(fs.readFileSync(file).equals(encode(base, entries))).toBe(true);
        const reopened = OffsetIndex.open(file, asOffset(base), MAX_BYTES);
        expectSameAsModel(reopened, base, entries);
        expect(reopened.isSane(Number.MAX_SAFE_INTEGER)).toBe(true);
        reopened.delete();
        expect(fs.existsSync(file)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('keeps entries in memory only until persist', () => {
    const file = freshFile();
    const index = build(file, 0, [{ offset: 0, position: 0 }, { offset: 5, position: 100 }]);
    expect(fs.statSync(file).size).toBe(0);
    index.persist();
    expect(fs.statSync(file).size).toBe(16);
    index.append(asOffset(9), asPosition(200));
    expect(fs.statSync(file).size).toBe(16);
    index.close();
    expect(fs.statSync(file).size).toBe(24);
  });

  it('sync writes and fdatasyncs the entries', async () => {
    const file = freshFile();
    const index = build(file, 0, [{ offset: 3, position: 0 }]);
    await index.sync();
    expect(fs.readFileSync(file).equals(encode(0, [{ offset: 3, position: 0 }]))).toBe(true);
    index.close();
  });

  it('closes the descriptor only after an in-flight sync', async () => {
    const index = build(freshFile(), 0, [{ offset: 3, position: 0 }]);
    const pending = index.sync();
    index.close();
    await expect(pending).resolves.toBeUndefined();
  });

  it('loads the whole entries of a cut file and heals the tear on the next write', () => {
    fc.assert(
      fc.property(entriesArb(100), fc.nat(), ({ base, entries }, cutAt) => {
        const file = freshFile();
        build(file, base, entries).close();
        const length = cutAt % (entries.length * 8 + 1);
        fs.truncateSync(file, length);
        const whole = entries.slice(0, Math.floor(length / 8));
        const index = OffsetIndex.open(file, asOffset(base), MAX_BYTES);
        expectSameAsModel(index, base, whole);
        expect(index.isSane(Number.MAX_SAFE_INTEGER)).toBe(length % 8 === 0);
        const next = { offset: (whole.at(-1)?.offset ?? base) + 1, position: (whole.at(-1)?.position ?? 0) + 1 };
        index.append(asOffset(next.offset), asPosition(next.position));
        index.close();
        expect(fs.readFileSync(file).equals(encode(base, [...whole, next]))).toBe(true);
        fs.unlinkSync(file);
      }),
      { numRuns: 100 },
    );
  });

  it('renameTo moves the file and the index keeps working', () => {
    const from = freshFile();
    const to = `${from}.swap`;
    const index = build(from, 0, [{ offset: 1, position: 0 }]);
    index.renameTo(to);
    expect(index.file).toBe(to);
    expect(fs.existsSync(from)).toBe(false);
    index.append(asOffset(2), asPosition(10));
    index.close();
    const expected = encode(0, [{ offset: 1, position: 0 }, { offset: 2, position: 10 }]);
    expect(fs.readFileSync(to).equals(expected)).toBe(true);
  });
});

describe('OffsetIndex truncation', () => {
  const scenario = entriesArb().chain(({ base, entries }) =>
    fc.record({
      base: fc.constant(base),
      entries: fc.constant(entries),
      persistFirst: fc.boolean(),
      reopenFirst: fc.boolean(),
      at: fc.oneof(
        fc.integer({ min: Math.max(0, base - 5), max: (entries.at(-1)?.offset ?? base) + 5 }),
        entries.length > 0 ? fc.constantFrom(...entries.map((e) => e.offset)) : fc.constant(base),
      ),
      more: fc.integer({ min: 0, max: 5 }),
    }),
  );

  function afterTruncation(
    truncate: (index: OffsetIndex, at: number) => void,
    keep: (e: Entry, at: number) => boolean,
    atFor: (base: number, entries: readonly Entry[], at: number) => number,
  ): void {
    fc.assert(
      fc.property(scenario, ({ base, entries, persistFirst, reopenFirst, at, more }) => {
        const file = freshFile();
        let index = build(file, base, entries);
        if (persistFirst) index.persist();
        if (reopenFirst) {
          index.close();
          index = OffsetIndex.open(file, asOffset(base), MAX_BYTES);
        }
        const cutAt = atFor(base, entries, at);
        truncate(index, cutAt);
        const model = entries.filter((e) => keep(e, cutAt));
        expectSameAsModel(index, base, model);
        // Entries appended after a truncation must land where the dropped ones were, on disk too.
        let last = model.at(-1) ?? { offset: base - 1, position: -1 };
        for (let i = 0; i < more; i += 1) {
          last = { offset: last.offset + 1, position: last.position + 1 };
          model.push(last);
          index.append(asOffset(last.offset), asPosition(last.position));
        }
        index.close();
        expect(fs.readFileSync(file).equals(encode(base, model))).toBe(true);
        const reopened = OffsetIndex.open(file, asOffset(base), MAX_BYTES);
        expectSameAsModel(reopened, base, model);
        reopened.delete();
      }),
      { numRuns: 150 },
    );
  }

  it('truncateTo drops every entry with offset >= the target, also from the file', () => {
    afterTruncation(
      (index, at) => index.truncateTo(asOffset(at)),
      (e, at) => e.offset < at,
      (_base, _entries, at) => at,
    );
  });

  it('truncateToPosition drops every entry with position >= the target, also from the file', () => {
    afterTruncation(
      (index, at) => index.truncateToPosition(asPosition(at)),
      (e, at) => e.position < at,
      // Map the offset-shaped draw onto a position: an entry's own position, or one byte past it.
      (base, entries, at) => {
        const hit = entries.find((e) => e.offset >= at);
        return hit === undefined ? (entries.at(-1)?.position ?? 0) + 1 : hit.position + ((at - base) % 2);
      },
    );
  });

  it('reset drops everything', () => {
    const file = freshFile();
    const index = build(file, 10, [{ offset: 10, position: 0 }, { offset: 20, position: 50 }]);
    index.persist();
    index.reset();
    expect(index.entryCount).toBe(0);
    expect(index.lastEntry()).toBeUndefined();
    expect(fs.statSync(file).size).toBe(0);
    index.append(asOffset(15), asPosition(7));
    expect(index.lookup(asOffset(30))).toEqual({ offset: 15, position: 7 });
    index.delete();
  });
});

describe('OffsetIndex.isSane', () => {
  function rawIndex(pairs: ReadonlyArray<readonly [number, number]>, base = 1000): OffsetIndex {
    const file = freshFile();
    const bytes = Buffer.alloc(pairs.length * 8);
    pairs.forEach(([relative, position], i) => {
      bytes.writeInt32BE(relative, i * 8);
      bytes.writeInt32BE(position, i * 8 + 4);
    });
    fs.writeFileSync(file, bytes);
    return OffsetIndex.open(file, asOffset(base), MAX_BYTES);
  }

  it('accepts strictly increasing entries inside the log', () => {
    expect(rawIndex([]).isSane(0)).toBe(true);
    expect(rawIndex([[0, 0], [5, 4096], [9, 8200]]).isSane(8201)).toBe(true);
  });

  it('rejects offsets that do not strictly increase', () => {
    expect(rawIndex([[0, 0], [5, 4096], [5, 8200]]).isSane(10_000)).toBe(false);
    expect(rawIndex([[0, 0], [5, 4096], [3, 8200]]).isSane(10_000)).toBe(false);
  });

  it('rejects positions that do not strictly increase', () => {
    expect(rawIndex([[0, 0], [5, 4096], [6, 4096]]).isSane(10_000)).toBe(false);
    expect(rawIndex([[0, 100], [5, 50]]).isSane(10_000)).toBe(false);
  });

  it('rejects positions at or beyond the log size', () => {
    expect(rawIndex([[0, 0], [5, 4096]]).isSane(4096)).toBe(false);
    expect(rawIndex([[0, 0], [5, 4096]]).isSane(4097)).toBe(true);
  });

  it('rejects negative relative offsets and positions', () => {
    expect(rawIndex([[-1, 0]]).isSane(10)).toBe(false);
    expect(rawIndex([[0, -5]]).isSane(10)).toBe(false);
  });

  it('rejects a file that ends in a partial entry', () => {
    const file = freshFile();
    fs.writeFileSync(file, Buffer.alloc(8 + 3));
    const index = OffsetIndex.open(file, asOffset(0), MAX_BYTES);
    expect(index.entryCount).toBe(1);
    expect(index.isSane(10)).toBe(false);
    index.truncateTo(asOffset(100)); // keeps the entry, cuts the tear
    expect(index.isSane(10)).toBe(true);
    expect(fs.statSync(file).size).toBe(8);
  });
});

describe('OffsetIndex invariants', () => {
  const expectViolation = (call: () => unknown): void => {
    expect(call).toThrow(InvariantViolation);
  };

  it('throws InvariantViolation on an append out of order', () => {
    fc.assert(
      fc.property(
        entriesArb(50).filter(({ entries }) => entries.length > 0),
        fc.integer({ min: 0, max: 3 }),
        ({ base, entries }, badness) => {
          const index = build(freshFile(), base, entries);
          const last = entries.at(-1)!;
          const [offset, position] = [
            [last.offset, last.position + 1], // same offset
            [last.offset - 1, last.position + 1], // offset going back
            [last.offset + 1, last.position], // same position
            [last.offset + 1, last.position - 1], // position going back
          ][badness]!;
          expectViolation(() => index.append(asOffset(offset!), asPosition(position!)));
          expect(index.entryCount).toBe(entries.length);
          index.delete();
        },
      ),
      { numRuns: 50 },
    );
  });

  it('throws on offsets outside int32 of the base and on bad positions', () => {
    const index = OffsetIndex.open(freshFile(), asOffset(1000), MAX_BYTES);
    expectViolation(() => index.append(asOffset(999), asPosition(0)));
    expectViolation(() => index.append(asOffset(1000 + 2 ** 31), asPosition(0)));
    expectViolation(() => index.append(asOffset(1000.5), asPosition(0)));
    expectViolation(() => index.append(asOffset(1000), asPosition(-1)));
    expectViolation(() => index.append(asOffset(1000), asPosition(2 ** 31)));
    index.append(asOffset(1000 + 2 ** 31 - 1), asPosition(0));
    expect(index.lastEntry()).toEqual({ offset: 1000 + 2 ** 31 - 1, position: 0 });
    index.delete();
  });

  it('grows up to maxIndexBytes, then reports full and refuses appends', () => {
    const index = OffsetIndex.open(freshFile(), asOffset(0), 8 * 200);
    for (let i = 0; i < 200; i += 1) {
      expect(index.isFull).toBe(false);
      index.append(asOffset(i), asPosition(i * 10));
    }
    expect(index.isFull).toBe(true);
    expect(index.sizeBytes).toBe(1600);
    expectViolation(() => index.append(asOffset(200), asPosition(2000)));
    expect(index.lookup(asOffset(150))).toEqual({ offset: 150, position: 1500 });
    index.truncateTo(asOffset(199));
    expect(index.isFull).toBe(false);
    index.delete();
  });

  it('throws after close, except close, delete and renameTo', () => {
    const file = freshFile();
    const index = build(file, 0, [{ offset: 0, position: 0 }]);
    index.close();
    index.close();
    expectViolation(() => index.lookup(asOffset(0)));
    expectViolation(() => index.append(asOffset(1), asPosition(1)));
    expectViolation(() => index.entryCount);
    expectViolation(() => index.persist());
    expectViolation(() => index.sync());
    expectViolation(() => index.truncateTo(asOffset(0)));
    index.renameTo(`${file}.deleted`);
    index.delete();
    expect(fs.existsSync(`${file}.deleted`)).toBe(false);
    expectViolation(() => index.delete());
  });
});
