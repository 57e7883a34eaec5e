/**
 * A segment's offset index (Kafka's `.index`): a sparse map from offsets to byte positions in the
 * segment's `.log`, one entry per ~`index.interval.bytes` appended, each pointing at the start of a
 * batch. A fetch binary-searches it for the greatest entry at or below the offset it wants, then scans
 * batch headers forward from that position.
 *
 * On disk: 8-byte entries, back to back from byte 0, no header.
 *
 *   byte 0          4          8
 *   +---------------+----------+
 *   | relativeOffset| position |   relativeOffset = offset - baseOffset   int32 BE
 *   +---------------+----------+   position       = byte in the .log      int32 BE
 *
 * The relative offset is the first offset of the batch the entry points at, which is never past the
 * offset a lookup returns it for, so the forward scan from its position always reaches the target.
 *
 * Invariants, asserted on append and checked by `isSane` after a load:
 * - 0 <= relativeOffset <= 2^31 - 1 (a segment spans no more offsets; the log rolls first).
 * - Offsets and positions strictly increase from entry to entry; only the first position may be 0.
 * - Every position is inside the .log.
 *
 * The index is not checksummed and is persisted lazily (see `index-file.ts`): after an unclean stop it
 * may be short or torn, and the segment rebuilds it from the .log, which is the source of truth.
 *
 * Concurrency: single-threaded; synchronous fs calls, except `sync()`'s fdatasync.
 */
import { IndexFile, INT32_MAX, int32LowerBound } from './index-file.js';
import { invariant } from './invariant.js';
import { OFFSET_INDEX_ENTRY_BYTES } from './limits.js';
import { asOffset, asPosition } from './units.js';
import type { Offset, Position } from './units.js';

const ENTRY_BYTES = OFFSET_INDEX_ENTRY_BYTES;
const RELATIVE_OFFSET_FIELD = 0;
const POSITION_FIELD = 4;

export interface OffsetPosition {
  readonly offset: Offset;
  readonly position: Position;
}

export class OffsetIndex {
  readonly baseOffset: Offset;
  readonly #entries: IndexFile;

  private constructor(entries: IndexFile, baseOffset: Offset) {
    this.#entries = entries;
    this.baseOffset = baseOffset;
  }

  /** Opens `file`, creating it when missing; a trailing partial entry is not loaded. */
  static open(file: string, baseOffset: Offset, maxIndexBytes: number): OffsetIndex {
    invariant(Number.isSafeInteger(baseOffset) && baseOffset >= 0, () => `base offset ${baseOffset} >= 0`);
    return new OffsetIndex(IndexFile.open(file, ENTRY_BYTES, maxIndexBytes), baseOffset);
  }

  get file(): string {
    return this.#entries.file;
  }

  get entryCount(): number {
    return this.#entries.entryCount;
  }

  get isFull(): boolean {
    return this.#entries.entryCount >= this.#entries.maxEntries;
  }

  get sizeBytes(): number {
    return this.#entries.entryCount * ENTRY_BYTES;
  }

  lastEntry(): OffsetPosition | undefined {
    const n = this.#entries.entryCount;
    return n === 0 ? undefined : this.#entryAt(n - 1);
  }

  /** Adds an entry for the batch starting at `position` whose base offset is `offset`. */
  append(offset: Offset, position: Position): void {
    const entries = this.#entries;
    const n = entries.entryCount;
    const relative = offset - this.baseOffset;
    invariant(Number.isInteger(relative) && relative >= 0 && relative <= INT32_MAX,
      () => `offset ${offset} within int32 of base offset ${this.baseOffset}`);
    invariant(Number.isInteger(position) && position >= 0 && position <= INT32_MAX,
      () => `position ${position} is a non-negative int32`);
    if (n > 0) {
      const view = entries.view;
      const last = (n - 1) * ENTRY_BYTES;
      const lastRelative = view.getInt32(last + RELATIVE_OFFSET_FIELD);
      const lastPosition = view.getInt32(last + POSITION_FIELD);
      invariant(relative > lastRelative,
        () => `index offsets increase: ${offset} after ${this.baseOffset + lastRelative}`);
      invariant(position > lastPosition, () => `index positions increase: ${position} after ${lastPosition}`);
    }
    const at = entries.appendSlot();
    const view = entries.view;
    view.setInt32(at + RELATIVE_OFFSET_FIELD, relative);
    view.setInt32(at + POSITION_FIELD, position);
  }

  /**
   * The greatest entry whose offset is <= `target`, or `{ baseOffset, 0 }` (the segment's start) when
   * there is none. A binary search over the entries; the only allocation is the returned object.
   */
  lookup(target: Offset): OffsetPosition {
    const entries = this.#entries;
    const n = entries.entryCount;
    let relative = target - this.baseOffset;
    // `!(>= 0)` also sends NaN to the segment's start.
    if (n === 0 || !(relative >= 0)) return { offset: this.baseOffset, position: asPosition(0) };
    if (relative > INT32_MAX) relative = INT32_MAX;
    const view = entries.view;
    if (view.getInt32(RELATIVE_OFFSET_FIELD) > relative) {
      return { offset: this.baseOffset, position: asPosition(0) };
    }
    // Invariant of the loop: entry `lo` is <= relative; every entry past `hi` is > relative.
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (view.getInt32(mid * ENTRY_BYTES + RELATIVE_OFFSET_FIELD) <= relative) lo = mid;
      else hi = mid - 1;
    }
    const at = lo * ENTRY_BYTES;
    return {
      offset: asOffset(this.baseOffset + view.getInt32(at + RELATIVE_OFFSET_FIELD)),
      position: asPosition(view.getInt32(at + POSITION_FIELD)),
    };
  }

  /** Drops every entry whose offset is >= `offset`, from memory and from the file. */
  truncateTo(offset: Offset): void {
    const entries = this.#entries;
    const n = entries.entryCount;
    const relative = offset - this.baseOffset;
    let keep: number;
    if (!(relative > 0)) keep = 0;
    else if (relative > INT32_MAX) keep = n;
    else keep = int32LowerBound(entries.view, n, ENTRY_BYTES, RELATIVE_OFFSET_FIELD, relative);
    entries.truncateEntries(keep);
  }

  /** Drops every entry whose position is >= `position`: recovery cut the .log there. */
  truncateToPosition(position: Position): void {
    const entries = this.#entries;
    const n = entries.entryCount;
    let keep: number;
    if (!(position > 0)) keep = 0;
    else if (position > INT32_MAX) keep = n;
    else keep = int32LowerBound(entries.view, n, ENTRY_BYTES, POSITION_FIELD, position);
    entries.truncateEntries(keep);
  }

  reset(): void {
    this.#entries.truncateEntries(0);
  }

  /**
   * Whether a loaded index can be trusted: whole entries only, relative offsets >= 0, offsets and
   * positions strictly increasing, every position inside a .log of `logSizeBytes`. When it returns
   * false the caller resets the index and rebuilds it from the .log.
   */
  isSane(logSizeBytes: number): boolean {
    const entries = this.#entries;
    if (!entries.isWholeEntries) return false;
    const view = entries.view;
    const n = entries.entryCount;
    let previousRelative = -1;
    let previousPosition = -1;
    for (let at = 0; at < n * ENTRY_BYTES; at += ENTRY_BYTES) {
      const relative = view.getInt32(at + RELATIVE_OFFSET_FIELD);
      const position = view.getInt32(at + POSITION_FIELD);
      if (relative <= previousRelative || position <= previousPosition || position >= logSizeBytes) return false;
      previousRelative = relative;
      previousPosition = position;
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

  #entryAt(slot: number): OffsetPosition {
    const view = this.#entries.view;
    const at = slot * ENTRY_BYTES;
    return {
      offset: asOffset(this.baseOffset + view.getInt32(at + RELATIVE_OFFSET_FIELD)),
      position: asPosition(view.getInt32(at + POSITION_FIELD)),
    };
  }
}
