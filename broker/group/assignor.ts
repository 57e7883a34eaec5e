/**
 * The partition assignors of the consumer-group coordinator (server-side assignment, KIP-848): pure
 * functions from the group's members and the topics' partition counts to each member's target
 * assignment. The coordinator calls one whenever the group's membership, a subscription or a
 * partition count changes, and reconciles each member from its `current` target to the new one.
 *
 * Shared contract of every assignor:
 * - every member of the input has an entry in the output, possibly empty, and each member's list is
 *   sorted by topic (code-unit order, as `<` compares strings) then partition;
 * - a partition goes only to a member subscribed to its topic, and to one member at most; a topic
 *   missing from `partitionCounts` is skipped, as a topic being created or deleted is;
 * - the output does not depend on the order of `members`, nor of a member's `subscribedTopics` or
 *   `current`: the assignors sort what they read;
 * - member ids are unique (a duplicate is a RangeError) and partition counts are integers >= 0.
 *
 * `range` is Kafka's RangeAssignor (contiguous ranges per topic, ignores `current`); `sticky`, the
 * default, balances the number of partitions per member and moves as few as it can
 * (`sticky-assignor.ts` states exactly what it guarantees).
 */
import { assignRange } from './range-assignor.js';
import { assignSticky } from './sticky-assignor.js';

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface AssignorMember {
  readonly memberId: string;
  readonly subscribedTopics: readonly string[];
  /** The member's target assignment before this computation (empty for a new member). */
  readonly current: readonly TopicPartition[];
}

export interface AssignmentInput {
  readonly members: readonly AssignorMember[];
  /** Partition count of each topic that exists; subscribed topics missing here are skipped. */
  readonly partitionCounts: ReadonlyMap<string, number>;
}

/** memberId -> its partitions, sorted by topic then partition; every member of the input has an entry (maybe empty). */
export type Assignment = Map<string, TopicPartition[]>;

export const ASSIGNOR_NAMES = ['range', 'sticky'] as const;
export type AssignorName = (typeof ASSIGNOR_NAMES)[number];

export const ASSIGNORS: Readonly<Record<AssignorName, (input: AssignmentInput) => Assignment>> = Object.freeze({
  range: assignRange,
  sticky: assignSticky,
});

export const DEFAULT_ASSIGNOR: AssignorName = 'sticky';

export function isAssignorName(name: string): name is AssignorName {
  return (ASSIGNOR_NAMES as readonly string[]).includes(name);
}
