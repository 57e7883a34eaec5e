/**
 * FindCoordinator (api 10): per key, the broker that coordinates it — for key type 0 (a group) the
 * leader of the group's `__consumer_offsets` partition, for key type 1 (a transactional id) the
 * leader of the id's `__transaction_state` partition. The first request creates the topic on a
 * standalone broker (Kafka does the same). On one node the answer is this broker; a coordinator this
 * broker cannot name the address of answers COORDINATOR_NOT_AVAILABLE. In a cluster the answer is the
 * partition's Raft leader as this broker knows it (a replica), or its first replica (a guess a wrong
 * broker corrects with NOT_COORDINATOR); COORDINATOR_NOT_AVAILABLE while the partition elects a
 * leader or before the controller created the topic. Other key types are INVALID_REQUEST. Each key
 * answers on its own.
 */
import {
  COORDINATOR_KEY_TYPE_GROUP,
  COORDINATOR_KEY_TYPE_TRANSACTION,
  StrataError,
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
  type FoundCoordinator,
} from '../../client/protocol/index.js';
import { errorResult, namedError } from '../error-result.js';
import { offsetsPartitionFor } from '../group/offsets-topic.js';
import { OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC } from '../internal-topics.js';
import type { Partition } from '../partition.js';
import type { RequestContext } from '../request-context.js';
import { transactionStatePartitionFor } from '../txn/transaction-state-topic.js';

interface KeyType {
  readonly topic: string;
  readonly partitionFor: (key: string, partitions: number) => number;
  /** The coordinating partition on a standalone broker, creating its topic on first use. */
  readonly localPartition: (key: string, context: RequestContext) => Promise<Partition>;
  readonly what: string;
}

const KEY_TYPES: ReadonlyMap<number, KeyType> = new Map([
  [COORDINATOR_KEY_TYPE_GROUP, { topic: OFFSETS_TOPIC, partitionFor: offsetsPartitionFor, localPartition: (key, context) => context.services.groups.offsetsPartition(key), what: 'group' }],
  [
    COORDINATOR_KEY_TYPE_TRANSACTION,
    { topic: TRANSACTION_STATE_TOPIC, partitionFor: transactionStatePartitionFor, localPartition: (key, context) => context.services.transactions.statePartition(key), what: 'transactionalId' },
  ],
]);

export async function handleFindCoordinator(request: FindCoordinatorRequest, context: RequestContext): Promise<FindCoordinatorResponse> {
  const { nodeId } = context.services;
  const keyType = KEY_TYPES.get(request.keyType);
  const coordinators = await Promise.all(
    request.keys.map(async (key): Promise<FoundCoordinator> => {
      const failed = ({ errorCode, errorMessage }: { errorCode: number; errorMessage: string }) => ({ key, errorCode, errorMessage, nodeId: -1, host: '', port: 0 });
      if (keyType === undefined) return failed(namedError('INVALID_REQUEST', `key type ${request.keyType}: 0 (group) or 1 (transactional id)`));
      try {
        if (context.services.cluster !== undefined) return clusterCoordinator(key, keyType, context);
        const partition = await keyType.localPartition(key, context);
        const address = context.services.advertisedAddress();
        return { key, errorCode: 0, errorMessage: '', nodeId: partition.leadership.leaderId === nodeId ? nodeId : -1, host: address.host, port: address.port };
      } catch (error) {
        if (error instanceof StrataError && error.errorName === 'NOT_COORDINATOR') {
          // Another broker leads the partition; without cluster metadata there is no address to give.
          return failed(namedError('COORDINATOR_NOT_AVAILABLE', error.message));
        }
        return failed(errorResult(error, context.logger.child({ [keyType.what]: key }), 'find coordinator'));
      }
    }),
  );
  return { coordinators };
}

function clusterCoordinator(key: string, keyType: KeyType, context: RequestContext): FoundCoordinator {
  const { partitions, cluster } = context.services;
  const { topic } = keyType;
  const count = partitions.topic(topic)?.partitions;
  if (count === undefined || cluster === undefined) {
    return { key, ...namedError('COORDINATOR_NOT_AVAILABLE', `${topic} does not exist yet; the controller creates it once every broker registered`), nodeId: -1, host: '', port: 0 };
  }
  const index = keyType.partitionFor(key, count);
  const local = partitions.partition(topic, index);
  const leader = local !== undefined ? local.leadership.leaderId : (partitions.replicasOf(topic)?.[index]?.[0] ?? -1);
  const broker = leader < 0 ? undefined : cluster.quorum.image.broker(leader);
  if (broker === undefined) return { key, ...namedError('COORDINATOR_NOT_AVAILABLE', `${topic}-${index} has no known leader yet`), nodeId: -1, host: '', port: 0 };
  return { key, errorCode: 0, errorMessage: '', nodeId: leader, host: broker.host, port: broker.port };
}
