/**
 * The consumer: it fetches from each partition's leader and hands records over through an async
 * iterator (`for await (const message of consumer)`) or `run({ eachMessage | eachBatch })`. Its
 * partitions come either from the application (`assign`, then `seek`: a plain consumer) or from a
 * consumer group (`groupId` + `subscribe`: the coordinator assigns them; `group-membership.ts` runs
 * the heartbeats and reconciliation, `offset-committer.ts` the commits).
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
 * Consumer groups (at-least-once):
 * - **Never commit ahead of the application.** A message handed out is *in hand* until the
 *   application has *finished* it: for `for await`, when the iterator's `next()` is called again (or
 *   the loop breaks or returns); for `eachMessage`/`eachBatch`, when the handler's promise resolves.
 *   A partition's committable offset is its last finished message's offset + 1, but never above the
 *   lowest offset still in hand. A message whose handler threw is not finished: the partition is
 *   sought back to it (it is handed out again if `run` is called again) and nothing past it is
 *   committed. (A `for await` body that throws ends the loop like `break`, which the iterator cannot
 *   tell apart: that message counts as finished.)
 * - **Records are handed out only while the partition is owned.** A partition enters the
 *   assignment once its committed offset is known (no committed offset: earliest with
 *   `fromBeginning`, else latest) and, with `onAssigned`, is handed out only after the callback
 *   resolved. On revoke it stops being handed out and fetched at once; the consumer waits (at most
 *   `rebalanceTimeoutMs`) for the application to finish what it holds from it, commits its finished
 *   offset (`autoCommit`), calls `onRevoked(partitions, 'revoked')`, drops it, and only then reports
 *   it given up. A lost partition (fenced, session timed out) is dropped at once, without a commit.
 * - **Per-partition offset order.** Commits of a partition are written in the order they were made
 *   on one connection (`offset-committer.ts`): an older offset never overwrites a newer one.
 * - Auto-commit (every `autoCommitIntervalMs`) commits the partitions whose committable offset moved
 *   since the last commit; `commit()` commits every committable offset now; `close()` commits,
 *   `onRevoked`, leaves the group (the partitions move at once), each step bounded by
 *   min(requestTimeoutMs, sessionTimeoutMs), so it returns even when the broker is gone.
 *
 * Like Kafka's Java consumer, a broker has at most one fetch outstanding: a partition whose buffer
 * frees up while its leader long-polls for other, idle partitions waits for that poll to end (at
 * most `maxWaitMs`). Lower `maxWaitMs` when partitions of very different rates share a leader.
 */
import { decodeBatchInto, wholeBatches, type RecordFactory } from '../log/index.js';
import type { Cluster } from './cluster.js';
import { topicPartitionKey, type TopicPartition } from './topic-partitions.js';
import { parseConsumerConfig, type ConsumerConfig, type ResolvedConsumerConfig } from './config.js';
import { GroupCoordinatorClient } from './group-coordinator-client.js';
import { GroupMembership, withDeadline, type MembershipHost } from './group-membership.js';
import { COMMIT_MAX_IN_FLIGHT } from './limits.js';
import { OffsetCommitter, type CommitOffset } from './offset-committer.js';
import { API_KEYS, ERRORS, LIST_OFFSETS_EARLIEST, LIST_OFFSETS_LATEST, StrataError, type FetchRequest, type ListOffsetsRequest } from './protocol/index.js';
import { backoffMs, isRetriable } from './retry.js';

export type { CommitOffset } from './offset-committer.js';

export type { TopicPartition };

export interface ConsumerMessage {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  /**
   * Record headers by key; when a key repeats, the last value wins. Records without headers share
   * one frozen empty object: read it, never write to it.
   */
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

export interface SubscribeOptions {
  topics: readonly string[] | string;
  /** Where a partition the group never committed starts: earliest when true, else latest. Default false. */
  fromBeginning?: boolean;
}

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
  /** Builds this partition's messages as the decoder reads records. */
  readonly toMessage: RecordFactory<ConsumerMessage>;
  highWatermark: number;
  /** An error for the application; the partition is not fetched while it is set or after it surfaced. */
  error: Error | undefined;
  failed: boolean;
  notBeforeMs: number;
  attempts: number;
  // Groups only.
  /** Being given up: neither fetched nor handed out. */
  revoking: boolean;
  /** Newly assigned, waiting for `onAssigned`: fetched but not handed out. */
  held: boolean;
  /** First offsets of the deliveries handed out and not finished yet. */
  inHand: number[];
  /** Offset of the last finished message + 1; undefined until one is finished. */
  finishedOffset: number | undefined;
  /** The committable offset last sent by auto-commit (to skip partitions that did not move). */
  commitSentOffset: number | undefined;
}

/** Messages handed out together (one, or a batch): in hand until the application finishes them. */
interface Delivery {
  readonly state: PartitionState;
  readonly epoch: number;
  readonly firstOffset: number;
  readonly nextOffset: number;
}

interface GroupRuntime {
  readonly coordinator: GroupCoordinatorClient;
  readonly membership: GroupMembership;
  readonly committer: OffsetCommitter;
  fromBeginning: boolean;
  readonly joined: Promise<void>;
}

/** Errors of a commit that say the partition is not ours any more: nothing to report. */
const NOT_OURS_CODES: ReadonlySet<number> = new Set([
  ERRORS.UNKNOWN_MEMBER_ID.code,
  ERRORS.FENCED_MEMBER_EPOCH.code,
  ERRORS.PARTITION_NOT_ASSIGNED.code,
  ERRORS.STALE_MEMBER_EPOCH.code,
]);
/** At most this many group errors wait for the application; later ones are dropped. */
const PENDING_ERRORS_MAX = 16;
let consumerCount = 0;

/**
 * One partition's share of a fetch response. It keeps the fetched batch bytes and decodes them one
 * batch at a time as the application reaches them, so a message object lives from the decoding of
 * its batch to its delivery (young, cheap garbage) and the buffer holds bytes, not objects.
 */
interface Chunk {
  readonly state: PartitionState;
  readonly epoch: number;
  readonly highWatermark: number;
  /** Whole batches as fetched (a view into the response). */
  readonly records: Buffer;
  /** Where the next batch to decode starts; `records.length` once all are decoded. */
  pos: number;
  /** The offset that was fetched: records below it (the head of the first batch) are skipped. */
  readonly fromOffset: number;
  /** Decoded messages of the batches before `pos`; `messages[next]` is the next to hand out. */
  messages: ConsumerMessage[];
  next: number;
}

/**
 * `eachBatch` gets whole record batches of one partition, decoded until it holds at least this many
 * messages or the fetched bytes end (Kafka's Java consumer caps a poll at `max.poll.records`, 500).
 * A fetch's worth at once (about 10,000 records of 100 B) keeps the whole array and its objects alive
 * across young-generation collections: `perf consume` of 3,000,000 such records measured 470 to 540 ms
 * of scavenges that way, 280 to 350 ms with batches of this size.
 */
const EACH_BATCH_MESSAGES_MIN = 1000;

/** The `headers` of every message whose record has none. */
const NO_HEADERS: { readonly [key: string]: Buffer | null } = Object.freeze({});

function messageFactory(topic: string, partition: number): RecordFactory<ConsumerMessage> {
  return (offset, timestamp, key, value, recordHeaders) => {
    let headers = NO_HEADERS as { [key: string]: Buffer | null };
    if (recordHeaders.length > 0) {
      headers = {};
      for (const h of recordHeaders) headers[h.key] = h.value;
    }
    return { topic, partition, offset, timestamp, key, value, headers };
  };
}


export class Consumer implements AsyncIterable<ConsumerMessage> {
  readonly config: ResolvedConsumerConfig;
  private readonly cluster: Cluster;
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
  private readonly id = ++consumerCount;
  private mode: 'none' | 'assign' | 'subscribe' = 'none';
  private group: GroupRuntime | undefined;
  /** Errors of the group (final membership errors, callbacks that threw) for the application. */
  private readonly groupErrors: Error[] = [];
  private finishWaiters: Array<() => void> = [];
  private autoCommitTimer: NodeJS.Timeout | undefined;

  constructor(cluster: Cluster, config: ConsumerConfig = {}) {
    this.cluster = cluster;
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
    this.buffer = this.buffer.filter((chunk) => keys.has(chunk.state.key));
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
    if (this.group !== undefined) {
      this.group.fromBeginning = fromBeginning;
      this.group.membership.subscribe([...new Set(topics)]);
      return this.group.joined;
    }
    const coordinator = new GroupCoordinatorClient(this.cluster, groupId);
    const membership = new GroupMembership({
      coordinator,
      pool: this.cluster.pool,
      lane: `heartbeat-${this.id}`,
      topics: [...new Set(topics)],
      sessionTimeoutMs: this.config.sessionTimeoutMs,
      heartbeatIntervalMs: this.config.heartbeatIntervalMs,
      assignor: this.config.assignor ?? '',
      requestTimeoutMs: this.cluster.config.requestTimeoutMs,
      retry: this.cluster.config.retry,
      host: this.membershipHost(),
    });
    const committer = new OffsetCommitter({
      coordinator,
      member: () => membership.identity(),
      nextHeartbeat: () => membership.nextHeartbeat(),
      retry: this.cluster.config.retry,
      maxInFlight: COMMIT_MAX_IN_FLIGHT,
    });
    const joined = membership.start();
    this.group = { coordinator, membership, committer, fromBeginning, joined };
    if (this.config.autoCommit) this.scheduleAutoCommit();
    return joined;
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
    if (offsets === undefined) return this.commitFinished([...this.partitions.values()], false);
    if (!Array.isArray(offsets)) return Promise.reject(new TypeError('commit([{ topic, partition, offset }])'));
    for (const o of offsets) {
      if (typeof o?.topic !== 'string' || !Number.isInteger(o.partition) || o.partition < 0 || !Number.isSafeInteger(o.offset) || o.offset < 0) {
        return Promise.reject(new RangeError(`commit: bad entry ${JSON.stringify(o)}; want { topic, partition >= 0, offset >= 0 }`));
      }
    }
    return group.committer.commit(offsets);
  }

  /** Commits the committable offsets of `states` (only those that moved since the last auto-commit, with `onlyMoved`). */
  private commitFinished(states: readonly PartitionState[], onlyMoved: boolean): Promise<void> {
    const group = this.group;
    if (group === undefined) return Promise.resolve();
    const offsets: CommitOffset[] = [];
    const sent: Array<[PartitionState, number]> = [];
    for (const state of states) {
      const offset = committableOffset(state);
      if (offset === undefined || (onlyMoved && offset === state.commitSentOffset)) continue;
      offsets.push({ topic: state.topic, partition: state.partition, offset });
      sent.push([state, offset]);
      state.commitSentOffset = offset;
    }
    const done = group.committer.commit(offsets);
    done.catch(() => {
      // Not durable: the next auto-commit sends it again.
      for (const [state, offset] of sent) if (state.commitSentOffset === offset) state.commitSentOffset = undefined;
    });
    return done;
  }

  private scheduleAutoCommit(): void {
    this.autoCommitTimer = setTimeout(() => {
      this.autoCommitTimer = undefined;
      if (this.isClosed || this.group === undefined) return;
      if (this.group.membership.identity() !== undefined) {
        this.commitFinished([...this.partitions.values()], true).catch((error: unknown) => {
          // Retriable failures are retried at the next interval; a partition that is not ours is
          // the membership's business. Anything else is the application's.
          if (!isRetriable(error) && !(error instanceof StrataError && NOT_OURS_CODES.has(error.code)) && !this.isClosed) this.raise(asError(error));
        });
      }
      this.scheduleAutoCommit();
    }, this.config.autoCommitIntervalMs);
  }

  /** Hands an error to the application: thrown by the iterator, or rejects `run`. */
  private raise(error: Error): void {
    if (this.isClosed) return;
    if (this.groupErrors.length < PENDING_ERRORS_MAX) this.groupErrors.push(error);
    this.notify();
  }

  /** Runs an application callback; what it throws goes to the application through `raise`. */
  private async callback(run: () => void | Promise<void>, timeoutMs?: number): Promise<void> {
    try {
      const result = run();
      if (result !== undefined) await (timeoutMs === undefined ? result : withDeadline(Promise.resolve(result), timeoutMs));
    } catch (error) {
      this.raise(asError(error));
    }
  }

  private membershipHost(): MembershipHost {
    return {
      owned: () => [...this.partitions.values()].map(({ topic, partition }) => ({ topic, partition })),
      assign: (partitions, stillAssigned) => this.takePartitions(partitions, stillAssigned),
      revoke: (partitions) => this.givePartitionsUp(partitions),
      lose: (partitions) => this.losePartitions(partitions),
      fail: (error) => this.raise(error),
    };
  }

  /** Newly assigned partitions: positioned at the group's committed offsets, then `onAssigned`. */
  private async takePartitions(partitions: TopicPartition[], stillAssigned: (tp: TopicPartition) => boolean): Promise<void> {
    const group = this.group!;
    const committed = await group.coordinator.fetchOffsets(partitions, () => this.isClosed);
    if (this.isClosed) return;
    const added: PartitionState[] = [];
    for (const tp of partitions) {
      const key = topicPartitionKey(tp.topic, tp.partition);
      if (!stillAssigned(tp) || this.partitions.has(key)) continue;
      const offset = committed.get(key) ?? -1;
      const state = newPartitionState(tp.topic, tp.partition, offset >= 0 ? offset : { kind: group.fromBeginning ? 'earliest' : 'latest' });
      state.held = this.config.onAssigned !== undefined;
      this.partitions.set(key, state);
      added.push(state);
    }
    this.pump();
    const onAssigned = this.config.onAssigned;
    if (added.length === 0 || onAssigned === undefined) return;
    await this.callback(() => onAssigned(added.map(({ topic, partition }) => ({ topic, partition }))));
    for (const state of added) state.held = false;
    this.notify();
  }

  /** Revoked partitions: stop, let the application finish, commit, `onRevoked`, drop. */
  private async givePartitionsUp(partitions: TopicPartition[]): Promise<void> {
    let states = this.statesOf(partitions);
    for (const state of states) state.revoking = true;
    this.buffer = this.buffer.filter((chunk) => !chunk.state.revoking);
    await this.waitFinished(states, this.config.rebalanceTimeoutMs);
    // Lost meanwhile (fenced, session timed out): already dropped and reported as lost.
    states = states.filter((state) => this.partitions.get(state.key) === state);
    if (states.length === 0) return;
    const boundMs = Math.min(this.cluster.config.requestTimeoutMs, this.config.sessionTimeoutMs);
    if (this.config.autoCommit) await withDeadline(this.commitFinished(states, false), boundMs).catch(() => undefined);
    const onRevoked = this.config.onRevoked;
    if (onRevoked !== undefined && states.length > 0) {
      await this.callback(() => onRevoked(states.map(({ topic, partition }) => ({ topic, partition })), 'revoked'), this.config.rebalanceTimeoutMs);
    }
    for (const state of states) this.drop(state);
  }

  /** Lost partitions: dropped at once, nothing committed, then `onRevoked(…, 'lost')`. */
  private async losePartitions(partitions: TopicPartition[]): Promise<void> {
    const states = this.statesOf(partitions);
    for (const state of states) this.drop(state);
    const onRevoked = this.config.onRevoked;
    if (onRevoked !== undefined && states.length > 0) {
      await this.callback(() => onRevoked(states.map(({ topic, partition }) => ({ topic, partition })), 'lost'), this.config.rebalanceTimeoutMs);
    }
  }

  private statesOf(partitions: readonly TopicPartition[]): PartitionState[] {
    return partitions.flatMap((tp) => {
      const state = this.partitions.get(topicPartitionKey(tp.topic, tp.partition));
      return state === undefined ? [] : [state];
    });
  }

  private drop(state: PartitionState): void {
    if (this.partitions.get(state.key) === state) this.partitions.delete(state.key);
    state.epoch++;
    state.revoking = true;
    this.buffer = this.buffer.filter((chunk) => chunk.state !== state);
    this.wakeFinishWaiters();
  }

  /** Until nothing of `states` is in the application's hands (or they were dropped), at most `timeoutMs`. */
  private async waitFinished(states: readonly PartitionState[], timeoutMs: number): Promise<void> {
    const deadlineMs = Date.now() + timeoutMs;
    for (;;) {
      const busy = states.some((s) => s.inHand.length > 0 && this.partitions.get(s.key) === s);
      const leftMs = deadlineMs - Date.now();
      if (!busy || leftMs <= 0 || this.isClosed) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, leftMs);
        this.finishWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private wakeFinishWaiters(): void {
    for (const wake of this.finishWaiters.splice(0)) wake();
  }

  /** The application finished a delivery: its partition's finished offset moves past it. */
  private finish(delivery: Delivery | undefined): void {
    if (delivery === undefined) return;
    const state = delivery.state;
    const i = state.inHand.indexOf(delivery.firstOffset);
    if (i >= 0) state.inHand.splice(i, 1);
    if (this.partitions.get(state.key) === state && state.epoch === delivery.epoch) {
      state.finishedOffset = Math.max(state.finishedOffset ?? 0, delivery.nextOffset);
    }
    this.wakeFinishWaiters();
  }

  /**
   * A handler threw: the delivery is not finished. Nothing from it on counts as finished, and the
   * partition is sought back to it so that it is handed out again.
   */
  private unfinish(delivery: Delivery | undefined): void {
    if (delivery === undefined) return;
    const state = delivery.state;
    const i = state.inHand.indexOf(delivery.firstOffset);
    if (i >= 0) state.inHand.splice(i, 1);
    if (this.partitions.get(state.key) === state && state.epoch === delivery.epoch && !this.isClosed) {
      if (state.finishedOffset !== undefined) state.finishedOffset = Math.min(state.finishedOffset, delivery.firstOffset);
      this.reposition(state, delivery.firstOffset);
    }
    this.wakeFinishWaiters();
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
        this.finish(held);
        held = undefined;
        const next = await this.nextMessage(generation);
        if (next === undefined) return { done: true, value: undefined };
        held = next.delivery;
        return { done: false, value: next.message };
      },
      // Breaking out of a for-await leaves the consumer as it is: undelivered messages stay buffered.
      return: async () => {
        this.finish(held);
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
          this.unfinish(next.delivery);
          throw error;
        }
        this.finish(next.delivery);
      } else {
        const next = await this.nextMessage(generation);
        if (next === undefined) return;
        const { message } = next;
        try {
          await options.eachMessage!({ topic: message.topic, partition: message.partition, message });
        } catch (error) {
          this.unfinish(next.delivery);
          throw error;
        }
        this.finish(next.delivery);
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
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.autoCommitTimer !== undefined) clearTimeout(this.autoCommitTimer);
    const group = this.group;
    if (group !== undefined) {
      const boundMs = Math.min(this.cluster.config.requestTimeoutMs, this.config.sessionTimeoutMs);
      const states = [...this.partitions.values()].filter((s) => !s.revoking);
      for (const state of states) state.revoking = true;
      if (group.membership.identity() !== undefined) {
        if (this.config.autoCommit) await withDeadline(this.commitFinished(states, false), boundMs).catch(() => undefined);
        const onRevoked = this.config.onRevoked;
        if (onRevoked !== undefined && states.length > 0) {
          await withDeadline(Promise.resolve().then(() => onRevoked(states.map(({ topic, partition }) => ({ topic, partition })), 'revoked')), boundMs)
            .catch(() => undefined);
        }
      }
      await group.membership.leave(boundMs);
      group.committer.close();
    }
    this.buffer = [];
    this.partitions.clear();
    this.wakeFinishWaiters();
    this.cluster.release(this);
  }

  private async nextMessage(generation: number): Promise<{ message: ConsumerMessage; delivery: Delivery | undefined } | undefined> {
    for (;;) {
      if (this.isClosed || generation !== this.generation) return undefined;
      this.throwPendingError();
      const chunk = this.deliverableChunk();
      if (chunk !== undefined) {
        const state = chunk.state;
        const message = chunk.messages[chunk.next++]!;
        state.position = message.offset + 1;
        if (chunk.next === chunk.messages.length && chunk.pos === chunk.records.length) this.consumed(chunk);
        return { message, delivery: this.handOut(state, message.offset, message.offset + 1) };
      }
      if (!this.hasPendingError()) await this.changed();
    }
  }

  private async nextBatch(generation: number): Promise<{ batch: ConsumerBatch; delivery: Delivery | undefined } | undefined> {
    for (;;) {
      if (this.isClosed || generation !== this.generation) return undefined;
      this.throwPendingError();
      const chunk = this.deliverableChunk();
      if (chunk !== undefined) {
        const state = chunk.state;
        // Whole record batches up to EACH_BATCH_MESSAGES_MIN: a decoding error after the first one
        // is surfaced once these messages are handed out.
        const messages = chunk.next === 0 ? chunk.messages : chunk.messages.slice(chunk.next);
        while (messages.length < EACH_BATCH_MESSAGES_MIN && chunk.pos < chunk.records.length && this.decodeNext(chunk, messages)) {
          // decodeNext appended the next batch's messages
        }
        chunk.messages = messages;
        chunk.next = messages.length;
        const nextOffset = messages[messages.length - 1]!.offset + 1;
        state.position = nextOffset;
        if (chunk.pos === chunk.records.length) this.consumed(chunk);
        const batch = { topic: state.topic, partition: state.partition, highWatermark: chunk.highWatermark, messages };
        return { batch, delivery: this.handOut(state, messages[0]!.offset, nextOffset) };
      }
      if (!this.hasPendingError()) await this.changed();
    }
  }

  /** With a group, records what the application now holds (no bookkeeping without one). */
  private handOut(state: PartitionState, firstOffset: number, nextOffset: number): Delivery | undefined {
    if (this.group === undefined) return undefined;
    state.inHand.push(firstOffset);
    return { state, epoch: state.epoch, firstOffset, nextOffset };
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

  /**
   * The oldest buffered chunk of a partition that is not paused, with a decoded message to hand
   * out; stale chunks, and chunks that turn out to hold no message at or past the fetched offset,
   * are dropped on the way.
   */
  private deliverableChunk(): Chunk | undefined {
    for (let i = 0; i < this.buffer.length; i++) {
      const chunk = this.buffer[i]!;
      const state = chunk.state;
      if (chunk.epoch !== state.epoch || this.partitions.get(state.key) !== state) {
        this.buffer.splice(i--, 1);
        continue;
      }
      if (state.paused || state.revoking || state.held) continue;
      while (chunk.next === chunk.messages.length && chunk.pos < chunk.records.length) {
        chunk.messages = [];
        chunk.next = 0;
        if (!this.decodeNext(chunk, chunk.messages)) break;
      }
      if (chunk.next < chunk.messages.length) return chunk;
      // Nothing left, or a damaged batch (which dropped the partition's later chunks): drop it.
      this.consumed(chunk);
      i--;
    }
    return undefined;
  }

  /**
   * Decodes the chunk's next batch into `out`. A damaged batch stops the partition where it is:
   * its buffered chunks are dropped and the error waits for the application, which gets the
   * messages before it first, then the error (offset order holds: nothing after it is handed out).
   */
  private decodeNext(chunk: Chunk, out: ConsumerMessage[]): boolean {
    const records = chunk.records;
    const pos = chunk.pos;
    const before = out.length;
    try {
      const header = decodeBatchInto(records, pos, chunk.state.toMessage, out, chunk.fromOffset);
      chunk.pos = pos + header.sizeBytes;
      return true;
    } catch (error) {
      // Nothing of a damaged batch is handed out, not even the records before the damage.
      out.length = before;
      chunk.pos = records.length;
      const state = chunk.state;
      this.buffer = this.buffer.filter((c) => c.state !== state || c === chunk);
      state.chunks = 1;
      this.surface(state, asError(error));
      return false;
    }
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
    const metadata = this.cluster.metadata;
    const toReset = new Map<number, PartitionState[]>();
    const toFetch = new Map<number, PartitionState[]>();
    let wakeAtMs = Infinity;
    for (const state of this.partitions.values()) {
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

  private refreshTopic(topic: string): void {
    if (this.refreshingTopics.has(topic)) return;
    this.refreshingTopics.add(topic);
    this.cluster.metadata.invalidate(topic);
    this.cluster
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
        }, this.cluster.metadata.topic(topic) === undefined ? this.cluster.config.retry.initialRetryTimeMs : 0);
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
    const request: ListOffsetsRequest = { topics: [] };
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
      const connection = await this.cluster.connectionToNode(nodeId);
      const response = await connection.request(API_KEYS.fetch, request, {
        timeoutMs: this.cluster.config.requestTimeoutMs + this.config.maxWaitMs,
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

  /**
   * Buffers a partition's fetched batches as a chunk, undecoded (`deliverableChunk` decodes them
   * batch by batch); the next fetch starts after the last whole batch. Returns whether it holds a batch.
   */
  private accept(state: PartitionState, fetchOffset: number, highWatermark: number, records: Buffer): boolean {
    const { bytes, nextOffset } = wholeBatches(records);
    if (nextOffset > fetchOffset) state.fetchOffset = nextOffset;
    if (bytes === 0) return false;
    const chunk: Chunk = {
      state, epoch: state.epoch, highWatermark,
      records: bytes === records.length ? records : records.subarray(0, bytes),
      pos: 0, fromOffset: fetchOffset, messages: [], next: 0,
    };
    this.buffer.push(chunk);
    state.chunks++;
    return true;
  }
}

function newPartitionState(topic: string, partition: number, start: number | Reset): PartitionState {
  const positioned = typeof start === 'number';
  return {
    topic, partition, key: topicPartitionKey(topic, partition),
    position: positioned ? start : undefined,
    fetchOffset: positioned ? start : undefined,
    reset: positioned ? undefined : start,
    epoch: 0, inFlight: false, paused: false, chunks: 0, toMessage: messageFactory(topic, partition), highWatermark: -1,
    error: undefined, failed: false, notBeforeMs: 0, attempts: 0,
    revoking: false, held: false, inHand: [], finishedOffset: undefined, commitSentOffset: undefined,
  };
}

/** Where the group may resume a partition: past its finished messages, never past one still in hand. */
function committableOffset(state: PartitionState): number | undefined {
  let offset = state.finishedOffset;
  if (offset === undefined) return undefined;
  for (const inHand of state.inHand) if (inHand < offset) offset = inHand;
  return offset;
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
