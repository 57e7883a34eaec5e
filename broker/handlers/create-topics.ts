/**
 * CreateTopics (api 19): per topic, check the name (Kafka's rule), partitions (at least 1),
 * replication factor (exactly 1 on this single node, else INVALID_REPLICATION_FACTOR) and configs
 * (Kafka's names; an unknown key or bad value is INVALID_CONFIG naming the key), then create it
 * durably — or, with `validate_only`, stop after the checks. An existing topic answers
 * TOPIC_ALREADY_EXISTS; a name given twice in one request answers INVALID_REQUEST for both (Kafka's
 * rule). Each topic answers on its own.
 */
import type { CreateTopicsRequest, CreateTopicsResponse } from '../../client/protocol/index.js';
import { errorResult, namedError } from '../error-result.js';
import type { RequestContext } from '../request-context.js';

export async function handleCreateTopics(request: CreateTopicsRequest, context: RequestContext): Promise<CreateTopicsResponse> {
  const counts = new Map<string, number>();
  for (const topic of request.topics) counts.set(topic.name, (counts.get(topic.name) ?? 0) + 1);
  const topics = await Promise.all(
    request.topics.map(async (topic) => {
      if ((counts.get(topic.name) ?? 0) > 1) {
        const { errorCode, errorMessage } = namedError('INVALID_REQUEST', `topic '${topic.name}' appears more than once in the request`);
        return { name: topic.name, errorCode, errorMessage };
      }
      try {
        await context.services.partitions.createTopic(
          { name: topic.name, partitions: topic.partitions, replicationFactor: topic.replicationFactor, configs: topic.configs },
          request.validateOnly,
        );
        return { name: topic.name, errorCode: 0, errorMessage: '' };
      } catch (error) {
        const { errorCode, errorMessage } = errorResult(error, context.logger.child({ topic: topic.name }), 'create topic');
        return { name: topic.name, errorCode, errorMessage };
      }
    }),
  );
  return { topics };
}
