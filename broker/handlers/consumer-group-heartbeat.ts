/**
 * ConsumerGroupHeartbeat (api 68): join, heartbeat or leave a group (`group/group-coordinator.ts`;
 * the member protocol is in the API's file in `client/protocol/apis`). A heartbeat with nothing to
 * change may be held up to its `maxWaitMs`; the connection's abort signal ends the hold.
 */
import type { ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse } from '../../client/protocol/index.js';
import type { RequestContext } from '../request-context.js';

export function handleConsumerGroupHeartbeat(request: ConsumerGroupHeartbeatRequest, context: RequestContext): Promise<ConsumerGroupHeartbeatResponse> {
  return context.services.groups.heartbeat(request, { clientId: context.header.clientId, clientHost: context.clientHost, signal: context.signal });
}
