/**
 * Metadata (api key 3): brokers, topics, partitions and their leaders. Any broker answers from its
 * applied metadata state.
 *
 * History:
 * - version 0: introduced.
 *
 * With `allTopics` the broker lists every topic and ignores `topics`. `leaderId` is -1 when a
 * partition has no leader; `controllerId` -1 when there is none.
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const METADATA_SCHEMA = `
syntax = "proto3";
package strata.metadata;

message MetadataRequest  { repeated string topics = 1; bool all_topics = 2; }

message MetadataResponse { repeated Broker brokers = 1; int32 controller_id = 2; repeated TopicMetadata topics = 3; }
message Broker            { int32 node_id = 1; string host = 2; uint32 port = 3; }
message TopicMetadata     { string name = 1; int32 error_code = 2; repeated PartitionMetadata partitions = 3; }
message PartitionMetadata { uint32 partition = 1; int32 error_code = 2; int32 leader_id = 3;
                            int32 leader_epoch = 4; repeated int32 replicas = 5; repeated int32 isr = 6; }
`;

export interface MetadataRequest {
  topics: string[];
  allTopics: boolean;
}

export interface MetadataBroker {
  nodeId: number;
  host: string;
  port: number;
}

export interface MetadataPartition {
  partition: number;
  errorCode: number;
  leaderId: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
}

export interface MetadataTopic {
  name: string;
  errorCode: number;
  partitions: MetadataPartition[];
}

export interface MetadataResponse {
  brokers: MetadataBroker[];
  controllerId: number;
  topics: MetadataTopic[];
}

export const METADATA_API = defineApi<MetadataRequest, MetadataResponse>({
  key: API_KEYS.metadata,
  name: 'Metadata',
  minVersion: 0,
  maxVersion: 0,
  schema: METADATA_SCHEMA,
  package: 'strata.metadata',
});
