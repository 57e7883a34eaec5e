// Method: a real broker on a free 127.0.0.1 port with a temp data dir, spoken to raw with the
// protocol's Connection: FindCoordinator (key type 1), InitProducerId with a transactional id,
// AddPartitionsToTxn, hand-built transactional batches (encodeBatch with producer id, epoch, sequence
// and the transactional bit), EndTxn; read_committed and read_uncommitted fetches check what each
// sees, the last stable offset and the aborted transactions listed. Then fencing, a timeout abort,
// bad input (the broker keeps serving after each), transactional offset commits, and a restart on the
// same data dir with a PrepareCommit written as a crashed coordinator would have left it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger, startBroker, type Broker } from '../broker/index.js';
import { transactionStatePartitionFor, encodeTransactionRecord } from '../broker/txn/transaction-state-topic.js';
import { API_KEYS, Connection, COORDINATOR_KEY_TYPE_TRANSACTION, ERRORS, TRANSACTION_STATE_TOPIC, type FetchPartitionResult } from '../client/protocol/index.js';
import { decodeBatches, encodeBatch, encodeTxnMarkerBatch } from '../log/index.js';
import { waitUntil } from './fixtures/wait-until.js';

const TOPIC = 'orders';
const LISTEN = { host: '127.0.0.1', port: 0 };

let dataDir: string;
let broker: Broker | undefined;
let connection: Connection | undefined;

async function start(options: { transactionTimeoutCheckIntervalMs?: number } = {}): Promise<Connection> {
  broker = await startBroker({ dataDir, listen: LISTEN, http: null, logger: silentLogger(), offsetsTopicPartitions: 2, transactionStateTopicPartitions: 2, ...options });
  connection = await Connection.connect({ host: broker.address.host, port: broker.address.port, clientId: 'txn-test' });
  return connection;
}

async function stop(): Promise<void> {
  await connection?.close();
  await broker?.close();
  connection = undefined;
  broker = undefined;
}

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-txn-'));
});

afterEach(async () => {
  await stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function conn(): Connection {
  if (connection === undefined) throw new Error('no connection');
  return connection;
}

async function createTopic(name = TOPIC, partitions = 2): Promise<void> {
  const response = await conn().request(API_KEYS.createTopics, { topics: [{ name, partitions, replicationFactor: 1, configs: {} }], timeoutMs: 5000, validateOnly: false });
  expect(response.topics[0]?.errorCode).toBe(0);
}

async function init(transactionalId = 'tx', transactionTimeoutMs = 60_000) {
  return conn().request(API_KEYS.initProducerId, { transactionalId, transactionTimeoutMs, producerId: -1, producerEpoch: -1 });
}

async function addPartitions(producerId: number, producerEpoch: number, partitions = [0, 1], transactionalId = 'tx') {
  return conn().request(API_KEYS.addPartitionsToTxn, { transactionalId, producerId, producerEpoch, topics: [{ name: TOPIC, partitions }] });
}

async function endTxn(producerId: number, producerEpoch: number, committed: boolean, transactionalId = 'tx') {
  return conn().request(API_KEYS.endTxn, { transactionalId, producerId, producerEpoch, committed });
}

function txnBatch(producerId: number, producerEpoch: number, baseSequence: number, values: string[]): Buffer {
  return encodeBatch(values.map((value) => ({ value })), { producerId, producerEpoch, baseSequence, transactional: true });
}

async function produce(records: Buffer, partition = 0, topic = TOPIC) {
  const response = await conn().request(API_KEYS.produce, { acks: -1, timeoutMs: 5000, topics: [{ name: topic, partitions: [{ partition, records }] }] });
  return response.topics[0]!.partitions[0]!;
}

async function fetchPartition(isolationLevel: number, partition = 0, fetchOffset = 0): Promise<FetchPartitionResult & { values: string[] }> {
  const response = await conn().request(API_KEYS.fetch, {
    maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel, topics: [{ name: TOPIC, partitions: [{ partition, fetchOffset, partitionMaxBytes: 1 << 20 }] }],
  });
  const result = response.topics[0]!.partitions[0]!;
  const values: string[] = [];
  for (const batch of decodeBatches(result.records)) {
    if ((batch.header.attributes & 0x20) !== 0) continue;
    for (const record of batch.records) values.push(record.value?.toString('utf8') ?? '');
  }
  return { ...result, values };
}

async function latest(isolationLevel: number, partition = 0): Promise<number> {
  const response = await conn().request(API_KEYS.listOffsets, { isolationLevel, topics: [{ name: TOPIC, partitions: [{ partition, timestamp: -1 }] }] });
  return response.topics[0]!.partitions[0]!.offset;
}

async function describeTxn(transactionalId = 'tx') {
  return (await conn().request(API_KEYS.describeTransactions, { transactionalIds: [transactionalId] })).transactionStates[0]!;
}

/**
 * What a consumer keeps of read_committed records (Kafka's rule): an aborted transaction listed with
 * `firstOffset` drops its producer's data batches from that offset up to its abort marker.
 */
function committedValues(result: FetchPartitionResult): string[] {
  const values: string[] = [];
  const pending = [...result.abortedTransactions].sort((a, b) => a.firstOffset - b.firstOffset);
  const aborting = new Set<number>();
  for (const batch of decodeBatches(result.records)) {
    while (pending.length > 0 && pending[0]!.firstOffset <= batch.header.baseOffset) aborting.add(pending.shift()!.producerId);
    if ((batch.header.attributes & 0x20) !== 0) {
      aborting.delete(batch.header.producerId);
      continue;
    }
    if (aborting.has(batch.header.producerId)) continue;
    for (const record of batch.records) values.push(record.value?.toString('utf8') ?? '');
  }
  return values;
}

describe('transactions at the broker', () => {
  it('commits and aborts: read_committed sees only committed records, stops at an open transaction, and lists aborted ones', async () => {
    await start();
    await createTopic();
    const found = await conn().request(API_KEYS.findCoordinator, { keyType: COORDINATOR_KEY_TYPE_TRANSACTION, keys: ['tx'] });
    expect(found.coordinators[0]).toMatchObject({ errorCode: 0, nodeId: broker!.nodeId, port: broker!.address.port });

    const { errorCode, producerId, producerEpoch } = await init();
    expect(errorCode).toBe(0);
    expect((await addPartitions(producerId, producerEpoch)).errorCode).toBe(0);
    expect((await produce(encodeBatch([{ value: 'plain-before' }]))).errorCode).toBe(0);
    expect((await produce(txnBatch(producerId, producerEpoch, 0, ['a1', 'a2']))).errorCode).toBe(0);
    expect((await produce(txnBatch(producerId, producerEpoch, 0, ['b1']), 1)).errorCode).toBe(0);
    expect((await produce(encodeBatch([{ value: 'plain-after' }]))).errorCode).toBe(0);

    // Open: read_committed stops at the transaction's first offset; read_uncommitted sees everything.
    const open = await fetchPartition(1);
    expect(open.values).toEqual(['plain-before']);
    expect(open.lastStableOffset).toBe(1);
    expect(await latest(1)).toBe(1);
    expect(await latest(0)).toBe(4);
    expect((await fetchPartition(0)).values).toEqual(['plain-before', 'a1', 'a2', 'plain-after']);
    expect(await describeTxn()).toMatchObject({ state: 'Ongoing', producerId, topics: [{ name: TOPIC, partitions: [0, 1] }] });

    expect(await endTxn(producerId, producerEpoch, true)).toMatchObject({ errorCode: 0 });
    const committed = await fetchPartition(1);
    expect(committed.values).toEqual(['plain-before', 'a1', 'a2', 'plain-after']);
    expect(committed.abortedTransactions).toEqual([]);
    expect(committed.lastStableOffset).toBe(committed.highWatermark);
    expect((await fetchPartition(1, 1)).values).toEqual(['b1']);
    expect((await describeTxn()).state).toBe('CompleteCommit');
    // A retry of the commit is answered with success; an abort now has no transaction.
    expect((await endTxn(producerId, producerEpoch, true)).errorCode).toBe(0);
    expect((await endTxn(producerId, producerEpoch, false)).errorCode).toBe(ERRORS.INVALID_TXN_STATE.code);

    // A second transaction, aborted.
    expect((await addPartitions(producerId, producerEpoch, [0])).errorCode).toBe(0);
    const start0 = (await fetchPartition(0)).highWatermark;
    expect((await produce(txnBatch(producerId, producerEpoch, 2, ['x1']))).errorCode).toBe(0);
    expect((await endTxn(producerId, producerEpoch, false)).errorCode).toBe(0);
    const aborted = await fetchPartition(1);
    expect(aborted.abortedTransactions).toEqual([{ producerId, firstOffset: start0 }]);
    expect(committedValues(aborted)).toEqual(['plain-before', 'a1', 'a2', 'plain-after']);
    expect((await fetchPartition(0)).abortedTransactions).toEqual([]);
  });

  it('a long-polling read_committed fetch is answered when the commit marker moves the last stable offset', async () => {
    await start();
    await createTopic();
    const { producerId, producerEpoch } = await init();
    await addPartitions(producerId, producerEpoch, [0]);
    expect((await produce(txnBatch(producerId, producerEpoch, 0, ['w1']))).errorCode).toBe(0);
    const poller = await Connection.connect({ host: broker!.address.host, port: broker!.address.port, clientId: 'poller' });
    try {
      const started = Date.now();
      const polled = poller.request(API_KEYS.fetch, {
        maxWaitMs: 20_000, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 1, topics: [{ name: TOPIC, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
      });
      await waitUntil(() => broker!.pendingFetches === 1, 'the read_committed fetch to park');
      expect((await endTxn(producerId, producerEpoch, true)).errorCode).toBe(0);
      const response = await polled;
      expect(Date.now() - started).toBeLessThan(15_000);
      expect([...decodeBatches(response.topics[0]!.partitions[0]!.records)].length).toBeGreaterThan(0);
    } finally {
      await poller.close();
    }
  });

  it('fences a zombie: a second InitProducerId aborts its transaction; its produce is INVALID_PRODUCER_EPOCH and its EndTxn PRODUCER_FENCED', async () => {
    await start();
    await createTopic();
    const zombie = await init();
    await addPartitions(zombie.producerId, zombie.producerEpoch, [0]);
    expect((await produce(txnBatch(zombie.producerId, zombie.producerEpoch, 0, ['z1']))).errorCode).toBe(0);
    const fresh = await init();
    expect(fresh).toMatchObject({ errorCode: 0, producerId: zombie.producerId, producerEpoch: zombie.producerEpoch + 2 });
    const before = (await fetchPartition(0)).highWatermark;
    expect((await produce(txnBatch(zombie.producerId, zombie.producerEpoch, 1, ['z2']))).errorCode).toBe(ERRORS.INVALID_PRODUCER_EPOCH.code);
    expect((await fetchPartition(0)).highWatermark).toBe(before);
    expect((await endTxn(zombie.producerId, zombie.producerEpoch, true)).errorCode).toBe(ERRORS.PRODUCER_FENCED.code);
    expect((await addPartitions(zombie.producerId, zombie.producerEpoch)).errorCode).toBe(ERRORS.PRODUCER_FENCED.code);
    // The zombie's record was aborted; the new instance works.
    expect(committedValues(await fetchPartition(1))).toEqual([]);
    await addPartitions(fresh.producerId, fresh.producerEpoch, [0]);
    expect((await produce(txnBatch(fresh.producerId, fresh.producerEpoch, 0, ['f1']))).errorCode).toBe(0);
    expect((await endTxn(fresh.producerId, fresh.producerEpoch, true)).errorCode).toBe(0);
    expect(committedValues(await fetchPartition(1))).toEqual(['f1']);
  });

  it('aborts a transaction that passes its timeout, fencing its producer', async () => {
    await start({ transactionTimeoutCheckIntervalMs: 20 });
    await createTopic();
    const { producerId, producerEpoch } = await init('slow', 300);
    await addPartitions(producerId, producerEpoch, [0], 'slow');
    expect((await produce(txnBatch(producerId, producerEpoch, 0, ['s1']))).errorCode).toBe(0);
    await waitUntil(async () => (await describeTxn('slow')).state === 'CompleteAbort', 'the timed-out transaction to be aborted', 10_000);
    expect((await describeTxn('slow')).producerEpoch).toBe(producerEpoch + 1);
    expect((await endTxn(producerId, producerEpoch, true, 'slow')).errorCode).toBe(ERRORS.PRODUCER_FENCED.code);
    expect((await produce(txnBatch(producerId, producerEpoch, 1, ['s2']))).errorCode).toBe(ERRORS.INVALID_PRODUCER_EPOCH.code);
    const read = await fetchPartition(1);
    expect(read.lastStableOffset).toBe(read.highWatermark);
    expect(committedValues(read)).toEqual([]);
  });

  it('answers bad input with clear codes and keeps serving', async () => {
    await start();
    await createTopic();
    const stillServing = async () => expect((await produce(encodeBatch([{ value: 'ok' }]))).errorCode).toBe(0);

    expect((await endTxn(1, 0, true, 'never-initialized')).errorCode).toBe(ERRORS.INVALID_PRODUCER_ID_MAPPING.code);
    await stillServing();
    const { producerId, producerEpoch } = await init();
    expect((await endTxn(producerId, producerEpoch, true)).errorCode).toBe(ERRORS.INVALID_TXN_STATE.code);
    await stillServing();
    expect((await addPartitions(producerId + 1, producerEpoch)).errorCode).toBe(ERRORS.INVALID_PRODUCER_ID_MAPPING.code);
    const unknown = await conn().request(API_KEYS.addPartitionsToTxn, { transactionalId: 'tx', producerId, producerEpoch, topics: [{ name: TOPIC, partitions: [0] }, { name: 'missing', partitions: [0] }] });
    expect(unknown.errorCode).toBe(ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code);
    expect((await describeTxn()).state).toBe('Empty');
    expect((await init('tx', 0)).errorCode).toBe(ERRORS.INVALID_TRANSACTION_TIMEOUT.code);
    expect((await init('tx', 16 * 60 * 1000)).errorCode).toBe(ERRORS.INVALID_TRANSACTION_TIMEOUT.code);
    const badFilter = await conn().request(API_KEYS.listTransactions, { stateFilters: ['Sleeping'], producerIdFilters: [] });
    expect(badFilter.errorCode).toBe(ERRORS.INVALID_REQUEST.code);
    expect((await describeTxn('nobody')).errorCode).toBe(ERRORS.TRANSACTIONAL_ID_NOT_FOUND.code);
    const badIsolation = await conn().request(API_KEYS.fetch, { maxWaitMs: 0, minBytes: 0, maxBytes: 1000, isolationLevel: 7, topics: [{ name: TOPIC, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1000 }] }] });
    expect(badIsolation.topics[0]!.partitions[0]!.errorCode).toBe(ERRORS.INVALID_REQUEST.code);
    const badListIsolation = await conn().request(API_KEYS.listOffsets, { isolationLevel: 2, topics: [{ name: TOPIC, partitions: [{ partition: 0, timestamp: -1 }] }] });
    expect(badListIsolation.topics[0]!.partitions[0]!.errorCode).toBe(ERRORS.INVALID_REQUEST.code);
    const badKeyType = await conn().request(API_KEYS.findCoordinator, { keyType: 2, keys: ['tx'] });
    expect(badKeyType.coordinators[0]!.errorCode).toBe(ERRORS.INVALID_REQUEST.code);
    // A client may not write a control batch: nothing is appended.
    const before = (await fetchPartition(0)).highWatermark;
    const forged = await produce(encodeTxnMarkerBatch({ producerId, producerEpoch, commit: true, coordinatorEpoch: 0 }, Date.now()));
    expect(forged.errorCode).toBe(ERRORS.INVALID_RECORD.code);
    expect((await fetchPartition(0)).highWatermark).toBe(before);
    // Nor write to the state topic.
    expect((await produce(encodeBatch([{ key: 'x', value: 'y' }]), 0, TRANSACTION_STATE_TOPIC)).errorCode).not.toBe(0);
    await stillServing();
    expect((await conn().request(API_KEYS.listTransactions, { stateFilters: ['Empty'], producerIdFilters: [] })).transactionStates.map((t) => t.transactionalId)).toEqual(['tx']);
  });

  it('commits offsets inside a transaction: invisible until the commit marker, dropped by an abort, kept across a restart', async () => {
    await start();
    await createTopic();
    const group = 'txn-group';
    const found = await conn().request(API_KEYS.findCoordinator, { keyType: 0, keys: [group] });
    expect(found.coordinators[0]!.errorCode).toBe(0);
    const { producerId, producerEpoch } = await init();
    const fetchOffset = async () => (await conn().request(API_KEYS.offsetFetch, { groupId: group, topics: [{ name: TOPIC, partitions: [0] }], allTopics: false })).topics[0]!.partitions[0]!.committedOffset;
    const txnCommit = (offset: number) =>
      conn().request(API_KEYS.txnOffsetCommit, {
        transactionalId: 'tx', groupId: group, producerId, producerEpoch, memberId: '', memberEpoch: -1, topics: [{ name: TOPIC, partitions: [{ partition: 0, committedOffset: offset, committedMetadata: '' }] }],
      });

    expect((await conn().request(API_KEYS.addOffsetsToTxn, { transactionalId: 'tx', producerId, producerEpoch, groupId: group })).errorCode).toBe(0);
    expect((await txnCommit(7)).topics[0]!.partitions[0]!.errorCode).toBe(0);
    expect(await fetchOffset()).toBe(-1);
    expect((await endTxn(producerId, producerEpoch, true)).errorCode).toBe(0);
    expect(await fetchOffset()).toBe(7);

    expect((await conn().request(API_KEYS.addOffsetsToTxn, { transactionalId: 'tx', producerId, producerEpoch, groupId: group })).errorCode).toBe(0);
    expect((await txnCommit(9)).topics[0]!.partitions[0]!.errorCode).toBe(0);
    expect((await endTxn(producerId, producerEpoch, false)).errorCode).toBe(0);
    expect(await fetchOffset()).toBe(7);

    // Offsets outside an open transaction holding the offsets partition, and a fenced producer's, are refused.
    expect((await txnCommit(10)).topics[0]!.partitions[0]!.errorCode).toBe(ERRORS.INVALID_TXN_STATE.code);
    await init();
    expect((await txnCommit(11)).topics[0]!.partitions[0]!.errorCode).toBe(ERRORS.PRODUCER_FENCED.code);

    await stop();
    await start();
    expect(await fetchOffset()).toBe(7);

    // Offsets of a transaction still open at a restart are pending after the load, and applied by its commit.
    const again = await init();
    expect((await conn().request(API_KEYS.addOffsetsToTxn, { transactionalId: 'tx', producerId: again.producerId, producerEpoch: again.producerEpoch, groupId: group })).errorCode).toBe(0);
    const pending = await conn().request(API_KEYS.txnOffsetCommit, {
      transactionalId: 'tx', groupId: group, producerId: again.producerId, producerEpoch: again.producerEpoch, memberId: '', memberEpoch: -1,
      topics: [{ name: TOPIC, partitions: [{ partition: 0, committedOffset: 12, committedMetadata: '' }] }],
    });
    expect(pending.topics[0]!.partitions[0]!.errorCode).toBe(0);
    await stop();
    await start();
    expect(await fetchOffset()).toBe(7);
    expect((await endTxn(again.producerId, again.producerEpoch, true)).errorCode).toBe(0);
    expect(await fetchOffset()).toBe(12);
  });

  it('after a coordinator restart, a transaction left in PrepareCommit is completed from its state', async () => {
    await start();
    await createTopic();
    const { producerId, producerEpoch } = await init();
    await addPartitions(producerId, producerEpoch, [0, 1]);
    expect((await produce(txnBatch(producerId, producerEpoch, 0, ['p0']))).errorCode).toBe(0);
    expect((await produce(txnBatch(producerId, producerEpoch, 0, ['p1']), 1)).errorCode).toBe(0);
    // What a coordinator that crashed right after persisting its decision leaves behind: PrepareCommit, no markers.
    const stateTopic = broker!.partitions.topic(TRANSACTION_STATE_TOPIC)!;
    const statePartition = broker!.partitions.partition(TRANSACTION_STATE_TOPIC, transactionStatePartitionFor('tx', stateTopic.partitions))!;
    const now = Date.now();
    const { key, value } = encodeTransactionRecord({
      transactionalId: 'tx', producerId, producerEpoch, transactionTimeoutMs: 60_000, state: 'PrepareCommit',
      partitions: [{ topic: TOPIC, partition: 0 }, { topic: TOPIC, partition: 1 }], transactionStartTimeMs: now, lastUpdateTimeMs: now,
    });
    await statePartition.appendAsLeader(encodeBatch([{ key, value, timestamp: now }]));
    await stop();

    await start();
    await waitUntil(async () => (await describeTxn()).state === 'CompleteCommit', 'the restarted coordinator to complete the prepared commit', 10_000);
    expect(committedValues(await fetchPartition(1, 0))).toEqual(['p0']);
    expect(committedValues(await fetchPartition(1, 1))).toEqual(['p1']);
    // The producer's retry of EndTxn learns the outcome.
    expect((await endTxn(producerId, producerEpoch, true)).errorCode).toBe(0);
  });
});
