/**
 * OffsetFetch (api 9): a group's committed offsets, from the coordinator's memory (the offsets
 * partition is read back into it on start).
 */
import type { OffsetFetchRequest, OffsetFetchResponse } from '../../client/protocol/index.js';
import type { RequestContext } from '../request-context.js';

export function handleOffsetFetch(request: OffsetFetchRequest, context: RequestContext): Promise<OffsetFetchResponse> {
  return context.services.groups.fetchOffsets(request);
}
