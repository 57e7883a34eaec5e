// Method: each refusal rule pinned by an example (error name and the numbers in its message), the
// accepted plans checked record by record, and one fast-check property tying the planner to the
// image: over any image and any request, a record the planner proposes is one the image applies
// (never ignored), and a refusal is a name of the protocol's error table.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERRORS, StrataError } from '../../client/protocol/index.js';
import { metadataRecordArb, topicNameArb } from '../../test/fixtures/metadata-arbitraries.js';
import { OFFSETS_TOPIC_CONFIGS } from '../group/offsets-topic.js';
import { TRANSACTION_STATE_TOPIC_CONFIGS } from '../txn/transaction-state-topic.js';
import { MAX_PARTITIONS_PER_TOPIC, MAX_TOPICS, OFFSETS_TOPIC_PARTITIONS_DEFAULT } from '../limits.js';
import { MetadataImage } from './metadata-image.js';
import { planCreateTopic, planDeleteTopic, planInternalTopics, planPartitionLeader, planSetTopicConfigs, type Plan, type TopicCreation, type TopicCreationOptions } from './metadata-planner.js';
import type { CreateTopicRecord, MetadataRecord } from './metadata-records.js';

function idSource(prefix = 'topic'): () => string {
  let next = 0;
  return () => `${prefix}-${next++}`;
}

function imageWith(...records: MetadataRecord[]): MetadataImage {
  const image = new MetadataImage();
  records.forEach((record, offset) => image.apply(record, offset));
  return image;
}

const broker = (nodeId: number): MetadataRecord => ({ type: 'register-broker', nodeId, host: `broker-${nodeId}`, port: 7400 + nodeId, httpHost: null, httpPort: null });
const threeBrokers = (): MetadataImage => imageWith(broker(1), broker(2), broker(3));

const options = (overrides: Partial<TopicCreationOptions> = {}): TopicCreationOptions => ({
  liveBrokers: [1, 2, 3],
  defaultReplicationFactor: 3,
  defaultConfigs: {},
  newTopicId: idSource(),
  ...overrides,
});
const request = (overrides: Partial<TopicCreation> = {}): TopicCreation => ({ name: 'orders', partitions: 3, replicationFactor: -1, configs: {}, ...overrides });

function recordOf(plan: Plan): MetadataRecord {
  if ('error' in plan) throw new Error(`expected a record, got ${plan.error.name}: ${plan.error.message}`);
  return plan.record;
}

function errorOf(plan: Plan): { name: string; message: string } {
  if ('record' in plan) throw new Error(`expected an error, got ${JSON.stringify(plan.record)}`);
  return plan.error;
}

describe('planCreateTopic', () => {
  it('proposes a create-topic record with placed replicas, a fresh id and the parsed configs', () => {
    const plan = planCreateTopic(threeBrokers(), request({ configs: { 'cleanup.policy': 'compact' } }), options());
    expect(recordOf(plan)).toEqual({
      type: 'create-topic',
      name: 'orders',
      topicId: 'topic-0',
      partitions: [{ replicas: [1, 2, 3] }, { replicas: [2, 3, 1] }, { replicas: [3, 1, 2] }],
      configs: { 'cleanup.policy': 'compact' },
    });
  });

  it('takes the default replication factor for -1 and an explicit one otherwise', () => {
    expect((recordOf(planCreateTopic(threeBrokers(), request({ partitions: 1 }), options({ defaultReplicationFactor: 2 }))) as CreateTopicRecord).partitions).toEqual([{ replicas: [1, 2] }]);
    expect((recordOf(planCreateTopic(threeBrokers(), request({ partitions: 1, replicationFactor: 1 }), options())) as CreateTopicRecord).partitions).toEqual([{ replicas: [1] }]);
  });

  it('starts each topic\'s placement where the topics before it left off', () => {
    const image = threeBrokers();
    const ids = idSource();
    const leaders: number[] = [];
    for (const name of ['a', 'b', 'c', 'd']) {
      const record = recordOf(planCreateTopic(image, request({ name, partitions: 1, replicationFactor: 1 }), options({ newTopicId: ids }))) as CreateTopicRecord;
      image.apply(record, image.appliedOffset + 1);
      leaders.push(record.partitions[0]!.replicas[0]!);
    }
    expect(leaders).toEqual([1, 2, 3, 1]);
  });

  it('places only on live registered brokers', () => {
    const image = imageWith(broker(1), broker(2), broker(3), broker(4));
    const record = recordOf(planCreateTopic(image, request({ partitions: 4, replicationFactor: 2 }), options({ liveBrokers: [4, 2, 9, 1] }))) as CreateTopicRecord;
    const used = new Set(record.partitions.flatMap((p) => p.replicas));
    expect([...used].sort()).toEqual([1, 2, 4]);
  });

  it.each([
    ['an internal topic', request({ name: '__consumer_offsets' }), 'INVALID_REQUEST', 'internal topic'],
    ['a bad name', request({ name: 'a/b' }), 'INVALID_TOPIC_EXCEPTION', "topic name 'a/b' holds characters"],
    ['an empty name', request({ name: '' }), 'INVALID_TOPIC_EXCEPTION', 'empty'],
    ['no partitions', request({ partitions: 0 }), 'INVALID_PARTITIONS', `from 1 to ${MAX_PARTITIONS_PER_TOPIC}, got 0`],
    ['fractional partitions', request({ partitions: 1.5 }), 'INVALID_PARTITIONS', 'got 1.5'],
    ['too many partitions', request({ partitions: MAX_PARTITIONS_PER_TOPIC + 1 }), 'INVALID_PARTITIONS', `got ${MAX_PARTITIONS_PER_TOPIC + 1}`],
    ['replication factor 0', request({ replicationFactor: 0 }), 'INVALID_REPLICATION_FACTOR', 'got 0'],
    ['replication factor -2', request({ replicationFactor: -2 }), 'INVALID_REPLICATION_FACTOR', 'got -2'],
    ['more replicas than registered brokers', request({ replicationFactor: 4 }), 'INVALID_REPLICATION_FACTOR', 'replication factor 4 is larger than the 3 registered brokers'],
    ['an unknown config', request({ configs: { 'retention.days': '1' } }), 'INVALID_CONFIG', "unknown topic config 'retention.days'"],
    ['a bad config value', request({ configs: { 'retention.ms': 'soon' } }), 'INVALID_CONFIG', "topic config 'retention.ms' must be an integer"],
  ])('refuses %s', (_what, creation, name, fragment) => {
    const error = errorOf(planCreateTopic(threeBrokers(), creation, options()));
    expect(error.name).toBe(name);
    expect(error.message).toContain(fragment);
  });

  it('refuses a topic that exists', () => {
    const image = threeBrokers();
    image.apply({ type: 'create-topic', name: 'orders', topicId: 'x', partitions: [{ replicas: [1] }], configs: {} }, 10);
    expect(errorOf(planCreateTopic(image, request(), options()))).toEqual({ name: 'TOPIC_ALREADY_EXISTS', message: "topic 'orders' already exists" });
  });

  it('refuses a default replication factor above the registered brokers, naming both numbers', () => {
    const error = errorOf(planCreateTopic(imageWith(broker(1), broker(2)), request(), options()));
    expect(error).toEqual({ name: 'INVALID_REPLICATION_FACTOR', message: 'replication factor 3 is larger than the 2 registered brokers' });
  });

  it('with a broker down, gives the live brokers the first replicas and the down one the last', () => {
    const record = recordOf(planCreateTopic(threeBrokers(), request({ partitions: 6 }), options({ liveBrokers: [2, 3, 7] }))) as CreateTopicRecord;
    for (const { replicas } of record.partitions) {
      expect(new Set(replicas).size).toBe(3);
      expect(replicas[2]).toBe(1);
    }
  });

  it('never places a single replica on a broker that is down', () => {
    const image = imageWith(broker(1), broker(2), broker(3), broker(4));
    const record = recordOf(planCreateTopic(image, request({ partitions: 8, replicationFactor: 1 }), options({ liveBrokers: [1, 3, 4] }))) as CreateTopicRecord;
    expect(record.partitions.flatMap((p) => p.replicas)).not.toContain(2);
    const two = recordOf(planCreateTopic(image, request({ partitions: 8, replicationFactor: 2 }), options({ liveBrokers: [1, 3, 4] }))) as CreateTopicRecord;
    expect(two.partitions.flatMap((p) => p.replicas)).not.toContain(2);
  });

  it('refuses replicas a majority of which could not be live, naming the live brokers', () => {
    const error = errorOf(planCreateTopic(threeBrokers(), request(), options({ liveBrokers: [3, 7] })));
    expect(error).toEqual({
      name: 'INVALID_REPLICATION_FACTOR',
      message: 'replication factor 3 needs a majority of 2 live brokers; only 1 of the 3 registered brokers are live (3)',
    });
  });

  it('refuses configs the broker defaults make invalid', () => {
    const error = errorOf(planCreateTopic(threeBrokers(), request(), options({ defaultConfigs: { 'flush.policy': 'sometimes' } })));
    expect(error.name).toBe('INVALID_CONFIG');
  });

  it('refuses a topic beyond the cluster limit', () => {
    const image = threeBrokers();
    for (let i = 0; i < MAX_TOPICS; i++) image.apply({ type: 'create-topic', name: `t${i}`, topicId: `id${i}`, partitions: [{ replicas: [1] }], configs: {} }, 10 + i);
    expect(errorOf(planCreateTopic(image, request(), options()))).toEqual({ name: 'INVALID_REQUEST', message: `the cluster holds its limit of ${MAX_TOPICS} topics` });
  });
});

describe('planDeleteTopic', () => {
  const image = imageWith(broker(1), { type: 'create-topic', name: 'orders', topicId: 'id-1', partitions: [{ replicas: [1] }], configs: {} });

  it('proposes a delete-topic record naming the topic id', () => {
    expect(recordOf(planDeleteTopic(image, { name: 'orders' }))).toEqual({ type: 'delete-topic', name: 'orders', topicId: 'id-1' });
    expect(recordOf(planDeleteTopic(image, { name: 'orders', topicId: 'id-1' }))).toEqual({ type: 'delete-topic', name: 'orders', topicId: 'id-1' });
  });

  it('refuses internal, unknown and re-created topics', () => {
    expect(errorOf(planDeleteTopic(image, { name: '__consumer_offsets' })).name).toBe('INVALID_REQUEST');
    expect(errorOf(planDeleteTopic(image, { name: 'payments' }))).toEqual({ name: 'UNKNOWN_TOPIC_OR_PARTITION', message: "topic 'payments' does not exist" });
    expect(errorOf(planDeleteTopic(image, { name: 'orders', topicId: 'id-0' }))).toEqual({ name: 'UNKNOWN_TOPIC_OR_PARTITION', message: "topic 'orders' has id id-1, not id-0" });
  });
});

describe('planSetTopicConfigs', () => {
  const image = imageWith(
    broker(1),
    { type: 'create-topic', name: 'orders', topicId: 'id-1', partitions: [{ replicas: [1] }], configs: { 'retention.ms': '1000', 'flush.policy': 'never' } },
    { type: 'create-topic', name: '__consumer_offsets', topicId: 'id-2', partitions: [{ replicas: [1] }], configs: OFFSETS_TOPIC_CONFIGS },
  );
  const defaults = { defaultConfigs: {} };

  it('proposes the topic\'s complete overrides after setting and removing keys', () => {
    const plan = planSetTopicConfigs(image, { name: 'orders', set: { 'retention.ms': '2000', 'cleanup.policy': 'compact' }, remove: ['flush.policy'] }, defaults);
    expect(recordOf(plan)).toEqual({ type: 'set-topic-configs', name: 'orders', topicId: 'id-1', configs: { 'retention.ms': '2000', 'cleanup.policy': 'compact' } });
  });

  it('lets a key that is not set be removed', () => {
    const plan = planSetTopicConfigs(image, { name: 'orders', set: {}, remove: ['segment.ms'] }, defaults);
    expect(recordOf(plan)).toMatchObject({ configs: { 'retention.ms': '1000', 'flush.policy': 'never' } });
  });

  it.each([
    ['an unknown topic', { name: 'nope', set: {}, remove: [] }, 'UNKNOWN_TOPIC_OR_PARTITION', "topic 'nope' does not exist"],
    ['an internal topic', { name: '__consumer_offsets', set: { 'retention.ms': '1' }, remove: [] }, 'INVALID_REQUEST', 'internal topic'],
    ['a key set and removed', { name: 'orders', set: { 'retention.ms': '1' }, remove: ['retention.ms'] }, 'INVALID_REQUEST', "'retention.ms' is both set and removed"],
    ['removing an unknown key', { name: 'orders', set: {}, remove: ['retention.days'] }, 'INVALID_CONFIG', "unknown topic config 'retention.days'"],
    ['setting an unknown key', { name: 'orders', set: { 'retention.days': '1' }, remove: [] }, 'INVALID_CONFIG', "unknown topic config 'retention.days'"],
    ['a bad value', { name: 'orders', set: { 'flush.policy': 'sometimes' }, remove: [] }, 'INVALID_CONFIG', 'flush.policy'],
  ])('refuses %s', (_what, change, name, fragment) => {
    const error = errorOf(planSetTopicConfigs(image, change, defaults));
    expect(error.name).toBe(name);
    expect(error.message).toContain(fragment);
  });
});

describe('planInternalTopics', () => {
  const internal = { voterCount: 3, offsetsTopicPartitions: OFFSETS_TOPIC_PARTITIONS_DEFAULT, transactionStateTopicPartitions: 4, defaultConfigs: {}, newTopicId: idSource('offsets') };

  it('waits until as many brokers registered as there are voters', () => {
    expect(planInternalTopics(imageWith(broker(1), broker(2)), internal)).toEqual([]);
  });

  it('then creates __consumer_offsets and __transaction_state over every registered broker, replication factor min(3, brokers)', () => {
    const [record, txn, ...rest] = planInternalTopics(threeBrokers(), internal) as CreateTopicRecord[];
    expect(rest).toEqual([]);
    expect(record).toMatchObject({ type: 'create-topic', name: '__consumer_offsets', configs: OFFSETS_TOPIC_CONFIGS });
    expect(record!.partitions).toHaveLength(OFFSETS_TOPIC_PARTITIONS_DEFAULT);
    expect(record!.partitions.every((p) => p.replicas.length === 3)).toBe(true);
    expect(txn).toMatchObject({ type: 'create-topic', name: '__transaction_state', configs: TRANSACTION_STATE_TOPIC_CONFIGS });
    expect(txn!.partitions).toHaveLength(4);
    expect(txn!.partitions.every((p) => p.replicas.length === 3)).toBe(true);
    const [single] = planInternalTopics(imageWith(broker(5)), { ...internal, voterCount: 1 }) as CreateTopicRecord[];
    expect(single!.partitions.every((p) => p.replicas.length === 1 && p.replicas[0] === 5)).toBe(true);
    const [wide] = planInternalTopics(imageWith(broker(1), broker(2), broker(3), broker(4), broker(5)), internal) as CreateTopicRecord[];
    expect(wide!.partitions.every((p) => p.replicas.length === 3)).toBe(true);
  });

  it('creates nothing once they exist, and only the missing one when one exists (a cluster from before transactions)', () => {
    const image = threeBrokers();
    const [offsets, txn] = planInternalTopics(image, internal);
    image.apply(offsets!, image.appliedOffset + 1);
    expect(planInternalTopics(image, internal).map((r) => (r as CreateTopicRecord).name)).toEqual(['__transaction_state']);
    image.apply(txn!, image.appliedOffset + 1);
    expect(image.topic('__consumer_offsets')).toBeDefined();
    expect(image.topic('__transaction_state')).toBeDefined();
    expect(planInternalTopics(image, internal)).toEqual([]);
  });

  it('refuses a voter count that is not one', () => {
    expect(() => planInternalTopics(threeBrokers(), { ...internal, voterCount: 0 })).toThrow(RangeError);
  });

  it('throws INVALID_CONFIG when the broker defaults are invalid', () => {
    expect(() => planInternalTopics(threeBrokers(), { ...internal, defaultConfigs: { 'retention.ms': 'x' } })).toThrow(StrataError);
  });
});

describe('planner and image', () => {
  const requestArb = fc.oneof(
    fc.record({ kind: fc.constant('create' as const), name: topicNameArb, partitions: fc.integer({ min: -1, max: 20 }), replicationFactor: fc.integer({ min: -2, max: 4 }), retention: fc.option(fc.constantFrom('1000', 'x'), { nil: undefined }) }),
    fc.record({ kind: fc.constant('delete' as const), name: topicNameArb }),
    fc.record({ kind: fc.constant('configs' as const), name: topicNameArb, flush: fc.constantFrom('always', 'never', 'sometimes'), remove: fc.subarray(['retention.ms', 'cleanup.policy', 'nope']) }),
  );

  it('proposes only records the image applies, and refuses only with names of the error table', () => {
    const proposed = new Set<string>();
    fc.assert(
      fc.property(fc.array(metadataRecordArb, { maxLength: 20 }), fc.array(requestArb, { minLength: 1, maxLength: 10 }), fc.subarray([0, 1, 2, 3, 4, 5]), (history, requests, live) => {
        const image = imageWith(...history);
        const ids = idSource('planned');
        for (const r of requests) {
          const plan =
            r.kind === 'create'
              ? planCreateTopic(image, { name: r.name, partitions: r.partitions, replicationFactor: r.replicationFactor, configs: r.retention === undefined ? {} : { 'retention.ms': r.retention } }, { liveBrokers: live, defaultReplicationFactor: 1, defaultConfigs: {}, newTopicId: ids })
              : r.kind === 'delete'
                ? planDeleteTopic(image, { name: r.name })
                : planSetTopicConfigs(image, { name: r.name, set: { 'flush.policy': r.flush }, remove: r.remove }, { defaultConfigs: {} });
          if ('record' in plan) {
            proposed.add(plan.record.type);
            expect(image.apply(plan.record, image.appliedOffset + 1)).toEqual({ applied: true });
          } else expect(Object.hasOwn(ERRORS, plan.error.name)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
    // The property means something only if every kind of plan was accepted at times.
    expect([...proposed].sort()).toEqual(['create-topic', 'delete-topic', 'set-topic-configs']);
  });
});

describe('planPartitionLeader', () => {
  const withTopic = (): MetadataImage =>
    imageWith(broker(1), broker(2), broker(3), { type: 'create-topic', name: 'orders', topicId: 'id-1', partitions: [{ replicas: [1, 2, 3] }, { replicas: [2, 3] }], configs: {} });
  const report = (overrides: Partial<{ topic: string; topicId: string; partition: number; leader: number; leaderEpoch: number; isr: number[] }> = {}) => ({
    topic: 'orders', topicId: 'id-1', partition: 0, leader: 2, leaderEpoch: 3, isr: [3, 2], ...overrides,
  });

  it('plans a change-partition-leader record with a sorted ISR, and nothing when the image already holds it', () => {
    const image = withTopic();
    const plan = planPartitionLeader(image, report());
    expect(plan).toEqual({ record: { type: 'change-partition-leader', name: 'orders', topicId: 'id-1', partition: 0, leader: 2, leaderEpoch: 3, isr: [2, 3] } });
    image.apply(recordOf(plan as Plan), 10);
    expect(planPartitionLeader(image, report())).toEqual({ record: undefined });
    expect((planPartitionLeader(image, report({ isr: [2] })) as { record: MetadataRecord }).record).toMatchObject({ isr: [2] });
  });

  it.each([
    ['an unknown topic', report({ topic: 'nope' }), 'UNKNOWN_TOPIC_OR_PARTITION'],
    ['another topic id', report({ topicId: 'id-9' }), 'UNKNOWN_TOPIC_OR_PARTITION'],
    ['an unknown partition', report({ partition: 2 }), 'UNKNOWN_TOPIC_OR_PARTITION'],
    ['a reporter that is not a replica', report({ partition: 1, leader: 1, isr: [1] }), 'INVALID_REQUEST'],
    ['an ISR without the leader', report({ isr: [3] }), 'INVALID_REQUEST'],
    ['an ISR naming a non-replica', report({ partition: 1, leader: 2, isr: [1, 2] }), 'INVALID_REQUEST'],
    ['a negative epoch', report({ leaderEpoch: -1 }), 'INVALID_REQUEST'],
  ])('refuses %s', (_what, bad, name) => {
    expect(errorOf(planPartitionLeader(withTopic(), bad) as Plan).name).toBe(name);
  });

  it('fences a report older than the epoch the image holds', () => {
    const image = withTopic();
    image.apply(recordOf(planPartitionLeader(image, report({ leaderEpoch: 5 })) as Plan), 10);
    expect(errorOf(planPartitionLeader(image, report({ leader: 3, leaderEpoch: 4 })) as Plan)).toMatchObject({ name: 'FENCED_LEADER_EPOCH' });
    expect(recordOf(planPartitionLeader(image, report({ leader: 3, leaderEpoch: 6 })) as Plan)).toMatchObject({ leader: 3, leaderEpoch: 6 });
  });
});
