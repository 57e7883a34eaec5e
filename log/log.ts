/**
 * A partition log: an ordered list of segments in one directory, the last of them active.
 *
 *   <dir>/00000000000000000000.log, .index, .timeindex   oldest segment
 *   <dir>/00000000000000081234.log, .index, .timeindex   ...
 *   <dir>/<base>.txnindex                                aborted transactions with their marker in that segment (transaction-index.ts)
 *   <dir>/log.checkpoint                                 recovery point + log start offset
 *   <dir>/leader-epoch-checkpoint                        each leader epoch's first offset (leader-epoch-cache.ts)
 *   <dir>/00000000000000081234.snapshot                  producer state below that offset (producer-state-files.ts)
 *   <dir>/.clean-shutdown                                present only between a clean close and the next open
 *
 * Invariants (asserted): segments are sorted by base offset and each starts at or above the previous
 * segment's next offset; logStartOffset <= logEndOffset; the log end offset and the flushed offset only
 * grow, except through `truncateTo` (a replica dropping a divergent tail); batch epochs never
 * decrease along the log; every batch on disk passed `validateRecordBatch` on its way in and passes
 * `validateBatch` (header, CRC, which covers the records) again when recovery reads it back.
 *
 * Append: one path for a leader (`append`: assigns offsets, stamps its epoch) and a follower
 * (`appendAsFollower`: offsets given, which must continue the log exactly); a Raft leader validates
 * and stamps with `prepareLeaderAppend` (the same plan and stamp, no write) and every replica then
 * writes with `appendAsFollower`. The steps: validate every batch,
 * records included, without building record objects (`record-validator.ts`); plan offsets; refuse an
 * epoch below the last one appended; stamp base offset and leader epoch in place (the CRC does not
 * cover them); write to the active segment with a synchronous page-cache write, rolling to a new
 * segment first when the active one is full or old.
 * A leader also checks each producer batch's sequence against the producer state
 * (`producer-state.ts`) in the same validate step: a duplicate of one of the producer's last five
 * batches is answered with that batch's offsets and not written; a gap or an old epoch is refused.
 * Every write, leader's or follower's, updates the producer state from the written headers; a
 * truncation rebuilds it from a snapshot and the surviving headers.
 * Transactions: a leader's append has an origin, `client` (a producer: never a control batch) or
 * `coordinator` (exactly one batch: a transaction coordinator's marker, or the group coordinator's
 * transactional batch of offsets for TxnOffsetCommit, unsequenced; either's epoch must not
 * be below its producer's). The producer state tracks each producer's open transaction (a
 * transactional batch opens it, a marker ends it; a non-transactional batch meanwhile is
 * INVALID_TXN_STATE); an ABORT marker's transaction goes into its segment's `.txnindex`. The first
 * unstable offset (the oldest open transaction's first offset) bounds compaction and retention, and
 * the broker's last stable offset.
 * Offsets are assigned in call order, synchronously. The returned promise resolves when the batch is as
 * durable as the flush policy promises: under `always`, after an fsync that covers it; one fsync covers
 * every append that arrived while the previous fsync ran (group commit).
 *
 * Recovery: a clean shutdown marker means every index is trusted (after a sanity check) and only the
 * tail after the last index entry is scanned. Otherwise segments wholly below the recovery point are
 * trusted the same way, and the rest are rescanned batch by batch; the first bad batch ends the log
 * there, truncating its file and deleting every later segment.
 *
 * The log is also the Raft log: a batch's leader epoch is its term. The leader-epoch cache answers
 * `endOffsetFor(epoch)`; `truncateTo` and `resetTo` are durable when they resolve; `onFlushed` tells a
 * follower what it may acknowledge. The clock and the interval flush timer are injected (`LogOptions`);
 * file I/O is not (see README).
 *
 * Concurrency: one thread; the only awaits are fsyncs and bulk reads, and segments count their readers
 * so retention and truncation never close a file under a read.
 *
 * Failures: a storage failure (an I/O error appending, flushing, sealing, deleting for retention or
 * swapping in a compacted segment) poisons the log: appends fail with it from then on, `onFailure`
 * hears of it once, reads go on. A failed compaction makes the log uncleanable until it is reopened.
 * No background task (interval flush, seals, compaction's bookkeeping) leaves a rejection unhandled.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BatchField, batchSizeAt, CONTROL_FLAG, lastOffsetOf, readInt64, stampBatch } from './batch-header.js';
import { isTxnMarkerBatch, readTxnMarker } from './control-batch.js';
import { parseLogConfig, type LogConfig } from './config.js';
import { fsyncDirectory, fsyncDirectoryAsync } from './directory.js';
import { LogError } from './errors.js';
import { invariant } from './invariant.js';
import { LOG_OVERHEAD_BYTES } from './limits.js';
import {
  LeaderEpochCache,
  loadLeaderEpochCache,
  type EpochEndOffset,
  type EpochEntry,
  type LeaderEpochCacheSource,
} from './leader-epoch-cache.js';
import { CLEANED_SUFFIX, compactLog, emptyCompactionResult, SegmentUncleanable, SWAP_SUFFIX, type CompactionResult } from './log-cleaner.js';
import { readLogCheckpoint, writeLogCheckpoint } from './log-checkpoint.js';
import { DescriptorPool } from './descriptor-pool.js';
import {
  ProducerStateManager,
  type CompletedTxn,
  type OngoingTxn,
  type ProducerBatch,
  type ProducerBatchMetadata,
  type ProducerEntry,
  type ProducerWrite,
} from './producer-state.js';
import {
  deleteAllProducerSnapshots,
  deleteProducerSnapshotsAbove,
  loadProducerState,
  producerBatchAt,
  txnMarkerAt,
  writeProducerSnapshot,
  type ReplayFrom,
} from './producer-state-files.js';
import { decodeBatch } from './record-batch.js';
import { validateRecordBatch, type ValidationRules } from './record-validator.js';
import type { LogEvents } from './log-events.js';
import { segmentsToDelete, type RetentionPolicy, type RetentionReason } from './retention.js';
import { LOG_SUFFIX, OFFSET_INDEX_SUFFIX, Segment, segmentFileName, TIME_INDEX_SUFFIX } from './segment.js';
import type { AbortedTxn } from './transaction-index.js';
import { asEpoch, asOffset, NO_EPOCH, type Epoch, type Offset, type Position } from './units.js';

export const CLEAN_SHUTDOWN_FILE = '.clean-shutdown';

export interface LogOptions {
  /**
   * Told once, when a storage failure poisons the log (an I/O error in an append, a flush, a
   * background seal, retention or a compaction's swap): from then on appends fail with that error.
   * Called synchronously; it must not throw.
   */
  onFailure?: (error: LogError) => void;
  /** Where sealed segments' descriptors are kept; `DescriptorPool.shared` (one per process) by default. */
  descriptorPool?: DescriptorPool;
  /** Milliseconds since the epoch; injected so tests and simulations control time. */
  clock?: () => number;
  /** The periodic timer of the `interval` flush policy; injected so a simulation can drive it. */
  timers?: LogTimers;
  /** Told of segment rolls and fsync times (`log-events.ts`), for the owner's logs and metrics. */
  events?: LogEvents;
  /** Milliseconds from any fixed origin, for durations (fsync time); `performance.now` by default. */
  elapsedClock?: () => number;
}

export interface LogTimers {
  /** Calls `callback` every `ms` milliseconds until the returned function is called. */
  every(ms: number, callback: () => void): () => void;
}

/** Node's timers; unref'd, so an open log never keeps the process alive. */
const NODE_TIMERS: LogTimers = {
  every(ms, callback) {
    const timer = setInterval(callback, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};

export interface AppendResult {
  baseOffset: Offset;
  lastOffset: Offset;
  /** Largest timestamp among the appended batches. */
  maxTimestamp: number;
  /** Set when the batch was a producer's retry of one already in the log: these are that batch's offsets, nothing was written. */
  duplicate?: true;
}

/** What `prepareLeaderAppend` stamped: the batches' last offset, their largest timestamp, the offsets they cover. */
export interface PreparedAppend {
  lastOffset: Offset;
  maxTimestamp: number;
  records: number;
  /**
   * Set when the batch is a producer's retry of one already in the log or proposed: nothing was
   * stamped, nothing is to be proposed; these are that batch's offsets, to answer once committed.
   */
  duplicateOf?: { readonly baseOffset: Offset; readonly lastOffset: Offset };
}

export interface ReadOptions {
  /** Upper bound on bytes returned, except that one whole batch is always returned if any is readable. */
  maxBytes: number;
  /** Exclusive bound: no batch holding this offset or above is returned (the high watermark). */
  maxOffset?: Offset;
}

export interface ReadResult {
  /** Whole batches, as stored. Empty when nothing is readable at the offset yet. */
  bytes: Buffer;
  /** The offset to read next: one past the last batch returned, or the requested offset if none. */
  nextOffset: Offset;
}

export interface RecoveryReport {
  clean: boolean;
  segmentsScanned: number;
  bytesScanned: number;
  bytesTruncated: number;
  segmentsDeleted: number;
  reason?: string;
  /** How the leader-epoch cache was loaded (see `leader-epoch-cache.ts`) and what rebuilding it read. */
  leaderEpochCache: LeaderEpochCacheSource;
  leaderEpochBytesScanned: number;
  /** The producer-state snapshot recovery started from (undefined: none, every segment scanned) and the header bytes replayed after it. */
  producerStateSnapshot: Offset | undefined;
  producerStateBytesScanned: number;
}

/**
 * Who writes through the leader's append path: a producer (`client`, Kafka's AppendOrigin.CLIENT) or
 * the broker's coordinators writing one transaction marker or one transactional batch of their own (`coordinator`).
 */
export type AppendOrigin = 'client' | 'coordinator';

/** Who appends: a leader assigning offsets and stamping its epoch, or a follower copying batches as they are. */
type Appender = { readonly role: 'leader'; readonly leaderEpoch: Epoch; readonly origin: AppendOrigin } | { readonly role: 'follower' };

/** What `planAppend` worked out: per batch, where it ends in the buffer, its last offset and max timestamp. */
interface AppendPlan {
  readonly ends: number[];
  readonly lastOffsets: Offset[];
  readonly maxTimestamps: number[];
  readonly baseOffset: Offset;
  maxTimestamp: number;
  /** The epoch of the last batch, once appended. */
  lastEpoch: Epoch;
  /** A leader's producer batch, checked in sequence, or a coordinator's marker, checked against the producer's epoch (at most one per append). */
  producerWrite: ProducerWrite | undefined;
  /** The producer batch is a retry of this one, already in the log (or proposed): nothing to write. */
  duplicateOf: ProducerBatchMetadata | undefined;
}

interface FlushWaiter {
  lastOffset: Offset;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class Log {
  readonly dir: string;
  readonly config: LogConfig;
  private readonly clock: () => number;
  private readonly segments: Segment[];
  private startOffset: Offset;
  private flushed: Offset;
  private recoveryPoint: Offset;
  private waiters: FlushWaiter[] = [];
  private uncleanableSegment: { segment: string | undefined; error: unknown } | undefined;
  /** Set by `open` right after construction, from `LogOptions`. */
  private onFailure: (error: LogError) => void = () => undefined;
  private events: LogEvents = {};
  private elapsedClock: () => number = () => performance.now();
  private pool: DescriptorPool = DescriptorPool.shared;
  private flushing = false;
  private directoryDirty = false;
  private sealing: Promise<void> = Promise.resolve();
  private failure: LogError | undefined;
  private closed = false;
  private compaction: Promise<unknown> | undefined;
  private stopFlushTimer: (() => void) | undefined;
  private readonly epochs: LeaderEpochCache;
  /** Producer state of the batches below the log end (plus a Raft leader's proposed ones). */
  private readonly producers: ProducerStateManager;
  private readonly flushListeners = new Set<(flushedOffset: Offset) => void>();
  readonly recovery: RecoveryReport;

  private constructor(
    dir: string,
    config: LogConfig,
    clock: () => number,
    timers: LogTimers,
    segments: Segment[],
    startOffset: Offset,
    epochs: LeaderEpochCache,
    producers: ProducerStateManager,
    recovery: RecoveryReport,
  ) {
    this.dir = dir;
    this.config = config;
    this.clock = clock;
    this.segments = segments;
    this.startOffset = startOffset;
    this.epochs = epochs;
    this.producers = producers;
    this.flushed = this.logEndOffset;
    this.recoveryPoint = this.logEndOffset;
    this.recovery = recovery;
    if (config.flushPolicy === 'interval') {
      this.stopFlushTimer = timers.every(config.flushIntervalMs, () => void this.flush().catch(() => undefined));
    }
  }

  /**
   * Opens the log in `dir` (created if missing), recovering it if the last stop was not clean.
   * `config` is parsed with `parseLogConfig`, so partial overrides are fine.
   */
  static async open(dir: string, config: Partial<LogConfig> | LogConfig = {}, options: LogOptions = {}): Promise<Log> {
    const parsed = parseLogConfig(config);
    const clock = options.clock ?? Date.now;
    const pool = options.descriptorPool ?? DescriptorPool.shared;
    fs.mkdirSync(dir, { recursive: true });
    const marker = path.join(dir, CLEAN_SHUTDOWN_FILE);
    const clean = fs.existsSync(marker);
    completeInterruptedSwaps(dir);
    const checkpoint = readLogCheckpoint(dir);
    const bases = listSegmentBases(dir);
    const report: RecoveryReport = {
      clean,
      segmentsScanned: 0,
      bytesScanned: 0,
      bytesTruncated: 0,
      segmentsDeleted: 0,
      leaderEpochCache: 'file',
      leaderEpochBytesScanned: 0,
      producerStateSnapshot: undefined,
      producerStateBytesScanned: 0,
    };
    const segments: Segment[] = [];
    const recoveryPoint = clean ? Number.POSITIVE_INFINITY : (checkpoint?.recoveryPoint ?? 0);
    // A tail scan longer than this means the index was cut short or lost: rebuild it instead.
    const tailScanLimit = parsed.indexIntervalBytes + 2 * parsed.maxBatchBytes;
    let rescannedFrom: Offset | undefined;
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i] as Offset;
      const segment = Segment.open(dir, base, parsed, clock(), pool);
      const previousNext = segments.at(-1)?.nextOffset ?? base;
      const nextBase = bases[i + 1];
      const trusted = clean || (nextBase !== undefined && nextBase <= recoveryPoint);
      if (trusted && segment.indexesAreSane() && segment.loadTail(tailScanLimit) && base >= previousNext) {
        segments.push(segment);
        continue;
      }
      const result = segment.recover(previousNext);
      rescannedFrom ??= base;
      report.segmentsScanned += 1;
      report.bytesScanned += result.validBytes + result.truncatedBytes;
      report.bytesTruncated += result.truncatedBytes;
      segments.push(segment);
      if (result.reason !== undefined) {
        report.reason = `${segment.logFile}: ${result.reason}`;
        // The first damage ends the log: nothing after it can be trusted to follow on.
        for (const later of bases.slice(i + 1)) {
          Segment.open(dir, later as Offset, parsed, clock(), pool).delete();
          report.segmentsDeleted += 1;
        }
        break;
      }
    }
    if (segments.length === 0) {
      segments.push(Segment.create(dir, checkpoint?.logStartOffset ?? asOffset(0), parsed, clock(), pool));
    }
    const first = segments[0] as Segment;
    const last = segments.at(-1) as Segment;
    last.activate();
    const startOffset = asOffset(Math.min(Math.max(checkpoint?.logStartOffset ?? first.baseOffset, first.baseOffset), last.nextOffset));
    // The epoch file is complete below the checkpointed recovery point; past the first rescanned
    // segment it may describe batches this crash lost, so that part is rebuilt from what recovery kept.
    const epochs = loadLeaderEpochCache(dir, segments, startOffset, rescannedFrom ?? last.nextOffset);
    report.leaderEpochCache = epochs.source;
    report.leaderEpochBytesScanned = epochs.bytesScanned;
    // Snapshots past what recovery kept describe batches that are gone.
    deleteProducerSnapshotsAbove(dir, last.nextOffset);
    const producers = new ProducerStateManager();
    // The `.txnindex` of a rescanned segment may hold markers the crash lost, or miss ones it kept:
    // it is rebuilt from the markers the producer-state replay meets from there on (the replay then
    // starts from a snapshot at or below the first rescanned segment).
    let rebuildTxnIndexes: ReplayFrom | undefined;
    if (rescannedFrom !== undefined) {
      for (const segment of segments) if (segment.baseOffset >= rescannedFrom) segment.txnIndex.reset();
      rebuildTxnIndexes = {
        offset: rescannedFrom,
        completed: (txn, state) => {
          if (!txn.commit) indexAbortedTxn(segments, txn, state);
        },
      };
    }
    const producerLoad = loadProducerState(dir, segments, producers, last.nextOffset, rebuildTxnIndexes);
    report.producerStateSnapshot = producerLoad.snapshotOffset;
    report.producerStateBytesScanned = producerLoad.bytesScanned;
    // Make the recovered state durable before it is built upon, then retire the clean marker: from
    // here on a crash must lead to a recovery scan.
    // Sealing also writes the rebuilt indexes, which the next open trusts below the recovery point.
    if (!clean) for (const segment of segments) await segment.seal();
    fs.rmSync(marker, { force: true });
    const log = new Log(dir, parsed, clock, options.timers ?? NODE_TIMERS, segments, startOffset, epochs.cache, producers, report);
    log.writeCheckpoint();
    log.pool = pool;
    if (options.onFailure !== undefined) log.onFailure = options.onFailure;
    if (options.events !== undefined) log.events = options.events;
    if (options.elapsedClock !== undefined) log.elapsedClock = options.elapsedClock;
    return log;
  }

  get logStartOffset(): Offset {
    return this.startOffset;
  }

  /** The offset the next appended record gets. */
  get logEndOffset(): Offset {
    return this.active.nextOffset;
  }

  /** Every offset below this is on disk (fsynced). */
  get flushedOffset(): Offset {
    return this.flushed;
  }

  get sizeBytes(): number {
    return this.segments.reduce((sum, s) => sum + s.sizeBytes, 0);
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Base offsets of the segments, oldest first. */
  get segmentBaseOffsets(): Offset[] {
    return this.segments.map((s) => s.baseOffset);
  }

  private get active(): Segment {
    return this.segments.at(-1) as Segment;
  }

  /** The newest leader epoch (Raft term) of any batch in the log; NO_EPOCH (-1) if none has one. */
  get latestEpoch(): Epoch {
    return this.epochs.latestEpoch;
  }

  /** The leader-epoch cache: each epoch in the log with its first offset, oldest first. */
  get leaderEpochs(): readonly EpochEntry[] {
    return this.epochs.entries;
  }

  /**
   * Kafka's OffsetsForLeaderEpoch: the largest epoch in the log that is <= `epoch`, and the offset
   * where it ends (the next epoch's first offset, or the log end offset for the latest epoch).
   * `{ epoch: -1, endOffset: -1 }` when `epoch` is below every epoch the log holds.
   */
  endOffsetFor(epoch: Epoch): EpochEndOffset {
    this.assertOpen();
    return this.epochs.endOffsetFor(epoch, this.logEndOffset);
  }

  /**
   * Calls `listener` with the new flushed offset each time it grows: after a group-commit or interval
   * fsync, an explicit `flush()`, or a rolled segment's seal. Values never pass the log end and never
   * go back, except that `truncateTo` or `resetTo` may lower the flushed offset without a call (the data
   * is gone); calls resume from there. A Raft follower acknowledges what these calls report. The
   * listener runs synchronously inside the log and must not throw. Returns the unsubscribe function.
   */
  onFlushed(listener: (flushedOffset: Offset) => void): () => void {
    this.flushListeners.add(listener);
    return () => this.flushListeners.delete(listener);
  }

  /**
   * Appends one or more whole batches (the bytes a producer sent), assigning offsets from the log end
   * and stamping `leaderEpoch`. The buffer is modified in place. Nothing is written unless every batch
   * is valid, records included (`record-validator.ts`, client rules: no control batch, timestamps
   * within the topic's bounds around the clock): a bad batch rejects the whole append with a
   * `LogError` and leaves the log untouched. An epoch below the last one appended is
   * FENCED_LEADER_EPOCH.
   *
   * `origin: 'coordinator'` appends exactly one transaction marker (the transaction coordinator) or one
   * unsequenced transactional batch (the group coordinator's TxnOffsetCommit; epoch checked, Kafka's AppendOrigin.Coordinator)
   * (`encodeTxnMarkerBatch`) and nothing else; a marker with an epoch below its producer's is
   * INVALID_PRODUCER_EPOCH. A client's append never holds a control batch (INVALID_RECORD).
   */
  append(batches: Buffer, options: { leaderEpoch?: Epoch; origin?: AppendOrigin } = {}): Promise<AppendResult> {
    return this.appendBatches(batches, { role: 'leader', leaderEpoch: options.leaderEpoch ?? NO_EPOCH, origin: options.origin ?? 'client' });
  }

  /**
   * A Raft leader's half of `append`, without writing: validates a producer's batches with the same
   * client rules and stamps them in place with offsets from `baseOffset` and `leaderEpoch`, so that
   * the bytes can be proposed and sent to followers before any replica (this one included) writes
   * them with `appendAsFollower`. Throws the first batch's LogError and then leaves the bytes as they
   * were; an epoch below the log's latest is FENCED_LEADER_EPOCH. `records` is the number of offsets
   * the batches cover (`lastOffset - baseOffset + 1`). `origin` as for `append`.
   */
  prepareLeaderAppend(batches: Buffer, options: { baseOffset: Offset; leaderEpoch: Epoch; origin?: AppendOrigin }): PreparedAppend {
    this.assertOpen();
    const { baseOffset, leaderEpoch } = options;
    if (!Number.isSafeInteger(baseOffset) || baseOffset < 0) throw new LogError('OFFSET_OUT_OF_RANGE', `cannot prepare an append at offset ${baseOffset}`);
    const plan = this.planAppend(batches, { role: 'leader', leaderEpoch, origin: options.origin ?? 'client' }, baseOffset);
    if (plan.duplicateOf !== undefined) {
      const { firstOffset, lastOffset, timestamp } = plan.duplicateOf;
      return { lastOffset, maxTimestamp: timestamp, records: 0, duplicateOf: { baseOffset: firstOffset, lastOffset } };
    }
    stampPlanned(batches, plan, leaderEpoch);
    if (plan.producerWrite !== undefined) this.producers.addPending(plan.producerWrite);
    const lastOffset = plan.lastOffsets.at(-1) as Offset;
    return { lastOffset, maxTimestamp: plan.maxTimestamp, records: lastOffset - baseOffset + 1 };
  }

  /**
   * Appends batches that already carry their offsets and epochs (a follower copying its leader),
   * validated as a replica's (records parse; the leader checked timestamps against its clock).
   * Offsets must continue the log exactly: the first batch's base offset is the log end offset and
   * each next batch starts right after the previous one (OFFSET_OUT_OF_RANGE otherwise); epochs never
   * go below the last one appended (FENCED_LEADER_EPOCH). Control batches are taken as replicated
   * bytes; a transaction marker must read as one (INVALID_RECORD otherwise), since every replica
   * builds its transaction state from it.
   */
  appendAsFollower(batches: Buffer): Promise<AppendResult> {
    return this.appendBatches(batches, { role: 'follower' });
  }

  /** The one append path: validate and plan every batch, stamp (leader), write, resolve when durable. */
  private appendBatches(batches: Buffer, appender: Appender): Promise<AppendResult> {
    try {
      this.assertWritable();
      const plan = this.planAppend(batches, appender, this.logEndOffset);
      if (plan.duplicateOf !== undefined) {
        const { firstOffset, lastOffset, timestamp } = plan.duplicateOf;
        // Answered once the original is as durable as an append would be.
        return this.durable({ baseOffset: firstOffset, lastOffset, maxTimestamp: timestamp, duplicate: true });
      }
      if (appender.role === 'leader') stampPlanned(batches, plan, appender.leaderEpoch);
      this.writeBatches(batches, plan);
      invariant(plan.lastEpoch >= this.epochs.latestEpoch, () => `epoch went back from ${this.epochs.latestEpoch} to ${plan.lastEpoch}`);
      this.recordWritten(batches);
      return this.durable({ baseOffset: plan.baseOffset, lastOffset: plan.lastOffsets.at(-1) as Offset, maxTimestamp: plan.maxTimestamp });
    } catch (error) {
      return Promise.reject(this.appendFailed(error));
    }
  }

  /**
   * Validates every batch of an append, records included, and works out where each one ends, its
   * last offset and max timestamp, the first starting at `baseOffset` (the log end, except for
   * `prepareLeaderAppend`); changes nothing. Throws the first batch's LogError.
   */
  private planAppend(batches: Buffer, appender: Appender, baseOffset: Offset): AppendPlan {
    if (batches.length === 0) throw new LogError('CORRUPT_MESSAGE', 'append of zero bytes');
    const leader = appender.role === 'leader';
    const rules: ValidationRules = {
      origin: leader ? appender.origin : 'replica',
      maxBatchBytes: this.config.maxBatchBytes,
      now: this.clock(),
      messageTimestampBeforeMaxMs: this.config.messageTimestampBeforeMaxMs,
      messageTimestampAfterMaxMs: this.config.messageTimestampAfterMaxMs,
    };
    // Kafka answers a request from a leader whose epoch is older than the partition's with
    // FENCED_LEADER_EPOCH; a lower epoch here means the same thing: a deposed leader (or a follower
    // copying one) is writing behind a newer leader's batches, which Raft's log must never hold.
    let epoch = this.epochs.latestEpoch;
    if (leader) {
      if (appender.leaderEpoch < epoch) throw new LogError('FENCED_LEADER_EPOCH', `append with epoch ${appender.leaderEpoch}, the log has epoch ${epoch}`);
      epoch = appender.leaderEpoch;
    }
    const plan: AppendPlan = { ends: [], lastOffsets: [], maxTimestamps: [], baseOffset, maxTimestamp: -1, lastEpoch: epoch, producerWrite: undefined, duplicateOf: undefined };
    let next = baseOffset;
    let position = 0;
    while (position < batches.length) {
      const header = validateRecordBatch(batches, position, batches.length, rules);
      if (!leader) {
        if (header.baseOffset !== next) {
          throw new LogError('OFFSET_OUT_OF_RANGE', `replicated batch at offset ${header.baseOffset} does not continue the log at ${next}`);
        }
        if (header.partitionLeaderEpoch < epoch) {
          throw new LogError('FENCED_LEADER_EPOCH', `replicated batch at offset ${header.baseOffset} has epoch ${header.partitionLeaderEpoch}, the log has epoch ${epoch}`);
        }
        epoch = header.partitionLeaderEpoch;
        // Every replica builds its transaction state from a marker: it must read as one.
        if (isTxnMarkerBatch(batches, position)) readTxnMarker(batches, position);
      } else if (appender.origin === 'coordinator') {
        // One batch at a time, so that its answer (appended, or fenced) is the answer for that producer:
        // a transaction marker, or the group coordinator's transactional batch of offsets (TxnOffsetCommit).
        if (position !== 0 || header.sizeBytes !== batches.length) throw new LogError('INVALID_RECORD', 'a coordinator append holds exactly one batch: a transaction marker or a transactional batch');
        if ((header.attributes & CONTROL_FLAG) !== 0) {
          const write = { ...txnMarkerAt(batches, position), offset: next };
          this.producers.checkMarker(write);
          plan.producerWrite = { marker: write };
        } else {
          // Kafka's AppendOrigin.Coordinator: no sequence (the batch carries -1), the epoch still checked.
          const batch: ProducerBatch = { ...producerBatchAt(batches, position), firstOffset: next };
          this.producers.checkCoordinatorBatch(batch);
          plan.producerWrite = { batch };
        }
      } else if (header.producerId >= 0) {
        // Kafka's rule for Produce v3+: an idempotent batch travels alone, so that its answer (appended,
        // or a duplicate with its original offsets) is the answer to the whole append.
        if (position !== 0 || header.sizeBytes !== batches.length) {
          throw new LogError('INVALID_RECORD', `a producer batch (producer id ${header.producerId}) must be the only batch of its append`);
        }
        // Not stamped yet: its first offset is where the plan puts it.
        const batch: ProducerBatch = { ...producerBatchAt(batches, position), firstOffset: next };
        const check = this.producers.check(batch);
        if (check.kind === 'duplicate') plan.duplicateOf = check.batch;
        else plan.producerWrite = { batch };
      }
      position += header.sizeBytes;
      const lastOffset = asOffset(next + header.lastOffsetDelta);
      plan.ends.push(position);
      plan.lastOffsets.push(lastOffset);
      plan.maxTimestamps.push(header.maxTimestamp);
      plan.maxTimestamp = Math.max(plan.maxTimestamp, header.maxTimestamp);
      next = asOffset(lastOffset + 1);
    }
    plan.lastEpoch = epoch;
    return plan;
  }

  /**
   * Reads whole batches starting with the one that holds `offset`, from one segment, up to
   * `maxBytes` (at least one batch) and below `maxOffset`. An offset below the log start or above the
   * log end is OFFSET_OUT_OF_RANGE; at the log end (or at `maxOffset`) the result is empty.
   */
  async read(offset: Offset, options: ReadOptions): Promise<ReadResult> {
    this.assertOpen();
    if (!Number.isSafeInteger(offset) || offset < this.startOffset || offset > this.logEndOffset) {
      throw new LogError('OFFSET_OUT_OF_RANGE', `offset ${offset}; the log holds [${this.startOffset}, ${this.logEndOffset})`);
    }
    const limit = Math.min(options.maxOffset ?? this.logEndOffset, this.logEndOffset);
    const empty = { bytes: Buffer.alloc(0), nextOffset: offset };
    for (let i = this.segmentIndexFor(offset); i < this.segments.length && offset < limit; i++) {
      const segment = this.segments[i] as Segment;
      const first = segment.locateOffset(offset);
      if (first === undefined || first.baseOffset >= limit) continue;
      const end = limit >= segment.nextOffset ? segment.sizeBytes : (segment.locateOffset(asOffset(limit))?.position ?? segment.sizeBytes);
      if (end <= first.position) return empty;
      // At least the first batch, even past maxBytes, so a consumer always makes progress (KIP-74).
      const wanted = Math.max(Math.min(end - first.position, options.maxBytes), first.sizeBytes);
      const read = await segment.read(first.position, (first.position + wanted) as Position);
      const bytes = read.subarray(0, wholeBatchesLength(read));
      return { bytes, nextOffset: asOffset(lastOffsetOfLastBatch(bytes) + 1) };
    }
    return empty;
  }

  /**
   * The first record whose timestamp is at least `timestamp`, or undefined if no record is that new.
   * Binary-searched through the time and offset indexes; only the one batch found is decoded.
   */
  async offsetForTimestamp(timestamp: number): Promise<{ offset: Offset; timestamp: number } | undefined> {
    this.assertOpen();
    for (const segment of this.segments) {
      if (segment.maxTimestamp < timestamp || segment.nextOffset <= this.startOffset) continue;
      const location = segment.locateTimestamp(timestamp);
      if (location === undefined) continue;
      const bytes = await segment.read(location.position, (location.position + location.sizeBytes) as Position);
      for (const record of decodeBatch(bytes).records) {
        if (record.timestamp >= timestamp && record.offset >= this.startOffset) {
          return { offset: record.offset, timestamp: record.timestamp };
        }
      }
    }
    return undefined;
  }

  /** Resolves once everything appended so far is fsynced, whatever the flush policy. */
  flush(): Promise<void> {
    if (this.logEndOffset <= this.flushed && !this.directoryDirty) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ lastOffset: asOffset(this.logEndOffset - 1), resolve, reject });
      void this.runFlushes();
    });
  }

  /**
   * Removes every offset at or above `offset` (a replica dropping a divergent tail). A batch that
   * straddles `offset` is removed whole, so the log end may land below `offset`. Resolves once the
   * truncation is durable: the cut files and indexes fsynced, the deleted segments' directory entries
   * fsynced, the leader-epoch cache cut and the checkpoint replaced. Below the log start it is
   * OFFSET_OUT_OF_RANGE: a replica that far behind restarts its log with `resetTo`.
   */
  async truncateTo(offset: Offset): Promise<void> {
    this.assertWritable();
    if (!Number.isSafeInteger(offset) || offset < this.startOffset) {
      throw new LogError(
        'OFFSET_OUT_OF_RANGE',
        `cannot truncate to ${offset}, below the log start ${this.startOffset}; resetTo(${offset}) restarts the log at an offset`,
      );
    }
    if (offset >= this.logEndOffset) return;
    await this.sealing;
    // Before the cut: a snapshot above the new end must never outlive it (the directory fsync below covers this).
    deleteProducerSnapshotsAbove(this.dir, offset);
    while (this.segments.length > 1 && this.active.baseOffset >= offset) {
      (this.segments.pop() as Segment).delete();
    }
    this.active.activate();
    this.active.truncateTo(offset);
    this.directoryDirty = true;
    const end = this.logEndOffset;
    const lost = this.waiters.filter((w) => w.lastOffset >= end);
    this.waiters = this.waiters.filter((w) => w.lastOffset < end);
    for (const waiter of lost) waiter.reject(new LogError('OFFSET_OUT_OF_RANGE', `offset ${waiter.lastOffset} was truncated before it was flushed`));
    this.flushed = asOffset(Math.min(this.flushed, end));
    this.recoveryPoint = asOffset(Math.min(this.recoveryPoint, end));
    this.startOffset = asOffset(Math.min(this.startOffset, end));
    this.epochs.truncateFromEnd(end);
    this.rebuildProducerState(end);
    this.writeCheckpoint();
    const active = this.active;
    try {
      await Promise.all([active.flush(), active.offsetIndex.sync(), active.timeIndex.sync(), fsyncDirectoryAsync(this.dir)]);
    } catch (error) {
      const failure = new LogError('KAFKA_STORAGE_ERROR', `truncation to ${offset} could not be made durable`, { cause: error });
      this.fail(failure);
      throw failure;
    }
    // Earlier segments were sealed before the cut (`sealing` was awaited), so all below `end` is on disk.
    this.advanceFlushed(asOffset(Math.min(end, this.logEndOffset)));
  }

  /**
   * Empties the log and restarts it at `offset` (Kafka's truncateFullyAndStartAt): a follower so far
   * behind that its leader no longer holds the next offset it needs starts again at the leader's log
   * start. Every segment is deleted, an empty active segment starts at `offset`, logStartOffset =
   * logEndOffset = flushedOffset = `offset`, and the leader-epoch cache is cleared. Appends waiting
   * for an fsync are rejected with OFFSET_OUT_OF_RANGE. Resolves once durable.
   *
   * Crash safety: the cleared epoch file is written first, then the segments are deleted newest first
   * and the directory fsynced, and only then is the new segment created and the checkpoint replaced.
   * A crash in between leaves the old log (or a part of it whose epoch cache a reopen rebuilds, since
   * the cleared file no longer agrees with it) or the new empty one; the caller repeats the reset.
   */
  async resetTo(offset: Offset): Promise<void> {
    this.assertWritable();
    if (!Number.isSafeInteger(offset) || offset < 0) throw new LogError('OFFSET_OUT_OF_RANGE', `cannot restart the log at ${offset}`);
    await this.sealing;
    this.assertWritable();
    for (const waiter of this.waiters.splice(0)) {
      waiter.reject(new LogError('OFFSET_OUT_OF_RANGE', `offset ${waiter.lastOffset} was discarded by resetTo(${offset}) before it was flushed`));
    }
    try {
      this.producers.clear(offset);
      deleteAllProducerSnapshots(this.dir);
      this.epochs.clear();
      this.epochs.persist(this.dir);
      for (const segment of this.segments.splice(0).reverse()) segment.delete();
      fsyncDirectory(this.dir);
      this.segments.push(Segment.create(this.dir, offset, this.config, this.clock(), this.pool));
    } catch (error) {
      const failure = new LogError('KAFKA_STORAGE_ERROR', `resetTo(${offset}) failed`, { cause: error });
      this.fail(failure);
      throw failure;
    }
    this.startOffset = offset;
    this.recoveryPoint = offset;
    this.flushed = asOffset(Math.min(this.flushed, offset));
    this.advanceFlushed(offset);
    // Replacing the checkpoint fsyncs the directory, which makes the new segment's entry durable too.
    this.writeCheckpoint();
  }

  /**
   * Moves the log start offset up to `offset` (Kafka's DeleteRecords) and deletes the segments that
   * fall wholly below it. Readers see OFFSET_OUT_OF_RANGE below the new start at once.
   */
  async deleteRecordsBefore(offset: Offset): Promise<void> {
    this.assertWritable();
    if (!Number.isSafeInteger(offset) || offset > this.logEndOffset) {
      throw new LogError('OFFSET_OUT_OF_RANGE', `cannot delete records before ${offset}; the log ends at ${this.logEndOffset}`);
    }
    if (offset <= this.startOffset) return;
    this.startOffset = offset;
    this.writeCheckpoint();
    this.cutEpochsToLog();
    await this.deleteOldSegments({ retentionMs: -1, retentionBytes: -1, maxOffset: this.logEndOffset });
  }

  /**
   * Applies retention (age, size, log start offset), deleting whole segments from the oldest, never
   * at or above `maxOffset` (the high watermark or the last stable offset; the log end by default)
   * nor at or above the first unstable offset: an open transaction keeps its first batch. If the
   * active segment must go, it is rolled first so the log always has a segment to append to.
   */
  enforceRetention(maxOffset?: Offset): Promise<{ deleted: number; reasons: RetentionReason[] }> {
    const compactOnly = this.config.cleanupPolicy === 'compact';
    const rules = {
      retentionMs: compactOnly ? -1 : this.config.retentionMs,
      retentionBytes: compactOnly ? -1 : this.config.retentionBytes,
      maxOffset: this.stableBound(maxOffset),
    };
    // Past the checks, a failure may leave segments out of the log but on disk, or a checkpoint
    // half written: an operating error (LOG_CLOSED, the poison itself) passes, anything else poisons.
    return this.deleteOldSegments(rules).catch((error: unknown) => {
      throw error instanceof LogError && error.errorName !== 'KAFKA_STORAGE_ERROR' ? error : this.storageFailed(error, 'retention');
    });
  }

  private async deleteOldSegments(
    rules: Pick<RetentionPolicy, 'retentionMs' | 'retentionBytes' | 'maxOffset'>,
  ): Promise<{ deleted: number; reasons: RetentionReason[] }> {
    this.assertWritable();
    const policy: RetentionPolicy = { ...rules, logStartOffset: this.startOffset, now: this.clock() };
    let decision = segmentsToDelete(this.segments, policy);
    if (decision.count === this.segments.length && !this.active.isEmpty) {
      this.roll(this.logEndOffset);
      decision = segmentsToDelete(this.segments, policy);
    }
    const count = Math.min(decision.count, this.segments.length - 1);
    if (count === 0) return { deleted: 0, reasons: [] };
    await this.sealing;
    const doomed = this.segments.splice(0, count);
    const newStart = (this.segments[0] as Segment).baseOffset;
    if (newStart > this.startOffset) this.startOffset = newStart;
    this.writeCheckpoint();
    this.cutEpochsToLog();
    for (const segment of doomed) segment.delete();
    fsyncDirectory(this.dir);
    return { deleted: count, reasons: decision.reasons.slice(0, count) };
  }

  /**
   * Compacts the sealed segments wholly below `maxOffset` (the high watermark; the log end by
   * default) and below the first unstable offset, if the cleanup policy includes `compact`: keeps
   * the last record of each key, drops tombstones older than `deleteRetentionMs` and the records of
   * aborted transactions (keeping their markers), never changes an offset and never touches the
   * active segment. Above the high watermark a replica may still truncate, and a key's older record
   * must not be gone when its newer one is truncated away; at or above the first unstable offset a
   * transaction's outcome is not known yet (Kafka's first uncleanable offset). One compaction runs
   * at a time; appends and reads go on meanwhile; `close()` waits for it.
   */
  compact(maxOffset?: Offset): Promise<CompactionResult> {
    try {
      this.assertWritable();
    } catch (error) {
      return Promise.reject(error);
    }
    const idle = !this.config.cleanupPolicy.includes('compact') || this.compaction !== undefined || this.uncleanableSegment !== undefined;
    if (idle) return Promise.resolve(emptyCompactionResult());
    const run = this.sealing
      .then(() => {
        // Taken when the run starts: later appends and markers are above the bound anyway.
        const limit = this.stableBound(maxOffset);
        return compactLog({
          dir: this.dir,
          config: this.config,
          now: this.clock(),
          segments: this.segments.slice(0, -1).filter((s) => s.nextOffset <= limit),
          abortedTxns: this.segments.flatMap((s) => s.txnIndex.entries.filter((entry) => entry.firstOffset < limit)),
          commitSwap: (old) => this.swapInCleaned(old),
        });
      })
      .catch((error: unknown) => {
        throw this.compactionFailed(error);
      });
    // The bookkeeping chain must never reject: the caller handles `run`, nobody handles this one.
    const done = (): void => {
      this.compaction = undefined;
    };
    this.compaction = run.then(done, done);
    return run;
  }

  /**
   * The segment that made the log uncleanable and why, if a compaction failed since the log was
   * opened; compaction is then off until the log is reopened (Kafka's uncleanable partitions).
   */
  get uncleanable(): { segment: string | undefined; error: unknown } | undefined {
    return this.uncleanableSegment;
  }

  /** `maxOffset` (the log end if not given), lowered to the first unstable offset: what cleanup may touch lies below it. */
  private stableBound(maxOffset: Offset | undefined): Offset {
    return asOffset(Math.min(maxOffset ?? this.logEndOffset, this.firstUnstableOffset ?? Number.POSITIVE_INFINITY));
  }

  /** The storage failure that poisoned the log, if any: appends fail with it until the log is reopened. */
  get storageFailure(): LogError | undefined {
    return this.failure;
  }

  /**
   * A compaction failed. Whatever the cause, the log is uncleanable from now on: data the cleaner
   * cannot read stays unreadable to it, and retrying every cleanup pass would only fail again. A
   * storage failure also poisons the log, as it would for an append.
   */
  private compactionFailed(error: unknown): unknown {
    this.uncleanableSegment ??= { segment: error instanceof SegmentUncleanable ? error.segment : undefined, error };
    if (error instanceof LogError && error.errorName === 'KAFKA_STORAGE_ERROR') this.fail(error);
    return error;
  }

  /** An I/O error outside an append: it poisons the log like one. Returns the error that did. */
  private storageFailed(error: unknown, what: string): LogError {
    const failure = error instanceof LogError && error.errorName === 'KAFKA_STORAGE_ERROR'
      ? error
      : new LogError('KAFKA_STORAGE_ERROR', `${what} in ${this.dir} failed`, { cause: error });
    this.fail(failure);
    return failure;
  }

  /**
   * The last, synchronous step of a compaction: `<base>.log.swap` (complete and fsynced) replaces the
   * live segment `old`. Returns false, discarding the swap file, if `old` was deleted or truncated
   * away meanwhile. Readers holding `old` finish on its still-open descriptor; new readers see the new
   * segment. The live indexes are deleted before the rename, so a crash at any point leaves either the
   * old segment with its indexes or the new one with indexes to rebuild.
   */
  private swapInCleaned(old: Segment): boolean {
    try {
      return this.replaceSegment(old);
    } catch (error) {
      // Half a swap may be on disk: the log must not go on as if nothing happened. Recovery on the
      // next open finishes or undoes it (`completeInterruptedSwaps`).
      throw this.storageFailed(error, `swapping in the compacted ${old.logFile}`);
    }
  }

  private replaceSegment(old: Segment): boolean {
    const swapFile = old.logFile + SWAP_SUFFIX;
    const i = this.segments.indexOf(old);
    if (i < 0 || i === this.segments.length - 1 || this.closed) {
      fs.rmSync(swapFile, { force: true });
      return false;
    }
    // Closed first, while its files are still its own: closing writes its indexes, which must not
    // land in the new segment's files. Readers holding it finish on its open descriptor.
    old.close();
    fs.rmSync(old.offsetIndex.file, { force: true });
    fs.rmSync(old.timeIndex.file, { force: true });
    fs.renameSync(swapFile, old.logFile);
    const fresh = Segment.open(this.dir, old.baseOffset, this.config, this.clock(), this.pool);
    const check = fresh.recover(this.segments[i - 1]?.nextOffset ?? old.baseOffset);
    invariant(check.reason === undefined, () => `compacted segment ${old.logFile} is invalid: ${check.reason}`);
    this.segments[i] = fresh;
    this.sealInBackground(fresh, async () => undefined);
    fsyncDirectory(this.dir);
    return true;
  }

  /**
   * Flushes everything, writes the indexes and the checkpoint, closes the files and leaves the clean
   * shutdown marker, so the next open skips recovery. Further calls fail with LOG_CLOSED.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.stopFlushTimer?.();
    await this.compaction?.catch(() => undefined);
    if (this.failure === undefined) {
      await this.sealing;
      await this.flush();
      await this.active.seal();
    }
    this.closed = true;
    const failed = this.failure !== undefined;
    if (!failed) {
      // The next open starts from this and scans nothing.
      this.producers.discardPending();
      writeProducerSnapshot(this.dir, this.producers.snapshot());
      this.writeCheckpoint();
    }
    for (const segment of this.segments) segment.close();
    if (!failed) {
      fs.writeFileSync(path.join(this.dir, CLEAN_SHUTDOWN_FILE), '');
      fsyncDirectory(this.dir);
    }
  }

  /** Writes the planned batches to the active segment, as few writes as segment rolls allow. */
  private writeBatches(batches: Buffer, plan: AppendPlan): void {
    const { ends, lastOffsets, maxTimestamps, baseOffset: firstOffset } = plan;
    const now = this.clock();
    let start = 0;
    let chunkFirst = firstOffset;
    let i = 0;
    while (i < ends.length) {
      // Take as many following batches as fit the active segment into one write.
      let j = i;
      let chunkMaxTs = -1;
      let chunkOffsetOfMaxTs = chunkFirst;
      const fits = (k: number): boolean =>
        this.active.canAppend((ends[k] as number) - start, lastOffsets[k] as Offset, maxTimestamps[k] as number, now);
      if (!fits(i)) this.roll(chunkFirst);
      while (j < ends.length && fits(j)) {
        if ((maxTimestamps[j] as number) > chunkMaxTs) {
          chunkMaxTs = maxTimestamps[j] as number;
          chunkOffsetOfMaxTs = lastOffsets[j] as Offset;
        }
        j += 1;
      }
      invariant(j > i, 'an empty segment always takes a valid batch');
      const end = ends[j - 1] as number;
      this.active.append(batches, start, end - start, chunkFirst, lastOffsets[j - 1] as Offset, chunkMaxTs, chunkOffsetOfMaxTs);
      start = end;
      chunkFirst = asOffset((lastOffsets[j - 1] as Offset) + 1);
      i = j;
    }
  }

  /** Resolves per the flush policy once `result`'s batches are as durable as promised. */
  private durable(result: AppendResult): Promise<AppendResult> {
    if (this.config.flushPolicy !== 'always') return Promise.resolve(result);
    return new Promise((resolve, reject) => {
      this.waiters.push({ lastOffset: result.lastOffset, resolve: () => resolve(result), reject });
      void this.runFlushes();
    });
  }

  /**
   * The group-commit loop: while appends wait, fsync every segment with unflushed data (and the
   * directory if segments were created), then release every waiter the fsync covered. Appends that
   * arrive during an fsync wait for the next one, which covers them all at once.
   */
  private async runFlushes(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.waiters.length > 0) {
        const target = this.logEndOffset;
        const started = this.elapsedClock();
        try {
          if (this.directoryDirty) {
            this.directoryDirty = false;
            await fsyncDirectoryAsync(this.dir);
          }
          await Promise.all([this.active.flush(), this.flushSealed()]);
          this.events.flushed?.(this.elapsedClock() - started);
        } catch (error) {
          this.fail(error instanceof LogError ? error : new LogError('KAFKA_STORAGE_ERROR', 'flush failed', { cause: error }));
          return;
        }
        // A truncation during the fsync may have moved the log end below the target.
        this.advanceFlushed(asOffset(Math.min(target, this.logEndOffset)));
        invariant(this.flushed <= this.logEndOffset, 'the flushed offset never passes the log end');
        let released = 0;
        while (released < this.waiters.length && (this.waiters[released] as FlushWaiter).lastOffset < this.flushed) released += 1;
        for (const waiter of this.waiters.splice(0, released)) waiter.resolve();
        // Let the appenders just released append again before the next fsync starts, so that it
        // covers them too; without this turn, concurrent appenders split into two alternating groups.
        if (released > 0) await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * fsyncs the sealed segments whose seal has not run yet, one at a time: each may need a descriptor
   * from the pool, and a burst of rolls must not open them all at once.
   */
  private async flushSealed(): Promise<void> {
    for (const segment of this.segments.slice(0, -1)) if (segment.hasUnflushedData) await segment.flush();
  }

  /** Starts a new active segment at `baseOffset`; the old one is sealed (fsynced) in the background. */
  private roll(baseOffset: Offset): void {
    const previous = this.active;
    invariant(baseOffset >= previous.nextOffset, () => `roll to ${baseOffset} below the log end ${previous.nextOffset}`);
    if (previous.isEmpty) {
      // An empty active segment is replaced rather than kept: segments never overlap in offsets.
      this.segments.pop();
      previous.delete();
    }
    this.segments.push(Segment.create(this.dir, baseOffset, this.config, this.clock(), this.pool));
    this.directoryDirty = true;
    if (previous.isEmpty) return;
    // From here on it only serves reads (and its seal), through the pool: a burst of rolls must not
    // hold a descriptor per segment until the seals behind it catch up. An fsync through another
    // descriptor of the same file flushes the same pages.
    this.events.segmentRolled?.({ baseOffset, previousBaseOffset: previous.baseOffset, previousSizeBytes: previous.sizeBytes });
    previous.deactivate();
    // Taken now (it describes the log below its own end offset, at most `baseOffset`) and written
    // once the segment below is sealed, so it never describes a batch that is not on disk.
    const producerSnapshot = this.producers.snapshot();
    this.sealInBackground(previous, async () => {
      await fsyncDirectoryAsync(this.dir);
      if (!this.closed && producerSnapshot.endOffset <= this.logEndOffset) writeProducerSnapshot(this.dir, producerSnapshot);
      // Seals run in order, so everything below the new segment is on disk now, whatever the policy.
      this.advanceFlushed(asOffset(Math.min(baseOffset, this.logEndOffset)));
      this.recoveryPoint = asOffset(Math.max(this.recoveryPoint, baseOffset));
      // Synchronous (a few ms once per roll) so that it never interleaves with the other checkpoint
      // writes, which must not be overtaken by an older one (log start offset).
      if (!this.closed) this.writeCheckpoint();
    });
  }

  /** Queues `segment.seal()` and then `andThen` behind earlier seals; a failure poisons the log. */
  private sealInBackground(segment: Segment, andThen: () => Promise<void>): void {
    this.sealing = this.sealing
      .then(() => segment.seal())
      .then(andThen)
      .catch((error: unknown) => this.fail(new LogError('KAFKA_STORAGE_ERROR', `sealing ${segment.logFile} failed`, { cause: error })));
  }

  /**
   * The leader-epoch file first, then the checkpoint: the checkpoint's recovery point vouches for the
   * epoch file below it (see `leader-epoch-cache.ts`), so the file must never lag behind it.
   */
  private writeCheckpoint(): void {
    this.epochs.persist(this.dir);
    const recoveryPoint = asOffset(Math.min(this.recoveryPoint, this.flushed, this.logEndOffset));
    writeLogCheckpoint(this.dir, { recoveryPoint, logStartOffset: this.startOffset });
  }

  /**
   * Tells the leader-epoch cache and the producer state about `batches`, just written (offsets and
   * epochs stamped): a new epoch gets an entry at its first batch's base offset; a producer batch
   * becomes the producer's latest; a transaction marker ends its producer's transaction, and an
   * aborted one is added to the marker's segment's `.txnindex` (written now, fsynced with the segment). In memory only; the epoch file follows with the next checkpoint,
   * the producer state with the next snapshot.
   */
  private recordWritten(batches: Buffer): void {
    for (let position = 0; position < batches.length; position += batchSizeAt(batches, position)) {
      const epoch = asEpoch(batches.readInt32BE(position + BatchField.partitionLeaderEpoch));
      const baseOffset = asOffset(readInt64(batches, position + BatchField.baseOffset));
      this.epochs.assign(epoch, baseOffset);
      const control = (batches.readInt16BE(position + BatchField.attributes) & CONTROL_FLAG) !== 0;
      if (control && isTxnMarkerBatch(batches, position)) {
        const completed = this.producers.recordMarker(txnMarkerAt(batches, position));
        if (completed !== undefined && !completed.commit) indexAbortedTxn(this.segments, completed, this.producers);
      } else if (!control && readInt64(batches, position + BatchField.producerId) >= 0) this.producers.record(producerBatchAt(batches, position));
      else this.producers.advance(asOffset(lastOffsetOf(batches, position) + 1));
    }
  }

  /**
   * After a cut to `end`: the producer state forgets what was cut. When no producer's cached batch
   * lies above the cut, only the end moves; otherwise the state is reloaded from the newest snapshot
   * at or below `end` and the headers after it (a producer's older batches, pushed out of its last
   * five by the ones cut, come back).
   */
  private rebuildProducerState(end: Offset): void {
    if (this.producers.unaffectedByTruncationTo(end)) this.producers.truncateEnd(end);
    else loadProducerState(this.dir, this.segments, this.producers, end);
  }

  /**
   * A Raft leader's proposed but unwritten batches are forgotten: its leadership ended, and they
   * may never be written. Later checks see only what the log holds.
   */
  discardPreparedAppends(): void {
    this.producers.discardPending();
  }

  /**
   * Forgets producers whose last batch is older than `producerIdExpirationMs` by the log's clock
   * (Kafka's producer id expiration); run by the broker with its cleanup pass. Returns how many.
   */
  removeExpiredProducers(): number {
    this.assertOpen();
    return this.producers.removeExpired(this.clock(), this.config.producerIdExpirationMs);
  }

  /** The producer state of `producerId` as written (tests, diagnostics). */
  producerState(producerId: number): ProducerEntry | undefined {
    return this.producers.entry(producerId);
  }

  get producerCount(): number {
    return this.producers.producerCount;
  }

  /**
   * The smallest first offset of any open transaction (Kafka's first unstable offset); undefined
   * when none is open. A read_committed consumer reads below min(high watermark, this): the last
   * stable offset.
   */
  get firstUnstableOffset(): Offset | undefined {
    return this.producers.firstUnstableOffset;
  }

  /** The open transactions, by first offset (the coordinator's and operators' view of what is pending). */
  ongoingTransactions(): OngoingTxn[] {
    return this.producers.ongoingTransactions();
  }

  /**
   * Kafka's fetch answer for read_committed: every aborted transaction whose range [firstOffset,
   * marker offset] overlaps [fromOffset, upToOffset), by first offset. Read from the segments'
   * `.txnindex` entries, from the segment holding `fromOffset` on, stopping at the first entry whose
   * last stable offset is past `upToOffset` (every later transaction starts at or after it).
   */
  abortedTransactions(fromOffset: Offset, upToOffset: Offset): Array<{ producerId: number; firstOffset: Offset }> {
    this.assertOpen();
    const found: AbortedTxn[] = [];
    scan: for (let i = this.segmentIndexFor(fromOffset); i < this.segments.length; i++) {
      for (const entry of (this.segments[i] as Segment).txnIndex.entries) {
        if (entry.lastOffset >= fromOffset && entry.firstOffset < upToOffset) found.push(entry);
        if (entry.lastStableOffset > upToOffset) break scan;
      }
    }
    return found.sort((a, b) => a.firstOffset - b.firstOffset).map(({ producerId, firstOffset }) => ({ producerId, firstOffset }));
  }

  /** After a log start move: entries below the start fold into one at it; none at or past the log end. */
  private cutEpochsToLog(): void {
    this.epochs.truncateFromStart(this.startOffset);
    this.epochs.truncateFromEnd(this.logEndOffset);
  }

  /** Raises the flushed offset to `to` and tells the listeners; a no-op unless `to` is higher. */
  private advanceFlushed(to: Offset): void {
    if (to <= this.flushed) return;
    invariant(to <= this.logEndOffset, () => `flushed offset ${to} above the log end ${this.logEndOffset}`);
    this.flushed = to;
    for (const listener of this.flushListeners) listener(to);
  }

  /** Index of the segment whose range holds `offset`: the last one with baseOffset <= offset. */
  private segmentIndexFor(offset: Offset): number {
    return segmentIndexIn(this.segments, offset);
  }

  /**
   * A LogError about the input leaves the log as it was. Anything else (an I/O error, a broken
   * invariant) may have left a write half done: the log is poisoned rather than appended to again.
   */
  private appendFailed(error: unknown): unknown {
    if (error instanceof LogError && error.errorName !== 'KAFKA_STORAGE_ERROR') return error;
    this.fail(error instanceof LogError ? error : new LogError('KAFKA_STORAGE_ERROR', 'append failed', { cause: error }));
    return error;
  }

  /** A storage failure poisons the log: later appends fail, waiting appends are rejected. */
  private fail(error: LogError): void {
    if (this.failure === undefined) {
      this.failure = error;
      this.onFailure(error);
    }
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  private assertOpen(): void {
    if (this.closed) throw new LogError('LOG_CLOSED', this.dir);
  }

  private assertWritable(): void {
    this.assertOpen();
    if (this.failure !== undefined) throw this.failure;
  }
}

/** Index of the segment of `segments` (sorted, non-empty) whose range holds `offset`: the last one with baseOffset <= offset. */
function segmentIndexIn(segments: readonly Segment[], offset: Offset): number {
  let low = 0;
  let high = segments.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >>> 1;
    if ((segments[mid] as Segment).baseOffset <= offset) low = mid;
    else high = mid - 1;
  }
  return low;
}

/**
 * An ABORT marker just ended `txn` (`state` is the producer state right after the marker): its
 * entry goes into the `.txnindex` of the segment holding the marker, fsynced with that segment.
 */
function indexAbortedTxn(segments: readonly Segment[], txn: CompletedTxn, state: ProducerStateManager): void {
  const segment = segments[segmentIndexIn(segments, txn.lastOffset)] as Segment;
  invariant(txn.lastOffset >= segment.baseOffset && txn.lastOffset < segment.nextOffset, () => `marker at ${txn.lastOffset} is in no segment`);
  const lastStableOffset = asOffset(state.firstUnstableOffset ?? txn.lastOffset + 1);
  segment.txnIndex.append({ producerId: txn.producerId, firstOffset: txn.firstOffset, lastOffset: txn.lastOffset, lastStableOffset });
}

/** Stamps each planned batch with its base offset and the leader's epoch (the CRC does not cover them). */
function stampPlanned(batches: Buffer, plan: AppendPlan, leaderEpoch: Epoch): void {
  let batchStart = 0;
  for (let i = 0; i < plan.ends.length; i++) {
    stampBatch(batches, batchStart, i === 0 ? plan.baseOffset : asOffset((plan.lastOffsets[i - 1] as Offset) + 1), leaderEpoch);
    batchStart = plan.ends[i] as number;
  }
}

/** Length of the longest prefix of `bytes` made of whole batches. */
function wholeBatchesLength(bytes: Buffer): number {
  let position = 0;
  while (position + LOG_OVERHEAD_BYTES <= bytes.length) {
    const size = batchSizeAt(bytes, position);
    if (position + size > bytes.length) break;
    position += size;
  }
  return position;
}

function lastOffsetOfLastBatch(bytes: Buffer): Offset {
  let position = 0;
  let last = -1;
  while (position < bytes.length) {
    last = lastOffsetOf(bytes, position);
    position += batchSizeAt(bytes, position);
  }
  return asOffset(last);
}

/** Base offsets of the `.log` files in `dir`, ascending. Index files without a `.log` are removed. */
function listSegmentBases(dir: string): number[] {
  const names = fs.readdirSync(dir);
  const bases = new Set<number>();
  for (const name of names) {
    const match = /^(\d{20})\.log$/.exec(name);
    if (match !== null) bases.add(Number(match[1]));
  }
  for (const name of names) {
    const match = /^(\d{20})\.(index|timeindex|txnindex)$/.exec(name);
    if (match !== null && !bases.has(Number(match[1]))) fs.rmSync(path.join(dir, name), { force: true });
  }
  return [...bases].sort((a, b) => a - b);
}

/**
 * Finishes or abandons a compaction that a crash interrupted. The cleaner writes `<base>.log.cleaned`,
 * fsyncs it and renames it to `<base>.log.swap` (the commit point); `swapInCleaned` then deletes the
 * live indexes and renames the swap over the live log. So: `.cleaned` files were never committed,
 * delete them; a `.log.swap` was committed and replaces the live segment of its base offset, whose
 * indexes are deleted for recovery to rebuild — unless that live segment is gone (retention or
 * truncation deleted it meanwhile), in which case the swap describes data that no longer belongs in
 * the log and is deleted. Index `.swap` files are not written today; any found are stale.
 */
function completeInterruptedSwaps(dir: string): void {
  let changed = false;
  const swappedLogs = new Set(fs.readdirSync(dir).filter((name) => /^\d{20}\.log\.swap$/.test(name)));
  for (const name of fs.readdirSync(dir)) {
    // Index swap files are renamed before their log's, so without a `.log.swap` they are already live.
    if (name.endsWith(CLEANED_SUFFIX) || (name.endsWith(SWAP_SUFFIX) && !swappedLogs.has(name))) {
      fs.rmSync(path.join(dir, name), { force: true });
      changed = true;
    }
  }
  for (const name of swappedLogs) {
    const match = /^(\d{20})\.log\.swap$/.exec(name);
    if (match === null) continue;
    const base = asOffset(Number(match[1]));
    if (!fs.existsSync(segmentFileName(dir, base, LOG_SUFFIX))) {
      fs.rmSync(path.join(dir, name), { force: true });
      changed = true;
      continue;
    }
    for (const suffix of [OFFSET_INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
      fs.rmSync(segmentFileName(dir, base, suffix), { force: true });
      fs.rmSync(segmentFileName(dir, base, suffix) + SWAP_SUFFIX, { force: true });
    }
    fs.renameSync(path.join(dir, name), segmentFileName(dir, base, LOG_SUFFIX));
    changed = true;
  }
  if (changed) fsyncDirectory(dir);
}
