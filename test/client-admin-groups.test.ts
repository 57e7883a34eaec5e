// Method: starts a real broker on a free port with a temp data dir and drives the admin client's group
// calls against it; members are joined and removed with raw ConsumerGroupHeartbeat requests, so the
// admin side is checked on its own: committed offsets set by reset-offsets, lag against the high
// watermark, listing, deletion, and the refusals a group with members must give.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, startBroker, type Broker } from '../broker/index.js';
import { Client, StrataError } from '../client/index.js';
import { API_KEYS, MEMBER_EPOCH_JOIN, MEMBER_EPOCH_LEAVE, type ConsumerGroupHeartbeatResponse } from '../client/protocol/index.js';

let broker: Broker;
let client: Client;
let dataDir: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-admin-groups-'));
  broker = await startBroker({ dataDir, listen: { host: '127.0.0.1', port: 0 }, http: null, shutdownGraceMs: 200, logger: silentLogger() });
  client = new Client({ brokers: [`${broker.address.host}:${broker.address.port}`], retry: { retries: 3, initialRetryTimeMs: 20 } });
});

afterAll(async () => {
  await client?.close();
  await broker?.close();
  if (dataDir !== undefined) fs.rmSync(dataDir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<StrataError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(StrataError);
  return error as StrataError;
}

/** Creates a topic and writes `counts[p]` records to partition p. */
async function topicWith(topic: string, counts: readonly number[], timestamp = Date.now()): Promise<void> {
  await client.admin().createTopics({ topics: [{ topic, numPartitions: counts.length }] });
  const producer = client.producer({ acks: 1 });
  for (const [partition, count] of counts.entries()) {
    if (count > 0) await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ value: `${partition}-${i}`, partition, timestamp: timestamp + i })) });
  }
  await producer.close();
}

/** A group member made by hand: joins with one heartbeat (one broker, so any broker coordinates). */
async function join(groupId: string, topics: string[]): Promise<ConsumerGroupHeartbeatResponse> {
  const response = await client.cluster.requestAny(API_KEYS.consumerGroupHeartbeat, {
    groupId,
    memberId: '',
    memberEpoch: MEMBER_EPOCH_JOIN,
    sessionTimeoutMs: 120_000,
    subscribedTopicNames: topics,
    serverAssignor: '',
    ownedPartitions: [],
    maxWaitMs: 0,
  });
  expect(response.errorCode, response.errorMessage).toBe(0);
  return response;
}

async function leave(groupId: string, member: ConsumerGroupHeartbeatResponse, topics: string[]): Promise<void> {
  const response = await client.cluster.requestAny(API_KEYS.consumerGroupHeartbeat, {
    groupId,
    memberId: member.memberId,
    memberEpoch: MEMBER_EPOCH_LEAVE,
    sessionTimeoutMs: 0,
    subscribedTopicNames: topics,
    serverAssignor: '',
    ownedPartitions: [],
    maxWaitMs: 0,
  });
  expect(response.errorCode, response.errorMessage).toBe(0);
}

describe('admin: consumer groups', () => {
  it('plans and executes offset resets, and describes committed offsets and lag', async () => {
    const admin = client.admin();
    await topicWith('grp-orders', [10, 4, 0]);

    // The plan alone changes nothing. --to-offset is kept within [log start, high watermark].
    const plan = await admin.resetOffsets({ groupId: 'g-lag', topic: 'grp-orders', to: { offset: 3 }, execute: false });
    expect(plan).toEqual([
      { topic: 'grp-orders', partition: 0, currentOffset: -1, newOffset: 3 },
      { topic: 'grp-orders', partition: 1, currentOffset: -1, newOffset: 3 },
      { topic: 'grp-orders', partition: 2, currentOffset: -1, newOffset: 0 },
    ]);
    expect((await admin.fetchOffsets({ groupId: 'g-lag', topics: ['grp-orders'] })).map((o) => o.committedOffset)).toEqual([-1, -1, -1]);

    expect(await admin.resetOffsets({ groupId: 'g-lag', topic: 'grp-orders', to: { offset: 3 }, execute: true })).toEqual(plan);
    const committed = await admin.fetchOffsets({ groupId: 'g-lag' });
    expect(committed.map((o) => [o.topic, o.partition, o.committedOffset])).toEqual([
      ['grp-orders', 0, 3],
      ['grp-orders', 1, 3],
      ['grp-orders', 2, 0],
    ]);

    const described = await admin.describeGroup('g-lag');
    expect(described).toMatchObject({ group: 'g-lag', state: 'Empty', members: [] });
    expect(described.partitions).toEqual([
      { topic: 'grp-orders', partition: 0, member: null, committedOffset: 3, logEndOffset: 10, lag: 7 },
      { topic: 'grp-orders', partition: 1, member: null, committedOffset: 3, logEndOffset: 4, lag: 1 },
      { topic: 'grp-orders', partition: 2, member: null, committedOffset: 0, logEndOffset: 0, lag: 0 },
    ]);

    // The next plan starts from what is committed now.
    const toLatest = await admin.resetOffsets({ groupId: 'g-lag', topic: 'grp-orders', to: { latest: true }, execute: true });
    expect(toLatest.map((p) => [p.currentOffset, p.newOffset])).toEqual([[3, 10], [3, 4], [0, 0]]);
    expect((await admin.describeGroup('g-lag')).partitions.map((p) => p.lag)).toEqual([0, 0, 0]);
    const toEarliest = await admin.resetOffsets({ groupId: 'g-lag', topic: 'grp-orders', to: { earliest: true }, execute: false });
    expect(toEarliest.map((p) => [p.currentOffset, p.newOffset])).toEqual([[10, 0], [4, 0], [0, 0]]);
    await admin.close();
  });

  it('resets to a time: the first record at or after it, else the high watermark', async () => {
    const admin = client.admin();
    await topicWith('grp-times', [5], 1_000_000); // timestamps 1,000,000 .. 1,000,004
    const at = async (timestamp: number) => (await admin.resetOffsets({ groupId: 'g-time', topic: 'grp-times', to: { timestamp }, execute: false }))[0]!.newOffset;
    expect(await at(0)).toBe(0);
    expect(await at(1_000_002)).toBe(2);
    expect(await at(2_000_000)).toBe(5);
    await admin.close();
  });

  it('lists groups, refuses to reset or delete a group with members, then deletes it', async () => {
    const admin = client.admin();
    await topicWith('grp-live', [6, 2]);
    await admin.resetOffsets({ groupId: 'g-live', topic: 'grp-live', to: { offset: 1 }, execute: true });
    const member = await join('g-live', ['grp-live']);

    const listed = await admin.listGroups();
    expect(listed.find((g) => g.groupId === 'g-live')).toMatchObject({ groupId: 'g-live', members: 1 });
    expect(listed.map((g) => g.groupId)).toEqual([...listed.map((g) => g.groupId)].sort());

    const described = await admin.describeGroup('g-live');
    expect(described.state).not.toBe('Empty');
    expect(described.members).toHaveLength(1);
    expect(described.members[0]).toMatchObject({ memberId: member.memberId, memberEpoch: member.memberEpoch, subscribedTopics: ['grp-live'] });
    // Every partition of the subscribed topic, owned by the member where it is assigned.
    const owned = new Set(described.members[0]!.assignment.map((tp) => `${tp.topic}-${tp.partition}`));
    expect(described.partitions.map((p) => [p.partition, p.committedOffset, p.logEndOffset, p.lag])).toEqual([[0, 1, 6, 5], [1, 1, 2, 1]]);
    for (const p of described.partitions) expect(p.member).toBe(owned.has(`${p.topic}-${p.partition}`) ? member.memberId : null);

    const refusedReset = await rejection(admin.resetOffsets({ groupId: 'g-live', topic: 'grp-live', to: { earliest: true }, execute: true }));
    expect(refusedReset.errorName).toBe('NON_EMPTY_GROUP');
    expect(refusedReset.message).toContain("'g-live'");
    // The plan is still available while members run.
    expect((await admin.resetOffsets({ groupId: 'g-live', topic: 'grp-live', to: { earliest: true }, execute: false })).map((p) => p.currentOffset)).toEqual([1, 1]);
    expect((await rejection(admin.deleteGroups(['g-live']))).errorName).toBe('NON_EMPTY_GROUP');
    expect((await admin.fetchOffsets({ groupId: 'g-live' })).map((o) => o.committedOffset)).toEqual([1, 1]);

    await leave('g-live', member, ['grp-live']);
    await admin.deleteGroups(['g-live']);
    expect((await rejection(admin.describeGroup('g-live'))).errorName).toBe('GROUP_ID_NOT_FOUND');
    expect((await admin.listGroups()).map((g) => g.groupId)).not.toContain('g-live');
    await admin.close();
  });

  it('counts a partition without a commit from its log start', async () => {
    const admin = client.admin();
    await topicWith('grp-fresh', [5]);
    const member = await join('g-fresh', ['grp-fresh']);
    const [partition] = (await admin.describeGroup('g-fresh')).partitions;
    expect(partition).toMatchObject({ topic: 'grp-fresh', partition: 0, committedOffset: -1, logEndOffset: 5, lag: 5 });
    const [both] = await admin.describeGroups(['g-fresh']);
    expect(both!.group).toBe('g-fresh');
    await leave('g-fresh', member, ['grp-fresh']);
    await admin.close();
  });

  it('rejects unknown groups and bad targets with the protocol codes', async () => {
    const admin = client.admin();
    expect((await rejection(admin.describeGroup('never-was'))).errorName).toBe('GROUP_ID_NOT_FOUND');
    expect((await rejection(admin.deleteGroups(['never-was']))).errorName).toBe('GROUP_ID_NOT_FOUND');
    expect((await rejection(admin.describeGroup(''))).errorName).toBe('INVALID_GROUP_ID');
    await expect(admin.resetOffsets({ groupId: 'g', topic: 'grp-orders', to: { offset: -1 }, execute: false })).rejects.toThrow(RangeError);
    await admin.close();
  });
});
