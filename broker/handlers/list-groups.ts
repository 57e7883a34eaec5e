/**
 * ListGroups (api 16): the groups this broker coordinates, with their state and member count.
 */
import type { ListGroupsRequest, ListGroupsResponse } from '../../client/protocol/index.js';
import type { RequestContext } from '../request-context.js';

export async function handleListGroups(_request: ListGroupsRequest, context: RequestContext): Promise<ListGroupsResponse> {
  return { errorCode: 0, errorMessage: '', groups: context.services.groups.listGroups() };
}
