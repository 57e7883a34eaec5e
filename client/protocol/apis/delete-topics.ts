/**
 * DeleteTopics (api key 20): delete topics and their data.
 *
 * History:
 * - version 0: introduced.
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const DELETE_TOPICS_SCHEMA = `
syntax = "proto3";
package strata.delete_topics;

message DeleteTopicsRequest  { repeated string topics = 1; uint32 timeout_ms = 2; }

message DeleteTopicsResponse { repeated TopicResult topics = 1; }
message TopicResult          { string name = 1; int32 error_code = 2; string error_message = 3; }
`;

export interface DeleteTopicsRequest {
  topics: string[];
  timeoutMs: number;
}

export interface DeleteTopicsResponse {
  topics: Array<{ name: string; errorCode: number; errorMessage: string }>;
}

export const DELETE_TOPICS_API = defineApi<DeleteTopicsRequest, DeleteTopicsResponse>({
  key: API_KEYS.deleteTopics,
  name: 'DeleteTopics',
  minVersion: 0,
  maxVersion: 0,
  schema: DELETE_TOPICS_SCHEMA,
  package: 'strata.delete_topics',
});
