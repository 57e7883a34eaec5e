/**
 * DeleteGroups (api key 42): forget groups and their committed offsets.
 *
 * History:
 * - version 0: introduced.
 *
 * Only a group without members can be deleted (NON_EMPTY_GROUP otherwise); an unknown group is
 * GROUP_ID_NOT_FOUND. Deletion writes tombstones for the group's offsets to `__consumer_offsets`
 * (compaction removes them later) and answers once they are durable. Each group answers on its own.
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const DELETE_GROUPS_SCHEMA = `
syntax = "proto3";
package strata.delete_groups;

message DeleteGroupsRequest  { repeated string group_ids = 1; }

message DeleteGroupsResponse { repeated GroupResult results = 1; }
message GroupResult          { string group_id = 1; int32 error_code = 2; string error_message = 3; }
`;

export interface DeleteGroupsRequest {
  groupIds: string[];
}

export interface DeleteGroupsResponse {
  results: Array<{ groupId: string; errorCode: number; errorMessage: string }>;
}

export const DELETE_GROUPS_API = defineApi<DeleteGroupsRequest, DeleteGroupsResponse>({
  key: API_KEYS.deleteGroups,
  name: 'DeleteGroups',
  minVersion: 0,
  maxVersion: 0,
  schema: DELETE_GROUPS_SCHEMA,
  package: 'strata.delete_groups',
});
