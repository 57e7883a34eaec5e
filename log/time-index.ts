/**
 * A segment's time index (Kafka's `.timeindex`): a sparse map from timestamps to offsets, used to find
 * where to start reading for "the first record at or after time T" (ListOffsets by timestamp) and to
 * know a segment's largest timestamp, for time-based retention, without reading its .log.
 *
 * On disk: 12-byte entries, back to back from byte 0, no header.
 *
 *   byte 0                         8                12
 *   +------------------------------+----------------+
 *   | timestamp                    | relativeOffset |   timestamp      ms since the epoch   int64 BE
 *   +------------------------------+----------------+   relativeOffset offset - baseOffset  int32 BE
 *
 * An entry (T, O) means: T is the largest timestamp in the segment up to and including the batch
 * whose last offset is O. So no record with a timestamp > T sits at or before O, and a search for
 * timestamp >= target can start from the batch holding O of the greatest entry with T <= target
 * (the segment resolves O through the offset index, then scans).
 *
 * The int64 timestamp is read as two int32 halves, `hi * 2^32 + lo`, exact for every timestamp a JS
 * number holds (|t| < 2^53): in a binary search on Node 20 that is about 5x faster than
 * `readBigInt64BE`, which allocates a BigInt per probe (measured in bench/index-lookup.bench.ts).
 *
 * Invariants, asserted on append and checked by `isSane` after a load:
 * - Timestamps strictly increase and are >= 0: an entry is added only for a timestamp above the last
 *   one, and an empty index counts as (-1 = no timestamp, baseOffset), as in Kafka.
 * - Offsets never decrease, and 0 <= relativeOffset <= 2^31 - 1.
 * - The last slot is kept for the entry a segment writes when it stops being active (its largest
 *   timestamp, which the sparse entries may have skipped): `isFull` reports full one entry early, so
 *   the log rolls while that slot is free, and `maybeAppend` only refuses past the real capacity.
 *   Without it a segment rolled on a full time index could not record its largest timestamp, would
 *   underestimate it after a restart, and could be deleted by time retention too early. (Kafka's
 *   `TimeIndex.isFull` keeps the same slot.)
 *
 * Persisted lazily like the offset index (see `index-file.ts`) and rebuilt from the .log after an
 * unclean stop.
 *
 * Concurrency: single-threaded; synchronous fs calls, except `sync()`'s fdatasync.
 */
import { IndexFile, INT32_MAX, int32LowerBound } from './index-file.js';
import { invariant } from './invariant.js';
import { TIME_INDEX_ENTRY_BYTES } from './limits.js';
import { asOffset } from './units.js';
import type { Offset } from './units.js';

const ENTRY_BYTES = TIME_INDEX_ENTRY_BYTES;
const TIMESTAMP_HI_FIELD = 0;
const TIMESTAMP_LO_FIELD = 4;
const RELATIVE_OFFSET_FIELD = 8;
const TWO_POW_32 = 2 ** 32;

/** Kafka's RecordBatch.NO_TIMESTAMP: what an empty index's lookup reports. */
const NO_TIMESTAMP = -1;

export interface TimestampOffset {
  readonly timestamp: number;
  readonly offset: Offset;
}

export class TimeIndex {
  readonly baseOffset: Offset;
  readonly #entries: IndexFile;

  private constructor(entries: IndexFile, baseOffset: Offset) {
    this.#entries = entries;
    this.baseOffset = baseOffset;
  }

  /** Opens `file`, creating it when missing; a trailing partial entry is not loaded. */
  static open(file: string, baseOffset: Offset, maxIndexBytes: number): TimeIndex {
    invariant(Number.isSafeInteger(baseOffset) && baseOffset >= 0, () => `base offset ${baseOffset} >= 0`);
    return new TimeIndex(IndexFile.open(file, ENTRY_BYTES, maxIndexBytes), baseOffset);
  }

  get file(): string {
    return this.#entries.file;
  }

  get entryCount(): number {
    return this.#entries.entryCount;
  }

  /** Full one entry before capacity: the last slot is kept for the roll entry (see the header). */
  get isFull(): boolean {
    return this.#entries.entryCount >= this.#entries.maxEntries - 1;
  }

  get sizeBytes(): number {
    return this.#entries.entryCount * ENTRY_BYTES;
  }

  lastEntry(): TimestampOffset | undefined {
    const n = this.#entries.entryCount;
    return n === 0 ? undefined : this.#entryAt(n - 1);
  }

  /**
   * Records that `timestamp` is the largest timestamp up to the batch whose last offset is `offset`;
   * a no-op unless `timestamp` is above the last entry's. May fill the slot `isFull` keeps back.
   */
  maybeAppend(timestamp: number, offset: Offset): void {
    const entries = this.#entries;
    const n = entries.entryCount;
    const relative = offset - this.baseOffset;
    invariant(Number.isSafeInteger(timestamp), () => `timestamp ${timestamp} is an integer`);
    invariant(Number.isInteger(relative) && relative >= 0 && relative <= INT32_MAX,
      () => `offset ${offset} within int32 of base offset ${this.baseOffset}`);
    let lastTimestamp = NO_TIMESTAMP;
    if (n > 0) {
      const view = entries.view;
      const last = (n - 1) * ENTRY_BYTES;
      lastTimestamp = timestampAt(view, last);
      const lastRelative = view.getInt32(last + RELATIVE_OFFSET_FIELD);
      invariant(relative >= lastRelative,
        () => `time index offsets never decrease: ${offset} after ${this.baseOffset + lastRelative}`);
    }
    if (timestamp <= lastTimestamp) return;
    // appendSlot asserts the real capacity, which is one entry past `isFull`.
    const at = entries.appendSlot();
    const view = entries.view;
    // A timestamp here is > -1, so both halves are unsigned.
    view.setUint32(at + TIMESTAMP_HI_FIELD, Math.floor(timestamp / TWO_POW_32));
    view.setUint32(at + TIMESTAMP_LO_FIELD, timestamp >>> 0);
    view.setInt32(at + RELATIVE_OFFSET_FIELD, relative);
  }

  /**
   * The greatest entry whose timestamp is <= `target`, or `{ -1, baseOffset }` when there is none.
   * A binary search over the entries; the only allocation is the returned object.
   */
  lookup(target: number): TimestampOffset {
    const entries = this.#entries;
    const n = entries.entryCount;
    if (n === 0) return { timestamp: NO_TIMESTAMP, offset: this.baseOffset };
    const view = entries.view;
    // `!(<=)` also sends NaN to the segment's start.
    if (!(timestampAt(view, 0) <= target)) return { timestamp: NO_TIMESTAMP, offset: this.baseOffset };
    // Invariant of the loop: entry `lo` is <= target; every entry past `hi` is > target.
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (timestampAt(view, mid * ENTRY_BYTES) <= target) lo = mid;
      else hi = mid - 1;
    }
    return this.#entryAt(lo);
  }

  /** Drops every entry whose offset is >= `offset`, from memory and from the file. */
  truncateTo(offset: Offset): void {
    const entries = this.#entries;
    const n = entries.entryCount;
    const relative = offset - this.baseOffset;
    let keep: number;
    if (!(relative > 0)) keep = 0;
    else if (relative > INT32_MAX) keep = n;
    // Offsets are non-decreasing, so the entries to drop are a suffix found by binary search.
    else keep = int32LowerBound(entries.view, n, ENTRY_BYTES, RELATIVE_OFFSET_FIELD, relative);
    entries.truncateEntries(keep);
  }

  reset(): void {
    this.#entries.truncateEntries(0);
  }

  /**
   * Whether a loaded index can be trusted: whole entries only, timestamps exact integers >= 0 and
   * strictly increasing, offsets >= baseOffset and never decreasing. When it returns false the
   * caller resets the index and rebuilds it from the .log.
   */
  isSane(): boolean {
    const entries = this.#entries;
    if (!entries.isWholeEntries) return false;
    const view = entries.view;
    const n = entries.entryCount;
    let previousTimestamp = NO_TIMESTAMP;
    let previousRelative = 0;
    for (let at = 0; at < n * ENTRY_BYTES; at += ENTRY_BYTES) {
      const timestamp = timestampAt(view, at);
      const relative = view.getInt32(at + RELATIVE_OFFSET_FIELD);
      if (!Number.isSafeInteger(timestamp) || timestamp <= previousTimestamp || relative < previousRelative) {
        return false;
      }
      previousTimestamp = timestamp;
      previousRelative = relative;
    }
    return true;
  }

  persist(): void {
    this.#entries.persist();
  }

  sync(): Promise<void> {
    return this.#entries.sync();
  }

  /** Persists and closes the file; any later call but `close`, `delete` or `renameTo` throws. */
  close(): void {
    this.#entries.close();
  }

  delete(): void {
    this.#entries.delete();
  }

  renameTo(file: string): void {
    this.#entries.renameTo(file);
  }

  #entryAt(slot: number): TimestampOffset {
    const view = this.#entries.view;
    const at = slot * ENTRY_BYTES;
    return {
      timestamp: timestampAt(view, at),
      offset: asOffset(this.baseOffset + view.getInt32(at + RELATIVE_OFFSET_FIELD)),
    };
  }
}

/** The int64 BE timestamp at byte `at`; the high half signed, so a corrupt negative reads as negative. */
function timestampAt(view: DataView, at: number): number {
  return view.getInt32(at + TIMESTAMP_HI_FIELD) * TWO_POW_32 + view.getUint32(at + TIMESTAMP_LO_FIELD);
}
