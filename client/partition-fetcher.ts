/**
 * The consumer's fetching: positions partitions with ListOffsets, fetches them from their leaders and
 * hands the responses to the `FetchBuffer`. `pump()` is the only place that starts requests; the
 * consumer calls it whenever something changes (assign, seek, resume, a response, a consumed chunk),
 * and a timer calls it when a backoff ends.
 *
 * - A partition is fetched again as soon as it has fewer than two undelivered chunks (one fetch
 *   response's worth), so the next fetch is in flight while the application handles the current one
 *   (prefetch), and the buffer stays bounded by about two fetches.
 * - Like Kafka's Java consumer, a broker has at most one fetch outstanding, and a partition is never
 *   in two requests at once. A partition whose buffer frees up while its leader long-polls for other,
 *   idle partitions waits for that poll to end (at most `maxWaitMs`).
 * - Retriable errors (not leader, unknown partition, lost connection) refresh metadata and retry with
 *   backoff; they do not reach the application. Others (OFFSET_OUT_OF_RANGE, a damaged batch) are
 *   surfaced, and the partition stops fetching until the application seeks it: nothing is reset
 *   silently.
 * - Isolation: fetches and ListOffsets carry the consumer's isolation level. read_committed reads
 *   below the last stable offset, 'latest' is that offset, and each response's aborted transactions
 *   go with its records to the buffer, which drops them.
 */
import type { Cluster } from './cluster.js';
import type { ResolvedConsumerConfig } from './config.js';
import { asError, type PartitionState } from './consumer-partition.js';
import type { FetchBuffer } from './fetch-buffer.js';
import {
  API_KEYS,
  ISOLATION_READ_COMMITTED,
  ISOLATION_READ_UNCOMMITTED,
  LIST_OFFSETS_EARLIEST,
  LIST_OFFSETS_LATEST,
  StrataError,
  type FetchRequest,
  type ListOffsetsRequest,
} from './protocol/index.js';
import { backoffMs, isRetriable } from './retry.js';

export interface PartitionFetcherHost {
  /** The assigned partitions. */
  partitions(): Iterable<PartitionState>;
  isClosed(): boolean;
  /** Something changed that the application may be waiting for. */
  notify(): void;
}

export class PartitionFetcher {
  private readonly cluster: Cluster;
  private readonly config: ResolvedConsumerConfig;
  private readonly buffer: FetchBuffer;
  private readonly host: PartitionFetcherHost;
  private readonly isolationLevel: number;
  private readonly fetchingNodes = new Set<number>();
  private readonly refreshingTopics = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private timerAtMs = Infinity;

  constructor(cluster: Cluster, config: ResolvedConsumerConfig, buffer: FetchBuffer, host: PartitionFetcherHost) {
    this.cluster = cluster;
    this.config = config;
    this.buffer = buffer;
    this.host = host;
    this.isolationLevel = config.isolation === 'read_committed' ? ISOLATION_READ_COMMITTED : ISOLATION_READ_UNCOMMITTED;
  }

  pump(): void {
    if (this.host.isClosed()) return;
    const nowMs = Date.now();
    const metadata = this.cluster.metadata;
    const toReset = new Map<number, PartitionState[]>();
    const toFetch = new Map<number, PartitionState[]>();
    let wakeAtMs = Infinity;
    for (const state of this.host.partitions()) {
      if (state.inFlight || state.failed || state.error !== undefined || state.revoking) continue;
      if (state.notBeforeMs > nowMs) {
        wakeAtMs = Math.min(wakeAtMs, state.notBeforeMs);
        continue;
      }
      const leader = metadata.leaderOf(state.topic, state.partition);
      if (leader === undefined) {
        this.refreshTopic(state.topic);
        continue;
      }
      if (state.reset !== undefined) {
        push(toReset, leader, state);
      } else if (!state.paused && state.chunks < 2 && !this.fetchingNodes.has(leader)) {
        push(toFetch, leader, state);
      }
    }
    for (const [nodeId, states] of toReset) void this.listOffsets(nodeId, states);
    for (const [nodeId, states] of toFetch) void this.fetch(nodeId, states);
    if (wakeAtMs < this.timerAtMs) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timerAtMs = wakeAtMs;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.timerAtMs = Infinity;
        this.pump();
      }, Math.max(1, wakeAtMs - nowMs));
    }
  }

  /** Hands a non-retriable error to the application; the partition waits for a seek. */
  surface(state: PartitionState, error: Error): void {
    state.error = error;
    state.failed = true;
    this.host.notify();
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  private refreshTopic(topic: string): void {
    if (this.refreshingTopics.has(topic)) return;
    this.refreshingTopics.add(topic);
    this.cluster.metadata.invalidate(topic);
    this.cluster
      .topicMetadata(topic)
      .then(
        () => undefined,
        (error: unknown) => {
          for (const state of this.host.partitions()) if (state.topic === topic) this.surface(state, asError(error));
        },
      )
      .finally(() => {
        setTimeout(() => {
          this.refreshingTopics.delete(topic);
          this.pump();
        }, this.cluster.metadata.topic(topic) === undefined ? this.cluster.config.retry.initialRetryTimeMs : 0);
      });
  }

  /** A retriable failure: maybe refresh metadata, then try again after a backoff. */
  private retryLater(state: PartitionState, error: Error): void {
    if (error instanceof StrataError) this.cluster.onPartitionError(state.topic, state.partition, error.code, error.leaderHint);
    state.notBeforeMs = Date.now() + backoffMs(Math.min(state.attempts, 10), this.cluster.config.retry);
    state.attempts++;
  }

  private onFailure(state: PartitionState, epoch: number, error: Error): void {
    if (state.epoch !== epoch) return;
    if (isRetriable(error)) this.retryLater(state, error);
    else this.surface(state, error);
  }

  private async listOffsets(nodeId: number, states: PartitionState[]): Promise<void> {
    const epochs = states.map((s) => s.epoch);
    const request: ListOffsetsRequest = { topics: [], isolationLevel: this.isolationLevel };
    for (const state of states) {
      state.inFlight = true;
      const reset = state.reset!;
      const timestamp = reset.kind === 'earliest' ? LIST_OFFSETS_EARLIEST : reset.kind === 'latest' ? LIST_OFFSETS_LATEST : reset.timestamp;
      topicEntry(request.topics, state.topic).partitions.push({ partition: state.partition, timestamp });
    }
    try {
      const response = await this.cluster.requestNode(nodeId, API_KEYS.listOffsets, request);
      states.forEach((state, i) => {
        const result = response.topics.find((t) => t.name === state.topic)?.partitions.find((p) => p.partition === state.partition);
        if (result === undefined) return this.onFailure(state, epochs[i]!, new StrataError('INVALID_RESPONSE', `No offset for ${state.topic}-${state.partition}.`));
        if (result.errorCode !== 0) {
          const hint = result.leaderHint >= 0 ? { leaderHint: result.leaderHint } : {};
          return this.onFailure(state, epochs[i]!, StrataError.fromCode(result.errorCode, undefined, hint));
        }
        if (state.epoch !== epochs[i]) return undefined;
        state.position = result.offset;
        state.fetchOffset = result.offset;
        state.reset = undefined;
        state.attempts = 0;
        return undefined;
      });
    } catch (error) {
      states.forEach((state, i) => this.onFailure(state, epochs[i]!, asError(error)));
    } finally {
      for (const state of states) state.inFlight = false;
      this.pump();
    }
  }

  private async fetch(nodeId: number, states: PartitionState[]): Promise<void> {
    this.fetchingNodes.add(nodeId);
    const epochs = states.map((s) => s.epoch);
    const offsets = states.map((s) => s.fetchOffset!);
    const request: FetchRequest = { maxWaitMs: this.config.maxWaitMs, minBytes: this.config.minBytes, maxBytes: this.config.maxBytes, topics: [], isolationLevel: this.isolationLevel };
    for (const state of states) {
      state.inFlight = true;
      topicEntry(request.topics, state.topic).partitions.push({
        partition: state.partition,
        fetchOffset: state.fetchOffset!,
        partitionMaxBytes: this.config.maxBytesPerPartition,
      });
    }
    let delivered = false;
    try {
      const connection = await this.cluster.connectionToNode(nodeId);
      const response = await connection.request(API_KEYS.fetch, request, {
        timeoutMs: this.cluster.config.requestTimeoutMs + this.config.maxWaitMs,
      });
      states.forEach((state, i) => {
        const result = response.topics.find((t) => t.name === state.topic)?.partitions.find((p) => p.partition === state.partition);
        if (state.epoch !== epochs[i] || this.host.isClosed()) return;
        if (result === undefined) return;
        if (result.errorCode !== 0) {
          const hint = result.leaderHint >= 0 ? { leaderHint: result.leaderHint } : {};
          this.onFailure(state, epochs[i]!, StrataError.fromCode(result.errorCode, `${state.topic}-${state.partition} at offset ${offsets[i]}.`, hint));
          return;
        }
        state.highWatermark = result.highWatermark;
        state.attempts = 0;
        try {
          const aborted = this.isolationLevel === ISOLATION_READ_COMMITTED ? result.abortedTransactions : undefined;
          if (this.buffer.add(state, offsets[i]!, result.highWatermark, result.records, aborted)) delivered = true;
        } catch (error) {
          this.surface(state, asError(error));
        }
      });
    } catch (error) {
      states.forEach((state, i) => this.onFailure(state, epochs[i]!, asError(error)));
    } finally {
      this.fetchingNodes.delete(nodeId);
      for (const state of states) state.inFlight = false;
      if (delivered) this.host.notify();
      this.pump();
    }
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function topicEntry<P>(topics: Array<{ name: string; partitions: P[] }>, name: string): { name: string; partitions: P[] } {
  let entry = topics.find((t) => t.name === name);
  if (entry === undefined) topics.push((entry = { name, partitions: [] }));
  return entry;
}
