// Method: runs the broker the way an operator does — `broker/main.ts` in a child process, stopped by
// SIGTERM — and in-process for graceful shutdown and the periodic retention task, checking answers
// over real TCP and the files left on disk (clean-shutdown markers, deleted segments).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger, startBroker, type Broker } from '../broker/index.js';
import { API_KEYS, Connection } from '../client/protocol/index.js';
import { decodeBatches, encodeBatch } from '../log/index.js';

const MAIN = path.resolve(import.meta.dirname, '..', 'broker', 'main.ts');
const dirs: string[] = [];
const cleanups: Array<() => Promise<void> | void> = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-broker-life-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

async function connect(port: number): Promise<Connection> {
  const connection = await Connection.connect({ host: '127.0.0.1', port, clientId: 'life' });
  cleanups.push(() => connection.close());
  return connection;
}

async function createTopic(connection: Connection, name: string, configs: Record<string, string> = {}): Promise<void> {
  const response = await connection.request(API_KEYS.createTopics, { topics: [{ name, partitions: 1, replicationFactor: 1, configs }], timeoutMs: 5000, validateOnly: false });
  expect(response.topics[0]?.errorCode).toBe(0);
}

describe('broker lifecycle', () => {
  it('runs as `strata broker start`, prints its address, and shuts down cleanly on SIGTERM', async () => {
    const dataDir = tempDir();
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'broker', 'start', '--data', dataDir, '--listen', '127.0.0.1:0', '--log-level', 'warn'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const firstLine = await new Promise<string>((resolve, reject) => {
      const lines = readline.createInterface({ input: child.stdout });
      lines.once('line', resolve);
      void exited.then(() => reject(new Error(`broker exited before it was ready: ${stderr}`)));
    });
    const match = /^strata broker 0 listening on 127\.0\.0\.1:(\d+) \(http 127\.0\.0\.1:\d+, data (.+)\)$/.exec(firstLine);
    expect(match, firstLine).not.toBeNull();
    const port = Number(match?.[1]);

    const connection = await connect(port);
    await createTopic(connection, 'ops');
    const produced = await connection.request(API_KEYS.produce, {
      acks: 1,
      timeoutMs: 5000,
      topics: [{ name: 'ops', partitions: [{ partition: 0, records: encodeBatch([{ value: 'one' }, { value: 'two' }]) }] }],
    });
    expect(produced.topics[0]?.partitions[0]?.errorCode).toBe(0);
    // A long poll in flight when SIGTERM arrives is answered, not cut off.
    const parked = connection.request(API_KEYS.fetch, {
      maxWaitMs: 30_000,
      minBytes: 1,
      maxBytes: 1 << 20,
      topics: [{ name: 'ops', partitions: [{ partition: 0, fetchOffset: 2, partitionMaxBytes: 1 << 20 }] }],
    });
    await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    const answer = await parked;
    expect(answer.topics[0]?.partitions[0]?.errorCode).toBe(0);
    expect(answer.topics[0]?.partitions[0]?.records.length).toBe(0);
    expect(await exited).toBe(0);
    expect(fs.existsSync(path.join(dataDir, 'ops-0', '.clean-shutdown'))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(dataDir, 'topics.json'), 'utf8')).topics[0].name).toBe('ops');
  });

  it('exits 1 with one line on stderr for a bad command line', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'broker', 'start', '--listen', 'nowhere'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(1);
    expect(stderr).toMatch(/^strata: .*HOST:PORT/);
  });

  it('finishes in-flight requests on close, then refuses new connections', async () => {
    const broker = await startBroker({ listen: { host: '127.0.0.1', port: 0 }, logger: silentLogger() });
    let closed = false;
    cleanups.push(async () => {
      if (!closed) await broker.close();
    });
    const connection = await connect(broker.address.port);
    await createTopic(connection, 'draining');
    const parked = connection.request(API_KEYS.fetch, {
      maxWaitMs: 30_000,
      minBytes: 1,
      maxBytes: 1 << 20,
      topics: [{ name: 'draining', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(broker.pendingFetches).toBe(1);
    const started = Date.now();
    const closing = broker.close();
    const answer = await parked;
    expect(answer.topics[0]?.partitions[0]?.errorCode).toBe(0);
    await closing;
    closed = true;
    expect(Date.now() - started).toBeLessThan(5000);
    await expect(Connection.connect({ host: '127.0.0.1', port: broker.address.port, clientId: 'late', connectTimeoutMs: 1000 })).rejects.toThrow();
  });

  it('compacts a compacted topic periodically, keeping the last record per key at its offset', async () => {
    const broker = await startBroker({ dataDir: tempDir(), listen: { host: '127.0.0.1', port: 0 }, logger: silentLogger(), logCleanupIntervalMs: 50 });
    cleanups.push(() => broker.close());
    const connection = await connect(broker.address.port);
    await createTopic(connection, 'table', { 'segment.bytes': '1024', 'cleanup.policy': 'compact', 'flush.policy': 'never' });
    for (let i = 0; i < 40; i++) {
      await connection.request(API_KEYS.produce, {
        acks: 1,
        timeoutMs: 5000,
        topics: [{ name: 'table', partitions: [{ partition: 0, records: encodeBatch([{ key: `k${i % 3}`, value: `${i}`.padEnd(200, '.') }]) }] }],
      });
    }
    // A fetch returns batches from one segment at a time: read on until the high watermark. Start at
    // the log start offset: compaction can empty the oldest segments, and retention then drops them.
    const readAll = async () => {
      const all: Array<{ offset: number; value: Buffer | null }> = [];
      const earliest = await connection.request(API_KEYS.listOffsets, { topics: [{ name: 'table', partitions: [{ partition: 0, timestamp: -2 }] }] });
      for (let offset = earliest.topics[0]?.partitions[0]?.offset ?? 0; offset < 40; ) {
        const response = await connection.request(API_KEYS.fetch, {
          maxWaitMs: 0,
          minBytes: 1,
          maxBytes: 1 << 20,
          topics: [{ name: 'table', partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 20 }] }],
        });
        const result = response.topics[0]?.partitions[0];
        // Retention may move the start between reads: follow it rather than stop.
        if (result?.errorCode === 1 && result.logStartOffset > offset) {
          all.length = 0;
          offset = result.logStartOffset;
          continue;
        }
        const batches = [...decodeBatches(result?.records ?? Buffer.alloc(0))];
        const last = batches.at(-1);
        if (last === undefined) break;
        all.push(...batches.flatMap((b) => b.records));
        offset = last.header.baseOffset + last.header.lastOffsetDelta + 1;
      }
      return all;
    };
    let records = await readAll();
    for (let i = 0; i < 200 && records.length === 40; i++) {
      await new Promise((r) => setTimeout(r, 20));
      records = await readAll();
    }
    expect(records.length).toBeLessThan(40);
    // Offsets never change; the newest record of every key is still there.
    for (const record of records) expect(record.value?.toString().startsWith(`${record.offset}.`)).toBe(true);
    expect(records.some((r) => r.offset === 39)).toBe(true);
    const offsets = records.map((r) => r.offset);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
  });

  it('runs retention periodically, never past the high watermark', async () => {
    let broker: Broker | undefined = await startBroker({ dataDir: tempDir(), listen: { host: '127.0.0.1', port: 0 }, logger: silentLogger(), logCleanupIntervalMs: 50 });
    cleanups.push(async () => broker?.close());
    const connection = await connect(broker.address.port);
    await createTopic(connection, 'rolling', { 'segment.bytes': '1024', 'retention.bytes': '2048', 'flush.policy': 'never' });
    for (let i = 0; i < 40; i++) {
      await connection.request(API_KEYS.produce, {
        acks: 1,
        timeoutMs: 5000,
        topics: [{ name: 'rolling', partitions: [{ partition: 0, records: encodeBatch([{ value: `${i}`.padEnd(200, '.') }]) }] }],
      });
    }
    const partition = broker.partitions.partition('rolling', 0);
    let earliest = 0;
    // A pass may have run while producing; wait for one after the last append.
    for (let i = 0; i < 200 && (earliest === 0 || (partition?.log.sizeBytes ?? 0) > 2048 + 1024); i++) {
      await new Promise((r) => setTimeout(r, 20));
      const listed = await connection.request(API_KEYS.listOffsets, { topics: [{ name: 'rolling', partitions: [{ partition: 0, timestamp: -2 }, { partition: 0, timestamp: -1 }] }] });
      earliest = listed.topics[0]?.partitions[0]?.offset ?? 0;
      expect(listed.topics[0]?.partitions[1]?.offset).toBe(40);
    }
    expect(earliest).toBeGreaterThan(0);
    expect(earliest).toBeLessThan(40);
    expect(partition?.log.sizeBytes).toBeLessThanOrEqual(2048 + 1024);
    await broker.close();
    broker = undefined;
  });
});
