/**
 * ConsumerGroupDescribe (api key 69): a group's members, assignment and committed offsets.
 *
 * History:
 * - version 0: introduced.
 *
 * `state`: `Empty` (no members), `Reconciling` (some member does not own exactly its target
 * assignment yet: revocations or assignments in progress), `Stable`. Per member, `assignment` is what
 * it may own now and `targetAssignment` what it will own once the group is stable. `offsets` holds
 * every committed offset of the group. Lag needs the partitions' high watermarks, which the
 * coordinator may not host: clients read them with ListOffsets from the partition leaders.
 * An unknown group is GROUP_ID_NOT_FOUND.
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';
import type { CommittedPartitionOffset } from './offset-fetch.js';
import type { TopicPartitions } from './consumer-group-heartbeat.js';

export const CONSUMER_GROUP_DESCRIBE_SCHEMA = `
syntax = "proto3";
package strata.consumer_group_describe;

message ConsumerGroupDescribeRequest  { repeated string group_ids = 1; }

message ConsumerGroupDescribeResponse { repeated DescribedGroup groups = 1; }
message DescribedGroup                { string group_id = 1; int32 error_code = 2; string error_message = 3;
                                        string state = 4; int32 group_epoch = 5; string assignor = 6;
                                        repeated Member members = 7; repeated TopicOffsets offsets = 8; }
message Member                        { string member_id = 1; string client_id = 2; string client_host = 3;
                                        int32 member_epoch = 4; uint32 session_timeout_ms = 5;
                                        repeated string subscribed_topic_names = 6;
                                        repeated TopicPartitions assignment = 7;
                                        repeated TopicPartitions target_assignment = 8; }
message TopicPartitions               { string topic = 1; repeated uint32 partitions = 2; }
message TopicOffsets                  { string name = 1; repeated PartitionOffset partitions = 2; }
message PartitionOffset               { uint32 partition = 1; int64 committed_offset = 2; string metadata = 3;
                                        int64 commit_timestamp = 4; }
`;

export interface ConsumerGroupDescribeRequest {
  groupIds: string[];
}

export interface DescribedMember {
  memberId: string;
  clientId: string;
  clientHost: string;
  memberEpoch: number;
  sessionTimeoutMs: number;
  subscribedTopicNames: string[];
  assignment: TopicPartitions[];
  targetAssignment: TopicPartitions[];
}

export interface DescribedGroup {
  groupId: string;
  errorCode: number;
  errorMessage: string;
  state: string;
  groupEpoch: number;
  assignor: string;
  members: DescribedMember[];
  offsets: Array<{ name: string; partitions: CommittedPartitionOffset[] }>;
}

export interface ConsumerGroupDescribeResponse {
  groups: DescribedGroup[];
}

export const CONSUMER_GROUP_DESCRIBE_API = defineApi<ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse>({
  key: API_KEYS.consumerGroupDescribe,
  name: 'ConsumerGroupDescribe',
  minVersion: 0,
  maxVersion: 0,
  schema: CONSUMER_GROUP_DESCRIBE_SCHEMA,
  package: 'strata.consumer_group_describe',
});
