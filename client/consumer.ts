/**
 * The consumer: it fetches from each partition's leader and hands records over through an async
 * iterator (`for await (const message of consumer)`) or `run({ eachMessage | eachBatch })`. Its
 * partitions come either from the application (`assign`, then `seek`: a plain consumer) or from a
 * consumer group (`groupId` + `subscribe`: the coordinator assigns them).
 *
 * This file is the public face and the delivery loop; the parts behind it:
 *
 * | part | file |
 * |---|---|
 * | one partition's position, fetch offset, epoch and group bookkeeping | `consumer-partition.ts` |
 * | ListOffsets and Fetch requests, prefetch, retries with backoff | `partition-fetcher.ts` |
 * | fetched batch bytes, decoded batch by batch as the application reaches them | `fetch-buffer.ts` |
 * | membership, commits, revoke and assign (at-least-once) | `consumer-group-runtime.ts` |
 *
 * Invariants:
 * - Per partition, messages come out in offset order, each once per position (`fetch-buffer.ts`).
 * - `seek` bumps the partition's epoch: buffered chunks and in-flight responses of the old epoch are
 *   dropped when they surface, so nothing from before the seek is delivered after it.
 * - OFFSET_OUT_OF_RANGE is never silently reset: it surfaces as a StrataError from the iterator (or
 *   rejects `run`), and the partition stops fetching until the application seeks it.
 * - With a group, nothing is committed ahead of the application (`consumer-group-runtime.ts`).
 *
 * Concurrency: single-threaded; the fetcher's `pump()` is the only place that starts requests, and it
 * is called whenever something changes (assign, seek, resume, a response, a consumed chunk, a timer).
 */
import type { Cluster } from './cluster.js';
import { parseConsumerConfig, type ConsumerConfig, type ResolvedConsumerConfig } from './config.js';
import type { ConsumerBatch, ConsumerMessage } from './consumer-message.js';
import { ConsumerGroupRuntime } from './consumer-group-runtime.js';
import { newPartitionState, type Delivery, type PartitionState, type Reset } from './consumer-partition.js';
import { FetchBuffer } from './fetch-buffer.js';
import type { CommitOffset } from './offset-committer.js';
import { PartitionFetcher } from './partition-fetcher.js';
import { StrataError } from './protocol/index.js';
import { topicPartitionKey, type TopicPartition } from './topic-partitions.js';

export type { CommitOffset } from './offset-committer.js';
export type { ConsumerBatch, ConsumerMessage } from './consumer-message.js';
export type { TopicPartition };

export type SeekOffset = number | 'earliest' | 'latest';

export interface SubscribeOptions {
  topics: readonly string[] | string;
  /** Where a partition the group never committed starts: earliest when true, else latest. Default false. */
  fromBeginning?: boolean;
}

export interface RunOptions {
  eachMessage?: (payload: { topic: string; partition: number; message: ConsumerMessage }) => Promise<void> | void;
  eachBatch?: (payload: { batch: ConsumerBatch }) => Promise<void> | void;
}

/** Who a group member is now: what a transaction's offsets carry so the coordinator can fence a stale member. */
export interface ConsumerGroupMetadata {
  groupId: string;
  memberId: string;
  memberEpoch: number;
}

/** At most this many group errors wait for the application; later ones are dropped. */
const PENDING_ERRORS_MAX = 16;
let consumerCount = 0;

/**
 * `eachBatch` gets whole record batches of one partition, decoded until it holds at least this many
 * messages or the fetched bytes end (Kafka's Java consumer caps a poll at `max.poll.records`, 500).
 * A fetch's worth at once (about 10,000 records of 100 B) keeps the whole array and its objects alive
 * across young-generation collections: `perf consume` of 3,000,000 such records measured 470 to 540 ms
 * of scavenges that way, 280 to 350 ms with batches of this size.
 */
const EACH_BATCH_MESSAGES_MIN = 1000;

export class Consumer implements AsyncIterable<ConsumerMessage> {
  readonly config: ResolvedConsumerConfig;
  private readonly cluster: Cluster;
  private readonly partitions = new Map<string, PartitionState>();
  private readonly buffer: FetchBuffer;
  private readonly fetcher: PartitionFetcher;
  private waiters: Array<() => void> = [];
  /** Bumped by stop(): iterations and runs of an older generation end. */
  private generation = 0;
  private isClosed = false;
  private readonly id = ++consumerCount;
  private mode: 'none' | 'assign' | 'subscribe' = 'none';
  private group: ConsumerGroupRuntime | undefined;
  /** Errors of the group (final membership errors, callbacks that threw) for the application. */
  private readonly groupErrors: Error[] = [];

  constructor(cluster: Cluster, config: ConsumerConfig = {}) {
    this.cluster = cluster;
    this.config = parseConsumerConfig(config);
    this.buffer = new FetchBuffer({
      isAssigned: (state) => this.partitions.get(state.key) === state,
      surface: (state, error) => this.fetcher.surface(state, error),
      consumed: () => this.pump(),
    });
    this.fetcher = new PartitionFetcher(this.cluster, this.config, this.buffer, {
      partitions: () => this.partitions.values(),
      isClosed: () => this.isClosed,
      notify: () => this.notify(),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Assignment and position

  /**
   * Sets the partitions to consume: a list, or `{ topic }` for all of a topic's partitions. Replaces
   * the previous assignment; partitions kept keep their position, new ones start at `initialOffset`.
   */
  async assign(assignment: readonly TopicPartition[] | { topic: string }): Promise<void> {
    this.checkOpen();
    if (this.config.groupId !== undefined) {
      throw new TypeError(`consumer of group '${this.config.groupId}': its partitions come from the group, use subscribe() (assign() is for consumers without a groupId)`);
    }
    this.mode = 'assign';
    let wanted: TopicPartition[];
    if (Array.isArray(assignment)) {
      wanted = [...(assignment as readonly TopicPartition[])];
      for (const topic of new Set(wanted.map((tp) => tp.topic))) {
        const info = await this.cluster.topicMetadata(topic);
        for (const tp of wanted) {
          if (tp.topic === topic && (!Number.isInteger(tp.partition) || tp.partition < 0 || tp.partition >= info.partitions.length)) {
            throw new StrataError('UNKNOWN_TOPIC_OR_PARTITION', `Partition ${tp.partition} of topic '${topic}'.`);
          }
        }
      }
    } else {
      const { topic } = assignment as { topic: string };
      const info = await this.cluster.topicMetadata(topic);
      wanted = info.partitions.map((p) => ({ topic, partition: p.partition }));
    }
    const keys = new Set(wanted.map((tp) => topicPartitionKey(tp.topic, tp.partition)));
    for (const key of [...this.partitions.keys()]) if (!keys.has(key)) this.partitions.delete(key);
    this.buffer.dropWhere((state) => !keys.has(state.key));
    for (const { topic, partition } of wanted) {
      const key = topicPartitionKey(topic, partition);
      if (this.partitions.has(key)) continue;
      this.partitions.set(key, newPartitionState(topic, partition, { kind: this.config.initialOffset }));
    }
    this.pump();
  }

  /** The assigned partitions (with a group: those owned now and not being given up). */
  assignment(): TopicPartition[] {
    return [...this.partitions.values()].filter((s) => !s.revoking).map(({ topic, partition }) => ({ topic, partition }));
  }

  // -------------------------------------------------------------------------------------------
  // Consumer groups

  /**
   * Joins the consumer's group (`groupId`) with these topics; the coordinator assigns partitions.
   * Resolves once the member joined; rejects with a final error (INVALID_GROUP_ID,
   * UNSUPPORTED_ASSIGNOR, …) or when the coordinator could not be reached within the client's
   * retries. Calling it again changes the subscription.
   */
  async subscribe(options: SubscribeOptions): Promise<void> {
    this.checkOpen();
    const groupId = this.config.groupId;
    if (groupId === undefined) throw new TypeError('subscribe() needs a consumer with a groupId: client.consumer({ groupId })');
    if (this.mode === 'assign') throw new TypeError('subscribe() does not go with assign(): a consumer either subscribes or assigns');
    if (typeof options !== 'object' || options === null) throw new TypeError('subscribe({ topics, fromBeginning? })');
    const unknown = Object.keys(options).filter((key) => key !== 'topics' && key !== 'fromBeginning');
    if (unknown.length > 0) throw new TypeError(`subscribe: unknown option ${unknown.map((k) => `'${k}'`).join(', ')}; known: topics, fromBeginning`);
    const topics = typeof options.topics === 'string' ? [options.topics] : options.topics;
    if (!Array.isArray(topics) || topics.length === 0 || topics.some((t) => typeof t !== 'string' || t.length === 0)) {
      throw new TypeError('subscribe: topics must be a topic name or a non-empty list of them');
    }
    const fromBeginning = options.fromBeginning ?? false;
    if (typeof fromBeginning !== 'boolean') throw new TypeError('subscribe: fromBeginning must be a boolean');
    this.mode = 'subscribe';
    const unique = [...new Set(topics)];
    if (this.group !== undefined) return this.group.subscribe(unique, fromBeginning);
    this.group = new ConsumerGroupRuntime({
      cluster: this.cluster,
      config: this.config,
      groupId,
      consumerId: this.id,
      topics: unique,
      fromBeginning,
      host: {
        partitions: this.partitions,
        buffer: this.buffer,
        isClosed: () => this.isClosed,
        pump: () => this.pump(),
        notify: () => this.notify(),
        raise: (error) => this.raise(error),
        reposition: (state, offset) => this.reposition(state, offset),
      },
    });
    return this.group.joined;
  }

  /**
   * Commits offsets to the group and resolves once they are durable. Without arguments: every
   * owned partition's finished offset (last finished message + 1). With a list: exactly those
   * offsets (the next offset to consume, as Kafka). Rejects with UNKNOWN_MEMBER_ID,
   * FENCED_MEMBER_EPOCH or PARTITION_NOT_ASSIGNED when a partition is not this member's any more.
   */
  commit(offsets?: readonly CommitOffset[]): Promise<void> {
    const group = this.group;
    if (this.config.groupId === undefined) return Promise.reject(new TypeError('commit() needs a consumer with a groupId'));
    if (group === undefined) return Promise.reject(new TypeError('commit() needs subscribe() first'));
    if (offsets === undefined) return group.commit();
    if (!Array.isArray(offsets)) return Promise.reject(new TypeError('commit([{ topic, partition, offset }])'));
    for (const o of offsets) {
      if (typeof o?.topic !== 'string' || !Number.isInteger(o.partition) || o.partition < 0 || !Number.isSafeInteger(o.offset) || o.offset < 0) {
        return Promise.reject(new RangeError(`commit: bad entry ${JSON.stringify(o)}; want { topic, partition >= 0, offset >= 0 }`));
      }
    }
    return group.commit(offsets);
  }

  /** Hands an error to the application: thrown by the iterator, or rejects `run`. */
  private raise(error: Error): void {
    if (this.isClosed) return;
    if (this.groupErrors.length < PENDING_ERRORS_MAX) this.groupErrors.push(error);
    this.notify();
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

  /**
   * The group, member id and member epoch of a group member (Kafka's `groupMetadata()`), for
   * `transaction.sendOffsets({ consumer })`: the coordinator then refuses offsets of a member that lost
   * its partitions. undefined without a group or while not a member (joining, fenced).
   */
  groupMetadata(): ConsumerGroupMetadata | undefined {
    const identity = this.group?.identity();
    if (identity === undefined || this.config.groupId === undefined) return undefined;
    return { groupId: this.config.groupId, memberId: identity.memberId, memberEpoch: identity.memberEpoch };
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
    this.buffer.dropWhere((s) => s === state);
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
    const state = this.partitions.get(topicPartitionKey(topic, partition));
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
    /** The message the application holds: finished when it asks for the next one or leaves the loop. */
    let held: Delivery | undefined;
    return {
      next: async () => {
        this.group?.finish(held);
        held = undefined;
        const next = await this.nextMessage(generation);
        if (next === undefined) return { done: true, value: undefined };
        held = next.delivery;
        return { done: false, value: next.message };
      },
      // Breaking out of a for-await leaves the consumer as it is: undelivered messages stay buffered.
      return: async () => {
        this.group?.finish(held);
        held = undefined;
        return { done: true, value: undefined };
      },
    };
  }

  /**
   * Runs handlers until `stop()` or `close()`: resolves then, or rejects with the first error (a
   * handler's, or OFFSET_OUT_OF_RANGE and other non-retriable errors). Unlike kafkajs, the promise
   * settles only when the loop ends, so do not await it before producing what it should read.
   * Without a group, a message whose handler threw counts as delivered (the position is past it):
   * there is nothing to roll back to, so seek back to replay it. With a group it is not finished:
   * the partition is sought back to it and nothing past it is committed.
   */
  async run(options: RunOptions): Promise<void> {
    if (options.eachBatch === undefined && options.eachMessage === undefined) throw new TypeError('run needs eachMessage or eachBatch');
    this.checkOpen();
    const generation = this.generation;
    for (;;) {
      if (options.eachBatch !== undefined) {
        const next = await this.nextBatch(generation);
        if (next === undefined) return;
        try {
          await options.eachBatch({ batch: next.batch });
        } catch (error) {
          this.group?.unfinish(next.delivery);
          throw error;
        }
        this.group?.finish(next.delivery);
      } else {
        const next = await this.nextMessage(generation);
        if (next === undefined) return;
        const { message } = next;
        try {
          await options.eachMessage!({ topic: message.topic, partition: message.partition, message });
        } catch (error) {
          this.group?.unfinish(next.delivery);
          throw error;
        }
        this.group?.finish(next.delivery);
      }
    }
  }

  /** Ends the running `run` and open iterators (they finish cleanly); the assignment stays. */
  stop(): Promise<void> {
    this.generation++;
    this.notify();
    return Promise.resolve();
  }

  /**
   * Stops fetching and handing out messages. With a group: commits the finished offsets
   * (`autoCommit`), calls `onRevoked(…, 'revoked')`, leaves the group; each step bounded by
   * min(requestTimeoutMs, sessionTimeoutMs). Messages still in the application's hands are not
   * waited for (finish them first: stop(), let `run` settle, then close()).
   */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    await this.stop();
    this.fetcher.close();
    await this.group?.close();
    this.buffer.clear();
    this.partitions.clear();
    this.cluster.release(this);
  }

  private async nextMessage(generation: number): Promise<{ message: ConsumerMessage; delivery: Delivery | undefined } | undefined> {
    for (;;) {
      if (this.isClosed || generation !== this.generation) return undefined;
      this.throwPendingError();
      const message = this.buffer.takeMessage();
      if (message !== undefined) {
        if (this.group === undefined) return { message, delivery: undefined };
        const state = this.partitions.get(topicPartitionKey(message.topic, message.partition))!;
        return { message, delivery: this.group.handOut(state, message.offset, message.offset + 1) };
      }
      if (!this.hasPendingError()) await this.changed();
    }
  }

  private async nextBatch(generation: number): Promise<{ batch: ConsumerBatch; delivery: Delivery | undefined } | undefined> {
    for (;;) {
      if (this.isClosed || generation !== this.generation) return undefined;
      this.throwPendingError();
      const taken = this.buffer.takeBatch(EACH_BATCH_MESSAGES_MIN);
      if (taken !== undefined) {
        const { state, highWatermark, messages } = taken;
        const batch = { topic: state.topic, partition: state.partition, highWatermark, messages };
        return { batch, delivery: this.group?.handOut(state, messages[0]!.offset, state.position!) };
      }
      if (!this.hasPendingError()) await this.changed();
    }
  }

  /** Whether `throwPendingError` would throw: a damaged batch found while looking for a chunk sets one. */
  private hasPendingError(): boolean {
    if (this.groupErrors.length > 0) return true;
    for (const state of this.partitions.values()) if (state.error !== undefined && !state.paused) return true;
    return false;
  }

  private throwPendingError(): void {
    const groupError = this.groupErrors.shift();
    if (groupError !== undefined) throw groupError;
    for (const state of this.partitions.values()) {
      if (state.error !== undefined && !state.paused) {
        const error = state.error;
        state.error = undefined;
        throw error;
      }
    }
  }

  private pump(): void {
    this.fetcher.pump();
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
}
