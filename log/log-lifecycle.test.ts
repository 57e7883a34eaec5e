// Method: examples of a log's life beyond append and read, on real files: a compacted log whose sealed
// segment holds a batch with a valid CRC but undecodable records (written into the file with fs, as
// a bad disk or an older build could leave it), a storage failure injected by putting a directory
// where the next segment's file must go, and a log of 2,000 segments whose process's open descriptors
// are counted in /proc/self/fd while every segment is read, also while retention deletes them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchField, computeBatchCrc } from './batch-header.js';
import type { LogConfig } from './config.js';
import { DescriptorPool } from './descriptor-pool.js';
import { LogError } from './errors.js';
import { Log } from './log.js';
import { decodeBatches, encodeBatch } from './record-batch.js';
import { LOG_SUFFIX, segmentFileName } from './segment.js';
import { asOffset, type Offset } from './units.js';

let dir: string;
const logs: Log[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeEach(() => {
  // Thousands of segments mean thousands of fsyncs: on a RAM disk where there is one.
  const root = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  dir = fs.mkdtempSync(path.join(root, 'strata-log-life-'));
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});

afterEach(async () => {
  process.off('unhandledRejection', onUnhandled);
  for (const log of logs.splice(0)) await log.close().catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
});

async function openLog(config: Partial<LogConfig>, options: Parameters<typeof Log.open>[2] = {}): Promise<Log> {
  const log = await Log.open(dir, config, options);
  logs.push(log);
  return log;
}

async function closeLog(log: Log): Promise<void> {
  await log.close();
  logs.splice(logs.indexOf(log), 1);
}

/** Lets every pending promise callback run, so an unhandled rejection would have been reported. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Offsets and values of every record readable from the log start. */
async function readValues(log: Log, from: Offset = log.logStartOffset): Promise<Array<[number, string]>> {
  const seen: Array<[number, string]> = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    const { bytes, nextOffset } = await log.read(offset, { maxBytes: 64 * 1024 });
    if (bytes.length === 0) break;
    for (const batch of decodeBatches(bytes)) for (const r of batch.records) seen.push([r.offset, r.value?.toString() ?? '']);
    offset = nextOffset;
  }
  return seen;
}

/**
 * Makes the first batch of `file` claim one record fewer than it holds, with its CRC recomputed: it
 * passes every header check (the count stays within the offset delta) but its records no longer
 * decode, as the batch of issue 8's bug 1 did.
 */
function poisonFirstBatch(file: string): void {
  const bytes = fs.readFileSync(file);
  const size = 12 + bytes.readInt32BE(BatchField.batchLength);
  const count = bytes.readInt32BE(BatchField.recordsCount);
  bytes.writeInt32BE(count - 1, BatchField.recordsCount);
  bytes.writeUInt32BE(computeBatchCrc(bytes, 0, size), BatchField.crc);
  fs.writeFileSync(file, bytes);
}

const COMPACTED: Partial<LogConfig> = { segmentBytes: 4096, maxBatchBytes: 4096, cleanupPolicy: 'compact', flushPolicy: 'never' };

describe('a compacted log with undecodable records in a sealed segment', () => {
  it('rejects compaction once, naming the segment, then stays appendable, readable and is not compacted again', async () => {
    let log = await openLog(COMPACTED);
    let n = 0;
    while (log.segmentCount < 4) {
      await log.append(encodeBatch([0, 1, 2].map((k) => ({ key: `k${k}`, value: `v${n++}` }))));
    }
    await closeLog(log);
    const first = segmentFileName(dir, asOffset(0), LOG_SUFFIX);
    poisonFirstBatch(first);
    log = await openLog(COMPACTED);
    const end = log.logEndOffset;

    const failed = await log.compact().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(LogError);
    expect((failed as LogError).errorName).toBe('INVALID_RECORD');
    expect((failed as Error).message).toContain(first);
    expect(log.uncleanable?.segment).toBe(first);
    expect(log.storageFailure).toBeUndefined();
    await settle();
    expect(unhandled).toEqual([]);

    // Nothing was rewritten: every record is still there, and the log takes appends.
    expect((await readValues(log, asOffset(3))).length).toBe(end - 3);
    const appended = await log.append(encodeBatch([{ key: 'k0', value: 'after' }]));
    expect(appended.baseOffset).toBe(end);
    expect((await readValues(log, end)).map(([, value]) => value)).toEqual(['after']);

    // Later passes do not retry: no run, not even a read of the segments.
    const again = await log.compact();
    expect(again.bytesBefore).toBe(0);
    await settle();
    expect(unhandled).toEqual([]);
  });
});

describe('a storage failure', () => {
  it('poisons the log, is reported once with its cause, and leaves what is on disk readable', async () => {
    const failures: LogError[] = [];
    const log = await openLog({ segmentBytes: 1024, flushPolicy: 'never' }, { onFailure: (error) => failures.push(error) });
    await log.append(encodeBatch([{ value: 'x'.repeat(600) }]));
    // The next append must roll, and a directory stands where the new segment's file goes.
    fs.mkdirSync(segmentFileName(dir, log.logEndOffset, LOG_SUFFIX));
    await expect(log.append(encodeBatch([{ value: 'y'.repeat(600) }]))).rejects.toMatchObject({ errorName: 'KAFKA_STORAGE_ERROR' });
    await expect(log.append(encodeBatch([{ value: 'z' }]))).rejects.toMatchObject({ errorName: 'KAFKA_STORAGE_ERROR' });
    expect(failures).toHaveLength(1);
    expect(failures[0]?.message).toContain(segmentFileName(dir, asOffset(1), LOG_SUFFIX));
    expect((failures[0]?.cause as NodeJS.ErrnoException).code).toBe('EEXIST');
    expect(log.storageFailure).toBe(failures[0]);
    expect(await readValues(log)).toEqual([[0, 'x'.repeat(600)]]);
    await settle();
    expect(unhandled).toEqual([]);
  });
});

/** Open descriptors of this process. */
function openDescriptors(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

describe.runIf(fs.existsSync('/proc/self/fd'))('descriptors of a log with 2,000 segments', () => {
  const SEGMENTS = 2_000;
  const POOL = 16;
  const value = (i: number): string => `record-${i}-`.padEnd(700, '.');

  it('stay bounded by the pool while every segment is read, also while retention deletes them', async () => {
    const pool = new DescriptorPool(POOL);
    const before = openDescriptors();
    const config: Partial<LogConfig> = { segmentBytes: 1024, flushPolicy: 'never', retentionBytes: -1 };
    let log = await openLog(config, { descriptorPool: pool });
    // One ~800-byte batch per segment: each append rolls.
    for (let i = 0; i < SEGMENTS; i++) await log.append(encodeBatch([{ value: value(i) }]));
    await log.flush();
    expect(log.segmentCount).toBe(SEGMENTS);
    const whileWriting = openDescriptors() - before;
    expect(whileWriting).toBeLessThanOrEqual(POOL + 8);

    // Reopen (clean) and read every segment, several reads in flight at once.
    await closeLog(log);
    expect(openDescriptors() - before).toBeLessThanOrEqual(4);
    log = await openLog(config, { descriptorPool: pool });
    const offsets = Array.from({ length: SEGMENTS }, (_, i) => i);
    let peak = 0;
    for (let i = 0; i < offsets.length; i += 50) {
      const reads = offsets.slice(i, i + 50).map(async (offset) => {
        const { bytes } = await log.read(asOffset(offset), { maxBytes: 1 });
        return [...decodeBatches(bytes)][0]?.records[0]?.value?.toString();
      });
      peak = Math.max(peak, openDescriptors() - before);
      expect(await Promise.all(reads)).toEqual(offsets.slice(i, i + 50).map(value));
    }
    // 50 reads in flight hold their descriptors past the pool's bound; idle ones are closed.
    expect(peak).toBeLessThanOrEqual(50 + 8);
    expect(pool.size).toBeLessThanOrEqual(POOL);

    // A read in flight when retention deletes its segment still gets its bytes.
    const inFlight = log.read(asOffset(0), { maxBytes: 1 });
    const deletion = log.deleteRecordsBefore(asOffset(SEGMENTS / 2));
    const [held] = await Promise.all([inFlight, deletion]);
    expect([...decodeBatches(held.bytes)][0]?.records[0]?.value?.toString()).toBe(value(0));

    // Reads racing retention in steps: each gets its record, or OFFSET_OUT_OF_RANGE once it is gone.
    const outcomes: string[] = [];
    const reading = (async () => {
      for (let i = SEGMENTS / 2; i < SEGMENTS; i += 20) {
        outcomes.push(...(await Promise.all(offsets.slice(i, i + 20).map(async (offset) => {
          try {
            const { bytes } = await log.read(asOffset(offset), { maxBytes: 1 });
            expect([...decodeBatches(bytes)][0]?.records[0]?.value?.toString()).toBe(value(offset));
            return 'read';
          } catch (error) {
            expect(error).toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE' });
            return 'gone';
          }
        }))));
      }
    })();
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([reading, log.deleteRecordsBefore(asOffset(SEGMENTS - 10))]);
    expect(outcomes).toHaveLength(SEGMENTS / 2);
    expect(outcomes.slice(-10)).toEqual(Array(10).fill('read'));
    expect(log.segmentCount).toBe(10);
    expect((await readValues(log)).map(([, v]) => v)).toEqual(offsets.slice(SEGMENTS - 10).map(value));
    expect(openDescriptors() - before).toBeLessThanOrEqual(POOL + 8);
    console.log(`open descriptors with ${SEGMENTS} segments: ${whileWriting} while appending, peak ${peak} with 50 reads in flight`);
  }, 120_000);
});
