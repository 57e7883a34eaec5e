// Method: the producer runs against an in-memory fake broker injected as the client's transport,
// which appends batches, numbers offsets and fails requests on script; checks that results come
// back in the order given, that retriable errors are retried without reordering a partition, and
// that final errors reject with the protocol's StrataError.
import { describe, expect, it } from 'vitest';
import { decodeBatches } from '../log/index.js';
import { Client } from './client.js';
import type { ConnectFn } from './broker-pool.js';
import { API_KEYS, ERRORS, StrataError, type Connection, type ProduceRequest, type ProduceResponse } from './protocol/index.js';

type Fault = { code: number; leaderHint?: number } | 'drop-connection';

class FakeBroker {
  readonly topics = new Map<string, string[][]>();
  /** Per `topic-partition`, faults to answer the next produce requests with, in order. */
  readonly faults = new Map<string, Fault[]>();
  readonly produced: Array<{ partition: number; values: string[] }> = [];
  metadataRequests = 0;
  produceRequests = 0;
  /** The most produce requests that were ever waiting for an answer at once. */
  maxConcurrentProduces = 0;
  private concurrentProduces = 0;
  responseDelayMs = 0;
  /** InitProducerId answers so far (each a new id). */
  initProducerIds = 0;
  /** Partitions (`topic-partition`) that metadata reports without a leader. */
  readonly leaderless = new Set<string>();

  constructor(topics: Record<string, number>) {
    for (const [name, count] of Object.entries(topics)) this.topics.set(name, Array.from({ length: count }, () => []));
  }

  readonly connect: ConnectFn = async () => {
    const listeners: Array<(error: Error | undefined) => void> = [];
    let closed = false;
    const connection = {
      get closed() {
        return closed;
      },
      request: async (apiKey: number, body: unknown) => {
        if (closed) throw new StrataError('NETWORK_EXCEPTION', 'closed');
        if (apiKey === API_KEYS.metadata) return this.metadata(body as { topics: string[] });
        if (apiKey === API_KEYS.initProducerId) return { errorCode: 0, errorMessage: '', producerId: this.initProducerIds++, producerEpoch: 0 };
        if (apiKey === API_KEYS.produce) {
          this.concurrentProduces++;
          this.maxConcurrentProduces = Math.max(this.maxConcurrentProduces, this.concurrentProduces);
          try {
            await new Promise((resolve) => setTimeout(resolve, this.responseDelayMs));
            const response = this.produce(body as ProduceRequest);
            if (response === 'drop-connection') {
              closed = true;
              for (const listener of listeners) listener(undefined);
              throw new StrataError('NETWORK_EXCEPTION', 'dropped');
            }
            return response;
          } finally {
            this.concurrentProduces--;
          }
        }
        throw new StrataError('UNSUPPORTED_VERSION');
      },
      send: (apiKey: number, body: unknown) => {
        if (apiKey === API_KEYS.produce) this.produce(body as ProduceRequest);
      },
      close: async () => {
        closed = true;
      },
      onClose: (listener: (error: Error | undefined) => void) => {
        listeners.push(listener);
        return () => undefined;
      },
    };
    return connection as unknown as Connection;
  };

  private metadata(body: { topics: string[] }) {
    this.metadataRequests++;
    return {
      brokers: [{ nodeId: 1, host: 'fake', port: 1 }, { nodeId: 2, host: 'fake', port: 2 }],
      controllerId: 1,
      topics: body.topics.map((name) => {
        const partitions = this.topics.get(name);
        if (partitions === undefined) return { name, errorCode: ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code, partitions: [] };
        return {
          name,
          errorCode: 0,
          partitions: partitions.map((_, partition) => ({ partition, errorCode: 0, leaderId: this.leaderless.has(`${name}-${partition}`) ? -1 : 1, leaderEpoch: 0, replicas: [1], isr: [1] })),
        };
      }),
    };
  }

  private produce(request: ProduceRequest): ProduceResponse | 'drop-connection' {
    this.produceRequests++;
    const response: ProduceResponse = { topics: [] };
    for (const topic of request.topics) {
      const partitions = [];
      for (const { partition, records } of topic.partitions) {
        const fault = this.faults.get(`${topic.name}-${partition}`)?.shift();
        if (fault === 'drop-connection') return fault;
        if (fault !== undefined) {
          partitions.push({ partition, errorCode: fault.code, errorMessage: 'scripted', baseOffset: -1, logStartOffset: 0, leaderHint: fault.leaderHint ?? -1 });
          continue;
        }
        const log = this.topics.get(topic.name)![partition]!;
        const baseOffset = log.length;
        const values = [...decodeBatches(records)].flatMap((b) => b.records.map((r) => r.value!.toString()));
        log.push(...values);
        this.produced.push({ partition, values });
        partitions.push({ partition, errorCode: 0, errorMessage: '', baseOffset, logStartOffset: 0, leaderHint: -1 });
      }
      response.topics.push({ name: topic.name, partitions });
    }
    return response;
  }
}

function clientFor(broker: FakeBroker): Client {
  return new Client({ brokers: ['fake:1'], retry: { retries: 3, initialRetryTimeMs: 1, maxRetryTimeMs: 5 } }, { connect: broker.connect });
}

describe('Producer against a fake broker', () => {
  it('resolves one result per message in the order given, across partitions', async () => {
    const broker = new FakeBroker({ t: 3 });
    const client = clientFor(broker);
    const producer = client.producer({ acks: 1, lingerMs: 60_000 });
    const partitions = [2, 0, 1, 0, 2, 2, 1, 0, 0, 1];
    const sending = producer.send({ topic: 't', messages: partitions.map((partition, i) => ({ value: `v${i}`, partition })) });
    await producer.flush();
    const results = await sending;
    expect(results.map((r) => r.partition)).toEqual(partitions);
    const expectedOffsets = partitions.map((p, i) => partitions.slice(0, i).filter((q) => q === p).length);
    expect(results.map((r) => r.offset)).toEqual(expectedOffsets);
    // One request carried every partition.
    expect(broker.produceRequests).toBe(1);
    await client.close();
  });

  it('gives many sends queued without awaiting each (one message, several, explicit partitions) each its own offsets', async () => {
    const broker = new FakeBroker({ t: 2 });
    const client = clientFor(broker);
    const producer = client.producer({ batchSize: 300 });
    // The first send fetches metadata (the waiting path); with it cached the rest append at once, in call order.
    await producer.send({ topic: 't', messages: [{ value: 'first', partition: 0 }] });
    const sends: Array<{ values: string[]; sending: Promise<Array<{ partition: number; offset: number }>> }> = [];
    for (let i = 0; i < 200; i++) {
      const values = i % 7 === 3 ? [`m${i}a`, `m${i}b`, `m${i}c`] : [`s${i}`];
      const partition = i % 5 === 0 ? 1 : undefined;
      sends.push({ values, sending: producer.send({ topic: 't', messages: values.map((value) => (partition === undefined ? { value } : { value, partition })) }) });
    }
    for (const { values, sending } of sends) {
      const results = await sending;
      expect(results).toHaveLength(values.length);
      results.forEach((r, j) => expect(broker.topics.get('t')![r.partition]![r.offset]).toBe(values[j]));
    }
    expect(broker.produced.length).toBeGreaterThan(5);
    await client.close();
  });

  it('batches by size: a small batchSize splits a partition into several batches, still in order', async () => {
    const broker = new FakeBroker({ t: 1 });
    const client = clientFor(broker);
    const producer = client.producer({ acks: 1, batchSize: 200, lingerMs: 0 });
    const results = await producer.send({ topic: 't', messages: Array.from({ length: 50 }, (_, i) => ({ value: `value-${i}` })) });
    expect(results.map((r) => r.offset)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(broker.produced.length).toBeGreaterThan(5);
    expect(broker.topics.get('t')![0]).toEqual(Array.from({ length: 50 }, (_, i) => `value-${i}`));
    await client.close();
  });

  it('moves keyless records to another partition when the sticky batch is full (KIP-480), keeping each partition in order', async () => {
    const broker = new FakeBroker({ t: 3 });
    const client = clientFor(broker);
    const producer = client.producer({ acks: 1, batchSize: 200, lingerMs: 60_000 });
    const messages = Array.from({ length: 60 }, (_, i) => ({ value: `value-${String(i).padStart(2, '0')}` }));
    const sending = producer.send({ topic: 't', messages });
    await producer.flush();
    const results = await sending;
    // Six records fill a 200-byte batch; the next one goes to another partition, not behind it.
    const used = new Set(results.map((r) => r.partition));
    expect(used.size).toBeGreaterThan(1);
    for (const partition of used) {
      const mine = results.map((r, i) => ({ ...r, value: messages[i]!.value })).filter((r) => r.partition === partition);
      expect(mine.map((r) => r.offset)).toEqual(mine.map((_, i) => i));
      expect(broker.topics.get('t')![partition]).toEqual(mine.map((r) => r.value));
    }
    await client.close();
  });

  it('retries a retriable error after refreshing metadata, keeping the partition in order', async () => {
    const broker = new FakeBroker({ t: 1 });
    broker.faults.set('t-0', [{ code: ERRORS.NOT_LEADER_OR_FOLLOWER.code, leaderHint: 1 }, { code: ERRORS.LEADER_NOT_AVAILABLE.code }]);
    broker.responseDelayMs = 2;
    const client = clientFor(broker);
    const producer = client.producer({ acks: 1, lingerMs: 0, batchSize: 100 });
    const first = producer.send({ topic: 't', messages: [{ value: 'a' }, { value: 'b' }] });
    const second = producer.send({ topic: 't', messages: [{ value: 'c' }, { value: 'd' }] });
    const [r1, r2] = await Promise.all([first, second]);
    expect(r1!.map((r) => r.offset)).toEqual([0, 1]);
    expect(r2!.map((r) => r.offset)).toEqual([2, 3]);
    expect(broker.topics.get('t')![0]).toEqual(['a', 'b', 'c', 'd']);
    // The first batch failed twice and was retried; metadata was asked again after the second error.
    expect(broker.produceRequests).toBeGreaterThanOrEqual(4);
    expect(broker.metadataRequests).toBeGreaterThanOrEqual(2);
    await client.close();
  });

  it('resends a batch whose connection dropped (at-least-once)', async () => {
    const broker = new FakeBroker({ t: 1 });
    broker.faults.set('t-0', ['drop-connection']);
    const client = clientFor(broker);
    const producer = client.producer({ acks: -1 });
    const results = await producer.send({ topic: 't', messages: [{ value: 'x' }] });
    expect(results).toEqual([{ topic: 't', partition: 0, offset: 0 }]);
    await client.close();
  });

  it('rejects with the StrataError of a non-retriable error, and after running out of retries', async () => {
    const broker = new FakeBroker({ t: 2 });
    broker.faults.set('t-0', [{ code: ERRORS.MESSAGE_TOO_LARGE.code }]);
    broker.faults.set('t-1', Array.from({ length: 10 }, () => ({ code: ERRORS.NOT_ENOUGH_REPLICAS.code })));
    const client = clientFor(broker);
    const producer = client.producer({ acks: -1, retries: 2 });
    const tooLarge = await producer.send({ topic: 't', messages: [{ value: 'x', partition: 0 }] }).catch((e: unknown) => e);
    expect(tooLarge).toBeInstanceOf(StrataError);
    expect((tooLarge as StrataError).errorName).toBe('MESSAGE_TOO_LARGE');
    const before = broker.produceRequests;
    const exhausted = await producer.send({ topic: 't', messages: [{ value: 'y', partition: 1 }] }).catch((e: unknown) => e);
    expect((exhausted as StrataError).errorName).toBe('NOT_ENOUGH_REPLICAS');
    expect(broker.produceRequests - before).toBe(3);
    // The producer still works afterwards.
    expect(await producer.send({ topic: 't', messages: [{ value: 'z', partition: 0 }] })).toEqual([{ topic: 't', partition: 0, offset: 0 }]);
    await client.close();
  });

  it('fails a send to a partition without a leader after deliveryTimeoutMs, and still serves the others', async () => {
    const broker = new FakeBroker({ t: 2 });
    broker.leaderless.add('t-1');
    const client = clientFor(broker);
    const producer = client.producer({ acks: -1, lingerMs: 0, deliveryTimeoutMs: 300 });
    const started = Date.now();
    const stuck = await producer.send({ topic: 't', messages: [{ value: 'x', partition: 1 }] }).catch((e: unknown) => e);
    expect((stuck as StrataError).errorName).toBe('REQUEST_TIMED_OUT');
    expect((stuck as StrataError).message).toMatch(/not delivered within deliveryTimeoutMs \(300 ms\)/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(await producer.send({ topic: 't', messages: [{ value: 'y', partition: 0 }] })).toEqual([{ topic: 't', partition: 0, offset: 0 }]);
    await client.close();
  });

  it('keeps at most maxInFlight produce requests per broker', async () => {
    const broker = new FakeBroker({ t: 8 });
    broker.responseDelayMs = 5;
    const client = clientFor(broker);
    const producer = client.producer({ acks: 1, lingerMs: 0, maxInFlight: 2, retries: 0 });
    const sends = Array.from({ length: 40 }, (_, i) => producer.send({ topic: 't', messages: [{ value: String(i), partition: i % 8 }] }));
    await Promise.all(sends);
    expect(broker.maxConcurrentProduces).toBeLessThanOrEqual(2);
    for (let p = 0; p < 8; p++) expect(broker.topics.get('t')![p]).toEqual(Array.from({ length: 5 }, (_, k) => String(p + 8 * k)));
    await client.close();
  });

  it('makes send wait while bufferMemory is full, and completes every send in order', async () => {
    const broker = new FakeBroker({ t: 1 });
    broker.responseDelayMs = 2;
    const client = clientFor(broker);
    const producer = client.producer({ acks: 1, batchSize: 1024, bufferMemory: 2048, lingerMs: 0 });
    const value = 'x'.repeat(300);
    const results = await Promise.all(Array.from({ length: 30 }, () => producer.send({ topic: 't', messages: [{ value }, { value }] })));
    expect(results.flat().map((r) => r.offset)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    await client.close();
  });

  it('fails a send to an unknown topic with UNKNOWN_TOPIC_OR_PARTITION at the first answer', async () => {
    const broker = new FakeBroker({});
    const client = clientFor(broker);
    const error = await client.producer().send({ topic: 'nope', messages: [{ value: 'x' }] }).catch((e: unknown) => e);
    expect((error as StrataError).errorName).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(broker.metadataRequests).toBe(1); // "no such topic" is an answer, not a transient error
    await client.close();
  });

  it('acks=0 resolves offsets of -1 without waiting for an answer', async () => {
    const broker = new FakeBroker({ t: 1 });
    const client = clientFor(broker);
    const results = await client.producer({ acks: 0 }).send({ topic: 't', messages: [{ value: 'a' }, { value: 'b' }] });
    expect(results).toEqual([{ topic: 't', partition: 0, offset: -1 }, { topic: 't', partition: 0, offset: -1 }]);
    expect(broker.topics.get('t')![0]).toEqual(['a', 'b']);
    await client.close();
  });

  it('rejects unknown options', () => {
    const client = clientFor(new FakeBroker({}));
    expect(() => client.producer({ lingerMS: 5 } as never)).toThrow(/unknown option 'lingerMS'/);
  });
});

describe('Producer message checks', () => {
  it('rejects a malformed message without touching the batch it would have joined', async () => {
    const broker = new FakeBroker({ t: 1 });
    const client = clientFor(broker);
    const producer = client.producer({ acks: 1, lingerMs: 20 });
    const good = producer.send({ topic: 't', messages: [{ value: 'good' }] });
    await expect(producer.send({ topic: 't', messages: [{ value: 'x', timestamp: 1.5 }] })).rejects.toThrow(RangeError);
    await expect(producer.send({ topic: 't', messages: [{ value: 42 as never }] })).rejects.toThrow(TypeError);
    expect(await good).toEqual([{ topic: 't', partition: 0, offset: 0 }]);
    await client.close();
  });
});
