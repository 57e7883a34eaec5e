/**
 * Fetch (api key 1): long-poll read of whole batches below the high watermark.
 *
 * History:
 * - version 0: introduced.
 *
 * The broker answers once `minBytes` are available across partitions or `maxWaitMs` passed. Each
 * partition returns at most `partitionMaxBytes` and the response at most `maxBytes`, except that the
 * first batch of the first partition with data is always whole (Kafka's KIP-74). `records` is
 * decoded as a view of the frame; `leaderHint` is -1 when unknown.
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const FETCH_SCHEMA = `
syntax = "proto3";
package strata.fetch;

message FetchRequest   { uint32 max_wait_ms = 1; uint32 min_bytes = 2; uint32 max_bytes = 3;
                         repeated FetchTopic topics = 4; }
message FetchTopic     { string name = 1; repeated FetchPartition partitions = 2; }
message FetchPartition { uint32 partition = 1; int64 fetch_offset = 2; uint32 partition_max_bytes = 3; }

message FetchResponse   { repeated TopicResult topics = 1; }
message TopicResult     { string name = 1; repeated PartitionResult partitions = 2; }
message PartitionResult { uint32 partition = 1; int32 error_code = 2; int64 high_watermark = 3;
                          int64 log_start_offset = 4; bytes records = 5; int32 leader_hint = 6; }
`;

export interface FetchRequest {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  topics: Array<{
    name: string;
    partitions: Array<{ partition: number; fetchOffset: number; partitionMaxBytes: number }>;
  }>;
}

export interface FetchPartitionResult {
  partition: number;
  errorCode: number;
  highWatermark: number;
  logStartOffset: number;
  records: Buffer;
  leaderHint: number;
}

export interface FetchResponse {
  topics: Array<{ name: string; partitions: FetchPartitionResult[] }>;
}

export const FETCH_API = defineApi<FetchRequest, FetchResponse>({
  key: API_KEYS.fetch,
  name: 'Fetch',
  minVersion: 0,
  maxVersion: 0,
  schema: FETCH_SCHEMA,
  package: 'strata.fetch',
});
