// Method: Jepsen-style through a fault-injecting proxy (test/fixtures/fault-proxy): the producer's
// connections pass a TCP proxy that delivers every request but drops a seeded share of Produce
// responses, so the producer retries batches the broker already appended. Writes are recorded as
// invoked → ok(offset) / failed / unknown (test/fixtures/jepsen-history) under load (hundreds of sends
// outstanding, five batches in flight per partition), read back without the proxy and judged by
// replication/history-checker: nothing lost, nothing duplicated, each partition in send order. On a
// single broker, and on the 3-node embedded cluster with the leader of a partition killed mid-way.
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger, startBroker, startCluster, type Broker, type EmbeddedCluster } from '../broker/index.js';
import { Client } from '../client/index.js';
import { Connection } from '../client/protocol/index.js';
import { describeVerdict, WriteHistory } from '../replication/index.js';
import { FaultProxy } from './fixtures/fault-proxy.js';
import { readTopic, RecordedProducer } from './fixtures/jepsen-history.js';

const SEED = Number(process.env['STRATA_SEED'] ?? Math.floor(Math.random() * 2 ** 31));

let proxies: FaultProxy[] = [];
let clients: Client[] = [];
let broker: Broker | undefined;
let cluster: EmbeddedCluster | undefined;

afterEach(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await Promise.allSettled(proxies.map((p) => p.close()));
  await broker?.close();
  await cluster?.close();
  clients = [];
  proxies = [];
  broker = undefined;
  cluster = undefined;
});

/** A client whose every connection to a broker port in `routes` goes through that port's proxy. */
function clientThrough(bootstrap: readonly string[], routes: Map<number, FaultProxy>): Client {
  const client = new Client(
    { brokers: [...bootstrap], requestTimeoutMs: 1500, retry: { retries: 100, initialRetryTimeMs: 20, maxRetryTimeMs: 250 } },
    {
      connect: (options) => {
        const proxy = routes.get(options.port);
        return Connection.connect(proxy === undefined ? options : { ...options, host: proxy.address.host, port: proxy.address.port });
      },
    },
  );
  clients.push(client);
  return client;
}

/** Sends `total` unique values round-robin over `partitions`, at most `window` unanswered at once. */
async function produceUnderLoad(recorded: RecordedProducer, partitions: number, total: number, window: number, midway?: () => Promise<void>): Promise<void> {
  const inFlight = new Set<Promise<unknown>>();
  for (let i = 0; i < total; i++) {
    if (i === Math.floor(total / 2) && midway !== undefined) await midway();
    const sending = recorded.send('w', i % partitions, `v-${i}`);
    inFlight.add(sending);
    void sending.finally(() => inFlight.delete(sending));
    if (inFlight.size >= window) await Promise.race(inFlight);
  }
  await recorded.settled();
}

function judge(history: WriteHistory, reads: Parameters<WriteHistory['check']>[0], context: string): ReturnType<WriteHistory['check']> {
  const verdict = history.check(reads);
  const message = `seed ${SEED}; ${describeVerdict(verdict)}; ${context}`;
  expect(verdict.lost, message).toEqual([]);
  expect(verdict.unexpected, message).toEqual([]);
  expect(verdict.duplicated, message).toEqual([]);
  expect(verdict.reordered, message).toEqual([]);
  return verdict;
}

describe('the idempotent producer through a proxy that drops Produce responses', () => {
  it(`writes every record exactly once, in order per partition, on a single broker (seed ${SEED})`, async () => {
    broker = await startBroker({ http: null });
    const proxy = await FaultProxy.start({ target: broker.address, dropRate: 0.08, dropFirst: true, seed: SEED });
    proxies.push(proxy);
    const direct = new Client({ brokers: [`${broker.address.host}:${broker.address.port}`] });
    clients.push(direct);
    await direct.admin().createTopics({ topics: [{ topic: 'idem', numPartitions: 4 }] });
    const client = clientThrough([`${proxy.address.host}:${proxy.address.port}`], new Map([[broker.address.port, proxy]]));
    // Small batches and no linger: many batches, five in flight per partition.
    const producer = client.producer({ acks: 'all', lingerMs: 0, batchSize: 1024, timeoutMs: 500 });
    const history = new WriteHistory();
    const recorded = new RecordedProducer(history, producer, 'idem');
    await produceUnderLoad(recorded, 4, 3000, 400);
    const verdict = judge(history, await readTopic(direct, 'idem', 30_000), `dropped ${proxy.dropped} responses of ${proxy.forwarded} requests; errors ${JSON.stringify(recorded.errorCounts())}`);
    expect(proxy.dropped).toBeGreaterThan(0);
    expect(verdict.ok).toBe(3000);
    expect(producer.epochBumps).toBe(0);
  }, 120_000);

  it(`writes every record exactly once, in order, on the 3-node cluster with a partition leader killed (seed ${SEED})`, async () => {
    cluster = await startCluster({ nodes: 3, brokerOptions: { logger: silentLogger() } });
    await cluster.waitForController();
    const routes = new Map<number, FaultProxy>();
    for (const id of cluster.nodeIds) {
      const target = cluster.broker(id)!.address;
      const proxy = await FaultProxy.start({ target, dropRate: 0.05, dropFirst: true, seed: SEED + id });
      proxies.push(proxy);
      routes.set(target.port, proxy);
    }
    const direct = new Client({ brokers: [...cluster.bootstrap], retry: { retries: 50, initialRetryTimeMs: 50, maxRetryTimeMs: 500 } });
    clients.push(direct);
    await direct.admin().createTopics({ topics: [{ topic: 'idem-cluster', numPartitions: 3, replicationFactor: 3 }] });
    for (let p = 0; p < 3; p++) await cluster.waitForLeader('idem-cluster', p);
    const client = clientThrough(cluster.bootstrap, routes);
    const bumps: string[] = [];
    const producer = client.producer({ acks: 'all', lingerMs: 0, batchSize: 1024, timeoutMs: 1000, onEpochBump: (e) => bumps.push(`${e.topic}-${e.partition} epoch ${e.epoch}: ${e.reason}`) });
    const history = new WriteHistory();
    const recorded = new RecordedProducer(history, producer, 'idem-cluster');
    let victim = -1;
    await produceUnderLoad(recorded, 3, 2000, 300, async () => {
      victim = await cluster!.waitForLeader('idem-cluster', 0);
      await cluster!.killBroker(victim);
    });
    for (let p = 0; p < 3; p++) await cluster.waitForLeader('idem-cluster', p);
    const dropped = proxies.reduce((sum, p) => sum + p.dropped, 0);
    // Read through a client that knows only the live brokers.
    const reader = new Client({ brokers: cluster.bootstrap.filter((_, i) => cluster!.nodeIds[i] !== victim), retry: { retries: 50, initialRetryTimeMs: 50, maxRetryTimeMs: 500 } });
    clients.push(reader);
    const verdict = judge(history, await readTopic(reader, 'idem-cluster', 30_000), `killed ${victim}; dropped ${dropped} responses; errors ${JSON.stringify(recorded.errorCounts())}; bumps ${bumps.slice(0, 3).join(' | ')}`);
    expect(dropped).toBeGreaterThan(0);
    expect(verdict.ok, `${describeVerdict(verdict)}; errors ${JSON.stringify(recorded.errorCounts())}; bumps ${bumps.join(" | ")}`).toBe(2000);
  }, 180_000);
});
