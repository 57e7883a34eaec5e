// Method: a group consumer runs over an in-memory fake broker injected as the client's transport: one
// topic whose partitions hold a few records, and a scripted coordinator that hands out the
// assignment the test sets, holds heartbeats as long polls, stores commits and fails on script.
// Checks the member protocol as the consumer lives it: join, positioning from committed offsets,
// revocation (finish, commit, then report), finish tracking behind auto-commit, fencing, leaving.
import { describe, expect, it } from 'vitest';
import { encodeBatch } from '../log/index.js';
import type { ConnectFn } from './broker-pool.js';
import { Client } from './client.js';
import type { ConsumerConfig } from './config.js';
import { fromTopicPartitions, toTopicPartitions, type TopicPartition } from './topic-partitions.js';
import { diffAssignment } from './group-membership.js';
import {
  API_KEYS,
  ERRORS,
  LIST_OFFSETS_EARLIEST,
  StrataError,
  type ConsumerGroupHeartbeatRequest,
  type Connection,
  type FetchRequest,
  type ListOffsetsRequest,
  type OffsetCommitRequest,
  type OffsetFetchRequest,
} from './protocol/index.js';

const TOPIC = 't';

interface Member {
  epoch: number;
  target: TopicPartition[];
}

/** A broker with one topic and a scripted group coordinator. */
class FakeGroupBroker {
  readonly records: Buffer[] = [];
  readonly committed = new Map<number, number>();
  readonly heartbeats: Array<ConsumerGroupHeartbeatRequest & { lane: number }> = [];
  readonly commits: OffsetCommitRequest[] = [];
  /** The order of heartbeats and commits, for checks like "commit before the report". */
  readonly events: string[] = [];
  readonly members = new Map<string, Member>();
  heartbeatFaults: number[] = [];
  /** Target of the next member that joins. */
  nextTarget: TopicPartition[];
  /** Every request hangs, connects fail: the broker is gone. */
  gone = false;
  connections = 0;
  private memberCount = 0;
  private changed: Array<() => void> = [];

  constructor(readonly partitionCount: number, readonly perPartition: number) {
    for (let p = 0; p < partitionCount; p++) {
      this.records.push(encodeBatch(Array.from({ length: perPartition }, (_, i) => ({ value: `p${p}-${i}`, timestamp: 1000 + i })), { baseOffset: 0 }));
    }
    this.nextTarget = Array.from({ length: partitionCount }, (_, partition) => ({ topic: TOPIC, partition }));
  }

  /** Gives a member a new target; a held heartbeat of it answers at once. */
  setTarget(memberId: string, target: TopicPartition[]): void {
    const member = this.members.get(memberId)!;
    member.target = target;
    member.epoch++;
    for (const wake of this.changed.splice(0)) wake();
  }

  get onlyMemberId(): string {
    return [...this.members.keys()][0]!;
  }

  readonly connect: ConnectFn = async () => {
    if (this.gone) throw new StrataError('NETWORK_EXCEPTION', 'refused');
    const lane = ++this.connections;
    let closed = false;
    const listeners: Array<(error: Error | undefined) => void> = [];
    const closedSignal: Array<() => void> = [];
    const close = () => {
      if (closed) return;
      closed = true;
      for (const f of closedSignal.splice(0)) f();
      for (const l of listeners) l(undefined);
    };
    return {
      get closed() {
        return closed;
      },
      request: async (apiKey: number, body: unknown) => {
        if (closed) throw new StrataError('NETWORK_EXCEPTION', 'closed');
        if (this.gone) {
          await new Promise<void>((resolve) => closedSignal.push(resolve));
          throw new StrataError('NETWORK_EXCEPTION', 'closed');
        }
        const answer = await this.answer(apiKey, body, lane, closedSignal);
        if (closed) throw new StrataError('NETWORK_EXCEPTION', 'closed');
        return answer;
      },
      close: async () => close(),
      onClose: (listener: (error: Error | undefined) => void) => {
        listeners.push(listener);
        return () => undefined;
      },
    } as unknown as Connection;
  };

  private async answer(apiKey: number, body: unknown, lane: number, closedSignal: Array<() => void>): Promise<unknown> {
    switch (apiKey) {
      case API_KEYS.metadata:
        return {
          brokers: [{ nodeId: 1, host: 'fake', port: 1 }],
          controllerId: 1,
          topics: [{
            name: TOPIC, errorCode: 0,
            partitions: this.records.map((_, partition) => ({ partition, errorCode: 0, leaderId: 1, leaderEpoch: 0, replicas: [1], isr: [1] })),
          }],
        };
      case API_KEYS.findCoordinator:
        return { coordinators: [{ key: 'g', errorCode: 0, errorMessage: '', nodeId: 1, host: 'fake', port: 1 }] };
      case API_KEYS.listOffsets: {
        const request = body as ListOffsetsRequest;
        return {
          topics: request.topics.map((t) => ({
            name: t.name,
            partitions: t.partitions.map((p) => ({
              partition: p.partition, errorCode: 0, timestamp: -1, leaderHint: -1,
              offset: p.timestamp === LIST_OFFSETS_EARLIEST ? 0 : this.perPartition,
            })),
          })),
        };
      }
      case API_KEYS.fetch: {
        const request = body as FetchRequest;
        const partitions = request.topics[0]!.partitions;
        const results = partitions.map((p) => ({
          partition: p.partition, errorCode: 0, highWatermark: this.perPartition, logStartOffset: 0, leaderHint: -1,
          records: p.fetchOffset < this.perPartition ? this.records[p.partition]! : Buffer.alloc(0),
        }));
        if (results.every((r) => r.records.length === 0)) await new Promise((resolve) => setTimeout(resolve, Math.min(request.maxWaitMs, 20)));
        return { topics: [{ name: TOPIC, partitions: results }] };
      }
      case API_KEYS.offsetFetch: {
        const request = body as OffsetFetchRequest;
        return {
          errorCode: 0, errorMessage: '',
          topics: request.topics.map((t) => ({
            name: t.name,
            partitions: t.partitions.map((partition) => ({ partition, committedOffset: this.committed.get(partition) ?? -1, metadata: '', commitTimestamp: -1 })),
          })),
        };
      }
      case API_KEYS.offsetCommit: {
        const request = body as OffsetCommitRequest;
        this.commits.push(request);
        this.events.push(`commit ${request.topics.flatMap((t) => t.partitions.map((p) => `${p.partition}@${p.committedOffset}`)).join(',')}`);
        const member = this.members.get(request.memberId);
        const errorCode = member === undefined ? ERRORS.UNKNOWN_MEMBER_ID.code : 0;
        if (errorCode === 0) for (const t of request.topics) for (const p of t.partitions) this.committed.set(p.partition, p.committedOffset);
        return {
          errorCode: 0, errorMessage: '',
          topics: request.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode, errorMessage: '' })) })),
        };
      }
      case API_KEYS.consumerGroupHeartbeat:
        return this.heartbeat(body as ConsumerGroupHeartbeatRequest, lane, closedSignal);
      default:
        throw new StrataError('UNSUPPORTED_VERSION');
    }
  }

  private async heartbeat(request: ConsumerGroupHeartbeatRequest, lane: number, closedSignal: Array<() => void>): Promise<unknown> {
    this.heartbeats.push({ ...request, lane });
    const owned = fromTopicPartitions(request.ownedPartitions).map((tp) => tp.partition);
    this.events.push(`heartbeat epoch=${request.memberEpoch} owned=${owned.join(',')}`);
    const fault = this.heartbeatFaults.shift();
    if (fault !== undefined) return { errorCode: fault, errorMessage: '', memberId: '', memberEpoch: -1, heartbeatIntervalMs: 0, sessionTimeoutMs: 0, assignment: [] };
    if (request.memberEpoch === -1) {
      this.members.delete(request.memberId);
      return { errorCode: 0, errorMessage: '', memberId: request.memberId, memberEpoch: -1, heartbeatIntervalMs: 0, sessionTimeoutMs: 0, assignment: [] };
    }
    let memberId = request.memberId;
    if (request.memberEpoch === 0) {
      memberId = `m${++this.memberCount}`;
      this.members.set(memberId, { epoch: 1, target: this.nextTarget });
    }
    const member = this.members.get(memberId);
    if (member === undefined) return { errorCode: ERRORS.UNKNOWN_MEMBER_ID.code, errorMessage: '', memberId: '', memberEpoch: -1, heartbeatIntervalMs: 0, sessionTimeoutMs: 0, assignment: [] };
    const settled = () => diffAssignment(fromTopicPartitions(request.ownedPartitions), member.target).assigned.length === 0
      && diffAssignment(fromTopicPartitions(request.ownedPartitions), member.target).revoked.length === 0;
    if (request.memberEpoch > 0 && request.maxWaitMs > 0 && settled()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, request.maxWaitMs);
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        this.changed.push(wake);
        closedSignal.push(wake);
      });
    }
    return {
      errorCode: 0, errorMessage: '', memberId, memberEpoch: member.epoch,
      heartbeatIntervalMs: 200, sessionTimeoutMs: request.sessionTimeoutMs,
      assignment: toTopicPartitions(member.target),
    };
  }
}

function clientFor(broker: FakeGroupBroker, requestTimeoutMs = 2000): Client {
  return new Client(
    { brokers: ['fake:1'], requestTimeoutMs, retry: { retries: 3, initialRetryTimeMs: 5, maxRetryTimeMs: 20 } },
    { connect: broker.connect },
  );
}

const GROUP: ConsumerConfig = { groupId: 'g', autoCommitIntervalMs: 60_000, heartbeatIntervalMs: 200, maxWaitMs: 20 };

async function until(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('assignment helpers', () => {
  it('diffs owned against target, both ways', () => {
    const tp = (partition: number) => ({ topic: TOPIC, partition });
    expect(diffAssignment([tp(0), tp(1)], [tp(1), tp(2)])).toEqual({ assigned: [tp(2)], revoked: [tp(0)] });
    expect(toTopicPartitions([{ topic: 'b', partition: 2 }, { topic: 'a', partition: 1 }, { topic: 'b', partition: 0 }]))
      .toEqual([{ topic: 'a', partitions: [1] }, { topic: 'b', partitions: [0, 2] }]);
  });
});

describe('group consumer against a fake coordinator', () => {
  it('joins, starts each partition at its committed offset (else per fromBeginning), heartbeats on a lane of its own', async () => {
    const broker = new FakeGroupBroker(2, 5);
    broker.committed.set(0, 3);
    const client = clientFor(broker);
    const assigned: TopicPartition[][] = [];
    const consumer = client.consumer({ ...GROUP, onAssigned: (partitions) => void assigned.push(partitions) });
    await consumer.subscribe({ topics: TOPIC, fromBeginning: true });
    const seen: string[] = [];
    for await (const message of consumer) {
      seen.push(`${message.partition}@${message.offset}`);
      if (seen.length === 7) break;
    }
    expect(seen.filter((s) => s.startsWith('0@'))).toEqual(['0@3', '0@4']);
    expect(seen.filter((s) => s.startsWith('1@'))).toEqual(['1@0', '1@1', '1@2', '1@3', '1@4']);
    expect(assigned).toEqual([[{ topic: TOPIC, partition: 0 }, { topic: TOPIC, partition: 1 }]]);
    // The join, then a heartbeat reporting both partitions, held as a long poll.
    await until(() => broker.heartbeats.some((h) => h.ownedPartitions.length === 1 && h.ownedPartitions[0]!.partitions.length === 2));
    const first = broker.heartbeats[0]!;
    expect(first).toMatchObject({ groupId: 'g', memberId: '', memberEpoch: 0, maxWaitMs: 0, subscribedTopicNames: [TOPIC], sessionTimeoutMs: 10_000 });
    const held = broker.heartbeats.find((h) => h.memberEpoch > 0)!;
    expect(held.maxWaitMs).toBe(200);
    // Heartbeats go on their own connection; nothing else is sent on it.
    expect(new Set(broker.heartbeats.map((h) => h.lane)).size).toBe(1);
    expect(broker.connections).toBeGreaterThanOrEqual(3);
    await client.close();
  });

  it('commits only finished messages: the one in hand is finished by the next next() or by leaving the loop', async () => {
    const broker = new FakeGroupBroker(1, 5);
    const client = clientFor(broker);
    const consumer = client.consumer({ ...GROUP, autoCommitIntervalMs: 20 });
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    const iterator = consumer[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ offset: 0 });
    await sleep(80);
    expect(broker.commits).toEqual([]); // offset 0 is still in hand
    expect((await iterator.next()).value).toMatchObject({ offset: 1 });
    await until(() => broker.committed.get(0) === 1);
    await iterator.return!();
    await until(() => broker.committed.get(0) === 2);
    // Nothing moved: auto-commit sends nothing more.
    const count = broker.commits.length;
    await sleep(80);
    expect(broker.commits.length).toBe(count);
    await client.close();
  });

  it('a handler that throws leaves its message unfinished: commit() stops before it, run() again replays it', async () => {
    const broker = new FakeGroupBroker(1, 5);
    const client = clientFor(broker);
    const consumer = client.consumer({ ...GROUP, autoCommit: false });
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    const offsets: number[] = [];
    await expect(consumer.run({
      eachMessage: async ({ message }) => {
        offsets.push(message.offset);
        if (message.offset === 2) throw new Error('boom');
      },
    })).rejects.toThrow('boom');
    await consumer.commit();
    expect(broker.committed.get(0)).toBe(2);
    const again: number[] = [];
    const running = consumer.run({
      eachMessage: ({ message }) => {
        again.push(message.offset);
        if (message.offset === 4) void consumer.stop();
      },
    });
    await running;
    expect(again).toEqual([2, 3, 4]);
    await consumer.commit();
    expect(broker.committed.get(0)).toBe(5);
    await client.close();
  });

  it('on revoke: hands out nothing more from the partition, waits for the message in hand, commits, calls onRevoked, then reports it gone', async () => {
    const broker = new FakeGroupBroker(2, 5);
    const client = clientFor(broker);
    const revoked: Array<[TopicPartition[], string]> = [];
    const consumer = client.consumer({
      ...GROUP,
      onRevoked: (partitions, reason) => {
        revoked.push([partitions, reason]);
        broker.events.push(`onRevoked ${reason}`);
      },
    });
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    const iterator = consumer[Symbol.asyncIterator]();
    let held = (await iterator.next()).value as { partition: number; offset: number };
    while (held.partition !== 1) held = (await iterator.next()).value as { partition: number; offset: number };
    await until(() => broker.heartbeats.some((h) => h.memberEpoch > 0 && fromTopicPartitions(h.ownedPartitions).length === 2));
    broker.setTarget(broker.onlyMemberId, [{ topic: TOPIC, partition: 0 }]);
    await sleep(60);
    // Still waiting for the application to finish 1@held: nothing reported, nothing committed for 1.
    expect(broker.heartbeats.at(-1)!.ownedPartitions).toEqual([{ topic: TOPIC, partitions: [0, 1] }]);
    expect(revoked).toEqual([]);
    // Asking for the next message finishes the one in hand; nothing more of partition 1 comes
    // (partition 0 is read to its end already).
    let delivered: unknown;
    const next = iterator.next().then((r) => (delivered = r.value));
    await until(() => revoked.length === 1);
    await sleep(60);
    expect(delivered).toBeUndefined();
    expect(revoked[0]).toEqual([[{ topic: TOPIC, partition: 1 }], 'revoked']);
    expect(broker.committed.get(1)).toBe(held.offset + 1);
    await until(() => broker.heartbeats.at(-1)!.ownedPartitions[0]!.partitions.length === 1);
    const commitAt = broker.events.findIndex((e) => e.startsWith('commit') && e.includes(`1@${held.offset + 1}`));
    const callbackAt = broker.events.indexOf('onRevoked revoked');
    const reportAt = broker.events.findIndex((e) => e.endsWith('owned=0'));
    expect(commitAt).toBeGreaterThanOrEqual(0);
    expect(commitAt).toBeLessThan(callbackAt);
    expect(callbackAt).toBeLessThan(reportAt);
    expect(consumer.assignment()).toEqual([{ topic: TOPIC, partition: 0 }]);
    await client.close();
    await next;
    expect(delivered).toBeUndefined();
  });

  it('a revocation waits no longer than rebalanceTimeoutMs for a message the application keeps', async () => {
    const broker = new FakeGroupBroker(1, 5);
    const client = clientFor(broker);
    const consumer = client.consumer({ ...GROUP, rebalanceTimeoutMs: 100 });
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    const iterator = consumer[Symbol.asyncIterator]();
    await iterator.next(); // offset 0, never finished
    await until(() => broker.heartbeats.some((h) => h.memberEpoch > 0 && h.ownedPartitions.length === 1));
    const start = Date.now();
    broker.setTarget(broker.onlyMemberId, []);
    await until(() => broker.heartbeats.at(-1)!.ownedPartitions.length === 0);
    expect(Date.now() - start).toBeGreaterThanOrEqual(90);
    expect(broker.committed.has(0)).toBe(false); // nothing was finished
    await client.close();
  });

  it('fenced: drops every partition as lost without committing, then joins again with epoch 0', async () => {
    const broker = new FakeGroupBroker(2, 5);
    const client = clientFor(broker);
    const revoked: Array<[TopicPartition[], string]> = [];
    const consumer = client.consumer({ ...GROUP, onRevoked: (partitions, reason) => void revoked.push([partitions, reason]) });
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    const iterator = consumer[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.next(); // the first message is finished: there is something to commit
    await until(() => broker.heartbeats.some((h) => h.memberEpoch > 0 && fromTopicPartitions(h.ownedPartitions).length === 2));
    const firstMember = broker.onlyMemberId;
    broker.heartbeatFaults.push(ERRORS.FENCED_MEMBER_EPOCH.code);
    broker.setTarget(firstMember, broker.nextTarget); // answers the held heartbeat; the next one is fenced
    await until(() => revoked.length === 1);
    expect(revoked[0]![1]).toBe('lost');
    expect(revoked[0]![0]).toHaveLength(2);
    expect(broker.commits).toEqual([]);
    await until(() => broker.members.size === 2);
    const rejoin = broker.heartbeats.filter((h) => h.memberEpoch === 0);
    expect(rejoin).toHaveLength(2);
    expect(rejoin[1]).toMatchObject({ memberId: '', ownedPartitions: [] });
    await client.close();
  });

  it('close() commits finished offsets, calls onRevoked, and leaves with epoch -1', async () => {
    const broker = new FakeGroupBroker(1, 5);
    const client = clientFor(broker);
    const revoked: string[] = [];
    const consumer = client.consumer({ ...GROUP, onRevoked: (_, reason) => void revoked.push(reason) });
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    let n = 0;
    for await (const message of consumer) {
      if (++n === 3) {
        expect(message.offset).toBe(2);
        break;
      }
    }
    const memberId = broker.onlyMemberId;
    await consumer.close();
    expect(broker.committed.get(0)).toBe(3);
    expect(revoked).toEqual(['revoked']);
    expect(broker.heartbeats.at(-1)).toMatchObject({ memberId, memberEpoch: -1 });
    expect(broker.members.size).toBe(0);
    await client.close();
  });

  it('close() returns in bounded time when the broker is gone', async () => {
    const broker = new FakeGroupBroker(1, 5);
    const client = clientFor(broker, 300);
    const consumer = client.consumer({ ...GROUP });
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    const iterator = consumer[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.next();
    broker.gone = true;
    const start = Date.now();
    await consumer.close();
    expect(Date.now() - start).toBeLessThan(1500);
    await client.close();
  });

  it('surfaces a final membership error from the iterator and rejects subscribe before joining', async () => {
    const broker = new FakeGroupBroker(1, 5);
    broker.heartbeatFaults.push(ERRORS.UNSUPPORTED_ASSIGNOR.code);
    const client = clientFor(broker);
    const consumer = client.consumer({ ...GROUP, assignor: 'range' });
    await expect(consumer.subscribe({ topics: [TOPIC] })).rejects.toMatchObject({ errorName: 'UNSUPPORTED_ASSIGNOR' });
    await expect(consumer[Symbol.asyncIterator]().next()).rejects.toMatchObject({ errorName: 'UNSUPPORTED_ASSIGNOR' });
    await client.close();
  });

  it('keeps assign() and subscribe() apart, and commit() to group consumers', async () => {
    const broker = new FakeGroupBroker(1, 1);
    const client = clientFor(broker);
    await expect(client.consumer({ groupId: 'g' }).assign({ topic: TOPIC })).rejects.toThrow(/use subscribe/);
    const plain = client.consumer();
    await expect(plain.subscribe({ topics: [TOPIC] })).rejects.toThrow(/groupId/);
    await expect(plain.commit()).rejects.toThrow(/groupId/);
    const grouped = client.consumer({ groupId: 'g' });
    await expect(grouped.subscribe({ topics: [], fromBeginning: true })).rejects.toThrow(/topics/);
    await expect(grouped.subscribe({ topics: [TOPIC], from: 1 } as never)).rejects.toThrow(/unknown option 'from'/);
    await client.close();
  });
});
