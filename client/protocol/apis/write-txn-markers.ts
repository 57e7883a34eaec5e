/**
 * WriteTxnMarkers (api key 27, inter-broker): a transaction coordinator asks a partition leader to
 * append commit or abort markers (control batches) for a producer.
 *
 * History:
 * - version 0: introduced.
 *
 * Each marker names the producer id and epoch, the outcome, the coordinator's epoch (the leader
 * epoch of its `__transaction_state` partition, recorded in the marker) and the partitions. Each
 * partition answers on its own once its marker is committed (acks=all): NOT_LEADER_OR_FOLLOWER (the
 * coordinator finds the new leader and retries), INVALID_PRODUCER_EPOCH (a marker older than what
 * the partition has seen), UNKNOWN_TOPIC_OR_PARTITION (deleted: nothing left to mark).
 * Clients never send it.
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const WRITE_TXN_MARKERS_SCHEMA = `
syntax = "proto3";
package strata.write_txn_markers;

message WriteTxnMarkersRequest  { repeated Marker markers = 1; }
message Marker                  { int64 producer_id = 1; int32 producer_epoch = 2; bool committed = 3;
                                  int32 coordinator_epoch = 4; repeated Topic topics = 5; }
message Topic                   { string name = 1; repeated uint32 partitions = 2; }

message WriteTxnMarkersResponse { repeated MarkerResult markers = 1; }
message MarkerResult            { int64 producer_id = 1; repeated TopicResult topics = 2; }
message TopicResult             { string name = 1; repeated PartitionResult partitions = 2; }
message PartitionResult         { uint32 partition = 1; int32 error_code = 2; string error_message = 3; }
`;

export interface TxnMarker {
  producerId: number;
  producerEpoch: number;
  /** true: a commit marker; false: an abort marker. */
  committed: boolean;
  coordinatorEpoch: number;
  topics: Array<{ name: string; partitions: number[] }>;
}

export interface WriteTxnMarkersRequest {
  markers: TxnMarker[];
}

export interface WriteTxnMarkersResponse {
  markers: Array<{
    producerId: number;
    topics: Array<{ name: string; partitions: Array<{ partition: number; errorCode: number; errorMessage: string }> }>;
  }>;
}

export const WRITE_TXN_MARKERS_API = defineApi<WriteTxnMarkersRequest, WriteTxnMarkersResponse>({
  key: API_KEYS.writeTxnMarkers,
  name: 'WriteTxnMarkers',
  minVersion: 0,
  maxVersion: 0,
  schema: WRITE_TXN_MARKERS_SCHEMA,
  package: 'strata.write_txn_markers',
});
