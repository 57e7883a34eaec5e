/**
 * The client library's public surface: the only file other folders (and users) import.
 * Errors are `StrataError`s with the wire protocol's codes (`ERRORS`).
 */
export { Admin, type ITopicConfig, type PartitionDescription, type PartitionOffsets, type TopicDescription } from './admin.js';
export {
  type GroupDescription,
  type GroupListing,
  type GroupMemberDescription,
  type GroupOffset,
  type GroupPartitionLag,
  type OffsetResetPlan,
  type ResetTarget,
} from './admin.js';
export { Client } from './client.js';
export type { BrokerInfo, PartitionInfo, TopicInfo } from './cluster-metadata.js';
export type { Acks, ClientConfig, ConsumerConfig, Isolation, ProducerConfig } from './config.js';
export {
  Consumer,
  type CommitOffset,
  type ConsumerGroupMetadata,
  type SubscribeOptions,
  type ConsumerBatch,
  type ConsumerMessage,
  type RunOptions,
  type SeekOffset,
  type TopicPartition,
} from './consumer.js';
export { createStickyPartitioner, murmur2, partitionForKey, type Partitioner, type PartitionerInput } from './partitioner.js';
export { Producer, type ProducerMessage, type ProducerRecord, type RecordMetadata } from './producer.js';
export type { RetryOptions } from './retry.js';
export { Transaction } from './transaction.js';
export type { TransactionOffsets } from './transaction-manager.js';
export { TRANSACTION_STATES, type TransactionDescription, type TransactionListing, type TransactionState } from './transaction-admin.js';
export { ERRORS, StrataError, errorByCode, isInternalTopic, type ErrorName } from './protocol/index.js';
