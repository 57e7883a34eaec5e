/**
 * Key-based compaction of a partition log's sealed segments: Kafka's log cleaner, simplified to
 * one output segment per input segment.
 *
 * Algorithm (all segments given are sealed, oldest first; the active segment is never among them):
 * 1. Offset map. Read every batch of every segment and record, per key, the offset of its latest
 *    record and whether that record is a tombstone (a null value). While building it, count per
 *    segment the records a later record of the same key supersedes; afterwards, mark the segments
 *    whose latest-for-its-key tombstones have expired: the segment's max timestamp is older than
 *    `now - deleteRetentionMs`. A segment with nothing to remove is left alone: not even reread.
 * 2. Rewrite, oldest segment first. A record stays iff it is the latest of its key and is not an
 *    expired tombstone. A batch that keeps every record is copied byte for byte; one that keeps
 *    some is re-encoded (`encodeRetainedBatch`: same base offset, last offset delta, codec, epoch,
 *    timestamps and producer fields, each record at its own offset); one that keeps none is dropped.
 *    Offsets and order never change, so a consumer's position stays meaningful across compactions.
 * Records with a null key are always kept. Kafka rejects them on a compacted topic at produce time;
 * Strata accepts them there, and a record that no key can supersede is simply never removed.
 * Control batches (transaction markers) are copied as they are and their keys stay out of the map.
 * Transactions (Kafka's rules): the Log hands over only segments below the first unstable offset,
 * so every transactional batch here belongs to a transaction with a known end. The records of an
 * aborted one (a transactional batch of producer p at an offset inside one of p's aborted ranges
 * from the `.txnindex` files, `abortedTxns`) are removed and never enter the map: an aborted record
 * must not supersede a committed one. A committed transaction's records are compacted like any.
 * A batch left empty is dropped even if it carried producer state. Kafka keeps it, so that a
 * rebuild from the log still sees the producer's last sequence; Strata's producer state lives in
 * memory and in snapshots, and only a rebuild from headers older than the snapshots (a truncation
 * below every snapshot, or none at all) can miss a producer's batch that compaction emptied.
 *
 * Oldest first matters for tombstones: a run that stops midway (a crash, a change under it) has
 * removed the records a tombstone deletes before, never after, the tombstone itself, so a deleted
 * key cannot come back.
 *
 * Memory: the map holds one entry per distinct key of the sealed segments: the key's bytes as a
 * latin1 string (one char per byte, so distinct keys stay distinct) and one number, plus per segment
 * a few counters. It is bounded by the number of distinct keys, not by the log's size; a topic with
 * unbounded keys needs unbounded memory here. Kafka bounds it instead: its SkimpyOffsetMap is a
 * fixed-size dedupe buffer (`log.cleaner.dedupe.buffer.size`) of 16-byte key digests and offsets,
 * built over the dirty section only (from the cleaner checkpoint to the first uncleanable offset);
 * when it fills, that run cleans only up to the last offset it covered and the next run goes on.
 * Strata keeps no clean/dirty checkpoint yet, so every run rereads every sealed segment once (and
 * rewrites only those that change).
 *
 * Files, for a segment `<base>.log` that changes:
 *
 *   <base>.log.cleaned   written and fdatasynced here; never committed, deleted by recovery
 *   <base>.log.swap      the `.cleaned` file renamed: the commit point, made durable by fsyncing
 *                        the directory; recovery renames it over `<base>.log`
 *   <base>.log           replaced by the `.swap` in `commitSwap` (Log.swapInCleaned), which first
 *                        deletes `<base>.index` and `<base>.timeindex` and then rebuilds them
 *
 * The cleaner writes no index files: the Log rebuilds them from the swapped-in `.log`. Why a crash
 * at any point recovers to the old segment or the new one, never a mix (`completeInterruptedSwaps`
 * in log.ts runs first thing in `Log.open`):
 * - while `.cleaned` is written or before its rename: the live `.log` and its indexes are untouched;
 *   recovery deletes the `.cleaned`. Old segment.
 * - after the rename to `.swap` (atomic, and the `.swap` is complete: fdatasynced before it):
 *   recovery deletes the live indexes, whatever state they are in, and renames the `.swap` over the
 *   `.log`, then rescans it. New segment. If the directory fsync had not made the rename durable,
 *   the crash leaves a `.cleaned` instead: old segment.
 * - inside `commitSwap`, after the indexes are deleted but before the rename: as above, new segment
 *   (the old `.log` without indexes would also be fine: recovery rebuilds them).
 * - after the rename over `.log`: the new `.log`, with rebuilt or missing indexes. New segment.
 *
 * Concurrency: one thread, and the Log runs one compaction at a time. Appends and reads go on at
 * every await here: appends only touch the active segment, which is never compacted, and readers
 * holding a replaced segment finish on its still-open descriptor. The cleaner reads segments through
 * `Segment.read` (a counted reader) and changes nothing the Log sees except inside `commitSwap`,
 * called synchronously right after a last check that the segments are as the map saw them.
 * Retention deleting old segments meanwhile is harmless: their records are older than anything
 * that supersedes a survivor. `commitSwap` returns false for a segment gone and the run goes on; a
 * segment that goes while the run reads it (LOG_CLOSED) ends the run, which a later run finishes.
 * A truncation is not harmless, during a run or after it: a record removed because a later one
 * superseded it is lost for good once that later one is truncated away. So the Log must hand the
 * cleaner only segments wholly below the high watermark, which is never truncated (Kafka's cleaner
 * stops at the first uncleanable offset for the same reason). As a second line of defence, the run
 * stops, deleting its own files, as soon as a segment it read changed size or the newest one it
 * read was deleted or replaced (a truncation that reaches into the segments read always shrinks or
 * deletes the newest of them).
 */
import fs from 'node:fs';
import { batchSizeAt, CONTROL_FLAG, TRANSACTIONAL_FLAG, validateBatch, type BatchHeader } from './batch-header.js';
import type { LogConfig } from './config.js';
import { fsyncDirectoryAsync } from './directory.js';
import { LogError } from './errors.js';
import { invariant } from './invariant.js';
import { BATCH_HEADER_BYTES, LOG_OVERHEAD_BYTES, MAX_BATCH_BYTES_CEILING } from './limits.js';
import { decodeBatches, encodeRetainedBatch, type Record } from './record-batch.js';
import type { Segment } from './segment.js';
import type { AbortedTxn } from './transaction-index.js';
import { asPosition, type Offset } from './units.js';

/** Suffixes of a segment being cleaned and of one committed to replace the live file; log.ts recovers both. */
export const CLEANED_SUFFIX = '.cleaned';
export const SWAP_SUFFIX = '.swap';

/** Bytes read from a segment at a time; a larger batch is read whole on its own. */
const READ_CHUNK_BYTES = 4 * 1024 * 1024;

export interface CompactionTarget {
  /** The log's directory, fsynced once each `.swap` file exists. */
  dir: string;
  config: LogConfig;
  /** The log's clock when the run began: tombstones expire relative to it. */
  now: number;
  /** The sealed segments, oldest first; never the active one; all below the first unstable offset. */
  segments: readonly Segment[];
  /** The aborted transactions that may hold records of these segments (the log's `.txnindex` entries). */
  abortedTxns: readonly AbortedTxn[];
  /**
   * Replaces `old` by `<old.logFile>.swap`, synchronously. Returns false if `old` is no longer in
   * the log (deleted or truncated meanwhile); it has then removed the `.swap` file.
   */
  commitSwap(old: Segment): boolean;
}

export interface CompactionResult {
  /** Segments rewritten and swapped in. */
  segmentsCleaned: number;
  /** Total size of the segments the run was given, before it started... */
  bytesBefore: number;
  /** ...and after it finished: the swapped segments at their new size, the others unchanged. */
  bytesAfter: number;
  /** Records removed from swapped-in segments, tombstones included. */
  recordsRemoved: number;
  /** Of those, tombstones removed because they expired (superseded tombstones are not counted here). */
  tombstonesRemoved: number;
  /** Of those, records of aborted transactions. */
  abortedRecordsRemoved: number;
}

export function emptyCompactionResult(): CompactionResult {
  return { segmentsCleaned: 0, bytesBefore: 0, bytesAfter: 0, recordsRemoved: 0, tombstonesRemoved: 0, abortedRecordsRemoved: 0 };
}

/** One segment as the run first saw it, with what the map says it will lose. */
interface SegmentSnapshot {
  readonly segment: Segment;
  readonly sizeBytes: number;
  readonly nextOffset: Offset;
  /** Records a later record with the same key supersedes. */
  superseded: number;
  /** Records that are the latest of their key but expired tombstones. */
  expiredTombstones: number;
  /** Records of aborted transactions. */
  aborted: number;
  /** The segment's newest record is older than `now - deleteRetentionMs`: its tombstones may go. */
  readonly tombstonesExpired: boolean;
}

/** The log changed under the run in a way that makes its map untrustworthy: stop, keep what is swapped. */
class LogChanged extends Error {}

/**
 * The cleaner could not make sense of a segment's data: a batch whose records do not decode, or
 * bytes that break the batch format's rules (offsets out of order, a batch cut short). The bytes
 * passed the CRC and header checks when they were written or recovered, so only the records inside
 * are at fault: reads and appends are unharmed, but compacting the log again would fail the same
 * way. Kafka's LogCleaner marks such a partition uncleanable until restart; so does the Log.
 * Nothing the run wrote for that segment is left behind, and the segment itself is unchanged.
 * The cleaner's assertions about the bytes it reads end up here too: they describe stored data,
 * not the program's state, so they must not stop the process (a restart would meet them again).
 */
export class SegmentUncleanable extends LogError {
  /** The `.log` file holding the data the cleaner could not read. */
  readonly segment: string;

  constructor(segment: string, cause: unknown) {
    const name = cause instanceof LogError ? cause.errorName : 'CORRUPT_MESSAGE';
    super(name, `compaction cannot read ${segment}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.segment = segment;
  }
}

/**
 * Compacts `target.segments` (see the file comment). Resolves with what was done; stops early,
 * without error, if the log was truncated, closed or had the segments deleted under it. I/O errors
 * reject with KAFKA_STORAGE_ERROR after deleting the run's own files; the live segments are intact.
 * Data the cleaner cannot read (records that do not decode, batches out of order) rejects with
 * `SegmentUncleanable` naming the segment; that segment is left as it is.
 */
export async function compactLog(target: CompactionTarget): Promise<CompactionResult> {
  const result = emptyCompactionResult();
  const horizon = target.now - target.config.deleteRetentionMs;
  const snapshots: SegmentSnapshot[] = target.segments.map((segment) => ({
    segment,
    sizeBytes: segment.sizeBytes,
    nextOffset: segment.nextOffset,
    superseded: 0,
    expiredTombstones: 0,
    aborted: 0,
    tombstonesExpired: segment.maxTimestamp < horizon,
  }));
  const newest = snapshots.at(-1);
  if (newest === undefined) return result;
  result.bytesBefore = snapshots.reduce((sum, s) => sum + s.sizeBytes, 0);
  result.bytesAfter = result.bytesBefore;
  // Taken synchronously with the segment list, so it identifies the file the snapshot describes.
  const newestFile = fileIdentity(newest.segment.logFile);
  const unchanged = (snapshot: SegmentSnapshot): boolean =>
    isUnchanged(snapshot) && isUnchanged(newest) && fileIdentity(newest.segment.logFile) === newestFile;

  try {
    const aborted = new AbortedRanges(target.abortedTxns);
    const map = await buildOffsetMap(snapshots, aborted, unchanged);
    countExpiredTombstones(map, snapshots);
    for (const snapshot of snapshots) {
      if (snapshot.superseded + snapshot.expiredTombstones + snapshot.aborted === 0) continue;
      const cleaned = await cleanSegment(snapshot, map, aborted, unchanged);
      const cleanedFile = snapshot.segment.logFile + CLEANED_SUFFIX;
      const swapFile = snapshot.segment.logFile + SWAP_SUFFIX;
      // Checked and renamed in one tick: a `.swap` is never committed for a segment already changed.
      // The segment can still go during the directory fsync below (retention); if a crash follows,
      // recovery must drop a `.log.swap` that has no live `.log` rather than revive it.
      discardUnless(unchanged(snapshot), cleanedFile);
      commitCleaned(cleanedFile, swapFile);
      await fsyncDirectoryAsync(target.dir).catch((error: unknown) => {
        fs.rmSync(swapFile, { force: true });
        throw storageError(`fsync of ${target.dir} failed`, error);
      });
      // From this check to the swap nothing can run: the map is still true of the log.
      discardUnless(unchanged(snapshot), swapFile);
      if (!target.commitSwap(snapshot.segment)) continue;
      result.segmentsCleaned += 1;
      result.bytesAfter -= snapshot.sizeBytes - cleaned.sizeBytes;
      result.recordsRemoved += snapshot.superseded + snapshot.expiredTombstones + snapshot.aborted;
      result.tombstonesRemoved += snapshot.expiredTombstones;
      result.abortedRecordsRemoved += snapshot.aborted;
    }
  } catch (error) {
    if (!(error instanceof LogChanged)) throw error;
  }
  return result;
}

/** Per producer, the offset ranges [firstOffset, marker] of its aborted transactions. */
class AbortedRanges {
  readonly #ranges = new Map<number, Array<readonly [Offset, Offset]>>();

  constructor(txns: readonly AbortedTxn[]) {
    for (const txn of txns) {
      const list = this.#ranges.get(txn.producerId) ?? [];
      list.push([txn.firstOffset, txn.lastOffset]);
      this.#ranges.set(txn.producerId, list);
    }
  }

  /** True for a transactional data batch that belongs to one of its producer's aborted transactions. */
  holds(header: BatchHeader): boolean {
    if ((header.attributes & TRANSACTIONAL_FLAG) === 0 || (header.attributes & CONTROL_FLAG) !== 0) return false;
    const ranges = this.#ranges.get(header.producerId);
    return ranges !== undefined && ranges.some(([first, last]) => header.baseOffset >= first && header.baseOffset <= last);
  }
}

/**
 * key → offset of its latest record, and whether that record is a tombstone. One number per key:
 * `offset` for a value, `-1 - offset` for a tombstone.
 */
class OffsetMap {
  readonly #entries = new Map<string, number>();

  /** Records `offset` as the latest for `key`; returns the offset it replaces, if any. */
  put(key: string, offset: Offset, tombstone: boolean): Offset | undefined {
    const previous = this.#entries.get(key);
    this.#entries.set(key, tombstone ? -1 - offset : offset);
    return previous === undefined ? undefined : offsetOf(previous);
  }

  /** Offset of the latest record of `key`; undefined if the key was never seen. */
  latest(key: string): Offset | undefined {
    const entry = this.#entries.get(key);
    return entry === undefined ? undefined : offsetOf(entry);
  }

  /** Offsets of the keys whose latest record is a tombstone. */
  *tombstones(): Generator<Offset> {
    for (const entry of this.#entries.values()) if (entry < 0) yield offsetOf(entry);
  }
}

function offsetOf(entry: number): Offset {
  return (entry < 0 ? -1 - entry : entry) as Offset;
}

/** The map key of a record key: latin1 maps each byte to one char, so it is exact and cheap. */
function mapKey(key: Buffer): string {
  return key.toString('latin1');
}

/** Step 1: the offset map over every segment, counting per segment the records superseded and the aborted ones. */
async function buildOffsetMap(
  snapshots: SegmentSnapshot[],
  aborted: AbortedRanges,
  unchanged: (s: SegmentSnapshot) => boolean,
): Promise<OffsetMap> {
  const map = new OffsetMap();
  for (const snapshot of snapshots) {
    let previousOffset = -1;
    await forEachChunk(snapshot, unchanged, (chunk) => {
      for (const { header, records } of decodeBatches(chunk)) {
        invariant(header.baseOffset > previousOffset, () =>
          `batch at offset ${header.baseOffset} follows ${previousOffset} in ${snapshot.segment.logFile}`);
        previousOffset = header.baseOffset + header.lastOffsetDelta;
        if ((header.attributes & CONTROL_FLAG) !== 0) continue;
        if (aborted.holds(header)) {
          snapshot.aborted += records.length;
          continue;
        }
        for (const record of records) {
          if (record.key === null) continue;
          const replaced = map.put(mapKey(record.key), record.offset, record.value === null);
          if (replaced !== undefined) segmentHolding(snapshots, replaced).superseded += 1;
        }
      }
    });
  }
  return map;
}

/** Counts, per segment whose tombstones expired, the tombstones that are the latest of their key. */
function countExpiredTombstones(map: OffsetMap, snapshots: SegmentSnapshot[]): void {
  for (const offset of map.tombstones()) {
    const snapshot = segmentHolding(snapshots, offset);
    if (snapshot.tombstonesExpired) snapshot.expiredTombstones += 1;
  }
}

/** The snapshot whose segment holds `offset` (the last one based at or below it). */
function segmentHolding(snapshots: SegmentSnapshot[], offset: Offset): SegmentSnapshot {
  let low = 0;
  let high = snapshots.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >>> 1;
    if ((snapshots[mid] as SegmentSnapshot).segment.baseOffset <= offset) low = mid;
    else high = mid - 1;
  }
  const snapshot = snapshots[low] as SegmentSnapshot;
  invariant(offset >= snapshot.segment.baseOffset && offset < snapshot.nextOffset, () =>
    `offset ${offset} is in no segment being compacted`);
  return snapshot;
}

/**
 * Step 2 for one segment: writes its survivors to `<base>.log.cleaned` and fdatasyncs it. Checks
 * that it removed exactly what step 1 predicted. Deletes the file again on any failure.
 */
async function cleanSegment(
  snapshot: SegmentSnapshot,
  map: OffsetMap,
  aborted: AbortedRanges,
  unchanged: (s: SegmentSnapshot) => boolean,
): Promise<{ sizeBytes: number }> {
  const file = snapshot.segment.logFile + CLEANED_SUFFIX;
  let handle: fs.promises.FileHandle | undefined;
  let written = 0;
  let superseded = 0;
  let expiredTombstones = 0;
  let abortedRecords = 0;
  try {
    handle = await fs.promises.open(file, 'w').catch((error: unknown) => {
      throw storageError(`cannot create ${file}`, error);
    });
    const output = handle;
    await forEachChunk(snapshot, unchanged, async (chunk) => {
      const pieces: Buffer[] = [];
      let position = 0;
      for (const { header, records } of decodeBatches(chunk)) {
        const raw = chunk.subarray(position, position + header.sizeBytes);
        position += header.sizeBytes;
        if ((header.attributes & CONTROL_FLAG) !== 0) {
          pieces.push(raw);
          continue;
        }
        if (aborted.holds(header)) {
          abortedRecords += records.length;
          continue;
        }
        const retained: Record[] = [];
        for (const record of records) {
          if (record.key === null) {
            retained.push(record);
          } else if (map.latest(mapKey(record.key)) !== record.offset) {
            superseded += 1;
          } else if (record.value === null && snapshot.tombstonesExpired) {
            expiredTombstones += 1;
          } else {
            retained.push(record);
          }
        }
        if (retained.length === records.length) pieces.push(raw);
        else if (retained.length > 0) pieces.push(reencode(header, retained));
      }
      invariant(position === chunk.length, () =>
        `chunk of ${snapshot.segment.logFile} has ${chunk.length - position} bytes after its last batch`);
      const bytes = Buffer.concat(pieces);
      await writeFully(output, bytes, written, file);
      written += bytes.length;
    });
    invariant(
      superseded === snapshot.superseded && expiredTombstones === snapshot.expiredTombstones && abortedRecords === snapshot.aborted,
      () => `${snapshot.segment.logFile}: the map predicted ${snapshot.superseded} superseded, ${snapshot.expiredTombstones} ` +
        `expired and ${snapshot.aborted} aborted records, the rewrite removed ${superseded}, ${expiredTombstones} and ${abortedRecords}`,
    );
    await output.datasync().catch((error: unknown) => {
      throw storageError(`fdatasync of ${file} failed`, error);
    });
    await output.close();
    handle = undefined;
    return { sizeBytes: written };
  } catch (error) {
    await handle?.close().catch(() => undefined);
    fs.rmSync(file, { force: true });
    throw error;
  }
}

/**
 * The survivors of a batch as a new batch at the same offsets, checked like any batch read from
 * disk before it is written: a bad encoding must fail here, not in recovery after the swap.
 */
function reencode(header: BatchHeader, retained: readonly Record[]): Buffer {
  const batch = encodeRetainedBatch(header, retained);
  const check = validateBatch(batch, 0, batch.length, MAX_BATCH_BYTES_CEILING, false);
  invariant(
    check.baseOffset === header.baseOffset &&
      check.lastOffsetDelta === header.lastOffsetDelta &&
      check.recordsCount === retained.length,
    () => `re-encoded batch at offset ${header.baseOffset} does not keep its offsets`,
  );
  return batch;
}

/**
 * Reads the segment's first `snapshot.sizeBytes` bytes as chunks of whole batches and hands each
 * to `visit`, in order. Throws LogChanged if the segment (or the log) changed or closed meanwhile,
 * KAFKA_STORAGE_ERROR if the disk failed, and `SegmentUncleanable` for anything else: data that
 * does not decode or breaks the format's rules.
 */
async function forEachChunk(
  snapshot: SegmentSnapshot,
  unchanged: (s: SegmentSnapshot) => boolean,
  visit: (chunk: Buffer) => void | Promise<void>,
): Promise<void> {
  try {
    await visitChunks(snapshot, unchanged, visit);
  } catch (error) {
    if (error instanceof LogChanged || (error instanceof LogError && error.errorName === 'KAFKA_STORAGE_ERROR')) throw error;
    throw new SegmentUncleanable(snapshot.segment.logFile, error);
  }
}

async function visitChunks(
  snapshot: SegmentSnapshot,
  unchanged: (s: SegmentSnapshot) => boolean,
  visit: (chunk: Buffer) => void | Promise<void>,
): Promise<void> {
  let position = 0;
  while (position < snapshot.sizeBytes) {
    let chunk = await readRange(snapshot, unchanged, position, Math.min(READ_CHUNK_BYTES, snapshot.sizeBytes - position));
    let whole = wholeBatchesLength(chunk);
    if (whole === 0) {
      // The next batch is larger than a chunk: read just that batch.
      const size = batchSizeAt(chunk, 0);
      invariant(size >= BATCH_HEADER_BYTES && position + size <= snapshot.sizeBytes, () =>
        `bad batch length ${size} at ${position} of ${snapshot.segment.logFile}`);
      chunk = await readRange(snapshot, unchanged, position, size);
      whole = size;
    }
    await visit(chunk.subarray(0, whole));
    position += whole;
  }
}

async function readRange(
  snapshot: SegmentSnapshot,
  unchanged: (s: SegmentSnapshot) => boolean,
  from: number,
  length: number,
): Promise<Buffer> {
  // Checked in the same tick as the read starts: Segment.read asserts the range is inside the file.
  if (!unchanged(snapshot)) throw new LogChanged();
  try {
    return await snapshot.segment.read(asPosition(from), asPosition(from + length));
  } catch (error) {
    // The segment was deleted or the log closed: LOG_CLOSED, an operating error, not a failure.
    if (error instanceof LogError && error.errorName === 'LOG_CLOSED') throw new LogChanged();
    throw error;
  }
}

function isUnchanged(snapshot: SegmentSnapshot): boolean {
  return snapshot.segment.sizeBytes === snapshot.sizeBytes && snapshot.segment.nextOffset === snapshot.nextOffset;
}

/** The file's inode, or undefined if it is gone: a segment deleted and recreated under the same name differs. */
function fileIdentity(file: string): bigint | undefined {
  return fs.statSync(file, { bigint: true, throwIfNoEntry: false })?.ino;
}

/** Length of the longest prefix of `bytes` made of whole batches. */
function wholeBatchesLength(bytes: Buffer): number {
  let position = 0;
  while (position + LOG_OVERHEAD_BYTES <= bytes.length) {
    const size = batchSizeAt(bytes, position);
    if (size < BATCH_HEADER_BYTES || position + size > bytes.length) break;
    position += size;
  }
  return position;
}

async function writeFully(handle: fs.promises.FileHandle, bytes: Buffer, at: number, file: string): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, at + done).catch((error: unknown) => {
      throw storageError(`write to ${file} failed`, error);
    });
    done += bytesWritten;
  }
}

/** The commit point: `.cleaned` becomes `.swap`. Synchronous, so nothing runs between the last check and it. */
function commitCleaned(cleanedFile: string, swapFile: string): void {
  try {
    fs.renameSync(cleanedFile, swapFile);
  } catch (error) {
    fs.rmSync(cleanedFile, { force: true });
    throw storageError(`rename of ${cleanedFile} to ${swapFile} failed`, error);
  }
}

/** Ends the run, deleting `file`, unless the log is still as the map saw it. */
function discardUnless(unchanged: boolean, file: string): void {
  if (unchanged) return;
  fs.rmSync(file, { force: true });
  throw new LogChanged();
}

function storageError(detail: string, cause: unknown): LogError {
  return new LogError('KAFKA_STORAGE_ERROR', `compaction: ${detail}`, { cause });
}
