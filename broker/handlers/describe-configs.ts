/**
 * DescribeConfigs (api 32): each topic's own configs (as created), from the topic store. A topic that
 * does not exist answers UNKNOWN_TOPIC_OR_PARTITION; each topic answers on its own. Read-only.
 */
import { ERRORS, type DescribeConfigsRequest, type DescribeConfigsResponse } from '../../client/protocol/index.js';
import type { RequestContext } from '../request-context.js';

export async function handleDescribeConfigs(request: DescribeConfigsRequest, context: RequestContext): Promise<DescribeConfigsResponse> {
  const topics = [...new Set(request.topics)].map((name) => {
    const topic = context.services.partitions.topic(name);
    if (topic === undefined) return { name, errorCode: ERRORS.UNKNOWN_TOPIC_OR_PARTITION.code, errorMessage: `topic '${name}' does not exist`, configs: [] };
    const configs = Object.entries(topic.configs).map(([key, value]) => ({ name: key, value: String(value) }));
    configs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { name, errorCode: 0, errorMessage: '', configs };
  });
  return { topics };
}
