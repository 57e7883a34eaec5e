// Method: atomicity of one transaction over 3 topics x 3 partitions, on a real broker in-process
// (transaction timeouts checked every 100 ms). The transaction is committed, aborted explicitly,
// left to pass its timeout, and left open by a producer process killed with kill -9 after its
// records were acknowledged. After each, a second producer commits one sentinel record to every
// partition; a read_committed reader reads every partition until it has seen its sentinel, so
// "nothing of the transaction is visible" is proven by what came instead of by waiting. A committed
// transaction must show all its 90 records, in order per partition; the others none (a
// read_uncommitted reader sees them, so they were written).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, startBroker, type Broker } from '../broker/index.js';
import { Client, type Isolation } from '../client/index.js';
import { stopProcess } from './fixtures/strata-process.js';
import { waitUntil } from './fixtures/wait-until.js';

const TOPICS = ['atom-a', 'atom-b', 'atom-c'];
const PARTITIONS = 3;
const RECORDS = 10;
const script = path.resolve(import.meta.dirname, 'fixtures', 'txn-producer-process.ts');

let broker: Broker;
let client: Client;
let dataDir: string;
let sentinels = 0;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-atomicity-'));
  broker = await startBroker({ dataDir, listen: { host: '127.0.0.1', port: 0 }, http: null, shutdownGraceMs: 200, logger: silentLogger(), transactionTimeoutCheckIntervalMs: 100 });
  client = new Client({ brokers: [`127.0.0.1:${broker.address.port}`], clientId: 'atomicity', retry: { retries: 8, initialRetryTimeMs: 50 } });
  const admin = client.admin();
  await admin.createTopics({ topics: TOPICS.map((topic) => ({ topic, numPartitions: PARTITIONS })) });
  await admin.close();
});

afterAll(async () => {
  await client?.close();
  await broker?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** The records one transaction of `id` writes: RECORDS to every partition of every topic. */
function messagesOf(id: string, topic: string, partition: number): Array<{ value: string; partition: number }> {
  return Array.from({ length: RECORDS }, (_, i) => ({ value: `${id}-${topic}-${partition}-${i}`, partition }));
}

async function sendAll(transaction: Awaited<ReturnType<ReturnType<Client['producer']>['transaction']>>, id: string): Promise<void> {
  for (const topic of TOPICS) {
    for (let partition = 0; partition < PARTITIONS; partition++) await transaction.send({ topic, messages: messagesOf(id, topic, partition) });
  }
}

/**
 * Commits a sentinel to every partition, then reads every partition from the start with `isolation`
 * until its sentinel: the values read before it, by topic and partition.
 */
async function readUpToSentinel(isolation: Isolation): Promise<Map<string, string[]>> {
  const sentinel = `sentinel-${++sentinels}`;
  const producer = client.producer({ transactionalId: `atomicity-sentinel-${sentinels}` });
  const transaction = await producer.transaction();
  for (const topic of TOPICS) {
    for (let partition = 0; partition < PARTITIONS; partition++) await transaction.send({ topic, messages: [{ value: sentinel, partition }] });
  }
  await transaction.commit();
  await producer.close();

  const read = new Map<string, string[]>();
  const consumer = client.consumer({ initialOffset: 'earliest', isolation, maxWaitMs: 100 });
  const reached = new Set<string>();
  const timer = setTimeout(() => void consumer.stop(), 30_000);
  try {
    await consumer.assign(TOPICS.flatMap((topic) => Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition }))));
    for await (const message of consumer) {
      const key = `${message.topic}-${message.partition}`;
      const value = message.value!.toString();
      if (value === sentinel) reached.add(key);
      else if (!reached.has(key) && !value.startsWith('sentinel-')) read.set(key, [...(read.get(key) ?? []), value]);
      if (reached.size === TOPICS.length * PARTITIONS) break;
    }
  } finally {
    clearTimeout(timer);
    await consumer.close();
  }
  expect(reached.size, `every partition's sentinel read with ${isolation}`).toBe(TOPICS.length * PARTITIONS);
  return read;
}

/** The values of transaction `id` among what was read. */
function valuesOf(read: Map<string, string[]>, id: string): string[] {
  return [...read.values()].flat().filter((value) => value.startsWith(`${id}-`));
}

describe('a transaction over 3 topics x 3 partitions', () => {
  it('once committed, shows all its records, in order per partition', async () => {
    const producer = client.producer({ transactionalId: 'atom-commit' });
    const transaction = await producer.transaction();
    await sendAll(transaction, 'atom-commit');
    await transaction.commit();
    await producer.close();
    const read = await readUpToSentinel('read_committed');
    for (const topic of TOPICS) {
      for (let partition = 0; partition < PARTITIONS; partition++) {
        expect(read.get(`${topic}-${partition}`)?.filter((v) => v.startsWith('atom-commit-'))).toEqual(messagesOf('atom-commit', topic, partition).map((m) => m.value));
      }
    }
  });

  it('aborted explicitly, shows nothing', async () => {
    const producer = client.producer({ transactionalId: 'atom-abort' });
    const transaction = await producer.transaction();
    await sendAll(transaction, 'atom-abort');
    await transaction.abort();
    await producer.close();
    expect(valuesOf(await readUpToSentinel('read_committed'), 'atom-abort')).toEqual([]);
    expect(valuesOf(await readUpToSentinel('read_uncommitted'), 'atom-abort')).toHaveLength(TOPICS.length * PARTITIONS * RECORDS);
  });

  it('aborted by its timeout, shows nothing, and its producer is fenced', async () => {
    const producer = client.producer({ transactionalId: 'atom-timeout', transactionTimeoutMs: 1000 });
    const transaction = await producer.transaction();
    await sendAll(transaction, 'atom-timeout');
    const admin = client.admin();
    try {
      await waitUntil(async () => (await admin.describeTransactions(['atom-timeout']))[0]?.state === 'CompleteAbort', 'the coordinator aborting the timed-out transaction', 30_000, 50);
    } finally {
      await admin.close();
    }
    await expect(transaction.commit()).rejects.toThrow(/timed out|fenced|took over/i);
    await producer.close().catch(() => undefined);
    expect(valuesOf(await readUpToSentinel('read_committed'), 'atom-timeout')).toEqual([]);
  });

  it('left open by a producer killed with kill -9, shows nothing once its timeout aborts it', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, '--bootstrap', `127.0.0.1:${broker.address.port}`, '--transactional-id', 'atom-killed', '--topics', TOPICS.join(','), '--partitions', String(PARTITIONS), '--records', String(RECORDS), '--timeout-ms', '1500']);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let sent = false;
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      if (line === 'sent') sent = true;
    });
    try {
      await waitUntil(() => sent || child.exitCode !== null, 'the producer process sending its transaction', 60_000);
      expect(sent, stderr).toBe(true);
    } finally {
      await stopProcess(child, 'SIGKILL');
    }
    // Open, its records held back from read_committed readers, until the coordinator's timeout.
    expect(valuesOf(await readUpToSentinel('read_uncommitted'), 'atom-killed')).toHaveLength(TOPICS.length * PARTITIONS * RECORDS);
    expect(valuesOf(await readUpToSentinel('read_committed'), 'atom-killed')).toEqual([]);
  });
});
