// Method: a fake broker on 127.0.0.1 port 0, built from this folder's own frame functions, answers
// requests the way each test scripts it (held back and released in reverse order, never, with a
// header error, with garbage, or by dropping the socket); the tests check how Connection settles
// every pending request: matched by correlation id, timed out, or rejected on connection loss.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  API_KEYS,
  Connection,
  decodeRequestFrame,
  encodeResponseFrame,
  ERRORS,
  FrameReader,
  StrataError,
  type DecodedRequest,
  type MetadataResponse,
} from './index.js';

type Script = (request: DecodedRequest, socket: net.Socket) => void;

interface FakeBroker {
  port: number;
  received: DecodedRequest[];
  sockets: Set<net.Socket>;
  close(): Promise<void>;
}

async function startBroker(script: Script): Promise<FakeBroker> {
  const received: DecodedRequest[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const reader = new FrameReader(1024 * 1024);
    socket.on('data', (chunk: Buffer) => {
      for (const payload of reader.push(chunk)) {
        const request = decodeRequestFrame(payload);
        received.push(request);
        script(request, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    received,
    sockets,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

/** A metadata response naming the request's topics, so each answer is recognisable. */
function metadataAnswer(request: DecodedRequest): Buffer {
  const topics = request.apiKey === API_KEYS.metadata ? request.body.topics : [];
  const body: MetadataResponse = {
    brokers: [{ nodeId: 1, host: 'localhost', port: 9092 }],
    controllerId: 1,
    topics: topics.map((name) => ({ name, errorCode: 0, partitions: [] })),
  };
  return encodeResponseFrame({ correlationId: request.header.correlationId, errorCode: 0 }, API_KEYS.metadata, body);
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(script: Script, options: { requestTimeoutMs?: number; maxFrameBytes?: number } = {}) {
  const broker = await startBroker(script);
  cleanups.push(() => broker.close());
  const connection = await Connection.connect({ host: '127.0.0.1', port: broker.port, clientId: 'test-client', ...options });
  cleanups.push(() => connection.close());
  return { broker, connection };
}

const metadata = (topic: string) => ({ topics: [topic], allTopics: false });

describe('Connection', () => {
  it('pipelines requests and matches responses that arrive out of order by correlation id', async () => {
    const held: DecodedRequest[] = [];
    const { broker, connection } = await setup((request, socket) => {
      held.push(request);
      // Answer all ten at once, last first.
      if (held.length === 10) for (const r of held.reverse()) socket.write(metadataAnswer(r));
    });
    const names = Array.from({ length: 10 }, (_, i) => `topic-${i}`);
    const answers = await Promise.all(names.map((name) => connection.request(API_KEYS.metadata, metadata(name))));
    expect(answers.map((a) => a.topics[0]?.name)).toEqual(names);
    // All ten were on the wire before the first answer, with distinct ids, at the registry's version.
    const ids = broker.received.map((r) => r.header.correlationId);
    expect(new Set(ids).size).toBe(10);
    expect(broker.received.every((r) => r.header.clientId === 'test-client' && r.header.apiVersion === 0)).toBe(true);
    expect(connection.inFlightRequests).toBe(0);
  });

  it('delivers many responses packed into one write', async () => {
    const held: DecodedRequest[] = [];
    const { connection } = await setup((request, socket) => {
      held.push(request);
      if (held.length === 50) socket.write(Buffer.concat(held.map(metadataAnswer)));
    });
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => connection.request(API_KEYS.metadata, metadata(`t${i}`))));
    expect(answers.map((a) => a.topics[0]?.name)).toEqual(Array.from({ length: 50 }, (_, i) => `t${i}`));
  });

  it('rejects with the StrataError of a non-zero response-header error code', async () => {
    const { connection } = await setup((request, socket) => {
      socket.write(encodeResponseFrame({ correlationId: request.header.correlationId, errorCode: ERRORS.UNSUPPORTED_VERSION.code },
        API_KEYS.metadata, undefined));
    });
    const failure = connection.request(API_KEYS.metadata, metadata('t'));
    await expect(failure).rejects.toBeInstanceOf(StrataError);
    await expect(failure).rejects.toMatchObject({ code: 35, errorName: 'UNSUPPORTED_VERSION' });
    expect(connection.closed).toBe(false);
  });

  it('times a request out with REQUEST_TIMED_OUT, keeps the connection, and drops the late answer', async () => {
    let first: DecodedRequest | undefined;
    const { connection } = await setup((request, socket) => {
      if (first === undefined) {
        first = request; // hold the first answer back
        return;
      }
      socket.write(metadataAnswer(first)); // late answer to the timed-out request, then this one
      socket.write(metadataAnswer(request));
    });
    await expect(connection.request(API_KEYS.metadata, metadata('slow'), { timeoutMs: 50 }))
      .rejects.toMatchObject({ errorName: 'REQUEST_TIMED_OUT', retriable: true });
    expect(connection.closed).toBe(false);
    const answer = await connection.request(API_KEYS.metadata, metadata('fast'));
    expect(answer.topics[0]?.name).toBe('fast');
  });

  it('uses requestTimeoutMs as the default timeout', async () => {
    const { connection } = await setup(() => {}, { requestTimeoutMs: 30 });
    await expect(connection.request(API_KEYS.apiVersions, {})).rejects.toMatchObject({ errorName: 'REQUEST_TIMED_OUT' });
  });

  it('rejects every in-flight request with NETWORK_EXCEPTION when the broker drops the connection', async () => {
    let count = 0;
    const { connection } = await setup((_request, socket) => {
      if (++count === 3) socket.destroy();
    });
    const closedWith = new Promise<Error | undefined>((resolve) => connection.onClose(resolve));
    const results = await Promise.allSettled([1, 2, 3].map((i) => connection.request(API_KEYS.metadata, metadata(`t${i}`))));
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toMatchObject({ errorName: 'NETWORK_EXCEPTION', retriable: true });
    }
    expect(await closedWith).toMatchObject({ errorName: 'NETWORK_EXCEPTION' });
    expect(connection.closed).toBe(true);
    await expect(connection.request(API_KEYS.apiVersions, {})).rejects.toMatchObject({ errorName: 'NETWORK_EXCEPTION' });
    expect(() => connection.send(API_KEYS.apiVersions, {})).toThrow(StrataError);
  });

  it('closes and rejects in-flight requests when the broker sends an undecodable frame', async () => {
    const { connection } = await setup((_request, socket) => socket.write(Buffer.from([0, 0, 0, 3, 0xff, 0xff, 0xff])));
    const failure = connection.request(API_KEYS.apiVersions, {});
    await expect(failure).rejects.toMatchObject({ errorName: 'NETWORK_EXCEPTION' });
    await expect(failure).rejects.toHaveProperty('cause.errorName', 'INVALID_RESPONSE');
    expect(connection.closed).toBe(true);
  });

  it('applies maxFrameBytes to responses', async () => {
    const { connection } = await setup((request, socket) => socket.write(metadataAnswer(request)), { maxFrameBytes: 8 });
    const failure = connection.request(API_KEYS.metadata, metadata('a-topic-name-longer-than-eight-bytes'));
    await expect(failure).rejects.toMatchObject({ errorName: 'NETWORK_EXCEPTION' });
    await expect(failure).rejects.toHaveProperty('cause.errorName', 'FRAME_TOO_LARGE');
  });

  it('sends requests that get no response (produce acks 0)', async () => {
    const { broker, connection } = await setup((request, socket) => {
      if (request.apiKey !== API_KEYS.produce) socket.write(metadataAnswer(request));
    });
    const records = Buffer.from('batch bytes');
    connection.send(API_KEYS.produce, { acks: 0, timeoutMs: 0, topics: [{ name: 't', partitions: [{ partition: 0, records }] }] });
    await connection.request(API_KEYS.metadata, metadata('after')); // ordered after the produce on the wire
    const produce = broker.received[0]!;
    expect(produce.apiKey).toBe(API_KEYS.produce);
    if (produce.apiKey === API_KEYS.produce) {
      expect(produce.body.topics[0]!.partitions[0]!.records.equals(records)).toBe(true);
    }
  });

  it('close() rejects in-flight requests, runs onClose listeners once, and is idempotent', async () => {
    const { broker, connection } = await setup(() => {});
    const calls: Array<Error | undefined> = [];
    connection.onClose((error) => calls.push(error));
    const pending = expect(connection.request(API_KEYS.metadata, metadata('t')))
      .rejects.toMatchObject({ errorName: 'NETWORK_EXCEPTION' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await connection.close();
    await pending;
    expect(connection.closed).toBe(true);
    expect(calls).toEqual([undefined]);
    await connection.close();
    expect(calls).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(broker.sockets.size).toBe(0);
  });

  it('counts unsentBytes behind a peer that reads nothing, and destroy() closes at once all the same', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((socket) => {
      socket.pause();
      sockets.push(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }));
    const port = (server.address() as net.AddressInfo).port;
    const connection = await Connection.connect({ host: '127.0.0.1', port, clientId: 'c' });
    expect(connection.unsentBytes).toBe(0);
    const records = Buffer.alloc(1024 * 1024);
    // 64 MiB in one turn: far more than the kernel takes from a socket nobody reads.
    for (let i = 0; i < 64; i++) connection.send(API_KEYS.produce, { acks: 0, timeoutMs: 0, topics: [{ name: 't', partitions: [{ partition: 0, records }] }] });
    expect(connection.unsentBytes).toBeGreaterThan(32 * 1024 * 1024);
    const calls: Array<Error | undefined> = [];
    connection.onClose((error) => calls.push(error));
    const pending = expect(connection.request(API_KEYS.metadata, metadata('t'))).rejects.toMatchObject({ errorName: 'NETWORK_EXCEPTION' });
    connection.destroy();
    await pending;
    expect(connection.closed).toBe(true);
    expect(calls).toEqual([undefined]);
    expect(() => connection.send(API_KEYS.produce, { acks: 0, timeoutMs: 0, topics: [] })).toThrow(StrataError);
  });

  it('fails to connect with NETWORK_EXCEPTION when nothing listens', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await expect(Connection.connect({ host: '127.0.0.1', port, clientId: 'c' }))
      .rejects.toMatchObject({ errorName: 'NETWORK_EXCEPTION' });
  });
});
