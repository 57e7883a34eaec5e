/**
 * The machinery both sparse indexes share: a file of fixed-size entries, held in memory as a Buffer
 * that grows by doubling up to the index's ceiling, and written back to its file lazily.
 *
 * On disk the file is nothing but entries of E bytes (8 for `.index`, 12 for `.timeindex`), back to
 * back from byte 0, with no header, padding or checksum; each index's own header comment gives the
 * fields of its entry. In memory the same bytes sit in a Buffer, in the same big-endian layout, so
 * persisting is a plain copy:
 *
 *   0          E          2E                   pE                   nE            capacity
 *   +----------+----------+------ ... ---------+------ ... ---------+------ ... ---+
 *   | entry 0  | entry 1  |                    | not yet persisted  | free         |
 *   +----------+----------+------ ... ---------+------ ... ---------+------ ... ---+
 *   |<--------- in the file too (p = persistedCount) -->|           n = entryCount
 *
 * Why lazily: the .log is the source of truth and an index is rebuilt from it after an unclean stop,
 * so writing an entry through to the file on every append would put a syscall on the append path for
 * nothing. Entries reach the file on `persist()`, `sync()` and `close()`.
 *
 * Invariants:
 * - persistedCount <= entryCount <= maxEntries, and buffer.length >= entryCount * E.
 * - The file's first persistedCount entries equal the buffer's: truncation cuts the file before it
 *   forgets entries in memory, so a later persist never leaves a stale entry behind the new ones.
 * - A file that ends in a partial entry (a crash mid-write) loads only its whole entries; `fileBytes`
 *   keeps the true length so `isWholeEntries` can report the tear to the index's sanity check.
 * - Every fs failure surfaces as a `LogError('KAFKA_STORAGE_ERROR')`; misuse (an append to a full
 *   index, any call after close) is an `InvariantViolation`.
 *
 * Descriptors: none is held between calls. The entries live in memory, so the file is only ever
 * written (`persist`, `sync`, `truncateEntries`), which happens when a segment is sealed, truncated
 * or closed; each of those opens the file, writes and closes it again. A broker with thousands of
 * segments therefore holds no index descriptors at all, at the price of one open(2) per seal.
 *
 * Concurrency: single-threaded; every call is synchronous `fs.*Sync` except `sync()`, whose fdatasync
 * runs on libuv's thread pool on a descriptor of its own, closed when the fdatasync returns.
 */
import fs from 'node:fs';
import { LogError } from './errors.js';
import { invariant } from './invariant.js';

/** Relative offsets and positions are int32 on disk. */
export const INT32_MAX = 2 ** 31 - 1;

/** Small first allocation: a broker holds two indexes per segment and most segments are not active. */
const INITIAL_CAPACITY_ENTRIES = 64;

type State = 'open' | 'closed' | 'deleted';

export class IndexFile {
  readonly entryBytes: number;
  /** Entries the index may hold: the configured ceiling, or more if an existing file already does. */
  readonly maxEntries: number;

  #file: string;
  #state: State = 'open';

  #buffer: Buffer;
  /** Reads go through a DataView over the buffer: on Node 20 `getInt32` is 1.5-2x faster than
   * `Buffer#readInt32BE` in a binary search (bench/index-lookup.bench.ts). */
  #view: DataView;
  #entryCount: number;
  #persistedCount: number;
  #fileBytes: number;

  private constructor(file: string, entryBytes: number, maxEntries: number, buffer: Buffer,
    entryCount: number, fileBytes: number) {
    this.#file = file;
    this.entryBytes = entryBytes;
    this.maxEntries = maxEntries;
    this.#buffer = buffer;
    this.#view = viewOf(buffer);
    this.#entryCount = entryCount;
    this.#persistedCount = entryCount;
    this.#fileBytes = fileBytes;
  }

  /** Opens `file`, creating it when missing, and loads its whole entries. */
  static open(file: string, entryBytes: number, maxIndexBytes: number): IndexFile {
    invariant(Number.isInteger(entryBytes) && entryBytes > 0, 'entry size is a positive integer');
    invariant(Number.isSafeInteger(maxIndexBytes) && maxIndexBytes >= entryBytes,
      () => `maxIndexBytes ${maxIndexBytes} holds at least one ${entryBytes}-byte entry`);
    // O_CREAT without O_TRUNC: open what is there, or start empty.
    const fd = io('open', file, () => fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644));
    try {
      const fileBytes = io('stat', file, () => fs.fstatSync(fd).size);
      const entryCount = Math.floor(fileBytes / entryBytes);
      const maxEntries = Math.max(Math.floor(maxIndexBytes / entryBytes), entryCount);
      const capacity = Math.min(maxEntries, Math.max(entryCount, INITIAL_CAPACITY_ENTRIES));
      const buffer = Buffer.alloc(capacity * entryBytes);
      readFully(fd, file, buffer, entryCount * entryBytes);
      return new IndexFile(file, entryBytes, maxEntries, buffer, entryCount, fileBytes);
    } finally {
      io('close', file, () => fs.closeSync(fd));
    }
  }

  get file(): string {
    return this.#file;
  }

  get entryCount(): number {
    this.assertOpen();
    return this.#entryCount;
  }

  /** A DataView over the entries' bytes; valid until the next append (which may reallocate) or close. */
  get view(): DataView {
    this.assertOpen();
    return this.#view;
  }

  /** False when the file ends in a partial entry, as a crash mid-write can leave it. */
  get isWholeEntries(): boolean {
    this.assertOpen();
    return this.#fileBytes % this.entryBytes === 0;
  }

  assertOpen(): void {
    invariant(this.#state === 'open', () => `index ${this.#file} is ${this.#state}`);
  }

  /**
   * Makes room for one more entry and returns its byte position, to be written through a `view` read
   * after this call (the call may have reallocated the buffer under the previous one).
   */
  appendSlot(): number {
    this.assertOpen();
    const n = this.#entryCount;
    invariant(n < this.maxEntries, () => `index ${this.#file} is full (${n} entries)`);
    const at = n * this.entryBytes;
    if (at + this.entryBytes > this.#buffer.length) this.#grow();
    this.#entryCount = n + 1;
    return at;
  }

  /** Keeps the first `count` entries, in memory and in the file. */
  truncateEntries(count: number): void {
    this.assertOpen();
    invariant(Number.isInteger(count) && count >= 0 && count <= this.#entryCount,
      () => `truncate ${this.#file} to ${count} of ${this.#entryCount} entries`);
    const keepBytes = count * this.entryBytes;
    // Cut the file first: should ftruncate fail, memory still matches the file.
    if (this.#fileBytes > keepBytes) {
      io('truncate', this.#file, () => fs.truncateSync(this.#file, keepBytes));
      this.#fileBytes = keepBytes;
    }
    this.#entryCount = count;
    this.#persistedCount = Math.min(this.#persistedCount, count);
  }

  /** Writes the entries not yet in the file, at their own file position. No fsync. */
  persist(): void {
    this.assertOpen();
    if (this.#persistedCount === this.#entryCount) return;
    const fd = this.#openForWrite();
    try {
      this.#writePending(fd);
    } finally {
      io('close', this.#file, () => fs.closeSync(fd));
    }
  }

  /** `persist()`, then fdatasync: the entries written so far survive a power loss. */
  sync(): Promise<void> {
    this.assertOpen();
    const file = this.#file;
    const fd = this.#openForWrite();
    try {
      this.#writePending(fd);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    return new Promise<void>((resolve, reject) => {
      fs.fdatasync(fd, (syncErr) => {
        let err: unknown = syncErr === null ? undefined : new LogError('KAFKA_STORAGE_ERROR', `fdatasync ${file}`, { cause: syncErr });
        try {
          io('close', file, () => fs.closeSync(fd));
        } catch (closeErr) {
          err ??= closeErr;
        }
        if (err === undefined) resolve();
        else reject(err);
      });
    });
  }

  /** Persists and closes. Idempotent, so cleanup paths need not track whether they closed already. */
  close(): void {
    if (this.#state !== 'open') return;
    this.persist();
    this.#forget('closed');
  }

  /** Unlinks the file; entries not yet persisted are dropped, not written first. */
  delete(): void {
    invariant(this.#state !== 'deleted', () => `index ${this.#file} is already deleted`);
    io('unlink', this.#file, () => fs.unlinkSync(this.#file));
    this.#forget('deleted');
  }

  /** Renames the file; nothing is held open, so the index keeps working under its new name. */
  renameTo(file: string): void {
    invariant(this.#state !== 'deleted', () => `index ${this.#file} is deleted`);
    io('rename', this.#file, () => fs.renameSync(this.#file, file));
    this.#file = file;
  }

  #grow(): void {
    const capacity = Math.min(this.maxEntries, Math.max(1, (this.#buffer.length / this.entryBytes) * 2));
    const grown = Buffer.alloc(capacity * this.entryBytes);
    this.#buffer.copy(grown, 0, 0, this.#entryCount * this.entryBytes);
    this.#buffer = grown;
    this.#view = viewOf(grown);
  }

  #forget(state: State): void {
    this.#state = state;
    this.#buffer = Buffer.alloc(0);
    this.#view = viewOf(this.#buffer);
  }

  /** With O_CREAT, as `open` does; without O_TRUNC, as entries are written at their own positions. */
  #openForWrite(): number {
    return io('open', this.#file, () => fs.openSync(this.#file, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o644));
  }

  #writePending(fd: number): void {
    const from = this.#persistedCount * this.entryBytes;
    const to = this.#entryCount * this.entryBytes;
    let at = from;
    while (at < to) {
      const written = io('write', this.#file, () => fs.writeSync(fd, this.#buffer, at, to - at, at));
      at += written;
      // Whole entries only, so a failure after a short write leaves persistedCount truthful.
      this.#persistedCount = Math.floor(at / this.entryBytes);
      this.#fileBytes = Math.max(this.#fileBytes, at);
    }
  }
}

/**
 * The first slot in [0, count) whose int32 field at `fieldOffset` is >= `key`, or `count` if none;
 * the field must be non-decreasing across slots. Truncation uses it on offsets and positions.
 */
export function int32LowerBound(view: DataView, count: number, entryBytes: number, fieldOffset: number,
  key: number): number {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (view.getInt32(mid * entryBytes + fieldOffset) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function viewOf(buffer: Buffer): DataView {
  return new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function readFully(fd: number, file: string, into: Buffer, bytes: number): void {
  let at = 0;
  while (at < bytes) {
    const read = io('read', file, () => fs.readSync(fd, into, at, bytes - at, at));
    // The file was stat'ed just now; a short read means something outside this process cut it.
    if (read === 0) {
      throw new LogError('KAFKA_STORAGE_ERROR', `${file} shrank while loading (${at} of ${bytes} bytes)`);
    }
    at += read;
  }
}

function io<T>(op: string, file: string, call: () => T): T {
  try {
    return call();
  } catch (err) {
    throw new LogError('KAFKA_STORAGE_ERROR', `${op} ${file}`, { cause: err });
  }
}
