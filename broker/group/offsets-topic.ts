/**
 * The internal topic `__consumer_offsets`: which of its partitions holds a group, and the records
 * a committed offset is stored as.
 *
 * A group lives in partition `abs(javaHashCode(groupId)) % partitions` (Kafka's
 * `GroupMetadataManager.partitionFor`), so all of a group's commits are in one partition, in order,
 * and the leader of that partition is the group's coordinator. The partition count is fixed when the
 * topic is created (`offsetsTopicPartitions`); changing it later would move groups, so the count is
 * read back from the topic, never from the config.
 *
 * Records are small JSON documents, readable with `strata log dump --records`:
 *
 * ```
 * key   ["offset", groupId, topic, partition]                       (compaction keeps the last per key)
 * value {"version":1,"offset":N,"metadata":"…","commitTimestamp":MS}   or null: the offset was deleted
 * ```
 *
 * The key is built by `JSON.stringify` of an array, so equal keys are equal bytes (compaction
 * compares bytes). A record that does not parse is reported, never guessed at.
 */
import type { RecordInput } from '../../log/index.js';
import type { CommittedOffset } from './consumer-group.js';

export const OFFSET_RECORD_VERSION = 1;

/** Topic configs of `__consumer_offsets` (Kafka's `offsets.topic.*` defaults). */
export const OFFSETS_TOPIC_CONFIGS: Readonly<Record<string, string>> = Object.freeze({
  'cleanup.policy': 'compact',
  'segment.bytes': String(100 * 1024 * 1024),
});

/** Java's `String.hashCode` over UTF-16 code units, as Kafka hashes group ids. */
export function javaStringHashCode(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(31, hash) + text.charCodeAt(i)) | 0;
  return hash;
}

/** The `__consumer_offsets` partition of a group. */
export function offsetsPartitionFor(groupId: string, partitions: number): number {
  const hash = javaStringHashCode(groupId);
  // Kafka's Utils.abs: Math.abs, with Integer.MIN_VALUE mapped to 0.
  return (hash === -(2 ** 31) ? 0 : Math.abs(hash)) % partitions;
}

export interface OffsetRecord {
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  /** Undefined for a deletion (tombstone). */
  readonly committed: Omit<CommittedOffset, 'logOffset'> | undefined;
}

export function encodeOffsetRecord(record: OffsetRecord): RecordInput {
  const key = JSON.stringify(['offset', record.groupId, record.topic, record.partition]);
  const value =
    record.committed === undefined
      ? null
      : JSON.stringify({
          version: OFFSET_RECORD_VERSION,
          offset: record.committed.offset,
          metadata: record.committed.metadata,
          commitTimestamp: record.committed.commitTimestamp,
        });
  return { key, value };
}

export class OffsetRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OffsetRecordError';
  }
}

/** Parses a record of `__consumer_offsets`; throws OffsetRecordError for anything else. */
export function decodeOffsetRecord(key: Buffer | null, value: Buffer | null): OffsetRecord {
  if (key === null) throw new OffsetRecordError('record without a key');
  let parsedKey: unknown;
  try {
    parsedKey = JSON.parse(key.toString('utf8'));
  } catch {
    throw new OffsetRecordError(`key is not JSON: ${key.toString('utf8').slice(0, 80)}`);
  }
  if (
    !Array.isArray(parsedKey) ||
    parsedKey.length !== 4 ||
    parsedKey[0] !== 'offset' ||
    typeof parsedKey[1] !== 'string' ||
    typeof parsedKey[2] !== 'string' ||
    !Number.isSafeInteger(parsedKey[3])
  ) {
    throw new OffsetRecordError(`unknown key ${key.toString('utf8').slice(0, 80)}`);
  }
  const [, groupId, topic, partition] = parsedKey as [string, string, string, number];
  if (value === null) return { groupId, topic, partition, committed: undefined };
  let parsed: { version?: unknown; offset?: unknown; metadata?: unknown; commitTimestamp?: unknown };
  try {
    parsed = JSON.parse(value.toString('utf8')) as typeof parsed;
  } catch {
    throw new OffsetRecordError(`value of ${groupId}/${topic}-${partition} is not JSON`);
  }
  if (parsed === null || typeof parsed !== 'object' || parsed.version !== OFFSET_RECORD_VERSION) {
    throw new OffsetRecordError(`value of ${groupId}/${topic}-${partition} has unknown version ${JSON.stringify(parsed?.version)}`);
  }
  const { offset, metadata, commitTimestamp } = parsed;
  if (!Number.isSafeInteger(offset) || (offset as number) < 0 || typeof metadata !== 'string' || !Number.isSafeInteger(commitTimestamp)) {
    throw new OffsetRecordError(`value of ${groupId}/${topic}-${partition} is malformed`);
  }
  return { groupId, topic, partition, committed: { offset: offset as number, metadata, commitTimestamp: commitTimestamp as number } };
}
