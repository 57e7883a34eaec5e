// Method: a real broker is stopped and started again on the same port and data dir while a producer
// and a consumer of one Client are in use; both must reconnect (with backoff) and carry on, the
// consumer resuming at its position with nothing lost or repeated.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { silentLogger, startBroker, type Broker } from '../broker/index.js';
import { Client, type ConsumerMessage } from '../client/index.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-client-reconnect-'));
let broker: Broker | undefined;
let client: Client | undefined;

afterAll(async () => {
  await client?.close();
  await broker?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

it('producer and consumer survive a broker restart', async () => {
  broker = await startBroker({ dataDir, listen: { host: '127.0.0.1', port: 0 }, http: null, logger: silentLogger(), shutdownGraceMs: 200 });
  const { port } = broker.address;
  client = new Client({ brokers: [`127.0.0.1:${port}`], retry: { retries: 8, initialRetryTimeMs: 50, maxRetryTimeMs: 1000 } });
  await client.admin().createTopics({ topics: [{ topic: 'restart', numPartitions: 2 }] });
  const producer = client.producer({ acks: 1 });
  await producer.send({ topic: 'restart', messages: Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: `before-${i}` })) });

  const consumer = client.consumer({ initialOffset: 'earliest', maxWaitMs: 100 });
  await consumer.assign({ topic: 'restart' });
  const received: ConsumerMessage[] = [];
  const iterator = consumer[Symbol.asyncIterator]();
  while (received.length < 100) received.push((await iterator.next()).value as ConsumerMessage);

  await broker.close();
  broker = undefined;
  // Sends made while the broker is down are retried until it is back.
  const sending = producer.send({ topic: 'restart', messages: Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: `after-${i}` })) });
  await new Promise((resolve) => setTimeout(resolve, 300));
  broker = await startBroker({ dataDir, listen: { host: '127.0.0.1', port }, http: null, logger: silentLogger(), shutdownGraceMs: 200 });
  const results = await sending;
  expect(results).toHaveLength(100);

  while (received.length < 200) received.push((await iterator.next()).value as ConsumerMessage);
  for (const partition of [0, 1]) {
    const offsets = received.filter((m) => m.partition === partition).map((m) => m.offset);
    expect(offsets).toEqual(offsets.map((_, i) => i));
  }
  expect(received.filter((m) => m.value?.toString().startsWith('after-'))).toHaveLength(100);
  await consumer.close();
  await producer.close();
});
