/**
 * One segment of a partition log: a `.log` file of consecutive record batches and its two sparse
 * indexes, all named by the segment's base offset padded to 20 digits.
 *
 *   00000000000000000000.log        batches, byte for byte as produced (offsets and epoch stamped)
 *   00000000000000000000.index      (offset - baseOffset: int32 BE, position: int32 BE) per ~indexIntervalBytes
 *   00000000000000000000.timeindex  (max timestamp so far: int64 BE, offset - baseOffset: int32 BE)
 *   00000000000000000000.txnindex   the aborted transactions whose ABORT marker is in this segment
 *                                   (`transaction-index.ts`); only once there is one
 *
 * The offset index points at the first byte of a batch and holds that batch's base offset (Kafka stores
 * the append's last offset; the base offset makes a lookup for an offset inside the batch exact; either
 * is a valid floor for a scan). The time index follows Kafka: (T, O) says T is the largest timestamp up
 * to and including the batch whose last offset is O.
 *
 * Invariants: batches are whole and their offsets strictly increase (each batch's base offset is above
 * the previous batch's last offset); `sizeBytes` is the end of the last whole batch; `nextOffset` is
 * the last batch's last offset + 1 (the base offset when empty); every offset in the segment is below
 * baseOffset + 2^31.
 *
 * Descriptors: the active segment (the one appended to) holds its `.log` open from creation until it
 * is sealed. A sealed segment opens its `.log` when a read needs it and lends the descriptor to the
 * log's `DescriptorPool`, which closes the least recently used ones beyond its bound; the next read
 * reopens the file. Index files hold no descriptor at all (`index-file.ts`): their entries are in
 * memory. So a log's open files do not grow with its number of segments.
 *
 * Concurrency: one thread. Appends and header scans use synchronous I/O (page-cache writes and reads of
 * a few KiB; an async round trip would cost more than the work). Bulk reads and fsyncs are async, so
 * the segment counts its readers and closes its file only when the last one is done: a segment can be
 * deleted (retention) or replaced (compaction) while a reader still holds it, and that reader still
 * gets the bytes it asked for (Linux keeps an unlinked file readable through an open descriptor). The
 * pool never closes a descriptor a reader holds, and a synchronous read cannot be interrupted by it.
 * A sealed segment's file is reopened only while the segment is open, that is, before it is deleted
 * or replaced, so a reopen always finds the segment's own file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BatchField, batchSizeAt, lastOffsetOf, readInt64, validateBatch } from './batch-header.js';
import type { LogConfig } from './config.js';
import type { DescriptorPool, PooledFile } from './descriptor-pool.js';
import { LogError } from './errors.js';
import { invariant } from './invariant.js';
import { BATCH_HEADER_BYTES, LOG_OVERHEAD_BYTES, MAX_BATCH_BYTES_CEILING, SEGMENT_OFFSET_SPAN_MAX } from './limits.js';
import { OffsetIndex } from './offset-index.js';
import { TimeIndex } from './time-index.js';
import { TransactionIndex, TXN_INDEX_SUFFIX } from './transaction-index.js';
import { asOffset, asPosition, type Epoch, type Offset, type Position } from './units.js';

export const LOG_SUFFIX = '.log';
export const OFFSET_INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';

/** `<20-digit base offset><suffix>` inside `dir`. */
export function segmentFileName(dir: string, baseOffset: Offset, suffix: string): string {
  return path.join(dir, String(baseOffset).padStart(20, '0') + suffix);
}

/** Where a batch lives in the segment file. */
export interface BatchLocation {
  position: Position;
  sizeBytes: number;
  baseOffset: Offset;
  lastOffset: Offset;
  maxTimestamp: number;
  partitionLeaderEpoch: Epoch;
}

/** What a full scan of the file found: where the valid prefix ends, and why it stopped early if it did. */
export interface RecoveryResult {
  validBytes: number;
  truncatedBytes: number;
  batches: number;
  reason?: string;
}

/** Bytes read at a time by a recovery scan: large reads keep it near disk speed. */
const RECOVERY_CHUNK_BYTES = 8 * 1024 * 1024;
/** Bytes read at a time by header scans: covers an index interval of small batches in one read. */
const HEADER_WINDOW_BYTES = 8 * 1024;

export class Segment implements PooledFile {
  readonly baseOffset: Offset;
  readonly logFile: string;
  readonly offsetIndex: OffsetIndex;
  readonly timeIndex: TimeIndex;
  /** The aborted transactions whose marker is in this segment; the log appends to it, recovery rebuilds it. */
  readonly txnIndex: TransactionIndex;
  private readonly config: LogConfig;
  private readonly pool: DescriptorPool;
  /** The `.log` descriptor; undefined while a sealed segment's file is closed by the pool. */
  private fd: number | undefined;
  /** The active segment keeps its descriptor; a sealed one borrows a place in the pool. */
  private active: boolean;
  private deleted = false;
  private size = 0;
  private next: Offset;
  private maxTs = -1;
  private offsetOfMaxTs: Offset;
  private firstBatchTs: number | undefined;
  private readonly createdAt: number;
  private bytesSinceIndexEntry = 0;
  private unflushed = false;
  private readers = 0;
  private state: 'open' | 'closing' | 'closed' = 'open';
  /** The bytes around the last header read: a scan over small batches costs one read, not one per batch. */
  private window: { start: number; bytes: Buffer } | undefined;

  private constructor(dir: string, baseOffset: Offset, config: LogConfig, fd: number, now: number, pool: DescriptorPool, active: boolean, txnIndex: TransactionIndex) {
    this.txnIndex = txnIndex;
    this.baseOffset = baseOffset;
    this.createdAt = now;
    this.config = config;
    this.pool = pool;
    this.fd = fd;
    this.active = active;
    this.logFile = segmentFileName(dir, baseOffset, LOG_SUFFIX);
    this.offsetIndex = OffsetIndex.open(segmentFileName(dir, baseOffset, OFFSET_INDEX_SUFFIX), baseOffset, config.maxIndexBytes);
    this.timeIndex = TimeIndex.open(segmentFileName(dir, baseOffset, TIME_INDEX_SUFFIX), baseOffset, config.maxIndexBytes);
    this.next = baseOffset;
    this.offsetOfMaxTs = baseOffset;
  }

  /**
   * Creates a new, empty segment, the log's active one; fails if its files exist. The caller fsyncs
   * the directory.
   */
  static create(dir: string, baseOffset: Offset, config: LogConfig, now: number, pool: DescriptorPool): Segment {
    const file = segmentFileName(dir, baseOffset, LOG_SUFFIX);
    const fd = storageIo(`create ${file}`, () => fs.openSync(file, 'wx+'));
    try {
      // A stale index from an earlier segment with this base offset must not describe the new file.
      fs.rmSync(segmentFileName(dir, baseOffset, OFFSET_INDEX_SUFFIX), { force: true });
      fs.rmSync(segmentFileName(dir, baseOffset, TIME_INDEX_SUFFIX), { force: true });
      return new Segment(dir, baseOffset, config, fd, now, pool, true, TransactionIndex.create(segmentFileName(dir, baseOffset, TXN_INDEX_SUFFIX)));
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
  }

  /**
   * Opens an existing segment. With `trusted` (a clean shutdown left it), its indexes are taken as they
   * are if they pass a sanity check, and only the batches after the last index entry are scanned;
   * otherwise (or if the check fails) the caller must run `recover()` before using it.
   */
  static open(dir: string, baseOffset: Offset, config: LogConfig, now: number, pool: DescriptorPool): Segment {
    const file = segmentFileName(dir, baseOffset, LOG_SUFFIX);
    const fd = storageIo(`open ${file}`, () => fs.openSync(file, 'r+'));
    let segment: Segment;
    try {
      segment = new Segment(dir, baseOffset, config, fd, now, pool, false, TransactionIndex.open(segmentFileName(dir, baseOffset, TXN_INDEX_SUFFIX)));
      segment.size = fs.fstatSync(fd).size;
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
    pool.touch(segment);
    return segment;
  }

  /** True while a read or an fsync holds the descriptor (the pool must not close it). */
  get busy(): boolean {
    return this.readers > 0;
  }

  /** The pool closes an idle sealed segment's descriptor; the next read reopens the file. */
  closeDescriptor(): void {
    invariant(!this.active && this.readers === 0, () => `${this.logFile}: the pool closed a descriptor in use`);
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) fs.closeSync(fd);
  }

  /** Makes this the log's active segment: its descriptor stays open, outside the pool, until `deactivate`. */
  activate(): void {
    this.assertOpen();
    this.pool.remove(this);
    this.active = true;
    this.descriptor();
  }

  /** The segment is sealed: its descriptor joins the pool, which may close it when idle. */
  deactivate(): void {
    if (!this.active || this.state !== 'open') return;
    this.active = false;
    if (this.fd !== undefined) this.pool.touch(this);
  }

  get sizeBytes(): number {
    return this.size;
  }

  /** The offset the next batch appended here would get: last offset + 1. */
  get nextOffset(): Offset {
    return this.next;
  }

  /** Largest timestamp of any batch here, -1 when empty. */
  get maxTimestamp(): number {
    return this.maxTs;
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  get hasUnflushedData(): boolean {
    return this.unflushed;
  }

  /** True if its indexes look consistent with the `.log`, so a clean open can trust them. */
  indexesAreSane(): boolean {
    return this.offsetIndex.isSane(this.size) && this.timeIndex.isSane();
  }

  /**
   * After a clean open: derives `nextOffset`, the max timestamp and the first batch's timestamp by
   * scanning headers from the last index entry to the end of the file, without checking CRCs (a
   * clean shutdown or a flushed recovery point vouches for the bytes). Returns false if the headers
   * do not tile the file, if offsets do not increase from batch to batch (each base offset above the
   * previous last offset and at or above the segment's base), or if the scan ran longer than
   * `scanLimitBytes` (a short or lost index): the caller then rebuilds with `recover()`, which
   * truncates at the damage.
   */
  loadTail(scanLimitBytes: number): boolean {
    const last = this.offsetIndex.lastEntry();
    const lastTime = this.timeIndex.lastEntry();
    this.maxTs = lastTime?.timestamp ?? -1;
    this.offsetOfMaxTs = lastTime?.offset ?? this.baseOffset;
    this.next = this.baseOffset;
    this.firstBatchTs = this.size === 0 ? undefined : this.headerAt(0)?.maxTimestamp;
    const start = last?.position ?? 0;
    // The last entry must point at a batch with exactly its offset, or the index describes another file.
    if (last !== undefined && this.headerAt(last.position)?.baseOffset !== last.offset) return false;
    let position = start;
    while (position < this.size) {
      const location = this.headerAt(position);
      if (location === undefined || position - start > scanLimitBytes) return false;
      // Offsets must increase as in `recover`: a stale copy of a batch (a duplicated tail) ends the trust.
      if (location.baseOffset < this.next || location.lastOffset < location.baseOffset) return false;
      if (location.lastOffset - this.baseOffset > SEGMENT_OFFSET_SPAN_MAX) return false;
      this.next = asOffset(location.lastOffset + 1);
      this.noteTimestamp(location.maxTimestamp, location.lastOffset);
      position += location.sizeBytes;
    }
    if (lastTime !== undefined && lastTime.offset >= this.next) return false;
    this.bytesSinceIndexEntry = this.size - start;
    return true;
  }

  /**
   * Validates every batch from the start of the file and rebuilds both indexes. The first batch with a
   * bad length, bad CRC, bad header or an offset not above its predecessor ends the segment: the file
   * is truncated there. `minBaseOffset` is the offset the first batch must reach (the previous
   * segment's next offset).
   */
  recover(minBaseOffset: Offset): RecoveryResult {
    this.offsetIndex.reset();
    this.timeIndex.reset();
    this.next = this.baseOffset;
    this.maxTs = -1;
    this.offsetOfMaxTs = this.baseOffset;
    this.firstBatchTs = undefined;
    this.bytesSinceIndexEntry = 0;
    let expectedMin = Math.max(minBaseOffset, this.baseOffset);
    let position = 0;
    let batches = 0;
    let reason: string | undefined;
    const fileSize = this.size;
    const chunk = Buffer.allocUnsafe(Math.min(RECOVERY_CHUNK_BYTES, Math.max(fileSize, BATCH_HEADER_BYTES)));
    let chunkStart = 0;
    let chunkEnd = 0;
    scan: while (position < fileSize) {
      if (position + BATCH_HEADER_BYTES > chunkEnd) {
        chunkStart = position;
        chunkEnd = position + this.readFully(chunk, 0, Math.min(chunk.length, fileSize - position), position);
      }
      if (fileSize - position < BATCH_HEADER_BYTES) {
        reason = `${fileSize - position} trailing bytes at ${position}, less than a batch header`;
        break;
      }
      const batchSize = batchSizeAt(chunk, position - chunkStart);
      // The ceiling, not the topic's current limit: a limit lowered since must not truncate old batches.
      if (batchSize < BATCH_HEADER_BYTES || batchSize > MAX_BATCH_BYTES_CEILING || position + batchSize > fileSize) {
        reason = `bad batch length ${batchSize} at ${position}`;
        break;
      }
      let view = chunk;
      let viewPos = position - chunkStart;
      if (position + batchSize > chunkEnd) {
        if (batchSize <= chunk.length) {
          chunkStart = position;
          chunkEnd = position + this.readFully(chunk, 0, Math.min(chunk.length, fileSize - position), position);
          viewPos = 0;
        } else {
          view = Buffer.allocUnsafe(batchSize);
          this.readFully(view, 0, batchSize, position);
          viewPos = 0;
        }
      }
      try {
        const header = validateBatch(view, viewPos, viewPos + batchSize, MAX_BATCH_BYTES_CEILING, false);
        const lastOffset = header.baseOffset + header.lastOffsetDelta;
        if (header.baseOffset < expectedMin) {
          reason = `batch at ${position} has base offset ${header.baseOffset}, expected at least ${expectedMin}`;
          break scan;
        }
        if (lastOffset - this.baseOffset > SEGMENT_OFFSET_SPAN_MAX) {
          reason = `batch at ${position} ends at offset ${lastOffset}, beyond this segment's range`;
          break scan;
        }
        this.indexBatch(asPosition(position), header.baseOffset, batchSize);
        this.next = asOffset(lastOffset + 1);
        this.noteTimestamp(header.maxTimestamp, asOffset(lastOffset));
        this.firstBatchTs ??= header.maxTimestamp;
        expectedMin = lastOffset + 1;
      } catch (error) {
        if (!(error instanceof LogError)) throw error;
        reason = error.message;
        break;
      }
      position += batchSize;
      batches += 1;
    }
    const truncatedBytes = fileSize - position;
    if (truncatedBytes > 0) {
      const fd = this.descriptor();
      storageIo(`truncate ${this.logFile}`, () => fs.ftruncateSync(fd, position));
      this.size = position;
    }
    // What the scan read may still sit only in the page cache (the process died, the OS did not):
    // the next flush must fsync it before a recovery point vouches for it.
    this.unflushed = true;
    this.window = undefined;
    this.appendFinalTimeIndexEntry();
    return reason === undefined
      ? { validBytes: position, truncatedBytes, batches }
      : { validBytes: position, truncatedBytes, batches, reason };
  }

  /**
   * True if appending `bytes` more, up to `lastOffset`, with records as new as `maxTimestamp`, keeps
   * the segment within its limits. Age is Kafka's: the new records' timestamp minus the first batch's
   * (so a producer replaying old timestamps does not roll a segment per batch), or, for batches
   * without timestamps, the time since this segment was created or opened.
   */
  canAppend(bytes: number, lastOffset: Offset, maxTimestamp: number, now: number): boolean {
    if (this.size === 0) return lastOffset - this.baseOffset <= SEGMENT_OFFSET_SPAN_MAX;
    if (this.size + bytes > this.config.segmentBytes) return false;
    if (this.offsetIndex.isFull || this.timeIndex.isFull) return false;
    if (lastOffset - this.baseOffset > SEGMENT_OFFSET_SPAN_MAX) return false;
    const age = this.firstBatchTs !== undefined && this.firstBatchTs >= 0 ? maxTimestamp - this.firstBatchTs : now - this.createdAt;
    return age < this.config.segmentMs;
  }

  /**
   * Appends `length` bytes of `bytes` from `start`: whole batches already stamped with offsets from
   * `firstOffset` to `lastOffset`. `maxTimestamp` is the largest timestamp among them and
   * `offsetOfMaxTimestamp` the last offset of the batch that holds it.
   */
  append(
    bytes: Buffer,
    start: number,
    length: number,
    firstOffset: Offset,
    lastOffset: Offset,
    maxTimestamp: number,
    offsetOfMaxTimestamp: Offset,
  ): void {
    this.assertOpen();
    invariant(firstOffset >= this.next, () => `append at ${firstOffset} below next offset ${this.next} in ${this.logFile}`);
    invariant(lastOffset >= firstOffset, 'an append holds at least one offset');
    invariant(lastOffset - this.baseOffset <= SEGMENT_OFFSET_SPAN_MAX, 'append fits the segment offset range');
    invariant(this.active, () => `append to ${this.logFile}, which is not the active segment`);
    const position = asPosition(this.size);
    const fd = this.descriptor();
    let written = 0;
    while (written < length) {
      written += storageIo(`write to ${this.logFile}`, () => fs.writeSync(fd, bytes, start + written, length - written, position + written));
    }
    this.size += length;
    this.unflushed = true;
    this.firstBatchTs ??= maxTimestamp;
    this.indexBatch(position, firstOffset, length);
    this.next = asOffset(lastOffset + 1);
    this.noteTimestamp(maxTimestamp, offsetOfMaxTimestamp);
  }

  /**
   * The first batch whose last offset is at least `target`, searching from the offset index's floor
   * entry; undefined if every batch here ends below `target`.
   */
  locateOffset(target: Offset): BatchLocation | undefined {
    if (target >= this.next) return undefined;
    let position: number = this.offsetIndex.lookup(target).position;
    while (position < this.size) {
      const location = this.readHeaderAt(position);
      if (location.lastOffset >= target) return location;
      position += location.sizeBytes;
    }
    return undefined;
  }

  /** The first batch whose max timestamp is at least `target`, or undefined. */
  locateTimestamp(target: number): BatchLocation | undefined {
    if (this.maxTs < target) return undefined;
    const floor = this.timeIndex.lookup(target);
    let position: number = this.offsetIndex.lookup(floor.offset).position;
    while (position < this.size) {
      const location = this.readHeaderAt(position);
      if (location.maxTimestamp >= target) return location;
      position += location.sizeBytes;
    }
    return undefined;
  }

  /**
   * Reads the bytes in [from, to) of the file. Counts as a reader, so the file stays open until the
   * read completes even if the segment is deleted meanwhile.
   */
  async read(from: Position, to: Position): Promise<Buffer> {
    invariant(from >= 0 && to >= from && to <= this.size, () => `read [${from}, ${to}) outside ${this.logFile} of ${this.size} bytes`);
    this.assertOpen();
    this.readers += 1;
    try {
      const fd = this.descriptor();
      const buffer = Buffer.allocUnsafe(to - from);
      let done = 0;
      while (done < buffer.length) {
        const n = await readAsync(fd, buffer, done, buffer.length - done, from + done).catch((error: unknown) => {
          throw new LogError('KAFKA_STORAGE_ERROR', `read of ${this.logFile} at ${from + done} failed`, { cause: error });
        });
        if (n === 0) throw new LogError('KAFKA_STORAGE_ERROR', `${this.logFile} ended at ${from + done}, expected ${to}`);
        done += n;
      }
      return buffer;
    } finally {
      this.releaseReader();
    }
  }

  /**
   * Removes every batch whose last offset is at least `offset` (a batch that straddles `offset` goes
   * too: batches are never split). Returns the bytes removed.
   */
  truncateTo(offset: Offset): number {
    this.assertOpen();
    const location = this.locateOffset(offset);
    if (location === undefined) return 0;
    const removed = this.size - location.position;
    this.window = undefined;
    const fd = this.descriptor();
    storageIo(`truncate ${this.logFile}`, () => fs.ftruncateSync(fd, location.position));
    this.size = location.position;
    this.unflushed = true;
    this.offsetIndex.truncateToPosition(location.position);
    this.timeIndex.truncateTo(location.baseOffset);
    this.txnIndex.truncateTo(location.baseOffset);
    const consistent = this.loadTail(Number.POSITIVE_INFINITY);
    invariant(consistent, () => `${this.logFile} does not parse after truncation to ${location.position}`);
    return removed;
  }

  /** fsyncs the `.log` (data only: its size is data too, so fdatasync covers it), then the `.txnindex` if it changed. */
  async flush(): Promise<void> {
    await this.flushLog();
    await this.txnIndex.sync();
  }

  private async flushLog(): Promise<void> {
    if (!this.unflushed || this.state !== 'open') return;
    this.unflushed = false;
    this.readers += 1;
    try {
      await fdatasyncAsync(this.descriptor());
    } catch (error) {
      this.unflushed = true;
      throw new LogError('KAFKA_STORAGE_ERROR', `fsync of ${this.logFile} failed`, { cause: error });
    } finally {
      this.releaseReader();
    }
  }

  /**
   * Seals the segment once it stops being the active one: records its max timestamp in the time
   * index (so a reopen knows it without a scan) and fsyncs the log and both indexes.
   */
  async seal(): Promise<void> {
    this.appendFinalTimeIndexEntry();
    await this.flush();
    await Promise.all([this.offsetIndex.sync(), this.timeIndex.sync()]);
  }

  /** Writes the index files and closes everything once in-flight reads and flushes finish. */
  close(): void {
    if (this.state !== 'open') return;
    this.appendFinalTimeIndexEntry();
    this.offsetIndex.persist();
    this.timeIndex.persist();
    this.state = 'closing';
    if (this.readers === 0) this.closeFiles();
  }

  /** Unlinks the segment's files now; the descriptor closes once in-flight reads finish. */
  delete(): void {
    for (const file of [this.logFile, this.offsetIndex.file, this.timeIndex.file]) fs.rmSync(file, { force: true });
    this.txnIndex.delete();
    this.deleted = true;
    if (this.state === 'open') {
      this.state = 'closing';
      if (this.readers === 0) this.closeFiles();
    }
  }

  /** Readers and fsyncs hold the file open; the last one out closes it if the segment was closed meanwhile. */
  private releaseReader(): void {
    this.readers -= 1;
    if (this.readers > 0) return;
    if (this.state === 'closing') this.closeFiles();
    else if (!this.active) this.pool.trim();
  }

  private closeFiles(): void {
    this.state = 'closed';
    this.pool.remove(this);
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) fs.closeSync(fd);
    // A deleted segment's index files are gone: persisting would write them anew.
    if (this.deleted) return;
    this.offsetIndex.close();
    this.timeIndex.close();
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new LogError('LOG_CLOSED', `segment ${this.logFile} is closed`);
  }

  /**
   * The `.log` descriptor, reopened if the pool closed it, and marked most recently used. Only while
   * the segment is open, or while a reader of a closing one still holds it.
   */
  private descriptor(): number {
    if (this.fd === undefined) {
      this.assertOpen();
      const file = this.logFile;
      this.fd = storageIo(`reopen ${file}`, () => fs.openSync(file, 'r+'));
    }
    if (!this.active && this.state === 'open') this.pool.touch(this);
    return this.fd;
  }

  /** Kafka's rule: an entry for the append that starts after more than an interval of unindexed bytes. */
  private indexBatch(position: Position, baseOffset: Offset, bytes: number): void {
    if (this.bytesSinceIndexEntry > this.config.indexIntervalBytes) {
      this.offsetIndex.append(baseOffset, position);
      this.appendFinalTimeIndexEntry();
      this.bytesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += bytes;
  }

  /** Records the max timestamp so far in the time index, so it is known without a scan. */
  private appendFinalTimeIndexEntry(): void {
    if (this.maxTs >= 0) this.timeIndex.maybeAppend(this.maxTs, this.offsetOfMaxTs);
  }

  private noteTimestamp(timestamp: number, lastOffset: Offset): void {
    if (timestamp > this.maxTs) {
      this.maxTs = timestamp;
      this.offsetOfMaxTs = lastOffset;
    }
  }

  /** The header of the batch at `position`; it must be there (offsets were located through the index). */
  private readHeaderAt(position: number): BatchLocation {
    const location = this.headerAt(position);
    invariant(location !== undefined, () => `no whole batch at ${position} of ${this.logFile} (${this.size} bytes)`);
    return location;
  }

  /**
   * Reads the header of the batch at `position` (sync); undefined if no whole batch fits there.
   * Headers come from a window of the file read in one call; the bytes below `size` never change
   * while the segment is open except through truncation or recovery, which drop the window.
   */
  private headerAt(position: number): BatchLocation | undefined {
    if (position + BATCH_HEADER_BYTES > this.size) return undefined;
    let window = this.window;
    if (window === undefined || position < window.start || position + BATCH_HEADER_BYTES > window.start + window.bytes.length) {
      const bytes = window?.bytes.length === HEADER_WINDOW_BYTES ? window.bytes : Buffer.allocUnsafe(HEADER_WINDOW_BYTES);
      const length = this.readFully(bytes, 0, Math.min(HEADER_WINDOW_BYTES, this.size - position), position);
      window = this.window = { start: position, bytes: length === HEADER_WINDOW_BYTES ? bytes : bytes.subarray(0, length) };
    }
    const at = position - window.start;
    const sizeBytes = LOG_OVERHEAD_BYTES + window.bytes.readInt32BE(at + BatchField.batchLength);
    if (sizeBytes < BATCH_HEADER_BYTES || position + sizeBytes > this.size) return undefined;
    return {
      position: asPosition(position),
      sizeBytes,
      baseOffset: asOffset(readInt64(window.bytes, at + BatchField.baseOffset)),
      lastOffset: lastOffsetOf(window.bytes, at),
      maxTimestamp: readInt64(window.bytes, at + BatchField.maxTimestamp),
      partitionLeaderEpoch: window.bytes.readInt32BE(at + BatchField.partitionLeaderEpoch) as Epoch,
    };
  }

  private readFully(buffer: Buffer, offset: number, length: number, position: number): number {
    let done = 0;
    while (done < length) {
      const fd = this.descriptor();
      const n = storageIo(`read of ${this.logFile}`, () => fs.readSync(fd, buffer, offset + done, length - done, position + done));
      if (n === 0) break;
      done += n;
    }
    return done;
  }
}

/** Runs a filesystem call, turning its failure into KAFKA_STORAGE_ERROR naming what failed. */
function storageIo<T>(what: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw new LogError('KAFKA_STORAGE_ERROR', `${what} failed`, { cause: error });
  }
}

function readAsync(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buffer, offset, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
  });
}

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.fdatasync(fd, (error) => (error ? reject(error) : resolve()));
  });
}
