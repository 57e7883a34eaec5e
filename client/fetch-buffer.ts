/**
 * The consumer's buffer of fetched records. Each partition's share of a fetch response is kept as a
 * chunk of batch bytes and decoded one batch at a time as the application reaches it, so a message
 * object lives from the decoding of its batch to its delivery (young, cheap garbage) and the buffer
 * holds bytes, not objects.
 *
 * Invariants:
 * - Chunks are kept in arrival order; per partition they are consecutive fetches, so messages come
 *   out in offset order. Records below the fetched offset (the head of the first batch, which the
 *   broker returns whole) are skipped by the decoder.
 * - A chunk of an older epoch than its partition's, or of a partition no longer assigned, is dropped
 *   when it surfaces: nothing fetched before a seek is delivered after it.
 * - A damaged batch stops its partition where it is: the partition's later chunks are dropped and
 *   the error is surfaced after the messages before it were handed out.
 * - `state.chunks` counts each partition's chunks not fully delivered (the fetcher prefetches while
 *   it is below two).
 * - Control batches (leader-change and transaction markers) are never delivered. A read_committed
 *   chunk also skips the batches of aborted transactions (`aborted-transactions.ts`). Skipped batches
 *   still move the position: once the chunk is used up it is at the chunk's end.
 */
import { BATCH_HEADER_BYTES, BatchField, CONTROL_FLAG, TRANSACTIONAL_FLAG, decodeBatch, decodeBatchInto, readBatchHeader, validateBatch, wholeBatches } from '../log/index.js';
import { AbortedTransactionFilter, type FilteredBatch } from './aborted-transactions.js';
import type { ConsumerMessage } from './consumer-message.js';
import { asError, type PartitionState } from './consumer-partition.js';
import type { AbortedTransaction } from './protocol/index.js';


/** One partition's share of a fetch response. */
interface Chunk {
  readonly state: PartitionState;
  readonly epoch: number;
  readonly highWatermark: number;
  /** Whole batches as fetched (a view into the response). */
  readonly records: Buffer;
  /** Where the next batch to decode starts; `records.length` once all are decoded. */
  pos: number;
  /** The offset that was fetched: records below it (the head of the first batch) are skipped. */
  readonly fromOffset: number;
  /** One past the last batch's last offset: the position once the chunk is used up cleanly. */
  readonly endOffset: number;
  /** A batch failed to decode: the position must not move past it. */
  damaged: boolean;
  /** read_committed: drops the batches of aborted transactions; undefined for read_uncommitted. */
  readonly aborted: AbortedTransactionFilter | undefined;
  /** Decoded messages of the batches before `pos`; `messages[next]` is the next to hand out. */
  messages: ConsumerMessage[];
  next: number;
}

export interface FetchBufferHost {
  /** Whether `state` is still the assigned state of its partition. */
  isAssigned(state: PartitionState): boolean;
  /** A damaged batch: hand the error to the application. */
  surface(state: PartitionState, error: Error): void;
  /** A chunk was used up: the partition may be fetched again. */
  consumed(): void;
}

export class FetchBuffer {
  private chunks: Chunk[] = [];
  private readonly host: FetchBufferHost;

  constructor(host: FetchBufferHost) {
    this.host = host;
  }

  /**
   * Buffers a partition's fetched batches as a chunk, undecoded; the partition's next fetch starts
   * after the last whole batch. `abortedTransactions` (read_committed only) are the response's list
   * for the partition. Returns whether it holds a batch.
   */
  add(state: PartitionState, fetchOffset: number, highWatermark: number, records: Buffer, abortedTransactions?: readonly AbortedTransaction[]): boolean {
    const { bytes, nextOffset } = wholeBatches(records);
    if (nextOffset > fetchOffset) state.fetchOffset = nextOffset;
    if (bytes === 0) return false;
    this.chunks.push({
      state, epoch: state.epoch, highWatermark,
      records: bytes === records.length ? records : records.subarray(0, bytes),
      pos: 0, fromOffset: fetchOffset, endOffset: nextOffset, damaged: false, messages: [], next: 0,
      aborted: abortedTransactions === undefined ? undefined : new AbortedTransactionFilter(abortedTransactions),
    });
    state.chunks++;
    return true;
  }

  /** Drops every chunk of the partitions `drop` says. */
  dropWhere(drop: (state: PartitionState) => boolean): void {
    this.chunks = this.chunks.filter((chunk) => !drop(chunk.state));
  }

  clear(): void {
    this.chunks = [];
  }

  /** The next message to hand out, its partition's position moved past it; undefined if none is ready. */
  takeMessage(): ConsumerMessage | undefined {
    const chunk = this.deliverableChunk();
    if (chunk === undefined) return undefined;
    const message = chunk.messages[chunk.next++]!;
    chunk.state.position = message.offset + 1;
    if (chunk.next === chunk.messages.length && chunk.pos === chunk.records.length) this.consumed(chunk);
    return message;
  }

  /**
   * Whole record batches of one partition, decoded until they hold at least `minMessages` or its
   * chunk ends; the partition's position moves past them. A decoding error after the first batch is
   * surfaced once these messages are handed out.
   */
  takeBatch(minMessages: number): { state: PartitionState; highWatermark: number; messages: ConsumerMessage[] } | undefined {
    const chunk = this.deliverableChunk();
    if (chunk === undefined) return undefined;
    const messages = chunk.next === 0 ? chunk.messages : chunk.messages.slice(chunk.next);
    while (messages.length < minMessages && chunk.pos < chunk.records.length && this.decodeNext(chunk, messages)) {
      // decodeNext appended the next batch's messages
    }
    chunk.messages = messages;
    chunk.next = messages.length;
    chunk.state.position = messages[messages.length - 1]!.offset + 1;
    if (chunk.pos === chunk.records.length) this.consumed(chunk);
    return { state: chunk.state, highWatermark: chunk.highWatermark, messages };
  }

  /**
   * The oldest buffered chunk of a partition that is not paused, with a decoded message to hand
   * out; stale chunks, and chunks that turn out to hold no message at or past the fetched offset,
   * are dropped on the way.
   */
  private deliverableChunk(): Chunk | undefined {
    for (let i = 0; i < this.chunks.length; i++) {
      const chunk = this.chunks[i]!;
      const state = chunk.state;
      if (chunk.epoch !== state.epoch || !this.host.isAssigned(state)) {
        this.chunks.splice(i--, 1);
        continue;
      }
      if (state.paused || state.revoking || state.held) continue;
      while (chunk.next === chunk.messages.length && chunk.pos < chunk.records.length) {
        chunk.messages = [];
        chunk.next = 0;
        if (!this.decodeNext(chunk, chunk.messages)) break;
      }
      if (chunk.next < chunk.messages.length) return chunk;
      // Nothing left, or a damaged batch (which dropped the partition's later chunks): drop it.
      this.consumed(chunk);
      i--;
    }
    return undefined;
  }

  /**
   * Decodes the chunk's next batch into `out`. A damaged batch stops the partition where it is:
   * its buffered chunks are dropped and the error waits for the application, which gets the
   * messages before it first, then the error (offset order holds: nothing after it is handed out).
   */
  private decodeNext(chunk: Chunk, out: ConsumerMessage[]): boolean {
    const records = chunk.records;
    const pos = chunk.pos;
    const before = out.length;
    try {
      // Control batches (leader-change and transaction markers) hold no messages, and a read_committed
      // chunk skips aborted batches: checked, then skipped, since the position moves past them once
      // the chunk is used up.
      if (pos + BATCH_HEADER_BYTES <= records.length) {
        const control = (records.readInt16BE(pos + BatchField.attributes) & CONTROL_FLAG) !== 0;
        if (control) {
          // A control batch is one small uncompressed record whose key holds its type (int16 version, int16 type).
          const { header, records: controlRecords } = decodeBatch(records, pos);
          const key = controlRecords[0]?.key;
          if (key !== null && key !== undefined && key.length >= 4) chunk.aborted?.control(filtered(header), key.readInt16BE(2));
          chunk.pos = pos + header.sizeBytes;
          return true;
        }
        if (chunk.aborted?.skips(filtered(readBatchHeader(records, pos))) === true) {
          chunk.pos = pos + validateBatch(records, pos, records.length, Number.MAX_SAFE_INTEGER, false).sizeBytes;
          return true;
        }
      }
      const header = decodeBatchInto(records, pos, chunk.state.toMessage, out, chunk.fromOffset);
      chunk.pos = pos + header.sizeBytes;
      return true;
    } catch (error) {
      // Nothing of a damaged batch is handed out, not even the records before the damage.
      out.length = before;
      chunk.damaged = true;
      chunk.pos = records.length;
      const state = chunk.state;
      this.chunks = this.chunks.filter((c) => c.state !== state || c === chunk);
      state.chunks = 1;
      this.host.surface(state, asError(error));
      return false;
    }
  }

  /**
   * A chunk is used up. Cleanly, every offset below its end was handed out or held nothing to hand
   * out (a control batch: a leader-change marker), so the position moves to its end; and when every
   * message handed out is finished, the finished offset too, so a group's commit and lag do not stop
   * short of a trailing marker.
   */
  private consumed(chunk: Chunk): void {
    const state = chunk.state;
    const position = state.position;
    if (!chunk.damaged && chunk.epoch === state.epoch && position !== undefined && position < chunk.endOffset) {
      state.position = chunk.endOffset;
      if (state.inHand.length === 0 && state.finishedOffset === position) state.finishedOffset = chunk.endOffset;
    }
    const i = this.chunks.indexOf(chunk);
    if (i >= 0) this.chunks.splice(i, 1);
    chunk.state.chunks--;
    this.host.consumed();
  }
}

function filtered(header: { baseOffset: number; lastOffsetDelta: number; producerId: number; attributes: number }): FilteredBatch {
  return { lastOffset: header.baseOffset + header.lastOffsetDelta, producerId: header.producerId, transactional: (header.attributes & TRANSACTIONAL_FLAG) !== 0 };
}
