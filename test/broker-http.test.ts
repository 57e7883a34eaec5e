// Method: starts real brokers with both listeners on free 127.0.0.1 ports and temp data dirs, drives
// the HTTP API with Node's global fetch and the wire protocol with the protocol's Connection (batches
// from log's encodeBatch), and parses the /metrics text line by line; every broker is closed after.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger, startBroker, type Broker, type BrokerOptions } from '../broker/index.js';
import { API_KEYS, Connection, ERRORS } from '../client/protocol/index.js';
import { encodeBatch } from '../log/index.js';
import { sendUnknownApi } from './fixtures/unknown-api.js';

const LOCAL = { host: '127.0.0.1', port: 0 };

const brokers: Broker[] = [];
const connections: Connection[] = [];

afterEach(async () => {
  for (const connection of connections.splice(0)) connection.close();
  await Promise.all(brokers.splice(0).map((broker) => broker.close()));
});

async function start(extra: BrokerOptions = {}): Promise<Broker> {
  const broker = await startBroker({ listen: LOCAL, http: LOCAL, logger: silentLogger(), ...extra });
  brokers.push(broker);
  return broker;
}

function url(broker: Broker, path: string): string {
  const address = broker.httpAddress;
  if (address === undefined) throw new Error('this broker serves no HTTP');
  return `http://${address.host}:${address.port}${path}`;
}

async function call(broker: Broker, method: string, path: string, body?: unknown): Promise<{ status: number; body: any; contentType: string | null }> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.headers = { 'content-type': 'application/json' };
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const response = await fetch(url(broker, path), init);
  const text = await response.text();
  const contentType = response.headers.get('content-type');
  return { status: response.status, contentType, body: contentType?.startsWith('application/json') ? JSON.parse(text) : text };
}

function expectError(result: { status: number; body: any }, status: number, name: keyof typeof ERRORS): void {
  expect(result.status).toBe(status);
  expect(result.body).toEqual({ error: { code: ERRORS[name].code, name, message: expect.any(String) } });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function connect(broker: Broker): Promise<Connection> {
  const connection = await Connection.connect({ host: broker.address.host, port: broker.address.port, clientId: 'http-test' });
  connections.push(connection);
  return connection;
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses exposition text; fails on any line that is neither a comment nor `name{labels} value`. */
function parseMetrics(text: string): Sample[] {
  expect(text.endsWith('\n')).toBe(true);
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split('\n')) {
    // Empty lines are allowed between families (the format ignores them).
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\})? (\S+)$/.exec(line);
    expect(match, `unparseable line: ${line}`).not.toBeNull();
    const [, name, labelText = '', rawValue] = match as RegExpExecArray;
    const labels: Record<string, string> = {};
    for (const [, key, value] of labelText.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key as string] = (value as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const value = rawValue === '+Inf' ? Infinity : rawValue === '-Inf' ? -Infinity : Number(rawValue);
    expect(Number.isNaN(value) && rawValue !== 'NaN', `bad value in: ${line}`).toBe(false);
    samples.push({ name: name as string, labels, value });
  }
  return samples;
}

function sample(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length)?.value;
}

async function scrape(broker: Broker): Promise<Sample[]> {
  const response = await fetch(url(broker, '/metrics'));
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(await response.text());
}

describe('broker HTTP server: lifecycle', () => {
  it('listens on its own free port next to the protocol listener and stops with the broker', async () => {
    const broker = await start();
    expect(broker.httpAddress?.host).toBe('127.0.0.1');
    expect(broker.httpAddress?.port).toBeGreaterThan(0);
    expect(broker.httpAddress?.port).not.toBe(broker.address.port);
    const target = url(broker, '/v1/health');
    await broker.close();
    await expect(fetch(target)).rejects.toThrow();
  });

  it('takes a free HTTP port when the protocol listener asks for one and http is not given', async () => {
    const broker = await startBroker({ listen: LOCAL, logger: silentLogger() });
    brokers.push(broker);
    expect(broker.config.http).toEqual({ host: '127.0.0.1', port: 0 });
    expect(broker.httpAddress?.port).toBeGreaterThan(0);
    expect(broker.httpAddress?.port).not.toBe(7481);
  });

  it('serves no HTTP when http is null', async () => {
    const broker = await start({ http: null });
    expect(broker.httpAddress).toBeUndefined();
    expect(broker.config.http).toBeNull();
  });

  it('fails to start, and releases the protocol port, when the HTTP address is taken', async () => {
    const first = await start();
    const port = await freePort();
    const listen = { host: '127.0.0.1', port };
    await expect(startBroker({ listen, http: first.httpAddress ?? LOCAL, logger: silentLogger() })).rejects.toThrow(/http port 127\.0\.0\.1:\d+ is already in use/);
    const second = await start({ listen });
    expect(second.address.port).toBe(port);
  });
});

describe('broker HTTP server: health', () => {
  it('answers ok with the node id and uptime', async () => {
    const broker = await start({ nodeId: 7 });
    const result = await call(broker, 'GET', '/v1/health');
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ status: 'ok', nodeId: 7, uptimeMs: expect.any(Number) });
    expect(result.body.uptimeMs).toBeGreaterThanOrEqual(0);
  });

  it('answers 404 with an error body for an unknown route', async () => {
    const broker = await start();
    expectError(await call(broker, 'GET', '/v1/nothing-here'), 404, 'INVALID_REQUEST');
  });
});

describe('broker HTTP server: topics', () => {
  it('creates a topic with defaults, lists it and describes it', async () => {
    const broker = await start();
    expect(await call(broker, 'GET', '/v1/topics')).toMatchObject({ status: 200, body: { topics: [] } });

    const created = await call(broker, 'POST', '/v1/topics', { name: 'orders' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ name: 'orders', topicId: expect.any(String), partitions: 1, configs: {} });

    const withConfigs = await call(broker, 'POST', '/v1/topics', { name: 'events', partitions: 3, replicationFactor: 1, configs: { 'retention.ms': '60000' } });
    expect(withConfigs.status).toBe(201);
    expect(withConfigs.body).toMatchObject({ name: 'events', partitions: 3, configs: { 'retention.ms': '60000' } });

    const list = await call(broker, 'GET', '/v1/topics');
    expect(list.status).toBe(200);
    expect(list.body.topics.map((t: { name: string }) => t.name)).toEqual(['events', 'orders']);
    expect(list.body.topics[0]).toEqual(withConfigs.body);

    const described = await call(broker, 'GET', '/v1/topics/events');
    expect(described.status).toBe(200);
    expect(described.body.name).toBe('events');
    expect(described.body.partitions).toEqual(
      [0, 1, 2].map((partition) => ({
        partition,
        leader: broker.nodeId,
        leaderEpoch: 0,
        replicas: [broker.nodeId],
        isr: [broker.nodeId],
        logStartOffset: 0,
        highWatermark: 0,
        logEndOffset: 0,
        sizeBytes: 0,
        status: 'online',
        uncleanable: false,
      })),
    );
  });

  it('rejects bad names, partitions, replication factors and configs with the protocol error codes', async () => {
    const broker = await start();
    expectError(await call(broker, 'POST', '/v1/topics', { name: 'no/slashes' }), 400, 'INVALID_TOPIC_EXCEPTION');
    expectError(await call(broker, 'POST', '/v1/topics', { name: '' }), 400, 'INVALID_TOPIC_EXCEPTION');
    expectError(await call(broker, 'POST', '/v1/topics', { name: 'x', partitions: 0 }), 400, 'INVALID_PARTITIONS');
    expectError(await call(broker, 'POST', '/v1/topics', { name: 'x', replicationFactor: 3 }), 400, 'INVALID_REPLICATION_FACTOR');
    const unknownKey = await call(broker, 'POST', '/v1/topics', { name: 'x', configs: { 'retention.mss': '1' } });
    expectError(unknownKey, 400, 'INVALID_CONFIG');
    expect(unknownKey.body.error.message).toContain('retention.mss');
    expectError(await call(broker, 'POST', '/v1/topics', { name: 'x', configs: { 'retention.ms': 'soon' } }), 400, 'INVALID_CONFIG');
    // Nothing was created by the failures.
    expect((await call(broker, 'GET', '/v1/topics')).body).toEqual({ topics: [] });
  });

  it('rejects a body the schema does not describe with INVALID_REQUEST', async () => {
    const broker = await start();
    expectError(await call(broker, 'POST', '/v1/topics', { name: 'x', color: 'red' }), 400, 'INVALID_REQUEST');
    expectError(await call(broker, 'POST', '/v1/topics', { partitions: 1 }), 400, 'INVALID_REQUEST');
    expectError(await call(broker, 'POST', '/v1/topics', { name: 'x', partitions: '3' }), 400, 'INVALID_REQUEST');
    expectError(await call(broker, 'POST', '/v1/topics', { name: 'x', partitions: 1.5 }), 400, 'INVALID_REQUEST');
    expectError(await call(broker, 'POST', '/v1/topics', { name: 'x', configs: { 'retention.ms': 5 } }), 400, 'INVALID_REQUEST');
    expectError(await call(broker, 'POST', '/v1/topics', '{"name": '), 400, 'INVALID_REQUEST');
    expectError(await call(broker, 'POST', '/v1/topics', []), 400, 'INVALID_REQUEST');
    expect((await call(broker, 'GET', '/v1/topics')).body).toEqual({ topics: [] });
  });

  it('answers 409 TOPIC_ALREADY_EXISTS for an existing topic, whichever listener created it', async () => {
    const broker = await start();
    expect((await call(broker, 'POST', '/v1/topics', { name: 'twice' })).status).toBe(201);
    expectError(await call(broker, 'POST', '/v1/topics', { name: 'twice' }), 409, 'TOPIC_ALREADY_EXISTS');
    const connection = await connect(broker);
    const wire = await connection.request(API_KEYS.createTopics, { topics: [{ name: 'wired', partitions: 2, replicationFactor: 1, configs: {} }], timeoutMs: 5000, validateOnly: false });
    expect(wire.topics[0]?.errorCode).toBe(0);
    expectError(await call(broker, 'POST', '/v1/topics', { name: 'wired' }), 409, 'TOPIC_ALREADY_EXISTS');
    expect((await call(broker, 'GET', '/v1/topics/wired')).body.partitions).toHaveLength(2);
  });

  it('answers 404 for an unknown topic on GET and DELETE, and deletes a topic with 204', async () => {
    const broker = await start();
    expectError(await call(broker, 'GET', '/v1/topics/ghost'), 404, 'UNKNOWN_TOPIC_OR_PARTITION');
    expectError(await call(broker, 'DELETE', '/v1/topics/ghost'), 404, 'UNKNOWN_TOPIC_OR_PARTITION');
    expectError(await call(broker, 'DELETE', '/v1/topics/not%20a%20name'), 404, 'UNKNOWN_TOPIC_OR_PARTITION');

    await call(broker, 'POST', '/v1/topics', { name: 'doomed', partitions: 2 });
    const deleted = await call(broker, 'DELETE', '/v1/topics/doomed');
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBe('');
    expectError(await call(broker, 'GET', '/v1/topics/doomed'), 404, 'UNKNOWN_TOPIC_OR_PARTITION');
    expectError(await call(broker, 'DELETE', '/v1/topics/doomed'), 404, 'UNKNOWN_TOPIC_OR_PARTITION');
    expect((await call(broker, 'GET', '/v1/topics')).body).toEqual({ topics: [] });
    expect(broker.partitions.partitionsOf('doomed')).toHaveLength(0);
  });

  it('creates a topic over HTTP that takes produce requests over the wire, whose offsets it then shows', async () => {
    const broker = await start();
    expect((await call(broker, 'POST', '/v1/topics', { name: 'mixed', partitions: 2 })).status).toBe(201);
    const connection = await connect(broker);
    const produce = (partition: number, values: string[]) =>
      connection.request(API_KEYS.produce, {
        acks: -1,
        timeoutMs: 5000,
        topics: [{ name: 'mixed', partitions: [{ partition, records: encodeBatch(values.map((v) => ({ value: Buffer.from(v) }))) }] }],
      });
    const first = await produce(1, ['a', 'b', 'c']);
    expect(first.topics[0]?.partitions[0]).toMatchObject({ errorCode: 0, baseOffset: 0 });
    const second = await produce(1, ['d', 'e']);
    expect(second.topics[0]?.partitions[0]).toMatchObject({ errorCode: 0, baseOffset: 3 });

    const described = await call(broker, 'GET', '/v1/topics/mixed');
    const [p0, p1] = described.body.partitions;
    expect(p0).toMatchObject({ partition: 0, logStartOffset: 0, highWatermark: 0, logEndOffset: 0, sizeBytes: 0 });
    expect(p1).toMatchObject({ partition: 1, logStartOffset: 0, highWatermark: 5, logEndOffset: 5 });
    expect(p1.sizeBytes).toBeGreaterThan(0);
  });
});

describe('broker HTTP server: /metrics', () => {
  it('exposes parseable text whose counters, histograms and partition gauges follow the traffic', async () => {
    const broker = await start();
    await call(broker, 'POST', '/v1/topics', { name: 'metered', partitions: 2 });
    const connection = await connect(broker);
    await connection.request(API_KEYS.metadata, { topics: [], allTopics: true });

    const before = await scrape(broker);
    // The api label is the protocol's (Kafka's) name of the api.
    expect(sample(before, 'strata_requests_total', { api: 'Metadata' })).toBe(1);
    const bytesInBefore = sample(before, 'strata_bytes_in_total') as number;
    expect(bytesInBefore).toBeGreaterThan(0);
    expect(sample(before, 'strata_connections_open')).toBe(1);
    expect(sample(before, 'strata_topics')).toBe(1);

    for (let i = 0; i < 3; i++) await connection.request(API_KEYS.metadata, { topics: [], allTopics: true });
    await connection.request(API_KEYS.produce, {
      acks: 1,
      timeoutMs: 5000,
      topics: [{ name: 'metered', partitions: [{ partition: 1, records: encodeBatch([{ value: Buffer.from('x') }, { value: Buffer.from('y') }]) }] }],
    });
    await sendUnknownApi(broker.address);

    const after = await scrape(broker);
    expect(sample(after, 'strata_requests_total', { api: 'Metadata' })).toBe(4);
    expect(sample(after, 'strata_requests_total', { api: 'Produce' })).toBe(1);
    expect(sample(after, 'strata_bytes_in_total') as number).toBeGreaterThan(bytesInBefore);
    expect(sample(after, 'strata_bytes_out_total') as number).toBeGreaterThan(sample(before, 'strata_bytes_out_total') as number);
    expect(sample(after, 'strata_produced_bytes_total') as number).toBeGreaterThan(0);
    expect(sample(after, 'strata_request_errors_total', { api: 'unknown', code: '35', error: 'UNSUPPORTED_VERSION' })).toBe(1);

    // Every histogram: buckets cumulative in increasing le, ending with +Inf equal to _count.
    const histograms = new Set(after.filter((s) => s.name === 'strata_request_duration_seconds_count').map((s) => s.labels['api'] as string));
    expect(histograms.size).toBeGreaterThanOrEqual(3);
    for (const api of histograms) {
      const buckets = after.filter((s) => s.name === 'strata_request_duration_seconds_bucket' && s.labels['api'] === api);
      const bounds = buckets.map((b) => (b.labels['le'] === '+Inf' ? Infinity : Number(b.labels['le'])));
      expect(bounds.at(-1)).toBe(Infinity);
      for (let i = 1; i < buckets.length; i++) {
        expect(bounds[i] as number).toBeGreaterThan(bounds[i - 1] as number);
        expect((buckets[i] as Sample).value).toBeGreaterThanOrEqual((buckets[i - 1] as Sample).value);
      }
      const count = sample(after, 'strata_request_duration_seconds_count', { api });
      expect(buckets.at(-1)?.value).toBe(count);
      expect(sample(after, 'strata_request_duration_seconds_sum', { api })).toBeGreaterThanOrEqual(0);
      expect(count).toBe(sample(after, 'strata_requests_total', { api }));
    }

    expect(sample(after, 'strata_partition_log_end_offset', { topic: 'metered', partition: '1' })).toBe(2);
    expect(sample(after, 'strata_partition_high_watermark', { topic: 'metered', partition: '1' })).toBe(2);
    expect(sample(after, 'strata_partition_log_start_offset', { topic: 'metered', partition: '1' })).toBe(0);
    expect(sample(after, 'strata_partition_size_bytes', { topic: 'metered', partition: '1' }) as number).toBeGreaterThan(0);
    expect(sample(after, 'strata_partition_log_end_offset', { topic: 'metered', partition: '0' })).toBe(0);

    await call(broker, 'DELETE', '/v1/topics/metered');
    const gone = await scrape(broker);
    expect(gone.some((s) => s.labels['topic'] === 'metered')).toBe(false);
  });
});

describe('broker HTTP server: consumer groups', () => {
  it('lists groups and shows each partition\'s owner, committed offset and lag, also as metrics', async () => {
    const broker = await start();
    await call(broker, 'POST', '/v1/topics', { name: 'billed', partitions: 2 });
    const connection = await connect(broker);
    await connection.request(API_KEYS.produce, {
      acks: 1, timeoutMs: 5000, topics: [{ name: 'billed', partitions: [{ partition: 0, records: encodeBatch(['a', 'b', 'c', 'd'].map((v) => ({ value: v }))) }] }],
    });
    const joined = await connection.request(API_KEYS.consumerGroupHeartbeat, {
      groupId: 'billing', memberId: '', memberEpoch: 0, sessionTimeoutMs: 0, subscribedTopicNames: ['billed'], serverAssignor: '', ownedPartitions: [], maxWaitMs: 0,
    });
    expect(joined.errorCode).toBe(0);
    const committed = await connection.request(API_KEYS.offsetCommit, {
      groupId: 'billing', memberId: joined.memberId, memberEpoch: joined.memberEpoch, topics: [{ name: 'billed', partitions: [{ partition: 0, committedOffset: 1, committedMetadata: '' }] }],
    });
    expect(committed.topics[0]?.partitions[0]?.errorCode).toBe(0);

    expect((await call(broker, 'GET', '/v1/groups')).body).toEqual({ groups: [{ groupId: 'billing', state: 'Stable', members: 1 }] });
    const described = await call(broker, 'GET', '/v1/groups/billing');
    expect(described.status).toBe(200);
    expect(described.body).toEqual({
      groupId: 'billing',
      state: 'Stable',
      members: 1,
      partitions: [
        { topic: 'billed', partition: 0, member: joined.memberId, committedOffset: 1, logEndOffset: 4, lag: 3 },
        { topic: 'billed', partition: 1, member: joined.memberId, committedOffset: -1, logEndOffset: 0, lag: 0 },
      ],
    });
    expectError(await call(broker, 'GET', '/v1/groups/nobody'), 404, 'GROUP_ID_NOT_FOUND');

    const metrics = await scrape(broker);
    expect(sample(metrics, 'strata_group_members', { group: 'billing', state: 'Stable' })).toBe(1);
    expect(sample(metrics, 'strata_group_committed_offset', { group: 'billing', topic: 'billed', partition: '0' })).toBe(1);
    expect(sample(metrics, 'strata_group_lag', { group: 'billing', topic: 'billed', partition: '0' })).toBe(3);
    expect(sample(metrics, 'strata_group_lag', { group: 'billing', topic: 'billed', partition: '1' })).toBe(0);
  });
});
