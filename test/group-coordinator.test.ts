// Method: starts a real broker on a free 127.0.0.1 port with a temp data dir and speaks the group
// APIs to it raw, with the protocol's Connection (one connection per member, as a held heartbeat
// blocks the requests behind it): joins, long-poll wake-ups on a join, revoke-before-reassign,
// commit checks, describe/list/delete, and a restart on the same data dir that must keep every
// committed offset.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger, startBroker, type Broker } from '../broker/index.js';
import {
  API_KEYS,
  Connection,
  ERRORS,
  errorByCode,
  type ConsumerGroupHeartbeatRequest,
  type ConsumerGroupHeartbeatResponse,
  type TopicPartitions,
} from '../client/protocol/index.js';
import { encodeBatch } from '../log/index.js';

const LISTEN = { host: '127.0.0.1', port: 0 };

let dataDir: string;
const brokers: Broker[] = [];
const connections: Connection[] = [];

async function start(): Promise<Broker> {
  const broker = await startBroker({ dataDir, listen: LISTEN, http: null, logger: silentLogger(), offsetsTopicPartitions: 3, groupMinSessionTimeoutMs: 500 });
  brokers.push(broker);
  return broker;
}

async function connect(broker: Broker): Promise<Connection> {
  const connection = await Connection.connect({ host: broker.address.host, port: broker.address.port, clientId: 'group-test' });
  connections.push(connection);
  return connection;
}

async function createTopic(connection: Connection, name: string, partitions: number): Promise<void> {
  const response = await connection.request(API_KEYS.createTopics, { topics: [{ name, partitions, replicationFactor: 1, configs: {} }], timeoutMs: 5000, validateOnly: false });
  expect(response.topics[0]?.errorCode).toBe(0);
}

function heartbeat(connection: Connection, request: Partial<ConsumerGroupHeartbeatRequest>): Promise<ConsumerGroupHeartbeatResponse> {
  return connection.request(API_KEYS.consumerGroupHeartbeat, {
    groupId: 'g', memberId: '', memberEpoch: 0, sessionTimeoutMs: 0, subscribedTopicNames: ['orders'], serverAssignor: '', ownedPartitions: [], maxWaitMs: 0,
    ...request,
  });
}

function count(assignment: readonly TopicPartitions[]): number {
  return assignment.reduce((n, tp) => n + tp.partitions.length, 0);
}

function commit(connection: Connection, memberId: string, memberEpoch: number, partition: number, offset: number, groupId = 'g') {
  return connection.request(API_KEYS.offsetCommit, {
    groupId, memberId, memberEpoch, topics: [{ name: 'orders', partitions: [{ partition, committedOffset: offset, committedMetadata: 'm' }] }],
  });
}

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-group-'));
});

afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close()));
  await Promise.all(brokers.splice(0).map((b) => b.close()));
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('group coordinator over the wire', () => {
  it('finds itself as coordinator and creates __consumer_offsets on first use, which clients cannot write or delete', async () => {
    const broker = await start();
    const connection = await connect(broker);
    const found = await connection.request(API_KEYS.findCoordinator, { keyType: 0, keys: ['g', ''] });
    expect(found.coordinators[0]).toMatchObject({ key: 'g', errorCode: 0, nodeId: broker.nodeId, port: broker.address.port });
    expect(found.coordinators[1]?.errorCode).toBe(ERRORS.INVALID_GROUP_ID.code);
    expect(broker.partitions.topic('__consumer_offsets')?.partitions).toBe(3);
    const produce = await connection.request(API_KEYS.produce, {
      acks: 1, timeoutMs: 1000, topics: [{ name: '__consumer_offsets', partitions: [{ partition: 0, records: encodeBatch([{ value: 'x' }]) }] }],
    });
    expect(produce.topics[0]?.partitions[0]?.errorCode).toBe(ERRORS.INVALID_TOPIC_EXCEPTION.code);
    const deleted = await connection.request(API_KEYS.deleteTopics, { topics: ['__consumer_offsets'], timeoutMs: 1000 });
    expect(deleted.topics[0]?.errorCode).toBe(ERRORS.INVALID_REQUEST.code);
    const created = await connection.request(API_KEYS.createTopics, { topics: [{ name: '__consumer_offsets', partitions: 1, replicationFactor: 1, configs: {} }], timeoutMs: 1000, validateOnly: false });
    expect(created.topics[0]?.errorCode).toBe(ERRORS.INVALID_REQUEST.code);
  });

  it('wakes a held heartbeat when a member joins, and gives the partition only after it is revoked', async () => {
    const broker = await start();
    const admin = await connect(broker);
    await createTopic(admin, 'orders', 4);
    const a = await connect(broker);
    const b = await connect(broker);

    const joinedA = await heartbeat(a, {});
    expect(joinedA.errorCode).toBe(0);
    expect(count(joinedA.assignment)).toBe(4);
    // A owns everything and holds a long poll.
    const held = heartbeat(a, { memberId: joinedA.memberId, memberEpoch: joinedA.memberEpoch, ownedPartitions: joinedA.assignment, maxWaitMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    const joinedB = await heartbeat(b, {});
    expect(count(joinedB.assignment)).toBe(0);
    const revoke = await held;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(count(revoke.assignment)).toBe(2);
    // B waits (held) until A reports the revocation; then it gets its two partitions.
    const heldB = heartbeat(b, { memberId: joinedB.memberId, memberEpoch: joinedB.memberEpoch, ownedPartitions: [], maxWaitMs: 20_000 });
    const afterRevoke = await heartbeat(a, { memberId: joinedA.memberId, memberEpoch: revoke.memberEpoch, ownedPartitions: revoke.assignment });
    expect(afterRevoke.errorCode).toBe(0);
    const assignedB = await heldB;
    expect(count(assignedB.assignment)).toBe(2);
    const ownedA = new Set(revoke.assignment.flatMap((tp) => tp.partitions));
    for (const p of assignedB.assignment.flatMap((tp) => tp.partitions)) expect(ownedA.has(p)).toBe(false);

    const described = await admin.request(API_KEYS.consumerGroupDescribe, { groupIds: ['g', 'missing'] });
    expect(described.groups[0]).toMatchObject({ groupId: 'g', errorCode: 0, state: 'Stable', assignor: 'sticky' });
    expect(described.groups[0]?.members).toHaveLength(2);
    expect(described.groups[1]?.errorCode).toBe(ERRORS.GROUP_ID_NOT_FOUND.code);
    const listed = await admin.request(API_KEYS.listGroups, {});
    expect(listed.groups).toEqual([{ groupId: 'g', state: 'Stable', members: 2 }]);

    // Leaving moves the partitions back at once.
    const heldA = heartbeat(a, { memberId: joinedA.memberId, memberEpoch: afterRevoke.memberEpoch, ownedPartitions: afterRevoke.assignment, maxWaitMs: 20_000 });
    await heartbeat(b, { memberId: joinedB.memberId, memberEpoch: -1 });
    expect(count((await heldA).assignment)).toBe(4);
  });

  it('checks commits against membership and ownership, and keeps offsets across a restart', async () => {
    let broker = await start();
    let connection = await connect(broker);
    await createTopic(connection, 'orders', 2);
    const joined = await heartbeat(connection, {});
    const owned = joined.assignment;
    expect(count(owned)).toBe(2);

    const ok = await commit(connection, joined.memberId, joined.memberEpoch, 1, 42);
    expect(ok.errorCode).toBe(0);
    expect(ok.topics[0]?.partitions[0]?.errorCode).toBe(0);
    const notOwned = await commit(connection, joined.memberId, joined.memberEpoch, 7, 1);
    expect(errorByCode(notOwned.topics[0]!.partitions[0]!.errorCode)?.name).toBe('PARTITION_NOT_ASSIGNED');
    const stranger = await commit(connection, 'stranger', 1, 0, 1);
    expect(errorByCode(stranger.errorCode)?.name).toBe('UNKNOWN_MEMBER_ID');
    const stale = await commit(connection, joined.memberId, joined.memberEpoch + 10, 0, 1);
    expect(errorByCode(stale.errorCode)?.name).toBe('STALE_MEMBER_EPOCH');
    const outside = await commit(connection, '', -1, 0, 5);
    expect(errorByCode(outside.errorCode)?.name).toBe('NON_EMPTY_GROUP');
    const negative = await commit(connection, joined.memberId, joined.memberEpoch, 0, -3);
    expect(errorByCode(negative.topics[0]!.partitions[0]!.errorCode)?.name).toBe('INVALID_REQUEST');
    const deleteBusy = await connection.request(API_KEYS.deleteGroups, { groupIds: ['g'] });
    expect(errorByCode(deleteBusy.results[0]!.errorCode)?.name).toBe('NON_EMPTY_GROUP');
    // A commit for another group from outside, while that group is empty, is an offset reset.
    expect((await commit(connection, '', -1, 0, 9, 'other')).errorCode).toBe(0);

    await heartbeat(connection, { memberId: joined.memberId, memberEpoch: -1 });
    await broker.close();
    brokers.splice(0);

    broker = await start();
    connection = await connect(broker);
    const fetched = await connection.request(API_KEYS.offsetFetch, { groupId: 'g', topics: [{ name: 'orders', partitions: [0, 1] }], allTopics: false });
    expect(fetched.errorCode).toBe(0);
    expect(fetched.topics[0]?.partitions.map((p) => [p.partition, p.committedOffset, p.metadata])).toEqual([[0, -1, ''], [1, 42, 'm']]);
    const other = await connection.request(API_KEYS.offsetFetch, { groupId: 'other', topics: [], allTopics: true });
    expect(other.topics).toEqual([{ name: 'orders', partitions: [expect.objectContaining({ partition: 0, committedOffset: 9 })] }]);
    // Membership is not persisted: the old member must join again.
    const old = await heartbeat(connection, { memberId: joined.memberId, memberEpoch: joined.memberEpoch });
    expect(errorByCode(old.errorCode)?.name).toBe('UNKNOWN_MEMBER_ID');

    const deleted = await connection.request(API_KEYS.deleteGroups, { groupIds: ['g', 'g', 'never'] });
    expect(deleted.results.map((r) => errorByCode(r.errorCode)?.name)).toEqual(['NONE', 'GROUP_ID_NOT_FOUND']);
    await broker.close();
    brokers.splice(0);
    broker = await start();
    connection = await connect(broker);
    const afterDelete = await connection.request(API_KEYS.offsetFetch, { groupId: 'g', topics: [], allTopics: true });
    expect(afterDelete.topics).toEqual([]);
    const listed = await connection.request(API_KEYS.listGroups, {});
    expect(listed.groups.map((g) => g.groupId)).toEqual(['other']);
  });

  it('removes a member that stops heartbeating and moves its partitions to the others', async () => {
    const broker = await start();
    const admin = await connect(broker);
    await createTopic(admin, 'orders', 2);
    const a = await connect(broker);
    const b = await connect(broker);
    const joinedA = await heartbeat(a, { sessionTimeoutMs: 600 });
    const joinedB = await heartbeat(b, { sessionTimeoutMs: 600 });
    // A revokes what B should get.
    const revoke = await heartbeat(a, { memberId: joinedA.memberId, memberEpoch: joinedA.memberEpoch, ownedPartitions: joinedA.assignment, sessionTimeoutMs: 600 });
    await heartbeat(a, { memberId: joinedA.memberId, memberEpoch: revoke.memberEpoch, ownedPartitions: revoke.assignment, sessionTimeoutMs: 600 });
    const assignedB = await heartbeat(b, { memberId: joinedB.memberId, memberEpoch: joinedB.memberEpoch, sessionTimeoutMs: 600 });
    expect(count(assignedB.assignment)).toBe(1);
    // A goes silent; B's held heartbeat is answered with both partitions once A's session passed.
    const started = Date.now();
    const all = await heartbeat(b, { memberId: joinedB.memberId, memberEpoch: assignedB.memberEpoch, ownedPartitions: assignedB.assignment, sessionTimeoutMs: 600, maxWaitMs: 5000 });
    expect(count(all.assignment)).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    const late = await heartbeat(a, { memberId: joinedA.memberId, memberEpoch: revoke.memberEpoch, sessionTimeoutMs: 600 });
    expect(errorByCode(late.errorCode)?.name).toBe('UNKNOWN_MEMBER_ID');
  });
});
