/**
 * BrokerRegistration (api 1001): a cluster member's addresses, recorded by the controller in the
 * cluster metadata. Only the controller answers with success; any other broker (and a standalone
 * one) answers NOT_CONTROLLER with the controller it knows.
 */
import type { BrokerRegistrationRequest, BrokerRegistrationResponse } from '../../client/protocol/index.js';
import { errorResult, namedError } from '../error-result.js';
import type { RequestContext } from '../request-context.js';

export async function handleBrokerRegistration(request: BrokerRegistrationRequest, context: RequestContext): Promise<BrokerRegistrationResponse> {
  const cluster = context.services.cluster;
  if (cluster === undefined) return { ...namedError('NOT_CONTROLLER', 'this broker is not a cluster member'), controllerId: -1 };
  try {
    await cluster.register(request);
    return { errorCode: 0, errorMessage: '', controllerId: context.services.nodeId };
  } catch (error) {
    const { errorCode, errorMessage } = errorResult(error, context.logger, 'broker registration');
    return { errorCode, errorMessage, controllerId: cluster.controllerId ?? -1 };
  }
}
