/**
 * A group's lag as this broker sees it, for the HTTP API and `/metrics`: per partition the group
 * reads (every partition of a topic a member subscribes to, and every partition with a committed
 * offset), its owner, the committed offset, the partition's high watermark and the difference.
 *
 * Lag needs the high watermark, which only the partition's leader knows for sure; here it comes
 * from the partitions this broker hosts (on one node, all of them). A partition hosted elsewhere
 * (later, with replication) has `logEndOffset` and `lag` null; the admin client computes lag from
 * ListOffsets instead, which works everywhere. Nothing committed counts from the log start, as
 * `admin.describeGroup` does.
 */
import type { PartitionManager } from '../partition-manager.js';
import { partitionKey, type ConsumerGroup, type GroupState } from './consumer-group.js';

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** The member that owns it now, or null. */
  readonly member: string | null;
  /** -1 when the group committed nothing for it. */
  readonly committedOffset: number;
  /** The high watermark; null when this broker does not host the partition. */
  readonly logEndOffset: number | null;
  readonly lag: number | null;
}

export interface GroupLag {
  readonly groupId: string;
  readonly state: GroupState;
  readonly members: number;
  readonly partitions: PartitionLag[];
}

export function groupLag(group: ConsumerGroup, partitions: PartitionManager): GroupLag {
  const members = group.describeMembers();
  const owner = new Map<string, string>();
  const topics = new Set<string>();
  for (const member of members) {
    for (const tp of member.assignment) owner.set(partitionKey(tp.topic, tp.partition), member.memberId);
    for (const topic of member.subscribedTopicNames) topics.add(topic);
  }
  const keys = new Map<string, { topic: string; partition: number }>();
  for (const topic of topics) {
    for (let partition = 0; partition < (partitions.topic(topic)?.partitions ?? 0); partition++) keys.set(partitionKey(topic, partition), { topic, partition });
  }
  for (const { topic, partition } of group.allCommitted()) keys.set(partitionKey(topic, partition), { topic, partition });
  const rows = [...keys.entries()].map(([key, { topic, partition }]): PartitionLag => {
    const committedOffset = group.committed(topic, partition)?.offset ?? -1;
    const hosted = partitions.partition(topic, partition);
    const logEndOffset = hosted === undefined || hosted.isRemoved ? null : hosted.highWatermark;
    const from = committedOffset >= 0 ? committedOffset : (hosted?.logStartOffset ?? 0);
    return { topic, partition, member: owner.get(key) ?? null, committedOffset, logEndOffset, lag: logEndOffset === null ? null : logEndOffset - from };
  });
  rows.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  return { groupId: group.groupId, state: group.state, members: members.length, partitions: rows };
}
