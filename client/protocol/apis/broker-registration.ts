/**
 * BrokerRegistration (api key 1001, Strata's own inter-broker API): a cluster member tells the
 * controller (the metadata group's leader) the addresses it serves on, and the controller records
 * them in the cluster metadata. Brokers send it at startup and whenever the metadata does not yet
 * hold their current addresses. Named after KRaft's BrokerRegistration; numbered from 1000 so it
 * never meets a Kafka key.
 *
 * History:
 * - version 0: introduced.
 *
 * A broker that is not the controller answers NOT_CONTROLLER with the controller's id (or -1) in
 * `controller_id`.
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const BROKER_REGISTRATION_SCHEMA = `
syntax = "proto3";
package strata.broker_registration;

message BrokerRegistrationRequest  { int32 node_id = 1; string host = 2; int32 port = 3; string http_host = 4; int32 http_port = 5; }

message BrokerRegistrationResponse { int32 error_code = 1; string error_message = 2; int32 controller_id = 3; }
`;

export interface BrokerRegistrationRequest {
  nodeId: number;
  host: string;
  port: number;
  /** Empty when the broker serves no HTTP. */
  httpHost: string;
  /** 0 when the broker serves no HTTP. */
  httpPort: number;
}

export interface BrokerRegistrationResponse {
  errorCode: number;
  errorMessage: string;
  controllerId: number;
}

export const BROKER_REGISTRATION_API = defineApi<BrokerRegistrationRequest, BrokerRegistrationResponse>({
  key: API_KEYS.brokerRegistration,
  name: 'BrokerRegistration',
  minVersion: 0,
  maxVersion: 0,
  schema: BROKER_REGISTRATION_SCHEMA,
  package: 'strata.broker_registration',
});
