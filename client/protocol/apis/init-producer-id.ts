/**
 * InitProducerId (api key 22): a producer id and epoch for an idempotent producer.
 *
 * History:
 * - version 0: introduced, with Kafka's v3+ fields (KIP-360: `producerId`/`producerEpoch` of the
 *   caller's current identity, so it can ask for an epoch bump instead of a new id).
 * - version 1: a `transactionalId` is served: the request goes to the id's transaction coordinator
 *   (FindCoordinator key type 1), which keeps one producer id per transactional id and bumps its
 *   epoch on every InitProducerId, fencing the previous instance (its open transaction is aborted
 *   first; CONCURRENT_TRANSACTIONS while that abort completes: retry).
 *
 * Kafka's fields (InitProducerIdRequest.json / InitProducerIdResponse.json): `transactionalId`
 * (nullable there; '' here means none: an idempotent producer), `transactionTimeoutMs`, `producerId`
 * and `producerEpoch` (-1 and -1 for a new producer). The answer is `producerId` and
 * `producerEpoch`, or an error. A producer that names its current id and epoch gets the same id at epoch + 1 (a new id once
 * the epoch would pass 32767): it starts its sequences again at 0, which every partition accepts from
 * a higher epoch. Ids are unique across the cluster: each broker hands out
 * `counter * 1024 + nodeId` from blocks it reserves on disk before use (`broker/producer-id-manager.ts`).
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const INIT_PRODUCER_ID_SCHEMA = `
syntax = "proto3";
package strata.init_producer_id;

message InitProducerIdRequest  { string transactional_id = 1; int32 transaction_timeout_ms = 2;
                                 int64 producer_id = 3; int32 producer_epoch = 4; }

message InitProducerIdResponse { int32 error_code = 1; string error_message = 2;
                                 int64 producer_id = 3; int32 producer_epoch = 4; }
`;

export interface InitProducerIdRequest {
  /** '' for an idempotent (non-transactional) producer. */
  transactionalId: string;
  transactionTimeoutMs: number;
  /** The caller's current id, or -1 for a new producer. */
  producerId: number;
  /** The caller's current epoch, or -1. */
  producerEpoch: number;
}

export interface InitProducerIdResponse {
  errorCode: number;
  errorMessage: string;
  producerId: number;
  producerEpoch: number;
}

export const INIT_PRODUCER_ID_API = defineApi<InitProducerIdRequest, InitProducerIdResponse>({
  key: API_KEYS.initProducerId,
  name: 'InitProducerId',
  minVersion: 0,
  maxVersion: 1,
  schema: INIT_PRODUCER_ID_SCHEMA,
  package: 'strata.init_producer_id',
});
