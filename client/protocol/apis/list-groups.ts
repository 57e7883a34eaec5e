/**
 * ListGroups (api key 16): the consumer groups this broker coordinates.
 *
 * History:
 * - version 0: introduced.
 *
 * Each broker lists only its own groups; an admin client asks every broker and merges. `state` is
 * one of `Empty`, `Reconciling`, `Stable` (see ConsumerGroupDescribe).
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const LIST_GROUPS_SCHEMA = `
syntax = "proto3";
package strata.list_groups;

message ListGroupsRequest  { }

message ListGroupsResponse { int32 error_code = 1; string error_message = 2; repeated ListedGroup groups = 3; }
message ListedGroup        { string group_id = 1; string state = 2; uint32 members = 3; }
`;

export type ListGroupsRequest = Record<string, never>;

export interface ListedGroup {
  groupId: string;
  state: string;
  members: number;
}

export interface ListGroupsResponse {
  errorCode: number;
  errorMessage: string;
  groups: ListedGroup[];
}

export const LIST_GROUPS_API = defineApi<ListGroupsRequest, ListGroupsResponse>({
  key: API_KEYS.listGroups,
  name: 'ListGroups',
  minVersion: 0,
  maxVersion: 0,
  schema: LIST_GROUPS_SCHEMA,
  package: 'strata.list_groups',
});
