// Method: a real Log on a temp dir, driven by producer batches (encodeBatch with producer id, epoch
// and sequence): the leader's checks on the one append path (standalone append and a Raft leader's
// prepareLeaderAppend with two in flight), the follower path building the same state, recovery from
// snapshots and from headers alone (clean close, a kill-style copy of the directory, damaged
// snapshots), truncation rolling the state back, reset, and expiry by the injected clock.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LogConfig } from './config.js';
import { LogError } from './errors.js';
import { CLEAN_SHUTDOWN_FILE, Log } from './log.js';
import { listProducerSnapshots } from './producer-state-files.js';
import { decodeBatches, encodeBatch } from './record-batch.js';
import { asEpoch, asOffset } from './units.js';

const temps: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-producer-state-'));
  temps.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

const CONFIG: Partial<LogConfig> = { flushPolicy: 'never', segmentBytes: 1024, indexIntervalBytes: 128 };

function producerBatch(producerId: number, epoch: number, firstSeq: number, records: number, tag = 'r'): Buffer {
  return encodeBatch(
    Array.from({ length: records }, (_, i) => ({ key: `${tag}-${firstSeq + i}`, value: `value-${firstSeq + i}`, timestamp: 1_000 + firstSeq + i })),
    { producerId, producerEpoch: epoch, baseSequence: firstSeq },
  );
}

async function expectLogError(name: string, promise: Promise<unknown>): Promise<void> {
  await expect(promise).rejects.toSatisfy((error: unknown) => error instanceof LogError && error.errorName === name);
}

/** The (producer id, first sequence) of every batch in the log, in order. */
async function sequencesInLog(log: Log): Promise<string[]> {
  const seen: string[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const read = await log.read(offset, { maxBytes: 1 << 20 });
    for (const b of decodeBatches(read.bytes)) seen.push(`${b.header.producerId}:${b.header.baseSequence}`);
    offset = read.nextOffset;
  }
  return seen;
}

describe('the leader append path', () => {
  it('appends in order, answers a retry with its original offsets, refuses gaps, old epochs and unknown producers', async () => {
    const log = await Log.open(tempDir(), CONFIG);
    const first = await log.append(producerBatch(9, 0, 0, 3));
    const second = await log.append(producerBatch(9, 0, 3, 2));
    expect([first.baseOffset, second.baseOffset]).toEqual([0, 3]);
    const retry = await log.append(producerBatch(9, 0, 0, 3));
    expect(retry).toMatchObject({ baseOffset: 0, lastOffset: 2, duplicate: true });
    expect(log.logEndOffset).toBe(5);
    await expectLogError('OUT_OF_ORDER_SEQUENCE_NUMBER', log.append(producerBatch(9, 0, 6, 1)));
    await expectLogError('UNKNOWN_PRODUCER_ID', log.append(producerBatch(10, 0, 4, 1)));
    await log.append(producerBatch(9, 1, 0, 1));
    await expectLogError('INVALID_PRODUCER_EPOCH', log.append(producerBatch(9, 0, 5, 1)));
    // Two producer batches in one append: Kafka's one-batch rule.
    await expectLogError('INVALID_RECORD', log.append(Buffer.concat([producerBatch(11, 0, 0, 1), producerBatch(11, 0, 1, 1)])));
    // Batches without a producer id are not checked.
    await log.append(encodeBatch([{ value: 'plain' }]));
    expect(await sequencesInLog(log)).toEqual(['9:0', '9:3', '9:0', '-1:-1']);
    expect(log.logEndOffset).toBe(7);
    await log.close();
  });

  it("a Raft leader's second batch in flight is checked against the first, not yet written", async () => {
    const leader = await Log.open(tempDir(), CONFIG);
    const a = producerBatch(4, 0, 0, 2);
    const b = producerBatch(4, 0, 2, 2);
    const preparedA = leader.prepareLeaderAppend(a, { baseOffset: asOffset(0), leaderEpoch: asEpoch(1) });
    const preparedB = leader.prepareLeaderAppend(b, { baseOffset: asOffset(2), leaderEpoch: asEpoch(1) });
    expect([preparedA.lastOffset, preparedB.lastOffset]).toEqual([1, 3]);
    // A retry of A while it is still in flight is a duplicate of the proposal.
    expect(leader.prepareLeaderAppend(producerBatch(4, 0, 0, 2), { baseOffset: asOffset(4), leaderEpoch: asEpoch(1) }).duplicateOf).toEqual({ baseOffset: 0, lastOffset: 1 });
    expect(() => leader.prepareLeaderAppend(producerBatch(4, 0, 5, 1), { baseOffset: asOffset(4), leaderEpoch: asEpoch(1) })).toThrow(/OUT_OF_ORDER|sequence/);
    await leader.appendAsFollower(a);
    await leader.appendAsFollower(b);
    expect(leader.producerState(4)?.batches.map((x) => x.firstOffset)).toEqual([0, 2]);
    // A deposed leader forgets proposals that were never written.
    leader.prepareLeaderAppend(producerBatch(4, 0, 4, 1), { baseOffset: asOffset(4), leaderEpoch: asEpoch(1) });
    leader.discardPreparedAppends();
    expect(leader.prepareLeaderAppend(producerBatch(4, 0, 4, 1), { baseOffset: asOffset(4), leaderEpoch: asEpoch(1) }).duplicateOf).toBeUndefined();
    await leader.close();
  });

  it('a follower builds the same state from the batches it copies, so it can lead', async () => {
    const leader = await Log.open(tempDir(), CONFIG);
    const follower = await Log.open(tempDir(), CONFIG);
    for (let i = 0; i < 8; i++) {
      const bytes = producerBatch(3, 0, i * 2, 2);
      await leader.append(bytes, { leaderEpoch: asEpoch(1) });
      await follower.appendAsFollower(bytes);
    }
    expect(follower.producerState(3)).toEqual(leader.producerState(3));
    const retry = follower.prepareLeaderAppend(producerBatch(3, 0, 12, 2), { baseOffset: follower.logEndOffset, leaderEpoch: asEpoch(2) });
    expect(retry.duplicateOf).toEqual({ baseOffset: 12, lastOffset: 13 });
    await Promise.all([leader.close(), follower.close()]);
  });
});

describe('recovery, truncation, reset, expiry', () => {
  async function filledLog(dir: string, batches = 40): Promise<Log> {
    const log = await Log.open(dir, CONFIG);
    for (let i = 0; i < batches; i++) await log.append(producerBatch(1 + (i % 3), 0, Math.floor(i / 3) * 4, 4), { leaderEpoch: asEpoch(1) });
    return log;
  }

  it('reopens from the close snapshot without a scan, and rebuilds the same state from headers alone', async () => {
    const dir = tempDir();
    const log = await filledLog(dir);
    const states = [1, 2, 3].map((p) => log.producerState(p));
    expect(log.segmentCount).toBeGreaterThan(3);
    // Roll snapshots are written once their segment is sealed, in the background.
    const deadline = Date.now() + 10_000;
    while (listProducerSnapshots(dir).length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    // A kill: the directory as it is now, without the close's snapshot or marker.
    const killed = tempDir();
    fs.cpSync(dir, killed, { recursive: true });
    await log.close();
    const clean = await Log.open(dir, CONFIG);
    expect(clean.recovery).toMatchObject({ producerStateSnapshot: clean.logEndOffset, producerStateBytesScanned: 0 });
    expect([1, 2, 3].map((p) => clean.producerState(p))).toEqual(states);
    await clean.close();

    const recovered = await Log.open(killed, CONFIG);
    // The roll snapshots spare the scan of all but the tail.
    expect(recovered.recovery.producerStateSnapshot).toBeGreaterThan(0);
    expect(recovered.recovery.producerStateBytesScanned).toBeLessThan(recovered.sizeBytes);
    expect([1, 2, 3].map((p) => recovered.producerState(p))).toEqual(states);
    await recovered.close();

    // Damaged snapshots and no marker: every header is replayed.
    for (const offset of listProducerSnapshots(dir)) fs.writeFileSync(path.join(dir, `${String(offset).padStart(20, '0')}.snapshot`), 'garbage');
    fs.rmSync(path.join(dir, CLEAN_SHUTDOWN_FILE));
    const rebuilt = await Log.open(dir, CONFIG);
    expect(rebuilt.recovery.producerStateSnapshot).toBeUndefined();
    expect([1, 2, 3].map((p) => rebuilt.producerState(p))).toEqual(states);
    await rebuilt.close();
  });

  it('a truncation forgets the batches cut and brings back the older ones they had pushed out', async () => {
    const dir = tempDir();
    const log = await filledLog(dir, 24);
    // Producer 1 wrote sequences 0, 4, ..., 28 at offsets 0, 12, 24, ...; its last five are 12..28. Cut after 12.
    const fourth = log.producerState(1)!.batches.find((b) => b.firstSeq === 12)!;
    await log.truncateTo(asOffset(fourth.lastOffset + 1));
    expect(log.producerState(1)!.batches.map((b) => b.firstSeq)).toEqual([0, 4, 8, 12]);
    expect(listProducerSnapshots(dir).every((o) => o <= log.logEndOffset)).toBe(true);
    // Its sequence 16 was cut: a retry appends again; sequence 0 (pushed out before the cut) is a duplicate again.
    expect((await log.append(producerBatch(1, 0, 0, 4), { leaderEpoch: asEpoch(1) })).duplicate).toBe(true);
    const again = await log.append(producerBatch(1, 0, 16, 4), { leaderEpoch: asEpoch(1) });
    expect(again.duplicate).toBeUndefined();
    // After a reopen the same.
    await log.close();
    const reopened = await Log.open(dir, CONFIG);
    expect(reopened.producerState(1)!.batches.map((b) => b.firstSeq)).toEqual([0, 4, 8, 12, 16]);
    await reopened.resetTo(asOffset(500));
    expect(reopened.producerState(1)).toBeUndefined();
    expect(listProducerSnapshots(dir)).toEqual([]);
    await reopened.close();
  });

  it('expires producers idle for producerIdExpirationMs', async () => {
    let now = 1_000_000;
    const log = await Log.open(tempDir(), { ...CONFIG, producerIdExpirationMs: 60_000 }, { clock: () => now });
    await log.append(encodeBatch([{ value: 'a', timestamp: now }], { producerId: 1, producerEpoch: 0, baseSequence: 0 }));
    now += 30_000;
    await log.append(encodeBatch([{ value: 'b', timestamp: now }], { producerId: 2, producerEpoch: 0, baseSequence: 0 }));
    now += 30_000;
    expect(log.removeExpiredProducers()).toBe(1);
    expect(log.producerState(1)).toBeUndefined();
    expect(log.producerState(2)).toBeDefined();
    // The expired producer's next sequence is now unknown.
    await expectLogError('UNKNOWN_PRODUCER_ID', log.append(encodeBatch([{ value: 'c', timestamp: now }], { producerId: 1, producerEpoch: 0, baseSequence: 1 })));
    await log.close();
  });
});
