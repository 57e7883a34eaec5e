/**
 * ApiVersions (api 18): the api keys and versions this broker serves. The handler registry covers
 * every key of the protocol's registry (the compiler checks it), so the answer is the registry's.
 */
import { apiVersionsOfRegistry, type ApiVersionsRequest, type ApiVersionsResponse } from '../../client/protocol/index.js';
import type { RequestContext } from '../request-context.js';

export async function handleApiVersions(_request: ApiVersionsRequest, _context: RequestContext): Promise<ApiVersionsResponse> {
  return apiVersionsOfRegistry();
}
