// Method: three brokers in this process; one that is not the controller is stopped without hand-off.
// Once the controller no longer hears from it, a topic of one replica per partition must place none
// on it (a lone replica there could take no write), and a topic of three replicas is still created
// (a majority of each partition is live) with the stopped broker as the last replica, and takes
// acks=all writes. Back up, the broker is heard again and its replicas catch up.
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger, startCluster, type EmbeddedCluster } from '../broker/index.js';
import { Client } from '../client/index.js';
import { waitUntil } from './fixtures/wait-until.js';

let cluster: EmbeddedCluster | undefined;
let client: Client | undefined;

afterEach(async () => {
  await client?.close();
  client = undefined;
  await cluster?.close();
  cluster = undefined;
});

describe('replica placement with a broker down', () => {
  it('puts no lone replica on a broker the controller does not hear from, and still places three replicas', async () => {
    const running = (cluster = await startCluster({ nodes: 3, brokerOptions: { logger: silentLogger(), raftTickMs: 50 } }));
    const controllerId = await running.waitForController();
    const controller = running.broker(controllerId)!.cluster!.quorum;
    const victim = running.nodeIds.find((id) => id !== controllerId)!;
    await waitUntil(() => controller.activeVoters().length === 3, 'the controller to hear from every broker');
    await running.killBroker(victim);
    await waitUntil(() => !controller.activeVoters().includes(victim), `the controller to stop hearing from node ${victim}`);

    client = new Client({ brokers: running.nodeIds.filter((id) => id !== victim).map((id) => `${running.broker(id)!.address.host}:${running.broker(id)!.address.port}`), clientId: 'placement', retry: { retries: 20, initialRetryTimeMs: 50, maxRetryTimeMs: 500 } });
    const admin = client.admin();
    await admin.createTopics({ topics: [{ topic: 'singles', numPartitions: 6, replicationFactor: 1 }, { topic: 'triples', numPartitions: 3, replicationFactor: 3 }] });
    const image = controller.image;
    const singles = image.topic('singles')!.partitions.map((p) => [...p.replicas]);
    expect(singles.flat()).not.toContain(victim);
    const triples = image.topic('triples')!.partitions.map((p) => [...p.replicas]);
    for (const replicas of triples) expect(replicas[2]).toBe(victim);

    const producer = client.producer({ acks: 'all', lingerMs: 1 });
    for (let partition = 0; partition < 3; partition++) {
      await running.waitForLeader('triples', partition);
      await producer.send({ topic: 'triples', messages: [{ value: `p${partition}`, partition }] });
    }

    await running.restartBroker(victim);
    await waitUntil(() => controller.activeVoters().includes(victim), `the controller to hear from node ${victim} again`);
    await waitUntil(() => [0, 1, 2].every((p) => (running.broker(victim)!.partitions.partition('triples', p)?.highWatermark ?? 0) >= 2), `node ${victim} to catch up on triples`);
  });
});
