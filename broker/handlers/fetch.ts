/**
 * Fetch (api 1): read whole batches below each partition's high watermark, long-polling until
 * `min_bytes` are there or `max_wait_ms` passes.
 *
 * Size limits (Kafka's KIP-74): each partition returns at most `partition_max_bytes` and the whole
 * response at most `max_bytes`, itself capped by the broker's `fetchMaxBytes` (Kafka's
 * `fetch.max.bytes`, 55 MiB) whatever the request asks, except that the first batch of the first partition that has data is
 * returned whole even if it is larger than either, so a consumer always makes progress. Later
 * partitions whose next batch does not fit in what is left return no records this time. As in
 * Kafka, one partition's records come from one segment per fetch; the consumer fetches on from
 * where they end.
 *
 * A partition named more than once in one request (under one topic entry or two) is read for none
 * of them: each place it is named answers INVALID_REQUEST, as Kafka answers duplicate partitions
 * (per partition, so the rest of the request is served). Otherwise one 1 KiB request naming a
 * partition a thousand times would read and hold its bytes a thousand times.
 *
 * Memory: the fetch waits for its connection's answer room (`RequestContext.answerRoom`) before it
 * reads, so a connection builds one fetch answer at a time and only while its client takes what it
 * was sent. A fetch that parks drops what it read and leaves the room (so the long polls of one
 * connection wait side by side, holding no bytes); woken, it takes the room again and reads again.
 *
 * Errors are per partition: UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER (with a leader hint),
 * OFFSET_OUT_OF_RANGE for an offset below the log start, above the log end, or negative. An offset
 * between the high watermark and the log end is not an error: it returns no records yet.
 *
 * Isolation (`isolation_level`): 0 (read_uncommitted, the default) reads below the high watermark;
 * 1 (read_committed) reads below the last stable offset (nothing of an open transaction, nor what
 * follows it) and lists the aborted transactions overlapping what it returns
 * (`log.abortedTransactions(fetchOffset, nextOffset)`), which the consumer drops. Every partition
 * answers its `lastStableOffset`. Any other level is INVALID_REQUEST for every partition. A parked
 * read_committed fetch wakes when a partition's last stable offset moves (a marker), not on appends
 * inside an open transaction, and then answers with what it reads.
 *
 * A fetch answers at once when it has `min_bytes`, when `max_wait_ms` is 0, when any partition has
 * an error, or when the purgatory is full or the broker is stopping; otherwise it parks in the
 * purgatory (`delayed-fetch.ts`), is woken by appends, and reads again.
 */
import { ISOLATION_READ_COMMITTED, ISOLATION_READ_UNCOMMITTED, type FetchPartitionResult, type FetchRequest, type FetchResponse } from '../../client/protocol/index.js';
import { asOffset } from '../../log/index.js';
import type { FetchWakeReason } from '../delayed-fetch.js';
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

/** The answer to a fetch whose connection closed: nobody reads it. */
const UNREAD: FetchResponse = Object.freeze({ topics: [] });

export async function handleFetch(request: FetchRequest, context: RequestContext): Promise<FetchResponse> {
  const isolation = request.isolationLevel ?? ISOLATION_READ_UNCOMMITTED;
  if (isolation !== ISOLATION_READ_UNCOMMITTED && isolation !== ISOLATION_READ_COMMITTED) {
    const refused = namedError('INVALID_REQUEST', `isolation level ${isolation}: 0 (read_uncommitted) or 1 (read_committed)`);
    return { topics: request.topics.map((topic) => ({ name: topic.name, partitions: topic.partitions.map(({ partition }) => failed(partition, refused)) })) };
  }
  if (!(await context.answerRoom())) return UNREAD;
  const maxBytes = Math.min(request.maxBytes, context.services.fetchMaxBytes);
  const duplicates = duplicatePartitions(request);
  const pass = await firstPass(request, maxBytes, duplicates, context);
  if ('answer' in pass) return pass.answer;
  context.leaveAnswerRoom();
  const reason = await pass.wake;
  if (reason === 'aborted' || !(await context.answerRoom())) return UNREAD;
  return done(await readOnce(request, maxBytes, duplicates, context), context);
}

/**
 * Reads once and either answers (`answer`) or parks the fetch (`wake`). Parked, it keeps none of
 * the bytes it read (they go out of scope here): the wake-up reads again.
 */
async function firstPass(
  request: FetchRequest,
  maxBytes: number,
  duplicates: Map<string, Set<number>> | undefined,
  context: RequestContext,
): Promise<{ answer: FetchResponse } | { wake: Promise<FetchWakeReason> }> {
  const first = await readOnce(request, maxBytes, duplicates, context);
  const maxWaitMs = Math.min(request.maxWaitMs, FETCH_MAX_WAIT_MS_CEILING);
  const { fetches } = context.services;
  if (first.bytes >= request.minBytes || maxWaitMs === 0 || first.hasError || first.partitions.length === 0 || context.services.isShuttingDown()) {
    return { answer: done(first, context) };
  }
  const readCommitted = request.isolationLevel === ISOLATION_READ_COMMITTED;
  const wake = fetches.park({ partitions: first.partitions, minBytes: request.minBytes, bytesSoFar: first.bytes, maxWaitMs, signal: context.signal, readCommitted });
  return wake === undefined ? { answer: done(first, context) } : { wake };
}

/**
 * The partitions a request names more than once, by topic; undefined when there are none (the
 * usual case, found without building a set for a request naming one partition).
 */
function duplicatePartitions(request: FetchRequest): Map<string, Set<number>> | undefined {
  const topics = request.topics;
  if (topics.length === 1 && (topics[0] as FetchRequest['topics'][number]).partitions.length <= 1) return undefined;
  const seen = new Map<string, Set<number>>();
  let duplicates: Map<string, Set<number>> | undefined;
  for (const topic of topics) {
    let indexes = seen.get(topic.name);
    if (indexes === undefined) seen.set(topic.name, (indexes = new Set()));
    for (const { partition } of topic.partitions) {
      if (!indexes.has(partition)) {
        indexes.add(partition);
        continue;
      }
      duplicates ??= new Map();
      let twice = duplicates.get(topic.name);
      if (twice === undefined) duplicates.set(topic.name, (twice = new Set()));
      twice.add(partition);
    }
  }
  return duplicates;
}

function done(pass: FetchPass, context: RequestContext): FetchResponse {
  const { stats } = context.services;
  for (const topic of pass.response.topics) {
    let bytes = 0;
    for (const partition of topic.partitions) bytes += partition.records.length;
    if (bytes > 0) stats.recordFetched(topic.name, bytes);
  }
  return pass.response;
}

async function readOnce(request: FetchRequest, maxBytes: number, duplicates: Map<string, Set<number>> | undefined, context: RequestContext): Promise<FetchPass> {
  const { partitions } = context.services;
  const readCommitted = request.isolationLevel === ISOLATION_READ_COMMITTED;
  let budget = maxBytes;
  let minOneBatch = true;
  let bytes = 0;
  let hasError = false;
  const seen: Partition[] = [];
  const topics: FetchResponse['topics'] = [];
  // Partitions are read one after another: the response budget and the first-batch rule depend on order.
  for (const topic of request.topics) {
    const results: FetchPartitionResult[] = [];
    const named = duplicates?.get(topic.name);
    for (const { partition: index, fetchOffset, partitionMaxBytes } of topic.partitions) {
      if (named?.has(index) === true) {
        hasError = true;
        results.push(failed(index, namedError('INVALID_REQUEST', `${topic.name}-${index} is named more than once`)));
        continue;
      }
      const partition = partitions.partition(topic.name, index);
      if (partition === undefined) {
        hasError = true;
        results.push(failed(index, namedError('UNKNOWN_TOPIC_OR_PARTITION', `${topic.name}-${index}`)));
        continue;
      }
      try {
        const limit = Math.min(partitionMaxBytes, Math.max(budget, 0));
        const read = await partition.read(fetchOffset, limit, minOneBatch, readCommitted ? 'read_committed' : 'read_uncommitted');
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
          lastStableOffset: partition.lastStableOffset,
          abortedTransactions: readCommitted && read.nextOffset > fetchOffset ? partition.log.abortedTransactions(asOffset(fetchOffset), read.nextOffset) : [],
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
  return { partition: index, errorCode: error.errorCode, highWatermark: -1, logStartOffset: -1, records: Buffer.alloc(0), leaderHint: error.leaderHint, lastStableOffset: -1, abortedTransactions: [] };
}
