/**
 * DescribeConfigs (api key 32, Kafka's number): the configs of topics — the ones each topic was
 * given at creation (its overrides of the broker's defaults), as Kafka's `kafka-topics --describe`
 * shows them. A topic that does not exist answers UNKNOWN_TOPIC_OR_PARTITION; each topic answers on
 * its own.
 *
 * History:
 * - version 0: introduced.
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const DESCRIBE_CONFIGS_SCHEMA = `
syntax = "proto3";
package strata.describe_configs;

message DescribeConfigsRequest  { repeated string topics = 1; }

message DescribeConfigsResponse { repeated TopicConfigs topics = 1; }
message TopicConfigs            { string name = 1; int32 error_code = 2; string error_message = 3; repeated ConfigEntry configs = 4; }
message ConfigEntry             { string name = 1; string value = 2; }
`;

export interface DescribeConfigsRequest {
  topics: string[];
}

export interface DescribeConfigsResponse {
  topics: Array<{ name: string; errorCode: number; errorMessage: string; configs: Array<{ name: string; value: string }> }>;
}

export const DESCRIBE_CONFIGS_API = defineApi<DescribeConfigsRequest, DescribeConfigsResponse>({
  key: API_KEYS.describeConfigs,
  name: 'DescribeConfigs',
  minVersion: 0,
  maxVersion: 0,
  schema: DESCRIBE_CONFIGS_SCHEMA,
  package: 'strata.describe_configs',
});
