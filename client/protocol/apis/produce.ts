/**
 * Produce (api key 0): append record batches to partitions.
 *
 * History:
 * - version 0: introduced.
 *
 * `records` holds one or more whole RecordBatch v2 batches (log/'s format), sent as they are and
 * decoded as a view of the frame. acks 0: the broker sends no response at all (use
 * `Connection.send`); acks 1: answer once the leader appended under the topic's flush policy; acks
 * -1 (all): once every in-sync replica has it. In a result, `baseOffset` is the offset of the first
 * record appended (-1 on error) and `leaderHint` the node id believed to lead (-1 when unknown).
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const PRODUCE_SCHEMA = `
syntax = "proto3";
package strata.produce;

message ProduceRequest  { int32 acks = 1; uint32 timeout_ms = 2; repeated TopicData topics = 3; }
message TopicData       { string name = 1; repeated PartitionData partitions = 2; }
message PartitionData   { uint32 partition = 1; bytes records = 2; }

message ProduceResponse { repeated TopicResult topics = 1; }
message TopicResult     { string name = 1; repeated PartitionResult partitions = 2; }
message PartitionResult { uint32 partition = 1; int32 error_code = 2; string error_message = 3;
                          int64 base_offset = 4; int64 log_start_offset = 5; int32 leader_hint = 6; }
`;

export interface ProduceRequest {
  /** 0, 1 or -1 (all). */
  acks: number;
  timeoutMs: number;
  topics: Array<{
    name: string;
    partitions: Array<{ partition: number; records: Buffer }>;
  }>;
}

export interface ProducePartitionResult {
  partition: number;
  errorCode: number;
  errorMessage: string;
  baseOffset: number;
  logStartOffset: number;
  leaderHint: number;
}

export interface ProduceResponse {
  topics: Array<{ name: string; partitions: ProducePartitionResult[] }>;
}

export const PRODUCE_API = defineApi<ProduceRequest, ProduceResponse>({
  key: API_KEYS.produce,
  name: 'Produce',
  minVersion: 0,
  maxVersion: 0,
  schema: PRODUCE_SCHEMA,
  package: 'strata.produce',
});
