/**
 * Metadata (api 3): this broker, the controller (itself, on one node) and the topics asked for —
 * every topic when `all_topics` is set, else those named, each with its partitions' leader, leader
 * epoch, replicas and in-sync replicas. A name that is not a valid topic name answers
 * INVALID_TOPIC_EXCEPTION; a valid one that does not exist, UNKNOWN_TOPIC_OR_PARTITION; one whose
 * logs are still being opened, LEADER_NOT_AVAILABLE (retriable). Topics are never created by asking
 * for their metadata.
 */
import type { MetadataRequest, MetadataResponse, MetadataTopic } from '../../client/protocol/index.js';
import { namedError } from '../error-result.js';
import type { RequestContext } from '../request-context.js';
import { topicNameProblem } from '../topic-name.js';

export async function handleMetadata(request: MetadataRequest, context: RequestContext): Promise<MetadataResponse> {
  const { partitions, nodeId } = context.services;
  const address = context.services.advertisedAddress();
  const names = request.allTopics ? partitions.topics().map((t) => t.name).sort() : request.topics;
  const topics = names.map((name): MetadataTopic => {
    const problem = topicNameProblem(name);
    if (problem !== undefined) return { name, errorCode: namedError('INVALID_TOPIC_EXCEPTION').errorCode, partitions: [] };
    const topic = partitions.topic(name);
    if (topic === undefined) return { name, errorCode: namedError('UNKNOWN_TOPIC_OR_PARTITION').errorCode, partitions: [] };
    // Committed but its logs still opening: Kafka's answer for a topic being created.
    if (partitions.partitionsOf(name).length < topic.partitions) return { name, errorCode: namedError('LEADER_NOT_AVAILABLE').errorCode, partitions: [] };
    return {
      name,
      errorCode: 0,
      partitions: partitions.partitionsOf(name).map((partition) => {
        const { leaderId, leaderEpoch, replicas, isr } = partition.leadership;
        return { partition: partition.index, errorCode: 0, leaderId, leaderEpoch, replicas: [...replicas], isr: [...isr] };
      }),
    };
  });
  return { brokers: [{ nodeId, host: address.host, port: address.port }], controllerId: nodeId, topics };
}
