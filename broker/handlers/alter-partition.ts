/**
 * AlterPartition (api 56): a partition leader's report of itself (leader epoch, in-sync replicas),
 * recorded by the controller in the cluster metadata. Only the controller answers with success; any
 * other broker (and a standalone one) answers NOT_CONTROLLER with the controller it knows. Each
 * partition is judged on its own (`ClusterNode.alterPartitions`).
 */
import type { AlterPartitionRequest, AlterPartitionResponse } from '../../client/protocol/index.js';
import { errorResult, namedError } from '../error-result.js';
import type { RequestContext } from '../request-context.js';

export async function handleAlterPartition(request: AlterPartitionRequest, context: RequestContext): Promise<AlterPartitionResponse> {
  const cluster = context.services.cluster;
  if (cluster === undefined) return { ...namedError('NOT_CONTROLLER', 'this broker is not a cluster member'), controllerId: -1, partitions: [] };
  try {
    const partitions = await cluster.alterPartitions(request);
    return { errorCode: 0, errorMessage: '', controllerId: context.services.nodeId, partitions };
  } catch (error) {
    const { errorCode, errorMessage } = errorResult(error, context.logger, 'partition leader report');
    return { errorCode, errorMessage, controllerId: cluster.controllerId ?? -1, partitions: [] };
  }
}
