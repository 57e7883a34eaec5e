/**
 * AddPartitionsToTxn (api 24): partitions join the producer's transaction at its coordinator
 * (`txn/transaction-coordinator.ts`), which opens one if none is; answered once the new state is
 * durable in `__transaction_state`. Every partition must exist, or none is added: each unknown one
 * answers UNKNOWN_TOPIC_OR_PARTITION, the whole request (and so every other partition) carries it too.
 */
import type { AddPartitionsToTxnRequest, AddPartitionsToTxnResponse } from '../../client/protocol/index.js';
import type { RequestContext } from '../request-context.js';

export async function handleAddPartitionsToTxn(request: AddPartitionsToTxnRequest, context: RequestContext): Promise<AddPartitionsToTxnResponse> {
  return context.services.transactions.addPartitionsToTxn(request);
}
