/**
 * The aborted-transactions index of one segment (Kafka's `.txnindex`): one entry per ABORT marker
 * written into the segment, naming the aborted transaction's producer and offset range, so that a
 * read_committed fetch can tell a consumer which records to drop without the broker reading them.
 *
 *   <dir>/00000000000000000000.txnindex   34-byte entries, all big-endian, in marker order:
 *
 *     0  version           int16   0
 *     2  producerId        int64
 *    10  firstOffset       int64   the transaction's first offset in this partition
 *    18  lastOffset        int64   the ABORT marker's offset (in this segment)
 *    26  lastStableOffset  int64   the first offset still unstable once the marker was written
 *                                  (another open transaction's first offset, or lastOffset + 1)
 *
 * Written when an ABORT marker is written (the file is created then; a segment without aborted
 * transactions has none), fsynced with the segment's `.log`, cut with it by truncation, deleted with
 * it by retention. Recovery rebuilds the index of every segment it rescans (from the producer state
 * replayed over the markers), so a torn write is harmless; on open a partial trailing entry (a write
 * the crash cut) or an entry of an unknown version ends the index there and is dropped.
 *
 * Entries' lastOffsets strictly increase (asserted): markers are written in offset order.
 */
import fs from 'node:fs';
import { LogError } from './errors.js';
import { invariant } from './invariant.js';
import { asOffset, type Offset } from './units.js';

export const TXN_INDEX_SUFFIX = '.txnindex';
export const TXN_INDEX_ENTRY_BYTES = 34;
const TXN_INDEX_VERSION = 0;

export interface AbortedTxn {
  readonly producerId: number;
  readonly firstOffset: Offset;
  readonly lastOffset: Offset;
  readonly lastStableOffset: Offset;
}

export function encodeAbortedTxn(entry: AbortedTxn): Buffer {
  const buf = Buffer.alloc(TXN_INDEX_ENTRY_BYTES);
  buf.writeInt16BE(TXN_INDEX_VERSION, 0);
  buf.writeBigInt64BE(BigInt(entry.producerId), 2);
  buf.writeBigInt64BE(BigInt(entry.firstOffset), 10);
  buf.writeBigInt64BE(BigInt(entry.lastOffset), 18);
  buf.writeBigInt64BE(BigInt(entry.lastStableOffset), 26);
  return buf;
}

/**
 * The entries of an index file's bytes, up to the first that is partial or not version 0 (a torn
 * or foreign tail, dropped).
 */
export function decodeAbortedTxns(buf: Buffer): AbortedTxn[] {
  const entries: AbortedTxn[] = [];
  for (let at = 0; at + TXN_INDEX_ENTRY_BYTES <= buf.length; at += TXN_INDEX_ENTRY_BYTES) {
    if (buf.readInt16BE(at) !== TXN_INDEX_VERSION) break;
    entries.push({
      producerId: Number(buf.readBigInt64BE(at + 2)),
      firstOffset: asOffset(Number(buf.readBigInt64BE(at + 10))),
      lastOffset: asOffset(Number(buf.readBigInt64BE(at + 18))),
      lastStableOffset: asOffset(Number(buf.readBigInt64BE(at + 26))),
    });
  }
  return entries;
}

/**
 * One segment's index: every entry in memory (aborted transactions are rare), the file appended to
 * as entries come. Like the offset and time indexes it holds no descriptor: each write is an
 * open/write/close.
 */
export class TransactionIndex {
  readonly file: string;
  private list: AbortedTxn[];
  private dirty = false;

  private constructor(file: string, entries: AbortedTxn[]) {
    this.file = file;
    this.list = entries;
  }

  /** Loads `file` if it exists, cutting a torn or unreadable tail off the file. */
  static open(file: string): TransactionIndex {
    const bytes = fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0);
    const entries = decodeAbortedTxns(bytes);
    const index = new TransactionIndex(file, []);
    for (const entry of entries) {
      // Out of order is damage as well: keep the ordered prefix.
      if (index.list.length > 0 && entry.lastOffset <= (index.list.at(-1) as AbortedTxn).lastOffset) break;
      index.list.push(entry);
    }
    if (bytes.length !== index.list.length * TXN_INDEX_ENTRY_BYTES) index.rewrite();
    return index;
  }

  /** A fresh, empty index (a new segment): a stale file of the same name is removed. */
  static create(file: string): TransactionIndex {
    fs.rmSync(file, { force: true });
    return new TransactionIndex(file, []);
  }

  get entries(): readonly AbortedTxn[] {
    return this.list;
  }

  append(entry: AbortedTxn): void {
    const last = this.list.at(-1);
    invariant(last === undefined || entry.lastOffset > last.lastOffset, () => `${this.file}: marker at ${entry.lastOffset} after ${last?.lastOffset}`);
    invariant(entry.firstOffset <= entry.lastOffset, () => `${this.file}: aborted transaction [${entry.firstOffset}, ${entry.lastOffset}]`);
    storageIo(`append to ${this.file}`, () => fs.appendFileSync(this.file, encodeAbortedTxn(entry)));
    this.list.push(entry);
    this.dirty = true;
  }

  /** Drops the entries whose marker is at or above `offset` (the segment was cut there). */
  truncateTo(offset: Offset): void {
    const kept = this.list.filter((entry) => entry.lastOffset < offset);
    if (kept.length === this.list.length) return;
    this.list = kept;
    this.rewrite();
  }

  /** Empties the index (recovery rebuilds it). */
  reset(): void {
    if (this.list.length === 0 && !fs.existsSync(this.file)) return;
    this.list = [];
    this.rewrite();
  }

  /** fsyncs the file if it changed since the last sync. */
  async sync(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    try {
      const handle = await fs.promises.open(this.file, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      // A file removed meanwhile (the segment was deleted) has nothing left to make durable.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      this.dirty = true;
      throw new LogError('KAFKA_STORAGE_ERROR', `fsync of ${this.file} failed`, { cause: error });
    }
  }

  delete(): void {
    fs.rmSync(this.file, { force: true });
    this.list = [];
    this.dirty = false;
  }

  /** Writes the file anew from the entries in memory (removed when there are none). */
  private rewrite(): void {
    if (this.list.length === 0) {
      storageIo(`remove ${this.file}`, () => fs.rmSync(this.file, { force: true }));
      this.dirty = false;
      return;
    }
    storageIo(`write ${this.file}`, () => fs.writeFileSync(this.file, Buffer.concat(this.list.map(encodeAbortedTxn))));
    this.dirty = true;
  }
}

function storageIo<T>(what: string, io: () => T): T {
  try {
    return io();
  } catch (error) {
    throw new LogError('KAFKA_STORAGE_ERROR', `cannot ${what}`, { cause: error });
  }
}
