// Method: a fast-check model test compares a compacted Log, read back record by record, with an
// in-memory list of every append filtered by compaction's rules; examples pin the tombstone clock,
// reopening (clean and unclean), every on-disk state a crash mid-swap can leave (built by hand from a
// real compaction's files), a reader holding a segment across its swap, and a truncation mid-run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LogConfig } from './config.js';
import { CLEANED_SUFFIX, SWAP_SUFFIX } from './log-cleaner.js';
import { CLEAN_SHUTDOWN_FILE, Log } from './log.js';
import { decodeBatches, encodeBatch, type RecordInput } from './record-batch.js';
import { LOG_SUFFIX, OFFSET_INDEX_SUFFIX, segmentFileName, TIME_INDEX_SUFFIX } from './segment.js';
import { asOffset, type Offset } from './units.js';

const DELETE_RETENTION_MS = 1_000;
const CONFIG: Partial<LogConfig> = {
  segmentBytes: 4096,
  maxBatchBytes: 4096,
  indexIntervalBytes: 512,
  cleanupPolicy: 'compact',
  flushPolicy: 'never',
  deleteRetentionMs: DELETE_RETENTION_MS,
};

let root: string;
const logs: Log[] = [];

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-cleaner-'));
});

afterEach(async () => {
  for (const log of logs.splice(0)) await log.close().catch(() => undefined);
  vi.restoreAllMocks();
  fs.rmSync(root, { recursive: true, force: true });
});

/** A controllable clock: tests move `clock.now` by hand. */
function manualClock(start = 1_000_000): { now: number; read: () => number } {
  const clock = { now: start, read: () => clock.now };
  return clock;
}

async function openLog(dir: string, clock: () => number, config: Partial<LogConfig> = CONFIG): Promise<Log> {
  const log = await Log.open(dir, config, { clock });
  logs.push(log);
  return log;
}

async function closeLog(log: Log): Promise<void> {
  await log.close();
  logs.splice(logs.indexOf(log), 1);
}

interface Rec {
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
}

/** Every record from the log start to the log end, following `nextOffset` (CRCs checked by decoding). */
async function readAll(log: Log): Promise<Rec[]> {
  const records: Rec[] = [];
  let offset: Offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const { bytes, nextOffset } = await log.read(offset, { maxBytes: 64 * 1024 });
    if (bytes.length === 0) break;
    for (const batch of decodeBatches(bytes)) {
      for (const r of batch.records) {
        records.push({ offset: r.offset, timestamp: r.timestamp, key: r.key?.toString('latin1') ?? null, value: r.value?.toString('latin1') ?? null });
      }
    }
    expect(nextOffset).toBeGreaterThan(offset);
    offset = nextOffset;
  }
  return records;
}

/** Appends one batch; returns the records as the log now holds them. */
async function append(log: Log, records: readonly Omit<Rec, 'offset'>[], compression: 'none' | 'lz4' = 'none'): Promise<Rec[]> {
  const inputs: RecordInput[] = records.map((r) => ({ key: r.key === null ? null : Buffer.from(r.key, 'latin1'), value: r.value === null ? null : Buffer.from(r.value, 'latin1'), timestamp: r.timestamp }));
  const { baseOffset } = await log.append(encodeBatch(inputs, { compression }));
  return records.map((r, i) => ({ ...r, offset: baseOffset + i }));
}

/** Appends padding records (key `pad`) until the active segment rolls: what came before is sealed. */
async function roll(log: Log, timestamp: number): Promise<Rec[]> {
  const appended: Rec[] = [];
  const segments = log.segmentCount;
  while (log.segmentCount === segments) appended.push(...(await append(log, [{ key: 'pad', value: 'x'.repeat(1000), timestamp }])));
  return appended;
}

/**
 * The model: what a compaction at `now` keeps of `appended`, given the segment base offsets when it
 * ran (the last is the active segment's, whose records all stay). Within the sealed part a record
 * stays iff its key is null, or it is its key's last record there and not a tombstone whose
 * segment's newest timestamp is older than `now - deleteRetentionMs`.
 */
function compactModel(appended: readonly Rec[], bases: readonly number[], now: number): Rec[] {
  const activeBase = bases.at(-1) as number;
  const segmentOf = (offset: number): number => bases.filter((b) => b <= offset).length - 1;
  const segmentMaxTs = new Map<number, number>();
  const latest = new Map<string, number>();
  for (const r of appended) {
    if (r.offset >= activeBase) continue;
    const s = segmentOf(r.offset);
    segmentMaxTs.set(s, Math.max(segmentMaxTs.get(s) ?? -1, r.timestamp));
    if (r.key !== null) latest.set(r.key, r.offset);
  }
  return appended.filter((r) => {
    if (r.offset >= activeBase || r.key === null) return true;
    if (latest.get(r.key) !== r.offset) return false;
    return !(r.value === null && (segmentMaxTs.get(segmentOf(r.offset)) as number) < now - DELETE_RETENTION_MS);
  });
}

/** `n` latin1 chars that lz4 cannot shrink much, the same for the same seed (mulberry32). */
function noise(seed: number, n: number): string {
  let state = seed >>> 0;
  let out = '';
  for (let i = 0; i < n; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    out += String.fromCharCode(((t ^ (t >>> 14)) >>> 0) & 0xff);
  }
  return out;
}

/** The last record of `key` below `end`. */
function lastOf(records: readonly Rec[], key: string | null, end: number): Rec | undefined {
  return records.filter((r) => r.key === key && r.offset < end).at(-1);
}

/** Names of the files in `dir` that a finished swap or a recovery must not leave behind. */
function leftovers(dir: string): string[] {
  return fs.readdirSync(dir).filter((name) => name.endsWith(CLEANED_SUFFIX) || name.endsWith(SWAP_SUFFIX));
}

describe('compaction against a model', () => {
  const recordArb = fc.record({
    key: fc.option(fc.nat({ max: 63 }), { freq: 10, nil: null }),
    tombstone: fc.nat({ max: 4 }).map((n) => n === 0),
    valueBytes: fc.integer({ min: 0, max: 200 }),
  });
  const batchArb = fc.record({
    records: fc.array(recordArb, { minLength: 1, maxLength: 12, size: 'max' }),
    clockStepMs: fc.integer({ min: 0, max: 300 }),
    compression: fc.constantFrom('none' as const, 'lz4' as const),
  });

  it('keeps exactly the latest record of each key at its original offset, and never touches the active segment', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(batchArb, { minLength: 1, maxLength: 100, size: 'max' }),
        // Few keys: most records superseded; many: some segments have nothing to remove.
        fc.constantFrom(1, 3, 8, 64),
        fc.integer({ min: 0, max: 3 * DELETE_RETENTION_MS }),
        async (batches, keySpace, finalStepMs) => {
          run += 1;
          const dir = path.join(root, `model-${run}`);
          const clock = manualClock();
          const log = await openLog(dir, clock.read);
          const appended: Rec[] = [];
          let serial = 0;
          for (const batch of batches) {
            clock.now += batch.clockStepMs;
            const records = batch.records.map((r) => {
              serial += 1;
              const value = r.tombstone ? null : `${serial}:${noise(serial, r.valueBytes)}`;
              return { key: r.key === null ? null : `k${r.key % keySpace}`, value, timestamp: clock.now };
            });
            appended.push(...(await append(log, records, batch.compression)));
          }
          clock.now += finalStepMs;
          const bases = log.segmentBaseOffsets;
          const activeBase = bases.at(-1) as number;
          const expected = compactModel(appended, bases, clock.now);
          const sizeBefore = log.sizeBytes;

          const result = await log.compact();
          const actual = await readAll(log);
          expect(actual).toEqual(expected);
          expect(log.segmentBaseOffsets).toEqual(bases);
          expect(log.logEndOffset).toBe(appended.length);
          expect(result.recordsRemoved).toBe(appended.length - expected.length);
          const removed = appended.filter((r) => !expected.includes(r));
          const expiredTombstones = removed.filter((r) => r.value === null && lastOf(appended, r.key, activeBase) === r);
          expect(result.tombstonesRemoved).toBe(expiredTombstones.length);
          // Exactly the segments that lose a record are rewritten; the others are left alone.
          const losing = new Set(removed.map((r) => bases.filter((base) => base <= r.offset).length));
          expect(result.segmentsCleaned).toBe(losing.size);
          expect(log.sizeBytes).toBe(sizeBefore - result.bytesBefore + result.bytesAfter);
          expect(leftovers(dir)).toEqual([]);

          // What the model's equality implies, spelled out: each key's last record is its last append,
          // or nothing when that was an expired tombstone; the sealed part holds each key at most once.
          const lastAppended = new Map(appended.filter((r) => r.key !== null).map((r) => [r.key, r] as const));
          const lastRead = new Map(actual.filter((r) => r.key !== null).map((r) => [r.key, r] as const));
          for (const [key, last] of lastAppended) {
            const read = lastRead.get(key);
            if (read === undefined) expect(last.value).toBeNull();
            else expect(read).toEqual(last);
          }
          const sealedKeys = actual.filter((r) => r.offset < activeBase && r.key !== null).map((r) => r.key);
          expect(new Set(sealedKeys).size).toBe(sealedKeys.length);
          expect(actual.filter((r) => r.offset >= activeBase)).toEqual(appended.filter((r) => r.offset >= activeBase));

          // A second run at the same time removes only tombstones whose segment lost its newest batch
          // (its max timestamp fell behind the horizon): the model, applied to the first run's output.
          const again = await log.compact();
          const expectedAgain = compactModel(actual, bases, clock.now);
          expect(await readAll(log)).toEqual(expectedAgain);
          expect(again.recordsRemoved).toBe(actual.length - expectedAgain.length);
          const losingAgain = new Set(actual.filter((r) => !expectedAgain.includes(r)).map((r) => bases.filter((base) => base <= r.offset).length));
          expect(again.segmentsCleaned).toBe(losingAgain.size);
          await closeLog(log);
          fs.rmSync(dir, { recursive: true, force: true });
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('tombstones', () => {
  it('survive while their segment is younger than deleteRetentionMs and go after', async () => {
    const clock = manualClock(10_000);
    const log = await openLog(path.join(root, 'log'), clock.read);
    const t = clock.now;
    await append(log, [{ key: 'a', value: 'a1', timestamp: t }, { key: 'b', value: 'b1', timestamp: t }]);
    await append(log, [{ key: 'a', value: null, timestamp: t }]);
    await roll(log, t);
    const tombstoneInActive = await append(log, [{ key: 'b', value: null, timestamp: t }]);

    // The sealed segment's newest timestamp is exactly at the horizon: not older, so kept.
    clock.now = t + DELETE_RETENTION_MS;
    const young = await log.compact();
    expect(young.tombstonesRemoved).toBe(0);
    let records = await readAll(log);
    expect(records.filter((r) => r.key === 'a')).toEqual([{ offset: 2, timestamp: t, key: 'a', value: null }]);
    expect(records.filter((r) => r.key === 'b')).toEqual([{ offset: 1, timestamp: t, key: 'b', value: 'b1' }, tombstoneInActive[0]]);

    clock.now = t + DELETE_RETENTION_MS + 1;
    const old = await log.compact();
    expect(old.tombstonesRemoved).toBe(1);
    records = await readAll(log);
    expect(records.filter((r) => r.key === 'a')).toEqual([]);
    // The tombstone in the active segment stays however old it is, and so does what it deletes.
    expect(records.filter((r) => r.key === 'b')).toEqual([{ offset: 1, timestamp: t, key: 'b', value: 'b1' }, tombstoneInActive[0]]);
  });
});

/** A log of several sealed segments full of overwritten keys; returns everything appended. */
async function fillWithOverwrites(log: Log, clock: { now: number }, batches = 40): Promise<Rec[]> {
  const appended: Rec[] = [];
  for (let i = 0; i < batches; i++) {
    clock.now += 10;
    const records = Array.from({ length: 6 }, (_, j) => ({
      key: `k${(i * 6 + j) % 13}`,
      value: (i + j) % 11 === 0 ? null : `v${i}.${j}`.padEnd(60, '-'),
      timestamp: clock.now,
    }));
    appended.push(...(await append(log, records, i % 2 === 0 ? 'none' : 'lz4')));
  }
  return appended;
}

describe('reopening a compacted log', () => {
  it('finds the same records after a clean close and after an unclean stop', async () => {
    const clock = manualClock();
    const dir = path.join(root, 'log');
    const log = await openLog(dir, clock.read);
    await fillWithOverwrites(log, clock);
    clock.now += 5 * DELETE_RETENTION_MS;
    const result = await log.compact();
    expect(result.segmentsCleaned).toBeGreaterThan(1);
    const compacted = await readAll(log);

    // Unclean: a copy of the directory as it is while the log is open, without the clean marker.
    const copy = path.join(root, 'copy');
    fs.cpSync(dir, copy, { recursive: true });
    const crashed = await openLog(copy, clock.read);
    expect(crashed.recovery.clean).toBe(false);
    expect(await readAll(crashed)).toEqual(compacted);

    await closeLog(log);
    const reopened = await openLog(dir, clock.read);
    expect(reopened.recovery.clean).toBe(true);
    expect(await readAll(reopened)).toEqual(compacted);
    expect((await reopened.compact()).segmentsCleaned).toBe(0);
  });
});

describe('a crash mid-swap', () => {
  /** The segment's `.log`, `.index` and `.timeindex` file names. */
  const files = (base: number): string[] =>
    [LOG_SUFFIX, OFFSET_INDEX_SUFFIX, TIME_INDEX_SUFFIX].map((suffix) => path.basename(segmentFileName('', asOffset(base), suffix)));

  /**
   * Builds a log, keeps a copy of it before compaction (`old`) and after (`new`), and returns the
   * records of each, the segment bases, and the bases of the segments compaction rewrote.
   */
  async function oldAndNew(): Promise<{
    oldDir: string;
    newDir: string;
    oldRecords: Rec[];
    newRecords: Rec[];
    bases: number[];
    changed: number[];
    now: number;
  }> {
    const clock = manualClock();
    const newDir = path.join(root, 'new');
    const oldDir = path.join(root, 'old');
    let log = await openLog(newDir, clock.read);
    await fillWithOverwrites(log, clock, 60);
    clock.now += 5 * DELETE_RETENTION_MS;
    await closeLog(log);
    fs.cpSync(newDir, oldDir, { recursive: true });
    log = await openLog(newDir, clock.read);
    const oldRecords = await readAll(log);
    const bases = log.segmentBaseOffsets.map(Number);
    expect((await log.compact()).segmentsCleaned).toBeGreaterThanOrEqual(3);
    const newRecords = await readAll(log);
    await closeLog(log);
    const changed = bases.filter((base) => {
      const [logName] = files(base) as [string];
      return !fs.readFileSync(path.join(oldDir, logName)).equals(fs.readFileSync(path.join(newDir, logName)));
    });
    return { oldDir, newDir, oldRecords, newRecords, bases, changed, now: clock.now };
  }

  const inSegment = (records: readonly Rec[], bases: readonly number[], i: number): Rec[] =>
    records.filter((r) => r.offset >= (bases[i] as number) && (i + 1 === bases.length || r.offset < (bases[i + 1] as number)));

  type Build = (dir: string, newDir: string, base: number) => void;
  const copyFrom = (from: string, to: string, name: string, as = name): void => fs.copyFileSync(path.join(from, name), path.join(to, as));

  const states: { name: string; build: Build; swapped: boolean }[] = [
    {
      name: 'a .log.cleaned only',
      swapped: false,
      build: (dir, newDir, base) => copyFrom(newDir, dir, files(base)[0] as string, (files(base)[0] as string) + CLEANED_SUFFIX),
    },
    {
      name: 'a .log.swap beside the old live log and its old indexes',
      swapped: true,
      build: (dir, newDir, base) => copyFrom(newDir, dir, files(base)[0] as string, (files(base)[0] as string) + SWAP_SUFFIX),
    },
    {
      name: 'a .log.swap with .index.swap and .timeindex.swap',
      swapped: true,
      build: (dir, newDir, base) => {
        for (const name of files(base)) copyFrom(newDir, dir, name, name + SWAP_SUFFIX);
      },
    },
    {
      name: 'a .log.swap after the live indexes were deleted',
      swapped: true,
      build: (dir, newDir, base) => {
        const [logName, indexName, timeName] = files(base) as [string, string, string];
        copyFrom(newDir, dir, logName, logName + SWAP_SUFFIX);
        fs.rmSync(path.join(dir, indexName));
        fs.rmSync(path.join(dir, timeName));
      },
    },
    {
      name: 'the new live log with empty indexes (renamed, not yet sealed)',
      swapped: true,
      build: (dir, newDir, base) => {
        const [logName, indexName, timeName] = files(base) as [string, string, string];
        copyFrom(newDir, dir, logName);
        fs.writeFileSync(path.join(dir, indexName), '');
        fs.writeFileSync(path.join(dir, timeName), '');
      },
    },
  ];

  it.each(states)('recovers each segment wholly old or wholly new from $name', async ({ build, swapped }) => {
    const { oldDir, newDir, oldRecords, newRecords, bases, changed, now } = await oldAndNew();
    // The crash hits the second segment the run rewrote: the first is already swapped in.
    const victim = changed[1] as number;
    const dir = path.join(root, 'crashed');
    fs.cpSync(oldDir, dir, { recursive: true });
    for (const base of changed.filter((b) => b < victim)) for (const name of files(base)) copyFrom(newDir, dir, name);
    build(dir, newDir, victim);
    fs.rmSync(path.join(dir, CLEAN_SHUTDOWN_FILE), { force: true });

    const log = await openLog(dir, () => now);
    expect(log.recovery.clean).toBe(false);
    expect(leftovers(dir)).toEqual([]);
    const records = await readAll(log);
    bases.forEach((base, i) => {
      const isNew = base < victim ? changed.includes(base) : base === victim && swapped;
      expect(inSegment(records, bases, i), `segment ${base}`).toEqual(inSegment(isNew ? newRecords : oldRecords, bases, i));
    });
    // Finishing the run from there reaches the same log as the uninterrupted one.
    await log.compact();
    expect(await readAll(log)).toEqual(newRecords);
  });
});

describe('the file protocol', () => {
  it('writes <base>.log.cleaned and commits it as <base>.log.swap, the names Log.open recovers', async () => {
    const clock = manualClock();
    const dir = path.join(root, 'log');
    const log = await openLog(dir, clock.read);
    await fillWithOverwrites(log, clock);
    const renames: [string, string][] = [];
    const realRename = fs.renameSync;
    vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
      renames.push([path.basename(String(from)), path.basename(String(to))]);
      realRename(from, to);
    });
    const result = await log.compact();
    const live = /^\d{20}\.log$/;
    const cleanerRenames = renames.filter(([from]) => from.endsWith(CLEANED_SUFFIX));
    expect(cleanerRenames).toHaveLength(result.segmentsCleaned);
    for (const [from, to] of cleanerRenames) {
      expect(from.slice(0, -CLEANED_SUFFIX.length)).toMatch(live);
      expect(to).toBe(from.slice(0, -CLEANED_SUFFIX.length) + SWAP_SUFFIX);
    }
    // Then the Log's commitSwap renames each `.swap` over its live file.
    expect(renames.filter(([from]) => from.endsWith(SWAP_SUFFIX)).map(([from, to]) => from.slice(0, -SWAP_SUFFIX.length) === to)).toEqual(
      cleanerRenames.map(() => true),
    );
    expect(leftovers(dir)).toEqual([]);
  });
});

describe('a reader holding a segment across its swap', () => {
  it('gets the old bytes, intact, from the replaced file', async () => {
    const clock = manualClock();
    const log = await openLog(path.join(root, 'log'), clock.read);
    await fillWithOverwrites(log, clock);
    const before = await log.read(asOffset(0), { maxBytes: 1 << 20 });

    // Hold the reader's fs.read (issued synchronously by log.read) until compaction has swapped.
    const realRead = fs.read;
    let holdNext = false;
    let release: (() => void) | undefined;
    vi.spyOn(fs, 'read').mockImplementation(((...args: unknown[]) => {
      const call = (): void => void (realRead as (...a: unknown[]) => void)(...args);
      if (!holdNext) return call();
      holdNext = false;
      release = call;
    }) as unknown as typeof fs.read);
    holdNext = true;
    const pending = log.read(asOffset(0), { maxBytes: 1 << 20 });
    expect(release).toBeDefined();

    const result = await log.compact();
    expect(result.segmentsCleaned).toBeGreaterThan(0);
    const after = await log.read(asOffset(0), { maxBytes: 1 << 20 });
    expect(after.bytes.equals(before.bytes)).toBe(false);

    (release as () => void)();
    const held = await pending;
    expect(held.bytes.equals(before.bytes)).toBe(true);
    expect([...decodeBatches(held.bytes)].length).toBeGreaterThan(0);
  });
});

describe('a truncation during a run', () => {
  it('stops the run before it removes a record whose newer version was truncated away', async () => {
    const clock = manualClock();
    const log = await openLog(path.join(root, 'log'), clock.read);
    const t = clock.now;
    const first = await append(log, [{ key: 'a', value: 'a1', timestamp: t }]);
    const sealedBefore = await roll(log, t);
    const cut = log.logEndOffset;
    await append(log, [{ key: 'a', value: 'a2', timestamp: t }]);
    await roll(log, t);
    await append(log, [{ key: 'z', value: 'z', timestamp: t }]);

    const run = log.compact();
    // Runs once compact() has taken its snapshot and issued its first read.
    const truncation = log.truncateTo(cut);
    const result = await run;
    await truncation;
    expect(result.segmentsCleaned).toBe(0);
    expect(leftovers(log.dir)).toEqual([]);
    const records = await readAll(log);
    expect(records.filter((r) => r.key === 'a')).toEqual(first);
    expect(records).toEqual([...first, ...sealedBefore].filter((r) => r.offset < cut));
  });
});
