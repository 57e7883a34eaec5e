/**
 * EndTxn (api 26): commit or abort the producer's transaction. The coordinator persists
 * PrepareCommit/PrepareAbort, writes a marker to every partition of the transaction, persists
 * Complete*, and answers once every marker is written (REQUEST_TIMED_OUT if that takes longer than
 * TXN_MARKERS_ANSWER_TIMEOUT_MS: it goes on writing them). A retry of the outcome that just
 * completed succeeds; INVALID_TXN_STATE without an open transaction.
 */
import type { EndTxnRequest, EndTxnResponse } from '../../client/protocol/index.js';
import { errorResult } from '../error-result.js';
import type { RequestContext } from '../request-context.js';

export async function handleEndTxn(request: EndTxnRequest, context: RequestContext): Promise<EndTxnResponse> {
  try {
    await context.services.transactions.endTxn(request);
    return { errorCode: 0, errorMessage: '' };
  } catch (error) {
    const { errorCode, errorMessage } = errorResult(error, context.logger.child({ transactionalId: request.transactionalId }), 'end transaction');
    return { errorCode, errorMessage };
  }
}
