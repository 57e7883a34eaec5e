/**
 * FindCoordinator (api 10): per group id, the broker that leads the group's `__consumer_offsets`
 * partition. The first request creates that topic (Kafka does the same). On one node the answer is
 * this broker; a coordinator this broker cannot name the address of answers COORDINATOR_NOT_AVAILABLE.
 * In a cluster the answer is the partition's Raft leader as this broker knows it (a replica), or its
 * first replica (a guess a wrong broker corrects with NOT_COORDINATOR); COORDINATOR_NOT_AVAILABLE
 * while the partition elects a leader or before the controller created the topic.
 * Key types other than 0 (group) are INVALID_REQUEST. Each key answers on its own.
 */
import { COORDINATOR_KEY_TYPE_GROUP, StrataError, type FindCoordinatorRequest, type FindCoordinatorResponse, type FoundCoordinator } from '../../client/protocol/index.js';
import { errorResult, namedError } from '../error-result.js';
import { offsetsPartitionFor } from '../group/offsets-topic.js';
import { OFFSETS_TOPIC } from '../internal-topics.js';
import type { RequestContext } from '../request-context.js';

export async function handleFindCoordinator(request: FindCoordinatorRequest, context: RequestContext): Promise<FindCoordinatorResponse> {
  const { groups, nodeId } = context.services;
  const coordinators = await Promise.all(
    request.keys.map(async (key): Promise<FoundCoordinator> => {
      const failed = ({ errorCode, errorMessage }: { errorCode: number; errorMessage: string }) => ({ key, errorCode, errorMessage, nodeId: -1, host: '', port: 0 });
      if (request.keyType !== COORDINATOR_KEY_TYPE_GROUP) return failed(namedError('INVALID_REQUEST', `key type ${request.keyType}: only 0 (group) exists`));
      try {
        if (context.services.cluster !== undefined) return clusterCoordinator(key, context);
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

function clusterCoordinator(key: string, context: RequestContext): FoundCoordinator {
  const { partitions, cluster } = context.services;
  const count = partitions.topic(OFFSETS_TOPIC)?.partitions;
  if (count === undefined || cluster === undefined) {
    return { key, ...namedError('COORDINATOR_NOT_AVAILABLE', `${OFFSETS_TOPIC} does not exist yet; the controller creates it once every broker registered`), nodeId: -1, host: '', port: 0 };
  }
  const index = offsetsPartitionFor(key, count);
  const local = partitions.partition(OFFSETS_TOPIC, index);
  const leader = local !== undefined ? local.leadership.leaderId : (partitions.replicasOf(OFFSETS_TOPIC)?.[index]?.[0] ?? -1);
  const broker = leader < 0 ? undefined : cluster.quorum.image.broker(leader);
  if (broker === undefined) return { key, ...namedError('COORDINATOR_NOT_AVAILABLE', `${OFFSETS_TOPIC}-${index} has no known leader yet`), nodeId: -1, host: '', port: 0 };
  return { key, errorCode: 0, errorMessage: '', nodeId: leader, host: broker.host, port: broker.port };
}
