/**
 * DeleteTopics (api 20): per topic, forget it durably, close its logs and remove its data. Waiting
 * fetches on its partitions answer at once. A topic that does not exist (or a name that could not
 * be one) answers UNKNOWN_TOPIC_OR_PARTITION. Each topic answers on its own.
 */
import type { DeleteTopicsRequest, DeleteTopicsResponse } from '../../client/protocol/index.js';
import { errorResult } from '../error-result.js';
import type { RequestContext } from '../request-context.js';

export async function handleDeleteTopics(request: DeleteTopicsRequest, context: RequestContext): Promise<DeleteTopicsResponse> {
  const topics = await Promise.all(
    [...new Set(request.topics)].map(async (name) => {
      try {
        await context.services.partitions.deleteTopic(name);
        return { name, errorCode: 0, errorMessage: '' };
      } catch (error) {
        const { errorCode, errorMessage } = errorResult(error, context.logger.child({ topic: name }), 'delete topic');
        return { name, errorCode, errorMessage };
      }
    }),
  );
  return { topics };
}
