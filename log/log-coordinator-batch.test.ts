// Method: a real Log in a temp dir; the group coordinator's transactional batch of offsets
// (TxnOffsetCommit: producer id and epoch, no sequence, the transactional bit) appended with origin
// 'coordinator' (Kafka's AppendOrigin.Coordinator), against the refusals around it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeTxnMarkerBatch } from './control-batch.js';
import { LogError } from './errors.js';
import { Log } from './log.js';
import { encodeBatch } from './record-batch.js';

const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

async function openLog(): Promise<Log> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-coordinator-batch-'));
  temps.push(dir);
  return Log.open(dir, { flushPolicy: 'never' });
}

const offsets = (producerId: number, producerEpoch: number, options: { transactional?: boolean; baseSequence?: number } = {}) =>
  encodeBatch([{ key: 'k', value: 'v' }, { key: 'k2', value: 'v2' }], { producerId, producerEpoch, baseSequence: options.baseSequence ?? -1, transactional: options.transactional ?? true });

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof LogError) return error.errorName;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe("a coordinator's transactional batch", () => {
  it('is appended without a sequence, opens the producer\'s transaction, and is ended by its marker', async () => {
    const log = await openLog();
    await log.append(offsets(7, 2), { origin: 'coordinator' });
    await log.append(offsets(7, 2), { origin: 'coordinator' });
    expect(log.firstUnstableOffset).toBe(0);
    expect(log.ongoingTransactions().map((t) => t.producerId)).toEqual([7]);
    await log.append(encodeTxnMarkerBatch({ producerId: 7, producerEpoch: 2, commit: true, coordinatorEpoch: 0 }, Date.now()), { origin: 'coordinator' });
    expect(log.firstUnstableOffset).toBeUndefined();
    expect(log.logEndOffset).toBe(5);
    await log.close();
  });

  it('refuses a fenced epoch, a batch that is not transactional, a client\'s unsequenced batch, and two batches at once; nothing is appended', async () => {
    const log = await openLog();
    await log.append(encodeTxnMarkerBatch({ producerId: 7, producerEpoch: 3, commit: false, coordinatorEpoch: 0 }, Date.now()), { origin: 'coordinator' });
    const end = log.logEndOffset;
    expect(await refusal(log.append(offsets(7, 2), { origin: 'coordinator' }))).toBe('INVALID_PRODUCER_EPOCH');
    expect(await refusal(log.append(offsets(7, 3, { transactional: false }), { origin: 'coordinator' }))).toBe('INVALID_RECORD');
    expect(await refusal(log.append(encodeBatch([{ value: 'plain' }]), { origin: 'coordinator' }))).toBe('INVALID_RECORD');
    expect(await refusal(log.append(offsets(7, 3)))).toBe('INVALID_RECORD');
    expect(await refusal(log.append(Buffer.concat([offsets(7, 3), offsets(7, 3)]), { origin: 'coordinator' }))).toBe('INVALID_RECORD');
    expect(log.logEndOffset).toBe(end);
    await log.close();
  });
});
