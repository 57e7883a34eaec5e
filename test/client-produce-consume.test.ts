// Method: starts a real broker on a free port with a temp data dir and drives it only through the
// client library (Client, producer, consumer, admin): messages produced are read back and checked
// against what was sent — partition by key (murmur2), offsets 0..n-1 per partition, order, and the
// exact suffix each kind of seek must give.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, startBroker, type Broker } from '../broker/index.js';
import { Client, partitionForKey, StrataError, type Consumer, type ConsumerMessage } from '../client/index.js';

let broker: Broker;
let client: Client;

beforeAll(async () => {
  broker = await startBroker({ listen: { host: '127.0.0.1', port: 0 }, logger: silentLogger() });
  client = new Client({ brokers: [`${broker.address.host}:${broker.address.port}`], clientId: 'client-e2e', retry: { retries: 3, initialRetryTimeMs: 50 } });
});

afterAll(async () => {
  await client?.close();
  await broker?.close();
});

let topicCounter = 0;
async function createTopic(numPartitions: number): Promise<string> {
  const topic = `t${process.pid}-${++topicCounter}`;
  const admin = client.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions }] });
  await admin.close();
  return topic;
}

/** Reads `count` messages from a consumer with for-await, failing after `timeoutMs`. */
async function take(consumer: Consumer, count: number, timeoutMs = 20_000): Promise<ConsumerMessage[]> {
  const messages: ConsumerMessage[] = [];
  if (count === 0) return messages;
  const timer = setTimeout(() => void consumer.stop(), timeoutMs);
  try {
    for await (const message of consumer) {
      messages.push(message);
      if (messages.length >= count) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return messages;
}

/** Waits `ms` and returns whatever the consumer delivers meanwhile (to prove nothing more comes). */
async function drainFor(consumer: Consumer, ms: number): Promise<ConsumerMessage[]> {
  const messages: ConsumerMessage[] = [];
  const timer = setTimeout(() => void consumer.stop(), ms);
  for await (const message of consumer) messages.push(message);
  clearTimeout(timer);
  return messages;
}

describe.each([
  { acks: 1 as const, compression: 'none' as const },
  { acks: 1 as const, compression: 'lz4' as const },
  { acks: 'all' as const, compression: 'lz4' as const },
])('10,000 keyed messages over 3 partitions (acks $acks, $compression)', ({ acks, compression }) => {
  it('come back on the partitions murmur2 picks, at offsets 0..n-1, in order', async () => {
    const topic = await createTopic(3);
    const producer = client.producer({ acks, compression });
    const count = 10_000;
    const messages = Array.from({ length: count }, (_, i) => ({ key: `key-${i % 997}`, value: `value-${i}` }));
    // Several concurrent sends, as an application would issue them.
    const chunks = [];
    for (let i = 0; i < count; i += 1000) chunks.push(producer.send({ topic, messages: messages.slice(i, i + 1000) }));
    const results = (await Promise.all(chunks)).flat();
    expect(results).toHaveLength(count);
    results.forEach((result, i) => {
      expect(result.topic).toBe(topic);
      expect(result.partition).toBe(partitionForKey(messages[i]!.key, 3));
    });
    // Offsets per partition are 0..n-1, assigned in send order.
    for (const partition of [0, 1, 2]) {
      const offsets = results.filter((r) => r.partition === partition).map((r) => r.offset);
      expect(offsets).toEqual(offsets.map((_, i) => i));
    }
    await producer.close();

    const consumer = client.consumer({ initialOffset: 'earliest', maxBytesPerPartition: 64 * 1024 });
    await consumer.assign({ topic });
    const received = await take(consumer, count);
    await consumer.close();
    expect(received).toHaveLength(count);
    const byPartition = new Map<number, ConsumerMessage[]>();
    for (const m of received) byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), m]);
    for (const partition of [0, 1, 2]) {
      const got = byPartition.get(partition) ?? [];
      expect(got.map((m) => m.offset)).toEqual(got.map((_, i) => i));
      const sent = messages.filter((m) => partitionForKey(m.key, 3) === partition);
      expect(got.map((m) => [m.key?.toString(), m.value?.toString()])).toEqual(sent.map((m) => [m.key, m.value]));
    }
  });
});

describe('consumer positioning', () => {
  it('seek to earliest, latest, an offset and a timestamp gives exactly the expected suffix', async () => {
    const topic = await createTopic(1);
    const producer = client.producer({ acks: 1, lingerMs: 0 });
    const base = Date.now() - 100_000;
    // 100 messages, timestamps base + 1000 * i, in a few batches.
    for (let i = 0; i < 100; i += 25) {
      await producer.send({ topic, messages: Array.from({ length: 25 }, (_, j) => ({ value: `m${i + j}`, timestamp: base + 1000 * (i + j) })) });
    }
    await producer.close();
    const values = (ms: ConsumerMessage[]) => ms.map((m) => m.value?.toString());
    const expected = (from: number) => Array.from({ length: 100 - from }, (_, i) => `m${from + i}`);

    const consumer = client.consumer({ maxWaitMs: 100 });
    await consumer.assign([{ topic, partition: 0 }]);

    consumer.seek({ topic, partition: 0, offset: 'earliest' });
    expect(values(await take(consumer, 100))).toEqual(expected(0));

    // An offset inside a batch: the batch's head is skipped.
    consumer.seek({ topic, partition: 0, offset: 37 });
    const fromOffset = await take(consumer, 63);
    expect(values(fromOffset)).toEqual(expected(37));
    expect(fromOffset[0]!.offset).toBe(37);

    consumer.seekToTimestamp({ topic, partition: 0, timestamp: base + 1000 * 62 - 500 });
    expect(values(await take(consumer, 38))).toEqual(expected(62));
    expect(consumer.position({ topic, partition: 0 })).toBe(100);

    // A timestamp after every record: positioned at the end, nothing to read.
    consumer.seekToTimestamp({ topic, partition: 0, timestamp: Date.now() + 3_600_000 });
    expect(await drainFor(consumer, 300)).toEqual([]);

    consumer.seek({ topic, partition: 0, offset: 'latest' });
    expect(await drainFor(consumer, 300)).toEqual([]);
    // After latest, only what is produced next arrives.
    const later = client.producer({ acks: 1 });
    await later.send({ topic, messages: [{ value: 'after-latest' }] });
    await later.close();
    const [next] = await take(consumer, 1);
    expect(next!.offset).toBe(100);
    expect(next!.value?.toString()).toBe('after-latest');
    await consumer.close();
  });

  it('surfaces OFFSET_OUT_OF_RANGE instead of resetting, and recovers after a seek', async () => {
    const topic = await createTopic(1);
    const producer = client.producer({ acks: 1 });
    await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] });
    await producer.close();
    const consumer = client.consumer({ maxWaitMs: 100 });
    await consumer.assign([{ topic, partition: 0 }]);
    consumer.seek({ topic, partition: 0, offset: 50 });
    const error = await take(consumer, 1).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(StrataError);
    expect((error as StrataError).errorName).toBe('OFFSET_OUT_OF_RANGE');
    consumer.seek({ topic, partition: 0, offset: 1 });
    expect((await take(consumer, 1)).map((m) => m.value?.toString())).toEqual(['b']);
    await consumer.close();
  });

  it('run({ eachMessage }) and run({ eachBatch }) deliver in order until stop()', async () => {
    const topic = await createTopic(2);
    const producer = client.producer({ acks: 1 });
    await producer.send({ topic, messages: Array.from({ length: 200 }, (_, i) => ({ value: String(i), partition: i % 2 })) });
    await producer.close();

    const consumer = client.consumer({ initialOffset: 'earliest', maxWaitMs: 100 });
    await consumer.assign({ topic });
    const seen: Array<[number, number]> = [];
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.push([partition, message.offset]);
        if (seen.length === 200) await consumer.stop();
      },
    });
    for (const partition of [0, 1]) expect(seen.filter(([p]) => p === partition).map(([, o]) => o)).toEqual(Array.from({ length: 100 }, (_, i) => i));

    for (const partition of [0, 1]) consumer.seek({ topic, partition, offset: 'earliest' });
    let total = 0;
    await consumer.run({
      eachBatch: async ({ batch }) => {
        expect(batch.highWatermark).toBe(100);
        total += batch.messages.length;
        if (total === 200) await consumer.stop();
      },
    });
    expect(total).toBe(200);
    await consumer.close();
  });

  it('pause holds a partition back and resume releases it', async () => {
    const topic = await createTopic(2);
    const producer = client.producer({ acks: 1 });
    await producer.send({ topic, messages: Array.from({ length: 20 }, (_, i) => ({ value: String(i), partition: i % 2 })) });
    await producer.close();
    const consumer = client.consumer({ initialOffset: 'earliest', maxWaitMs: 100 });
    await consumer.assign({ topic });
    consumer.pause([{ topic, partition: 1 }]);
    const first = await drainFor(consumer, 500);
    expect(first.map((m) => m.partition)).toEqual(Array(10).fill(0));
    consumer.resume([{ topic, partition: 1 }]);
    const rest = await take(consumer, 10);
    expect(rest.map((m) => m.partition)).toEqual(Array(10).fill(1));
    await consumer.close();
  });
});

describe('producer', () => {
  it('acks=0 returns offsets of -1 and the data arrives', async () => {
    const topic = await createTopic(3);
    const producer = client.producer({ acks: 0 });
    const results = await producer.send({ topic, messages: Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
    expect(results.map((r) => r.offset)).toEqual(Array(300).fill(-1));
    results.forEach((r, i) => expect(r.partition).toBe(partitionForKey(`k${i}`, 3)));
    await producer.close();
    const consumer = client.consumer({ initialOffset: 'earliest', maxWaitMs: 100 });
    await consumer.assign({ topic });
    const received = await take(consumer, 300);
    expect(received.map((m) => m.value?.toString()).sort()).toEqual(Array.from({ length: 300 }, (_, i) => `v${i}`).sort());
    await consumer.close();
  });

  it('sends keyless messages to one partition per batch (sticky) and headers round-trip', async () => {
    const topic = await createTopic(4);
    const producer = client.producer({ acks: 1, lingerMs: 50 });
    const results = await producer.send({ topic, messages: Array.from({ length: 50 }, (_, i) => ({ value: `v${i}`, headers: { n: String(i) } })) });
    expect(new Set(results.map((r) => r.partition)).size).toBe(1);
    await producer.close();
    const consumer = client.consumer({ initialOffset: 'earliest', maxWaitMs: 100 });
    await consumer.assign({ topic });
    const received = await take(consumer, 50);
    expect(received.map((m) => m.headers['n']?.toString())).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    await consumer.close();
  });

  it('rejects a send to an unknown topic with UNKNOWN_TOPIC_OR_PARTITION at once', async () => {
    const producer = client.producer();
    const started = Date.now();
    const error = await producer.send({ topic: 'no-such-topic', messages: [{ value: 'x' }] }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(StrataError);
    expect((error as StrataError).errorName).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    // The broker's "no such topic" is final: no backoff (retries: 3 from 50 ms would take 350 ms).
    expect(Date.now() - started).toBeLessThan(200);
    await producer.close();
  });

  it('rejects an explicit partition that does not exist, before appending anything', async () => {
    const topic = await createTopic(1);
    const producer = client.producer();
    await expect(producer.send({ topic, messages: [{ value: 'ok' }, { value: 'bad', partition: 5 }] })).rejects.toThrow(RangeError);
    await producer.close();
  });

  it('flush sends lingering batches at once', async () => {
    const topic = await createTopic(1);
    const producer = client.producer({ acks: 1, lingerMs: 60_000 });
    const sending = producer.send({ topic, messages: [{ value: 'lingering' }] });
    await producer.flush();
    expect(await sending).toEqual([{ topic, partition: 0, offset: 0 }]);
    await producer.close();
  });
});
