// Method: fast-check sequences of arbitrary records (names and ids drawn from small pools so they
// collide) applied at growing offsets: apply never throws, names and ids stay a bijection, a
// snapshot reads back to an image with the same state and bytes, and an image restored from a
// snapshot taken midway ends equal to one that applied everything. Examples pin each apply rule,
// and malformed snapshots are refused naming the problem.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantViolation } from '../../log/index.js';
import { metadataRecordArb } from '../../test/fixtures/metadata-arbitraries.js';
import { MetadataImage } from './metadata-image.js';
import { MetadataRecordError, type MetadataRecord } from './metadata-records.js';

const recordsArb = fc.array(fc.tuple(metadataRecordArb, fc.integer({ min: 1, max: 3 })), { maxLength: 40 });

/** Applies records at offsets growing by the given steps; returns the image. */
function replay(records: readonly [MetadataRecord, number][], image = new MetadataImage(), from = 0): MetadataImage {
  let offset = from;
  for (const [record, step] of records) {
    offset += step;
    image.apply(record, offset);
  }
  return image;
}

function stateOf(image: MetadataImage): unknown {
  const leaders = image.topics().map((t) => t.partitions.map((_, i) => image.partitionLeader(t.name, i) ?? null));
  return { appliedOffset: image.appliedOffset, brokers: image.brokers(), topics: image.topics(), leaders };
}

const broker = (nodeId: number, host = 'h'): MetadataRecord => ({ type: 'register-broker', nodeId, host, port: 7401, httpHost: null, httpPort: null });
const create = (name: string, topicId: string, replicas: number[][] = [[1]], configs: Record<string, string> = {}): MetadataRecord => ({
  type: 'create-topic', name, topicId, partitions: replicas.map((r) => ({ replicas: r })), configs,
});

describe('MetadataImage', () => {
  it('never throws on record content, and keeps topic names and ids one to one', () => {
    fc.assert(
      fc.property(recordsArb, (records) => {
        const image = replay(records);
        const topics = image.topics();
        expect(new Set(topics.map((t) => t.topicId)).size).toBe(topics.length);
        for (const topic of topics) expect(image.topicById(topic.topicId)).toBe(topic);
        expect(image.topicCount).toBe(topics.length);
      }),
      { numRuns: 300 },
    );
  });

  it('reads back its snapshot: same state, same bytes', () => {
    fc.assert(
      fc.property(recordsArb, (records) => {
        const image = replay(records);
        const snapshot = image.toSnapshot();
        const restored = MetadataImage.fromSnapshot(snapshot);
        expect(stateOf(restored)).toEqual(stateOf(image));
        expect(Buffer.from(restored.toSnapshot()).equals(Buffer.from(snapshot))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('ends the same from a snapshot taken midway as from the whole log', () => {
    fc.assert(
      fc.property(recordsArb, recordsArb, (before, after) => {
        const whole = replay([...before, ...after]);
        const midway = replay(before);
        const resumed = replay(after, MetadataImage.fromSnapshot(midway.toSnapshot()), midway.appliedOffset === -1 ? 0 : midway.appliedOffset);
        // Offsets of `after` start from where `before` ended in both replays.
        expect(stateOf(resumed)).toEqual(stateOf(whole));
      }),
      { numRuns: 200 },
    );
  });

  it('keeps the latest registration of a broker', () => {
    const image = new MetadataImage();
    expect(image.apply(broker(2, 'old'), 0)).toEqual({ applied: true });
    image.apply(broker(1), 1);
    image.apply({ type: 'register-broker', nodeId: 2, host: 'new', port: 9000, httpHost: 'new', httpPort: 9001 }, 2);
    expect(image.brokers().map((b) => b.nodeId)).toEqual([1, 2]);
    expect(image.broker(2)).toEqual({ nodeId: 2, host: 'new', port: 9000, httpHost: 'new', httpPort: 9001 });
    expect(image.broker(3)).toBeUndefined();
  });

  it('ignores records that contradict it, with the reason, and still advances its offset', () => {
    const image = new MetadataImage();
    image.apply(create('orders', 'id-1'), 10);
    expect(image.apply(create('orders', 'id-2'), 11)).toEqual({ applied: false, reason: "topic 'orders' already exists with id id-1" });
    expect(image.apply(create('payments', 'id-1'), 12)).toEqual({ applied: false, reason: "topic id id-1 already belongs to topic 'orders'" });
    expect(image.apply({ type: 'delete-topic', name: 'nope', topicId: 'id-1' }, 13)).toEqual({ applied: false, reason: "topic 'nope' does not exist" });
    expect(image.apply({ type: 'delete-topic', name: 'orders', topicId: 'id-9' }, 14)).toEqual({ applied: false, reason: "topic 'orders' has id id-1, not id-9" });
    expect(image.apply({ type: 'set-topic-configs', name: 'orders', topicId: 'id-9', configs: {} }, 15)).toMatchObject({ applied: false });
    expect(image.apply({ type: 'set-topic-configs', name: 'nope', topicId: 'id-1', configs: {} }, 16)).toMatchObject({ applied: false });
    expect(image.appliedOffset).toBe(16);
    expect(image.topics()).toEqual([{ name: 'orders', topicId: 'id-1', partitions: [{ replicas: [1] }], configs: {} }]);
  });

  it('deletes a topic, after which its name can be created again with a new id', () => {
    const image = new MetadataImage();
    image.apply(create('orders', 'id-1'), 0);
    expect(image.apply({ type: 'delete-topic', name: 'orders', topicId: 'id-1' }, 1)).toEqual({ applied: true });
    expect(image.topic('orders')).toBeUndefined();
    expect(image.topicById('id-1')).toBeUndefined();
    image.apply(create('orders', 'id-2', [[2]]), 2);
    expect(image.topic('orders')?.topicId).toBe('id-2');
  });

  it('replaces a topic\'s configs with those of set-topic-configs', () => {
    const image = new MetadataImage();
    image.apply(create('orders', 'id-1', [[1]], { 'retention.ms': '1000', 'cleanup.policy': 'compact' }), 0);
    image.apply({ type: 'set-topic-configs', name: 'orders', topicId: 'id-1', configs: { 'flush.policy': 'never' } }, 1);
    expect(image.topic('orders')?.configs).toEqual({ 'flush.policy': 'never' });
    expect(image.topic('orders')?.partitions).toEqual([{ replicas: [1] }]);
  });

  it('records a partition leader\'s report unless it contradicts the replicas or an epoch already seen', () => {
    const image = new MetadataImage();
    image.apply(create('orders', 'id-1', [[1, 2, 3], [2, 3, 4]]), 0);
    const report = (fields: Partial<{ partition: number; leader: number; leaderEpoch: number; isr: number[]; topicId: string }>): MetadataRecord => ({
      type: 'change-partition-leader', name: 'orders', topicId: 'id-1', partition: 0, leader: 2, leaderEpoch: 4, isr: [2, 3], ...fields,
    });
    expect(image.partitionLeader('orders', 0)).toBeUndefined();
    expect(image.apply(report({}), 1)).toEqual({ applied: true });
    expect(image.partitionLeader('orders', 0)).toEqual({ leader: 2, leaderEpoch: 4, isr: [2, 3] });
    expect(image.apply(report({ leaderEpoch: 4, isr: [2] }), 2)).toEqual({ applied: true });
    expect(image.partitionLeader('orders', 0)?.isr).toEqual([2]);
    expect(image.apply(report({ leader: 1, leaderEpoch: 3, isr: [1] }), 3)).toMatchObject({ applied: false, reason: expect.stringContaining('at leader epoch 4') });
    expect(image.apply(report({ leader: 4, isr: [4] }), 4)).toMatchObject({ applied: false, reason: expect.stringContaining('not a replica') });
    expect(image.apply(report({ isr: [2, 4] }), 5)).toMatchObject({ applied: false, reason: expect.stringContaining('not among its replicas') });
    expect(image.apply(report({ partition: 2 }), 6)).toMatchObject({ applied: false, reason: expect.stringContaining('no partition 2') });
    expect(image.apply(report({ topicId: 'id-9' }), 7)).toMatchObject({ applied: false });
    expect(image.partitionLeader('orders', 0)).toEqual({ leader: 2, leaderEpoch: 4, isr: [2] });
    image.apply({ type: 'delete-topic', name: 'orders', topicId: 'id-1' }, 8);
    image.apply(create('orders', 'id-2', [[1, 2, 3]]), 9);
    expect(image.partitionLeader('orders', 0)).toBeUndefined();
  });

  it('reads a version 1 snapshot (before leaders were reported)', () => {
    const image = MetadataImage.fromSnapshot(new TextEncoder().encode(JSON.stringify({ version: 1, appliedOffset: 3, brokers: [], topics: [{ name: 'orders', topicId: 'id-1', partitions: [{ replicas: [1] }], configs: {} }] })));
    expect(image.topic('orders')?.partitions).toEqual([{ replicas: [1] }]);
    expect(image.partitionLeader('orders', 0)).toBeUndefined();
  });

  it('lists replicas by partition and by broker', () => {
    const image = new MetadataImage();
    image.apply(create('b', 'id-b', [[1, 2], [2, 3], [3, 1]]), 0);
    image.apply(create('a', 'id-a', [[2]]), 1);
    expect(image.topics().map((t) => t.name)).toEqual(['a', 'b']);
    expect(image.partitionReplicas('b', 1)).toEqual([2, 3]);
    expect(image.partitionReplicas('b', 3)).toBeUndefined();
    expect(image.partitionReplicas('c', 0)).toBeUndefined();
    expect(image.replicasOn(2)).toEqual([
      { topic: 'a', topicId: 'id-a', partition: 0, replicas: [2] },
      { topic: 'b', topicId: 'id-b', partition: 0, replicas: [1, 2] },
      { topic: 'b', topicId: 'id-b', partition: 1, replicas: [2, 3] },
    ]);
    expect(image.replicasOn(9)).toEqual([]);
  });

  it('hands out frozen values that a caller cannot change under it', () => {
    const image = new MetadataImage();
    const partitions = [{ replicas: [1, 2] }];
    image.apply({ type: 'create-topic', name: 'orders', topicId: 'id-1', partitions, configs: {} }, 0);
    partitions[0]!.replicas.push(3);
    const topic = image.topic('orders')!;
    expect(topic.partitions[0]?.replicas).toEqual([1, 2]);
    expect(() => (topic.partitions[0]!.replicas as number[]).push(4)).toThrow(TypeError);
    expect(Object.isFrozen(topic.configs)).toBe(true);
  });

  it('asserts that offsets grow', () => {
    const image = new MetadataImage();
    image.apply(broker(1), 5);
    expect(() => image.apply(broker(1), 5)).toThrow(InvariantViolation);
    expect(() => image.apply(broker(1), 4)).toThrow(InvariantViolation);
    expect(() => image.apply(broker(1), 5.5)).toThrow(InvariantViolation);
    expect(image.appliedOffset).toBe(5);
  });

  it('starts empty at offset -1, and so does its snapshot', () => {
    const image = MetadataImage.fromSnapshot(new MetadataImage().toSnapshot());
    expect(stateOf(image)).toEqual({ appliedOffset: -1, brokers: [], topics: [], leaders: [] });
  });

  const snapshot = (fields: Record<string, unknown>): Uint8Array =>
    new TextEncoder().encode(JSON.stringify({ version: 2, appliedOffset: 3, brokers: [], topics: [], leaders: [], ...fields }));
  const brokerEntry = { nodeId: 1, host: 'h', port: 1, httpHost: null, httpPort: null };
  const topicEntry = { name: 'orders', topicId: 'id-1', partitions: [{ replicas: [1] }], configs: {} };
  const leaderEntry = { name: 'orders', topicId: 'id-1', partition: 0, leader: 1, leaderEpoch: 2, isr: [1] };

  it.each([
    ['bytes that are not JSON', new TextEncoder().encode('{"version":'), 'not UTF-8 JSON'],
    ['an array', new TextEncoder().encode('[]'), 'is not an object'],
    ['another version', snapshot({ version: 3 }), 'unsupported version 3'],
    ['version 1 with leaders', snapshot({ version: 1 }), 'a version 1 snapshot has no "leaders"'],
    ['leaders that are not an array', snapshot({ leaders: {} }), '"leaders" is not an array'],
    ['a leader of an unknown topic', snapshot({ leaders: [{ ...leaderEntry }] }), "topic 'orders' does not exist"],
    ['a leader that is not a replica', snapshot({ topics: [topicEntry], leaders: [{ ...leaderEntry, leader: 2, isr: [2] }] }), 'not a replica'],
    ['a partition with two leaders', snapshot({ topics: [topicEntry], leaders: [leaderEntry, leaderEntry] }), 'has two leaders'],
    ['a malformed leader', snapshot({ topics: [topicEntry], leaders: [{ ...leaderEntry, isr: [] }] }), "snapshot leader 0: change-partition-leader field 'isr'"],
    ['an unknown field', snapshot({ controller: 1 }), 'unknown field(s) controller'],
    ['a bad applied offset', snapshot({ appliedOffset: -2 }), 'bad appliedOffset -2'],
    ['brokers that are not an array', snapshot({ brokers: {} }), '"brokers" is not an array'],
    ['a broker twice', snapshot({ brokers: [brokerEntry, brokerEntry] }), 'broker 1 appears twice'],
    ['a malformed broker', snapshot({ brokers: [{ ...brokerEntry, port: 0 }] }), "snapshot broker 0: register-broker field 'port'"],
    ['a broker with a type', snapshot({ brokers: [{ ...brokerEntry, type: 'create-topic' }] }), "broker 0: has a field 'type'"],
    ['a topic twice', snapshot({ topics: [topicEntry, { ...topicEntry, topicId: 'id-2' }] }), "topic 'orders' appears twice"],
    ['a topic id twice', snapshot({ topics: [topicEntry, { ...topicEntry, name: 'b' }] }), 'topic id id-1 appears twice'],
    ['a malformed topic', snapshot({ topics: [{ ...topicEntry, partitions: [] }] }), "snapshot topic 0: create-topic field 'partitions'"],
  ])('refuses a snapshot with %s', (_what, bytes, fragment) => {
    expect(() => MetadataImage.fromSnapshot(bytes)).toThrow(MetadataRecordError);
    expect(() => MetadataImage.fromSnapshot(bytes)).toThrow(fragment);
  });
});
