/**
 * `RaftStorage` over a partition `Log`: the partition log is the Raft log. An entry's payload is one or
 * more whole record batches, already stamped with their offsets and the term as partition leader epoch
 * (the leader stamps at proposal: `Log.prepareLeaderAppend`, `encodeLeaderChangeBatch`), so every
 * replica, the leader included, writes them with `Log.appendAsFollower`.
 *
 * What lives where:
 * - the log holds the entries; its leader-epoch cache gives each term's first offset, so `termAt` needs
 *   one small sorted list (copied at open, kept in step with every write) and no per-entry index;
 * - `raft-state` (`raft-state-file.ts`) holds term, vote, the high watermark checkpoint and the term
 *   below the log start after a reset;
 * - in memory: the recent tail of entries (bounded by `tailCacheBytes`), from which a leader sends what
 *   it just appended, and the last chunk read from disk for a follower further behind.
 *
 * Reads are synchronous, writes asynchronous: `append`, `applySnapshot` change the in-memory view at
 * once (`endOffset`, `termAt`, the tail) and queue the log writes on one promise chain, in call order.
 * `sync()` waits for that chain, then `Log.flush()` when the log's flush policy is `always` (under
 * `never` or `interval` an acknowledgement means "in the page cache of a quorum", Kafka's durability
 * for partitions, and the log's own policy fsyncs), then writes and fsyncs `raft-state` when the term or
 * vote changed. A failed write rejects the chain: that `sync()` and every later one throw, and the
 * driver stops.
 *
 * The high watermark is not fsynced per change (an idle or busy partition must not pay an fsync per
 * commit): it is kept in memory and checkpointed at most every `checkpointIntervalMs`, with a term or
 * vote change, and on `close()`. The checkpoint is never above what the log held when the last
 * `sync()` finished, so after a crash a replica restarts from a high watermark that is older but
 * never above what is durable (the core takes `max(highWatermark, logStartOffset)`).
 *
 * Entry granularity: the in-memory tail keeps one entry per record batch (a multi-batch proposal is
 * split), as the entries read from disk are, so every batch boundary is an entry boundary and the two
 * sources join. Below the memory, `entryBase(offset)` answers the start of `offset`'s term, a batch
 * boundary the leader-epoch cache knows without reading the log.
 *
 * A miss: `entries(from, ...)` for entries not in memory answers `[]` and starts ONE read (after the
 * queued writes, so it sees them) of up to `readBytes` from `from`; when it lands, its batches become
 * the side chunk and `onEntriesLoaded()` is called, whose owner calls `RaftNode.entriesLoaded()` (or
 * `RaftDriver.entriesLoaded()`). A truncation or reset meanwhile discards the read (a generation count).
 *
 * The log start must stay on an entry boundary: retention deletes whole segments; `deleteRecordsBefore`
 * must be given a batch's base offset below the high watermark. When retention moves the log start, the
 * term below it is taken from the term list and checkpointed with the high watermark; after a crash
 * before that checkpoint, the start's own term stands in for it (a follower probing exactly there is
 * then reset to the log start, which is safe: everything below it is committed).
 *
 * Concurrency: one thread. Only the write chain and the one read are asynchronous; the timer callback
 * and every read are synchronous.
 */
import {
  asEpoch,
  asOffset,
  BatchField,
  readBatchHeader,
  type Epoch,
  type EpochEntry,
  type Log,
  type LogTimers,
  type Offset,
} from '../log/index.js';
import type { Entry, HardState, RaftSnapshot } from './entry.js';
import { invariant } from './invariant.js';
import type { RaftStorage } from './raft-storage.js';
import { readRaftState, writeRaftState } from './raft-state-file.js';
import { SharedTimers } from './shared-timers.js';

export interface LogStorageOptions {
  /** Bytes of recently appended entries kept in memory to send from (default 4 MiB). */
  tailCacheBytes?: number;
  /** Bytes one read for a follower behind the tail asks the log for (default 4 MiB). */
  readBytes?: number;
  /** The high watermark checkpoint's period (default 5 s). */
  checkpointIntervalMs?: number;
  /** The checkpoint timer; injected so a simulation drives it (default: Node's, unref'd). */
  timers?: LogTimers;
  /** Entries `entries()` answered `[]` for are in memory now: call `RaftNode.entriesLoaded()`. */
  onEntriesLoaded: () => void;
  /**
   * Where a state machine keeps the image of what lies below the log start (the metadata group's
   * snapshots). Without it a snapshot carries no data: a partition's is only a reset to the log start.
   */
  snapshotData?: SnapshotData;
}

/** A state machine's snapshot images by the offset they cover up to (inclusive). */
export interface SnapshotData {
  /** The image at `lastOffset`; undefined when there is none. */
  read(lastOffset: Offset): Uint8Array | undefined;
  /** Stores an image received from the leader, durably, before the log is reset past it. */
  write(lastOffset: Offset, data: Uint8Array): void;
}

export const LOG_STORAGE_DEFAULTS = Object.freeze({
  tailCacheBytes: 4 * 1024 * 1024,
  readBytes: 4 * 1024 * 1024,
  checkpointIntervalMs: 5_000,
});

/** Node's timers, unref'd, one interval per period for all the storages of the process. */
const NODE_TIMERS: LogTimers = new SharedTimers();

const EMPTY = new Uint8Array(0);
const ignore = (): void => undefined;

export class LogStorage implements RaftStorage<Buffer> {
  private readonly log: Log;
  private readonly onEntriesLoaded: () => void;
  private readonly snapshotData: SnapshotData | undefined;
  private readonly tailCacheBytes: number;
  private readonly readBytes: number;
  private readonly flushOnSync: boolean;
  private readonly stopTimer: () => void;
  /** The log start as this storage knows it (a reset moves it before the log does). */
  private start: Offset;
  /** One past the last entry appended (the log catches up as the write chain runs). */
  private end: Offset;
  /** Each term's first offset, ascending (the leader-epoch cache, kept in step with every write). */
  private terms: EpochEntry[];
  private belowStart: { offset: Offset; term: Epoch };
  /** Recent entries, one per batch, contiguous, ending at `end`; `tail[tailHead..]` are live. */
  private tail: Entry<Buffer>[] = [];
  private tailHead = 0;
  private tailBytes = 0;
  /** The last chunk read from disk for a follower behind the tail. */
  private loaded: Entry<Buffer>[] = [];
  private loading = false;
  /** Bumped by every truncation and reset: a read that started before one is stale. */
  private generation = 0;
  private writes: Promise<void> = Promise.resolve();
  private state: HardState;
  /** What the file holds. */
  private written: { term: Epoch; vote: number | undefined; highWatermark: Offset; belowStartOffset: Offset };
  /** `end` when the last `sync()` finished: the high watermark checkpoint never passes it. */
  private syncedEnd: Offset;
  private closed = false;
  /** How many times `raft-state` was replaced (for metrics and tests). */
  stateFileWrites = 0;

  private constructor(log: Log, options: LogStorageOptions) {
    const stored = readRaftState(log.dir);
    this.log = log;
    this.onEntriesLoaded = options.onEntriesLoaded;
    this.snapshotData = options.snapshotData;
    this.tailCacheBytes = positive('tailCacheBytes', options.tailCacheBytes ?? LOG_STORAGE_DEFAULTS.tailCacheBytes);
    this.readBytes = positive('readBytes', options.readBytes ?? LOG_STORAGE_DEFAULTS.readBytes);
    const intervalMs = positive('checkpointIntervalMs', options.checkpointIntervalMs ?? LOG_STORAGE_DEFAULTS.checkpointIntervalMs);
    this.flushOnSync = log.config.flushPolicy === 'always';
    this.start = log.logStartOffset;
    this.end = log.logEndOffset;
    this.syncedEnd = this.end;
    this.terms = [...log.leaderEpochs];
    const startTerm = this.terms[0]?.epoch ?? stored.belowStart.term;
    this.belowStart =
      stored.belowStart.offset === this.start - 1
        ? { ...stored.belowStart }
        : { offset: asOffset(this.start - 1), term: this.start === 0 ? asEpoch(0) : (this.termOf(asOffset(this.start - 1)) ?? startTerm) };
    // A log that lost an unflushed tail in a crash may end below the checkpoint's high watermark.
    const highWatermark = asOffset(Math.min(stored.highWatermark, this.end));
    this.state = { term: stored.term, vote: stored.vote, highWatermark };
    this.written = { term: stored.term, vote: stored.vote, highWatermark: stored.highWatermark, belowStartOffset: stored.belowStart.offset };
    this.stopTimer = (options.timers ?? NODE_TIMERS).every(intervalMs, () => this.checkpoint());
  }

  /** Opens the Raft view of `log` (whose owner keeps it open until after `close()`). */
  static async open(log: Log, options: LogStorageOptions): Promise<LogStorage> {
    return new LogStorage(log, options);
  }

  // ---- reads (synchronous) ---------------------------------------------------------------------

  startOffset(): Offset {
    const logStart = this.log.logStartOffset;
    if (logStart > this.start) {
      // Retention moved the log start: remember the term below it while the term list still knows it.
      const below = asOffset(logStart - 1);
      this.belowStart = { offset: below, term: this.termOf(below) ?? this.belowStart.term };
      this.start = logStart;
    }
    return this.start;
  }

  endOffset(): Offset {
    return this.end;
  }

  termAt(offset: Offset): Epoch | undefined {
    const start = this.startOffset();
    if (offset < start - 1 || offset >= this.end) return undefined;
    if (offset === start - 1) return this.belowStart.term;
    return this.termOf(offset);
  }

  entryBase(offset: Offset): Offset {
    const start = this.startOffset();
    invariant(offset >= start && offset < this.end, () => `entryBase(${offset}) outside [${start}, ${this.end})`);
    const inTail = this.indexInTail(offset);
    if (inTail >= 0) return (this.tail[inTail] as Entry<Buffer>).baseOffset;
    const inLoaded = indexOf(this.loaded, 0, offset);
    if (inLoaded >= 0) return (this.loaded[inLoaded] as Entry<Buffer>).baseOffset;
    const term = this.termEntryOf(offset);
    return asOffset(Math.max(term?.startOffset ?? start, start));
  }

  entries(from: Offset, end: Offset, maxBytes: number): Entry<Buffer>[] {
    invariant(from >= this.startOffset() && from < this.end, () => `entries from ${from} outside [${this.start}, ${this.end})`);
    const out: Entry<Buffer>[] = [];
    let bytes = 0;
    let at = from;
    for (const [source, head] of [[this.loaded, 0], [this.tail, this.tailHead]] as const) {
      let i = indexOf(source, head, at);
      if (i < 0) continue;
      invariant((source[i] as Entry<Buffer>).baseOffset === at, () => `entries from ${at}: not an entry boundary`);
      for (; i < source.length; i++) {
        const entry = source[i] as Entry<Buffer>;
        if (entry.baseOffset >= end || (out.length > 0 && bytes + entry.sizeBytes > maxBytes)) return out;
        out.push(entry);
        bytes += entry.sizeBytes;
        at = asOffset(entry.lastOffset + 1);
      }
    }
    if (out.length === 0 && from < end) this.load(from);
    return out;
  }

  snapshot(): RaftSnapshot {
    const start = this.startOffset();
    const lastOffset = asOffset(start - 1);
    if (this.snapshotData === undefined || start === 0) return { lastOffset, lastTerm: this.belowStart.term, data: EMPTY };
    const data = this.snapshotData.read(lastOffset);
    invariant(data !== undefined, () => `the log starts at ${start} but there is no snapshot image at ${lastOffset}`);
    return { lastOffset, lastTerm: this.belowStart.term, data };
  }

  hardState(): HardState {
    return this.state;
  }

  // ---- writes ----------------------------------------------------------------------------------

  append(entries: readonly Entry<Buffer>[]): void {
    const first = entries[0];
    if (first === undefined) return;
    this.assertOpen();
    const base = first.baseOffset;
    invariant(base >= this.startOffset() && base <= this.end, () => `append at ${base} outside [${this.start}, ${this.end}]`);
    const truncate = base < this.end;
    if (truncate) this.dropFrom(base);
    for (const entry of entries) this.addToTail(entry);
    this.trimTail();
    const bytes = entries.length === 1 ? first.payload : Buffer.concat(entries.map((entry) => entry.payload));
    const expectedEnd = this.end;
    const log = this.log;
    this.chain(async () => {
      if (truncate) await log.truncateTo(base);
      const appended = log.appendAsFollower(bytes);
      // The write itself is synchronous: a log end that did not move means it was refused (the
      // promise says why). Durability is `sync()`'s business, through `flush()`.
      if (log.logEndOffset !== expectedEnd) await appended;
      appended.catch(ignore);
      invariant(log.logEndOffset === expectedEnd, () => `log ends at ${log.logEndOffset} after an append to ${expectedEnd}`);
    });
  }

  setHardState(state: HardState): void {
    this.assertOpen();
    this.state = state;
  }

  applySnapshot(snapshot: RaftSnapshot): void {
    this.assertOpen();
    const offset = asOffset(snapshot.lastOffset + 1);
    this.generation++;
    this.tail = [];
    this.tailHead = 0;
    this.tailBytes = 0;
    this.loaded = [];
    this.terms = [];
    this.start = offset;
    this.end = offset;
    this.syncedEnd = asOffset(Math.min(this.syncedEnd, offset));
    this.belowStart = { offset: snapshot.lastOffset, term: snapshot.lastTerm };
    this.chain(async () => {
      // The image first, then the term below the new start: a crash in between leaves a file whose
      // `belowStart` does not match the old log's start, which is then ignored.
      if (this.snapshotData !== undefined && snapshot.lastOffset >= 0) this.snapshotData.write(snapshot.lastOffset, snapshot.data);
      this.writeState();
      await this.log.resetTo(offset);
    });
  }

  async sync(): Promise<void> {
    this.assertOpen();
    const end = this.end;
    await this.writes;
    if (this.flushOnSync) await this.log.flush();
    this.syncedEnd = asOffset(Math.min(end, this.end));
    if (this.state.term !== this.written.term || this.state.vote !== this.written.vote) this.writeState();
  }

  /**
   * Waits for the queued writes, checkpoints the high watermark and stops the timer. The log stays
   * open (its owner closes it). Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopTimer();
    let failed = false;
    await this.writes.catch(() => {
      failed = true;
    });
    if (!failed) this.checkpoint();
  }

  // ---- internals -------------------------------------------------------------------------------

  private chain(write: () => Promise<void>): void {
    this.writes = this.writes.then(write);
    // The rejection is reported by the next `sync()`; until then it is not unhandled.
    this.writes.catch(ignore);
  }

  /** The lazy checkpoint: rewrites the file if the high watermark or the term below the start moved. */
  private checkpoint(): void {
    if (this.log.storageFailure !== undefined) return;
    const start = this.startOffset();
    if (this.checkpointedHighWatermark() !== this.written.highWatermark || start - 1 !== this.written.belowStartOffset) this.writeState();
  }

  private checkpointedHighWatermark(): Offset {
    return asOffset(Math.min(this.state.highWatermark, this.syncedEnd));
  }

  private writeState(): void {
    const highWatermark = this.checkpointedHighWatermark();
    const { term, vote } = this.state;
    writeRaftState(this.log.dir, { term, vote, highWatermark, belowStart: this.belowStart });
    this.written = { term, vote, highWatermark, belowStartOffset: this.belowStart.offset };
    this.stateFileWrites++;
  }

  /** Drops everything at or above the entry boundary `base` from the in-memory view. */
  private dropFrom(base: Offset): void {
    this.generation++;
    const i = this.indexInTail(base);
    if (i >= 0) {
      invariant((this.tail[i] as Entry<Buffer>).baseOffset === base, () => `append at ${base}: not an entry boundary`);
      for (let j = i; j < this.tail.length; j++) this.tailBytes -= (this.tail[j] as Entry<Buffer>).sizeBytes;
      this.tail.length = i;
    } else {
      this.tail = [];
      this.tailHead = 0;
      this.tailBytes = 0;
    }
    this.loaded = this.loaded.filter((entry) => entry.lastOffset < base);
    while (this.terms.length > 0 && (this.terms.at(-1) as EpochEntry).startOffset >= base) this.terms.pop();
    this.end = base;
    this.syncedEnd = asOffset(Math.min(this.syncedEnd, base));
  }

  /** Adds `entry` at the end, one tail entry per batch; checks its bytes are stamped as it says. */
  private addToTail(entry: Entry<Buffer>): void {
    invariant(entry.baseOffset === this.end, () => `entry at ${entry.baseOffset} does not continue the log at ${this.end}`);
    const payload = entry.payload;
    let position = 0;
    let next = entry.baseOffset;
    while (position < payload.length) {
      invariant(payload.length - position >= BatchField.recordsCount + 4, () => `entry at ${entry.baseOffset}: ${payload.length - position} bytes left, less than a batch header`);
      const header = readBatchHeader(payload, position);
      invariant(
        header.baseOffset === next && header.partitionLeaderEpoch === entry.term && position + header.sizeBytes <= payload.length,
        () => `entry at ${entry.baseOffset} (term ${entry.term}): batch at byte ${position} is stamped offset ${header.baseOffset} epoch ${header.partitionLeaderEpoch}, expected ${next} and ${entry.term}; a leader stamps batches before proposing them`,
      );
      const lastOffset = asOffset(header.baseOffset + header.lastOffsetDelta);
      const whole = position === 0 && header.sizeBytes === payload.length;
      const batch: Entry<Buffer> = whole
        ? entry
        : { baseOffset: next, lastOffset, term: entry.term, payload: payload.subarray(position, position + header.sizeBytes), sizeBytes: header.sizeBytes };
      this.tail.push(batch);
      this.tailBytes += batch.sizeBytes;
      position += header.sizeBytes;
      next = asOffset(lastOffset + 1);
    }
    invariant(next === entry.lastOffset + 1, () => `entry [${entry.baseOffset}, ${entry.lastOffset}] holds batches up to ${next - 1}`);
    const latest = this.terms.at(-1);
    invariant(latest === undefined || entry.term >= latest.epoch, () => `term went back from ${latest?.epoch} to ${entry.term} at ${entry.baseOffset}`);
    if (latest === undefined || entry.term > latest.epoch) this.terms.push({ epoch: entry.term, startOffset: entry.baseOffset });
    this.end = next;
  }

  /** Keeps the tail within its byte budget (always its newest entry). */
  private trimTail(): void {
    while (this.tailBytes > this.tailCacheBytes && this.tail.length - this.tailHead > 1) {
      this.tailBytes -= (this.tail[this.tailHead] as Entry<Buffer>).sizeBytes;
      this.tail[this.tailHead] = undefined as unknown as Entry<Buffer>;
      this.tailHead++;
    }
    // Compact the array once the dropped prefix is most of it.
    if (this.tailHead > 1024 && this.tailHead * 2 > this.tail.length) {
      this.tail = this.tail.slice(this.tailHead);
      this.tailHead = 0;
    }
  }

  private indexInTail(offset: Offset): number {
    return indexOf(this.tail, this.tailHead, offset);
  }

  /** Starts the one read from disk at `from`, unless one is running. */
  private load(from: Offset): void {
    if (this.loading || this.closed) return;
    this.loading = true;
    const generation = this.generation;
    const read = this.writes.then(() => this.log.read(from, { maxBytes: this.readBytes }));
    read.then(
      (result) => {
        this.loading = false;
        if (this.closed || generation !== this.generation) return;
        this.loaded = this.batchesOf(result.bytes, from);
        this.onEntriesLoaded();
      },
      () => {
        // The log start moved past `from`, or a write failed (the next `sync()` reports it): the
        // core retries with its next heartbeat answer, or sends the follower to the log start.
        this.loading = false;
      },
    );
  }

  /** The batches of `bytes` as entries, from the one at `from`, while contiguous and below `end`. */
  private batchesOf(bytes: Buffer, from: Offset): Entry<Buffer>[] {
    const out: Entry<Buffer>[] = [];
    let next = from;
    for (let position = 0; position < bytes.length; ) {
      const header = readBatchHeader(bytes, position);
      const lastOffset = asOffset(header.baseOffset + header.lastOffsetDelta);
      if (header.baseOffset !== next || lastOffset >= this.end || header.partitionLeaderEpoch !== this.termOf(header.baseOffset)) break;
      out.push({ baseOffset: next, lastOffset, term: header.partitionLeaderEpoch, payload: bytes.subarray(position, position + header.sizeBytes), sizeBytes: header.sizeBytes });
      position += header.sizeBytes;
      next = asOffset(lastOffset + 1);
    }
    return out;
  }

  private termOf(offset: Offset): Epoch | undefined {
    return this.termEntryOf(offset)?.epoch;
  }

  /** The term entry with the greatest start at or below `offset`. */
  private termEntryOf(offset: Offset): EpochEntry | undefined {
    const terms = this.terms;
    let low = 0;
    let high = terms.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((terms[mid] as EpochEntry).startOffset <= offset) low = mid + 1;
      else high = mid;
    }
    return low === 0 ? undefined : terms[low - 1];
  }

  private assertOpen(): void {
    invariant(!this.closed, 'LogStorage used after close()');
  }
}

/** The index in `entries[head..]` (contiguous, ascending) of the entry holding `offset`, or -1. */
function indexOf(entries: readonly Entry<Buffer>[], head: number, offset: Offset): number {
  let low = head;
  let high = entries.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const entry = entries[mid] as Entry<Buffer>;
    if (offset < entry.baseOffset) high = mid - 1;
    else if (offset > entry.lastOffset) low = mid + 1;
    else return mid;
  }
  return -1;
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`LogStorage ${name} must be a positive integer, got ${value}`);
  return value;
}
