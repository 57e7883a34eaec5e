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
 *   anything else                       OUT_OF_ORDER_SEQUENCE_NUMBER (45)
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
  /** Oldest first, at most PRODUCER_BATCHES_KEPT, never empty. */
  readonly batches: readonly ProducerBatchMetadata[];
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
}

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
  if (batch.epoch > entry.epoch) {
    if (batch.firstSeq === 0) return APPEND;
    throw new LogError('OUT_OF_ORDER_SEQUENCE_NUMBER', `${where}: a new epoch (the partition has ${entry.epoch}) must start at sequence 0`);
  }
  for (const cached of entry.batches) {
    if (cached.firstSeq === batch.firstSeq && cached.lastSeq === lastSeq) return { kind: 'duplicate', batch: cached };
  }
  const last = entry.batches.at(-1) as ProducerBatchMetadata;
  if (batch.firstSeq === sequenceAfter(last.lastSeq, 1)) return APPEND;
  throw new LogError('OUT_OF_ORDER_SEQUENCE_NUMBER', `${where}: expected sequence ${sequenceAfter(last.lastSeq, 1)} next`);
}

/** The entry after `batch` is in the log: a higher epoch starts over, the same epoch keeps the last five. */
export function applyProducerBatch(entry: ProducerEntry | undefined, batch: ProducerBatch): ProducerEntry {
  const metadata: ProducerBatchMetadata = {
    firstSeq: batch.firstSeq,
    lastSeq: sequenceAfter(batch.firstSeq, batch.lastOffsetDelta),
    firstOffset: batch.firstOffset,
    lastOffset: asOffset(batch.firstOffset + batch.lastOffsetDelta),
    timestamp: batch.timestamp,
  };
  if (entry === undefined || batch.epoch !== entry.epoch) return { producerId: batch.producerId, epoch: batch.epoch, batches: [metadata] };
  const batches = entry.batches.length < PRODUCER_BATCHES_KEPT ? [...entry.batches, metadata] : [...entry.batches.slice(1), metadata];
  return { producerId: entry.producerId, epoch: entry.epoch, batches };
}

/**
 * The producer state of one partition. `endOffset` is the log end offset the written state
 * describes; `record` moves it. The pending overlay (a Raft leader's proposed batches) is consulted
 * by `check` and `addPending` only, and leaves as the batches are written or leadership ends.
 */
export class ProducerStateManager {
  private readonly producers = new Map<number, ProducerEntry>();
  private pending: ProducerBatch[] = [];
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

  /** The entry as a leader sees it: the written state with its pending batches applied. */
  private effective(producerId: number): ProducerEntry | undefined {
    let entry = this.producers.get(producerId);
    for (const batch of this.pending) if (batch.producerId === producerId) entry = applyProducerBatch(entry, batch);
    return entry;
  }

  /** `checkProducerBatch` against the written state and the pending overlay. */
  check(batch: ProducerBatch): ProducerBatchCheck {
    return checkProducerBatch(this.effective(batch.producerId), batch);
  }

  /** A Raft leader proposed `batch` (checked): later checks see it before it is written. */
  addPending(batch: ProducerBatch): void {
    this.pending.push(batch);
  }

  /** Forgets the proposed batches not yet written (leadership ended, or the log was cut). */
  discardPending(): void {
    this.pending = [];
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /**
   * A batch written to the log at `batch.firstOffset` (any append path; control and non-producer
   * batches are passed to `advance` only). Pending batches at or below it are dropped: it is either
   * one of them now written, or a new leader's batch at an offset a deposed one had proposed.
   */
  record(batch: ProducerBatch): void {
    invariant(batch.firstOffset >= this.end, () => `producer state at ${this.end} given a batch at ${batch.firstOffset}`);
    this.producers.set(batch.producerId, applyProducerBatch(this.producers.get(batch.producerId), batch));
    this.advance(asOffset(batch.firstOffset + batch.lastOffsetDelta + 1));
  }

  /** The log grew to `endOffset` (after a write of batches without a producer, or after `record`). */
  advance(endOffset: Offset): void {
    if (endOffset <= this.end) return;
    this.end = endOffset;
    if (this.pending.length > 0 && this.pending[0]!.firstOffset < endOffset) this.pending = this.pending.filter((b) => b.firstOffset >= endOffset);
  }

  /** True when no cached batch lies at or above `offset`: cutting the log there changes nothing but the end. */
  unaffectedByTruncationTo(offset: Offset): boolean {
    for (const entry of this.producers.values()) if ((entry.batches.at(-1) as ProducerBatchMetadata).lastOffset >= offset) return false;
    return true;
  }

  /** The log was cut to `offset` and no cached batch was above it (`unaffectedByTruncationTo`). */
  truncateEnd(offset: Offset): void {
    invariant(this.unaffectedByTruncationTo(offset), () => `truncation to ${offset} needs a rebuild`);
    this.end = asOffset(Math.min(this.end, offset));
    this.pending = [];
  }

  /** Removes producers idle since before `now - expirationMs` (by their last batch's timestamp). Returns how many. */
  removeExpired(now: number, expirationMs: number): number {
    let removed = 0;
    for (const [producerId, entry] of this.producers) {
      if (now - (entry.batches.at(-1) as ProducerBatchMetadata).timestamp >= expirationMs) {
        this.producers.delete(producerId);
        removed += 1;
      }
    }
    return removed;
  }

  /** Empties the state and starts it at `endOffset` (a reset log, or a rebuild about to replay). */
  clear(endOffset: Offset): void {
    this.producers.clear();
    this.pending = [];
    this.end = endOffset;
  }

  /** Replaces the written state with a snapshot's. */
  load(snapshot: ProducerStateSnapshot): void {
    this.clear(snapshot.endOffset);
    for (const entry of snapshot.entries) this.producers.set(entry.producerId, entry);
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
 *   0  version      int16   1
 *   2  crc          uint32  CRC-32C of bytes 6..end
 *   6  endOffset    int64   the log end offset the state describes
 *  14  count        int32   producers
 *  18  producers:   producerId int64, epoch int16, batchCount int8 (1..5),
 *                   then per batch firstSeq int32, lastSeq int32, firstOffset int64, lastOffset int64, timestamp int64
 *
 * Kafka's snapshot keeps one batch per producer; this one keeps all five, so deduplication after a
 * restart is as good as before it.
 */
const SNAPSHOT_VERSION = 1;
const SNAPSHOT_HEADER_BYTES = 18;
const ENTRY_HEADER_BYTES = 11;
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
    buf.writeInt8(entry.batches.length, at + 10);
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
    const batchCount = buf.readInt8(at + 10);
    at += ENTRY_HEADER_BYTES;
    if (batchCount < 1 || batchCount > PRODUCER_BATCHES_KEPT || at + batchCount * BATCH_BYTES > buf.length) throw corrupt(`producer ${producerId} has ${batchCount} batches`);
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
    entries.push({ producerId, epoch, batches });
  }
  if (at !== buf.length) throw corrupt(`${buf.length - at} bytes left over`);
  return { endOffset, entries };
}
