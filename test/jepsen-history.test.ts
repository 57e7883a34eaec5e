// Method: the Jepsen fixture's plumbing against one in-process broker, without faults: concurrent
// writers' sends recorded through RecordedProducer, the topic read back with readTopic, and the
// shared checker's verdict clean, with every ok write at its acknowledged offset; plus which errors
// count as failed and which as unknown. Fault tests (test/cluster-kill9.test.ts) rely on both.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, startBroker, type Broker } from '../broker/index.js';
import { Client, StrataError } from '../client/index.js';
import { describeVerdict, WriteHistory } from '../replication/index.js';
import { outcomeOfError, readTopic, RecordedProducer } from './fixtures/jepsen-history.js';

let dir: string;
let broker: Broker;
let client: Client;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-jepsen-history-'));
  broker = await startBroker({ dataDir: dir, listen: { host: '127.0.0.1', port: 0 }, http: null, logger: silentLogger() });
  client = new Client({ brokers: [`${broker.address.host}:${broker.address.port}`], clientId: 'jepsen-history-test' });
});

afterAll(async () => {
  await client?.close();
  await broker?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('RecordedProducer and readTopic', () => {
  it('record every send and read the topic back into a clean verdict', async () => {
    const topic = 'jepsen-plumbing';
    const admin = client.admin();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    await admin.close();
    const history = new WriteHistory();
    const producer = client.producer({ acks: 'all', lingerMs: 1 });
    const recorder = new RecordedProducer(history, producer, topic);
    // Three writers, one send in flight each, round-robin over the partitions.
    await Promise.all(
      [0, 1, 2].map(async (w) => {
        for (let i = 0; i < 40; i++) expect(await recorder.send(`w${w}`, i % 3, `w${w}-${i}`)).toBe('ok');
      }),
    );
    await recorder.settled();
    await producer.close();
    const reads = await readTopic(client, topic, 10_000);
    expect(reads).toHaveLength(120);
    const verdict = history.check(reads);
    expect(verdict, describeVerdict(verdict)).toMatchObject({ ok: 120, failed: 0, unknown: 0, lost: [], duplicated: [], unexpected: [], reordered: [] });
    expect(recorder.errorCounts()).toEqual({});
  });

  it('read an empty topic as nothing, at once', async () => {
    const admin = client.admin();
    await admin.createTopics({ topics: [{ topic: 'jepsen-empty', numPartitions: 2 }] });
    await admin.close();
    expect(await readTopic(client, 'jepsen-empty', 1000)).toEqual([]);
  });
});

describe('outcomeOfError', () => {
  it('calls only refusals of the content failed; anything that may have been written is unknown', () => {
    expect(outcomeOfError(new StrataError('INVALID_RECORD'))).toBe('failed');
    expect(outcomeOfError(new StrataError('MESSAGE_TOO_LARGE'))).toBe('failed');
    expect(outcomeOfError(new StrataError('NOT_LEADER_OR_FOLLOWER'))).toBe('unknown');
    expect(outcomeOfError(new StrataError('REQUEST_TIMED_OUT'))).toBe('unknown');
    expect(outcomeOfError(new StrataError('NETWORK_EXCEPTION'))).toBe('unknown');
    expect(outcomeOfError(new Error('socket hang up'))).toBe('unknown');
  });
});
