/**
 * Metadata (api 3): the brokers, the controller and the topics asked for — every topic when
 * `all_topics` is set, else those named, each with its partitions' leader, leader epoch, replicas
 * and in-sync replicas. A name that is not a valid topic name answers INVALID_TOPIC_EXCEPTION; a
 * valid one that does not exist, UNKNOWN_TOPIC_OR_PARTITION; one whose logs are still being opened,
 * LEADER_NOT_AVAILABLE (retriable). Topics are never created by asking for their metadata.
 *
 * Standalone, the only broker is this one and it leads everything. In a cluster the brokers are
 * those registered in the cluster metadata and the controller is the metadata leader. A partition
 * this broker hosts is described from its replica (Raft knows the leader; LEADER_NOT_AVAILABLE
 * while it elects one). A partition it does not host is described from the cluster metadata: the
 * leader, epoch and in-sync replicas its leader last reported (AlterPartition). Before any report it
 * names the first replica at epoch -1: a guess the client checks, since a replica that does not lead
 * answers NOT_LEADER_OR_FOLLOWER with the real leader as its hint.
 */
import type { MetadataPartition, MetadataRequest, MetadataResponse, MetadataTopic } from '../../client/protocol/index.js';
import { namedError } from '../error-result.js';
import type { RequestContext } from '../request-context.js';
import { topicNameProblem } from '../topic-name.js';

export async function handleMetadata(request: MetadataRequest, context: RequestContext): Promise<MetadataResponse> {
  const { partitions, nodeId, cluster } = context.services;
  const names = request.allTopics ? partitions.topics().map((t) => t.name).sort() : request.topics;
  const topics = names.map((name): MetadataTopic => {
    const problem = topicNameProblem(name);
    if (problem !== undefined) return { name, errorCode: namedError('INVALID_TOPIC_EXCEPTION').errorCode, partitions: [] };
    const topic = partitions.topic(name);
    if (topic === undefined) return { name, errorCode: namedError('UNKNOWN_TOPIC_OR_PARTITION').errorCode, partitions: [] };
    const replicas = partitions.replicasOf(name);
    if (replicas === undefined) {
      // Committed but its logs still opening: Kafka's answer for a topic being created.
      if (partitions.partitionsOf(name).length < topic.partitions) return { name, errorCode: namedError('LEADER_NOT_AVAILABLE').errorCode, partitions: [] };
      return {
        name,
        errorCode: 0,
        partitions: partitions.partitionsOf(name).map((partition) => {
          const { leaderId, leaderEpoch, replicas: on, isr } = partition.leadership;
          return { partition: partition.index, errorCode: 0, leaderId, leaderEpoch, replicas: [...on], isr: [...isr] };
        }),
      };
    }
    return {
      name,
      errorCode: 0,
      partitions: replicas.map((on, index): MetadataPartition => {
        const local = partitions.partition(name, index);
        if (local === undefined) {
          const reported = cluster?.quorum.image.partitionLeader(name, index);
          if (reported !== undefined) return { partition: index, errorCode: 0, leaderId: reported.leader, leaderEpoch: reported.leaderEpoch, replicas: [...on], isr: [...reported.isr] };
          const guess = on.includes(nodeId) ? -1 : (on[0] ?? -1);
          return { partition: index, errorCode: guess < 0 ? namedError('LEADER_NOT_AVAILABLE').errorCode : 0, leaderId: guess, leaderEpoch: -1, replicas: [...on], isr: [...on] };
        }
        const { leaderId, leaderEpoch, isr } = local.leadership;
        const errorCode = leaderId < 0 ? namedError('LEADER_NOT_AVAILABLE').errorCode : 0;
        return { partition: index, errorCode, leaderId, leaderEpoch, replicas: [...on], isr: [...isr] };
      }),
    };
  });
  if (cluster === undefined) {
    const address = context.services.advertisedAddress();
    return { brokers: [{ nodeId, host: address.host, port: address.port }], controllerId: nodeId, topics };
  }
  const brokers = cluster.quorum.image.brokers().map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port }));
  if (!brokers.some((b) => b.nodeId === nodeId)) {
    const address = context.services.advertisedAddress();
    brokers.push({ nodeId, host: address.host, port: address.port });
  }
  return { brokers, controllerId: cluster.controllerId ?? -1, topics };
}
