/**
 * One partition hosted by this broker: its log, its leadership state and its high watermark.
 *
 * The high watermark is the offset below which records are visible to consumers. Where it comes
 * from depends on the broker:
 *
 * - On a standalone broker (no `replica`) it is the log end offset of every append that has
 *   resolved, that is, that is as durable as the topic's flush policy says. A record is never served
 *   before its producer could have been acknowledged. This broker leads every partition at epoch 0.
 * - In a cluster the partition is a Raft group (`replica`, `cluster/raft-group.ts`): its leader is
 *   the Raft leader, the leader epoch is the Raft term, and the Raft commit index supplies the high
 *   watermark through `advanceHighWatermark`.
 *
 * The last stable offset (Kafka's LSO) is min(high watermark, the log's first unstable offset: the
 * first offset of its oldest open transaction). A read_committed consumer reads below it; a
 * read_uncommitted one below the high watermark.
 *
 * Invariants (asserted): the high watermark only grows and never passes the log end offset.
 * Retention and compaction never touch data at or above it (the broker passes it as their
 * `maxOffset`). A request to a partition this broker does not lead fails with
 * NOT_LEADER_OR_FOLLOWER carrying the leader it knows as a hint.
 *
 * Concurrency: one thread. Appends are issued in call order and the log assigns offsets in that
 * order; the high watermark moves when each append resolves.
 */
import { asOffset, LogError, type AppendOrigin, type AppendResult, type Epoch, type Log, type Offset, type ReadResult } from '../log/index.js';
import { StrataError } from '../client/protocol/index.js';
import { invariant } from './invariant.js';
import type { RaftGroup } from './cluster/raft-group.js';
import { errorFields, type Logger } from './logger.js';

export interface PartitionLeadership {
  readonly leaderId: number;
  readonly leaderEpoch: Epoch;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

export interface PartitionOptions {
  readonly topic: string;
  readonly index: number;
  readonly topicId: string;
  readonly log: Log;
  readonly localNodeId: number;
  readonly leadership: PartitionLeadership;
  /** In a cluster, the partition's Raft group; absent, this broker moves the high watermark itself as appends resolve. */
  readonly replica?: RaftGroup;
  readonly logger: Logger;
  /** Told when the high watermark moves, with the bytes that became visible (an estimate under replication). */
  readonly onHighWatermark: (partition: Partition, visibleBytes: number) => void;
}

export class Partition {
  readonly topic: string;
  readonly index: number;
  readonly topicId: string;
  readonly log: Log;
  readonly logger: Logger;
  private readonly localNodeId: number;
  readonly replica: RaftGroup | undefined;
  private readonly notify: (partition: Partition, visibleBytes: number) => void;
  private leadershipState: PartitionLeadership;
  private hw: Offset;
  private removed = false;
  /** Offsets and bytes `read` has served to consumers since the partition opened (the dashboard's fetch rate). */
  private readonly served = { offsets: 0, bytes: 0 };

  constructor(options: PartitionOptions) {
    this.topic = options.topic;
    this.index = options.index;
    this.topicId = options.topicId;
    this.log = options.log;
    this.logger = options.logger;
    this.localNodeId = options.localNodeId;
    this.replica = options.replica;
    this.notify = options.onHighWatermark;
    this.leadershipState = options.leadership;
    // Whatever survived recovery on a single node was acknowledged or may be; it is all visible.
    // A replica knows what is committed from its Raft state.
    this.hw = options.replica === undefined ? options.log.logEndOffset : options.replica.highWatermark;
  }

  get key(): string {
    return `${this.topic}-${this.index}`;
  }

  get leadership(): PartitionLeadership {
    const replica = this.replica;
    if (replica === undefined) return this.leadershipState;
    return { leaderId: replica.leaderId ?? -1, leaderEpoch: replica.term, replicas: replica.voters, isr: replica.inSyncReplicas() };
  }

  get isLeader(): boolean {
    return this.replica === undefined ? this.leadershipState.leaderId === this.localNodeId : this.replica.isLeader;
  }

  get highWatermark(): Offset {
    return this.hw;
  }

  get logStartOffset(): Offset {
    return this.log.logStartOffset;
  }

  /** min(high watermark, first offset of the oldest open transaction): what read_committed consumers may read. */
  get lastStableOffset(): Offset {
    return asOffset(Math.min(this.hw, this.log.firstUnstableOffset ?? Number.POSITIVE_INFINITY));
  }

  get logEndOffset(): Offset {
    return this.log.logEndOffset;
  }

  /** Offsets and bytes served to consumers so far; only grows. */
  get servedToConsumers(): { readonly offsets: number; readonly bytes: number } {
    return this.served;
  }

  /**
   * True once a storage failure poisoned the log (an I/O error while appending, flushing, sealing or
   * swapping in a compacted segment): produce answers KAFKA_STORAGE_ERROR until the broker restarts,
   * when recovery repairs the log. Reads of what is on disk go on.
   */
  get isFailed(): boolean {
    return this.log.storageFailure !== undefined;
  }

  /** True once the topic was deleted; the log is closing or closed. */
  get isRemoved(): boolean {
    return this.removed;
  }

  markRemoved(): void {
    this.removed = true;
  }

  /** Standalone leadership as set from outside (tests); a replica's leadership is its Raft group's. */
  setLeadership(leadership: PartitionLeadership): void {
    invariant(this.replica === undefined, () => `${this.key}: a replica's leadership comes from Raft`);
    invariant(leadership.leaderEpoch >= this.leadershipState.leaderEpoch, () => `${this.key}: leader epoch went back from ${this.leadershipState.leaderEpoch} to ${leadership.leaderEpoch}`);
    this.leadershipState = leadership;
  }

  /** Throws NOT_LEADER_OR_FOLLOWER (with the leader as a hint) unless this broker leads the partition. */
  assertLeader(): void {
    if (this.removed) throw new StrataError('UNKNOWN_TOPIC_OR_PARTITION', `${this.key} was deleted`);
    if (!this.isLeader) {
      const leader = this.leadership.leaderId;
      throw new StrataError('NOT_LEADER_OR_FOLLOWER', leader < 0 ? `${this.key} is electing a leader` : `${this.key} is led by node ${leader}`, {
        leaderHint: leader,
      });
    }
  }

  /**
   * Appends a producer's batches (validated by the log; a bad batch rejects the whole append with a
   * LogError). Standalone, it resolves when the append is as durable as the flush policy says and
   * the high watermark then covers it (`acks` 1 and -1 mean the same). In a cluster, acks -1 resolves
   * once a majority of replicas holds the batches, acks 1 once this leader does; a wait longer than
   * `timeoutMs` is REQUEST_TIMED_OUT. `origin: 'coordinator'` is the transaction coordinator
   * writing one transaction marker (`encodeTxnMarkerBatch`); a client's append never holds one.
   */
  async appendAsLeader(records: Buffer, acks: 1 | -1 = -1, timeoutMs = 0, origin: AppendOrigin = 'client'): Promise<AppendResult> {
    this.assertLeader();
    if (this.replica !== undefined) return this.replica.append(records, acks, timeoutMs, origin);
    const result = await this.log.append(records, { leaderEpoch: this.leadershipState.leaderEpoch, origin });
    this.advanceHighWatermark(asOffset(result.lastOffset + 1), records.length);
    return result;
  }

  /**
   * Moves the high watermark up to `offset` (never down: a lower value is ignored, as appends may
   * resolve in any order relative to one another's callbacks). Wakes waiting fetches.
   */
  advanceHighWatermark(offset: Offset, visibleBytes = 1): void {
    invariant(offset <= this.log.logEndOffset, () => `${this.key}: high watermark ${offset} above the log end ${this.log.logEndOffset}`);
    if (offset <= this.hw) return;
    this.hw = offset;
    this.notify(this, visibleBytes);
  }

  /**
   * Reads whole batches from `offset` below the high watermark (`read_uncommitted`) or below the
   * last stable offset (`read_committed`), at most `maxBytes` unless the first batch alone is larger
   * and `minOneBatch` is set (KIP-74), in which case it is returned whole. An offset outside
   * [logStartOffset, logEndOffset] — negative included — is OFFSET_OUT_OF_RANGE. A read_committed
   * caller asks `log.abortedTransactions(offset, lastStableOffset)` for the records to drop.
   */
  async read(
    offset: number,
    maxBytes: number,
    minOneBatch: boolean,
    isolation: 'read_uncommitted' | 'read_committed' = 'read_uncommitted',
  ): Promise<ReadResult> {
    this.assertLeader();
    const start = this.log.logStartOffset;
    const end = this.log.logEndOffset;
    if (!Number.isSafeInteger(offset) || offset < start || offset > end) {
      throw new StrataError('OFFSET_OUT_OF_RANGE', `offset ${offset} of ${this.key}; the log holds [${start}, ${end})`);
    }
    const empty: ReadResult = { bytes: Buffer.alloc(0), nextOffset: asOffset(offset) };
    const bound = isolation === 'read_committed' ? this.lastStableOffset : this.hw;
    if (offset >= bound || (maxBytes <= 0 && !minOneBatch)) return empty;
    let result: ReadResult;
    try {
      result = await this.log.read(asOffset(offset), { maxBytes: Math.max(maxBytes, 1), maxOffset: bound });
    } catch (error) {
      // The disk failed a read: answered KAFKA_STORAGE_ERROR by the caller, and logged here with its cause.
      if (error instanceof LogError && error.errorName === 'KAFKA_STORAGE_ERROR') {
        this.logger.error({ ...errorFields(error), dir: this.log.dir, offset }, 'read failed: storage error');
      }
      throw error;
    }
    // The log returns a whole first batch even past maxBytes; only the KIP-74 case may keep it.
    if (!minOneBatch && result.bytes.length > maxBytes) return empty;
    this.served.offsets += result.nextOffset - offset;
    this.served.bytes += result.bytes.length;
    return result;
  }
}
