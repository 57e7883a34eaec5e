/**
 * DescribeTransactions (api 65): the state of each transactional id this broker coordinates (state
 * names as Kafka's); TRANSACTIONAL_ID_NOT_FOUND for an id it does not know, NOT_COORDINATOR for one
 * another broker coordinates. Each id answers on its own.
 */
import type { DescribeTransactionsRequest, DescribeTransactionsResponse } from '../../client/protocol/index.js';
import { TRANSACTIONS_DESCRIBED_MAX } from '../limits.js';
import { namedError } from '../error-result.js';
import type { RequestContext } from '../request-context.js';

export async function handleDescribeTransactions(request: DescribeTransactionsRequest, context: RequestContext): Promise<DescribeTransactionsResponse> {
  if (request.transactionalIds.length > TRANSACTIONS_DESCRIBED_MAX) {
    const { errorCode, errorMessage } = namedError('INVALID_REQUEST', `${request.transactionalIds.length} transactional ids, limit ${TRANSACTIONS_DESCRIBED_MAX}`);
    return {
      transactionStates: request.transactionalIds.map((transactionalId) => ({ errorCode, errorMessage, transactionalId, state: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1, producerId: -1, producerEpoch: -1, topics: [] })),
    };
  }
  return { transactionStates: await context.services.transactions.describeTransactions(request.transactionalIds) };
}
