/**
 * Kafka's RangeAssignor (`org.apache.kafka.clients.consumer.RangeAssignor`, and the server-side
 * `RangeAssignor` of KIP-848), topic by topic: the members subscribed to the topic, sorted by
 * memberId, split its partitions into contiguous ranges in that order; with n partitions and k
 * members each gets floor(n / k), and the first n % k members one more. Two members and three
 * partitions: the first gets 0 and 1, the second 2.
 *
 * It ignores `current`: the same subscriptions and partition counts always give the same ranges, which
 * is what co-partitioned topics (a join of two topics keyed alike) rely on — partition i of each topic
 * goes to the same member when the topics have the same count and subscribers. The price is balance
 * across topics: the first members get the extra partition of every topic.
 */
import type { Assignment, AssignmentInput } from './assignor.js';
import { compareStrings, emptyAssignment, existingSubscriptions, readInput } from './assignment-input.js';

export function assignRange(input: AssignmentInput): Assignment {
  const members = readInput(input);
  const assignment = emptyAssignment(members);
  // Topic -> its subscribers in memberId order (members are visited in that order).
  const subscribers = new Map<string, string[]>();
  for (const member of members) {
    for (const topic of existingSubscriptions(member, input.partitionCounts)) {
      const list = subscribers.get(topic);
      if (list === undefined) subscribers.set(topic, [member.memberId]);
      else list.push(member.memberId);
    }
  }
  // Topics in order, so each member's list comes out sorted by topic then partition.
  for (const topic of [...subscribers.keys()].sort(compareStrings)) {
    const ids = subscribers.get(topic)!;
    const count = input.partitionCounts.get(topic)!;
    const perMember = Math.floor(count / ids.length);
    const withExtra = count % ids.length;
    for (const [i, memberId] of ids.entries()) {
      const start = i * perMember + Math.min(i, withExtra);
      const length = perMember + (i < withExtra ? 1 : 0);
      const list = assignment.get(memberId)!;
      for (let partition = start; partition < start + length; partition++) list.push({ topic, partition });
    }
  }
  return assignment;
}
