/**
 * What one broker knows for the dashboard, as its `GET /v1/dashboard/broker` answers: the
 * partitions it hosts (offsets, size, leadership as its replica sees it, the traffic of the last
 * minutes), its disk use, the consumer groups it coordinates (members, assignment, lag and lag over
 * time) and its view of the metadata leader and term. The broker that serves the page merges every
 * broker's view into one snapshot (`cluster-snapshot.ts`); views travel as JSON between brokers, so
 * this file's types are the contract of that route.
 *
 * A view is read at one instant from in-memory state, apart from the group descriptions, which wait
 * for the groups' committed offsets to be loaded.
 */
import type { ClusterStatus } from '../cluster/cluster-node.js';
import type { GroupCoordinator } from '../group/group-coordinator.js';
import { isInternalTopic } from '../internal-topics.js';
import type { PartitionManager } from '../partition-manager.js';
import type { LagSample, PartitionReading, TrafficSample, TrafficSampler } from './traffic-sampler.js';

/** What the dashboard reads from a broker; `HttpServerOptions` has all of it. */
export interface DashboardSources {
  readonly nodeId: number;
  readonly partitions: PartitionManager;
  readonly groups: GroupCoordinator;
  readonly clusterStatus: () => ClusterStatus;
}

export interface PartitionView {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly internal: boolean;
  readonly isLeader: boolean;
  /** The leader this replica knows, or null while none is elected. */
  readonly leader: number | null;
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly logEndOffset: number;
  readonly sizeBytes: number;
  readonly status: 'online' | 'failed';
  readonly traffic: readonly TrafficSample[];
}

export interface GroupMemberView {
  readonly memberId: string;
  readonly clientId: string;
  readonly clientHost: string;
}

export interface GroupPartitionView {
  readonly topic: string;
  readonly partition: number;
  readonly member: string | null;
  readonly committedOffset: number;
  /** This broker's high watermark of the partition; null when it does not host it. */
  readonly highWatermark: number | null;
  readonly logStartOffset: number | null;
}

export interface GroupView {
  readonly groupId: string;
  readonly state: string;
  readonly members: readonly GroupMemberView[];
  readonly partitions: readonly GroupPartitionView[];
  readonly lagHistory: readonly LagSample[];
}

export interface BrokerView {
  readonly nodeId: number;
  readonly metadataLeader: number | null;
  readonly metadataTerm: number;
  /** Bytes of every log this broker hosts, internal topics included. */
  readonly diskBytes: number;
  readonly partitions: readonly PartitionView[];
  readonly groups: readonly GroupView[];
}

/** The sampler's reading of this broker: every hosted partition and the total lag of each group. */
export function readTraffic(sources: DashboardSources): { partitions: PartitionReading[]; groups: { groupId: string; lag: number }[] } {
  const partitions = sources.partitions.allPartitions().map((p) => ({
    topicId: p.topicId,
    partition: p.index,
    highWatermark: p.highWatermark,
    servedOffsets: p.servedToConsumers.offsets,
    servedBytes: p.servedToConsumers.bytes,
  }));
  const groups = sources.groups.lag().map((g) => ({ groupId: g.groupId, lag: g.partitions.reduce((sum, row) => sum + (row.lag ?? 0), 0) }));
  return { partitions, groups };
}

export async function collectBrokerView(sources: DashboardSources, sampler: TrafficSampler): Promise<BrokerView> {
  const status = sources.clusterStatus();
  const hosted = sources.partitions.allPartitions().filter((p) => !p.isRemoved);
  const partitions = hosted.map((p): PartitionView => {
    const { leaderId, leaderEpoch, replicas, isr } = p.leadership;
    return {
      topic: p.topic,
      topicId: p.topicId,
      partition: p.index,
      internal: isInternalTopic(p.topic),
      isLeader: p.isLeader,
      leader: leaderId < 0 ? null : leaderId,
      leaderEpoch,
      replicas: [...replicas],
      isr: [...isr],
      logStartOffset: p.logStartOffset,
      highWatermark: p.highWatermark,
      logEndOffset: p.logEndOffset,
      sizeBytes: p.log.sizeBytes,
      status: p.isFailed ? 'failed' : 'online',
      traffic: sampler.partitionSeries(p.topicId, p.index),
    };
  });
  const lags = sources.groups.lag();
  const described = await sources.groups.describeGroups(lags.map((g) => g.groupId));
  const groups = lags.map((lag): GroupView => {
    const members = described.groups.find((d) => d.groupId === lag.groupId)?.members ?? [];
    return {
      groupId: lag.groupId,
      state: lag.state,
      members: members.map((m) => ({ memberId: m.memberId, clientId: m.clientId, clientHost: m.clientHost })),
      partitions: lag.partitions.map((row) => {
        const partition = sources.partitions.partition(row.topic, row.partition);
        return {
          topic: row.topic,
          partition: row.partition,
          member: row.member,
          committedOffset: row.committedOffset,
          highWatermark: row.logEndOffset,
          logStartOffset: partition === undefined || partition.isRemoved ? null : partition.logStartOffset,
        };
      }),
      lagHistory: sampler.groupSeries(lag.groupId),
    };
  });
  return {
    nodeId: sources.nodeId,
    metadataLeader: status.metadataLeader,
    metadataTerm: status.metadataTerm,
    diskBytes: hosted.reduce((sum, p) => sum + p.log.sizeBytes, 0),
    partitions,
    groups,
  };
}
