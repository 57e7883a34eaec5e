/**
 * AddPartitionsToTxn (api key 24): a transactional producer names the partitions it is about to
 * write to, before its first batch to each, so its transaction coordinator knows where to send the
 * commit or abort markers.
 *
 * History:
 * - version 0: introduced (Kafka's v3 fields: one transaction per request).
 *
 * Sent to the transaction coordinator (FindCoordinator key type 1). The usual errors are those of
 * every transactional request: PRODUCER_FENCED (a newer instance with the same transactional id took
 * over), INVALID_PRODUCER_ID_MAPPING (the id is not this transactional id's), CONCURRENT_TRANSACTIONS
 * (the previous transaction is still being completed, or is ending: retry), NOT_COORDINATOR,
 * COORDINATOR_LOAD_IN_PROGRESS. Every partition must exist or none is added: a partition that does
 * not is UNKNOWN_TOPIC_OR_PARTITION, and the whole request (so every partition) carries the first
 * problem; an internal topic is INVALID_REQUEST (a group's offsets join through AddOffsetsToTxn).
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const ADD_PARTITIONS_TO_TXN_SCHEMA = `
syntax = "proto3";
package strata.add_partitions_to_txn;

message AddPartitionsToTxnRequest  { string transactional_id = 1; int64 producer_id = 2; int32 producer_epoch = 3;
                                     repeated Topic topics = 4; }
message Topic                      { string name = 1; repeated uint32 partitions = 2; }

message AddPartitionsToTxnResponse { int32 error_code = 1; string error_message = 2; repeated TopicResult topics = 3; }
message TopicResult                { string name = 1; repeated PartitionResult partitions = 2; }
message PartitionResult            { uint32 partition = 1; int32 error_code = 2; string error_message = 3; }
`;

export interface TxnTopicPartitions {
  name: string;
  partitions: number[];
}

export interface AddPartitionsToTxnRequest {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  topics: TxnTopicPartitions[];
}

export interface TxnPartitionResult {
  partition: number;
  errorCode: number;
  errorMessage: string;
}

export interface AddPartitionsToTxnResponse {
  /** A failure of the whole request (every partition then carries it too). */
  errorCode: number;
  errorMessage: string;
  topics: Array<{ name: string; partitions: TxnPartitionResult[] }>;
}

export const ADD_PARTITIONS_TO_TXN_API = defineApi<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>({
  key: API_KEYS.addPartitionsToTxn,
  name: 'AddPartitionsToTxn',
  minVersion: 0,
  maxVersion: 0,
  schema: ADD_PARTITIONS_TO_TXN_SCHEMA,
  package: 'strata.add_partitions_to_txn',
});
