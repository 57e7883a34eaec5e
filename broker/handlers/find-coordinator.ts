/**
 * FindCoordinator (api 10): per group id, the broker that leads the group's `__consumer_offsets`
 * partition. The first request creates that topic (Kafka does the same). On one node the answer is
 * this broker; a coordinator this broker cannot name the address of answers COORDINATOR_NOT_AVAILABLE.
 * Key types other than 0 (group) are INVALID_REQUEST. Each key answers on its own.
 */
import { COORDINATOR_KEY_TYPE_GROUP, StrataError, type FindCoordinatorRequest, type FindCoordinatorResponse, type FoundCoordinator } from '../../client/protocol/index.js';
import { errorResult, namedError } from '../error-result.js';
import type { RequestContext } from '../request-context.js';

export async function handleFindCoordinator(request: FindCoordinatorRequest, context: RequestContext): Promise<FindCoordinatorResponse> {
  const { groups, nodeId } = context.services;
  const coordinators = await Promise.all(
    request.keys.map(async (key): Promise<FoundCoordinator> => {
      const failed = ({ errorCode, errorMessage }: { errorCode: number; errorMessage: string }) => ({ key, errorCode, errorMessage, nodeId: -1, host: '', port: 0 });
      if (request.keyType !== COORDINATOR_KEY_TYPE_GROUP) return failed(namedError('INVALID_REQUEST', `key type ${request.keyType}: only 0 (group) exists`));
      try {
        const partition = await groups.offsetsPartition(key);
        const address = context.services.advertisedAddress();
        return { key, errorCode: 0, errorMessage: '', nodeId: partition.leadership.leaderId === nodeId ? nodeId : -1, host: address.host, port: address.port };
      } catch (error) {
        if (error instanceof StrataError && error.errorName === 'NOT_COORDINATOR') {
          // Another broker leads the partition; without cluster metadata there is no address to give.
          return failed(namedError('COORDINATOR_NOT_AVAILABLE', error.message));
        }
        return failed(errorResult(error, context.logger.child({ group: key }), 'find coordinator'));
      }
    }),
  );
  return { coordinators };
}
