/**
 * OffsetFetch (api key 9): a group's committed offsets.
 *
 * History:
 * - version 0: introduced.
 *
 * Asks for the listed partitions of each topic, every committed partition of a topic whose
 * `partitions` list is empty, or everything the group committed with `allTopics`. A partition with
 * no committed offset answers `committedOffset` -1. Anyone may read a group's offsets (no member id).
 * Whole-request errors (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, INVALID_GROUP_ID) are in
 * `errorCode`.
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const OFFSET_FETCH_SCHEMA = `
syntax = "proto3";
package strata.offset_fetch;

message OffsetFetchRequest  { string group_id = 1; repeated Topic topics = 2; bool all_topics = 3; }
message Topic               { string name = 1; repeated uint32 partitions = 2; }

message OffsetFetchResponse { int32 error_code = 1; string error_message = 2; repeated TopicResult topics = 3; }
message TopicResult         { string name = 1; repeated PartitionResult partitions = 2; }
message PartitionResult     { uint32 partition = 1; int64 committed_offset = 2; string metadata = 3;
                              int64 commit_timestamp = 4; }
`;

export interface OffsetFetchRequest {
  groupId: string;
  topics: Array<{ name: string; partitions: number[] }>;
  allTopics: boolean;
}

export interface CommittedPartitionOffset {
  partition: number;
  /** -1 when the group has committed nothing for the partition. */
  committedOffset: number;
  metadata: string;
  /** Milliseconds since the epoch; -1 with no commit. */
  commitTimestamp: number;
}

export interface OffsetFetchResponse {
  errorCode: number;
  errorMessage: string;
  topics: Array<{ name: string; partitions: CommittedPartitionOffset[] }>;
}

export const OFFSET_FETCH_API = defineApi<OffsetFetchRequest, OffsetFetchResponse>({
  key: API_KEYS.offsetFetch,
  name: 'OffsetFetch',
  minVersion: 0,
  maxVersion: 0,
  schema: OFFSET_FETCH_SCHEMA,
  package: 'strata.offset_fetch',
});
