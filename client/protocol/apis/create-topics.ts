/**
 * CreateTopics (api key 19): create topics with a partition count, replication factor and configs.
 *
 * History:
 * - version 0: introduced. `replication_factor` became int32 so that -1 (Kafka's "the broker's
 *   default") can be sent; uint32 and int32 encode 0..2^31-1 as the same varint bytes.
 *
 * Topic names: 1-249 characters of [a-zA-Z0-9._-], not "." or ".." (Kafka's rule). A replication factor of -1 asks for the broker's default. Configs use
 * Kafka's names (segment.bytes, retention.ms, cleanup.policy, flush.policy, ...). With `validateOnly`
 * the broker checks the request and creates nothing.
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const CREATE_TOPICS_SCHEMA = `
syntax = "proto3";
package strata.create_topics;

message CreateTopicsRequest  { repeated Topic topics = 1; uint32 timeout_ms = 2; bool validate_only = 3; }
message Topic                { string name = 1; uint32 partitions = 2; int32 replication_factor = 3; 
                               map<string, string> configs = 4; }

message CreateTopicsResponse { repeated TopicResult topics = 1; }
message TopicResult          { string name = 1; int32 error_code = 2; string error_message = 3; }
`;

export interface CreateTopicsRequest {
  topics: Array<{
    name: string;
    partitions: number;
    replicationFactor: number;
    configs: Record<string, string>;
  }>;
  timeoutMs: number;
  validateOnly: boolean;
}

export interface CreateTopicsResponse {
  topics: Array<{ name: string; errorCode: number; errorMessage: string }>;
}

export const CREATE_TOPICS_API = defineApi<CreateTopicsRequest, CreateTopicsResponse>({
  key: API_KEYS.createTopics,
  name: 'CreateTopics',
  minVersion: 0,
  maxVersion: 0,
  schema: CREATE_TOPICS_SCHEMA,
  package: 'strata.create_topics',
});
