/**
 * InitProducerId (api 22): a producer's id and epoch.
 *
 * - No transactional id (''), `producerId` -1 and `producerEpoch` -1: a new id at epoch 0
 *   (`producer-id-manager.ts`), from any broker.
 * - No transactional id, the caller's current id and epoch (0..32767): the same id at epoch + 1
 *   (Kafka's KIP-360 bump, after a sequence error it cannot repair), or a new id at epoch 0 once the
 *   epoch is at its maximum. A non-transactional producer's epoch only orders its own batches, which
 *   is all the partitions need.
 * - A transactional id: served by the id's transaction coordinator (`txn/transaction-coordinator.ts`):
 *   one producer id per transactional id, its epoch bumped on every call (fencing the previous
 *   instance, whose open transaction is aborted first); `transactionTimeoutMs` must lie in
 *   1..`transactionMaxTimeoutMs` (INVALID_TRANSACTION_TIMEOUT). NOT_COORDINATOR from another broker.
 * - Any other combination of id and epoch: INVALID_REQUEST.
 */
import type { InitProducerIdRequest, InitProducerIdResponse } from '../../client/protocol/index.js';
import { errorResult, namedError } from '../error-result.js';
import { PRODUCER_EPOCH_MAX } from '../producer-id-manager.js';
import type { RequestContext } from '../request-context.js';

export async function handleInitProducerId(request: InitProducerIdRequest, context: RequestContext): Promise<InitProducerIdResponse> {
  const refused = (error: { errorCode: number; errorMessage: string }): InitProducerIdResponse => ({ errorCode: error.errorCode, errorMessage: error.errorMessage, producerId: -1, producerEpoch: -1 });
  if (request.transactionalId !== '') {
    const logger = context.logger.child({ transactionalId: request.transactionalId });
    try {
      const { producerId, producerEpoch } = await context.services.transactions.initProducerId(request);
      logger.debug({ producerId, producerEpoch }, 'transactional producer initialized');
      return { errorCode: 0, errorMessage: '', producerId, producerEpoch };
    } catch (error) {
      return refused(errorResult(error, logger, 'init producer id'));
    }
  }
  const { producerId, producerEpoch } = request;
  const fresh = producerId === -1 && producerEpoch === -1;
  const bump = Number.isSafeInteger(producerId) && producerId >= 0 && Number.isInteger(producerEpoch) && producerEpoch >= 0 && producerEpoch <= PRODUCER_EPOCH_MAX;
  if (!fresh && !bump) return refused(namedError('INVALID_REQUEST', `producer id ${producerId} with epoch ${producerEpoch}: give -1 and -1, or a current id and epoch`));
  try {
    if (bump && producerEpoch < PRODUCER_EPOCH_MAX) {
      context.logger.info({ producerId, producerEpoch: producerEpoch + 1 }, 'producer epoch bumped');
      return { errorCode: 0, errorMessage: '', producerId, producerEpoch: producerEpoch + 1 };
    }
    const id = context.services.producerIds.nextProducerId();
    if (context.logger.isLevelEnabled('debug')) context.logger.debug({ producerId: id }, 'producer id given');
    return { errorCode: 0, errorMessage: '', producerId: id, producerEpoch: 0 };
  } catch (error) {
    return refused(errorResult(error, context.logger, 'init producer id'));
  }
}
