// Method: a real PartitionManager on a temp dir (so `__transaction_state` is a real log) and a
// recording MarkerWriter the test can hold back; the coordinator is driven through its methods, and
// reopened on the same dir to check what it reloads and completes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StrataError } from '../../client/protocol/index.js';
import { waitUntil } from '../../test/fixtures/wait-until.js';
import { BrokerStats } from '../broker-stats.js';
import { silentLogger } from '../logger.js';
import { PartitionManager } from '../partition-manager.js';
import type { MarkerWriter, TxnMarkerSpec } from './marker-writer.js';
import { TransactionCoordinator } from './transaction-coordinator.js';
import type { TxnPartition } from './transaction-metadata.js';

class RecordingMarkers implements MarkerWriter {
  readonly written: Array<{ marker: TxnMarkerSpec; partitions: readonly TxnPartition[] }> = [];
  private gate: Promise<void> | undefined;
  private release: (() => void) | undefined;

  hold(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }

  open(): void {
    this.release?.();
    this.gate = undefined;
  }

  async write(marker: TxnMarkerSpec, partitions: readonly TxnPartition[], signal: AbortSignal): Promise<void> {
    if (this.gate !== undefined) {
      const aborted = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new StrataError('NOT_COORDINATOR')), { once: true }));
      await Promise.race([this.gate, aborted]);
    }
    this.written.push({ marker, partitions });
  }
}

let dataDir: string;
let now: number;
const opened: Array<{ manager: PartitionManager; coordinator: TransactionCoordinator }> = [];

async function open(markers: MarkerWriter, options: { checkMs?: number; answerMs?: number } = {}): Promise<TransactionCoordinator> {
  const manager = await PartitionManager.open({ dataDir, nodeId: 0, defaultTopicConfigs: {}, logger: silentLogger(), stats: new BrokerStats(), clock: () => now });
  let next = 1000;
  const coordinator = await TransactionCoordinator.open({
    partitions: manager,
    markers,
    settings: { transactionStateTopicPartitions: 2, transactionMaxTimeoutMs: 60_000, transactionTimeoutCheckIntervalMs: options.checkMs ?? 60_000 },
    newProducerId: () => next++,
    logger: silentLogger(),
    clock: () => now,
    markersAnswerTimeoutMs: options.answerMs ?? 5000,
  });
  opened.push({ manager, coordinator });
  if (manager.topic('orders') === undefined) await manager.createTopic({ name: 'orders', partitions: 2, replicationFactor: 1, configs: {} });
  return coordinator;
}

async function closeAll(): Promise<void> {
  for (const { manager, coordinator } of opened.splice(0)) {
    coordinator.close();
    await manager.close();
  }
}

async function refusal(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    if (error instanceof StrataError) return error.errorName;
    throw error;
  }
  throw new Error('expected a refusal');
}

const init = (c: TransactionCoordinator, transactionalId = 'tx', transactionTimeoutMs = 30_000) => c.initProducerId({ transactionalId, transactionTimeoutMs, producerId: -1, producerEpoch: -1 });
const add = (c: TransactionCoordinator, producerId: number, producerEpoch: number, partitions = [0, 1], transactionalId = 'tx') =>
  c.addPartitionsToTxn({ transactionalId, producerId, producerEpoch, topics: [{ name: 'orders', partitions }] });
const end = (c: TransactionCoordinator, producerId: number, producerEpoch: number, committed: boolean, transactionalId = 'tx') => c.endTxn({ transactionalId, producerId, producerEpoch, committed });
const describeOne = async (c: TransactionCoordinator, id = 'tx') => (await c.describeTransactions([id]))[0]!;

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-txn-coordinator-'));
  now = 1_700_000_000_000;
});

afterEach(async () => {
  await closeAll();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('the transaction coordinator', () => {
  it('gives a new transactional id a producer id at epoch 0 and bumps the epoch on each InitProducerId', async () => {
    const coordinator = await open(new RecordingMarkers());
    const first = await init(coordinator);
    expect(first).toEqual({ producerId: 1000, producerEpoch: 0 });
    expect(await init(coordinator)).toEqual({ producerId: 1000, producerEpoch: 1 });
    expect(await init(coordinator, 'other')).toEqual({ producerId: 1001, producerEpoch: 0 });
    expect(await describeOne(coordinator)).toMatchObject({ errorCode: 0, state: 'Empty', producerId: 1000, producerEpoch: 1, transactionTimeoutMs: 30_000, transactionStartTimeMs: -1 });
  });

  it('commits: AddPartitions opens the transaction, EndTxn writes a commit marker to each partition and completes', async () => {
    const markers = new RecordingMarkers();
    const coordinator = await open(markers);
    const { producerId, producerEpoch } = await init(coordinator);
    expect((await add(coordinator, producerId, producerEpoch)).errorCode).toBe(0);
    expect(await describeOne(coordinator)).toMatchObject({ state: 'Ongoing', transactionStartTimeMs: now, topics: [{ name: 'orders', partitions: [0, 1] }] });
    expect(coordinator.openTransactions).toBe(1);
    await end(coordinator, producerId, producerEpoch, true);
    expect(markers.written).toEqual([{ marker: { producerId, producerEpoch, commit: true, coordinatorEpoch: 0 }, partitions: [{ topic: 'orders', partition: 0 }, { topic: 'orders', partition: 1 }] }]);
    expect(await describeOne(coordinator)).toMatchObject({ state: 'CompleteCommit', topics: [] });
    expect(coordinator.openTransactions).toBe(0);
    // A retry of the same outcome succeeds; the other way is INVALID_TXN_STATE.
    await end(coordinator, producerId, producerEpoch, true);
    expect(await refusal(end(coordinator, producerId, producerEpoch, false))).toBe('INVALID_TXN_STATE');
    expect(markers.written).toHaveLength(1);
  });

  it('a second instance fences the first: its open transaction is aborted at epoch + 1, the new one gets epoch + 2', async () => {
    const markers = new RecordingMarkers();
    const coordinator = await open(markers);
    const old = await init(coordinator);
    await add(coordinator, old.producerId, old.producerEpoch);
    const fresh = await init(coordinator);
    expect(fresh).toEqual({ producerId: old.producerId, producerEpoch: old.producerEpoch + 2 });
    expect(markers.written[0]?.marker).toMatchObject({ producerId: old.producerId, producerEpoch: old.producerEpoch + 1, commit: false });
    expect(await refusal(end(coordinator, old.producerId, old.producerEpoch, true))).toBe('PRODUCER_FENCED');
    expect((await add(coordinator, old.producerId, old.producerEpoch)).errorCode).toBe(90);
  });

  it('answers EndTxn REQUEST_TIMED_OUT while markers are held back, CONCURRENT_TRANSACTIONS to AddPartitions, and completes once they are written', async () => {
    const markers = new RecordingMarkers();
    const coordinator = await open(markers, { answerMs: 100 });
    const { producerId, producerEpoch } = await init(coordinator);
    await add(coordinator, producerId, producerEpoch);
    markers.hold();
    expect(await refusal(end(coordinator, producerId, producerEpoch, true))).toBe('REQUEST_TIMED_OUT');
    expect((await describeOne(coordinator)).state).toBe('PrepareCommit');
    expect((await add(coordinator, producerId, producerEpoch)).errorCode).toBe(51);
    expect(await refusal(init(coordinator))).toBe('CONCURRENT_TRANSACTIONS');
    const retry = end(coordinator, producerId, producerEpoch, true);
    markers.open();
    await retry;
    expect((await describeOne(coordinator)).state).toBe('CompleteCommit');
  });

  it('reloads its state after a restart and completes a transaction it finds in PrepareCommit', async () => {
    const held = new RecordingMarkers();
    const coordinator = await open(held, { answerMs: 50 });
    const { producerId, producerEpoch } = await init(coordinator);
    await add(coordinator, producerId, producerEpoch, [1]);
    await init(coordinator, 'idle');
    held.hold();
    expect(await refusal(end(coordinator, producerId, producerEpoch, true))).toBe('REQUEST_TIMED_OUT');
    await closeAll();

    const markers = new RecordingMarkers();
    const reopened = await open(markers);
    await waitUntil(async () => (await describeOne(reopened)).state === 'CompleteCommit', 'the prepared commit to complete after the restart', 10_000);
    expect(markers.written).toEqual([{ marker: { producerId, producerEpoch, commit: true, coordinatorEpoch: 0 }, partitions: [{ topic: 'orders', partition: 1 }] }]);
    expect((await describeOne(reopened, 'idle')).state).toBe('Empty');
    // The producer's retry learns the outcome.
    await end(reopened, producerId, producerEpoch, true);
  });

  it('aborts a transaction past its timeout with the epoch bumped, fencing its producer', async () => {
    const markers = new RecordingMarkers();
    const coordinator = await open(markers, { checkMs: 10 });
    const { producerId, producerEpoch } = await init(coordinator, 'tx', 1000);
    await add(coordinator, producerId, producerEpoch);
    now += 1001;
    await waitUntil(async () => (await describeOne(coordinator)).state === 'CompleteAbort', 'the timed-out transaction to be aborted', 10_000);
    expect(markers.written[0]?.marker).toMatchObject({ producerId, producerEpoch: producerEpoch + 1, commit: false });
    expect(await refusal(end(coordinator, producerId, producerEpoch, true))).toBe('PRODUCER_FENCED');
    expect(await init(coordinator)).toEqual({ producerId, producerEpoch: producerEpoch + 2 });
  });

  it('refuses bad input with clear codes', async () => {
    const coordinator = await open(new RecordingMarkers());
    expect(await refusal(init(coordinator, 'tx', 0))).toBe('INVALID_TRANSACTION_TIMEOUT');
    expect(await refusal(init(coordinator, 'tx', 60_001))).toBe('INVALID_TRANSACTION_TIMEOUT');
    expect(await refusal(init(coordinator, 'x'.repeat(250)))).toBe('INVALID_REQUEST');
    expect(await refusal(coordinator.initProducerId({ transactionalId: 'new', transactionTimeoutMs: 1000, producerId: 5, producerEpoch: 0 }))).toBe('INVALID_PRODUCER_ID_MAPPING');
    expect(await refusal(end(coordinator, 1, 0, true, 'unknown'))).toBe('INVALID_PRODUCER_ID_MAPPING');
    const { producerId, producerEpoch } = await init(coordinator);
    expect(await refusal(end(coordinator, producerId, producerEpoch, true))).toBe('INVALID_TXN_STATE');
    expect(await refusal(end(coordinator, -5, 0, true))).toBe('INVALID_REQUEST');
    expect((await add(coordinator, producerId + 1, producerEpoch)).errorCode).toBe(49);
    const unknown = await coordinator.addPartitionsToTxn({ transactionalId: 'tx', producerId, producerEpoch, topics: [{ name: 'orders', partitions: [0, 7] }, { name: 'nope', partitions: [0] }] });
    expect(unknown.errorCode).toBe(3);
    expect(unknown.topics.flatMap((t) => t.partitions.map((p) => p.errorCode))).toEqual([3, 3, 3]);
    expect((await describeOne(coordinator)).state).toBe('Empty');
    expect((await coordinator.addPartitionsToTxn({ transactionalId: 'tx', producerId, producerEpoch, topics: [{ name: '__transaction_state', partitions: [0] }] })).errorCode).toBe(42);
    expect(await refusal(coordinator.addOffsetsToTxn({ transactionalId: 'tx', producerId, producerEpoch, groupId: '' }))).toBe('INVALID_GROUP_ID');
    expect((await describeOne(coordinator, 'never')).errorCode).toBe(105);
    expect(() => coordinator.listTransactions({ stateFilters: ['Running'], producerIdFilters: [] })).toThrow(/unknown state 'Running'/);
    expect(coordinator.listTransactions({ stateFilters: ['Empty'], producerIdFilters: [producerId] }).map((t) => t.transactionalId)).toEqual(['tx']);
    expect(coordinator.listTransactions({ stateFilters: ['Ongoing'], producerIdFilters: [] })).toEqual([]);
  });
});
