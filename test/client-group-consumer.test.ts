// Method: a real broker in-process (free port) driven only through the client library: group
// consumers share a 6-partition topic while the test watches each member's assignment; checks that
// every produced record is consumed, that no partition ever has two owners at once, that a join or a
// leave moves partitions (and only the ones that must move), and that committed offsets are where
// a new member of the group resumes after the previous one closed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, startBroker, type Broker } from '../broker/index.js';
import { Client, type Consumer, type TopicPartition } from '../client/index.js';

let broker: Broker;
let client: Client;

beforeAll(async () => {
  broker = await startBroker({ listen: { host: '127.0.0.1', port: 0 }, logger: silentLogger() });
  client = new Client({ brokers: [`${broker.address.host}:${broker.address.port}`], clientId: 'group-e2e', retry: { retries: 5, initialRetryTimeMs: 50 } });
});

afterAll(async () => {
  await client?.close();
  await broker?.close();
});

let counter = 0;
async function createTopic(numPartitions: number): Promise<string> {
  const topic = `g${process.pid}-${++counter}`;
  const admin = client.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions }] });
  await admin.close();
  return topic;
}

/** Produces `perPartition` records to each partition; values are `p-offset`. */
async function fill(topic: string, partitions: number, perPartition: number): Promise<void> {
  const producer = client.producer({ acks: 1 });
  const sends = [];
  for (let p = 0; p < partitions; p++) {
    sends.push(producer.send({ topic, messages: Array.from({ length: perPartition }, (_, i) => ({ partition: p, value: `${p}-${i}` })) }));
  }
  await Promise.all(sends);
  await producer.close();
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const names = (tps: TopicPartition[]) => tps.map((tp) => tp.partition).sort((a, b) => a - b);

/** Every partition has at most one owner among `consumers` (checked on every call). */
function checkSingleOwners(consumers: Consumer[]): void {
  const seen = new Set<number>();
  for (const consumer of consumers) {
    for (const { partition } of consumer.assignment()) {
      expect(seen.has(partition), `partition ${partition} owned twice`).toBe(false);
      seen.add(partition);
    }
  }
}

describe('group consumers against a real broker', () => {
  it('two members share a 6-partition topic: every record consumed, one owner per partition', async () => {
    const topic = await createTopic(6);
    await fill(topic, 6, 200);
    const consumed = new Map<string, number>();
    const consumers = [1, 2].map(() => client.consumer({ groupId: `${topic}-a`, maxWaitMs: 100 }));
    const owners = setInterval(() => checkSingleOwners(consumers), 5);
    const runs = consumers.map(async (consumer) => {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachMessage: ({ partition, message }) => {
          const key = `${partition}-${message.offset}`;
          consumed.set(key, (consumed.get(key) ?? 0) + 1);
        },
      });
    });
    await until(() => consumed.size === 1200);
    await until(() => consumers.every((c) => c.assignment().length === 3));
    clearInterval(owners);
    checkSingleOwners(consumers);
    expect(names([...consumers[0]!.assignment(), ...consumers[1]!.assignment()])).toEqual([0, 1, 2, 3, 4, 5]);
    for (const consumer of consumers) await consumer.stop();
    await Promise.all(runs);
    await Promise.all(consumers.map((c) => c.close()));
  });

  it('a join moves only the partitions that must move, a leave gives them back quickly', async () => {
    const topic = await createTopic(6);
    const group = `${topic}-b`;
    const first = client.consumer({ groupId: group });
    await first.subscribe({ topics: [topic] });
    await until(() => first.assignment().length === 6);
    const second = client.consumer({ groupId: group });
    const joinedAt = Date.now();
    await second.subscribe({ topics: [topic] });
    await until(() => first.assignment().length === 3 && second.assignment().length === 3);
    const rebalanceMs = Date.now() - joinedAt;
    checkSingleOwners([first, second]);
    // Three moved to the new member, the first kept the other three.
    expect(names([...first.assignment(), ...second.assignment()])).toEqual([0, 1, 2, 3, 4, 5]);
    expect(rebalanceMs).toBeLessThan(5000);
    const leftAt = Date.now();
    await second.close();
    await until(() => first.assignment().length === 6);
    // A leave is a heartbeat with epoch -1: no session timeout to wait for.
    expect(Date.now() - leftAt).toBeLessThan(3000);
    await first.close();
  });

  it('committed offsets are where the group resumes after a member closed', async () => {
    const topic = await createTopic(6);
    await fill(topic, 6, 50);
    const group = `${topic}-c`;
    const firstSeen: string[] = [];
    const first = client.consumer({ groupId: group });
    await first.subscribe({ topics: [topic], fromBeginning: true });
    for await (const message of first) {
      firstSeen.push(`${message.partition}-${message.offset}`);
      if (firstSeen.length === 120) break;
    }
    await first.close(); // commits what the loop finished (all 120), then leaves

    const secondSeen: string[] = [];
    const second = client.consumer({ groupId: group });
    await second.subscribe({ topics: [topic], fromBeginning: true });
    for await (const message of second) {
      secondSeen.push(`${message.partition}-${message.offset}`);
      if (firstSeen.length + secondSeen.length === 300) break;
    }
    // Exactly once here: the first member closed cleanly, so nothing after its commit was lost or repeated.
    const all = new Set([...firstSeen, ...secondSeen]);
    expect(all.size).toBe(300);
    expect(secondSeen.filter((k) => firstSeen.includes(k))).toEqual([]);
    await second.commit();
    await second.close();

    // Explicit commits: rewind partition 0 to offset 10 and a new member starts there.
    const third = client.consumer({ groupId: group, autoCommit: false });
    await third.subscribe({ topics: [topic] });
    await until(() => third.assignment().length === 6);
    await third.commit([{ topic, partition: 0, offset: 10 }]);
    await third.close();
    const fourth = client.consumer({ groupId: group });
    await fourth.subscribe({ topics: [topic] });
    const iterator = fourth[Symbol.asyncIterator]();
    const next = (await iterator.next()).value as { partition: number; offset: number };
    expect(next).toMatchObject({ partition: 0, offset: 10 });
    await fourth.close();
  });
});
