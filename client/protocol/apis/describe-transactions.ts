/**
 * DescribeTransactions (api key 65): the state of transactional ids, as their coordinator holds it
 * (`strata transaction describe`).
 *
 * History:
 * - version 0: introduced.
 *
 * Sent to each id's transaction coordinator. `state` is one of Empty, Ongoing, PrepareCommit,
 * PrepareAbort, CompleteCommit, CompleteAbort (Kafka's names). `transactionStartTimeMs` is -1 with
 * no open transaction. An id the coordinator does not know is TRANSACTIONAL_ID_NOT_FOUND.
 */
import { API_KEYS } from '../api-keys.js';
import { defineApi } from '../api-definition.js';

export const DESCRIBE_TRANSACTIONS_SCHEMA = `
syntax = "proto3";
package strata.describe_transactions;

message DescribeTransactionsRequest  { repeated string transactional_ids = 1; }

message DescribeTransactionsResponse { repeated TransactionState transaction_states = 1; }
message TransactionState             { int32 error_code = 1; string error_message = 2; string transactional_id = 3;
                                       string state = 4; int32 transaction_timeout_ms = 5;
                                       int64 transaction_start_time_ms = 6; int64 producer_id = 7;
                                       int32 producer_epoch = 8; repeated Topic topics = 9; }
message Topic                        { string name = 1; repeated uint32 partitions = 2; }
`;

export interface DescribeTransactionsRequest {
  transactionalIds: string[];
}

export interface DescribedTransaction {
  errorCode: number;
  errorMessage: string;
  transactionalId: string;
  state: string;
  transactionTimeoutMs: number;
  transactionStartTimeMs: number;
  producerId: number;
  producerEpoch: number;
  topics: Array<{ name: string; partitions: number[] }>;
}

export interface DescribeTransactionsResponse {
  transactionStates: DescribedTransaction[];
}

export const DESCRIBE_TRANSACTIONS_API = defineApi<DescribeTransactionsRequest, DescribeTransactionsResponse>({
  key: API_KEYS.describeTransactions,
  name: 'DescribeTransactions',
  minVersion: 0,
  maxVersion: 0,
  schema: DESCRIBE_TRANSACTIONS_SCHEMA,
  package: 'strata.describe_transactions',
});
