/**
 * Topics the broker keeps for itself. Clients may read them (tools do) but never create, delete or
 * produce to them: their records are the broker's own state, and a stray record there would be
 * read back as state. Kafka refuses the same operations on its internal topics. The list lives in
 * the protocol (`client/protocol/internal-topics.ts`), where clients find it too.
 */
export { isInternalTopic, OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC } from '../client/protocol/index.js';
