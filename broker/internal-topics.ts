/**
 * Topics the broker keeps for itself. Clients may read them (tools do) but never create, delete or
 * produce to them: their records are the broker's own state, and a stray record there would be
 * read back as state. Kafka refuses the same operations on its internal topics.
 */

/** Committed offsets of consumer groups (`group/offsets-topic.ts` owns its record format). */
export const OFFSETS_TOPIC = '__consumer_offsets';

const INTERNAL_TOPICS: ReadonlySet<string> = new Set([OFFSETS_TOPIC]);

export function isInternalTopic(name: string): boolean {
  return INTERNAL_TOPICS.has(name);
}
