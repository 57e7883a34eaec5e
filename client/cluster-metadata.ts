/**
 * The client's view of the cluster: brokers by node id, and for each topic its partitions and their
 * leaders, as the last Metadata response said, corrected by leader hints from errors in between.
 * Plain data; `client.ts` decides when to refresh it.
 *
 * A topic's entry is replaced whole by each Metadata response that names it, so a partition count
 * never mixes two responses. A leader hint (NOT_LEADER_OR_FOLLOWER with `leaderHint`) moves one
 * partition's leader at once, before the refresh that confirms it.
 */
import type { MetadataResponse } from './protocol/index.js';

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
}

export interface PartitionInfo {
  partition: number;
  /** -1 when the partition has no leader now. */
  leaderId: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  errorCode: number;
}

export interface TopicInfo {
  name: string;
  partitions: PartitionInfo[];
  updatedMs: number;
}

export class ClusterMetadata {
  readonly brokers = new Map<number, BrokerInfo>();
  readonly topics = new Map<string, TopicInfo>();
  /** Every topic a broker has described to this client, invalidated or not: it existed. */
  private readonly seen = new Set<string>();
  controllerId = -1;
  /** When the broker list was last refreshed; 0 before the first Metadata response. */
  updatedMs = 0;

  /** Applies a Metadata response. Topics with a topic-level error are dropped from the cache. */
  apply(response: MetadataResponse, nowMs: number): void {
    this.brokers.clear();
    for (const broker of response.brokers) this.brokers.set(broker.nodeId, { nodeId: broker.nodeId, host: broker.host, port: broker.port });
    this.controllerId = response.controllerId;
    this.updatedMs = nowMs;
    for (const topic of response.topics) {
      if (topic.errorCode !== 0) {
        this.topics.delete(topic.name);
        continue;
      }
      const partitions = topic.partitions
        .map((p) => ({
          partition: p.partition,
          leaderId: p.errorCode === 0 || p.leaderId >= 0 ? p.leaderId : -1,
          leaderEpoch: p.leaderEpoch,
          replicas: [...p.replicas],
          isr: [...p.isr],
          errorCode: p.errorCode,
        }))
        .sort((a, b) => a.partition - b.partition);
      this.topics.set(topic.name, { name: topic.name, partitions, updatedMs: nowMs });
      this.seen.add(topic.name);
    }
  }

  topic(name: string): TopicInfo | undefined {
    return this.topics.get(name);
  }

  partitionCount(topic: string): number | undefined {
    return this.topics.get(topic)?.partitions.length;
  }

  /** The leader's node id, or undefined when unknown (no metadata, no leader, or an unknown broker). */
  leaderOf(topic: string, partition: number): number | undefined {
    const leaderId = this.topics.get(topic)?.partitions[partition]?.leaderId;
    return leaderId !== undefined && leaderId >= 0 && this.brokers.has(leaderId) ? leaderId : undefined;
  }

  /** Applies a leader hint from an error; ignored unless it names a known broker. */
  applyLeaderHint(topic: string, partition: number, leaderHint: number | undefined): boolean {
    const info = this.topics.get(topic)?.partitions[partition];
    if (info === undefined || leaderHint === undefined || leaderHint < 0 || !this.brokers.has(leaderHint)) return false;
    info.leaderId = leaderHint;
    return true;
  }

  /** True once a broker has described `topic` to this client (it existed then). */
  wasSeen(topic: string): boolean {
    return this.seen.has(topic);
  }

  /** Forgets a topic so the next use fetches its metadata again. */
  invalidate(topic: string): void {
    this.topics.delete(topic);
  }
}
