/**
 * ConsumerGroupHeartbeat (api key 68): join, stay in and leave a consumer group, and learn the
 * partitions this member may own. Server-side assignment in the model of Kafka's KIP-848.
 *
 * History:
 * - version 0: introduced.
 *
 * The member protocol:
 * - **Join**: `memberId` '' and `memberEpoch` 0. The coordinator answers with a new member id and
 *   epoch; from then on the member sends both back on every heartbeat.
 * - **Heartbeat**: the member's subscriptions and the partitions it owns right now. The answer's
 *   `assignment` is always the whole set of partitions the member may own now. Partitions it owns
 *   that are not in the set are **revoked**: the member finishes the record in hand, commits, stops
 *   fetching them, then heartbeats again at once without them. Partitions in the set that it does
 *   not own are **assigned**: it starts from their committed offsets. A partition is given to a new
 *   owner only after its previous owner reported it revoked (or left, or was removed), so no two
 *   members ever own one partition.
 * - **Long poll**: with `maxWaitMs` > 0 the coordinator holds the answer while the member already
 *   owns exactly its assignment, and answers as soon as that changes (another member joined or left)
 *   or when `maxWaitMs` passed. Rebalances therefore reach members in milliseconds, not heartbeat
 *   intervals. A held heartbeat keeps the member alive; its connection answers in order, so clients
 *   send heartbeats on a connection of their own.
 * - **Leave**: `memberEpoch` -1. Its partitions move at once.
 * - **Errors** (`errorCode`): UNKNOWN_MEMBER_ID (removed after its session timeout, or never
 *   joined) and FENCED_MEMBER_EPOCH (an epoch the coordinator did not give): the member must give up
 *   every partition without committing and join again with epoch 0. NOT_COORDINATOR,
 *   COORDINATOR_LOAD_IN_PROGRESS: find the coordinator again and retry. INVALID_GROUP_ID,
 *   INVALID_SESSION_TIMEOUT, UNSUPPORTED_ASSIGNOR, INVALID_REQUEST: bad input.
 *
 * `sessionTimeoutMs` 0 means the broker's default (10 s); a member not heard from for that long is
 * removed and its partitions move. `heartbeatIntervalMs` in the answer is how often to heartbeat
 * (at most a third of the session timeout). `serverAssignor` '' means the group's current assignor
 * (`sticky` by default; `range` also exists); the first member to name one sets it.
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const CONSUMER_GROUP_HEARTBEAT_SCHEMA = `
syntax = "proto3";
package strata.consumer_group_heartbeat;

message ConsumerGroupHeartbeatRequest  { string group_id = 1; string member_id = 2; int32 member_epoch = 3;
                                         uint32 session_timeout_ms = 4; repeated string subscribed_topic_names = 5;
                                         string server_assignor = 6; repeated TopicPartitions owned_partitions = 7;
                                         uint32 max_wait_ms = 8; }
message TopicPartitions                { string topic = 1; repeated uint32 partitions = 2; }

message ConsumerGroupHeartbeatResponse { int32 error_code = 1; string error_message = 2; string member_id = 3;
                                         int32 member_epoch = 4; uint32 heartbeat_interval_ms = 5;
                                         uint32 session_timeout_ms = 6; repeated TopicPartitions assignment = 7; }
`;

/** Epochs with a meaning of their own in a heartbeat request. */
export const MEMBER_EPOCH_JOIN = 0;
export const MEMBER_EPOCH_LEAVE = -1;

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export interface ConsumerGroupHeartbeatRequest {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  sessionTimeoutMs: number;
  subscribedTopicNames: string[];
  serverAssignor: string;
  ownedPartitions: TopicPartitions[];
  maxWaitMs: number;
}

export interface ConsumerGroupHeartbeatResponse {
  errorCode: number;
  errorMessage: string;
  memberId: string;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  sessionTimeoutMs: number;
  assignment: TopicPartitions[];
}

export const CONSUMER_GROUP_HEARTBEAT_API = defineApi<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse>({
  key: API_KEYS.consumerGroupHeartbeat,
  name: 'ConsumerGroupHeartbeat',
  minVersion: 0,
  maxVersion: 0,
  schema: CONSUMER_GROUP_HEARTBEAT_SCHEMA,
  package: 'strata.consumer_group_heartbeat',
});
