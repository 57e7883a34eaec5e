/**
 * TxnOffsetCommit (api 28): a transactional producer's offsets for a group, sent to the group's
 * coordinator after AddOffsetsToTxn. Where this broker also coordinates the transactional id, the
 * producer and its open transaction are checked first (`TransactionCoordinator.checkTxnOffsetCommit`:
 * PRODUCER_FENCED, INVALID_PRODUCER_ID_MAPPING, INVALID_TXN_STATE). Then checked as OffsetCommit,
 * written to the group's offsets partition as a transactional batch (a fenced epoch there:
 * INVALID_PRODUCER_EPOCH), and invisible to OffsetFetch until the producer's commit marker reaches
 * that partition (`group/group-coordinator.ts`, `group/pending-txn-offsets.ts`). Errors of the whole
 * request are carried by every partition.
 */
import type { TxnOffsetCommitRequest, TxnOffsetCommitResponse } from '../../client/protocol/index.js';
import { errorResult } from '../error-result.js';
import type { RequestContext } from '../request-context.js';

export async function handleTxnOffsetCommit(request: TxnOffsetCommitRequest, context: RequestContext): Promise<TxnOffsetCommitResponse> {
  const { groups, transactions } = context.services;
  try {
    const partition = await groups.offsetsPartition(request.groupId);
    await transactions.checkTxnOffsetCommit(request, partition.index);
  } catch (error) {
    const { errorCode, errorMessage } = errorResult(error, context.logger.child({ group: request.groupId, transactionalId: request.transactionalId }), 'transactional commit');
    return {
      errorCode,
      errorMessage,
      topics: request.topics.map((topic) => ({ name: topic.name, partitions: topic.partitions.map(({ partition }) => ({ partition, errorCode, errorMessage })) })),
    };
  }
  return groups.txnCommit(request);
}
