// Method: a real broker over a raw protocol connection: InitProducerId, then hand-built producer
// batches (encodeBatch with id, epoch and sequence) that are in order, retried, out of order, from an
// old epoch or an unknown producer; each answer's code and offset is checked, the log end shows that
// nothing was appended for a refused batch, and a normal produce still works after every refusal.
// Then the client against a broker that expires producer ids within a cleanup pass.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, startBroker, type Broker } from '../broker/index.js';
import { Client } from '../client/index.js';
import { API_KEYS, Connection, ERRORS } from '../client/protocol/index.js';
import { encodeBatch } from '../log/index.js';

let broker: Broker;
let connection: Connection;
const TOPIC = 'idem';

beforeAll(async () => {
  broker = await startBroker({ logger: silentLogger(), http: null });
  connection = await Connection.connect({ host: broker.address.host, port: broker.address.port, clientId: 'idem' });
  const created = await connection.request(API_KEYS.createTopics, { topics: [{ name: TOPIC, partitions: 1, replicationFactor: 1, configs: {} }], timeoutMs: 5000, validateOnly: false });
  expect(created.topics[0]?.errorCode).toBe(0);
});

afterAll(async () => {
  await connection?.close();
  await broker?.close();
});

function batch(producerId: number, epoch: number, firstSeq: number, records = 2): Buffer {
  return encodeBatch(Array.from({ length: records }, (_, i) => ({ value: `p${producerId}-e${epoch}-s${firstSeq + i}` })), { producerId, producerEpoch: epoch, baseSequence: firstSeq });
}

async function produce(records: Buffer): Promise<{ errorCode: number; baseOffset: number; errorMessage: string }> {
  const response = await connection.request(API_KEYS.produce, { acks: -1, timeoutMs: 5000, topics: [{ name: TOPIC, partitions: [{ partition: 0, records }] }] });
  return response.topics[0]!.partitions[0]!;
}

async function logEnd(): Promise<number> {
  const response = await connection.request(API_KEYS.listOffsets, { topics: [{ name: TOPIC, partitions: [{ partition: 0, timestamp: -1 }] }] });
  return response.topics[0]!.partitions[0]!.offset;
}

async function initProducerId(producerId = -1, producerEpoch = -1): Promise<{ errorCode: number; producerId: number; producerEpoch: number }> {
  return connection.request(API_KEYS.initProducerId, { transactionalId: '', transactionTimeoutMs: 0, producerId, producerEpoch });
}

describe('the idempotent producer at the broker', () => {
  it('gives distinct producer ids and bumps an epoch on request', async () => {
    const a = await initProducerId();
    const b = await initProducerId();
    expect(a).toMatchObject({ errorCode: 0, producerEpoch: 0 });
    expect(b.producerId).not.toBe(a.producerId);
    expect(await initProducerId(a.producerId, 0)).toMatchObject({ errorCode: 0, producerId: a.producerId, producerEpoch: 1 });
    expect((await initProducerId(a.producerId, -1)).errorCode).toBe(ERRORS.INVALID_REQUEST.code);
    // A transactional id goes to its transaction coordinator (test/broker-transactions.test.ts).
    const transactional = await connection.request(API_KEYS.initProducerId, { transactionalId: 'tx', transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
    expect(transactional).toMatchObject({ errorCode: 0, producerEpoch: 0 });
  });

  it('appends in order, answers a retry with its first offset, and refuses bad sequences and epochs without appending', async () => {
    const { producerId } = await initProducerId();
    const first = await produce(batch(producerId, 0, 0));
    const second = await produce(batch(producerId, 0, 2));
    expect([first.errorCode, second.errorCode]).toEqual([0, 0]);
    const end = await logEnd();
    // A retry of either of them: the original offsets, nothing appended.
    expect(await produce(batch(producerId, 0, 0))).toMatchObject({ errorCode: 0, baseOffset: first.baseOffset });
    expect(await produce(batch(producerId, 0, 2))).toMatchObject({ errorCode: 0, baseOffset: second.baseOffset });
    expect(await logEnd()).toBe(end);

    const refusals: Array<[string, Buffer, number]> = [
      ['a gap', batch(producerId, 0, 5), ERRORS.OUT_OF_ORDER_SEQUENCE_NUMBER.code],
      ['an overlap', batch(producerId, 0, 1), ERRORS.OUT_OF_ORDER_SEQUENCE_NUMBER.code],
      ['a new epoch not at 0', batch(producerId, 1, 4), ERRORS.OUT_OF_ORDER_SEQUENCE_NUMBER.code],
      ['an unknown producer past 0', batch(producerId + 1024 * 1000, 0, 7), ERRORS.UNKNOWN_PRODUCER_ID.code],
      ['two producer batches at once', Buffer.concat([batch(producerId, 0, 4), batch(producerId, 0, 6)]), ERRORS.INVALID_RECORD.code],
    ];
    for (const [what, records, code] of refusals) {
      const before = await logEnd();
      const result = await produce(records);
      expect(result.errorCode, what).toBe(code);
      expect(result.baseOffset, what).toBe(-1);
      expect(result.errorMessage.length, what).toBeGreaterThan(0);
      expect(await logEnd(), what).toBe(before);
      // The broker keeps serving: a plain batch appends.
      expect((await produce(encodeBatch([{ value: `after ${what}` }]))).errorCode, what).toBe(0);
    }
    const afterPlain = await logEnd();
    // The bumped epoch starts at 0; the old epoch is fenced from then on.
    expect((await produce(batch(producerId, 1, 0))).errorCode).toBe(0);
    const fenced = await produce(batch(producerId, 0, 4));
    expect(fenced.errorCode).toBe(ERRORS.INVALID_PRODUCER_EPOCH.code);
    expect(await logEnd()).toBe(afterPlain + 2);
  });
});

describe('an idle producer whose state expired', () => {
  it('gets UNKNOWN_PRODUCER_ID, bumps its epoch, says so, and re-sends from sequence 0 without losing or doubling a record', async () => {
    const expiring = await startBroker({ logger: silentLogger(), http: null, logCleanupIntervalMs: 50 });
    try {
      const client = new Client({ brokers: [`${expiring.address.host}:${expiring.address.port}`] });
      await client.admin().createTopics({ topics: [{ topic: 'expiring', numPartitions: 1, configs: { 'producer.id.expiration.ms': '1' } }] });
      const bumps: string[] = [];
      const producer = client.producer({ onEpochBump: (event) => bumps.push(event.reason) });
      const first = await producer.send({ topic: 'expiring', messages: [{ value: 'a' }, { value: 'b' }] });
      // The cleanup pass forgets the producer (idle for more than 1 ms).
      const partition = expiring.partitions.partition('expiring', 0)!;
      const deadline = Date.now() + 10_000;
      while (partition.log.producerCount > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(partition.log.producerCount).toBe(0);
      const second = await producer.send({ topic: 'expiring', messages: [{ value: 'c' }] });
      expect(first.map((m) => m.offset)).toEqual([0, 1]);
      expect(second.map((m) => m.offset)).toEqual([2]);
      expect(bumps).toHaveLength(1);
      expect(bumps[0]).toMatch(/UNKNOWN_PRODUCER_ID|no state for this producer/);
      expect(producer.epochBumps).toBe(1);
      expect(partition.logEndOffset).toBe(3);
      await client.close();
    } finally {
      await expiring.close();
    }
  });
});
