/**
 * AlterPartition (api key 56, Kafka's number; Strata's own schema): the Raft leader of partitions
 * reports itself — its leader epoch (the Raft term) and in-sync replicas — to the controller, which
 * records it in the cluster metadata so that every broker, hosting the partition or not, names its
 * leader in Metadata answers. Kafka's leaders send AlterPartition to change the ISR; here the
 * partition's own Raft group elects the leader, so the report carries the leadership too.
 *
 * History:
 * - version 0: introduced.
 *
 * A broker that is not the controller answers NOT_CONTROLLER with the controller's id (or -1) in
 * `controller_id` and no partitions. Each partition is answered on its own: UNKNOWN_TOPIC_OR_PARTITION
 * (no such topic id, name or index), FENCED_LEADER_EPOCH (the metadata holds a later epoch),
 * INVALID_REQUEST (the sender is not a replica, or the ISR names a non-replica or lacks the sender).
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const ALTER_PARTITION_SCHEMA = `
syntax = "proto3";
package strata.alter_partition;

message AlterPartitionRequest {
  int32 broker_id = 1;
  repeated PartitionState partitions = 2;
}
message PartitionState { string topic = 1; string topic_id = 2; int32 partition = 3; int32 leader_epoch = 4; repeated int32 isr = 5; }

message AlterPartitionResponse {
  int32 error_code = 1;
  string error_message = 2;
  int32 controller_id = 3;
  repeated PartitionResult partitions = 4;
}
message PartitionResult { string topic = 1; int32 partition = 2; int32 error_code = 3; string error_message = 4; }
`;

export interface AlterPartitionState {
  topic: string;
  topicId: string;
  partition: number;
  leaderEpoch: number;
  isr: number[];
}

export interface AlterPartitionRequest {
  /** The reporting leader. */
  brokerId: number;
  partitions: AlterPartitionState[];
}

export interface AlterPartitionResult {
  topic: string;
  partition: number;
  errorCode: number;
  errorMessage: string;
}

export interface AlterPartitionResponse {
  errorCode: number;
  errorMessage: string;
  controllerId: number;
  partitions: AlterPartitionResult[];
}

export const ALTER_PARTITION_API = defineApi<AlterPartitionRequest, AlterPartitionResponse>({
  key: API_KEYS.alterPartition,
  name: 'AlterPartition',
  minVersion: 0,
  maxVersion: 0,
  schema: ALTER_PARTITION_SCHEMA,
  package: 'strata.alter_partition',
});
