/**
 * Fetch (api key 1): long-poll read of whole batches below the high watermark.
 *
 * History:
 * - version 0: introduced.
 * - version 1: `isolationLevel` (0 read_uncommitted, 1 read_committed); each partition answers its
 *   `lastStableOffset` and, for read_committed, the aborted transactions that overlap the records
 *   returned. A read_committed fetch reads below the last stable offset only (below the first
 *   offset of any open transaction); the client drops the records of the aborted transactions
 *   listed (Kafka's rule: a producer's records from an aborted transaction's `firstOffset` up to its
 *   abort marker) and never shows control records.
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
                         repeated FetchTopic topics = 4; uint32 isolation_level = 5; }
message FetchTopic     { string name = 1; repeated FetchPartition partitions = 2; }
message FetchPartition { uint32 partition = 1; int64 fetch_offset = 2; uint32 partition_max_bytes = 3; }

message FetchResponse   { repeated TopicResult topics = 1; }
message TopicResult     { string name = 1; repeated PartitionResult partitions = 2; }
message PartitionResult { uint32 partition = 1; int32 error_code = 2; int64 high_watermark = 3;
                          int64 log_start_offset = 4; bytes records = 5; int32 leader_hint = 6;
                          int64 last_stable_offset = 7; repeated AbortedTransaction aborted_transactions = 8; }
message AbortedTransaction { int64 producer_id = 1; int64 first_offset = 2; }
`;

export interface FetchRequest {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  topics: Array<{
    name: string;
    partitions: Array<{ partition: number; fetchOffset: number; partitionMaxBytes: number }>;
  }>;
  /** ISOLATION_READ_UNCOMMITTED (0, the default when absent) or ISOLATION_READ_COMMITTED (1). */
  isolationLevel?: number;
}

export const ISOLATION_READ_UNCOMMITTED = 0;
export const ISOLATION_READ_COMMITTED = 1;

/** A transaction that was aborted: its producer's records from `firstOffset` up to its abort marker are not to be shown. */
export interface AbortedTransaction {
  producerId: number;
  firstOffset: number;
}

export interface FetchPartitionResult {
  partition: number;
  errorCode: number;
  highWatermark: number;
  logStartOffset: number;
  records: Buffer;
  leaderHint: number;
  /** Below the first offset of any open transaction (and never above the high watermark). */
  lastStableOffset: number;
  /** read_committed only: the aborted transactions overlapping the returned records. */
  abortedTransactions: AbortedTransaction[];
}

export interface FetchResponse {
  topics: Array<{ name: string; partitions: FetchPartitionResult[] }>;
}

export const FETCH_API = defineApi<FetchRequest, FetchResponse>({
  key: API_KEYS.fetch,
  name: 'Fetch',
  minVersion: 0,
  maxVersion: 1,
  schema: FETCH_SCHEMA,
  package: 'strata.fetch',
});
