/**
 * EndTxn (api key 26): commit or abort the producer's open transaction.
 *
 * History:
 * - version 0: introduced.
 *
 * Sent to the transaction coordinator. The coordinator records PrepareCommit (or PrepareAbort) in
 * `__transaction_state`, writes a commit (abort) marker to every partition of the transaction, then
 * records the transaction complete. Strata answers once every marker is written, so a
 * read_committed consumer can see a committed transaction as soon as its producer hears of it
 * (Kafka answers after the prepare record and writes the markers behind the answer).
 * Errors: INVALID_TXN_STATE (no open transaction, or it is ending the other way),
 * PRODUCER_FENCED, INVALID_PRODUCER_ID_MAPPING, CONCURRENT_TRANSACTIONS, NOT_COORDINATOR,
 * COORDINATOR_LOAD_IN_PROGRESS, REQUEST_TIMED_OUT (the markers are not all written yet: the
 * coordinator goes on writing them; the producer retries EndTxn and learns the outcome).
 * An EndTxn of a transaction that has just completed the same way is answered with success (a retry).
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const END_TXN_SCHEMA = `
syntax = "proto3";
package strata.end_txn;

message EndTxnRequest  { string transactional_id = 1; int64 producer_id = 2; int32 producer_epoch = 3;
                         bool committed = 4; }

message EndTxnResponse { int32 error_code = 1; string error_message = 2; }
`;

export interface EndTxnRequest {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  /** true: commit; false: abort. */
  committed: boolean;
}

export interface EndTxnResponse {
  errorCode: number;
  errorMessage: string;
}

export const END_TXN_API = defineApi<EndTxnRequest, EndTxnResponse>({
  key: API_KEYS.endTxn,
  name: 'EndTxn',
  minVersion: 0,
  maxVersion: 0,
  schema: END_TXN_SCHEMA,
  package: 'strata.end_txn',
});
