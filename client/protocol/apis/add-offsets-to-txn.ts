/**
 * AddOffsetsToTxn (api key 25): a transactional producer is about to commit a consumer group's
 * offsets inside its transaction (`TxnOffsetCommit`); the coordinator adds the group's
 * `__consumer_offsets` partition to the transaction, so the commit or abort marker reaches it too.
 *
 * History:
 * - version 0: introduced.
 *
 * Sent to the transaction coordinator. Errors as for AddPartitionsToTxn, plus INVALID_GROUP_ID.
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const ADD_OFFSETS_TO_TXN_SCHEMA = `
syntax = "proto3";
package strata.add_offsets_to_txn;

message AddOffsetsToTxnRequest  { string transactional_id = 1; int64 producer_id = 2; int32 producer_epoch = 3;
                                  string group_id = 4; }

message AddOffsetsToTxnResponse { int32 error_code = 1; string error_message = 2; }
`;

export interface AddOffsetsToTxnRequest {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  groupId: string;
}

export interface AddOffsetsToTxnResponse {
  errorCode: number;
  errorMessage: string;
}

export const ADD_OFFSETS_TO_TXN_API = defineApi<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>({
  key: API_KEYS.addOffsetsToTxn,
  name: 'AddOffsetsToTxn',
  minVersion: 0,
  maxVersion: 0,
  schema: ADD_OFFSETS_TO_TXN_SCHEMA,
  package: 'strata.add_offsets_to_txn',
});
