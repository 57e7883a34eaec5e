/**
 * InitProducerId (api 22): an idempotent producer's id and epoch (`producer-id-manager.ts`).
 *
 * - `producerId` -1 and `producerEpoch` -1: a new id at epoch 0.
 * - the caller's current id and epoch (0..32767): the same id at epoch + 1 (Kafka's KIP-360 bump,
 *   after a sequence error it cannot repair), or a new id at epoch 0 once the epoch is at its maximum.
 *   Without a coordinator the broker does not know who holds which id; a non-transactional
 *   producer's epoch only orders its own batches, which is all the partitions need.
 * - a transactional id: INVALID_REQUEST (transactions are not served yet); any other combination of
 *   id and epoch: INVALID_REQUEST.
 */
import type { InitProducerIdRequest, InitProducerIdResponse } from '../../client/protocol/index.js';
import { errorResult, namedError } from '../error-result.js';
import { PRODUCER_EPOCH_MAX } from '../producer-id-manager.js';
import type { RequestContext } from '../request-context.js';

export async function handleInitProducerId(request: InitProducerIdRequest, context: RequestContext): Promise<InitProducerIdResponse> {
  const refused = (error: { errorCode: number; errorMessage: string }): InitProducerIdResponse => ({ errorCode: error.errorCode, errorMessage: error.errorMessage, producerId: -1, producerEpoch: -1 });
  if (request.transactionalId !== '') return refused(namedError('INVALID_REQUEST', 'transactional ids are not supported yet; leave transactionalId empty'));
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
