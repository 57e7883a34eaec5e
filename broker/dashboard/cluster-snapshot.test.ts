// Method: hand-written broker views (as JSON would bring them) merged by the pure `mergeSnapshot`:
// which entry describes a partition, how down and unknown brokers show, how group lag is recomputed
// from the merged high watermarks; `sumTraffic` is checked against a plain sum with fast-check.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BrokerView, PartitionView } from './broker-view.js';
import { mergeSnapshot, sumTraffic, type PeerAnswer } from './cluster-snapshot.js';

function entry(nodeId: number, fields: Partial<PartitionView> = {}): PartitionView {
  return {
    topic: 'orders',
    topicId: 'id',
    partition: 0,
    internal: false,
    isLeader: false,
    leader: 1,
    leaderEpoch: 3,
    replicas: [1, 2, 3],
    isr: [nodeId],
    logStartOffset: 0,
    highWatermark: 10,
    logEndOffset: 10,
    sizeBytes: 100,
    status: 'online',
    traffic: [],
    ...fields,
  };
}

function view(nodeId: number, fields: Partial<BrokerView> = {}): BrokerView {
  return { nodeId, metadataLeader: 1, metadataTerm: 4, diskBytes: 1000 * nodeId, partitions: [], groups: [], ...fields };
}

const BROKERS = [1, 2, 3, 4].map((nodeId) => ({ nodeId, host: '127.0.0.1', port: 7400 + nodeId, httpHost: nodeId === 4 ? null : '127.0.0.1', httpPort: nodeId === 4 ? null : 7480 + nodeId }));

describe('mergeSnapshot', () => {
  it("describes a partition by its leader's entry, shows dead peers as down and recomputes lag", () => {
    const leaderEntry = entry(1, { isLeader: true, leader: 1, isr: [1, 2], highWatermark: 12, logEndOffset: 13, traffic: [{ atMs: 5, producedPerSec: 2, fetchedPerSec: 1, fetchedBytesPerSec: 50 }] });
    const answers = new Map<number, PeerAnswer>([
      [1, { view: view(1, { partitions: [leaderEntry, entry(1, { topic: '__consumer_offsets', internal: true, isLeader: true })] }) }],
      [
        2,
        {
          view: view(2, {
            metadataLeader: 2,
            metadataTerm: 5,
            partitions: [entry(2, { highWatermark: 11 })],
            groups: [
              {
                groupId: 'billing',
                state: 'Stable',
                members: [{ memberId: 'm1', clientId: 'app', clientHost: '10.0.0.9' }],
                // The coordinator's own high watermark trails; the merged one (12) counts.
                partitions: [
                  { topic: 'orders', partition: 0, member: 'm1', committedOffset: 7, highWatermark: 11, logStartOffset: 0 },
                  { topic: 'orders', partition: 1, member: null, committedOffset: -1, highWatermark: null, logStartOffset: null },
                ],
                lagHistory: [{ atMs: 5, lag: 4 }],
              },
            ],
          }),
        },
      ],
      [3, { problem: 'connection refused' }],
    ]);
    const snapshot = mergeSnapshot({
      servedBy: 1,
      generatedAtMs: 99,
      brokers: BROKERS,
      topics: [
        { name: 'orders', replicas: [[1, 2, 3], [3]] },
        { name: '__consumer_offsets', replicas: [[1, 2, 3]] },
      ],
      answers,
    });
    expect(snapshot).toMatchObject({ servedBy: 1, generatedAtMs: 99, metadataLeader: 2, metadataTerm: 5 });
    expect(snapshot.brokers).toEqual([
      { nodeId: 1, address: '127.0.0.1:7401', http: '127.0.0.1:7481', state: 'up', problem: null, partitionsLed: 2, diskBytes: 1000 },
      { nodeId: 2, address: '127.0.0.1:7402', http: '127.0.0.1:7482', state: 'up', problem: null, partitionsLed: 0, diskBytes: 2000 },
      { nodeId: 3, address: '127.0.0.1:7403', http: '127.0.0.1:7483', state: 'down', problem: 'connection refused', partitionsLed: null, diskBytes: null },
      { nodeId: 4, address: '127.0.0.1:7404', http: null, state: 'unknown', problem: 'no HTTP listener to ask', partitionsLed: null, diskBytes: null },
    ]);
    expect(snapshot.topics.map((t) => t.name)).toEqual(['orders']);
    const [p0, p1] = snapshot.topics[0]!.partitions;
    expect(p0).toMatchObject({ partition: 0, leader: 1, isr: [1, 2], highWatermark: 12, logEndOffset: 13, reportedBy: 1, status: 'online' });
    expect(snapshot.topics[0]!.traffic).toEqual(leaderEntry.traffic);
    // Only broker 3 hosts partition 1, and it is down.
    expect(p1).toMatchObject({ partition: 1, leader: null, replicas: [3], isr: null, highWatermark: null, status: 'offline', reportedBy: null });
    expect(snapshot.groups).toEqual([
      {
        groupId: 'billing',
        state: 'Stable',
        coordinator: 2,
        members: [{ memberId: 'm1', clientId: 'app', clientHost: '10.0.0.9', assignment: ['orders-0'] }],
        partitions: [
          { topic: 'orders', partition: 0, member: 'm1', committedOffset: 7, highWatermark: 12, lag: 5 },
          { topic: 'orders', partition: 1, member: null, committedOffset: -1, highWatermark: null, lag: null },
        ],
        totalLag: 5,
        lagHistory: [{ atMs: 5, lag: 4 }],
      },
    ]);
  });

  it("without the leader's answer takes the highest epoch and leaves the in-sync replicas unknown", () => {
    const answers = new Map<number, PeerAnswer>([
      [1, { view: view(1, { partitions: [entry(1, { leaderEpoch: 2, leader: 3, highWatermark: 5 })] }) }],
      [2, { view: view(2, { partitions: [entry(2, { leaderEpoch: 4, leader: 3, highWatermark: 8 })] }) }],
      [3, { problem: 'no answer within 1500 ms' }],
    ]);
    const snapshot = mergeSnapshot({ servedBy: 1, generatedAtMs: 0, brokers: BROKERS.slice(0, 3), topics: [{ name: 'orders', replicas: [[1, 2, 3]] }], answers });
    expect(snapshot.topics[0]!.partitions[0]).toMatchObject({ leader: 3, leaderEpoch: 4, highWatermark: 8, isr: null, reportedBy: 2 });
  });
});

describe('sumTraffic', () => {
  it('adds series sample by sample from the newest', () => {
    const sample = fc.record({ atMs: fc.nat(), producedPerSec: fc.nat(1000), fetchedPerSec: fc.nat(1000), fetchedBytesPerSec: fc.nat(10_000) });
    fc.assert(
      fc.property(fc.array(fc.array(sample, { maxLength: 6 }), { maxLength: 4 }), (series) => {
        const sum = sumTraffic(series);
        const length = Math.max(0, ...series.map((s) => s.length));
        expect(sum).toHaveLength(length);
        for (let back = 1; back <= length; back++) {
          const parts = series.map((s) => s[s.length - back]).filter((s) => s !== undefined);
          expect(sum[length - back]!.producedPerSec).toBe(parts.reduce((a, s) => a + s.producedPerSec, 0));
          expect(sum[length - back]!.fetchedBytesPerSec).toBe(parts.reduce((a, s) => a + s.fetchedBytesPerSec, 0));
        }
      }),
    );
  });
});
