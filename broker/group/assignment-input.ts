/**
 * Reading an `AssignmentInput` the same way in every assignor: members in memberId order (so the
 * output does not depend on the order the coordinator lists them in), partition counts checked, and
 * each member's subscription reduced to the topics that exist, deduplicated and sorted.
 *
 * Strings compare by UTF-16 code units (`<`), never `localeCompare`: an assignment must not change
 * with the broker's locale.
 */
import type { Assignment, AssignmentInput, AssignorMember } from './assignor.js';

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A copy of `members` sorted by memberId; a RangeError if two share an id. */
export function sortedMembers(members: readonly AssignorMember[]): AssignorMember[] {
  const sorted = [...members].sort((a, b) => compareStrings(a.memberId, b.memberId));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.memberId === sorted[i - 1]!.memberId) throw new RangeError(`duplicate memberId ${JSON.stringify(sorted[i]!.memberId)}`);
  }
  return sorted;
}

/** A RangeError unless every partition count is an integer >= 0. */
export function checkPartitionCounts(partitionCounts: ReadonlyMap<string, number>): void {
  for (const [topic, count] of partitionCounts) {
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`partition count ${count} of topic ${JSON.stringify(topic)}`);
  }
}

/** The member's subscribed topics that exist and have partitions, deduplicated, in code-unit order. */
export function existingSubscriptions(member: AssignorMember, partitionCounts: ReadonlyMap<string, number>): string[] {
  const topics = new Set<string>();
  for (const topic of member.subscribedTopics) {
    if ((partitionCounts.get(topic) ?? 0) > 0) topics.add(topic);
  }
  return [...topics].sort(compareStrings);
}

/** An entry per member, in memberId order, each empty. */
export function emptyAssignment(sorted: readonly AssignorMember[]): Assignment {
  const assignment: Assignment = new Map();
  for (const member of sorted) assignment.set(member.memberId, []);
  return assignment;
}

/** The input's members and counts checked, the members sorted; shared by the assignors' entry points. */
export function readInput(input: AssignmentInput): AssignorMember[] {
  checkPartitionCounts(input.partitionCounts);
  return sortedMembers(input.members);
}
