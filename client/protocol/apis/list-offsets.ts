/**
 * ListOffsets (api key 2): the earliest (-2) or latest (-1) offset of a partition, or the first offset
 * whose timestamp is at or after a given one.
 *
 * History:
 * - version 0: introduced.
 * - version 1: `isolationLevel`: with read_committed (1), latest (-1) is the last stable offset
 *   (below any open transaction) instead of the high watermark, as Kafka answers.
 *
 * For a timestamp with no record at or after it, `offset` is the log end offset and `timestamp` -1.
 * `leaderHint` is -1 when unknown.
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const LIST_OFFSETS_SCHEMA = `
syntax = "proto3";
package strata.list_offsets;

message ListOffsetsRequest  { repeated Topic topics = 1; uint32 isolation_level = 2; }
message Topic               { string name = 1; repeated Partition partitions = 2; }
message Partition           { uint32 partition = 1; int64 timestamp = 2; }

message ListOffsetsResponse { repeated TopicResult topics = 1; }
message TopicResult         { string name = 1; repeated PartitionResult partitions = 2; }
message PartitionResult     { uint32 partition = 1; int32 error_code = 2; int64 timestamp = 3; int64 offset = 4;
                              int32 leader_hint = 5; }
`;

/** The special timestamps of a ListOffsets request (Kafka's). */
export const LIST_OFFSETS_LATEST = -1;
export const LIST_OFFSETS_EARLIEST = -2;

export interface ListOffsetsRequest {
  topics: Array<{
    name: string;
    partitions: Array<{ partition: number; timestamp: number }>;
  }>;
  /** 0 read_uncommitted (the default when absent), 1 read_committed (Fetch's ISOLATION_* values). */
  isolationLevel?: number;
}

export interface ListOffsetsPartitionResult {
  partition: number;
  errorCode: number;
  timestamp: number;
  offset: number;
  leaderHint: number;
}

export interface ListOffsetsResponse {
  topics: Array<{ name: string; partitions: ListOffsetsPartitionResult[] }>;
}

export const LIST_OFFSETS_API = defineApi<ListOffsetsRequest, ListOffsetsResponse>({
  key: API_KEYS.listOffsets,
  name: 'ListOffsets',
  minVersion: 0,
  maxVersion: 1,
  schema: LIST_OFFSETS_SCHEMA,
  package: 'strata.list_offsets',
});
