/**
 * Fetch (api 1): read whole batches below each partition's high watermark, long-polling until
 * `min_bytes` are there or `max_wait_ms` passes.
 *
 * Size limits (Kafka's KIP-74): each partition returns at most `partition_max_bytes` and the whole
 * response at most `max_bytes`, except that the first batch of the first partition that has data is
 * returned whole even if it is larger than either, so a consumer always makes progress. Later
 * partitions whose next batch does not fit in what is left return no records this time. As in
 * Kafka, one partition's records come from one segment per fetch; the consumer fetches on from
 * where they end.
 *
 * Errors are per partition: UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER (with a leader hint),
 * OFFSET_OUT_OF_RANGE for an offset below the log start, above the log end, or negative. An offset
 * between the high watermark and the log end is not an error: it returns no records yet.
 *
 * A fetch answers at once when it has `min_bytes`, when `max_wait_ms` is 0, when any partition has
 * an error, or when the purgatory is full or the broker is stopping; otherwise it parks in the
 * purgatory (`delayed-fetch.ts`), is woken by appends, and reads again.
 */
import type { FetchPartitionResult, FetchRequest, FetchResponse } from '../../client/protocol/index.js';
import { errorResult, namedError } from '../error-result.js';
import { FETCH_MAX_WAIT_MS_CEILING } from '../limits.js';
import type { Partition } from '../partition.js';
import type { RequestContext } from '../request-context.js';

interface FetchPass {
  response: FetchResponse;
  bytes: number;
  hasError: boolean;
  partitions: Partition[];
}

export async function handleFetch(request: FetchRequest, context: RequestContext): Promise<FetchResponse> {
  const first = await readOnce(request, context);
  const maxWaitMs = Math.min(request.maxWaitMs, FETCH_MAX_WAIT_MS_CEILING);
  const { fetches } = context.services;
  if (first.bytes >= request.minBytes || maxWaitMs === 0 || first.hasError || first.partitions.length === 0 || context.services.isShuttingDown()) {
    return done(first, context);
  }
  const parked = fetches.park({ partitions: first.partitions, minBytes: request.minBytes, bytesSoFar: first.bytes, maxWaitMs, signal: context.signal });
  if (parked === undefined) return done(first, context);
  const reason = await parked;
  if (reason === 'aborted') return first.response;
  return done(await readOnce(request, context), context);
}

function done(pass: FetchPass, context: RequestContext): FetchResponse {
  context.services.stats.fetchedBytes += pass.bytes;
  return pass.response;
}

async function readOnce(request: FetchRequest, context: RequestContext): Promise<FetchPass> {
  const { partitions } = context.services;
  let budget = request.maxBytes;
  let minOneBatch = true;
  let bytes = 0;
  let hasError = false;
  const seen: Partition[] = [];
  const topics: FetchResponse['topics'] = [];
  // Partitions are read one after another: the response budget and the first-batch rule depend on order.
  for (const topic of request.topics) {
    const results: FetchPartitionResult[] = [];
    for (const { partition: index, fetchOffset, partitionMaxBytes } of topic.partitions) {
      const partition = partitions.partition(topic.name, index);
      if (partition === undefined) {
        hasError = true;
        results.push(failed(index, namedError('UNKNOWN_TOPIC_OR_PARTITION', `${topic.name}-${index}`)));
        continue;
      }
      try {
        const limit = Math.min(partitionMaxBytes, Math.max(budget, 0));
        const read = await partition.read(fetchOffset, limit, minOneBatch);
        if (read.bytes.length > 0) {
          minOneBatch = false;
          budget -= read.bytes.length;
          bytes += read.bytes.length;
        }
        seen.push(partition);
        results.push({
          partition: index,
          errorCode: 0,
          highWatermark: partition.highWatermark,
          logStartOffset: partition.logStartOffset,
          records: read.bytes,
          leaderHint: -1,
        });
      } catch (error) {
        hasError = true;
        const result = errorResult(error, partition.logger, 'fetch');
        results.push({ ...failed(index, result), ...(partition.isRemoved ? {} : { highWatermark: partition.highWatermark, logStartOffset: partition.logStartOffset }) });
      }
    }
    topics.push({ name: topic.name, partitions: results });
  }
  return { response: { topics }, bytes, hasError, partitions: seen };
}

function failed(index: number, error: { errorCode: number; leaderHint: number }): FetchPartitionResult {
  return { partition: index, errorCode: error.errorCode, highWatermark: -1, logStartOffset: -1, records: Buffer.alloc(0), leaderHint: error.leaderHint };
}
