// Method: starts a real broker on a free port with a temp data dir and drives the admin client
// against it: topics are created, listed, described (leaders, replicas, log start / high watermark /
// log end after producing) and deleted, and each failure comes back as a StrataError with its code.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, startBroker, type Broker } from '../broker/index.js';
import { Client, StrataError } from '../client/index.js';

let broker: Broker;
let client: Client;

beforeAll(async () => {
  broker = await startBroker({ listen: { host: '127.0.0.1', port: 0 }, logger: silentLogger() });
  client = new Client({ brokers: [`${broker.address.host}:${broker.address.port}`], retry: { retries: 2, initialRetryTimeMs: 20 } });
});

afterAll(async () => {
  await client?.close();
  await broker?.close();
});

async function rejection(promise: Promise<unknown>): Promise<StrataError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(StrataError);
  return error as StrataError;
}

describe('admin', () => {
  it('creates, lists, describes and deletes topics', async () => {
    const admin = client.admin();
    expect(await admin.createTopics({ topics: [{ topic: 'admin-a', numPartitions: 3 }, { topic: 'admin-b', numPartitions: 1, configs: { 'retention.ms': '60000' } }] })).toBe(true);
    // Creating it again is not an error, but says so.
    expect(await admin.createTopics({ topics: [{ topic: 'admin-a', numPartitions: 3 }] })).toBe(false);
    expect(await admin.listTopics()).toEqual(expect.arrayContaining(['admin-a', 'admin-b']));

    const producer = client.producer({ acks: 1 });
    await producer.send({ topic: 'admin-a', messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, partition: 1 })) });
    await producer.close();

    const { topics } = await admin.describeTopics({ topics: ['admin-a'] });
    expect(topics).toHaveLength(1);
    const [topic] = topics;
    expect(topic!.name).toBe('admin-a');
    expect(topic!.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    for (const p of topic!.partitions) {
      expect(p.leader).toBe(broker.nodeId);
      expect(p.replicas).toEqual([broker.nodeId]);
      expect(p.logStartOffset).toBe(0);
      const end = p.partition === 1 ? 10 : 0;
      expect(p.highWatermark).toBe(end);
      expect(p.logEndOffset).toBe(end);
    }

    const latest = await admin.listOffsets({ topic: 'admin-a' });
    expect(latest.map((o) => [o.partition, o.offset])).toEqual([[0, 0], [1, 10], [2, 0]]);
    const earliest = await admin.listOffsets({ topic: 'admin-a', timestamp: 'earliest' });
    expect(earliest.map((o) => o.offset)).toEqual([0, 0, 0]);

    await admin.deleteTopics({ topics: ['admin-a', 'admin-b'] });
    const after = await admin.listTopics();
    expect(after).not.toContain('admin-a');
    expect(after).not.toContain('admin-b');
    await admin.close();
  });

  it('lists offsets by timestamp', async () => {
    const admin = client.admin();
    await admin.createTopics({ topics: [{ topic: 'admin-ts', numPartitions: 1 }] });
    const producer = client.producer({ acks: 1 });
    await producer.send({ topic: 'admin-ts', messages: [1000, 2000, 3000].map((timestamp) => ({ value: String(timestamp), timestamp })) });
    await producer.close();
    expect((await admin.listOffsets({ topic: 'admin-ts', timestamp: 1500 }))[0]).toMatchObject({ partition: 0, offset: 1 });
    expect((await admin.listOffsets({ topic: 'admin-ts', timestamp: 3000 }))[0]).toMatchObject({ partition: 0, offset: 2, timestamp: 3000 });
    // After every record: the log end offset.
    expect((await admin.listOffsets({ topic: 'admin-ts', timestamp: 9999 }))[0]).toMatchObject({ partition: 0, offset: 3 });
    await admin.close();
  });

  it('rejects bad requests with the protocol codes', async () => {
    const admin = client.admin();
    expect((await rejection(admin.createTopics({ topics: [{ topic: 'bad/name', numPartitions: 1 }] }))).errorName).toBe('INVALID_TOPIC_EXCEPTION');
    expect((await rejection(admin.createTopics({ topics: [{ topic: 'zero', numPartitions: 0 }] }))).errorName).toBe('INVALID_PARTITIONS');
    expect((await rejection(admin.deleteTopics({ topics: ['never-created'] }))).errorName).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect((await rejection(admin.describeTopics({ topics: ['never-created'] }))).errorName).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    // validateOnly checks without creating.
    expect(await admin.createTopics({ topics: [{ topic: 'only-validated', numPartitions: 2 }], validateOnly: true })).toBe(true);
    expect(await admin.listTopics()).not.toContain('only-validated');
    await admin.close();
  });

  it('fails to connect with NETWORK_EXCEPTION when no broker listens', async () => {
    const lonely = new Client({ brokers: ['127.0.0.1:1'], retry: { retries: 1, initialRetryTimeMs: 10 } });
    expect((await rejection(lonely.admin().listTopics())).errorName).toBe('NETWORK_EXCEPTION');
    await lonely.close();
  });
});
