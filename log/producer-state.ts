/**
 * Producer state of one partition: what the idempotent producer's deduplication needs (Kafka's
 * ProducerStateManager / ProducerStateEntry). Per producer id, its epoch and the sequence ranges and
 * offsets of its last five batches in the log; the leader checks every producer batch against it
 * before the batch is written.
 *
 * Rules for a batch of producer `pid`, epoch `e`, sequences [firstSeq, lastSeq] (`checkProducerBatch`):
 *
 *   unknown pid, firstSeq 0             append (a new producer, or one whose state expired)
 *   unknown pid, firstSeq > 0           UNKNOWN_PRODUCER_ID (59): the broker cannot tell a gap from a
 *                                       retry; the producer bumps its epoch and starts again at 0
 *   e < the producer's epoch            INVALID_PRODUCER_EPOCH (47): a fenced, older instance
 *   e > the producer's epoch            append if firstSeq is 0, else OUT_OF_ORDER_SEQUENCE_NUMBER (45)
 *   same epoch, [first, last] equal to  a duplicate: not appended, answered with that batch's offsets
 *     one of the five cached batches
 *   same epoch, firstSeq = last + 1     append (sequences wrap from 2^31 - 1 to 0, as Kafka's)
 *   same epoch, no batch known (only    append if firstSeq is 0
 *     a marker set the epoch)
 *   anything else                       OUT_OF_ORDER_SEQUENCE_NUMBER (45)
 *   then, for an append: a batch        INVALID_TXN_STATE (48): the producer must end its transaction
 *     without the transactional flag    (a coordinator's marker) before it writes outside one
 *     while the producer's transaction
 *     is open
 *
 * Transactions (Kafka's ProducerStateManager): a transactional batch opens the producer's
 * transaction at its first offset if none is open. A transaction marker (`checkTxnMarker`) with an
 * epoch below the producer's is INVALID_PRODUCER_EPOCH (47); otherwise the producer's epoch becomes
 * the marker's (a higher epoch forgets the cached batches, as a new epoch's first batch does), its
 * open transaction, if any, ends, and the marker reports it as a `CompletedTxn` (the log indexes the
 * aborted ones). A marker may name a producer the partition never saw: the entry then holds only its
 * epoch, no batch. A producer with an open transaction never expires. The first unstable offset is
 * the smallest first offset of an open transaction.
 *
 * Kafka 2.5+ accepts any sequence from an unknown producer (KIP-360), because its retention can
 * drop a live producer's state; Strata keeps a producer's state until it has been idle for
 * `producerIdExpirationMs`, whatever retention deletes, so it can afford Kafka's stricter earlier rule.
 *
 * What the state describes: exactly the batches in the log below `endOffset` (plus, on a Raft
 * leader, an overlay of batches it has validated and proposed but not yet written: `pending`).
 * Every write to the log (leader and follower alike) goes through `record`; a truncation rebuilds
 * the state from a snapshot and the batch headers that survived (`producer-state-files.ts`), so it
 * never remembers a batch the log no longer holds.
 *
 * Pure data and functions; no I/O (snapshots are encoded here and written by the log).
 */
import { crc32c } from './crc32c.js';
import { LogError } from './errors.js';
import { invariant } from './invariant.js';
import { asOffset, type Offset } from './units.js';

/** How many batches per producer are kept for deduplication: Kafka's five, the producer's in-flight bound. */
export const PRODUCER_BATCHES_KEPT = 5;
const INT32_MAX = 2 ** 31 - 1;

export interface ProducerBatchMetadata {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly firstOffset: Offset;
  readonly lastOffset: Offset;
  /** The batch's max timestamp: the producer's last activity, for expiry. */
  readonly timestamp: number;
}

export interface ProducerEntry {
  readonly producerId: number;
  readonly epoch: number;
  /** Oldest first, at most PRODUCER_BATCHES_KEPT; empty when only a marker told the partition of this epoch. */
  readonly batches: readonly ProducerBatchMetadata[];
  /** The first offset of the producer's open transaction; undefined when none is open. */
  readonly currentTxnFirstOffset: Offset | undefined;
  /** The last offset of its latest batch or marker: a cut at or below it changes the entry. */
  readonly lastOffset: Offset;
  /** The max timestamp of its latest batch or marker: its last activity, for expiry. */
  readonly lastTimestamp: number;
}

/** A producer batch as read from its header. */
export interface ProducerBatch {
  readonly producerId: number;
  readonly epoch: number;
  readonly firstSeq: number;
  /** lastOffset - firstOffset: the sequences the batch covers, minus one. */
  readonly lastOffsetDelta: number;
  readonly firstOffset: Offset;
  readonly timestamp: number;
  /** The batch's transactional attribute. */
  readonly transactional: boolean;
}

/** A transaction marker as read from its batch, at its offset. */
export interface TxnMarkerWrite {
  readonly producerId: number;
  readonly epoch: number;
  readonly offset: Offset;
  readonly timestamp: number;
  readonly commit: boolean;
}

/** A transaction a marker ended: its producer, first offset, and the marker's offset. */
export interface CompletedTxn {
  readonly producerId: number;
  readonly firstOffset: Offset;
  readonly lastOffset: Offset;
  readonly commit: boolean;
}

/** An open transaction, as `Log.ongoingTransactions` reports it. */
export interface OngoingTxn {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly firstOffset: Offset;
  /** The producer's last activity (its latest batch's max timestamp). */
  readonly lastTimestamp: number;
}

/** A write that changes producer state: a producer's batch or a transaction marker. */
export type ProducerWrite = { readonly batch: ProducerBatch } | { readonly marker: TxnMarkerWrite };

/** What a leader may do with a producer batch: append it, or answer it as a duplicate of a batch already in the log. */
export type ProducerBatchCheck = { readonly kind: 'append' } | { readonly kind: 'duplicate'; readonly batch: ProducerBatchMetadata };

const APPEND: ProducerBatchCheck = Object.freeze({ kind: 'append' });

/** The sequence `delta` after `seq`, wrapping past 2^31 - 1 to 0. */
export function sequenceAfter(seq: number, delta: number): number {
  const next = seq + delta;
  return next > INT32_MAX ? next - INT32_MAX - 1 : next;
}

/** Kafka's rules above, for a batch against the producer's entry (undefined: unknown producer). Throws the LogError. */
export function checkProducerBatch(entry: ProducerEntry | undefined, batch: ProducerBatch): ProducerBatchCheck {
  const lastSeq = sequenceAfter(batch.firstSeq, batch.lastOffsetDelta);
  const where = `producer ${batch.producerId} epoch ${batch.epoch} sequences ${batch.firstSeq}..${lastSeq}`;
  if (entry === undefined) {
    if (batch.firstSeq === 0) return APPEND;
    throw new LogError('UNKNOWN_PRODUCER_ID', `${where}: the partition has no state for this producer (expired, or never written); a new producer starts at sequence 0`);
  }
  if (batch.epoch < entry.epoch) throw new LogError('INVALID_PRODUCER_EPOCH', `${where}: the partition has epoch ${entry.epoch}`);
  const check = checkSequence(entry, batch, lastSeq, where);
  if (check.kind === 'append' && !batch.transactional && entry.currentTxnFirstOffset !== undefined) {
    throw new LogError('INVALID_TXN_STATE', `${where}: a non-transactional batch while the producer's transaction from offset ${entry.currentTxnFirstOffset} is open`);
  }
  return check;
}

/** The sequence half of the rules, for a batch at or above the producer's epoch. */
function checkSequence(entry: ProducerEntry, batch: ProducerBatch, lastSeq: number, where: string): ProducerBatchCheck {
  if (batch.epoch > entry.epoch) {
    if (batch.firstSeq === 0) return APPEND;
    throw new LogError('OUT_OF_ORDER_SEQUENCE_NUMBER', `${where}: a new epoch (the partition has ${entry.epoch}) must start at sequence 0`);
  }
  for (const cached of entry.batches) {
    if (cached.firstSeq === batch.firstSeq && cached.lastSeq === lastSeq) return { kind: 'duplicate', batch: cached };
  }
  const last = entry.batches.at(-1);
  const expected = last === undefined ? 0 : sequenceAfter(last.lastSeq, 1);
  if (batch.firstSeq === expected) return APPEND;
  throw new LogError('OUT_OF_ORDER_SEQUENCE_NUMBER', `${where}: expected sequence ${expected} next`);
}

/** A marker against the producer's entry: an epoch below the producer's is a fenced coordinator or producer. Throws the LogError. */
export function checkTxnMarker(entry: ProducerEntry | undefined, marker: TxnMarkerWrite): void {
  if (entry !== undefined && marker.epoch < entry.epoch) {
    throw new LogError('INVALID_PRODUCER_EPOCH', `transaction marker for producer ${marker.producerId} epoch ${marker.epoch}: the partition has epoch ${entry.epoch}`);
  }
}

/**
 * A coordinator's own transactional batch (the offsets of a TxnOffsetCommit, Kafka's
 * AppendOrigin.Coordinator): it carries no sequence (-1), so none is checked, but an epoch below the
 * producer's is a fenced producer: INVALID_PRODUCER_EPOCH. Throws the LogError.
 */
export function checkCoordinatorBatch(entry: ProducerEntry | undefined, batch: ProducerBatch): void {
  if (entry !== undefined && batch.epoch < entry.epoch) {
    throw new LogError('INVALID_PRODUCER_EPOCH', `coordinator batch for producer ${batch.producerId} epoch ${batch.epoch}: the partition has epoch ${entry.epoch}`);
  }
}

/** The entry after `batch` is in the log: a higher epoch starts over, the same epoch keeps the last five. */
export function applyProducerBatch(entry: ProducerEntry | undefined, batch: ProducerBatch): ProducerEntry {
  const lastOffset = asOffset(batch.firstOffset + batch.lastOffsetDelta);
  const metadata: ProducerBatchMetadata = {
    firstSeq: batch.firstSeq,
    lastSeq: sequenceAfter(batch.firstSeq, batch.lastOffsetDelta),
    firstOffset: batch.firstOffset,
    lastOffset,
    timestamp: batch.timestamp,
  };
  const sameEpoch = entry !== undefined && batch.epoch === entry.epoch;
  const kept = sameEpoch ? entry.batches : [];
  const batches = kept.length < PRODUCER_BATCHES_KEPT ? [...kept, metadata] : [...kept.slice(1), metadata];
  const open = entry?.currentTxnFirstOffset;
  return {
    producerId: batch.producerId,
    epoch: batch.epoch,
    batches,
    currentTxnFirstOffset: open ?? (batch.transactional ? batch.firstOffset : undefined),
    lastOffset,
    lastTimestamp: batch.timestamp,
  };
}

/** The entry after `marker` is in the log, and the transaction it ended, if one was open. */
export function applyTxnMarker(entry: ProducerEntry | undefined, marker: TxnMarkerWrite): { entry: ProducerEntry; completed: CompletedTxn | undefined } {
  const firstOffset = entry?.currentTxnFirstOffset;
  return {
    entry: {
      producerId: marker.producerId,
      epoch: marker.epoch,
      batches: entry !== undefined && entry.epoch === marker.epoch ? entry.batches : [],
      currentTxnFirstOffset: undefined,
      lastOffset: marker.offset,
      lastTimestamp: marker.timestamp,
    },
    completed: firstOffset === undefined ? undefined : { producerId: marker.producerId, firstOffset, lastOffset: marker.offset, commit: marker.commit },
  };
}

function applyWrite(entry: ProducerEntry | undefined, write: ProducerWrite): ProducerEntry {
  return 'batch' in write ? applyProducerBatch(entry, write.batch) : applyTxnMarker(entry, write.marker).entry;
}

function producerIdOf(write: ProducerWrite): number {
  return 'batch' in write ? write.batch.producerId : write.marker.producerId;
}

function firstOffsetOf(write: ProducerWrite): Offset {
  return 'batch' in write ? write.batch.firstOffset : write.marker.offset;
}

/**
 * The producer state of one partition. `endOffset` is the log end offset the written state
 * describes; `record` moves it. The pending overlay (a Raft leader's proposed batches) is consulted
 * by `check` and `addPending` only, and leaves as the batches are written or leadership ends.
 */
export class ProducerStateManager {
  private readonly producers = new Map<number, ProducerEntry>();
  /** The producers with an open transaction (a few at most; the first unstable offset is their minimum). */
  private readonly ongoing = new Set<number>();
  private pending: ProducerWrite[] = [];
  private end: Offset;

  constructor(endOffset: Offset = asOffset(0)) {
    this.end = endOffset;
  }

  get endOffset(): Offset {
    return this.end;
  }

  get producerCount(): number {
    return this.producers.size;
  }

  /** The written state of a producer (tests, diagnostics). */
  entry(producerId: number): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  entries(): IterableIterator<ProducerEntry> {
    return this.producers.values();
  }

  /** The smallest first offset of an open transaction in the written state; undefined when none is open. */
  get firstUnstableOffset(): Offset | undefined {
    let first: Offset | undefined;
    for (const producerId of this.ongoing) {
      const offset = this.producers.get(producerId)?.currentTxnFirstOffset as Offset;
      if (first === undefined || offset < first) first = offset;
    }
    return first;
  }

  /** The open transactions of the written state, by first offset. */
  ongoingTransactions(): OngoingTxn[] {
    const open: OngoingTxn[] = [];
    for (const producerId of this.ongoing) {
      const entry = this.producers.get(producerId) as ProducerEntry;
      open.push({ producerId, producerEpoch: entry.epoch, firstOffset: entry.currentTxnFirstOffset as Offset, lastTimestamp: entry.lastTimestamp });
    }
    return open.sort((a, b) => a.firstOffset - b.firstOffset);
  }

  /** The entry as a leader sees it: the written state with its pending writes applied. */
  private effective(producerId: number): ProducerEntry | undefined {
    let entry = this.producers.get(producerId);
    for (const write of this.pending) if (producerIdOf(write) === producerId) entry = applyWrite(entry, write);
    return entry;
  }

  /** `checkProducerBatch` against the written state and the pending overlay. */
  check(batch: ProducerBatch): ProducerBatchCheck {
    return checkProducerBatch(this.effective(batch.producerId), batch);
  }

  /** `checkCoordinatorBatch` against the written state and the pending overlay. */
  checkCoordinatorBatch(batch: ProducerBatch): void {
    checkCoordinatorBatch(this.effective(batch.producerId), batch);
  }

  /** `checkTxnMarker` against the written state and the pending overlay. */
  checkMarker(marker: TxnMarkerWrite): void {
    checkTxnMarker(this.effective(marker.producerId), marker);
  }

  /** A Raft leader proposed `write` (checked): later checks see it before it is written. */
  addPending(write: ProducerWrite): void {
    this.pending.push(write);
  }

  /** Forgets the proposed writes not yet written (leadership ended, or the log was cut). */
  discardPending(): void {
    this.pending = [];
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /**
   * A batch written to the log at `batch.firstOffset` (any append path; control and non-producer
   * batches are passed to `recordMarker` or `advance`). Pending writes at or below it are dropped:
   * it is either one of them now written, or a new leader's batch at an offset a deposed one had proposed.
   */
  record(batch: ProducerBatch): void {
    invariant(batch.firstOffset >= this.end, () => `producer state at ${this.end} given a batch at ${batch.firstOffset}`);
    this.put(applyProducerBatch(this.producers.get(batch.producerId), batch));
    this.advance(asOffset(batch.firstOffset + batch.lastOffsetDelta + 1));
  }

  /** A transaction marker written at `marker.offset` (any append path). Returns the transaction it ended, if one was open. */
  recordMarker(marker: TxnMarkerWrite): CompletedTxn | undefined {
    invariant(marker.offset >= this.end, () => `producer state at ${this.end} given a marker at ${marker.offset}`);
    const { entry, completed } = applyTxnMarker(this.producers.get(marker.producerId), marker);
    this.put(entry);
    this.advance(asOffset(marker.offset + 1));
    return completed;
  }

  private put(entry: ProducerEntry): void {
    this.producers.set(entry.producerId, entry);
    if (entry.currentTxnFirstOffset === undefined) this.ongoing.delete(entry.producerId);
    else this.ongoing.add(entry.producerId);
  }

  /** The log grew to `endOffset` (after a write of batches without a producer, or after `record`). */
  advance(endOffset: Offset): void {
    if (endOffset <= this.end) return;
    this.end = endOffset;
    if (this.pending.length > 0 && firstOffsetOf(this.pending[0]!) < endOffset) this.pending = this.pending.filter((w) => firstOffsetOf(w) >= endOffset);
  }

  /** True when no producer's latest batch or marker lies at or above `offset`: cutting the log there changes nothing but the end. */
  unaffectedByTruncationTo(offset: Offset): boolean {
    for (const entry of this.producers.values()) if (entry.lastOffset >= offset) return false;
    return true;
  }

  /** The log was cut to `offset` and no cached batch was above it (`unaffectedByTruncationTo`). */
  truncateEnd(offset: Offset): void {
    invariant(this.unaffectedByTruncationTo(offset), () => `truncation to ${offset} needs a rebuild`);
    this.end = asOffset(Math.min(this.end, offset));
    this.pending = [];
  }

  /**
   * Removes producers idle since before `now - expirationMs` (by their latest batch's or marker's
   * timestamp), except those with an open transaction. Returns how many.
   */
  removeExpired(now: number, expirationMs: number): number {
    let removed = 0;
    for (const [producerId, entry] of this.producers) {
      if (entry.currentTxnFirstOffset === undefined && now - entry.lastTimestamp >= expirationMs) {
        this.producers.delete(producerId);
        removed += 1;
      }
    }
    return removed;
  }

  /** Empties the state and starts it at `endOffset` (a reset log, or a rebuild about to replay). */
  clear(endOffset: Offset): void {
    this.producers.clear();
    this.ongoing.clear();
    this.pending = [];
    this.end = endOffset;
  }

  /** Replaces the written state with a snapshot's. */
  load(snapshot: ProducerStateSnapshot): void {
    this.clear(snapshot.endOffset);
    for (const entry of snapshot.entries) this.put(entry);
  }

  snapshot(): ProducerStateSnapshot {
    return { endOffset: this.end, entries: [...this.producers.values()] };
  }
}

export interface ProducerStateSnapshot {
  readonly endOffset: Offset;
  readonly entries: readonly ProducerEntry[];
}

/**
 * Snapshot file (`<20-digit end offset>.snapshot`), all integers big-endian:
 *
 *   0  version      int16   2
 *   2  crc          uint32  CRC-32C of bytes 6..end
 *   6  endOffset    int64   the log end offset the state describes
 *  14  count        int32   producers
 *  18  producers:   producerId int64, epoch int16, lastOffset int64, lastTimestamp int64,
 *                   currentTxnFirstOffset int64 (-1: no open transaction), batchCount int8 (0..5),
 *                   then per batch firstSeq int32, lastSeq int32, firstOffset int64, lastOffset int64, timestamp int64
 *
 * Kafka's snapshot keeps one batch per producer; this one keeps all five, so deduplication after a
 * restart is as good as before it. Version 1 (before transactions) had no open-transaction offset:
 * such a file does not decode, and the state is rebuilt from the log's batch headers instead.
 */
const SNAPSHOT_VERSION = 2;
const SNAPSHOT_HEADER_BYTES = 18;
const ENTRY_HEADER_BYTES = 35;
const BATCH_BYTES = 32;

export function encodeProducerSnapshot(snapshot: ProducerStateSnapshot): Buffer {
  let size = SNAPSHOT_HEADER_BYTES;
  for (const entry of snapshot.entries) size += ENTRY_HEADER_BYTES + BATCH_BYTES * entry.batches.length;
  const buf = Buffer.alloc(size);
  buf.writeInt16BE(SNAPSHOT_VERSION, 0);
  buf.writeBigInt64BE(BigInt(snapshot.endOffset), 6);
  buf.writeInt32BE(snapshot.entries.length, 14);
  let at = SNAPSHOT_HEADER_BYTES;
  for (const entry of snapshot.entries) {
    buf.writeBigInt64BE(BigInt(entry.producerId), at);
    buf.writeInt16BE(entry.epoch, at + 8);
    buf.writeBigInt64BE(BigInt(entry.lastOffset), at + 10);
    buf.writeBigInt64BE(BigInt(entry.lastTimestamp), at + 18);
    buf.writeBigInt64BE(BigInt(entry.currentTxnFirstOffset ?? -1), at + 26);
    buf.writeInt8(entry.batches.length, at + 34);
    at += ENTRY_HEADER_BYTES;
    for (const batch of entry.batches) {
      buf.writeInt32BE(batch.firstSeq, at);
      buf.writeInt32BE(batch.lastSeq, at + 4);
      buf.writeBigInt64BE(BigInt(batch.firstOffset), at + 8);
      buf.writeBigInt64BE(BigInt(batch.lastOffset), at + 16);
      buf.writeBigInt64BE(BigInt(batch.timestamp), at + 24);
      at += BATCH_BYTES;
    }
  }
  buf.writeUInt32BE(crc32c(buf.subarray(6)), 2);
  return buf;
}

/** Decodes a snapshot; throws CORRUPT_MESSAGE for a bad version, CRC or length (the caller then ignores the file). */
export function decodeProducerSnapshot(buf: Buffer): ProducerStateSnapshot {
  const corrupt = (why: string) => new LogError('CORRUPT_MESSAGE', `producer state snapshot: ${why}`);
  if (buf.length < SNAPSHOT_HEADER_BYTES) throw corrupt(`${buf.length} bytes`);
  if (buf.readInt16BE(0) !== SNAPSHOT_VERSION) throw corrupt(`version ${buf.readInt16BE(0)}`);
  if (buf.readUInt32BE(2) !== crc32c(buf.subarray(6))) throw corrupt('CRC mismatch');
  const endOffset = asOffset(Number(buf.readBigInt64BE(6)));
  const count = buf.readInt32BE(14);
  const entries: ProducerEntry[] = [];
  let at = SNAPSHOT_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + ENTRY_HEADER_BYTES > buf.length) throw corrupt('truncated');
    const producerId = Number(buf.readBigInt64BE(at));
    const epoch = buf.readInt16BE(at + 8);
    const lastOffset = asOffset(Number(buf.readBigInt64BE(at + 10)));
    const lastTimestamp = Number(buf.readBigInt64BE(at + 18));
    const txnFirstOffset = Number(buf.readBigInt64BE(at + 26));
    const batchCount = buf.readInt8(at + 34);
    at += ENTRY_HEADER_BYTES;
    if (batchCount < 0 || batchCount > PRODUCER_BATCHES_KEPT || at + batchCount * BATCH_BYTES > buf.length) throw corrupt(`producer ${producerId} has ${batchCount} batches`);
    const batches: ProducerBatchMetadata[] = [];
    for (let b = 0; b < batchCount; b++) {
      batches.push({
        firstSeq: buf.readInt32BE(at),
        lastSeq: buf.readInt32BE(at + 4),
        firstOffset: asOffset(Number(buf.readBigInt64BE(at + 8))),
        lastOffset: asOffset(Number(buf.readBigInt64BE(at + 16))),
        timestamp: Number(buf.readBigInt64BE(at + 24)),
      });
      at += BATCH_BYTES;
    }
    const currentTxnFirstOffset = txnFirstOffset < 0 ? undefined : asOffset(txnFirstOffset);
    entries.push({ producerId, epoch, batches, currentTxnFirstOffset, lastOffset, lastTimestamp });
  }
  if (at !== buf.length) throw corrupt(`${buf.length - at} bytes left over`);
  return { endOffset, entries };
}
