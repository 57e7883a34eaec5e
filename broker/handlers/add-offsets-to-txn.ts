/**
 * AddOffsetsToTxn (api 25): the group's `__consumer_offsets` partition joins the producer's
 * transaction, so its commit or abort marker reaches the offsets a TxnOffsetCommit writes there.
 * INVALID_GROUP_ID for an empty or overlong group id; otherwise AddPartitionsToTxn's errors.
 */
import type { AddOffsetsToTxnRequest, AddOffsetsToTxnResponse } from '../../client/protocol/index.js';
import { errorResult } from '../error-result.js';
import type { RequestContext } from '../request-context.js';

export async function handleAddOffsetsToTxn(request: AddOffsetsToTxnRequest, context: RequestContext): Promise<AddOffsetsToTxnResponse> {
  try {
    await context.services.transactions.addOffsetsToTxn(request);
    return { errorCode: 0, errorMessage: '' };
  } catch (error) {
    const { errorCode, errorMessage } = errorResult(error, context.logger.child({ transactionalId: request.transactionalId, group: request.groupId }), 'add offsets to transaction');
    return { errorCode, errorMessage };
  }
}
