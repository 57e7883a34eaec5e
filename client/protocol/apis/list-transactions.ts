/**
 * ListTransactions (api key 66): the transactional ids a broker coordinates, with their state and
 * the start of their open transaction (`strata transaction list` asks every broker).
 *
 * History:
 * - version 0: introduced.
 *
 * `stateFilters` (Kafka's state names) and `producerIdFilters` narrow the answer; empty lists keep
 * everything. An unknown state name is INVALID_REQUEST.
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const LIST_TRANSACTIONS_SCHEMA = `
syntax = "proto3";
package strata.list_transactions;

message ListTransactionsRequest  { repeated string state_filters = 1; repeated int64 producer_id_filters = 2; }

message ListTransactionsResponse { int32 error_code = 1; string error_message = 2;
                                   repeated ListedTransaction transaction_states = 3; }
message ListedTransaction        { string transactional_id = 1; int64 producer_id = 2; string state = 3;
                                   int64 transaction_start_time_ms = 4; int32 transaction_timeout_ms = 5; }
`;

export interface ListTransactionsRequest {
  stateFilters: string[];
  producerIdFilters: number[];
}

export interface ListedTransaction {
  transactionalId: string;
  producerId: number;
  state: string;
  /** -1 with no open transaction. */
  transactionStartTimeMs: number;
  transactionTimeoutMs: number;
}

export interface ListTransactionsResponse {
  errorCode: number;
  errorMessage: string;
  transactionStates: ListedTransaction[];
}

export const LIST_TRANSACTIONS_API = defineApi<ListTransactionsRequest, ListTransactionsResponse>({
  key: API_KEYS.listTransactions,
  name: 'ListTransactions',
  minVersion: 0,
  maxVersion: 0,
  schema: LIST_TRANSACTIONS_SCHEMA,
  package: 'strata.list_transactions',
});
