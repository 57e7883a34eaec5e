/**
 * Produce (api 0): append each partition's batches to its log.
 *
 * Each partition answers on its own: one partition's bad batch never fails another's. The log
 * validates every batch before writing anything (size, magic, CRC-32C, codec, then every record's
 * framing, as Kafka's LogValidator), so the answers are the log's codes: CORRUPT_MESSAGE (bad CRC,
 * header or lz4 frame), MESSAGE_TOO_LARGE (over the topic's `max.message.bytes`, or decompressing
 * past its bound), INVALID_RECORD (malformed records, a control batch), INVALID_TIMESTAMP (outside
 * the batch's own range or the topic's `message.timestamp.before/after.max.ms`),
 * UNSUPPORTED_COMPRESSION_TYPE; plus
 * UNKNOWN_TOPIC_OR_PARTITION and NOT_LEADER_OR_FOLLOWER (with the leader hint) from the broker.
 * acks outside {0, 1, -1} fail every partition with INVALID_REQUIRED_ACKS and append nothing.
 * Internal topics (`__consumer_offsets`) answer INVALID_TOPIC_EXCEPTION: only the broker writes them.
 *
 * A failed partition (storage failure, `Partition.isFailed`) answers KAFKA_STORAGE_ERROR.
 *
 * acks 1 answers once the leader's append is as durable as the topic's flush policy says; acks -1
 * waits until a majority of the partition's replicas holds it (on a standalone broker the same as
 * acks 1). acks 0 is never answered (Kafka's rule); its failures are only logged. `timeout_ms`
 * bounds the replication wait: past it the answer is REQUEST_TIMED_OUT, and the batch may still be
 * committed (a retry can then duplicate it, unless the producer is idempotent).
 *
 * Idempotent producers (batches with a producer id, `log/producer-state.ts`): a retry of one of the
 * producer's last five batches answers with the original base offset and appends nothing;
 * OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH and UNKNOWN_PRODUCER_ID refuse the partition's
 * batch (nothing appended), as INVALID_RECORD does a producer batch that is not alone.
 */
import type { ProducePartitionResult, ProduceRequest, ProduceResponse } from '../../client/protocol/index.js';
import { LogError } from '../../log/index.js';
import { errorResult, namedError } from '../error-result.js';
import { isInternalTopic } from '../internal-topics.js';
import { errorFields } from '../logger.js';
import type { RequestContext } from '../request-context.js';

const VALID_ACKS: ReadonlySet<number> = new Set([0, 1, -1]);

export async function handleProduce(request: ProduceRequest, context: RequestContext): Promise<ProduceResponse | undefined> {
  const { partitions, stats } = context.services;
  const acksValid = VALID_ACKS.has(request.acks);
  const topics = await Promise.all(
    request.topics.map(async (topic) => ({
      name: topic.name,
      partitions: await Promise.all(
        topic.partitions.map(async ({ partition: index, records }): Promise<ProducePartitionResult> => {
          const failed = (error: { errorCode: number; errorMessage: string; leaderHint: number }, logStartOffset = -1): ProducePartitionResult => ({
            partition: index,
            ...error,
            baseOffset: -1,
            logStartOffset,
          });
          if (!acksValid) return failed(namedError('INVALID_REQUIRED_ACKS', `got ${request.acks}`));
          if (isInternalTopic(topic.name)) return failed(namedError('INVALID_TOPIC_EXCEPTION', `'${topic.name}' is internal: only the broker writes it`));
          const partition = partitions.partition(topic.name, index);
          if (partition === undefined) return failed(namedError('UNKNOWN_TOPIC_OR_PARTITION', `${topic.name}-${index}`));
          try {
            const result = await partition.appendAsLeader(records, request.acks === -1 ? -1 : 1, request.timeoutMs);
            stats.recordProduced(topic.name, records.length);
            if (partition.logger.isLevelEnabled('trace')) partition.logger.trace({ baseOffset: result.baseOffset, lastOffset: result.lastOffset, bytes: records.length }, 'appended');
            return { partition: index, errorCode: 0, errorMessage: '', baseOffset: result.baseOffset, logStartOffset: partition.logStartOffset, leaderHint: -1 };
          } catch (error) {
            // A storage error is logged with its cause, except the one that failed the partition:
            // that was logged once when it happened, and every later produce meets it again.
            if (error instanceof LogError && error.errorName === 'KAFKA_STORAGE_ERROR' && error !== partition.log.storageFailure) {
              partition.logger.error({ ...errorFields(error), dir: partition.log.dir }, 'produce failed: storage error');
            }
            return failed(errorResult(error, partition.logger, 'produce'), partition.isRemoved ? -1 : partition.logStartOffset);
          }
        }),
      ),
    })),
  );
  if (request.acks === 0) {
    for (const topic of topics) {
      for (const result of topic.partitions) {
        if (result.errorCode !== 0) context.logger.warn({ topic: topic.name, partition: result.partition, errorCode: result.errorCode }, `acks=0 produce failed: ${result.errorMessage}`);
      }
    }
    return undefined;
  }
  return { topics };
}
