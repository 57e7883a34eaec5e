// Method: examples over a real Log in a temp dir, driven by transactional producer batches
// (encodeBatch with `transactional`) and coordinator markers (encodeTxnMarkerBatch, appended with
// origin 'coordinator'): the append path's refusals (nothing appended), the producer's transaction
// state, the first unstable offset and the aborted index through a follower's appends, truncation,
// an unclean reopen (a kill-style copy of the directory) and compaction.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LogConfig } from './config.js';
import { controlTypeOf, encodeTxnMarkerBatch, readTxnMarker, TXN_ABORT_CONTROL_TYPE, TXN_COMMIT_CONTROL_TYPE } from './control-batch.js';
import { LogError } from './errors.js';
import { CLEAN_SHUTDOWN_FILE, Log } from './log.js';
import { decodeBatches, encodeBatch } from './record-batch.js';
import { asEpoch, asOffset, type Offset } from './units.js';

const temps: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-txn-'));
  temps.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

const NOW = 1_700_000_000_000;
const clock = (): number => NOW;
const CONFIG: Partial<LogConfig> = { flushPolicy: 'never', segmentBytes: 1024, indexIntervalBytes: 128 };

/** Pads each record so that a 1 KiB segment holds about three batches. */
const PAD = { pad: 'x'.repeat(300) };

function txnBatch(producerId: number, epoch: number, firstSeq: number, records: number, tag = 'k'): Buffer {
  return encodeBatch(
    Array.from({ length: records }, (_, i) => ({ key: `${tag}${i}`, value: `txn-${producerId}-${firstSeq + i}`, timestamp: NOW, headers: PAD })),
    { producerId, producerEpoch: epoch, baseSequence: firstSeq, transactional: true },
  );
}

function plainBatch(producerId: number, epoch: number, firstSeq: number, records: number, tag = 'k'): Buffer {
  return encodeBatch(
    Array.from({ length: records }, (_, i) => ({ key: `${tag}${i}`, value: `plain-${producerId}-${firstSeq + i}`, timestamp: NOW, headers: PAD })),
    { producerId, producerEpoch: epoch, baseSequence: firstSeq },
  );
}

function marker(producerId: number, producerEpoch: number, commit: boolean, coordinatorEpoch = 3): Buffer {
  return encodeTxnMarkerBatch({ producerId, producerEpoch, commit, coordinatorEpoch }, NOW);
}

async function rejectsWith(name: string, promise: Promise<unknown>): Promise<void> {
  await expect(promise).rejects.toSatisfy((error: unknown) => error instanceof LogError && error.errorName === name);
}

async function allBytes(log: Log): Promise<Buffer> {
  const parts: Buffer[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const read = await log.read(offset, { maxBytes: 1 << 20 });
    parts.push(read.bytes);
    offset = read.nextOffset;
  }
  return Buffer.concat(parts);
}

function txnView(log: Log): unknown {
  return {
    firstUnstableOffset: log.firstUnstableOffset,
    ongoing: log.ongoingTransactions(),
    aborted: log.abortedTransactions(asOffset(0), asOffset(Number.MAX_SAFE_INTEGER)),
  };
}

describe('encodeTxnMarkerBatch', () => {
  it('is Kafka\'s EndTransactionMarker: one control, transactional record, unstamped, sequence -1', () => {
    const [batch] = decodeBatches(marker(7, 2, false, 9));
    expect(batch?.header).toMatchObject({ baseOffset: 0, partitionLeaderEpoch: -1, producerId: 7, producerEpoch: 2, baseSequence: -1, recordsCount: 1 });
    expect(batch!.header.attributes & 0x30).toBe(0x30);
    const key = batch!.records[0]!.key!;
    const value = batch!.records[0]!.value!;
    expect([key.readInt16BE(0), key.readInt16BE(2)]).toEqual([0, TXN_ABORT_CONTROL_TYPE]);
    expect([value.readInt16BE(0), value.readInt32BE(2)]).toEqual([0, 9]);
    expect(controlTypeOf(marker(7, 2, true), 0)).toBe(TXN_COMMIT_CONTROL_TYPE);
    expect(readTxnMarker(marker(7, 2, true, 4), 0)).toEqual({ producerId: 7, producerEpoch: 2, commit: true, coordinatorEpoch: 4 });
  });
});

describe('the append path with transactions', () => {
  it('refuses a client append holding a control batch, and appends nothing', async () => {
    const log = await Log.open(tempDir(), CONFIG, { clock });
    await rejectsWith('INVALID_RECORD', log.append(marker(1, 0, true)));
    await rejectsWith('INVALID_RECORD', log.append(Buffer.concat([encodeBatch([{ value: 'x', timestamp: NOW }]), marker(1, 0, true)])));
    expect(() => log.prepareLeaderAppend(marker(1, 0, false), { baseOffset: asOffset(0), leaderEpoch: asEpoch(0) })).toThrow(/control batch/);
    expect(log.logEndOffset).toBe(0);
    await log.close();
  });

  it('takes exactly one marker (or one transactional batch, log-coordinator-batch.test.ts) from the coordinator, nothing else', async () => {
    const log = await Log.open(tempDir(), CONFIG, { clock });
    await rejectsWith('INVALID_RECORD', log.append(plainBatch(1, 0, 0, 1), { origin: 'coordinator' }));
    await rejectsWith('INVALID_RECORD', log.append(Buffer.concat([marker(1, 0, true), marker(2, 0, true)]), { origin: 'coordinator' }));
    expect(log.logEndOffset).toBe(0);
    // A marker for a producer the partition never saw is appended; the entry holds its epoch only.
    await log.append(marker(5, 3, false), { origin: 'coordinator' });
    expect(log.producerState(5)).toMatchObject({ epoch: 3, batches: [], currentTxnFirstOffset: undefined });
    expect(log.abortedTransactions(asOffset(0), asOffset(10))).toEqual([]);
    // Then that producer's batches: a lower epoch is fenced, the same epoch starts at sequence 0.
    await rejectsWith('INVALID_PRODUCER_EPOCH', log.append(txnBatch(5, 2, 0, 1)));
    await rejectsWith('OUT_OF_ORDER_SEQUENCE_NUMBER', log.append(txnBatch(5, 3, 4, 1)));
    await log.append(txnBatch(5, 3, 0, 1));
    expect(log.firstUnstableOffset).toBe(1);
    await log.close();
  });

  it('refuses a marker with a stale epoch and appends nothing', async () => {
    const log = await Log.open(tempDir(), CONFIG, { clock });
    await log.append(txnBatch(1, 4, 0, 2));
    await rejectsWith('INVALID_PRODUCER_EPOCH', log.append(marker(1, 3, false), { origin: 'coordinator' }));
    expect(() => log.prepareLeaderAppend(marker(1, 3, true), { baseOffset: asOffset(2), leaderEpoch: asEpoch(0), origin: 'coordinator' })).toThrow(LogError);
    expect(log.logEndOffset).toBe(2);
    expect(log.firstUnstableOffset).toBe(0);
    // A bumped epoch (the coordinator fencing the producer) ends the transaction and forgets the batches.
    await log.append(marker(1, 5, false), { origin: 'coordinator' });
    expect(log.producerState(1)).toMatchObject({ epoch: 5, batches: [], currentTxnFirstOffset: undefined });
    expect(log.abortedTransactions(asOffset(0), asOffset(3))).toEqual([{ producerId: 1, firstOffset: 0 }]);
    await log.close();
  });

  it('refuses a non-transactional batch while the producer\'s transaction is open', async () => {
    const log = await Log.open(tempDir(), CONFIG, { clock });
    await log.append(txnBatch(1, 0, 0, 2));
    await rejectsWith('INVALID_TXN_STATE', log.append(plainBatch(1, 0, 2, 1)));
    expect(log.logEndOffset).toBe(2);
    await log.append(marker(1, 0, true), { origin: 'coordinator' });
    await log.append(plainBatch(1, 0, 2, 1));
    expect(log.logEndOffset).toBe(4);
    // Another producer is not affected by the first one's transaction.
    await log.append(txnBatch(1, 0, 3, 1));
    await log.append(plainBatch(2, 0, 0, 1));
    expect(txnView(log)).toEqual({
      firstUnstableOffset: 4,
      ongoing: [{ producerId: 1, producerEpoch: 0, firstOffset: 4, lastTimestamp: NOW }],
      aborted: [],
    });
    await log.close();
  });

  it('keeps a producer with an open transaction from expiring', async () => {
    let now = NOW;
    const log = await Log.open(tempDir(), { ...CONFIG, producerIdExpirationMs: 1000 }, { clock: () => now });
    await log.append(txnBatch(1, 0, 0, 1));
    await log.append(plainBatch(2, 0, 0, 1));
    now += 5000;
    expect(log.removeExpiredProducers()).toBe(1);
    expect(log.producerState(1)).toBeDefined();
    await log.close();
  });

  it('answers abortedTransactions and the first unstable offset across transactions', async () => {
    const log = await Log.open(tempDir(), CONFIG, { clock });
    await log.append(txnBatch(1, 0, 0, 2)); // 0-1
    await log.append(txnBatch(2, 0, 0, 2)); // 2-3
    await log.append(marker(1, 0, false), { origin: 'coordinator' }); // 4
    expect(log.firstUnstableOffset).toBe(2);
    await log.append(txnBatch(1, 0, 2, 1)); // 5
    await log.append(marker(2, 0, false), { origin: 'coordinator' }); // 6
    await log.append(marker(1, 0, true), { origin: 'coordinator' }); // 7
    expect(log.firstUnstableOffset).toBeUndefined();
    expect(log.abortedTransactions(asOffset(0), asOffset(8))).toEqual([{ producerId: 1, firstOffset: 0 }, { producerId: 2, firstOffset: 2 }]);
    expect(log.abortedTransactions(asOffset(5), asOffset(8))).toEqual([{ producerId: 2, firstOffset: 2 }]);
    expect(log.abortedTransactions(asOffset(0), asOffset(2))).toEqual([{ producerId: 1, firstOffset: 0 }]);
    expect(log.abortedTransactions(asOffset(7), asOffset(8))).toEqual([]);
    await log.close();
  });
});

describe('a Raft leader\'s proposals', () => {
  it('checks a batch against a marker proposed before it, and the follower write builds the state', async () => {
    const log = await Log.open(tempDir(), CONFIG, { clock });
    const epoch = asEpoch(2);
    const first = txnBatch(1, 0, 0, 2);
    log.prepareLeaderAppend(first, { baseOffset: asOffset(0), leaderEpoch: epoch });
    // The coordinator bumps the producer's epoch with its abort; the old instance is fenced at once.
    const abort = marker(1, 1, false);
    expect(log.prepareLeaderAppend(abort, { baseOffset: asOffset(2), leaderEpoch: epoch, origin: 'coordinator' })).toMatchObject({ lastOffset: 2, records: 1 });
    expect(() => log.prepareLeaderAppend(txnBatch(1, 0, 2, 1), { baseOffset: asOffset(3), leaderEpoch: epoch })).toThrow(/epoch/);
    expect(() => log.prepareLeaderAppend(marker(1, 0, true), { baseOffset: asOffset(3), leaderEpoch: epoch, origin: 'coordinator' })).toThrow(/epoch/);
    await log.appendAsFollower(first);
    await log.appendAsFollower(abort);
    expect(txnView(log)).toEqual({ firstUnstableOffset: undefined, ongoing: [], aborted: [{ producerId: 1, firstOffset: 0 }] });
    expect(log.producerState(1)).toMatchObject({ epoch: 1, batches: [] });
    await log.close();
  });
});

describe('transaction state off the leader path', () => {
  it('a follower copying the leader builds the same state and the same .txnindex files', async () => {
    const leaderDir = tempDir();
    const followerDir = tempDir();
    const leader = await Log.open(leaderDir, CONFIG, { clock });
    const follower = await Log.open(followerDir, CONFIG, { clock });
    const sequences = new Map<number, number>();
    const produce = async (producerId: number, records: number, transactional: boolean, leaderEpoch: number): Promise<void> => {
      const seq = sequences.get(producerId) ?? 0;
      sequences.set(producerId, seq + records);
      const bytes = transactional ? txnBatch(producerId, 0, seq, records) : plainBatch(producerId, 0, seq, records);
      await leader.append(bytes, { leaderEpoch: asEpoch(leaderEpoch) });
    };
    const end = (producerId: number, commit: boolean, leaderEpoch: number) =>
      leader.append(marker(producerId, 0, commit), { leaderEpoch: asEpoch(leaderEpoch), origin: 'coordinator' });
    for (let round = 0; round < 6; round++) {
      await produce(1, 3, true, round);
      await produce(2, 2, true, round);
      await end(1, round % 2 === 0, round);
      await produce(3, 4, false, round);
      await produce(1, 1, true, round);
      await end(2, round % 3 === 0, round);
      await end(1, false, round);
    }
    await produce(2, 1, true, 6);
    // As replication fetches: a batch at a time, so that both logs roll at the same batches.
    for (let offset = asOffset(0); offset < leader.logEndOffset; ) {
      const read = await leader.read(offset, { maxBytes: 1 });
      await follower.appendAsFollower(read.bytes);
      offset = read.nextOffset;
    }
    expect(follower.logEndOffset).toBe(leader.logEndOffset);
    expect(txnView(follower)).toEqual(txnView(leader));
    expect(leader.abortedTransactions(asOffset(0), leader.logEndOffset).length).toBeGreaterThan(3);
    expect(leader.firstUnstableOffset).toBeDefined();
    for (const id of [1, 2, 3]) expect(follower.producerState(id)).toEqual(leader.producerState(id));
    await leader.close();
    await follower.close();
    const txnIndexes = (dir: string) => fs.readdirSync(dir).filter((name) => name.endsWith('.txnindex')).sort();
    expect(txnIndexes(followerDir)).toEqual(txnIndexes(leaderDir));
    for (const name of txnIndexes(leaderDir)) {
      expect(fs.readFileSync(path.join(followerDir, name)).equals(fs.readFileSync(path.join(leaderDir, name)))).toBe(true);
    }
  });

  it('a follower refuses a transactional control batch that is not a readable marker', async () => {
    const log = await Log.open(tempDir(), CONFIG, { clock });
    const bad = marker(1, 0, true);
    // Control type 7 under the marker's attributes: the CRC must be redone for the check to be the marker's.
    const { computeBatchCrc, BatchField } = await import('./batch-header.js');
    bad.writeInt16BE(7, 61 + 5 + 2);
    bad.writeUInt32BE(computeBatchCrc(bad, 0, bad.length), BatchField.crc);
    await rejectsWith('INVALID_RECORD', log.appendAsFollower(bad));
    expect(log.logEndOffset).toBe(0);
    await log.close();
  });
});

/** Copies `dir` as a crash would leave it: the clean-shutdown marker removed. */
function crashCopy(dir: string): string {
  const copy = tempDir();
  fs.cpSync(dir, copy, { recursive: true });
  fs.rmSync(path.join(copy, CLEAN_SHUTDOWN_FILE), { force: true });
  return copy;
}

describe('recovery and truncation', () => {
  it('an unclean reopen brings back the open transaction and the aborted ones', async () => {
    const dir = tempDir();
    const log = await Log.open(dir, CONFIG, { clock });
    let seq1 = 0;
    for (let i = 0; i < 8; i++) {
      await log.append(txnBatch(1, 0, seq1, 3));
      seq1 += 3;
      await log.append(plainBatch(2, 0, i * 2, 2));
      await log.append(marker(1, 0, i % 3 !== 0), { origin: 'coordinator' });
    }
    await log.append(txnBatch(1, 0, seq1, 2));
    await log.append(txnBatch(3, 1, 0, 2));
    const before = txnView(log);
    expect(log.segmentCount).toBeGreaterThan(3);
    // A kill: nothing flushed past the rolls, no clean marker, the .txnindex files gone too.
    const copy = crashCopy(dir);
    for (const name of fs.readdirSync(copy)) if (name.endsWith('.txnindex') || name.endsWith('.snapshot')) fs.rmSync(path.join(copy, name));
    const reopened = await Log.open(copy, { ...CONFIG, flushPolicy: 'always' }, { clock });
    expect(reopened.recovery.clean).toBe(false);
    expect(txnView(reopened)).toEqual(before);
    await reopened.close();
    const again = await Log.open(copy, CONFIG, { clock });
    expect(txnView(again)).toEqual(before);
    await again.close();
    await log.close();
  });

  it('ignores a snapshot of the format before transactions and rebuilds the state from the log', async () => {
    const dir = tempDir();
    const log = await Log.open(dir, CONFIG, { clock });
    await log.append(txnBatch(1, 0, 0, 2));
    await log.append(marker(1, 0, false), { origin: 'coordinator' });
    await log.append(txnBatch(1, 0, 2, 1));
    const before = txnView(log);
    await log.close();
    const snapshots = fs.readdirSync(dir).filter((name) => name.endsWith('.snapshot'));
    expect(snapshots.length).toBeGreaterThan(0);
    for (const name of snapshots) {
      const bytes = fs.readFileSync(path.join(dir, name));
      bytes.writeInt16BE(1, 0);
      fs.writeFileSync(path.join(dir, name), bytes);
    }
    const reopened = await Log.open(dir, CONFIG, { clock });
    expect(reopened.recovery.producerStateSnapshot).toBeUndefined();
    expect(reopened.recovery.producerStateBytesScanned).toBeGreaterThan(0);
    expect(txnView(reopened)).toEqual(before);
    expect(reopened.producerState(1)).toMatchObject({ epoch: 0, currentTxnFirstOffset: 3, batches: [{ firstSeq: 0 }, { firstSeq: 2 }] });
    await reopened.close();
  });

  it('truncation below a marker reopens its transaction and drops its aborted entry', async () => {
    const log = await Log.open(tempDir(), CONFIG, { clock });
    await log.append(txnBatch(1, 0, 0, 2)); // 0-1
    await log.append(marker(1, 0, false), { origin: 'coordinator' }); // 2
    await log.append(txnBatch(1, 0, 2, 2)); // 3-4
    await log.append(marker(1, 0, false), { origin: 'coordinator' }); // 5
    expect(log.abortedTransactions(asOffset(0), asOffset(6))).toHaveLength(2);
    await log.truncateTo(asOffset(5));
    expect(txnView(log)).toEqual({
      firstUnstableOffset: 3,
      ongoing: [{ producerId: 1, producerEpoch: 0, firstOffset: 3, lastTimestamp: NOW }],
      aborted: [{ producerId: 1, firstOffset: 0 }],
    });
    await log.truncateTo(asOffset(1));
    expect(log.firstUnstableOffset).toBeUndefined();
    expect(log.producerState(1)).toBeUndefined();
    await log.close();
  });

  it('retention never deletes at or above the first unstable offset', async () => {
    let now = NOW;
    const log = await Log.open(tempDir(), { ...CONFIG, retentionMs: 1000 }, { clock: () => now });
    await log.append(plainBatch(2, 0, 0, 5));
    for (let i = 0; i < 10; i++) await log.append(txnBatch(1, 0, i * 5, 5));
    expect(log.segmentCount).toBeGreaterThan(2);
    now += 10 * 24 * 3600 * 1000;
    await log.enforceRetention();
    expect(log.logStartOffset).toBeLessThanOrEqual(log.firstUnstableOffset as Offset);
    expect(log.segmentBaseOffsets[0]).toBeLessThanOrEqual(5);
    await log.close();
  });
});

describe('compaction', () => {
  it('removes the records of aborted transactions, keeps committed ones and every marker', async () => {
    const dir = tempDir();
    const log = await Log.open(dir, { ...CONFIG, cleanupPolicy: 'compact' }, { clock });
    await log.append(plainBatch(9, 0, 0, 1, 'a')); // 0: a0 = plain
    await log.append(txnBatch(1, 0, 0, 1, 'a')); // 1: a0 aborted below
    await log.append(txnBatch(2, 0, 0, 1, 'b')); // 2: b0 committed
    await log.append(marker(1, 0, false), { origin: 'coordinator' }); // 3
    await log.append(marker(2, 0, true), { origin: 'coordinator' }); // 4
    await log.append(txnBatch(3, 0, 0, 1, 'c')); // 5: open, above the first unstable offset
    // Fill a few segments so that everything above sits in sealed segments too.
    for (let i = 0; i < 12; i++) await log.append(plainBatch(9, 0, 1 + i, 1, `z${i}-`));
    expect(log.firstUnstableOffset).toBe(5);
    const result = await log.compact();
    expect(result.abortedRecordsRemoved).toBe(1);
    const survivors: string[] = [];
    let markers = 0;
    for (const batch of decodeBatches(await allBytes(log))) {
      if ((batch.header.attributes & 0x20) !== 0) markers += 1;
      else for (const record of batch.records) survivors.push(`${record.offset}:${String(record.value)}`);
    }
    expect(markers).toBe(2);
    expect(survivors.slice(0, 3)).toEqual(['0:plain-9-0', '2:txn-2-0', '5:txn-3-0']);
    // The aborted index still answers for the marker the cleaner kept.
    expect(log.abortedTransactions(asOffset(0), asOffset(5))).toEqual([{ producerId: 1, firstOffset: 1 }]);
    await log.close();
  });

  it('a committed transactional record supersedes an older one; an aborted one never does', async () => {
    const log = await Log.open(tempDir(), { ...CONFIG, cleanupPolicy: 'compact' }, { clock });
    await log.append(plainBatch(9, 0, 0, 1, 'k')); // 0: k0 plain
    await log.append(txnBatch(1, 0, 0, 1, 'k')); // 1: k0 committed
    await log.append(marker(1, 0, true), { origin: 'coordinator' }); // 2
    await log.append(txnBatch(1, 0, 1, 1, 'k')); // 3: k0 aborted
    await log.append(marker(1, 0, false), { origin: 'coordinator' }); // 4
    for (let i = 0; i < 12; i++) await log.append(plainBatch(9, 0, 1 + i, 1, `z${i}-`));
    await log.compact();
    const values: string[] = [];
    for (const batch of decodeBatches(await allBytes(log))) {
      if ((batch.header.attributes & 0x20) === 0) for (const record of batch.records) if (String(record.key) === 'k0') values.push(`${record.offset}:${String(record.value)}`);
    }
    expect(values).toEqual(['1:txn-1-0']);
    await log.close();
  });
});
