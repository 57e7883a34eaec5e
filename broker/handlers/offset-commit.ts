/**
 * OffsetCommit (api 8): validated against the member's epoch and assignment, appended to the group's
 * `__consumer_offsets` partition, answered once durable (`group/group-coordinator.ts`).
 */
import type { OffsetCommitRequest, OffsetCommitResponse } from '../../client/protocol/index.js';
import type { RequestContext } from '../request-context.js';

export function handleOffsetCommit(request: OffsetCommitRequest, context: RequestContext): Promise<OffsetCommitResponse> {
  return context.services.groups.commit(request);
}
