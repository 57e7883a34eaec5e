// Method: bad data and failing storage under a real broker. A data dir is prepared by an in-process
// broker, then one batch of a compacted topic's sealed segment is rewritten with fs so that its CRC
// is valid but its records do not decode (as issue 8's bug 1 left it); `strata broker start` runs on
// it with a short cleanup interval, and the test waits (by its debug log, never by a sleep) for
// several cleanup passes, then produces and fetches over TCP, then restarts it. A storage failure is
// injected in-process by a directory standing where a partition's next segment file must go. An
// undecodable batch in a `__consumer_offsets` partition must not stop the broker from starting.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, silentLogger, startBroker, type Broker } from '../broker/index.js';
import { API_KEYS, Connection, ERRORS } from '../client/protocol/index.js';
import { offsetsPartitionFor } from '../broker/group/offsets-topic.js';
import { BatchField, decodeBatches, encodeBatch } from '../log/index.js';
import { computeBatchCrc } from '../log/batch-header.js';

const CLI = path.resolve(import.meta.dirname, '..', 'broker', 'cli.ts');
const STORAGE_ERROR = 56;
const dirs: string[] = [];
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-storage-failures-'));
  dirs.push(dir);
  return dir;
}

async function connect(port: number): Promise<Connection> {
  const connection = await Connection.connect({ host: '127.0.0.1', port, clientId: 'storage-failures' });
  cleanups.push(() => connection.close());
  return connection;
}

async function createTopic(connection: Connection, name: string, configs: Record<string, string>): Promise<void> {
  const response = await connection.request(API_KEYS.createTopics, { topics: [{ name, partitions: 1, replicationFactor: 1, configs }], timeoutMs: 5000, validateOnly: false });
  expect(response.topics[0]?.errorCode).toBe(0);
}

async function produce(connection: Connection, topic: string, records: Buffer): Promise<{ errorCode: number; baseOffset: number }> {
  const response = await connection.request(API_KEYS.produce, { acks: 1, timeoutMs: 5000, topics: [{ name: topic, partitions: [{ partition: 0, records }] }] });
  const result = response.topics[0]?.partitions[0];
  return { errorCode: result?.errorCode ?? -1, baseOffset: result?.baseOffset ?? -1 };
}

/** The values of the records fetched from `offset` (one fetch, up to 1 MiB). */
async function fetchValues(connection: Connection, topic: string, offset: number): Promise<string[]> {
  const response = await connection.request(API_KEYS.fetch, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    topics: [{ name: topic, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 20 }] }],
  });
  const result = response.topics[0]?.partitions[0];
  expect(result?.errorCode).toBe(0);
  return [...decodeBatches(result?.records ?? Buffer.alloc(0))].flatMap((b) => b.records.filter((r) => r.offset >= offset).map((r) => r.value?.toString() ?? ''));
}

/** Resolves once `condition` holds, checking every 20 ms; fails with `describe()` after the deadline. */
async function waitFor(condition: () => boolean, describe: () => string, deadlineMs = 30_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface LogLine {
  level: number;
  msg: string;
  topic?: string;
  segment?: string;
  dir?: string;
  errorName?: string;
  err?: { message?: string };
}

function parseLines(text: string): LogLine[] {
  return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
}

/** `strata broker start` on a free port, with its stderr (JSON logs) collected from the first byte. */
class BrokerChild {
  readonly child: ChildProcessWithoutNullStreams;
  stderr = '';
  readonly port: Promise<number>;

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', CLI, 'broker', 'start', ...args]);
    cleanups.push(() => {
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    });
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.port = new Promise((resolve, reject) => {
      let out = '';
      this.child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        const match = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
        if (match !== null) resolve(Number(match[1]));
      });
      this.child.on('exit', (code) => reject(new Error(`broker exited ${code} before listening: ${this.stderr}`)));
    });
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  lines(): LogLine[] {
    return parseLines(this.stderr);
  }

  stop(): Promise<number | null> {
    const exited = new Promise<number | null>((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.kill('SIGTERM');
    return exited;
  }
}

/**
 * Rewrites the first batch of `file` to claim one record fewer than it holds, with a valid CRC: it
 * passes every header check, but its records no longer decode.
 */
function poisonFirstBatch(file: string): void {
  const bytes = fs.readFileSync(file);
  const size = 12 + bytes.readInt32BE(BatchField.batchLength);
  bytes.writeInt32BE(bytes.readInt32BE(BatchField.recordsCount) - 1, BatchField.recordsCount);
  bytes.writeUInt32BE(computeBatchCrc(bytes, 0, size), BatchField.crc);
  fs.writeFileSync(file, bytes);
}

describe('a broker whose compacted topic holds an undecodable batch in a sealed segment', () => {
  it('stays up across cleanup passes and a restart, logs the uncleanable log once, and serves produce and fetch', async () => {
    const dataDir = tempDir();
    const prepared = await startBroker({ dataDir, listen: { host: '127.0.0.1', port: 0 }, http: null, logger: silentLogger() });
    const setup = await connect(prepared.address.port);
    await createTopic(setup, 'compacted', { 'cleanup.policy': 'compact', 'segment.bytes': '1024' });
    await createTopic(setup, 'plain', {});
    for (let i = 0; i < 30; i++) {
      const sent = await produce(setup, 'compacted', encodeBatch([0, 1, 2].map((k) => ({ key: `k${k}`, value: `v${i}-${k}`.padEnd(60, '.') }))));
      expect(sent.errorCode).toBe(0);
    }
    expect((await produce(setup, 'plain', encodeBatch([{ value: 'p0' }]))).errorCode).toBe(0);
    await setup.close();
    await prepared.close();
    const partitionDir = path.join(dataDir, 'compacted-0');
    const segments = fs.readdirSync(partitionDir).filter((name) => name.endsWith('.log')).sort();
    expect(segments.length).toBeGreaterThan(3);
    const poisoned = path.join(partitionDir, segments[0] as string);
    poisonFirstBatch(poisoned);
    const config = path.join(dataDir, '..', `${path.basename(dataDir)}.json`);
    fs.writeFileSync(config, JSON.stringify({ logCleanupIntervalMs: 50 }));
    cleanups.push(() => fs.rmSync(config, { force: true }));

    let offset = 90;
    for (const round of ['first start', 'restart']) {
      const broker = new BrokerChild(['--config', config, '--data', dataDir, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--log-level', 'debug']);
      const port = await broker.port;
      const passes = (): number => broker.lines().filter((l) => l.msg === 'compaction pass' && l.topic === 'compacted').length;
      const uncleanable = (): LogLine[] => broker.lines().filter((l) => l.level === 50 && /uncleanable/.test(l.msg));
      await waitFor(() => !broker.alive || (uncleanable().length > 0 && passes() >= 5), () => `${round}: ${passes()} passes; stderr: ${broker.stderr.slice(-3000)}`);
      expect(broker.alive, `${round}: ${broker.stderr.slice(-3000)}`).toBe(true);
      expect(uncleanable()).toHaveLength(1);
      expect(uncleanable()[0]).toMatchObject({ topic: 'compacted', segment: poisoned, dir: partitionDir, errorName: 'INVALID_RECORD' });
      expect(uncleanable()[0]?.err?.message).toContain(poisoned);

      const connection = await connect(port);
      const compacted = await produce(connection, 'compacted', encodeBatch([{ key: 'k0', value: `after ${round}` }]));
      expect(compacted).toEqual({ errorCode: 0, baseOffset: offset });
      expect(await fetchValues(connection, 'compacted', offset)).toEqual([`after ${round}`]);
      const plain = await produce(connection, 'plain', encodeBatch([{ value: round }]));
      expect(plain.errorCode).toBe(0);
      expect(await fetchValues(connection, 'plain', plain.baseOffset)).toEqual([round]);
      offset += 1;
      await connection.close();
      expect(broker.alive).toBe(true);
      expect(await broker.stop()).toBe(0);
    }
  }, 120_000);
});

describe('a storage failure on one partition', () => {
  it('fails that partition only: KAFKA_STORAGE_ERROR to produce, logged once with its directory and cause', async () => {
    const dataDir = tempDir();
    let logs = '';
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs += chunk.toString();
        done();
      },
    });
    const broker: Broker = await startBroker({ dataDir, listen: { host: '127.0.0.1', port: 0 }, logger: createLogger({ level: 'info', destination }) });
    cleanups.push(() => broker.close());
    const connection = await connect(broker.address.port);
    await createTopic(connection, 'fragile', { 'segment.bytes': '1024' });
    await createTopic(connection, 'sturdy', {});
    expect((await produce(connection, 'fragile', encodeBatch([{ value: 'x'.repeat(600) }]))).errorCode).toBe(0);
    // The next batch does not fit the active segment: the roll meets a directory where its file goes.
    const partitionDir = path.join(dataDir, 'fragile-0');
    const blocked = path.join(partitionDir, `${'1'.padStart(20, '0')}.log`);
    fs.mkdirSync(blocked);

    expect((await produce(connection, 'fragile', encodeBatch([{ value: 'y'.repeat(600) }]))).errorCode).toBe(STORAGE_ERROR);
    expect((await produce(connection, 'fragile', encodeBatch([{ value: 'z' }]))).errorCode).toBe(STORAGE_ERROR);
    expect(await fetchValues(connection, 'fragile', 0)).toEqual(['x'.repeat(600)]);
    const sturdy = await produce(connection, 'sturdy', encodeBatch([{ value: 'fine' }]));
    expect(sturdy.errorCode).toBe(0);
    expect(await fetchValues(connection, 'sturdy', 0)).toEqual(['fine']);

    const errors = parseLines(logs).filter((l) => l.level >= 50);
    expect(errors, logs).toHaveLength(1);
    expect(errors[0]).toMatchObject({ topic: 'fragile', dir: partitionDir, errorName: 'KAFKA_STORAGE_ERROR' });
    expect(errors[0]?.err?.message).toContain(blocked);
    // pino folds the cause into the message: the OS error is there.
    expect(errors[0]?.err?.message).toMatch(/EEXIST/);

    // Shown where the broker reports partitions.
    const http = `http://${broker.httpAddress?.host}:${broker.httpAddress?.port}`;
    const described = (await (await fetch(`${http}/v1/topics/fragile`)).json()) as { partitions: Array<{ status: string; uncleanable: boolean }> };
    expect(described.partitions[0]).toMatchObject({ status: 'failed', uncleanable: false });
    const metrics = await (await fetch(`${http}/metrics`)).text();
    expect(metrics).toMatch(/strata_partition_failed\{topic="fragile",partition="0"\} 1/);
    expect(metrics).toMatch(/strata_partition_failed\{topic="sturdy",partition="0"\} 0/);
  });
});

describe('a broker whose __consumer_offsets partition holds an undecodable batch', () => {
  it('starts, answers COORDINATOR_NOT_AVAILABLE for that partition\'s groups and serves the others', async () => {
    const dataDir = tempDir();
    const options = { dataDir, listen: { host: '127.0.0.1', port: 0 }, http: null, logger: silentLogger(), offsetsTopicPartitions: 3 };
    // Two groups coordinated by different offsets partitions.
    const groups = ['g0', 'g1', 'g2', 'g3', 'g4', 'g5'];
    const poisonedGroup = groups[0] as string;
    const healthyGroup = groups.find((g) => offsetsPartitionFor(g, 3) !== offsetsPartitionFor(poisonedGroup, 3)) as string;
    const commit = (connection: Connection, groupId: string, offset: number) =>
      connection.request(API_KEYS.offsetCommit, {
        groupId, memberId: '', memberEpoch: -1, topics: [{ name: 'orders', partitions: [{ partition: 0, committedOffset: offset, committedMetadata: '' }] }],
      });
    const first = await startBroker(options);
    const setup = await connect(first.address.port);
    await createTopic(setup, 'orders', {});
    expect((await commit(setup, poisonedGroup, 5)).errorCode).toBe(0);
    expect((await commit(setup, healthyGroup, 7)).errorCode).toBe(0);
    await setup.close();
    await first.close();
    poisonFirstBatch(path.join(dataDir, `__consumer_offsets-${offsetsPartitionFor(poisonedGroup, 3)}`, `${'0'.padStart(20, '0')}.log`));

    const second = await startBroker(options);
    cleanups.push(() => second.close());
    const connection = await connect(second.address.port);
    const refused = await connection.request(API_KEYS.offsetFetch, { groupId: poisonedGroup, topics: [], allTopics: true });
    expect(refused.errorCode).toBe(ERRORS.COORDINATOR_NOT_AVAILABLE.code);
    const served = await connection.request(API_KEYS.offsetFetch, { groupId: healthyGroup, topics: [], allTopics: true });
    expect(served.errorCode).toBe(0);
    expect(served.topics).toEqual([{ name: 'orders', partitions: [expect.objectContaining({ partition: 0, committedOffset: 7 })] }]);
  });
});
