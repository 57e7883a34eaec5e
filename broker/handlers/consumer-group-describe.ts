/**
 * ConsumerGroupDescribe (api 69): per group, its state, members with their current and target
 * assignments, and its committed offsets. Lag is for the client to compute (ListOffsets to the
 * partition leaders), since the coordinator need not host the partitions.
 */
import type { ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse } from '../../client/protocol/index.js';
import type { RequestContext } from '../request-context.js';

export function handleConsumerGroupDescribe(request: ConsumerGroupDescribeRequest, context: RequestContext): Promise<ConsumerGroupDescribeResponse> {
  return context.services.groups.describeGroups(request.groupIds);
}
