/**
 * Topic-partitions as the client names them: one string key per partition (for maps and sets), the
 * wire's grouping by topic (`TopicPartitions`: a topic and its partition numbers), and one order.
 */
import type { TopicPartitions } from './protocol/index.js';

export interface TopicPartition {
  topic: string;
  partition: number;
}

export function topicPartitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** By topic (code-unit order, no locale), then partition. */
export function compareTopicPartitions(a: TopicPartition, b: TopicPartition): number {
  return (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0) || a.partition - b.partition;
}

/** The wire's grouping: topics sorted, each with its partitions sorted. */
export function toTopicPartitions(partitions: readonly TopicPartition[]): TopicPartitions[] {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    const list = byTopic.get(topic);
    if (list === undefined) byTopic.set(topic, [partition]);
    else list.push(partition);
  }
  return [...byTopic.keys()].sort().map((topic) => ({ topic, partitions: byTopic.get(topic)!.sort((a, b) => a - b) }));
}

/** The partitions of the wire's grouping, in its order. */
export function fromTopicPartitions(list: readonly TopicPartitions[]): TopicPartition[] {
  return list.flatMap(({ topic, partitions }) => partitions.map((partition) => ({ topic, partition })));
}
