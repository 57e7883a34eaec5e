/**
 * The plain consumer (no group yet): the application assigns partitions and positions itself with
 * `seek`; the consumer fetches from each partition's leader and hands records over through an async
 * iterator (`for await (const message of consumer)`) or `run({ eachMessage | eachBatch })`.
 *
 * Each assigned partition has a *position* (the next offset to hand to the application) and a
 * *fetch offset* (the next offset to ask the broker for). They differ while fetched records wait in
 * the buffer: a partition is fetched again as soon as it has fewer than two undelivered chunks (one
 * fetch response's worth), so the next fetch is in flight while the application handles the
 * current one (prefetch), and the buffer stays bounded by about two fetches.
 *
 * Invariants:
 * - Per partition, messages come out in offset order, each once per position: there is at most one
 *   outstanding fetch per broker and a partition is never in two requests at once, responses are
 *   buffered in arrival order, and records below the requested offset (the head of the first batch,
 *   which the broker returns whole) are skipped.
 * - `seek` bumps the partition's epoch: buffered chunks and in-flight responses of the old epoch are
 *   dropped when they surface, so nothing from before the seek is delivered after it.
 * - OFFSET_OUT_OF_RANGE is never silently reset: it surfaces as a StrataError from the iterator (or
 *   rejects `run`), and the partition stops fetching until the application seeks it.
 * - Retriable errors (not leader, unknown partition, lost connection) refresh metadata and retry with
 *   backoff; they do not reach the application.
 *
 * Concurrency: single-threaded; `pump()` is the only place that starts requests, and it is called
 * whenever something changes (assign, seek, resume, a response, a consumed chunk, a timer).
 *
 * Like Kafka's Java consumer, a broker has at most one fetch outstanding: a partition whose buffer
 * frees up while its leader long-polls for other, idle partitions waits for that poll to end (at
 * most `maxWaitMs`). Lower `maxWaitMs` when partitions of very different rates share a leader.
 */
import { decodeBatches } from '../log/index.js';
import type { Client } from './client.js';
import { parseConsumerConfig, type ConsumerConfig, type ResolvedConsumerConfig } from './config.js';
import { API_KEYS, LIST_OFFSETS_EARLIEST, LIST_OFFSETS_LATEST, StrataError, type FetchRequest, type ListOffsetsRequest } from './protocol/index.js';
import { backoffMs, isRetriable } from './retry.js';

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface ConsumerMessage {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  /** Record headers by key; when a key repeats, the last value wins. */
  headers: { [key: string]: Buffer | null };
}

export interface ConsumerBatch {
  topic: string;
  partition: number;
  /** The partition's high watermark when the batch was fetched. */
  highWatermark: number;
  messages: ConsumerMessage[];
}

export type SeekOffset = number | 'earliest' | 'latest';

export interface RunOptions {
  eachMessage?: (payload: { topic: string; partition: number; message: ConsumerMessage }) => Promise<void> | void;
  eachBatch?: (payload: { batch: ConsumerBatch }) => Promise<void> | void;
}

/** Where a partition must be positioned before it can be fetched (resolved with ListOffsets). */
type Reset = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'timestamp'; timestamp: number };

interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  /** Next offset to hand to the application; undefined until positioned. */
  position: number | undefined;
  /** Next offset to fetch; undefined until positioned. */
  fetchOffset: number | undefined;
  reset: Reset | undefined;
  epoch: number;
  /** In an outstanding Fetch or ListOffsets request. */
  inFlight: boolean;
  paused: boolean;
  /** Chunks in the buffer not yet fully delivered. */
  chunks: number;
  highWatermark: number;
  /** An error for the application; the partition is not fetched while it is set or after it surfaced. */
  error: Error | undefined;
  failed: boolean;
  notBeforeMs: number;
  attempts: number;
}

interface Chunk {
  state: PartitionState;
  epoch: number;
  highWatermark: number;
  messages: ConsumerMessage[];
  next: number;
}

function keyOf(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class Consumer implements AsyncIterable<ConsumerMessage> {
  readonly config: ResolvedConsumerConfig;
  private readonly client: Client;
  private readonly partitions = new Map<string, PartitionState>();
  private buffer: Chunk[] = [];
  private readonly fetchingNodes = new Set<number>();
  private readonly refreshingTopics = new Set<string>();
  private waiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAtMs = Infinity;
  /** Bumped by stop(): iterations and runs of an older generation end. */
  private generation = 0;
  private isClosed = false;

  constructor(client: Client, config: ConsumerConfig = {}) {
    this.client = client;
    this.config = parseConsumerConfig(config);
  }

  // -------------------------------------------------------------------------------------------
  // Assignment and position

  /**
   * Sets the partitions to consume: a list, or `{ topic }` for all of a topic's partitions. Replaces
   * the previous assignment; partitions kept keep their position, new ones start at `initialOffset`.
   */
  async assign(assignment: readonly TopicPartition[] | { topic: string }): Promise<void> {
    this.checkOpen();
    let wanted: TopicPartition[];
    if (Array.isArray(assignment)) {
      wanted = [...(assignment as readonly TopicPartition[])];
      for (const topic of new Set(wanted.map((tp) => tp.topic))) {
        const info = await this.client.topicMetadata(topic);
        for (const tp of wanted) {
          if (tp.topic === topic && (!Number.isInteger(tp.partition) || tp.partition < 0 || tp.partition >= info.partitions.length)) {
            throw new StrataError('UNKNOWN_TOPIC_OR_PARTITION', `Partition ${tp.partition} of topic '${topic}'.`);
          }
        }
      }
    } else {
      const { topic } = assignment as { topic: string };
      const info = await this.client.topicMetadata(topic);
      wanted = info.partitions.map((p) => ({ topic, partition: p.partition }));
    }
    const keys = new Set(wanted.map((tp) => keyOf(tp.topic, tp.partition)));
    for (const key of [...this.partitions.keys()]) if (!keys.has(key)) this.partitions.delete(key);
    this.buffer = this.buffer.filter((chunk) => keys.has(chunk.state.key));
    for (const { topic, partition } of wanted) {
      const key = keyOf(topic, partition);
      if (this.partitions.has(key)) continue;
      this.partitions.set(key, {
        topic, partition, key,
        position: undefined, fetchOffset: undefined,
        reset: { kind: this.config.initialOffset },
        epoch: 0, inFlight: false, paused: false, chunks: 0, highWatermark: -1,
        error: undefined, failed: false, notBeforeMs: 0, attempts: 0,
      });
    }
    this.pump();
  }

  /** The assigned partitions. */
  assignment(): TopicPartition[] {
    return [...this.partitions.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  /** Moves an assigned partition's position; what was fetched before is discarded. */
  seek({ topic, partition, offset }: { topic: string; partition: number; offset: SeekOffset }): void {
    if (typeof offset === 'number' && (!Number.isSafeInteger(offset) || offset < 0)) throw new RangeError(`seek offset ${offset}`);
    const state = this.stateOf(topic, partition);
    this.reposition(state, typeof offset === 'number' ? offset : { kind: offset });
  }

  /** Moves to the first offset whose timestamp is at or after `timestamp` (the log end if none is). */
  seekToTimestamp({ topic, partition, timestamp }: { topic: string; partition: number; timestamp: number }): void {
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new RangeError(`seek timestamp ${timestamp}`);
    this.reposition(this.stateOf(topic, partition), { kind: 'timestamp', timestamp });
  }

  /** The next offset the application will see from a partition; undefined until it is positioned. */
  position({ topic, partition }: TopicPartition): number | undefined {
    return this.stateOf(topic, partition).position;
  }

  private reposition(state: PartitionState, to: number | Reset): void {
    this.checkOpen();
    state.epoch++;
    state.error = undefined;
    state.failed = false;
    state.attempts = 0;
    state.notBeforeMs = 0;
    state.chunks = 0;
    this.buffer = this.buffer.filter((chunk) => chunk.state !== state);
    if (typeof to === 'number') {
      state.position = to;
      state.fetchOffset = to;
      state.reset = undefined;
    } else {
      state.position = undefined;
      state.fetchOffset = undefined;
      state.reset = to;
    }
    this.pump();
  }

  private stateOf(topic: string, partition: number): PartitionState {
    const state = this.partitions.get(keyOf(topic, partition));
    if (state === undefined) throw new TypeError(`${topic}-${partition} is not assigned to this consumer`);
    return state;
  }

  /** Stops fetching these partitions and holds back what was already fetched for them. */
  pause(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) this.stateOf(topic, partition).paused = true;
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) this.stateOf(topic, partition).paused = false;
    this.pump();
    this.notify();
  }

  paused(): TopicPartition[] {
    return [...this.partitions.values()].filter((s) => s.paused).map(({ topic, partition }) => ({ topic, partition }));
  }

  // -------------------------------------------------------------------------------------------
  // Delivery

  [Symbol.asyncIterator](): AsyncIterator<ConsumerMessage> {
    const generation = this.generation;
    return {
      next: async () => {
        const message = await this.nextMessage(generation);
        return message === undefined ? { done: true, value: undefined } : { done: false, value: message };
      },
      // Breaking out of a for-await leaves the consumer as it is: undelivered messages stay buffered.
      return: async () => ({ done: true, value: undefined }),
    };
  }

  /**
   * Runs handlers until `stop()` or `close()`: resolves then, or rejects with the first error (a
   * handler's, or OFFSET_OUT_OF_RANGE and other non-retriable errors). Unlike kafkajs, the promise
   * settles only when the loop ends, so do not await it before producing what it should read.
   * A message whose handler threw counts as delivered (the position is past it): without groups
   * and commits there is nothing to roll back to, so seek back to replay it.
   */
  async run(options: RunOptions): Promise<void> {
    if (options.eachBatch === undefined && options.eachMessage === undefined) throw new TypeError('run needs eachMessage or eachBatch');
    this.checkOpen();
    const generation = this.generation;
    for (;;) {
      if (options.eachBatch !== undefined) {
        const batch = await this.nextBatch(generation);
        if (batch === undefined) return;
        await options.eachBatch({ batch });
      } else {
        const message = await this.nextMessage(generation);
        if (message === undefined) return;
        await options.eachMessage!({ topic: message.topic, partition: message.partition, message });
      }
    }
  }

  /** Ends the running `run` and open iterators (they finish cleanly); the assignment stays. */
  stop(): Promise<void> {
    this.generation++;
    this.notify();
    return Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    await this.stop();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.buffer = [];
    this.partitions.clear();
    this.client.release(this);
  }

  private async nextMessage(generation: number): Promise<ConsumerMessage | undefined> {
    for (;;) {
      if (this.isClosed || generation !== this.generation) return undefined;
      this.throwPendingError();
      const chunk = this.deliverableChunk();
      if (chunk !== undefined) {
        const message = chunk.messages[chunk.next++]!;
        chunk.state.position = message.offset + 1;
        if (chunk.next === chunk.messages.length) this.consumed(chunk);
        return message;
      }
      await this.changed();
    }
  }

  private async nextBatch(generation: number): Promise<ConsumerBatch | undefined> {
    for (;;) {
      if (this.isClosed || generation !== this.generation) return undefined;
      this.throwPendingError();
      const chunk = this.deliverableChunk();
      if (chunk !== undefined) {
        const messages = chunk.messages.slice(chunk.next);
        chunk.next = chunk.messages.length;
        chunk.state.position = messages[messages.length - 1]!.offset + 1;
        this.consumed(chunk);
        return { topic: chunk.state.topic, partition: chunk.state.partition, highWatermark: chunk.highWatermark, messages };
      }
      await this.changed();
    }
  }

  private throwPendingError(): void {
    for (const state of this.partitions.values()) {
      if (state.error !== undefined && !state.paused) {
        const error = state.error;
        state.error = undefined;
        throw error;
      }
    }
  }

  /** The oldest buffered chunk of a partition that is not paused; stale chunks are dropped on the way. */
  private deliverableChunk(): Chunk | undefined {
    for (let i = 0; i < this.buffer.length; i++) {
      const chunk = this.buffer[i]!;
      if (chunk.epoch !== chunk.state.epoch || this.partitions.get(chunk.state.key) !== chunk.state) {
        this.buffer.splice(i--, 1);
        continue;
      }
      if (!chunk.state.paused) return chunk;
    }
    return undefined;
  }

  private consumed(chunk: Chunk): void {
    const i = this.buffer.indexOf(chunk);
    if (i >= 0) this.buffer.splice(i, 1);
    chunk.state.chunks--;
    this.pump();
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private notify(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  private checkOpen(): void {
    if (this.isClosed) throw new StrataError('NETWORK_EXCEPTION', 'The consumer is closed.');
  }

  // -------------------------------------------------------------------------------------------
  // Fetching

  private pump(): void {
    if (this.isClosed) return;
    const nowMs = Date.now();
    const metadata = this.client.metadata;
    const toReset = new Map<number, PartitionState[]>();
    const toFetch = new Map<number, PartitionState[]>();
    let wakeAtMs = Infinity;
    for (const state of this.partitions.values()) {
      if (state.inFlight || state.failed || state.error !== undefined) continue;
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

  private refreshTopic(topic: string): void {
    if (this.refreshingTopics.has(topic)) return;
    this.refreshingTopics.add(topic);
    this.client.metadata.invalidate(topic);
    this.client
      .topicMetadata(topic)
      .then(
        () => undefined,
        (error: unknown) => {
          for (const state of this.partitions.values()) if (state.topic === topic) this.surface(state, asError(error));
        },
      )
      .finally(() => {
        setTimeout(() => {
          this.refreshingTopics.delete(topic);
          this.pump();
        }, this.client.metadata.topic(topic) === undefined ? this.client.config.retry.initialRetryTimeMs : 0);
      });
  }

  /** Hands a non-retriable error to the application; the partition waits for a seek. */
  private surface(state: PartitionState, error: Error): void {
    state.error = error;
    state.failed = true;
    this.notify();
  }

  /** A retriable failure: maybe refresh metadata, then try again after a backoff. */
  private retryLater(state: PartitionState, error: Error): void {
    if (error instanceof StrataError) this.client.onPartitionError(state.topic, state.partition, error.code, error.leaderHint);
    state.notBeforeMs = Date.now() + backoffMs(Math.min(state.attempts, 10), this.client.config.retry);
    state.attempts++;
  }

  private onFailure(state: PartitionState, epoch: number, error: Error): void {
    if (state.epoch !== epoch) return;
    if (isRetriable(error)) this.retryLater(state, error);
    else this.surface(state, error);
  }

  private async listOffsets(nodeId: number, states: PartitionState[]): Promise<void> {
    const epochs = states.map((s) => s.epoch);
    const request: ListOffsetsRequest = { topics: [] };
    for (const state of states) {
      state.inFlight = true;
      const reset = state.reset!;
      const timestamp = reset.kind === 'earliest' ? LIST_OFFSETS_EARLIEST : reset.kind === 'latest' ? LIST_OFFSETS_LATEST : reset.timestamp;
      topicEntry(request.topics, state.topic).partitions.push({ partition: state.partition, timestamp });
    }
    try {
      const response = await this.client.requestNode(nodeId, API_KEYS.listOffsets, request);
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
    const request: FetchRequest = { maxWaitMs: this.config.maxWaitMs, minBytes: this.config.minBytes, maxBytes: this.config.maxBytes, topics: [] };
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
      const connection = await this.client.connectionToNode(nodeId);
      const response = await connection.request(API_KEYS.fetch, request, {
        timeoutMs: this.client.config.requestTimeoutMs + this.config.maxWaitMs,
      });
      states.forEach((state, i) => {
        const result = response.topics.find((t) => t.name === state.topic)?.partitions.find((p) => p.partition === state.partition);
        if (state.epoch !== epochs[i] || this.isClosed) return;
        if (result === undefined) return;
        if (result.errorCode !== 0) {
          const hint = result.leaderHint >= 0 ? { leaderHint: result.leaderHint } : {};
          this.onFailure(state, epochs[i]!, StrataError.fromCode(result.errorCode, `${state.topic}-${state.partition} at offset ${offsets[i]}.`, hint));
          return;
        }
        state.highWatermark = result.highWatermark;
        state.attempts = 0;
        try {
          if (this.accept(state, offsets[i]!, result.highWatermark, result.records)) delivered = true;
        } catch (error) {
          this.surface(state, asError(error));
        }
      });
    } catch (error) {
      states.forEach((state, i) => this.onFailure(state, epochs[i]!, asError(error)));
    } finally {
      this.fetchingNodes.delete(nodeId);
      for (const state of states) state.inFlight = false;
      if (delivered) this.notify();
      this.pump();
    }
  }

  /** Decodes a partition's fetched batches into a chunk; returns whether it holds any message. */
  private accept(state: PartitionState, fetchOffset: number, highWatermark: number, records: Buffer): boolean {
    const messages: ConsumerMessage[] = [];
    let nextOffset = fetchOffset;
    for (const { header, records: decoded } of decodeBatches(records)) {
      const batchEnd = header.baseOffset + header.lastOffsetDelta + 1;
      if (batchEnd > nextOffset) nextOffset = batchEnd;
      for (const record of decoded) {
        if (record.offset < fetchOffset) continue;
        const headers: { [key: string]: Buffer | null } = {};
        for (const h of record.headers) headers[h.key] = h.value;
        messages.push({
          topic: state.topic,
          partition: state.partition,
          offset: record.offset,
          timestamp: record.timestamp,
          key: record.key,
          value: record.value,
          headers,
        });
      }
    }
    state.fetchOffset = nextOffset;
    if (messages.length === 0) return false;
    this.buffer.push({ state, epoch: state.epoch, highWatermark, messages, next: 0 });
    state.chunks++;
    return true;
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

function asError(error: unknown): Error {
  return error instanceof Error ? error : new StrataError('UNKNOWN_SERVER_ERROR', String(error));
}
