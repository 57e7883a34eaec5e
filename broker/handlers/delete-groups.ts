/**
 * DeleteGroups (api 42): per group, refuse one with members (NON_EMPTY_GROUP), else write tombstones
 * for its committed offsets and forget it once they are durable.
 */
import type { DeleteGroupsRequest, DeleteGroupsResponse } from '../../client/protocol/index.js';
import type { RequestContext } from '../request-context.js';

export function handleDeleteGroups(request: DeleteGroupsRequest, context: RequestContext): Promise<DeleteGroupsResponse> {
  return context.services.groups.deleteGroups(request.groupIds);
}
