/**
 * OffsetCommit (api key 8): store a group's committed offsets (the next offset to consume, as Kafka).
 *
 * History:
 * - version 0: introduced.
 *
 * A member commits with its `memberId` and `memberEpoch`, only for partitions it owns: a member the
 * coordinator does not know answers UNKNOWN_MEMBER_ID, an epoch above the member's
 * STALE_MEMBER_EPOCH, and a partition the member does not own PARTITION_NOT_ASSIGNED (per
 * partition). With `memberId` '' and `memberEpoch` -1 the commit comes from outside the group
 * (an admin resetting offsets, a consumer without subscriptions): it is accepted only while the
 * group has no members (NON_EMPTY_GROUP otherwise). Whole-request errors (NOT_COORDINATOR, …) are
 * in `errorCode`; partition results then carry the same code.
 *
 * The answer comes once the commit is durable: the offsets are records of `__consumer_offsets`,
 * appended under its flush policy. `committedMetadata` is at most 4 KiB (OFFSET_METADATA_TOO_LARGE).
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const OFFSET_COMMIT_SCHEMA = `
syntax = "proto3";
package strata.offset_commit;

message OffsetCommitRequest  { string group_id = 1; string member_id = 2; int32 member_epoch = 3;
                               repeated Topic topics = 4; }
message Topic                { string name = 1; repeated Partition partitions = 2; }
message Partition            { uint32 partition = 1; int64 committed_offset = 2; string committed_metadata = 3; }

message OffsetCommitResponse { int32 error_code = 1; string error_message = 2; repeated TopicResult topics = 3; }
message TopicResult          { string name = 1; repeated PartitionResult partitions = 2; }
message PartitionResult      { uint32 partition = 1; int32 error_code = 2; string error_message = 3; }
`;

export interface OffsetCommitRequest {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  topics: Array<{
    name: string;
    partitions: Array<{ partition: number; committedOffset: number; committedMetadata: string }>;
  }>;
}

export interface OffsetCommitPartitionResult {
  partition: number;
  errorCode: number;
  errorMessage: string;
}

export interface OffsetCommitResponse {
  errorCode: number;
  errorMessage: string;
  topics: Array<{ name: string; partitions: OffsetCommitPartitionResult[] }>;
}

export const OFFSET_COMMIT_API = defineApi<OffsetCommitRequest, OffsetCommitResponse>({
  key: API_KEYS.offsetCommit,
  name: 'OffsetCommit',
  minVersion: 0,
  maxVersion: 0,
  schema: OFFSET_COMMIT_SCHEMA,
  package: 'strata.offset_commit',
});
