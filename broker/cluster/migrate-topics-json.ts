/**
 * Migration of a single-node data dir into the cluster: the topics of its `topics.json`
 * (`topic-store.ts` owns that format) become create-topic records whose only replica is this node,
 * with their topic ids kept, so the partition directories (which record their topic id in
 * `partition.metadata`) are recognised as the same topics' data and are neither lost nor replaced.
 *
 * Internal topics migrate like any other: an existing `__consumer_offsets` keeps its partitions and
 * its single replica, and the controller, seeing it exists, does not create another.
 *
 * Reading only: the file is left in place (a leftover `topics.json.tmp` is discarded, as every load
 * of the store does). A malformed file (bad JSON, a bad field, a topic name or id given twice,
 * configs `topic-config.ts` refuses) is an error naming the path, never a partial migration. A data
 * dir without `topics.json` has nothing to migrate. Once the records are committed, the caller
 * retires the file, so the next start does not migrate it again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { NODE_ID_MAX } from '../limits.js';
import { TOPICS_FILE, TopicStore } from '../topic-store.js';
import { checkMetadataRecord, type CreateTopicRecord } from './metadata-records.js';

export class TopicsMigrationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TopicsMigrationError';
  }
}

/** The create-topic records of `<dataDir>/topics.json`, in the file's order; [] when there is no such file. */
export function recordsFromTopicsJson(dataDir: string, localNodeId: number): CreateTopicRecord[] {
  if (!Number.isSafeInteger(localNodeId) || localNodeId < 0 || localNodeId > NODE_ID_MAX) throw new RangeError(`local node id must be an integer from 0 to ${NODE_ID_MAX}, got ${localNodeId}`);
  const file = path.join(dataDir, TOPICS_FILE);
  if (!fs.existsSync(file)) return [];
  let store: TopicStore;
  try {
    store = TopicStore.load(dataDir);
  } catch (error) {
    throw new TopicsMigrationError(`cannot migrate ${file}: ${(error as Error).message}`, { cause: error });
  }
  return store.list().map((topic, i) => {
    const where = `cannot migrate ${file}: topic ${i} ('${topic.name}')`;
    const partitions = Array.from({ length: topic.partitions }, () => ({ replicas: [localNodeId] }));
    try {
      return checkMetadataRecord({ type: 'create-topic', name: topic.name, topicId: topic.topicId, partitions, configs: topic.configs }, where) as CreateTopicRecord;
    } catch (error) {
      throw new TopicsMigrationError((error as Error).message, { cause: error });
    }
  });
}
