/**
 * TxnOffsetCommit (api key 28): a transactional producer commits a consumer group's offsets inside
 * its transaction (consume → transform → produce). The offsets are written to the group's
 * `__consumer_offsets` partition as a transactional batch and take effect only when the commit
 * marker arrives there; an abort discards them.
 *
 * History:
 * - version 0: introduced.
 *
 * Sent to the GROUP coordinator, after AddOffsetsToTxn to the transaction coordinator.
 * `memberId`/`memberEpoch` fence a consumer that lost its partitions (as OffsetCommit does; '' and
 * -1 skip the check, for a producer that does not consume through a group member). Errors per
 * partition as OffsetCommit, plus INVALID_PRODUCER_EPOCH / PRODUCER_FENCED and INVALID_TXN_STATE.
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const TXN_OFFSET_COMMIT_SCHEMA = `
syntax = "proto3";
package strata.txn_offset_commit;

message TxnOffsetCommitRequest  { string transactional_id = 1; string group_id = 2; int64 producer_id = 3;
                                  int32 producer_epoch = 4; string member_id = 5; int32 member_epoch = 6;
                                  repeated Topic topics = 7; }
message Topic                   { string name = 1; repeated Partition partitions = 2; }
message Partition               { uint32 partition = 1; int64 committed_offset = 2; string committed_metadata = 3; }

message TxnOffsetCommitResponse { int32 error_code = 1; string error_message = 2; repeated TopicResult topics = 3; }
message TopicResult             { string name = 1; repeated PartitionResult partitions = 2; }
message PartitionResult         { uint32 partition = 1; int32 error_code = 2; string error_message = 3; }
`;

export interface TxnOffsetCommitRequest {
  transactionalId: string;
  groupId: string;
  producerId: number;
  producerEpoch: number;
  /** '' when the producer is not a group member (no fencing by member epoch). */
  memberId: string;
  /** -1 with an empty memberId. */
  memberEpoch: number;
  topics: Array<{
    name: string;
    partitions: Array<{ partition: number; committedOffset: number; committedMetadata: string }>;
  }>;
}

export interface TxnOffsetCommitResponse {
  errorCode: number;
  errorMessage: string;
  topics: Array<{ name: string; partitions: Array<{ partition: number; errorCode: number; errorMessage: string }> }>;
}

export const TXN_OFFSET_COMMIT_API = defineApi<TxnOffsetCommitRequest, TxnOffsetCommitResponse>({
  key: API_KEYS.txnOffsetCommit,
  name: 'TxnOffsetCommit',
  minVersion: 0,
  maxVersion: 0,
  schema: TXN_OFFSET_COMMIT_SCHEMA,
  package: 'strata.txn_offset_commit',
});
