/**
 * One partition hosted by this broker: its log, its leadership state and its high watermark.
 *
 * The high watermark is the offset below which records are visible to consumers. Where it comes
 * from is the one thing replication will change:
 *
 * - On a single node (`replicated: false`, today) it is the log end offset of every append that has
 *   resolved, that is, that is as durable as the topic's flush policy says. A record is never served
 *   before its producer could have been acknowledged.
 * - Under replication (later) the Raft commit index supplies it through `advanceHighWatermark`.
 *
 * Invariants (asserted): the high watermark only grows and never passes the log end offset.
 * Retention and compaction never touch data at or above it (the broker passes it as their
 * `maxOffset`).
 *
 * Leadership (`leaderId`, `leaderEpoch`) is fixed on one node: this broker leads every partition at
 * epoch 0 and stamps that epoch on appended batches. A request to a partition this broker does not
 * lead fails with NOT_LEADER_OR_FOLLOWER carrying the leader it knows as a hint.
 *
 * Concurrency: one thread. Appends are issued in call order and the log assigns offsets in that
 * order; the high watermark moves when each append resolves.
 */
import { asOffset, LogError, type AppendResult, type Epoch, type Log, type Offset, type ReadResult } from '../log/index.js';
import { StrataError } from '../client/protocol/index.js';
import { invariant } from './invariant.js';
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
  /** When false, this broker moves the high watermark itself as appends resolve. */
  readonly replicated: boolean;
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
  private readonly replicated: boolean;
  private readonly notify: (partition: Partition, visibleBytes: number) => void;
  private leadershipState: PartitionLeadership;
  private hw: Offset;
  private removed = false;

  constructor(options: PartitionOptions) {
    this.topic = options.topic;
    this.index = options.index;
    this.topicId = options.topicId;
    this.log = options.log;
    this.logger = options.logger;
    this.localNodeId = options.localNodeId;
    this.replicated = options.replicated;
    this.notify = options.onHighWatermark;
    this.leadershipState = options.leadership;
    // Whatever survived recovery on a single node was acknowledged or may be; it is all visible.
    this.hw = options.replicated ? options.log.logStartOffset : options.log.logEndOffset;
  }

  get key(): string {
    return `${this.topic}-${this.index}`;
  }

  get leadership(): PartitionLeadership {
    return this.leadershipState;
  }

  get isLeader(): boolean {
    return this.leadershipState.leaderId === this.localNodeId;
  }

  get highWatermark(): Offset {
    return this.hw;
  }

  get logStartOffset(): Offset {
    return this.log.logStartOffset;
  }

  get logEndOffset(): Offset {
    return this.log.logEndOffset;
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

  /** Leadership changes come from the controller (later); on one node this is never called. */
  setLeadership(leadership: PartitionLeadership): void {
    invariant(leadership.leaderEpoch >= this.leadershipState.leaderEpoch, () => `${this.key}: leader epoch went back from ${this.leadershipState.leaderEpoch} to ${leadership.leaderEpoch}`);
    this.leadershipState = leadership;
  }

  /** Throws NOT_LEADER_OR_FOLLOWER (with the leader as a hint) unless this broker leads the partition. */
  assertLeader(): void {
    if (this.removed) throw new StrataError('UNKNOWN_TOPIC_OR_PARTITION', `${this.key} was deleted`);
    if (!this.isLeader) {
      throw new StrataError('NOT_LEADER_OR_FOLLOWER', `${this.key} is led by node ${this.leadershipState.leaderId}`, {
        leaderHint: this.leadershipState.leaderId,
      });
    }
  }

  /**
   * Appends a producer's batches (validated by the log; a bad batch rejects the whole append with a
   * LogError). Resolves when the append is as durable as the flush policy says; on a single node the
   * high watermark then covers it.
   */
  async appendAsLeader(records: Buffer): Promise<AppendResult> {
    this.assertLeader();
    const result = await this.log.append(records, { leaderEpoch: this.leadershipState.leaderEpoch });
    if (!this.replicated) this.advanceHighWatermark(asOffset(result.lastOffset + 1), records.length);
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
   * Reads whole batches from `offset` below the high watermark, at most `maxBytes` unless the first
   * batch alone is larger and `minOneBatch` is set (KIP-74), in which case it is returned whole.
   * An offset outside [logStartOffset, logEndOffset] — negative included — is OFFSET_OUT_OF_RANGE.
   */
  async read(offset: number, maxBytes: number, minOneBatch: boolean): Promise<ReadResult> {
    this.assertLeader();
    const start = this.log.logStartOffset;
    const end = this.log.logEndOffset;
    if (!Number.isSafeInteger(offset) || offset < start || offset > end) {
      throw new StrataError('OFFSET_OUT_OF_RANGE', `offset ${offset} of ${this.key}; the log holds [${start}, ${end})`);
    }
    const empty: ReadResult = { bytes: Buffer.alloc(0), nextOffset: asOffset(offset) };
    if (offset >= this.hw || (maxBytes <= 0 && !minOneBatch)) return empty;
    let result: ReadResult;
    try {
      result = await this.log.read(asOffset(offset), { maxBytes: Math.max(maxBytes, 1), maxOffset: this.hw });
    } catch (error) {
      // The disk failed a read: answered KAFKA_STORAGE_ERROR by the caller, and logged here with its cause.
      if (error instanceof LogError && error.errorName === 'KAFKA_STORAGE_ERROR') {
        this.logger.error({ ...errorFields(error), dir: this.log.dir, offset }, 'read failed: storage error');
      }
      throw error;
    }
    // The log returns a whole first batch even past maxBytes; only the KIP-74 case may keep it.
    if (!minOneBatch && result.bytes.length > maxBytes) return empty;
    return result;
  }
}
