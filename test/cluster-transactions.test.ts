// Method: a three-broker cluster in this process, spoken to raw with the protocol's Connection. A
// transaction spans the three partitions of a topic, whose leaders are spread over the brokers, so the
// coordinator writes some markers locally and sends WriteTxnMarkers for the others; read_committed
// fetches from each leader then see the records. Then a transaction is left in PrepareCommit, as a
// coordinator that crashed right after persisting its decision leaves it (the record appended to its
// `__transaction_state` partition, replicated, no marker written), and the coordinator's broker is
// stopped without hand-off: the new leader of that partition must load the state and complete it.
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger, startCluster, type EmbeddedCluster } from '../broker/index.js';
import { encodeTransactionRecord, transactionStatePartitionFor } from '../broker/txn/transaction-state-topic.js';
import { API_KEYS, Connection, COORDINATOR_KEY_TYPE_TRANSACTION, ERRORS, TRANSACTION_STATE_TOPIC, type ApiKey, type RequestOf, type ResponseOf } from '../client/protocol/index.js';
import { decodeBatches, encodeBatch } from '../log/index.js';
import { waitUntil } from './fixtures/wait-until.js';

const TOPIC = 'orders';
const PARTITIONS = 3;
const RETRIABLE = new Set<number>([
  ERRORS.NOT_COORDINATOR.code,
  ERRORS.COORDINATOR_NOT_AVAILABLE.code,
  ERRORS.COORDINATOR_LOAD_IN_PROGRESS.code,
  ERRORS.CONCURRENT_TRANSACTIONS.code,
  ERRORS.NOT_LEADER_OR_FOLLOWER.code,
  ERRORS.LEADER_NOT_AVAILABLE.code,
  ERRORS.NOT_CONTROLLER.code,
  ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code,
]);

let cluster: EmbeddedCluster | undefined;
const connections = new Map<number, Connection>();

afterEach(async () => {
  for (const connection of connections.values()) await connection.close();
  connections.clear();
  await cluster?.close();
  cluster = undefined;
});

async function connectTo(nodeId: number): Promise<Connection> {
  const existing = connections.get(nodeId);
  if (existing !== undefined && !existing.closed) return existing;
  const broker = cluster!.broker(nodeId);
  if (broker === undefined) throw new Error(`broker ${nodeId} is not running`);
  const connection = await Connection.connect({ host: broker.address.host, port: broker.address.port, clientId: 'cluster-txn' });
  connections.set(nodeId, connection);
  return connection;
}

/** Sends until the answer's error (picked by `code`) is not a retriable coordinator/leader error. */
async function untilSettled<K extends ApiKey>(nodeId: () => Promise<number>, apiKey: K, body: RequestOf<K>, code: (response: ResponseOf<K>) => number): Promise<ResponseOf<K>> {
  let last: ResponseOf<K> | undefined;
  await waitUntil(
    async () => {
      try {
        last = await (await connectTo(await nodeId())).request(apiKey, body);
      } catch {
        return false;
      }
      return !RETRIABLE.has(code(last));
    },
    `api ${apiKey} to settle`,
    30_000,
    50,
  );
  return last!;
}

async function transactionCoordinator(transactionalId: string): Promise<number> {
  const live = cluster!.nodeIds.find((id) => cluster!.broker(id) !== undefined)!;
  const found = await (await connectTo(live)).request(API_KEYS.findCoordinator, { keyType: COORDINATOR_KEY_TYPE_TRANSACTION, keys: [transactionalId] });
  const coordinator = found.coordinators[0]!;
  if (coordinator.errorCode !== 0 || cluster!.broker(coordinator.nodeId) === undefined) throw new Error(`no coordinator yet (${coordinator.errorMessage})`);
  return coordinator.nodeId;
}

async function readCommitted(partition: number): Promise<string[]> {
  const leader = await cluster!.waitForLeader(TOPIC, partition);
  const response = await (await connectTo(leader)).request(API_KEYS.fetch, {
    maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 1, topics: [{ name: TOPIC, partitions: [{ partition, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
  });
  const result = response.topics[0]!.partitions[0]!;
  if (result.errorCode !== 0) return [];
  const values: string[] = [];
  for (const batch of decodeBatches(result.records)) {
    if ((batch.header.attributes & 0x20) !== 0) continue;
    for (const record of batch.records) values.push(record.value!.toString('utf8'));
  }
  return values;
}

describe('transactions in a cluster', () => {
  it('commits across partitions led by different brokers, and a new coordinator completes a prepared commit after the old one is killed', async () => {
    cluster = await startCluster({ nodes: 3, brokerOptions: { logger: silentLogger(), raftTickMs: 50, offsetsTopicPartitions: 1, transactionStateTopicPartitions: 1 } });
    await cluster.waitForController();
    const created = await untilSettled(
      () => cluster!.waitForController(),
      API_KEYS.createTopics,
      { topics: [{ name: TOPIC, partitions: PARTITIONS, replicationFactor: 3, configs: {} }], timeoutMs: 5000, validateOnly: false },
      (r) => r.topics[0]!.errorCode,
    );
    expect(created.topics[0]!.errorCode).toBe(0);
    const leaders = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => cluster!.waitForLeader(TOPIC, p)));
    await waitUntil(() => cluster!.nodeIds.every((id) => cluster!.broker(id)!.partitions.topic(TRANSACTION_STATE_TOPIC) !== undefined), 'the controller to create __transaction_state');

    const coordinatorOf = () => transactionCoordinator('tx');
    const init = await untilSettled(coordinatorOf, API_KEYS.initProducerId, { transactionalId: 'tx', transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 }, (r) => r.errorCode);
    expect(init.errorCode).toBe(0);
    const { producerId, producerEpoch } = init;
    const added = await untilSettled(coordinatorOf, API_KEYS.addPartitionsToTxn, { transactionalId: 'tx', producerId, producerEpoch, topics: [{ name: TOPIC, partitions: [0, 1, 2] }] }, (r) => r.errorCode);
    expect(added.errorCode).toBe(0);
    const produce = async (partition: number, baseSequence: number, value: string) => {
      const records = encodeBatch([{ value }], { producerId, producerEpoch, baseSequence, transactional: true });
      const response = await untilSettled(() => cluster!.waitForLeader(TOPIC, partition), API_KEYS.produce, { acks: -1, timeoutMs: 5000, topics: [{ name: TOPIC, partitions: [{ partition, records }] }] }, (r) => r.topics[0]!.partitions[0]!.errorCode);
      expect(response.topics[0]!.partitions[0]!.errorCode).toBe(0);
    };
    for (let p = 0; p < PARTITIONS; p++) await produce(p, 0, `first-${p}`);
    for (let p = 0; p < PARTITIONS; p++) expect(await readCommitted(p)).toEqual([]);
    const coordinator = await coordinatorOf();
    // Some partition is led elsewhere than the coordinator: its marker travels as WriteTxnMarkers.
    expect(leaders.some((leader) => leader !== coordinator) || new Set(leaders).size > 1).toBe(true);
    const ended = await untilSettled(coordinatorOf, API_KEYS.endTxn, { transactionalId: 'tx', producerId, producerEpoch, committed: true }, (r) => r.errorCode);
    expect(ended.errorCode).toBe(0);
    for (let p = 0; p < PARTITIONS; p++) expect(await readCommitted(p)).toEqual([`first-${p}`]);

    // A second transaction, left in PrepareCommit by a "crashed" coordinator.
    expect((await untilSettled(coordinatorOf, API_KEYS.addPartitionsToTxn, { transactionalId: 'tx', producerId, producerEpoch, topics: [{ name: TOPIC, partitions: [0, 1, 2] }] }, (r) => r.errorCode)).errorCode).toBe(0);
    for (let p = 0; p < PARTITIONS; p++) await produce(p, 1, `second-${p}`);
    const oldCoordinator = cluster.broker(await coordinatorOf())!;
    const statePartition = oldCoordinator.partitions.partition(TRANSACTION_STATE_TOPIC, transactionStatePartitionFor('tx', 1))!;
    const now = Date.now();
    const { key, value } = encodeTransactionRecord({
      transactionalId: 'tx', producerId, producerEpoch, transactionTimeoutMs: 60_000, state: 'PrepareCommit',
      partitions: [0, 1, 2].map((partition) => ({ topic: TOPIC, partition })), transactionStartTimeMs: now, lastUpdateTimeMs: now,
    });
    await statePartition.appendAsLeader(encodeBatch([{ key, value, timestamp: now }]), -1, 5000);
    connections.get(oldCoordinator.nodeId)?.close();
    connections.delete(oldCoordinator.nodeId);
    await cluster.killBroker(oldCoordinator.nodeId);

    await waitUntil(async () => {
      for (let p = 0; p < PARTITIONS; p++) if ((await readCommitted(p).catch(() => [])).length < 2) return false;
      return true;
    }, 'the new coordinator to complete the prepared commit on every partition', 30_000, 100);
    for (let p = 0; p < PARTITIONS; p++) expect(await readCommitted(p)).toEqual([`first-${p}`, `second-${p}`]);
    const described = await untilSettled(coordinatorOf, API_KEYS.describeTransactions, { transactionalIds: ['tx'] }, (r) => r.transactionStates[0]!.errorCode);
    expect(described.transactionStates[0]).toMatchObject({ errorCode: 0, state: 'CompleteCommit' });
    expect(await coordinatorOf()).not.toBe(oldCoordinator.nodeId);
  });
});
