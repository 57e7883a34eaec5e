/**
 * ListTransactions (api 66): the transactional ids this broker coordinates, filtered by state
 * (Kafka's names; an unknown one is INVALID_REQUEST) and producer id (empty filters keep all).
 */
import type { ListTransactionsRequest, ListTransactionsResponse } from '../../client/protocol/index.js';
import { errorResult } from '../error-result.js';
import type { RequestContext } from '../request-context.js';

export async function handleListTransactions(request: ListTransactionsRequest, context: RequestContext): Promise<ListTransactionsResponse> {
  try {
    return { errorCode: 0, errorMessage: '', transactionStates: context.services.transactions.listTransactions(request) };
  } catch (error) {
    const { errorCode, errorMessage } = errorResult(error, context.logger, 'list transactions');
    return { errorCode, errorMessage, transactionStates: [] };
  }
}
