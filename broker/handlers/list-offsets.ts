/**
 * ListOffsets (api 2): per partition, the earliest offset (timestamp -2: the log start offset), the
 * latest (-1: the high watermark, the end of what consumers can read; with isolation level 1,
 * read_committed, the last stable offset, below any open transaction, as Kafka answers), or the first offset whose
 * record timestamp is at or after the given one (binary-searched through the time index by the log).
 * When no visible record is that new, the answer is the high watermark with timestamp -1; on one
 * node the high watermark is the log end offset of every acknowledged append. Other negative
 * timestamps are INVALID_REQUEST, and so is an isolation level other than 0 or 1 (every partition).
 */
import { ISOLATION_READ_COMMITTED, ISOLATION_READ_UNCOMMITTED, StrataError, type ListOffsetsPartitionResult, type ListOffsetsRequest, type ListOffsetsResponse } from '../../client/protocol/index.js';
import { errorResult, namedError } from '../error-result.js';
import type { Partition } from '../partition.js';
import type { RequestContext } from '../request-context.js';

const LATEST = -1;
const EARLIEST = -2;

export async function handleListOffsets(request: ListOffsetsRequest, context: RequestContext): Promise<ListOffsetsResponse> {
  const { partitions } = context.services;
  const isolation = request.isolationLevel ?? ISOLATION_READ_UNCOMMITTED;
  if (isolation !== ISOLATION_READ_UNCOMMITTED && isolation !== ISOLATION_READ_COMMITTED) {
    const refused = namedError('INVALID_REQUEST', `isolation level ${isolation}: 0 (read_uncommitted) or 1 (read_committed)`);
    return { topics: request.topics.map((topic) => ({ name: topic.name, partitions: topic.partitions.map(({ partition }) => failed(partition, refused)) })) };
  }
  const topics = await Promise.all(
    request.topics.map(async (topic) => ({
      name: topic.name,
      partitions: await Promise.all(
        topic.partitions.map(async ({ partition: index, timestamp }): Promise<ListOffsetsPartitionResult> => {
          const partition = partitions.partition(topic.name, index);
          if (partition === undefined) return failed(index, namedError('UNKNOWN_TOPIC_OR_PARTITION', `${topic.name}-${index}`));
          try {
            partition.assertLeader();
            return { partition: index, errorCode: 0, leaderHint: -1, ...(await lookup(partition, timestamp, isolation === ISOLATION_READ_COMMITTED)) };
          } catch (error) {
            return failed(index, errorResult(error, partition.logger, 'list offsets'));
          }
        }),
      ),
    })),
  );
  return { topics };
}

async function lookup(partition: Partition, timestamp: number, readCommitted: boolean): Promise<{ offset: number; timestamp: number }> {
  // What a consumer of this isolation can read: timestamps found beyond it answer it instead.
  const highWatermark = readCommitted ? partition.lastStableOffset : partition.highWatermark;
  if (timestamp === LATEST) return { offset: highWatermark, timestamp: -1 };
  if (timestamp === EARLIEST) return { offset: partition.logStartOffset, timestamp: -1 };
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new StrataError('INVALID_REQUEST', `timestamp ${timestamp}: use -1 (latest), -2 (earliest) or a time in ms`);
  }
  const found = await partition.log.offsetForTimestamp(timestamp);
  if (found === undefined || found.offset >= highWatermark) return { offset: highWatermark, timestamp: -1 };
  return { offset: found.offset, timestamp: found.timestamp };
}

function failed(index: number, error: { errorCode: number; leaderHint: number }): ListOffsetsPartitionResult {
  return { partition: index, errorCode: error.errorCode, timestamp: -1, offset: -1, leaderHint: error.leaderHint };
}
