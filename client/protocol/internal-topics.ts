/**
 * Topics the broker keeps for itself, named here because both sides of the protocol need the list:
 * the broker refuses to let clients create, delete or produce to them (their records are its own
 * state), and tools leave them out of listings unless asked (`strata topic list --internal`), as
 * Kafka's clients know its internal topics by name.
 */

/** Committed offsets of consumer groups (the broker's `group/offsets-topic.ts` owns its record format). */
export const OFFSETS_TOPIC = '__consumer_offsets';

/** Transaction coordinators' state, one record per transactional id (the broker's `txn/transaction-state-topic.ts` owns its format). */
export const TRANSACTION_STATE_TOPIC = '__transaction_state';

const INTERNAL_TOPICS: ReadonlySet<string> = new Set([OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC]);

export function isInternalTopic(name: string): boolean {
  return INTERNAL_TOPICS.has(name);
}
