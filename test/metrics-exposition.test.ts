// Method: real brokers in this process, scraped over HTTP and read with an independent Prometheus
// text-format parser (parse-prometheus-text-format, prom2json's output shape), never a regex. Traffic
// goes over the wire protocol; each assertion compares two scrapes, or a scrape with the log itself.
// A three-broker embedded cluster shows the Raft families and follower lag from the leader's progress.
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger, startBroker, startCluster, type Broker, type EmbeddedCluster } from '../broker/index.js';
import { Client } from '../client/index.js';
import { API_KEYS, Connection } from '../client/protocol/index.js';
import { encodeBatch } from '../log/index.js';
import { waitUntil as waitFor } from './fixtures/wait-until.js';
import { sendUnknownApi } from './fixtures/unknown-api.js';

const LOCAL = { host: '127.0.0.1', port: 0 };
const brokers: Broker[] = [];
const connections: Connection[] = [];
let cluster: EmbeddedCluster | undefined;
let client: Client | undefined;

afterEach(async () => {
  for (const c of connections.splice(0)) c.close();
  await client?.close();
  client = undefined;
  await cluster?.close();
  cluster = undefined;
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

async function start(): Promise<Broker> {
  const broker = await startBroker({ listen: LOCAL, http: LOCAL, logger: silentLogger() });
  brokers.push(broker);
  return broker;
}

function baseUrl(broker: Broker): string {
  const address = broker.httpAddress;
  if (address === undefined) throw new Error('this broker serves no HTTP');
  return `http://${address.host}:${address.port}`;
}

async function scrape(broker: Broker): Promise<Map<string, ParsedFamily>> {
  const response = await fetch(`${baseUrl(broker)}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const families = parsePrometheusTextFormat(await response.text());
  const byName = new Map<string, ParsedFamily>();
  for (const family of families) {
    expect(byName.has(family.name), `${family.name} exposed twice`).toBe(false);
    byName.set(family.name, family);
  }
  return byName;
}

/** The value of the series of `name` whose labels are exactly `labels`; 0 for a series not (yet) exposed. */
/**
 * A histogram family's buckets are cumulative in increasing `le` and end with `+Inf` = `_count`.
 * The parser folds every series of a family into one sample (it keeps labels only for unlabelled
 * histograms), so this is asked of families with one series.
 */
function expectCumulative(family: ParsedFamily | undefined): void {
  expect(family?.type).toBe('HISTOGRAM');
  expect(family?.metrics).toHaveLength(1);
  const series = family?.metrics[0];
  const buckets = Object.entries(series?.buckets ?? {})
    .map(([le, count]) => [le === '+Inf' ? Infinity : Number(le), Number(count)] as const)
    .sort(([a], [b]) => a - b);
  expect(buckets.length).toBeGreaterThan(1);
  expect(buckets.at(-1)?.[0]).toBe(Infinity);
  for (let i = 1; i < buckets.length; i++) expect((buckets[i] as readonly [number, number])[1]).toBeGreaterThanOrEqual((buckets[i - 1] as readonly [number, number])[1]);
  if (series?.count !== undefined) expect(buckets.at(-1)?.[1]).toBe(Number(series.count));
}

function value(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name);
  expect(family, `${name} is exposed`).toBeDefined();
  const wanted = Object.entries(labels);
  const series = family?.metrics.find((m) => {
    const have = m.labels ?? {};
    return Object.keys(have).length === wanted.length && wanted.every(([k, v]) => have[k] === v);
  });
  return series === undefined ? 0 : Number(series.value ?? series.count);
}

async function connect(broker: Broker): Promise<Connection> {
  const connection = await Connection.connect({ host: broker.address.host, port: broker.address.port, clientId: 'metrics-test' });
  connections.push(connection);
  return connection;
}

describe('/metrics exposition (prom-client, read by a Prometheus parser)', () => {
  it('counts requests, errors by code and bytes per topic with the traffic; partition gauges equal the log; histograms are cumulative', async () => {
    const broker = await start();
    const created = await fetch(`${baseUrl(broker)}/v1/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'metered', partitions: 2 }),
    });
    expect(created.status).toBe(201);
    const connection = await connect(broker);
    const before = await scrape(broker);

    const produces = 5;
    let batchBytes = 0;
    for (let i = 0; i < produces; i++) {
      const records = encodeBatch([{ value: Buffer.from(`record-${i}`) }, { value: Buffer.from(`more-${i}`) }]);
      batchBytes += records.length;
      const answer = await connection.request(API_KEYS.produce, { acks: 1, timeoutMs: 5000, topics: [{ name: 'metered', partitions: [{ partition: 0, records }] }] });
      expect(answer.topics[0]?.partitions[0]?.errorCode).toBe(0);
    }
    await connection.request(API_KEYS.fetch, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [{ name: 'metered', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
    });
    await sendUnknownApi(broker.address);
    await sendUnknownApi(broker.address);
    const after = await scrape(broker);

    const grew = (name: string, labels: Record<string, string> = {}): number => value(after, name, labels) - value(before, name, labels);
    expect(grew('strata_requests_total', { api: 'Produce' })).toBe(produces);
    expect(grew('strata_requests_total', { api: 'Fetch' })).toBe(1);
    expect(grew('strata_request_errors_total', { api: 'unknown', code: '35', error: 'UNSUPPORTED_VERSION' })).toBe(2);
    expect(grew('strata_topic_bytes_in_total', { topic: 'metered' })).toBe(batchBytes);
    expect(grew('strata_produced_bytes_total')).toBe(batchBytes);
    expect(grew('strata_topic_bytes_out_total', { topic: 'metered' })).toBe(batchBytes);
    expect(grew('strata_bytes_in_total')).toBeGreaterThan(batchBytes);
    // The default flush policy is `always`: each acks=1 produce waited for an fsync round.
    expect(grew('strata_log_fsync_duration_seconds')).toBeGreaterThanOrEqual(produces);

    for (const index of [0, 1]) {
      const partition = broker.partitions.partition('metered', index);
      if (partition === undefined) throw new Error(`metered-${index} is missing`);
      const labels = { topic: 'metered', partition: String(index) };
      expect(value(after, 'strata_partition_log_end_offset', labels)).toBe(partition.log.logEndOffset);
      expect(value(after, 'strata_partition_high_watermark', labels)).toBe(partition.highWatermark);
      expect(value(after, 'strata_partition_log_start_offset', labels)).toBe(partition.log.logStartOffset);
      expect(value(after, 'strata_partition_size_bytes', labels)).toBe(partition.log.sizeBytes);
    }
    expect(value(after, 'strata_partition_log_end_offset', { topic: 'metered', partition: '0' })).toBe(2 * produces);

    // The fsync histogram (no labels): buckets cumulative in increasing le, +Inf = count.
    expectCumulative(after.get('strata_log_fsync_duration_seconds'));
    expect(after.get('strata_request_duration_seconds')?.type).toBe('HISTOGRAM');

    // The process's own metrics come along: event-loop lag, heap, RSS.
    for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes', 'process_resident_memory_bytes']) expect(after.has(name), name).toBe(true);
  });

  it('times every request of an api in its latency histogram (a broker that served one api, so the family has one series)', async () => {
    const broker = await start();
    const connection = await connect(broker);
    for (let i = 0; i < 7; i++) await connection.request(API_KEYS.metadata, { topics: [], allTopics: true });
    const families = await scrape(broker);
    const histogram = families.get('strata_request_duration_seconds');
    expectCumulative(histogram);
    expect(Number(histogram?.metrics[0]?.buckets?.['+Inf'])).toBe(7);
    expect(value(families, 'strata_requests_total', { api: 'Metadata' })).toBe(7);
  });

  it('keeps three brokers in one process apart: no duplicate registration, each counts its own traffic, process metrics collected once', async () => {
    const three = [await start(), await start(), await start()];
    const connection = await connect(three[0] as Broker);
    for (let i = 0; i < 3; i++) await connection.request(API_KEYS.metadata, { topics: [], allTopics: true });
    const scrapes = await Promise.all(three.map(scrape));
    expect(value(scrapes[0] as Map<string, ParsedFamily>, 'strata_requests_total', { api: 'Metadata' })).toBe(3);
    expect(value(scrapes[1] as Map<string, ParsedFamily>, 'strata_requests_total', { api: 'Metadata' })).toBe(0);
    expect(value(scrapes[2] as Map<string, ParsedFamily>, 'strata_requests_total', { api: 'Metadata' })).toBe(0);
    const processFamilies = (s: Map<string, ParsedFamily>) => [...s.keys()].filter((n) => !n.startsWith('strata_')).sort();
    expect(processFamilies(scrapes[1] as Map<string, ParsedFamily>)).toEqual(processFamilies(scrapes[0] as Map<string, ParsedFamily>));
    await Promise.all(brokers.splice(0).map((b) => b.close()));
    // A broker started after others closed registers its families again without a clash.
    const again = await start();
    expect(value(await scrape(again), 'strata_requests_total', { api: 'Metadata' })).toBe(0);
  });

  it('shows Raft elections and leader changes and, on a partition leader, each follower\'s lag', async () => {
    cluster = await startCluster({ nodes: 3, brokerOptions: { logger: silentLogger(), raftTickMs: 50, http: LOCAL } });
    await cluster.waitForController();
    client = new Client({ brokers: [...cluster.bootstrap], clientId: 'metrics-test', retry: { retries: 20, initialRetryTimeMs: 50, maxRetryTimeMs: 500 } });
    const admin = client.admin();
    await admin.createTopics({ topics: [{ topic: 'replicated', numPartitions: 1, replicationFactor: 3 }] });
    await admin.close();
    const leaderId = await cluster.waitForLeader('replicated', 0);
    const producer = client.producer({ acks: 'all', lingerMs: 0 });
    for (let i = 0; i < 4; i++) await producer.send({ topic: 'replicated', messages: [{ value: `v${i}` }] });
    await producer.close();

    const live = cluster.nodeIds.map((id) => cluster?.broker(id)).filter((b): b is Broker => b !== undefined);
    const all = await Promise.all(live.map(scrape));
    const sum = (name: string, group: string) => all.reduce((n, s) => n + value(s, name, { group }), 0);
    // One metadata election at least, and every broker learned who won it.
    expect(sum('strata_raft_elections_started_total', 'metadata')).toBeGreaterThanOrEqual(1);
    expect(sum('strata_raft_elections_started_total', 'partition')).toBeGreaterThanOrEqual(1);
    expect(sum('strata_raft_leader_changes_total', 'metadata')).toBeGreaterThanOrEqual(3);
    expect(sum('strata_raft_term_changes_total', 'metadata')).toBeGreaterThanOrEqual(3);

    const leader = cluster.broker(leaderId) as Broker;
    const followers = cluster.nodeIds.filter((id) => id !== leaderId).map(String);
    // Acknowledged by a majority; the last follower may trail briefly: wait until both hold everything.
    await waitFor(async () => {
      const s = await scrape(leader);
      return followers.every((f) => s.get('strata_partition_follower_lag')?.metrics.some((m) => m.labels?.['follower'] === f && m.labels['topic'] === 'replicated' && m.value === '0') ?? false);
    }, 'both followers to catch up');
    const s = await scrape(leader);
    const series = s.get('strata_partition_follower_lag')?.metrics.filter((m) => m.labels?.['topic'] === 'replicated') ?? [];
    expect(series.map((m) => m.labels?.['follower']).sort()).toEqual(followers.sort());
    // Followers expose no follower lag for the partition.
    for (const id of followers) {
      const f = await scrape(cluster.broker(Number(id)) as Broker);
      expect(f.get('strata_partition_follower_lag')?.metrics.some((m) => m.labels?.['topic'] === 'replicated') ?? false).toBe(false);
    }
  });
});
