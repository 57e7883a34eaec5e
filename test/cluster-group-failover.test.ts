// Method: a three-broker cluster in this process. A group member consumes half of a topic and
// commits; the broker coordinating the group (the leader of its `__consumer_offsets` partition) is
// then stopped without hand-off. A commit is answered only once a majority holds it, so the new
// coordinator must load every committed offset: a new member of the group starts exactly there, and
// the two members together see every record (at-least-once, nothing skipped).
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger, startCluster, type EmbeddedCluster } from '../broker/index.js';
import { Client } from '../client/index.js';

let cluster: EmbeddedCluster | undefined;
let client: Client | undefined;

afterEach(async () => {
  await client?.close();
  await cluster?.close();
  client = cluster = undefined;
});

const PARTITIONS = 3;
const PER_PARTITION = 60;

describe('group coordinator failover', () => {
  it('a new coordinator loads the committed offsets and the group resumes exactly there', async () => {
    cluster = await startCluster({ nodes: 3, brokerOptions: { logger: silentLogger(), raftTickMs: 50, offsetsTopicPartitions: 3 } });
    await cluster.waitForController();
    client = new Client({ brokers: [...cluster.bootstrap], clientId: 'group-failover', retry: { retries: 30, initialRetryTimeMs: 50, maxRetryTimeMs: 500 } });
    const admin = client.admin();
    await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: PARTITIONS, replicationFactor: 3 }] });
    const producer = client.producer({ acks: 'all' });
    for (let p = 0; p < PARTITIONS; p++) {
      await producer.send({ topic: 'orders', messages: Array.from({ length: PER_PARTITION }, (_, i) => ({ partition: p, value: `${p}-${i}` })) });
    }
    await producer.close();

    const seen = new Set<string>();
    const first = client.consumer({ groupId: 'billing' });
    await first.subscribe({ topics: ['orders'], fromBeginning: true });
    for await (const message of first) {
      seen.add(message.value!.toString());
      if (seen.size === (PARTITIONS * PER_PARTITION) / 2) break;
    }
    await first.close(); // commits what the loop finished, then leaves
    const committed = await admin.fetchOffsets({ groupId: 'billing', topics: ['orders'] });
    expect(committed.reduce((sum, o) => sum + Math.max(0, o.committedOffset), 0)).toBeGreaterThan(0);

    const coordinator = (await client.cluster.findGroupCoordinator('billing')).nodeId;
    await cluster.killBroker(coordinator);

    // The new coordinator answers with the same committed offsets.
    expect(await admin.fetchOffsets({ groupId: 'billing', topics: ['orders'] })).toEqual(committed);
    expect((await client.cluster.findGroupCoordinator('billing')).nodeId).not.toBe(coordinator);

    const firstOffsets = new Map<number, number>();
    const second = client.consumer({ groupId: 'billing' });
    await second.subscribe({ topics: ['orders'], fromBeginning: true });
    const rest = new Set<string>();
    for await (const message of second) {
      if (!firstOffsets.has(message.partition)) firstOffsets.set(message.partition, message.offset);
      rest.add(message.value!.toString());
      if (new Set([...seen, ...rest]).size === PARTITIONS * PER_PARTITION) break;
    }
    await second.close();
    // Resumed at the committed offsets: nothing before them read again (replicated partitions have
    // a leader-change batch at their start, so the first record may sit past the committed offset).
    for (const { partition, committedOffset } of committed) {
      const start = firstOffsets.get(partition);
      if (start !== undefined) expect(start, `partition ${partition}`).toBeGreaterThanOrEqual(committedOffset);
    }
    expect(new Set([...seen, ...rest]).size).toBe(PARTITIONS * PER_PARTITION);
    const after = await admin.fetchOffsets({ groupId: 'billing', topics: ['orders'] });
    expect(after.every((o, i) => o.committedOffset >= committed[i]!.committedOffset)).toBe(true);
    await admin.close();
  });
});
