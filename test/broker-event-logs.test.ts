// Method: brokers in this process log at info level into a capturing stream (pino JSON lines, parsed
// with JSON.parse); the test waits, with a deadline, for the event lines a real cluster election and
// a real segment roll must produce and checks their fields. The pretty format is checked on the same
// kind of stream, and the format choice as a pure function.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, startBroker, startCluster, type Broker, type EmbeddedCluster } from '../broker/index.js';
import { chooseLogFormat } from '../broker/logger.js';
import { Client } from '../client/index.js';
import { API_KEYS, Connection } from '../client/protocol/index.js';
import { encodeBatch } from '../log/index.js';

type Line = Record<string, unknown>;

/** A destination that keeps every JSON line it is given. */
function capture(): { stream: Writable; lines: Line[] } {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n')) if (text !== '') lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  return { stream, lines };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

let cluster: EmbeddedCluster | undefined;
let client: Client | undefined;
let broker: Broker | undefined;
let connection: Connection | undefined;

afterEach(async () => {
  connection?.close();
  connection = undefined;
  await client?.close();
  client = undefined;
  await cluster?.close();
  cluster = undefined;
  await broker?.close();
  broker = undefined;
});

describe('event log lines', () => {
  it('logs election_started, election_won and leader_changed with group, term and leader when a 3-node cluster elects', async () => {
    const { stream, lines } = capture();
    cluster = await startCluster({ nodes: 3, brokerOptions: { logger: createLogger({ level: 'info', destination: stream }), raftTickMs: 50 } });
    const controller = await cluster.waitForController();
    client = new Client({ brokers: [...cluster.bootstrap], clientId: 'events-test', retry: { retries: 20, initialRetryTimeMs: 50, maxRetryTimeMs: 500 } });
    const admin = client.admin();
    await admin.createTopics({ topics: [{ topic: 'elected', numPartitions: 1, replicationFactor: 3 }] });
    await admin.close();
    const leader = await cluster.waitForLeader('elected', 0);

    const events = (event: string, where: (l: Line) => boolean): Line[] => lines.filter((l) => l['event'] === event && where(l));
    const metadata = (l: Line): boolean => l['component'] === 'metadata';
    const partition = (l: Line): boolean => l['topic'] === 'elected' && l['partition'] === 0;

    // The controller won the metadata election it started; every broker logged who leads.
    const won = events('election_won', metadata);
    expect(won.map((l) => l['nodeId'])).toContain(controller);
    const winning = won.find((l) => l['nodeId'] === controller) as Line;
    expect(typeof winning['term']).toBe('number');
    expect(events('election_started', metadata).some((l) => l['nodeId'] === controller && l['term'] === winning['term'])).toBe(true);
    await waitFor(() => new Set(events('leader_changed', (l) => metadata(l) && l['leader'] === controller && l['term'] === winning['term']).map((l) => l['nodeId'])).size === 3, 'all three brokers to log the controller as metadata leader');

    // The partition's leader likewise, with topic and partition fields.
    await waitFor(() => events('election_won', (l) => partition(l) && l['nodeId'] === leader).length > 0, 'the partition leader to log its win');
    await waitFor(() => new Set(events('leader_changed', (l) => partition(l) && l['leader'] === leader).map((l) => l['nodeId'])).size === 3, 'every replica to log the partition leader');
    for (const line of events('leader_changed', partition)) {
      expect(line).toMatchObject({ level: 30, msg: 'leader changed', topic: 'elected', partition: 0 });
      expect(typeof line['term']).toBe('number');
    }
  });

  it('logs segment_rolled with the partition and the segment offsets when a segment fills', async () => {
    const { stream, lines } = capture();
    broker = await startBroker({ logger: createLogger({ level: 'info', destination: stream }), http: null, defaultTopicConfigs: { 'segment.bytes': '1024' } });
    connection = await Connection.connect({ host: broker.address.host, port: broker.address.port, clientId: 'events-test' });
    await connection.request(API_KEYS.createTopics, { topics: [{ name: 'rolled', partitions: 1, replicationFactor: 1, configs: {} }], timeoutMs: 5000, validateOnly: false });
    for (let i = 0; i < 8; i++) {
      const answer = await connection.request(API_KEYS.produce, { acks: 1, timeoutMs: 5000, topics: [{ name: 'rolled', partitions: [{ partition: 0, records: encodeBatch([{ value: Buffer.alloc(300, i) }]) }] }] });
      expect(answer.topics[0]?.partitions[0]?.errorCode).toBe(0);
    }
    const rolls = lines.filter((l) => l['event'] === 'segment_rolled');
    expect(rolls.length).toBeGreaterThanOrEqual(2);
    expect(rolls[0]).toMatchObject({ msg: 'segment rolled', topic: 'rolled', partition: 0, previousBaseOffset: 0 });
    expect(rolls[0]?.['baseOffset'] as number).toBeGreaterThan(0);
    expect(rolls[1]?.['previousBaseOffset']).toBe(rolls[0]?.['baseOffset']);
  });

  it('writes one short line per entry in the pretty format, and picks it only for a terminal unless told', () => {
    let text = '';
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString('utf8');
        done();
      },
    });
    createLogger({ level: 'info', destination: stream, format: 'pretty' }).child({ topic: 'orders', partition: 3 }).info({ event: 'segment_rolled', baseOffset: 42 }, 'segment rolled');
    expect(text.trimEnd().split('\n')).toHaveLength(1);
    expect(text).toMatch(/INFO.*segment rolled/);
    expect(text).toMatch(/"baseOffset":42/);
    expect(text).not.toMatch(/hostname|"service"/);

    expect(chooseLogFormat({ isTTY: true }, undefined)).toBe('pretty');
    expect(chooseLogFormat({ isTTY: false }, undefined)).toBe('json');
    expect(chooseLogFormat({}, '')).toBe('json');
    expect(chooseLogFormat({ isTTY: true }, 'json')).toBe('json');
    expect(chooseLogFormat({ isTTY: false }, 'pretty')).toBe('pretty');
    expect(() => chooseLogFormat({}, 'xml')).toThrow(/json or pretty, got 'xml'/);
  });
});
