// Method: sends hostile and malformed input to a real broker over raw TCP sockets (hand-built frames,
// corrupted batches, floods of connections, clients that vanish mid-request) and checks each answer
// code, then that the broker still serves a normal client afterwards.
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, startBroker, UNKNOWN_API_KEY, type Broker } from '../broker/index.js';
import {
  API_KEYS,
  Connection,
  decodeResponseFrame,
  encodeRequestFrame,
  ERRORS,
  FrameReader,
  isApiKey,
  type ApiKey,
} from '../client/protocol/index.js';
import { computeBatchCrc } from '../log/batch-header.js';
import { BatchField, encodeBatch } from '../log/index.js';

const MAX_FRAME_BYTES = 256 * 1024;
const MAX_CONNECTIONS = 8;

let broker: Broker;
const sockets: net.Socket[] = [];
const connections: Connection[] = [];

/** A client that speaks raw bytes and reads raw response frames. */
class RawClient {
  readonly socket: net.Socket;
  private readonly reader = new FrameReader(1 << 30);
  private readonly frames: Buffer[] = [];
  private waiter: (() => void) | undefined;
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      this.frames.push(...this.reader.push(chunk));
      this.waiter?.();
    });
    socket.on('close', () => this.waiter?.());
  }

  static connect(): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: broker.address.host, port: broker.address.port });
      sockets.push(socket);
      socket.once('connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next response frame's payload; rejects if the socket closes or nothing comes in time. */
  async next(timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.socket.destroyed || this.socket.readableEnded) throw new Error('socket closed before a response');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no response in time');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.frames.shift() as Buffer;
  }

  async response<K extends ApiKey>(apiKey: K) {
    return decodeResponseFrame(apiKey, await this.next());
  }
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

/** A RequestHeader written by hand (so any api key and version can be sent), delimited, then `body`. */
function rawFrame(apiKey: number, apiVersion: number, correlationId: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const clientId = Buffer.from('raw');
  const header = Buffer.from([0x08, ...varint(apiKey), 0x10, ...varint(apiVersion), 0x18, ...varint(correlationId), 0x22, clientId.length, ...clientId]);
  const payload = Buffer.concat([Buffer.from(varint(header.length)), header, body]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(payload.length);
  return Buffer.concat([length, payload]);
}

function lengthPrefixed(payload: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(payload.length);
  return Buffer.concat([length, payload]);
}

async function connect(): Promise<Connection> {
  const connection = await Connection.connect({ host: broker.address.host, port: broker.address.port, clientId: 'normal' });
  connections.push(connection);
  return connection;
}

/** A fresh, well-behaved client gets a correct answer. */
async function expectServesNormalClient(): Promise<void> {
  const connection = await connect();
  const metadata = await connection.request(API_KEYS.metadata, { topics: ['victim'], allTopics: false });
  expect(metadata.topics[0]?.errorCode).toBe(0);
  const produced = await connection.request(API_KEYS.produce, {
    acks: 1,
    timeoutMs: 5000,
    topics: [{ name: 'victim', partitions: [{ partition: 0, records: encodeBatch([{ value: 'still alive' }]) }] }],
  });
  expect(produced.topics[0]?.partitions[0]?.errorCode).toBe(0);
  await connection.close();
}

function produceRequest(topic: string, partition: number, records: Buffer, acks = 1) {
  return { acks, timeoutMs: 5000, topics: [{ name: topic, partitions: [{ partition, records }] }] };
}

beforeAll(async () => {
  broker = await startBroker({
    listen: { host: '127.0.0.1', port: 0 },
    logger: silentLogger(),
    maxFrameBytes: MAX_FRAME_BYTES,
    maxConnections: MAX_CONNECTIONS,
    maxInFlightRequestsPerConnection: 4,
  });
  const connection = await connect();
  const created = await connection.request(API_KEYS.createTopics, {
    topics: [
      { name: 'victim', partitions: 2, replicationFactor: 1, configs: {} },
      { name: 'small', partitions: 1, replicationFactor: 1, configs: { 'max.message.bytes': '1024' } },
    ],
    timeoutMs: 5000,
    validateOnly: false,
  });
  expect(created.topics.map((t) => t.errorCode)).toEqual([0, 0]);
});

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(connections.splice(0).map((c) => c.close()));
  // Let the broker see the closes before the next test counts connections.
  for (let i = 0; i < 100 && broker.stats.connectionsOpen > 0; i++) await new Promise((r) => setTimeout(r, 10));
});

afterAll(async () => {
  await broker.close();
});

describe('broker under bad input', () => {
  it('closes a connection whose frame header cannot be read', async () => {
    const client = await RawClient.connect();
    const before = broker.stats.connectionsClosedForProtocolErrors;
    client.write(lengthPrefixed(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])));
    await client.closed;
    expect(broker.stats.connectionsClosedForProtocolErrors).toBe(before + 1);
    await expectServesNormalClient();
  });

  it('answers INVALID_REQUEST to a readable header with an unreadable body, and keeps the connection', async () => {
    const client = await RawClient.connect();
    // Field 1 with wire type 7 (invalid) as the produce body.
    client.write(rawFrame(API_KEYS.produce, 0, 41, Buffer.from([0x0f, 0xff, 0xff])));
    const response = await client.response(API_KEYS.produce);
    expect(response.header).toEqual({ correlationId: 41, errorCode: ERRORS.INVALID_REQUEST.code });
    client.write(rawFrame(API_KEYS.apiVersions, 0, 42));
    const versions = await client.response(API_KEYS.apiVersions);
    expect(versions.header.correlationId).toBe(42);
    expect(versions.body?.apis.length).toBeGreaterThan(0);
    await expectServesNormalClient();
  });

  it('closes a connection that announces a frame over maxFrameBytes', async () => {
    const client = await RawClient.connect();
    const length = Buffer.alloc(4);
    length.writeUInt32BE(0x7fffffff);
    client.write(length);
    await client.closed;
    const huge = await RawClient.connect();
    huge.write(lengthPrefixed(Buffer.alloc(MAX_FRAME_BYTES + 1)));
    await huge.closed;
    await expectServesNormalClient();
  });

  it('answers UNSUPPORTED_VERSION to an unknown api key and to an unsupported version', async () => {
    const client = await RawClient.connect();
    client.write(rawFrame(99, 0, 7));
    expect((await client.response(API_KEYS.apiVersions)).header).toEqual({ correlationId: 7, errorCode: ERRORS.UNSUPPORTED_VERSION.code });
    client.write(rawFrame(API_KEYS.metadata, 9, 8));
    expect((await client.response(API_KEYS.metadata)).header).toEqual({ correlationId: 8, errorCode: ERRORS.UNSUPPORTED_VERSION.code });
    const stats = broker.stats.snapshot();
    expect(stats.apis[UNKNOWN_API_KEY]?.errors).toBeGreaterThanOrEqual(1);
    expect(stats.apis[99]).toBeUndefined();
    await expectServesNormalClient();
  });

  it('answers a single chunk of thousands of unanswerable frames in order, without deepening the stack', async () => {
    const client = await RawClient.connect();
    const count = 20_000;
    // Keys no API has (1000 and up are Strata's own APIs, so skip the registered ones).
    const unknownKeys = Array.from({ length: 60 }, (_, i) => 1000 + i).filter((key) => !isApiKey(key)).slice(0, 50);
    client.write(Buffer.concat(Array.from({ length: count }, (_, i) => rawFrame(unknownKeys[i % unknownKeys.length] as number, 0, i))));
    for (let i = 0; i < count; i++) {
      const response = decodeResponseFrame(API_KEYS.apiVersions, await client.next());
      if (response.header.correlationId !== i || response.header.errorCode !== ERRORS.UNSUPPORTED_VERSION.code) {
        expect(response.header).toEqual({ correlationId: i, errorCode: ERRORS.UNSUPPORTED_VERSION.code });
      }
    }
    await expectServesNormalClient();
  });

  it('answers UNKNOWN_TOPIC_OR_PARTITION per partition for produce, fetch and list offsets', async () => {
    const connection = await connect();
    const produced = await connection.request(API_KEYS.produce, {
      acks: 1,
      timeoutMs: 5000,
      topics: [
        { name: 'victim', partitions: [{ partition: 0, records: encodeBatch([{ value: 'ok' }]) }, { partition: 9, records: encodeBatch([{ value: 'x' }]) }] },
        { name: 'nowhere', partitions: [{ partition: 0, records: encodeBatch([{ value: 'x' }]) }] },
      ],
    });
    expect(produced.topics.map((t) => t.partitions.map((p) => p.errorCode))).toEqual([
      [0, ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code],
      [ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code],
    ]);
    expect(produced.topics[1]?.partitions[0]?.baseOffset).toBe(-1);
    const fetched = await connection.request(API_KEYS.fetch, {
      maxWaitMs: 5000,
      minBytes: 1 << 20,
      maxBytes: 1 << 20,
      topics: [{ name: 'nowhere', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1024 }] }],
    });
    expect(fetched.topics[0]?.partitions[0]?.errorCode).toBe(ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code);
    await expectServesNormalClient();
  });

  it('rejects invalid topic names, replication factors, partition counts and configs on create', async () => {
    const connection = await connect();
    const topic = (name: string, extra: Partial<{ partitions: number; replicationFactor: number; configs: Record<string, string> }> = {}) => ({
      name,
      partitions: 1,
      replicationFactor: 1,
      configs: {},
      ...extra,
    });
    const response = await connection.request(API_KEYS.createTopics, {
      topics: [
        topic('.'),
        topic('..'),
        topic(''),
        topic('a/b'),
        topic('x'.repeat(250)),
        topic('rf3', { replicationFactor: 3 }),
        topic('rf0', { replicationFactor: 0 }),
        topic('p0', { partitions: 0 }),
        topic('cfg-unknown', { configs: { 'retention.msec': '1' } }),
        topic('cfg-bad', { configs: { 'segment.bytes': 'lots' } }),
        topic('cfg-range', { configs: { 'flush.policy': 'sometimes' } }),
        topic('victim'),
        topic('twice'),
        topic('twice'),
      ],
      timeoutMs: 5000,
      validateOnly: false,
    });
    const codes = Object.fromEntries(response.topics.map((t, i) => [`${i}:${t.name.slice(0, 12)}`, t.errorCode]));
    expect(codes).toEqual({
      '0:.': ERRORS.INVALID_TOPIC_EXCEPTION.code,
      '1:..': ERRORS.INVALID_TOPIC_EXCEPTION.code,
      '2:': ERRORS.INVALID_TOPIC_EXCEPTION.code,
      '3:a/b': ERRORS.INVALID_TOPIC_EXCEPTION.code,
      [`4:${'x'.repeat(12)}`]: ERRORS.INVALID_TOPIC_EXCEPTION.code,
      '5:rf3': ERRORS.INVALID_REPLICATION_FACTOR.code,
      '6:rf0': ERRORS.INVALID_REPLICATION_FACTOR.code,
      '7:p0': ERRORS.INVALID_PARTITIONS.code,
      '8:cfg-unknown': ERRORS.INVALID_CONFIG.code,
      '9:cfg-bad': ERRORS.INVALID_CONFIG.code,
      '10:cfg-range': ERRORS.INVALID_CONFIG.code,
      '11:victim': ERRORS.TOPIC_ALREADY_EXISTS.code,
      '12:twice': ERRORS.INVALID_REQUEST.code,
      '13:twice': ERRORS.INVALID_REQUEST.code,
    });
    expect(response.topics[8]?.errorMessage).toContain("'retention.msec'");
    expect(response.topics[9]?.errorMessage).toContain("'segment.bytes'");
    expect(response.topics[10]?.errorMessage).toContain("'flush.policy'");
    const validateOnly = await connection.request(API_KEYS.createTopics, {
      topics: [topic('only-checked', { partitions: 4 })],
      timeoutMs: 5000,
      validateOnly: true,
    });
    expect(validateOnly.topics[0]?.errorCode).toBe(0);
    const metadata = await connection.request(API_KEYS.metadata, { topics: [], allTopics: true });
    expect(metadata.topics.map((t) => t.name).sort()).toEqual(['small', 'victim']);
    await expectServesNormalClient();
  });

  it('answers OFFSET_OUT_OF_RANGE to a negative fetch offset and one past the log end', async () => {
    const connection = await connect();
    const fetched = await connection.request(API_KEYS.fetch, {
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
      // Two partitions: one named twice would answer INVALID_REQUEST (broker-abuse.test.ts).
      topics: [{ name: 'victim', partitions: [{ partition: 0, fetchOffset: -1, partitionMaxBytes: 1024 }, { partition: 1, fetchOffset: 1_000_000, partitionMaxBytes: 1024 }] }],
    });
    expect(fetched.topics[0]?.partitions.map((p) => p.errorCode)).toEqual([ERRORS.OFFSET_OUT_OF_RANGE.code, ERRORS.OFFSET_OUT_OF_RANGE.code]);
    expect(fetched.topics[0]?.partitions[0]?.highWatermark).toBeGreaterThanOrEqual(0);
    const listed = await connection.request(API_KEYS.listOffsets, { topics: [{ name: 'victim', partitions: [{ partition: 0, timestamp: -7 }] }] });
    expect(listed.topics[0]?.partitions[0]?.errorCode).toBe(ERRORS.INVALID_REQUEST.code);
    await expectServesNormalClient();
  });

  it('rejects a batch with a bad CRC, an oversized batch, empty records and invalid acks — per partition', async () => {
    const connection = await connect();
    const corrupt = encodeBatch([{ value: 'hello' }, { value: 'world' }]);
    corrupt.writeUInt8((corrupt.at(-1) ?? 0) ^ 0xff, corrupt.length - 1);
    const before = broker.partitions.partition('victim', 1)?.logEndOffset;
    const response = await connection.request(API_KEYS.produce, {
      acks: -1,
      timeoutMs: 5000,
      topics: [
        { name: 'victim', partitions: [{ partition: 1, records: corrupt }, { partition: 0, records: encodeBatch([{ value: 'fine' }]) }] },
        { name: 'small', partitions: [{ partition: 0, records: encodeBatch([{ value: 'z'.repeat(4096) }]) }] },
      ],
    });
    expect(response.topics[0]?.partitions.map((p) => p.errorCode)).toEqual([ERRORS.CORRUPT_MESSAGE.code, 0]);
    expect(response.topics[0]?.partitions[0]?.errorMessage).toMatch(/CRC/);
    expect(response.topics[1]?.partitions[0]?.errorCode).toBe(ERRORS.MESSAGE_TOO_LARGE.code);
    expect(broker.partitions.partition('victim', 1)?.logEndOffset).toBe(before);

    const truncated = encodeBatch([{ value: 'cut short' }]).subarray(0, 40);
    const empty = await connection.request(API_KEYS.produce, produceRequest('victim', 1, Buffer.alloc(0)));
    expect(empty.topics[0]?.partitions[0]?.errorCode).toBe(ERRORS.CORRUPT_MESSAGE.code);
    const short = await connection.request(API_KEYS.produce, produceRequest('victim', 1, truncated));
    expect(short.topics[0]?.partitions[0]?.errorCode).toBe(ERRORS.CORRUPT_MESSAGE.code);
    const badAcks = await connection.request(API_KEYS.produce, produceRequest('victim', 1, encodeBatch([{ value: 'x' }]), 2));
    expect(badAcks.topics[0]?.partitions[0]?.errorCode).toBe(ERRORS.INVALID_REQUIRED_ACKS.code);
    expect(broker.partitions.partition('victim', 1)?.logEndOffset).toBe(before);
    await expectServesNormalClient();
  });

  it('answers INVALID_RECORD to malformed records under a valid CRC, appends nothing, and keeps serving', async () => {
    const reseal = (batch: Buffer): Buffer => {
      batch.writeUInt32BE(computeBatchCrc(batch, 0, batch.length), BatchField.crc);
      return batch;
    };
    // The first record's length varint says -64 bytes.
    const badLength = encodeBatch([{ value: 'hello' }, { value: 'world' }]);
    badLength[61] = 0x7f;
    reseal(badLength);
    // 2^31-1 records claimed in a few dozen bytes: the log end offset would jump by 2^31-1.
    const hugeCount = encodeBatch([{ value: 'hello' }, { value: 'world' }]);
    hugeCount.writeInt32BE(2 ** 31 - 2, BatchField.lastOffsetDelta);
    hugeCount.writeInt32BE(2 ** 31 - 1, BatchField.recordsCount);
    reseal(hugeCount);
    const client = await RawClient.connect();
    const before = broker.partitions.partition('victim', 1)?.logEndOffset;
    let correlationId = 100;
    for (const records of [badLength, hugeCount]) {
      client.write(encodeRequestFrame({ apiVersion: 0, correlationId: ++correlationId, clientId: 'raw' }, API_KEYS.produce, produceRequest('victim', 1, records)));
      const response = await client.response(API_KEYS.produce);
      expect(response.header.correlationId).toBe(correlationId);
      expect(response.body?.topics[0]?.partitions[0]?.errorCode).toBe(ERRORS.INVALID_RECORD.code);
    }
    expect(broker.partitions.partition('victim', 1)?.logEndOffset).toBe(before);
    // The same connection still gets its produce and time lookup answered.
    client.write(encodeRequestFrame({ apiVersion: 0, correlationId: ++correlationId, clientId: 'raw' }, API_KEYS.produce, produceRequest('victim', 1, encodeBatch([{ value: 'good' }]))));
    expect((await client.response(API_KEYS.produce)).body?.topics[0]?.partitions[0]?.errorCode).toBe(0);
    const connection = await connect();
    const listed = await connection.request(API_KEYS.listOffsets, { topics: [{ name: 'victim', partitions: [{ partition: 1, timestamp: 0 }] }] });
    expect(listed.topics[0]?.partitions[0]?.errorCode).toBe(0);
    await expectServesNormalClient();
  });

  it('survives clients that disconnect mid-frame and mid-request', async () => {
    const half = await RawClient.connect();
    const frame = encodeRequestFrame({ apiVersion: 0, correlationId: 1, clientId: 'half' }, API_KEYS.produce, produceRequest('victim', 0, encodeBatch([{ value: 'half' }])));
    half.write(frame.subarray(0, frame.length - 5));
    await new Promise((r) => setTimeout(r, 20));
    half.socket.destroy();

    const parked = await RawClient.connect();
    parked.write(encodeRequestFrame({ apiVersion: 0, correlationId: 2, clientId: 'gone' }, API_KEYS.fetch, {
      maxWaitMs: 30_000,
      minBytes: 1 << 20,
      maxBytes: 1 << 20,
      topics: [{ name: 'victim', partitions: [{ partition: 1, fetchOffset: broker.partitions.partition('victim', 1)?.highWatermark ?? 0, partitionMaxBytes: 1 << 20 }] }],
    }));
    for (let i = 0; i < 100 && broker.pendingFetches === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(broker.pendingFetches).toBe(1);
    parked.socket.destroy();
    for (let i = 0; i < 100 && broker.pendingFetches > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(broker.pendingFetches).toBe(0);

    const quick = await RawClient.connect();
    quick.write(encodeRequestFrame({ apiVersion: 0, correlationId: 3, clientId: 'quick' }, API_KEYS.produce, produceRequest('victim', 0, encodeBatch([{ value: 'and gone' }]))));
    quick.socket.destroy();
    await expectServesNormalClient();
  });

  it('refuses connections beyond the limit with a clean close, and recovers when they go', async () => {
    const refusedBefore = broker.stats.connectionsRefused;
    const flood = await Promise.all(Array.from({ length: MAX_CONNECTIONS * 3 }, () => RawClient.connect()));
    await new Promise((r) => setTimeout(r, 200));
    expect(broker.stats.connectionsOpen).toBe(MAX_CONNECTIONS);
    expect(broker.stats.connectionsRefused - refusedBefore).toBe(MAX_CONNECTIONS * 2);
    // The accepted ones are served; the refused ones were closed (FIN) by the broker.
    let served = 0;
    let refused = 0;
    await Promise.all(flood.map(async (client, i) => {
      client.write(rawFrame(API_KEYS.apiVersions, 0, i));
      try {
        const response = await client.response(API_KEYS.apiVersions);
        expect(response.header.correlationId).toBe(i);
        served += 1;
      } catch {
        refused += 1;
      }
    }));
    expect(served).toBe(MAX_CONNECTIONS);
    expect(refused).toBe(MAX_CONNECTIONS * 2);
    for (const client of flood) client.socket.destroy();
    for (let i = 0; i < 100 && broker.stats.connectionsOpen > 0; i++) await new Promise((r) => setTimeout(r, 10));
    await expectServesNormalClient();
  });

  it('closes idle connections but not ones waiting on a long poll', async () => {
    const idleBroker = await startBroker({ listen: { host: '127.0.0.1', port: 0 }, logger: silentLogger(), connectionIdleMs: 100 });
    try {
      const raw = (): Promise<net.Socket> =>
        new Promise((resolve, reject) => {
          const socket = net.connect({ host: '127.0.0.1', port: idleBroker.address.port });
          sockets.push(socket);
          socket.on('error', () => undefined);
          socket.once('connect', () => resolve(socket));
          socket.once('error', reject);
        });
      const idle = await raw();
      const idleClosed = new Promise<void>((resolve) => idle.once('close', () => resolve()));
      const admin = await Connection.connect({ host: '127.0.0.1', port: idleBroker.address.port, clientId: 'admin' });
      await admin.request(API_KEYS.createTopics, { topics: [{ name: 'quiet', partitions: 1, replicationFactor: 1, configs: {} }], timeoutMs: 5000, validateOnly: false });
      const waiting = admin.request(API_KEYS.fetch, {
        maxWaitMs: 400,
        minBytes: 1,
        maxBytes: 1 << 20,
        topics: [{ name: 'quiet', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
      });
      await idleClosed;
      expect((await waiting).topics[0]?.partitions[0]?.errorCode).toBe(0);
      await admin.close();
    } finally {
      await idleBroker.close();
    }
  });

  it('answers pipelined requests in arrival order, even when an earlier one finishes last', async () => {
    const client = await RawClient.connect();
    const hw = broker.partitions.partition('victim', 1)?.highWatermark ?? 0;
    // A long poll that times out after 300 ms, then requests that finish at once.
    client.write(encodeRequestFrame({ apiVersion: 0, correlationId: 100, clientId: 'pipe' }, API_KEYS.fetch, {
      maxWaitMs: 300,
      minBytes: 1,
      maxBytes: 1 << 20,
      topics: [{ name: 'victim', partitions: [{ partition: 1, fetchOffset: hw, partitionMaxBytes: 1 << 20 }] }],
    }));
    for (let id = 101; id <= 110; id++) client.write(rawFrame(API_KEYS.apiVersions, 0, id));
    const order: number[] = [];
    for (let i = 0; i <= 10; i++) order.push(decodeResponseFrame(API_KEYS.apiVersions, await client.next()).header.correlationId);
    expect(order).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110]);
    await expectServesNormalClient();
  });

  it('stops dispatching at the in-flight bound until an answer frees a slot', async () => {
    const client = await RawClient.connect();
    const hw = broker.partitions.partition('victim', 1)?.highWatermark ?? 0;
    const longPoll = (id: number) => encodeRequestFrame({ apiVersion: 0, correlationId: id, clientId: 'bound' }, API_KEYS.fetch, {
      maxWaitMs: 400,
      minBytes: 1,
      maxBytes: 1 << 20,
      topics: [{ name: 'victim', partitions: [{ partition: 1, fetchOffset: hw, partitionMaxBytes: 1 << 20 }] }],
    });
    const versionsBefore = broker.stats.snapshot().apis[API_KEYS.apiVersions]?.requests ?? 0;
    // The bound is 4: four parked fetches fill it; the fifth request must wait unread.
    client.write(Buffer.concat([longPoll(1), longPoll(2), longPoll(3), longPoll(4), rawFrame(API_KEYS.apiVersions, 0, 5)]));
    await new Promise((r) => setTimeout(r, 150));
    expect(broker.pendingFetches).toBe(4);
    expect(broker.stats.snapshot().apis[API_KEYS.apiVersions]?.requests ?? 0).toBe(versionsBefore);
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push(decodeResponseFrame(API_KEYS.apiVersions, await client.next()).header.correlationId);
    expect(ids).toEqual([1, 2, 3, 4, 5]);
    expect(broker.stats.snapshot().apis[API_KEYS.apiVersions]?.requests).toBe(versionsBefore + 1);
  });

  it('stays bounded with a client that pipelines far past the in-flight limit', async () => {
    const client = await RawClient.connect();
    const burst = Buffer.concat(Array.from({ length: 200 }, (_, i) => rawFrame(API_KEYS.metadata, 0, i, Buffer.from([0x10, 0x01]))));
    client.write(burst);
    for (let i = 0; i < 200; i++) {
      const response = decodeResponseFrame(API_KEYS.metadata, await client.next());
      expect(response.header.correlationId).toBe(i);
      expect(response.body?.topics.map((t) => t.name).sort()).toEqual(['small', 'victim']);
    }
    await expectServesNormalClient();
  });
});
