// Method: real brokers on free ports driven over HTTP with Node's fetch: a standalone broker for the
// page's files, the records route's validation (400 naming the parameter, 404) and the event stream
// (a snapshot arrives; the broker closes promptly with the stream open); a three-broker embedded
// cluster for the rest: Raft's leader-change control batches are not shown, reads stop at the high
// watermark, and a broker that does not host a partition forwards the read to one that does.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, startBroker, startCluster, type Broker, type EmbeddedCluster } from '../broker/index.js';
import { Client } from '../client/index.js';
import { ERRORS } from '../client/protocol/index.js';

const LOCAL = { host: '127.0.0.1', port: 0 };

function base(broker: Broker): string {
  const address = broker.httpAddress;
  if (address === undefined) throw new Error('this broker serves no HTTP');
  return `http://${address.host}:${address.port}`;
}

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

function expectError(result: { status: number; body: any }, status: number, name: keyof typeof ERRORS, message: RegExp): void {
  expect(result.status).toBe(status);
  expect(result.body.error).toMatchObject({ code: ERRORS[name].code, name });
  expect(result.body.error.message).toMatch(message);
}

describe('dashboard routes on a standalone broker', () => {
  const brokers: Broker[] = [];
  afterEach(async () => {
    await Promise.all(brokers.splice(0).map((b) => b.close()));
  });
  async function start(): Promise<Broker> {
    const broker = await startBroker({ listen: LOCAL, http: LOCAL, logger: silentLogger() });
    brokers.push(broker);
    return broker;
  }

  it('serves the page and its files', async () => {
    const broker = await start();
    for (const [path, type, text] of [
      ['/', 'text/html', /<title>Strata dashboard<\/title>/],
      ['/dashboard/dashboard.css', 'text/css', /prefers-color-scheme: dark/],
      ['/dashboard/dashboard.js', 'text/javascript', /new EventSource\('\/v1\/events'\)/],
    ] as const) {
      const response = await fetch(`${base(broker)}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type')).toContain(type);
      expect(await response.text()).toMatch(text);
    }
  });

  it('answers bad record queries with 400 naming the parameter and unknown partitions with 404', async () => {
    const broker = await start();
    await fetch(`${base(broker)}/v1/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'orders', partitions: 2 }) });
    const records = (path: string) => getJson(`${base(broker)}/v1/topics/${path}`);
    expectError(await records('orders/partitions/0/records?offset=-3'), 400, 'INVALID_REQUEST', /offset must be a non-negative integer, got '-3'/);
    expectError(await records('orders/partitions/0/records?offset=1&timestamp=2'), 400, 'INVALID_REQUEST', /give offset or timestamp, not both/);
    expectError(await records('orders/partitions/0/records?offset=1&offset=2'), 400, 'INVALID_REQUEST', /offset must be given once/);
    expectError(await records('orders/partitions/0/records?limit=501'), 400, 'INVALID_REQUEST', /limit must be from 1 to 500, got 501/);
    expectError(await records('orders/partitions/0/records?timestamp=soon'), 400, 'INVALID_REQUEST', /timestamp must be milliseconds since 1970 or an ISO 8601 date-time/);
    expectError(await records('orders/partitions/0/records?from=1'), 400, 'INVALID_REQUEST', /unknown query parameter 'from'/);
    expectError(await records('orders/partitions/one/records'), 400, 'INVALID_REQUEST', /partition must be a non-negative integer, got 'one'/);
    expectError(await records('orders/partitions/2/records'), 404, 'UNKNOWN_TOPIC_OR_PARTITION', /topic 'orders' has 2 partitions \(0 to 1\), not 2/);
    expectError(await records('nope/partitions/0/records'), 404, 'UNKNOWN_TOPIC_OR_PARTITION', /topic 'nope' does not exist/);
    expect(await records('orders/partitions/1/records?offset=5')).toEqual({
      status: 200,
      body: { topic: 'orders', partition: 1, logStartOffset: 0, highWatermark: 0, nextOffset: 5, records: [] },
    });
  });

  it('streams snapshots and closes promptly with a stream still open', async () => {
    const broker = await start();
    const response = await fetch(`${base(broker)}/v1/events`);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes('\n\nevent: snapshot\ndata: ') || !text.endsWith('\n\n')) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended early: ${text}`);
      text += new TextDecoder().decode(value);
    }
    expect(text.startsWith('retry: 2000\n\n')).toBe(true);
    const snapshot = JSON.parse(text.split('\ndata: ')[1]!.split('\n')[0]!);
    expect(snapshot).toMatchObject({ servedBy: broker.nodeId, brokers: [{ nodeId: broker.nodeId, state: 'up' }], topics: [], groups: [] });

    // fastify waits for requests in flight on close; the stream is ended first, so close returns.
    brokers.splice(brokers.indexOf(broker), 1);
    await broker.close();
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
  });
});

describe('dashboard routes in a three-broker cluster', () => {
  let cluster: EmbeddedCluster;
  let client: Client;

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3, brokerOptions: { logger: silentLogger(), raftTickMs: 50, http: LOCAL } });
    await cluster.waitForController();
    client = new Client({ brokers: [...cluster.bootstrap], clientId: 'dashboard-http', retry: { retries: 20, initialRetryTimeMs: 50, maxRetryTimeMs: 500 } });
  });

  afterAll(async () => {
    await client?.close();
    await cluster?.close();
  });

  it('skips control batches, reads below the high watermark, and forwards to a replica from any broker', async () => {
    const admin = client.admin();
    await admin.createTopics({ topics: [{ topic: 'single', numPartitions: 1, replicationFactor: 1 }] });
    await admin.close();
    const leaderId = await cluster.waitForLeader('single', 0);
    const producer = client.producer({ acks: 'all' });
    await producer.send({ topic: 'single', messages: [{ key: 'a', value: 'first' }, { key: 'b', value: 'second', headers: { h: 'x' } }] });
    await producer.close();

    const leader = cluster.broker(leaderId)!;
    const hosted = leader.partitions.partition('single', 0)!;
    // A new Raft leader's first entry is a leader-change control batch; consumers never see it.
    expect(hosted.logStartOffset).toBe(0);
    const own = await getJson(`${base(leader)}/v1/topics/single/partitions/0/records`);
    expect(own.status).toBe(200);
    expect(own.body.records.map((r: any) => [r.offset, r.key.text, r.value.text])).toEqual([
      [1, 'a', 'first'],
      [2, 'b', 'second'],
    ]);
    expect(own.body.records[1].headers).toEqual([{ key: 'h', value: { size: 1, text: 'x', hex: '78', truncated: false } }]);
    expect(own.body).toMatchObject({ highWatermark: hosted.highWatermark, nextOffset: hosted.highWatermark });

    const other = cluster.broker(cluster.nodeIds.find((id) => id !== leaderId)!)!;
    expect(other.partitions.partition('single', 0)).toBeUndefined();
    const forwarded = await getJson(`${base(other)}/v1/topics/single/partitions/0/records?offset=2&limit=1`);
    expect(forwarded.status).toBe(200);
    expect(forwarded.body.records.map((r: any) => r.value.text)).toEqual(['second']);

    // With the only replica gone, the read says so instead of hanging.
    await cluster.killBroker(leaderId);
    const orphan = await getJson(`${base(other)}/v1/topics/single/partitions/0/records`);
    expectError(orphan, 503, 'LEADER_NOT_AVAILABLE', new RegExp(`no replica of single-0 could be read \\(broker ${leaderId}: unreachable\\)`));

    // The snapshot shows the killed broker down and the partition offline.
    const snapshot = await getJson(`${base(other)}/v1/dashboard`);
    expect(snapshot.body.brokers.find((b: any) => b.nodeId === leaderId)).toMatchObject({ state: 'down', problem: 'connection refused' });
    expect(snapshot.body.topics.find((t: any) => t.name === 'single').partitions[0]).toMatchObject({ status: 'offline', highWatermark: null });
  });
});
