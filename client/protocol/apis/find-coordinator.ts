/**
 * FindCoordinator (api key 10): which broker coordinates a consumer group.
 *
 * History:
 * - version 0: introduced.
 * - version 1: key type 1, a transactional id: the leader of the `__transaction_state` partition
 *   the id hashes to (the same rule over that topic's partitions).
 *
 * A group's coordinator is the leader of the partition of `__consumer_offsets` that the group id
 * hashes to (Kafka's rule: `abs(javaStringHashCode(groupId)) % partitions`). `keyType` 0 is a group,
 * 1 a transactional id. Each key answers on its own: `nodeId`, `host` and
 * `port` of the coordinator, or an error (COORDINATOR_NOT_AVAILABLE while the offsets partition has
 * no leader, INVALID_GROUP_ID for an empty id).
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const FIND_COORDINATOR_SCHEMA = `
syntax = "proto3";
package strata.find_coordinator;

message FindCoordinatorRequest  { uint32 key_type = 1; repeated string keys = 2; }

message FindCoordinatorResponse { repeated Coordinator coordinators = 1; }
message Coordinator             { string key = 1; int32 error_code = 2; string error_message = 3;
                                  int32 node_id = 4; string host = 5; uint32 port = 6; }
`;

export const COORDINATOR_KEY_TYPE_GROUP = 0;
export const COORDINATOR_KEY_TYPE_TRANSACTION = 1;

export interface FindCoordinatorRequest {
  keyType: number;
  keys: string[];
}

export interface FoundCoordinator {
  key: string;
  errorCode: number;
  errorMessage: string;
  nodeId: number;
  host: string;
  port: number;
}

export interface FindCoordinatorResponse {
  coordinators: FoundCoordinator[];
}

export const FIND_COORDINATOR_API = defineApi<FindCoordinatorRequest, FindCoordinatorResponse>({
  key: API_KEYS.findCoordinator,
  name: 'FindCoordinator',
  minVersion: 0,
  maxVersion: 1,
  schema: FIND_COORDINATOR_SCHEMA,
  package: 'strata.find_coordinator',
});
