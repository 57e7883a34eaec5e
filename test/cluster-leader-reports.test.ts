// Method: three brokers in this process and a topic with two replicas per partition, so one broker
// hosts no copy of each partition. Leadership of every partition is moved to its second replica
// (not the first, which a broker without the metadata would guess); then a client that asks only
// the broker hosting no copy must be told the real leader and epoch, from the leaders' reports.
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger, startCluster, type EmbeddedCluster } from '../broker/index.js';
import { Client } from '../client/index.js';
import { waitUntil } from './fixtures/wait-until.js';

let cluster: EmbeddedCluster | undefined;
const clients: Client[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await cluster?.close();
  cluster = undefined;
});

describe('partition leader reports', () => {
  it('a broker that hosts no copy of a partition names its real leader', async () => {
    cluster = await startCluster({ nodes: 3, brokerOptions: { logger: silentLogger(), raftTickMs: 50 } });
    const running = cluster;
    await running.waitForController();
    const admin = new Client({ brokers: [...running.bootstrap], clientId: 'reports-admin', retry: { retries: 20, initialRetryTimeMs: 50, maxRetryTimeMs: 500 } });
    clients.push(admin);
    const topicAdmin = admin.admin();
    await topicAdmin.createTopics({ topics: [{ topic: 'pairs', numPartitions: 3, replicationFactor: 2 }] });
    await topicAdmin.close();
    const image = running.broker(1)!.cluster!.quorum.image;
    await waitUntil(() => image.topic('pairs') !== undefined, 'the topic in the metadata');
    const replicas = image.topic('pairs')!.partitions.map((p) => [...p.replicas]);

    // Move each partition's leadership to its second replica.
    for (const [index, [first, second]] of replicas.entries()) {
      const partitionOn = (id: number) => running.broker(id)!.partitions.partition('pairs', index);
      await waitUntil(() => partitionOn(first!)?.isLeader === true || partitionOn(second!)?.isLeader === true, `a leader of pairs-${index}`);
      if (partitionOn(first!)?.isLeader === true) await partitionOn(first!)!.replica!.handOff(5_000);
      await waitUntil(() => partitionOn(second!)?.isLeader === true, `pairs-${index} led by node ${second}`);
    }

    for (const [index, pair] of replicas.entries()) {
      const outsider = running.nodeIds.find((id) => !pair.includes(id))!;
      const leader = running.broker(pair[1]!)!.partitions.partition('pairs', index)!;
      const address = running.broker(outsider)!.address;
      const client = new Client({ brokers: [`${address.host}:${address.port}`], clientId: `ask-${outsider}`, retry: { retries: 5, initialRetryTimeMs: 50 } });
      clients.push(client);
      await waitUntil(async () => {
        const metadata = await client.cluster.requestAnyOnce(3, { topics: ['pairs'], allTopics: false });
        const answer = metadata.topics[0]?.partitions[index];
        return answer !== undefined && answer.leaderId === pair[1] && answer.leaderEpoch === leader.replica!.term;
      }, `node ${outsider} to name node ${pair[1]} as the leader of pairs-${index}`);
      const metadata = await client.cluster.requestAnyOnce(3, { topics: ['pairs'], allTopics: false });
      const answer = metadata.topics[0]!.partitions[index]!;
      expect(answer.isr).toContain(pair[1]);
      expect(answer.replicas).toEqual(pair);
    }
  });
});
