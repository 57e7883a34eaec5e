/**
 * ApiVersions (api key 18): which api keys and versions the broker serves. A client may send it first
 * on a new connection and pick, per API, the highest version both sides support.
 *
 * History:
 * - version 0: introduced.
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const API_VERSIONS_SCHEMA = `
syntax = "proto3";
package strata.api_versions;

message ApiVersionsRequest  { }

message ApiVersionsResponse { repeated ApiVersion apis = 1; }
message ApiVersion          { uint32 api_key = 1; uint32 min_version = 2; uint32 max_version = 3; }
`;

/** The request has no fields. */
export type ApiVersionsRequest = Record<string, never>;

export interface ApiVersionsResponse {
  apis: Array<{ apiKey: number; minVersion: number; maxVersion: number }>;
}

export const API_VERSIONS_API = defineApi<ApiVersionsRequest, ApiVersionsResponse>({
  key: API_KEYS.apiVersions,
  name: 'ApiVersions',
  minVersion: 0,
  maxVersion: 0,
  schema: API_VERSIONS_SCHEMA,
  package: 'strata.api_versions',
});
