// Method: starts a real broker on a free 127.0.0.1 port with a temp data dir and drives it over TCP
// with the protocol's Connection — batches made by log's encodeBatch, read back with decodeBatches —
// then restarts it on the same data dir to check that topics and data survive.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger, startBroker, type Broker } from '../broker/index.js';
import { API_KEYS, Connection, ERRORS, type FetchResponse } from '../client/protocol/index.js';
import { decodeBatches, encodeBatch, type RecordInput } from '../log/index.js';

const LISTEN = { host: '127.0.0.1', port: 0 };

let dataDir: string;
const brokers: Broker[] = [];
const connections: Connection[] = [];

async function start(extra: Parameters<typeof startBroker>[0] = {}): Promise<Broker> {
  const broker = await startBroker({ dataDir, listen: LISTEN, logger: silentLogger(), ...extra });
  brokers.push(broker);
  return broker;
}

async function connect(broker: Broker): Promise<Connection> {
  const connection = await Connection.connect({ host: broker.address.host, port: broker.address.port, clientId: 'e2e' });
  connections.push(connection);
  return connection;
}

async function createTopic(connection: Connection, name: string, partitions: number, configs: Record<string, string> = {}) {
  const response = await connection.request(API_KEYS.createTopics, {
    topics: [{ name, partitions, replicationFactor: 1, configs }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  return response.topics[0];
}

function produce(connection: Connection, topic: string, partition: number, records: RecordInput[], acks = 1) {
  return connection.request(API_KEYS.produce, {
    acks,
    timeoutMs: 5000,
    topics: [{ name: topic, partitions: [{ partition, records: encodeBatch(records) }] }],
  });
}

function fetchOne(connection: Connection, topic: string, partition: number, fetchOffset: number, options: { maxWaitMs?: number; minBytes?: number; maxBytes?: number; partitionMaxBytes?: number } = {}) {
  return connection.request(API_KEYS.fetch, {
    maxWaitMs: options.maxWaitMs ?? 0,
    minBytes: options.minBytes ?? 1,
    maxBytes: options.maxBytes ?? 1024 * 1024,
    topics: [{ name: topic, partitions: [{ partition, fetchOffset, partitionMaxBytes: options.partitionMaxBytes ?? 1024 * 1024 }] }],
  });
}

function recordsOf(response: FetchResponse, topicIndex = 0, partitionIndex = 0): Array<{ offset: number; value: string }> {
  const result = response.topics[topicIndex]?.partitions[partitionIndex];
  if (result === undefined) throw new Error('no such partition in the response');
  return [...decodeBatches(result.records)].flatMap((batch) => batch.records.map((r) => ({ offset: r.offset, value: r.value?.toString() ?? '' })));
}

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-broker-e2e-'));
});

afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close()));
  await Promise.all(brokers.splice(0).map((b) => b.close()));
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('broker end to end', () => {
  it('answers ApiVersions with every api it serves', async () => {
    const connection = await connect(await start());
    const response = await connection.request(API_KEYS.apiVersions, {});
    expect(response.apis.map((a) => a.apiKey).sort((a, b) => a - b)).toEqual(Object.values(API_KEYS).sort((a, b) => a - b));
  });

  it('creates a topic, produces with acks 1 and 0, and fetches offsets 0..n-1 per partition', async () => {
    const connection = await connect(await start());
    expect((await createTopic(connection, 'orders', 3))?.errorCode).toBe(0);
    for (let partition = 0; partition < 3; partition++) {
      for (let i = 0; i < 4; i++) {
        const response = await produce(connection, 'orders', partition, [{ key: `k${i}`, value: `p${partition}-a${i}` }, { value: `p${partition}-b${i}` }]);
        const result = response.topics[0]?.partitions[0];
        expect(result?.errorCode).toBe(0);
        expect(result?.baseOffset).toBe(i * 2);
      }
    }
    // acks 0: no answer; the next acked request on the same connection is answered after it.
    connection.send(API_KEYS.produce, {
      acks: 0,
      timeoutMs: 5000,
      topics: [{ name: 'orders', partitions: [{ partition: 1, records: encodeBatch([{ value: 'fire-and-forget' }]) }] }],
    });
    const after = await produce(connection, 'orders', 1, [{ value: 'after' }]);
    expect(after.topics[0]?.partitions[0]?.baseOffset).toBe(9);

    for (let partition = 0; partition < 3; partition++) {
      const response = await fetchOne(connection, 'orders', partition, 0);
      const records = recordsOf(response);
      const expected = partition === 1 ? 10 : 8;
      expect(records.map((r) => r.offset)).toEqual([...Array(expected).keys()]);
      expect(response.topics[0]?.partitions[0]?.highWatermark).toBe(expected);
      expect(records[0]?.value).toBe(`p${partition}-a0`);
    }
    const tail = recordsOf(await fetchOne(connection, 'orders', 1, 8));
    expect(tail.map((r) => r.value)).toEqual(['fire-and-forget', 'after']);
  });

  it('long-polls: a parked fetch is woken by a produce, and an empty one times out', async () => {
    const broker = await start();
    const consumer = await connect(broker);
    const producer = await connect(broker);
    await createTopic(producer, 'events', 1);

    const startedEmpty = Date.now();
    const empty = await fetchOne(consumer, 'events', 0, 0, { maxWaitMs: 300, minBytes: 1 });
    expect(Date.now() - startedEmpty).toBeGreaterThanOrEqual(250);
    expect(empty.topics[0]?.partitions[0]?.records.length).toBe(0);
    expect(empty.topics[0]?.partitions[0]?.errorCode).toBe(0);

    const started = Date.now();
    const parked = fetchOne(consumer, 'events', 0, 0, { maxWaitMs: 20_000, minBytes: 1 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(broker.pendingFetches).toBe(1);
    await produce(producer, 'events', 0, [{ value: 'wake up' }]);
    const woken = await parked;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(recordsOf(woken).map((r) => r.value)).toEqual(['wake up']);
    expect(broker.pendingFetches).toBe(0);
  });

  it('waits for min_bytes across several appends', async () => {
    const broker = await start();
    const consumer = await connect(broker);
    const producer = await connect(broker);
    await createTopic(producer, 'bulk', 1);
    const batchBytes = encodeBatch([{ value: 'x'.repeat(100) }]).length;
    const parked = fetchOne(consumer, 'bulk', 0, 0, { maxWaitMs: 20_000, minBytes: batchBytes * 3 });
    let answered = false;
    void parked.then(() => (answered = true));
    for (let i = 0; i < 2; i++) await produce(producer, 'bulk', 0, [{ value: 'x'.repeat(100) }]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(answered).toBe(false);
    await produce(producer, 'bulk', 0, [{ value: 'x'.repeat(100) }]);
    expect(recordsOf(await parked)).toHaveLength(3);
  });

  it('applies per-partition and per-response max bytes with the first-batch rule (KIP-74)', async () => {
    const connection = await connect(await start());
    await createTopic(connection, 'sized', 2);
    const big = 'y'.repeat(2000);
    for (let i = 0; i < 3; i++) {
      await produce(connection, 'sized', 0, [{ value: big }]);
      await produce(connection, 'sized', 1, [{ value: big }]);
    }
    // A limit smaller than one batch still returns the first batch whole.
    expect(recordsOf(await fetchOne(connection, 'sized', 0, 0, { partitionMaxBytes: 10 }))).toHaveLength(1);
    expect(recordsOf(await fetchOne(connection, 'sized', 0, 0, { maxBytes: 10 }))).toHaveLength(1);
    // Two partitions under a response limit of one batch: the first gets one, the second nothing.
    const both = await connection.request(API_KEYS.fetch, {
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 100,
      topics: [{ name: 'sized', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }, { partition: 1, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
    });
    expect(recordsOf(both, 0, 0)).toHaveLength(1);
    expect(recordsOf(both, 0, 1)).toHaveLength(0);
    expect(both.topics[0]?.partitions[1]?.errorCode).toBe(0);
    // Enough room: everything.
    expect(recordsOf(await fetchOne(connection, 'sized', 0, 0))).toHaveLength(3);
  });

  it('lists earliest, latest and by-timestamp offsets', async () => {
    const connection = await connect(await start());
    await createTopic(connection, 'timed', 1);
    const base = 1_700_000_000_000;
    await produce(connection, 'timed', 0, [{ value: 'a', timestamp: base }, { value: 'b', timestamp: base + 10 }]);
    await produce(connection, 'timed', 0, [{ value: 'c', timestamp: base + 20 }]);
    const response = await connection.request(API_KEYS.listOffsets, {
      topics: [{
        name: 'timed',
        partitions: [
          { partition: 0, timestamp: -2 },
          { partition: 0, timestamp: -1 },
          { partition: 0, timestamp: base + 5 },
          { partition: 0, timestamp: base + 20 },
          { partition: 0, timestamp: base + 1000 },
        ],
      }],
    });
    const results = response.topics[0]?.partitions ?? [];
    expect(results.map((r) => r.errorCode)).toEqual([0, 0, 0, 0, 0]);
    expect(results.map((r) => r.offset)).toEqual([0, 3, 1, 2, 3]);
    expect(results[2]?.timestamp).toBe(base + 10);
    expect(results[4]?.timestamp).toBe(-1);
    const unknown = await connection.request(API_KEYS.listOffsets, { topics: [{ name: 'nope', partitions: [{ partition: 0, timestamp: -1 }] }] });
    expect(unknown.topics[0]?.partitions[0]?.errorCode).toBe(ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code);
  });

  it('describes topics in metadata and deletes them', async () => {
    const broker = await start({ nodeId: 7 });
    const connection = await connect(broker);
    await createTopic(connection, 'alpha', 2);
    await createTopic(connection, 'beta', 1);
    const all = await connection.request(API_KEYS.metadata, { topics: [], allTopics: true });
    expect(all.brokers).toEqual([{ nodeId: 7, host: '127.0.0.1', port: broker.address.port }]);
    expect(all.controllerId).toBe(7);
    expect(all.topics.map((t) => t.name)).toEqual(['alpha', 'beta']);
    expect(all.topics[0]?.partitions.map((p) => ({ partition: p.partition, leaderId: p.leaderId, replicas: p.replicas, isr: p.isr }))).toEqual([
      { partition: 0, leaderId: 7, replicas: [7], isr: [7] },
      { partition: 1, leaderId: 7, replicas: [7], isr: [7] },
    ]);
    const some = await connection.request(API_KEYS.metadata, { topics: ['beta', 'gamma', 'bad/name'], allTopics: false });
    expect(some.topics.map((t) => [t.name, t.errorCode])).toEqual([
      ['beta', 0],
      ['gamma', ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code],
      ['bad/name', ERRORS.INVALID_TOPIC_EXCEPTION.code],
    ]);

    await produce(connection, 'alpha', 0, [{ value: 'doomed' }]);
    const deleted = await connection.request(API_KEYS.deleteTopics, { topics: ['alpha', 'missing'], timeoutMs: 5000 });
    expect(deleted.topics.map((t) => [t.name, t.errorCode])).toEqual([
      ['alpha', 0],
      ['missing', ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code],
    ]);
    expect(fs.existsSync(path.join(dataDir, 'alpha-0'))).toBe(false);
    const after = await connection.request(API_KEYS.metadata, { topics: [], allTopics: true });
    expect(after.topics.map((t) => t.name)).toEqual(['beta']);
    const produceDeleted = await produce(connection, 'alpha', 0, [{ value: 'x' }]);
    expect(produceDeleted.topics[0]?.partitions[0]?.errorCode).toBe(ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code);
    // Re-created under the same name, it starts empty.
    await createTopic(connection, 'alpha', 1);
    const fresh = await fetchOne(connection, 'alpha', 0, 0);
    expect(fresh.topics[0]?.partitions[0]?.highWatermark).toBe(0);
  });

  it('answers a fetch parked on a topic that is then deleted', async () => {
    const broker = await start();
    const consumer = await connect(broker);
    const admin = await connect(broker);
    await createTopic(admin, 'short-lived', 1);
    const parked = fetchOne(consumer, 'short-lived', 0, 0, { maxWaitMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await admin.request(API_KEYS.deleteTopics, { topics: ['short-lived'], timeoutMs: 5000 });
    const answer = await parked;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(answer.topics[0]?.partitions[0]?.errorCode).toBe(ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code);
  });

  it('keeps topics, configs and data across a restart on the same data dir', async () => {
    const first = await start();
    let connection = await connect(first);
    await createTopic(connection, 'durable', 2, { 'retention.ms': '3600000', 'flush.policy': 'always' });
    for (let i = 0; i < 5; i++) await produce(connection, 'durable', i % 2, [{ value: `v${i}` }]);
    await connection.close();
    await first.close();
    expect(fs.existsSync(path.join(dataDir, 'durable-0', '.clean-shutdown'))).toBe(true);

    const second = await start();
    connection = await connect(second);
    const metadata = await connection.request(API_KEYS.metadata, { topics: ['durable'], allTopics: false });
    expect(metadata.topics[0]?.partitions).toHaveLength(2);
    expect(second.partitions.topic('durable')?.configs).toEqual({ 'retention.ms': '3600000', 'flush.policy': 'always' });
    expect(recordsOf(await fetchOne(connection, 'durable', 0, 0)).map((r) => r.value)).toEqual(['v0', 'v2', 'v4']);
    expect(recordsOf(await fetchOne(connection, 'durable', 1, 0)).map((r) => r.value)).toEqual(['v1', 'v3']);
    const next = await produce(connection, 'durable', 0, [{ value: 'v5' }]);
    expect(next.topics[0]?.partitions[0]?.baseOffset).toBe(3);
  });

  it('starts with a temporary data dir and removes it on close', async () => {
    const broker = await startBroker({ listen: LISTEN, logger: silentLogger() });
    const dir = broker.dataDir;
    expect(fs.existsSync(dir)).toBe(true);
    const connection = await Connection.connect({ host: broker.address.host, port: broker.address.port, clientId: 'tmp' });
    await createTopic(connection, 'scratch', 1);
    await connection.close();
    await broker.close();
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('assigns contiguous, unique offsets to concurrent producers on many connections', async () => {
    const broker = await start({ defaultTopicConfigs: { 'flush.policy': 'always' } });
    const admin = await connect(broker);
    await createTopic(admin, 'contended', 1);
    const producers = await Promise.all(Array.from({ length: 5 }, () => connect(broker)));
    const results = await Promise.all(
      producers.flatMap((connection, c) =>
        Array.from({ length: 20 }, (_, i) => produce(connection, 'contended', 0, [{ value: `${c}:${i}` }]).then((r) => r.topics[0]?.partitions[0])),
      ),
    );
    expect(results.every((r) => r?.errorCode === 0)).toBe(true);
    expect(results.map((r) => r?.baseOffset).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([...Array(100).keys()]);
    const records = recordsOf(await fetchOne(admin, 'contended', 0, 0));
    expect(records.map((r) => r.offset)).toEqual([...Array(100).keys()]);
    expect(new Set(records.map((r) => r.value)).size).toBe(100);
  });

  it('answers at once when the long-poll purgatory is full', async () => {
    const broker = await start({ maxPendingFetches: 1 });
    const first = await connect(broker);
    const second = await connect(broker);
    await createTopic(first, 'crowded', 1);
    const parked = fetchOne(first, 'crowded', 0, 0, { maxWaitMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(broker.pendingFetches).toBe(1);
    const started = Date.now();
    const immediate = await fetchOne(second, 'crowded', 0, 0, { maxWaitMs: 20_000 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(immediate.topics[0]?.partitions[0]?.errorCode).toBe(0);
    await produce(second, 'crowded', 0, [{ value: 'release' }]);
    expect(recordsOf(await parked)).toHaveLength(1);
  });

  it('answers NOT_LEADER_OR_FOLLOWER with a leader hint for a partition another node leads', async () => {
    const broker = await start();
    const connection = await connect(broker);
    await createTopic(connection, 'elsewhere', 1);
    const partition = broker.partitions.partition('elsewhere', 0);
    // What replication will do when another node wins the election.
    partition?.setLeadership({ leaderId: 5, leaderEpoch: partition.leadership.leaderEpoch, replicas: [0, 5], isr: [5] });
    const produced = (await produce(connection, 'elsewhere', 0, [{ value: 'x' }])).topics[0]?.partitions[0];
    expect([produced?.errorCode, produced?.leaderHint]).toEqual([ERRORS.NOT_LEADER_OR_FOLLOWER.code, 5]);
    const fetched = (await fetchOne(connection, 'elsewhere', 0, 0)).topics[0]?.partitions[0];
    expect([fetched?.errorCode, fetched?.leaderHint]).toEqual([ERRORS.NOT_LEADER_OR_FOLLOWER.code, 5]);
    const listed = (await connection.request(API_KEYS.listOffsets, { topics: [{ name: 'elsewhere', partitions: [{ partition: 0, timestamp: -1 }] }] })).topics[0]?.partitions[0];
    expect([listed?.errorCode, listed?.leaderHint]).toEqual([ERRORS.NOT_LEADER_OR_FOLLOWER.code, 5]);
    const metadata = await connection.request(API_KEYS.metadata, { topics: ['elsewhere'], allTopics: false });
    expect(metadata.topics[0]?.partitions[0]?.leaderId).toBe(5);
  });

  it('counts requests per api and bytes in and out', async () => {
    const broker = await start();
    const connection = await connect(broker);
    await connection.request(API_KEYS.apiVersions, {});
    await connection.request(API_KEYS.metadata, { topics: [], allTopics: true });
    await connection.request(API_KEYS.metadata, { topics: [], allTopics: true });
    const stats = broker.stats.snapshot();
    expect(stats.apis[API_KEYS.metadata]?.requests).toBe(2);
    expect(stats.apis[API_KEYS.apiVersions]?.requests).toBe(1);
    expect(stats.bytesIn).toBeGreaterThan(0);
    expect(stats.bytesOut).toBeGreaterThan(0);
    expect(stats.connectionsOpen).toBe(1);
  });
});
