// Method: the consumer runs over an in-memory fake broker injected as the client's transport, which
// serves one stored batch per fetch and fails on script; checks prefetch (exactly one fetch ahead of
// the application), the skip of records below the requested offset, and that retriable fetch errors
// are retried after a metadata refresh without reaching the application; with several batches per
// fetch, that batches are decoded as they are reached (eachBatch in whole record batches, a damaged
// batch surfacing after the ones before it).
import { describe, expect, it } from 'vitest';
import { encodeBatch } from '../log/index.js';
import type { ConnectFn } from './broker-pool.js';
import { Client } from './client.js';
import { API_KEYS, ERRORS, ISOLATION_READ_COMMITTED, ISOLATION_READ_UNCOMMITTED, LIST_OFFSETS_EARLIEST, StrataError, type Connection, type FetchRequest, type ListOffsetsRequest } from './protocol/index.js';

/** One partition holding `batches` batches of `perBatch` records each. */
class FakeBroker {
  readonly batches: Array<{ baseOffset: number; bytes: Buffer }> = [];
  readonly total: number;
  fetches: number[] = [];
  /** The isolation level of each Fetch and ListOffsets request, in order. */
  readonly isolationLevels: Array<{ api: 'fetch' | 'listOffsets'; level: number | undefined }> = [];
  metadataRequests = 0;
  fetchFaults: number[] = [];
  /** Batches a fetch returns, from the one holding the fetch offset on. */
  batchesPerFetch = 1;

  constructor(batches: number, perBatch: number) {
    this.total = batches * perBatch;
    for (let b = 0; b < batches; b++) {
      const baseOffset = b * perBatch;
      const bytes = encodeBatch(Array.from({ length: perBatch }, (_, i) => ({ value: `m${baseOffset + i}`, timestamp: 1000 + baseOffset + i })), { baseOffset });
      this.batches.push({ baseOffset, bytes });
    }
  }

  readonly connect: ConnectFn = async () =>
    ({
      closed: false,
      request: async (apiKey: number, body: unknown) => {
        if (apiKey === API_KEYS.metadata) {
          this.metadataRequests++;
          return {
            brokers: [{ nodeId: 1, host: 'fake', port: 1 }],
            controllerId: 1,
            topics: [{ name: 't', errorCode: 0, partitions: [{ partition: 0, errorCode: 0, leaderId: 1, leaderEpoch: 0, replicas: [1], isr: [1] }] }],
          };
        }
        if (apiKey === API_KEYS.listOffsets) {
          this.isolationLevels.push({ api: 'listOffsets', level: (body as ListOffsetsRequest).isolationLevel });
          const p = (body as ListOffsetsRequest).topics[0]!.partitions[0]!;
          const offset = p.timestamp === LIST_OFFSETS_EARLIEST ? 0 : this.total;
          return { topics: [{ name: 't', partitions: [{ partition: 0, errorCode: 0, timestamp: -1, offset, leaderHint: -1 }] }] };
        }
        if (apiKey === API_KEYS.fetch) {
          const p = (body as FetchRequest).topics[0]!.partitions[0]!;
          this.fetches.push(p.fetchOffset);
          this.isolationLevels.push({ api: 'fetch', level: (body as FetchRequest).isolationLevel });
          const fault = this.fetchFaults.shift();
          if (fault !== undefined) {
            return { topics: [{ name: 't', partitions: [{ partition: 0, errorCode: fault, highWatermark: -1, logStartOffset: -1, records: Buffer.alloc(0), leaderHint: -1 }] }] };
          }
          // The batch holding fetchOffset, whole (the broker never splits a batch).
          const first = this.batches.findLastIndex((b) => b.baseOffset <= p.fetchOffset);
          const records =
            first < 0 || p.fetchOffset >= this.total ? Buffer.alloc(0) : Buffer.concat(this.batches.slice(first, first + this.batchesPerFetch).map((b) => b.bytes));
          if (records.length === 0) await new Promise((resolve) => setTimeout(resolve, (body as FetchRequest).maxWaitMs));
          return { topics: [{ name: 't', partitions: [{ partition: 0, errorCode: 0, highWatermark: this.total, logStartOffset: 0, records, leaderHint: -1 }] }] };
        }
        throw new StrataError('UNSUPPORTED_VERSION');
      },
      close: async () => undefined,
      onClose: () => () => undefined,
    }) as unknown as Connection;
}

function clientFor(broker: FakeBroker): Client {
  return new Client({ brokers: ['fake:1'], retry: { retries: 3, initialRetryTimeMs: 1, maxRetryTimeMs: 5 } }, { connect: broker.connect });
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

describe('Consumer against a fake broker', () => {
  it('keeps exactly one fetch ahead of the application (prefetch, bounded)', async () => {
    const broker = new FakeBroker(4, 5);
    const client = clientFor(broker);
    const consumer = client.consumer({ initialOffset: 'earliest', maxWaitMs: 20 });
    await consumer.assign({ topic: 't' });
    const iterator = consumer[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ offset: 0 });
    await settle();
    // The application holds batch 1; batch 2 was fetched meanwhile, and nothing beyond it.
    expect(broker.fetches).toEqual([0, 5]);
    for (let i = 1; i < 5; i++) await iterator.next();
    // Batch 1 done: the fetch of batch 3 starts while batch 2 is handed over.
    expect((await iterator.next()).value).toMatchObject({ offset: 5 });
    await settle();
    expect(broker.fetches).toEqual([0, 5, 10]);
    await client.close();
  });

  it('asks for read_committed by default and read_uncommitted when told, in ListOffsets and Fetch', async () => {
    for (const [isolation, level] of [[undefined, ISOLATION_READ_COMMITTED], ['read_uncommitted', ISOLATION_READ_UNCOMMITTED]] as const) {
      const broker = new FakeBroker(1, 1);
      const client = clientFor(broker);
      const consumer = client.consumer({ initialOffset: 'earliest', maxWaitMs: 20, ...(isolation === undefined ? {} : { isolation }) });
      await consumer.assign({ topic: 't' });
      await consumer[Symbol.asyncIterator]().next();
      expect(broker.isolationLevels.slice(0, 2)).toEqual([{ api: 'listOffsets', level }, { api: 'fetch', level }]);
      await client.close();
    }
  });

  it('skips the records below the requested offset in the first batch', async () => {
    const broker = new FakeBroker(2, 5);
    const client = clientFor(broker);
    const consumer = client.consumer({ maxWaitMs: 20 });
    await consumer.assign([{ topic: 't', partition: 0 }]);
    consumer.seek({ topic: 't', partition: 0, offset: 3 });
    const iterator = consumer[Symbol.asyncIterator]();
    const offsets: number[] = [];
    for (let i = 0; i < 7; i++) offsets.push(((await iterator.next()).value as { offset: number }).offset);
    expect(offsets).toEqual([3, 4, 5, 6, 7, 8, 9]);
    await client.close();
  });

  it('retries retriable fetch errors after a metadata refresh, invisibly', async () => {
    const broker = new FakeBroker(2, 5);
    broker.fetchFaults.push(ERRORS.NOT_LEADER_OR_FOLLOWER.code, ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code);
    const client = clientFor(broker);
    const consumer = client.consumer({ initialOffset: 'earliest', maxWaitMs: 20 });
    await consumer.assign({ topic: 't' });
    const metadataBefore = broker.metadataRequests;
    const iterator = consumer[Symbol.asyncIterator]();
    const offsets: number[] = [];
    for (let i = 0; i < 10; i++) offsets.push(((await iterator.next()).value as { offset: number }).offset);
    expect(offsets).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(broker.metadataRequests).toBeGreaterThan(metadataBefore);
    await client.close();
  });

  it('surfaces a non-retriable fetch error and stops the partition until a seek', async () => {
    const broker = new FakeBroker(1, 5);
    broker.fetchFaults.push(ERRORS.OFFSET_OUT_OF_RANGE.code);
    const client = clientFor(broker);
    const consumer = client.consumer({ initialOffset: 'earliest', maxWaitMs: 20 });
    await consumer.assign({ topic: 't' });
    const iterator = consumer[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toMatchObject({ errorName: 'OFFSET_OUT_OF_RANGE' });
    await settle();
    expect(broker.fetches).toEqual([0]);
    consumer.seek({ topic: 't', partition: 0, offset: 'earliest' });
    expect((await iterator.next()).value).toMatchObject({ offset: 0, timestamp: 1000 });
    await client.close();
  });

  it('hands eachBatch whole record batches, at least 1,000 messages unless the fetch ends, all in order', async () => {
    const broker = new FakeBroker(8, 600);
    broker.batchesPerFetch = 3;
    const client = clientFor(broker);
    const consumer = client.consumer({ initialOffset: 'earliest', maxWaitMs: 20 });
    await consumer.assign({ topic: 't' });
    const sizes: number[] = [];
    const offsets: number[] = [];
    const done = consumer.run({
      eachBatch: ({ batch }) => {
        sizes.push(batch.messages.length);
        for (const m of batch.messages) offsets.push(m.offset);
        if (offsets.length === broker.total) void consumer.stop();
      },
    });
    await done;
    expect(offsets).toEqual(Array.from({ length: broker.total }, (_, i) => i));
    // Fetches of 3, 3 and 2 batches: 1200 + 600 each time, then the last 1200.
    expect(sizes).toEqual([1200, 600, 1200, 600, 1200]);
    expect(broker.fetches.slice(0, 3)).toEqual([0, 1800, 3600]);
    await client.close();
  });

  it('hands out the batches before a damaged one, then its error, then nothing of the partition until a seek', async () => {
    const broker = new FakeBroker(4, 5);
    broker.batchesPerFetch = 4;
    const damaged = broker.batches[2]!.bytes;
    const last = damaged.length - 1;
    damaged[last] = damaged[last]! ^ 0xff; // a value byte: the CRC no longer matches
    const client = clientFor(broker);
    const consumer = client.consumer({ initialOffset: 'earliest', maxWaitMs: 20 });
    await consumer.assign({ topic: 't' });
    const iterator = consumer[Symbol.asyncIterator]();
    const offsets: number[] = [];
    for (let i = 0; i < 10; i++) offsets.push(((await iterator.next()).value as { offset: number }).offset);
    expect(offsets).toEqual(Array.from({ length: 10 }, (_, i) => i));
    await expect(iterator.next()).rejects.toThrow(/CRC mismatch/);
    damaged[last] = damaged[last]! ^ 0xff;
    consumer.seek({ topic: 't', partition: 0, offset: 10 });
    expect((await iterator.next()).value).toMatchObject({ offset: 10, headers: {} });
    await client.close();
  });

  it('rejects seeking a partition that is not assigned', async () => {
    const client = clientFor(new FakeBroker(1, 1));
    const consumer = client.consumer();
    expect(() => consumer.seek({ topic: 't', partition: 0, offset: 0 })).toThrow(/not assigned/);
    await client.close();
  });
});
