// Method: a standalone Partition over a real Log in a temp dir: a transactional producer's batches
// and the coordinator's markers go through `appendAsLeader` (origin 'client' and 'coordinator'), and
// the last stable offset and both isolation levels are read back as a fetch would.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { asEpoch, asOffset, decodeBatches, encodeBatch, encodeTxnMarkerBatch, Log, LogError } from '../log/index.js';
import { silentLogger } from './logger.js';
import { Partition } from './partition.js';

const NOW = 1_700_000_000_000;
const dirs: string[] = [];
const logs: Log[] = [];

afterEach(async () => {
  await Promise.all(logs.splice(0).map((log) => log.close()));
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

async function standalonePartition(): Promise<Partition> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-partition-'));
  dirs.push(dir);
  const log = await Log.open(dir, { flushPolicy: 'never' }, { clock: () => NOW });
  logs.push(log);
  return new Partition({
    topic: 'payments',
    index: 0,
    topicId: 'id-1',
    log,
    localNodeId: 1,
    leadership: { leaderId: 1, leaderEpoch: asEpoch(0), replicas: [1], isr: [1] },
    logger: silentLogger(),
    onHighWatermark: () => undefined,
  });
}

function txn(producerId: number, firstSeq: number, value: string): Buffer {
  return encodeBatch([{ value, timestamp: NOW }], { producerId, producerEpoch: 0, baseSequence: firstSeq, transactional: true });
}

function values(bytes: Buffer): string[] {
  return [...decodeBatches(bytes)].flatMap((batch) => ((batch.header.attributes & 0x20) !== 0 ? ['<marker>'] : batch.records.map((r) => String(r.value))));
}

describe('Partition and transactions', () => {
  it('holds read_committed readers below the last stable offset while a transaction is open', async () => {
    const partition = await standalonePartition();
    await partition.appendAsLeader(encodeBatch([{ value: 'plain', timestamp: NOW }]));
    await partition.appendAsLeader(txn(7, 0, 'in-txn'));
    await partition.appendAsLeader(encodeBatch([{ value: 'after', timestamp: NOW }]));
    expect(partition.highWatermark).toBe(3);
    expect(partition.lastStableOffset).toBe(1);
    expect(values((await partition.read(0, 1 << 20, true, 'read_committed')).bytes)).toEqual(['plain']);
    expect(values((await partition.read(1, 1 << 20, true, 'read_committed')).bytes)).toEqual([]);
    expect(values((await partition.read(0, 1 << 20, true)).bytes)).toEqual(['plain', 'in-txn', 'after']);
    await partition.appendAsLeader(encodeTxnMarkerBatch({ producerId: 7, producerEpoch: 0, commit: false, coordinatorEpoch: 1 }, NOW), -1, 0, 'coordinator');
    expect(partition.lastStableOffset).toBe(4);
    expect(values((await partition.read(0, 1 << 20, true, 'read_committed')).bytes)).toEqual(['plain', 'in-txn', 'after', '<marker>']);
    expect(partition.log.abortedTransactions(asOffset(0), partition.lastStableOffset)).toEqual([{ producerId: 7, firstOffset: 1 }]);
  });

  it('refuses a marker from a client and appends nothing', async () => {
    const partition = await standalonePartition();
    const marker = encodeTxnMarkerBatch({ producerId: 7, producerEpoch: 0, commit: true, coordinatorEpoch: 1 }, NOW);
    await expect(partition.appendAsLeader(marker)).rejects.toSatisfy((e: unknown) => e instanceof LogError && e.errorName === 'INVALID_RECORD');
    expect(partition.logEndOffset).toBe(0);
  });
});
