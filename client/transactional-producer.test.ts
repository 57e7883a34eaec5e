// Method: a transactional producer runs against an in-memory fake cluster injected as the client's
// transport: one node that is partition leader, transaction coordinator and group coordinator, which
// records every request in order, appends produced batches, and answers scripted errors per api.
// Checks the request sequence Kafka's protocol requires (FindCoordinator key type 1 → InitProducerId
// → AddPartitionsToTxn before the partition's first Produce → EndTxn after every Produce is
// answered), the transactional attribute of the batches, the retries of coordinator errors, the
// abortable and the fatal (fenced, timed out) errors, sendOffsets' two requests, and the API's refusals.
import { describe, expect, it } from 'vitest';
import { decodeBatches } from '../log/index.js';
import type { ConnectFn } from './broker-pool.js';
import { Client } from './client.js';
import { Producer } from './producer.js';
import {
  API_KEYS,
  ERRORS,
  StrataError,
  type AddPartitionsToTxnRequest,
  type Connection,
  type EndTxnRequest,
  type FindCoordinatorRequest,
  type InitProducerIdRequest,
  type ProduceRequest,
} from './protocol/index.js';

const TRANSACTIONAL = 0x10;

interface Seen {
  api: string;
  body: unknown;
}

const API_NAMES = new Map<number, string>(Object.entries(API_KEYS).map(([name, key]) => [key as number, name]));

class FakeCluster {
  readonly requests: Seen[] = [];
  /** Per api name, error codes to answer the next requests with, in order. */
  readonly faults = new Map<string, number[]>();
  readonly produced: Array<{ partition: number; attributes: number; producerId: number; producerEpoch: number; values: string[] }> = [];
  producerId = 7;
  epoch = 0;
  private nextOffset = 0;

  fail(api: string, ...codes: number[]): void {
    this.faults.set(api, [...(this.faults.get(api) ?? []), ...codes]);
  }

  names(): string[] {
    return this.requests.map((r) => r.api).filter((api) => api !== 'metadata');
  }

  bodies<T>(api: string): T[] {
    return this.requests.filter((r) => r.api === api).map((r) => r.body as T);
  }

  readonly connect: ConnectFn = async () =>
    ({
      closed: false,
      request: async (apiKey: number, body: unknown) => {
        const api = API_NAMES.get(apiKey) ?? String(apiKey);
        this.requests.push({ api, body });
        const code = this.faults.get(api)?.shift() ?? 0;
        switch (api) {
          case 'metadata':
            return {
              brokers: [{ nodeId: 1, host: 'fake', port: 1 }],
              controllerId: 1,
              topics: (body as { topics: string[] }).topics.map((name) => ({
                name, errorCode: 0,
                partitions: [0, 1].map((partition) => ({ partition, errorCode: 0, leaderId: 1, leaderEpoch: 0, replicas: [1], isr: [1] })),
              })),
            };
          case 'findCoordinator': {
            const request = body as FindCoordinatorRequest;
            return { coordinators: request.keys.map((key) => ({ key, errorCode: code, errorMessage: '', nodeId: 1, host: 'fake', port: 1 })) };
          }
          case 'initProducerId': {
            if (code !== 0) return { errorCode: code, errorMessage: 'scripted', producerId: -1, producerEpoch: -1 };
            const request = body as InitProducerIdRequest;
            this.epoch = request.producerId === this.producerId ? request.producerEpoch + 1 : this.epoch;
            return { errorCode: 0, errorMessage: '', producerId: this.producerId, producerEpoch: this.epoch };
          }
          case 'addPartitionsToTxn': {
            const request = body as AddPartitionsToTxnRequest;
            return {
              errorCode: 0, errorMessage: '',
              topics: request.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((partition) => ({ partition, errorCode: code, errorMessage: code === 0 ? '' : 'scripted' })) })),
            };
          }
          case 'addOffsetsToTxn':
          case 'endTxn':
            return { errorCode: code, errorMessage: code === 0 ? '' : 'scripted' };
          case 'txnOffsetCommit':
            return { errorCode: code, errorMessage: '', topics: [] };
          case 'produce': {
            const request = body as ProduceRequest;
            return {
              topics: request.topics.map((t) => ({
                name: t.name,
                partitions: t.partitions.map(({ partition, records }) => {
                  if (code !== 0) return { partition, errorCode: code, errorMessage: 'scripted', baseOffset: -1, logStartOffset: 0, leaderHint: -1 };
                  const baseOffset = this.nextOffset;
                  for (const { header, records: decoded } of decodeBatches(records)) {
                    this.produced.push({ partition, attributes: header.attributes, producerId: header.producerId, producerEpoch: header.producerEpoch, values: decoded.map((r) => r.value!.toString()) });
                    this.nextOffset += decoded.length;
                  }
                  return { partition, errorCode: 0, errorMessage: '', baseOffset, logStartOffset: 0, leaderHint: -1 };
                }),
              })),
            };
          }
          default:
            throw new StrataError('UNSUPPORTED_VERSION');
        }
      },
      close: async () => undefined,
      onClose: () => () => undefined,
    }) as unknown as Connection;
}

function setup(config: { transactionTimeoutMs?: number; lingerMs?: number } = {}, now?: () => number) {
  const cluster = new FakeCluster();
  const client = new Client({ brokers: ['fake:1'], retry: { retries: 3, initialRetryTimeMs: 1, maxRetryTimeMs: 5 } }, { connect: cluster.connect });
  const producer =
    now === undefined
      ? client.producer({ transactionalId: 'tx-1', ...config })
      : client.cluster.adopt(new Producer(client.cluster, { transactionalId: 'tx-1', ...config }, { now }));
  return { cluster, client, producer };
}

const to = (partition: number, ...values: string[]) => ({ topic: 't', messages: values.map((value) => ({ value, partition })) });

describe('transactional producer', () => {
  it('finds the transaction coordinator, adds partitions before producing, and commits after every send is answered', async () => {
    const { cluster, client, producer } = setup({ transactionTimeoutMs: 5000 });
    const tx = await producer.transaction();
    expect(cluster.bodies<FindCoordinatorRequest>('findCoordinator')).toEqual([{ keyType: 1, keys: ['tx-1'] }]);
    expect(cluster.bodies<InitProducerIdRequest>('initProducerId')).toEqual([{ transactionalId: 'tx-1', transactionTimeoutMs: 5000, producerId: -1, producerEpoch: -1 }]);
    const sends = [tx.send(to(0, 'a', 'b')), tx.send(to(1, 'c'))];
    expect(tx.isActive()).toBe(true);
    await tx.commit();
    await Promise.all(sends);
    expect(tx.isActive()).toBe(false);
    // One AddPartitionsToTxn for both partitions, before any produce; EndTxn last.
    expect(cluster.names().filter((n) => n !== 'findCoordinator')).toEqual(['initProducerId', 'addPartitionsToTxn', 'produce', 'endTxn']);
    expect(cluster.bodies<AddPartitionsToTxnRequest>('addPartitionsToTxn')[0]).toEqual({ transactionalId: 'tx-1', producerId: 7, producerEpoch: 0, topics: [{ name: 't', partitions: [0, 1] }] });
    expect(cluster.bodies<EndTxnRequest>('endTxn')).toEqual([{ transactionalId: 'tx-1', producerId: 7, producerEpoch: 0, committed: true }]);
    expect(cluster.produced.map((b) => ({ transactional: (b.attributes & TRANSACTIONAL) !== 0, producerId: b.producerId, values: b.values }))).toEqual([
      { transactional: true, producerId: 7, values: ['a', 'b'] },
      { transactional: true, producerId: 7, values: ['c'] },
    ]);
    // The next transaction reuses the id and adds its partitions again.
    const next = await producer.transaction();
    await next.send(to(0, 'd'));
    await next.abort();
    expect(cluster.names().slice(-3)).toEqual(['addPartitionsToTxn', 'produce', 'endTxn']);
    expect(cluster.bodies<EndTxnRequest>('endTxn')[1]!.committed).toBe(false);
    await client.close();
  });

  it('retries coordinator errors, finding the coordinator again when it moved', async () => {
    const { cluster, client, producer } = setup();
    cluster.fail('initProducerId', ERRORS.CONCURRENT_TRANSACTIONS.code, ERRORS.COORDINATOR_LOAD_IN_PROGRESS.code);
    cluster.fail('addPartitionsToTxn', ERRORS.NOT_COORDINATOR.code);
    cluster.fail('endTxn', ERRORS.REQUEST_TIMED_OUT.code, ERRORS.COORDINATOR_NOT_AVAILABLE.code);
    const tx = await producer.transaction();
    await tx.send(to(0, 'a'));
    await tx.commit();
    expect(cluster.names()).toEqual([
      'findCoordinator', 'initProducerId', 'initProducerId', 'initProducerId',
      'addPartitionsToTxn', 'findCoordinator', 'addPartitionsToTxn', 'produce',
      'endTxn', 'findCoordinator', 'endTxn', 'findCoordinator', 'endTxn',
    ]);
    await client.close();
  });

  it('a transaction without sends or offsets ends without a request', async () => {
    const { cluster, client, producer } = setup();
    await (await producer.transaction()).commit();
    await (await producer.transaction()).abort();
    expect(cluster.names()).toEqual(['findCoordinator', 'initProducerId']);
    await client.close();
  });

  it('a failed send makes commit fail; abort ends it and takes the next epoch for fresh sequences', async () => {
    const { cluster, client, producer } = setup();
    cluster.fail('produce', ERRORS.INVALID_REQUIRED_ACKS.code);
    const tx = await producer.transaction();
    await expect(tx.send(to(0, 'lost'))).rejects.toThrow(/acks/);
    await expect(tx.commit()).rejects.toThrow(/transaction failed .*abort it/);
    await expect(tx.send(to(0, 'more'))).rejects.toThrow(/abort it/);
    expect(tx.isActive()).toBe(true);
    await tx.abort();
    expect(cluster.bodies<EndTxnRequest>('endTxn').map((b) => b.committed)).toEqual([false]);
    expect(cluster.bodies<InitProducerIdRequest>('initProducerId').at(-1)).toMatchObject({ producerId: 7, producerEpoch: 0 });
    const next = await producer.transaction();
    await next.send(to(0, 'ok'));
    await next.commit();
    expect(cluster.produced.at(-1)).toMatchObject({ producerEpoch: 1, values: ['ok'] });
    await client.close();
  });

  it('a partition the coordinator will not add fails its sends and the commit', async () => {
    const { cluster, client, producer } = setup();
    cluster.fail('addPartitionsToTxn', ERRORS.INVALID_TRANSACTION_TIMEOUT.code);
    const tx = await producer.transaction();
    await expect(tx.send(to(1, 'x'))).rejects.toThrow(/INVALID_TRANSACTION_TIMEOUT|transaction timeout/);
    await expect(tx.commit()).rejects.toThrow(/abort it/);
    await tx.abort();
    expect(cluster.names()).not.toContain('produce');
    await client.close();
  });

  it('fenced by a newer instance: the commit and every later call fail with the same clear error', async () => {
    const { cluster, client, producer } = setup();
    cluster.fail('endTxn', ERRORS.PRODUCER_FENCED.code);
    const tx = await producer.transaction();
    await tx.send(to(0, 'a'));
    const failure = await tx.commit().then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(StrataError);
    expect((failure as StrataError).errorName).toBe('PRODUCER_FENCED');
    expect((failure as Error).message).toMatch(/another producer with transactionalId 'tx-1' took over/);
    expect(tx.isActive()).toBe(false);
    await expect(producer.transaction()).rejects.toBe(failure);
    await expect(tx.abort()).rejects.toBe(failure);
    await client.close();
  });

  it('a produce answered INVALID_PRODUCER_EPOCH fences the producer', async () => {
    const { cluster, client, producer } = setup();
    cluster.fail('produce', ERRORS.INVALID_PRODUCER_EPOCH.code);
    const tx = await producer.transaction();
    await expect(tx.send(to(0, 'a'))).rejects.toThrow(/took over/);
    await expect(tx.send(to(0, 'b'))).rejects.toThrow(/took over/);
    await expect(tx.commit()).rejects.toThrow(/took over/);
    await client.close();
  });

  it('fenced after the transaction outlived its timeout: the error says it timed out', async () => {
    let nowMs = 1_000_000;
    const { cluster, client, producer } = setup({ transactionTimeoutMs: 1000 }, () => nowMs);
    const tx = await producer.transaction();
    await tx.send(to(0, 'a'));
    nowMs += 1500;
    cluster.fail('endTxn', ERRORS.PRODUCER_FENCED.code);
    await expect(tx.commit()).rejects.toThrow(/the transaction timed out and was aborted/);
    await expect(producer.transaction()).rejects.toThrow(/timed out/);
    await client.close();
  });

  it('sendOffsets: the group coordinator found, AddOffsetsToTxn to the transaction coordinator, TxnOffsetCommit to the group coordinator, then EndTxn', async () => {
    const { cluster, client, producer } = setup();
    const tx = await producer.transaction();
    await tx.sendOffsets({ consumerGroupId: 'g', topics: [{ topic: 'in', partitions: [{ partition: 0, offset: '42' }, { partition: 1, offset: 7 }] }] });
    await tx.commit();
    expect(cluster.names()).toEqual(['findCoordinator', 'initProducerId', 'findCoordinator', 'addOffsetsToTxn', 'txnOffsetCommit', 'endTxn']);
    expect(cluster.bodies<FindCoordinatorRequest>('findCoordinator')[1]).toEqual({ keyType: 0, keys: ['g'] });
    expect(cluster.bodies('txnOffsetCommit')[0]).toEqual({
      transactionalId: 'tx-1', groupId: 'g', producerId: 7, producerEpoch: 0, memberId: '', memberEpoch: -1,
      topics: [{ name: 'in', partitions: [{ partition: 0, committedOffset: 42, committedMetadata: '' }, { partition: 1, committedOffset: 7, committedMetadata: '' }] }],
    });
    await expect((await producer.transaction()).sendOffsets({ consumerGroupId: 'g', topics: [{ topic: 'in', partitions: [{ partition: 0, offset: -1 }] }] })).rejects.toThrow(RangeError);
    await client.close();
  });

  it('sendOffsets with a group member carries its id and epoch, so the coordinator can fence a stale member', async () => {
    const { cluster, client, producer } = setup();
    const tx = await producer.transaction();
    const topics = [{ topic: 'in', partitions: [{ partition: 0, offset: 3 }] }];
    let member: { groupId: string; memberId: string; memberEpoch: number } | undefined = { groupId: 'g', memberId: 'm-1', memberEpoch: 4 };
    const consumer = { groupMetadata: () => member };
    await tx.sendOffsets({ consumerGroupId: 'g', topics, consumer });
    expect(cluster.bodies('txnOffsetCommit')[0]).toMatchObject({ memberId: 'm-1', memberEpoch: 4 });
    await expect(tx.sendOffsets({ consumerGroupId: 'other', topics, consumer })).rejects.toThrow(/consumer is in group 'g', not 'other'/);
    member = undefined;
    await expect(tx.sendOffsets({ consumerGroupId: 'g', topics, consumer })).rejects.toThrow(/not a member of group 'g' now/);
    await tx.commit();
    await client.close();
  });

  it('refuses misuse with clear errors', async () => {
    const { client, producer } = setup();
    await expect(producer.send(to(0, 'a'))).rejects.toThrow(/transactional producer .*inside a transaction/);
    const tx = await producer.transaction();
    await expect(producer.transaction()).rejects.toThrow(/already open/);
    await tx.commit();
    await expect(tx.send(to(0, 'a'))).rejects.toThrow(/already ended/);
    await expect(client.producer().transaction()).rejects.toThrow(/needs a producer created with a transactionalId/);
    expect(() => client.producer({ transactionalId: 'x', idempotent: false })).toThrow(/idempotent: false cannot go with a transactionalId/);
    expect(() => client.producer({ transactionalId: 'x', acks: 1 })).toThrow(/acks/);
    expect(() => client.producer({ transactionTimeoutMs: 5 })).toThrow(/needs a transactionalId/);
    await client.close();
  });

  it('abort drops the batches not sent yet: their sends fail, nothing is produced', async () => {
    const { cluster, client, producer } = setup({ lingerMs: 60_000 });
    const tx = await producer.transaction();
    const lingering = tx.send(to(0, 'never'));
    // The partition is added (AddPartitionsToTxn answered) while the batch lingers.
    await new Promise<void>((resolve) => {
      const poll = () => (cluster.names().includes('addPartitionsToTxn') ? resolve() : setImmediate(poll));
      poll();
    });
    await tx.abort();
    await expect(lingering).rejects.toThrow(/aborted before this send left/);
    expect(cluster.names()).toEqual(['findCoordinator', 'initProducerId', 'addPartitionsToTxn', 'endTxn']);
    await client.close();
  });

  it('close aborts an open transaction', async () => {
    const { cluster, client, producer } = setup();
    const tx = await producer.transaction();
    await tx.send(to(0, 'a'));
    await client.close();
    expect(cluster.bodies<EndTxnRequest>('endTxn').map((b) => b.committed)).toEqual([false]);
  });
});
