/**
 * The producer's per-partition batching: records wait here until their batch is worth sending.
 * Plain state with an injected clock and no I/O; the producer's sender drains it.
 *
 * Each partition has a queue of batches, oldest first; records are appended to the newest one, and a
 * batch that would grow past `batchSizeBytes` is closed and a new one opened (a record bigger than
 * that travels alone in its batch, as in Kafka). A partition's head batch is *ready* when
 *
 *   - it is full (a later batch exists behind it, or it reached `batchSizeBytes`), or
 *   - it has waited `lingerMs` since its first record, or
 *   - `sendWhileRoom` is set and its partition has fewer batches in flight than it may (adaptive
 *     batching: at once while the pipe has room, accumulating behind it once it is full), or
 *   - the producer is flushing or closing,
 *
 * and it is not held back by a retry backoff (`notBeforeMs`) or by the partition being *muted*.
 *
 * Ordering: when the producer may retry (`retries > 0`) a partition is muted while
 * `maxInFlightPerPartition` of its batches are in flight: one for a producer that is not idempotent,
 * so a retried batch can never land behind the one that followed it (Kafka's
 * `max.in.flight.requests.per.connection=1`); up to five for an idempotent producer, whose batches
 * carry sequence numbers the leader checks. A batch to retry goes back into its queue in sequence
 * order (at the head when it has none), and a retried batch with a sequence is drained only once
 * nothing else of its partition is in flight, so retries go out in order, after the batches sent
 * behind them have come back (the leader refused those as out of order, or they were appended).
 * Without retries nothing is muted and several batches of a partition may be in flight on the one
 * connection to its leader, whose responses come back in order.
 *
 * Records are kept column by column (`RecordColumns`: keys, values, timestamps, headers when any),
 * not as one object each: a record waits in a batch long enough for an object of its own to survive
 * a scavenge and be promoted, and the GC was a fifth of a perf run's CPU before this.
 *
 * Memory: every record's estimated size is reserved against `bufferMemoryBytes` before it is
 * appended and released when its batch completes (acknowledged or failed). `reserve` waits, first
 * come first served, while the buffer is full: this is what makes `send()` await under pressure.
 */
import type { RecordColumns, RecordInput } from '../log/index.js';

/** A RecordBatch v2 header (61 bytes) plus the log overhead is already in the 61. */
export const BATCH_OVERHEAD_BYTES = 61;
/** A generous bound on one record's framing: length, attributes, deltas, lengths, header count. */
const RECORD_OVERHEAD_BYTES = 21;

/** Estimated bytes of one record in an uncompressed batch (an upper bound, close enough for limits). */
export function estimateRecordBytes(record: RecordInput): number {
  let bytes = RECORD_OVERHEAD_BYTES + fieldBytes(record.key) + fieldBytes(record.value);
  const headers = record.headers;
  if (headers !== undefined) {
    const pairs: Array<[string, Buffer | string | null]> = Array.isArray(headers)
      ? (headers as ReadonlyArray<{ key: string; value: Buffer | null }>).map((h) => [h.key, h.value])
      : Object.entries(headers as { readonly [key: string]: Buffer | string | null });
    for (const [key, value] of pairs) bytes += 10 + Buffer.byteLength(key, 'utf8') + fieldBytes(value);
  }
  return bytes;
}

function fieldBytes(field: Buffer | string | null | undefined): number {
  if (field === null || field === undefined) return 0;
  return typeof field === 'string' ? Buffer.byteLength(field, 'utf8') : field.length;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** One batch of records for one partition, and the promise its records' senders wait on. */
export class ProducerBatch implements RecordColumns {
  readonly topic: string;
  readonly partition: number;
  readonly keys: Array<Buffer | string | null> = [];
  readonly values: Array<Buffer | string | null> = [];
  readonly timestamps: number[] = [];
  /** Created at the first record with headers; `headers[i]` is undefined for a record without. */
  headers: Array<RecordInput['headers']> | undefined = undefined;
  /** Estimated uncompressed bytes, header included. */
  sizeBytes = BATCH_OVERHEAD_BYTES;
  readonly createdMs: number;
  /** Set when no more records may join (a newer batch exists, or it was drained). */
  closed = false;
  /** Sends so far. */
  attempts = 0;
  /** Earliest time of the next send (retry backoff). */
  notBeforeMs = 0;
  /** The encoded batch, kept for retries so a retry resends the same bytes. */
  encoded: Buffer | undefined = undefined;
  /** An idempotent producer's sequence of the first record and epoch, set when first drained; -1 before (and always when not idempotent). */
  baseSequence = -1;
  producerEpoch = -1;
  producerId = -1;
  /** Set when an earlier batch of its partition failed with an unknown outcome: this one must fail too, not be re-sequenced. */
  doomed: Error | undefined = undefined;
  /** Resolves to the base offset the leader assigned (-1 with acks=0); rejects with the final error. */
  readonly result: Promise<number>;
  private settle!: { resolve: (baseOffset: number) => void; reject: (error: Error) => void };
  private settled = false;

  constructor(topic: string, partition: number, createdMs: number) {
    this.topic = topic;
    this.partition = partition;
    this.createdMs = createdMs;
    this.result = new Promise<number>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // Senders attach their own handlers; a batch whose senders all went away must not crash the process.
    this.result.catch(() => undefined);
  }

  get count(): number {
    return this.values.length;
  }

  get recordCount(): number {
    return this.values.length;
  }

  /** Adds a record; `timestamp` is its own or the time of its send. */
  push(record: RecordInput, timestamp: number): void {
    const index = this.values.length;
    this.keys.push(record.key ?? null);
    this.values.push(record.value);
    this.timestamps.push(timestamp);
    if (record.headers !== undefined) {
      this.headers ??= new Array<RecordInput['headers']>(index);
      this.headers[index] = record.headers;
    } else if (this.headers !== undefined) {
      this.headers[index] = undefined;
    }
  }

  /** Record i as a RecordInput (tests and diagnostics; the encoder reads the columns). */
  recordAt(i: number): RecordInput {
    const headers = this.headers?.[i];
    return { key: this.keys[i]!, value: this.values[i]!, timestamp: this.timestamps[i]!, ...(headers === undefined ? {} : { headers }) };
  }

  get isSettled(): boolean {
    return this.settled;
  }

  resolve(baseOffset: number): void {
    if (this.settled) return;
    this.settled = true;
    this.settle.resolve(baseOffset);
  }

  reject(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.settle.reject(error);
  }
}

export interface RecordAccumulatorOptions {
  batchSizeBytes: number;
  lingerMs: number;
  bufferMemoryBytes: number;
  /** Mute a partition while its batches are in flight (set when the producer retries). */
  onePerPartitionInFlight: boolean;
  /** With `onePerPartitionInFlight`: how many may be in flight (default 1; up to 5 for an idempotent producer). */
  maxInFlightPerPartition?: number;
  /** A head batch is ready without lingering while its partition has room in flight (see the top). */
  sendWhileRoom?: boolean;
}

/** Where an appended record went: its batch and its index (offset delta) inside it. */
export interface AppendResult {
  batch: ProducerBatch;
  index: number;
  /** The append opened a new batch. */
  newBatch: boolean;
}

interface Waiter {
  bytes: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

function keyOf(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class RecordAccumulator {
  private readonly options: RecordAccumulatorOptions;
  /**
   * The batch the last append went to, while it is open: an open batch is the tail of its
   * partition's queue (appends close the tail they supersede, drain and abort close what they take),
   * so the next record of that partition can join it without looking up the queue.
   */
  private lastBatch: ProducerBatch | undefined;
  private readonly queues = new Map<string, ProducerBatch[]>();
  /** Drained and not completed batches per partition (only with `onePerPartitionInFlight`). */
  private readonly inFlightByPartition = new Map<string, number>();
  private readonly perPartitionLimit: number;
  private readonly waiters: Waiter[] = [];
  private bufferedBytes = 0;
  /** Batches drained and not yet completed. */
  private inFlight = 0;

  constructor(options: RecordAccumulatorOptions) {
    if (!(options.batchSizeBytes > 0)) throw new RangeError(`batchSizeBytes ${options.batchSizeBytes}`);
    if (!(options.lingerMs >= 0)) throw new RangeError(`lingerMs ${options.lingerMs}`);
    if (!(options.bufferMemoryBytes >= options.batchSizeBytes)) {
      throw new RangeError(`bufferMemoryBytes ${options.bufferMemoryBytes} below batchSizeBytes ${options.batchSizeBytes}`);
    }
    this.options = options;
    this.perPartitionLimit = options.onePerPartitionInFlight ? (options.maxInFlightPerPartition ?? 1) : Number.POSITIVE_INFINITY;
    if (!(this.perPartitionLimit >= 1)) throw new RangeError(`maxInFlightPerPartition ${options.maxInFlightPerPartition}`);
  }

  /** Whether the partition has as many batches in flight as it may. */
  private isMuted(key: string): boolean {
    return (this.inFlightByPartition.get(key) ?? 0) >= this.perPartitionLimit;
  }

  /** Batches of the partition drained and not yet completed or requeued (counted only when muting applies). */
  inFlightOf(topic: string, partition: number): number {
    return this.inFlightByPartition.get(keyOf(topic, partition)) ?? 0;
  }

  /** A sequenced retry waits until nothing else of its partition is in flight. */
  private held(key: string, head: ProducerBatch): boolean {
    return head.baseSequence >= 0 && (this.inFlightByPartition.get(key) ?? 0) > 0;
  }

  private leaveFlight(key: string): void {
    const n = this.inFlightByPartition.get(key);
    if (n === undefined) return;
    if (n <= 1) this.inFlightByPartition.delete(key);
    else this.inFlightByPartition.set(key, n - 1);
  }

  /** Bytes reserved by records not yet completed. */
  get bufferedBytesNow(): number {
    return this.bufferedBytes;
  }

  /**
   * Waits until `bytes` fit in the buffer, then reserves them. Waiters are served in order, so a big
   * record is not starved by small ones. A single record larger than the whole buffer is refused.
   */
  reserve(bytes: number): Promise<void> {
    if (bytes > this.options.bufferMemoryBytes) {
      return Promise.reject(new RangeError(`a record of ~${bytes} bytes exceeds bufferMemory ${this.options.bufferMemoryBytes}`));
    }
    if (this.waiters.length === 0 && this.bufferedBytes + bytes <= this.options.bufferMemoryBytes) {
      this.bufferedBytes += bytes;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => this.waiters.push({ bytes, resolve, reject }));
  }

  /** Reserves `bytes` at once if they fit and nobody is waiting; returns whether it did. */
  tryReserve(bytes: number): boolean {
    if (this.waiters.length > 0 || this.bufferedBytes + bytes > this.options.bufferMemoryBytes) return false;
    this.bufferedBytes += bytes;
    return true;
  }

  /** Returns reserved bytes (a batch completed) and wakes waiters that now fit. */
  release(bytes: number): void {
    this.bufferedBytes -= bytes;
    if (this.bufferedBytes < 0) throw new Error(`released more than reserved (${this.bufferedBytes})`);
    while (this.waiters.length > 0 && this.bufferedBytes + this.waiters[0]!.bytes <= this.options.bufferMemoryBytes) {
      const waiter = this.waiters.shift()!;
      this.bufferedBytes += waiter.bytes;
      waiter.resolve();
    }
  }

  /** Fails every `reserve` still waiting (the producer is closing without flushing). */
  rejectWaiters(error: Error): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  /**
   * Appends a record whose bytes were reserved. Its timestamp is `record.timestamp`, else `nowMs`
   * (the time of the send).
   */
  append(topic: string, partition: number, record: RecordInput, recordBytes: number, nowMs: number): AppendResult {
    const timestamp = record.timestamp ?? nowMs;
    const last = this.lastBatch;
    if (last !== undefined && !last.closed && last.partition === partition && last.topic === topic && last.sizeBytes + recordBytes <= this.options.batchSizeBytes) {
      last.push(record, timestamp);
      last.sizeBytes += recordBytes;
      return { batch: last, index: last.count - 1, newBatch: false };
    }
    const key = keyOf(topic, partition);
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = [];
      this.queues.set(key, queue);
    }
    let batch = queue[queue.length - 1];
    let newBatch = false;
    if (batch === undefined || batch.closed || (batch.count > 0 && batch.sizeBytes + recordBytes > this.options.batchSizeBytes)) {
      if (batch !== undefined) batch.closed = true;
      batch = new ProducerBatch(topic, partition, nowMs);
      queue.push(batch);
      newBatch = true;
    }
    batch.push(record, timestamp);
    batch.sizeBytes += recordBytes;
    this.lastBatch = batch;
    return { batch, index: batch.count - 1, newBatch };
  }

  /**
   * Whether the open batch at the tail of the partition's queue is too full for `recordBytes` more,
   * so that appending would close it and open another (Kafka's `abortOnNewBatch` moment, when the
   * sticky partitioner moves on). False when there is no open batch to fill.
   */
  tailIsFull(topic: string, partition: number, recordBytes: number): boolean {
    const last = this.lastBatch;
    const tail = last !== undefined && last.topic === topic && last.partition === partition ? last : this.queues.get(keyOf(topic, partition))?.at(-1);
    return tail !== undefined && !tail.closed && tail.count > 0 && tail.sizeBytes + recordBytes > this.options.batchSizeBytes;
  }

  /** Whether any record is waiting or in flight. */
  hasPending(): boolean {
    return this.inFlight > 0 || this.queues.size > 0;
  }

  /** Whether any record is waiting to be drained. */
  hasQueued(): boolean {
    return this.queues.size > 0;
  }

  private isFull(queue: readonly ProducerBatch[], head: ProducerBatch): boolean {
    return queue.length > 1 || head.closed || head.sizeBytes >= this.options.batchSizeBytes;
  }

  private headIsReady(key: string, queue: readonly ProducerBatch[], nowMs: number, flushing: boolean): boolean {
    const head = queue[0];
    if (head === undefined || this.isMuted(key) || this.held(key, head) || head.notBeforeMs > nowMs) return false;
    return flushing || this.isFull(queue, head) || nowMs - head.createdMs >= this.options.lingerMs || this.options.sendWhileRoom === true;
  }

  /**
   * Removes and returns the ready head batches of the partitions `canSend` accepts (their leader is
   * known and its connection has room), oldest partition queue first. With muting off, a partition
   * gives every ready batch it has; with muting on, one. Drained batches are closed and counted as
   * in flight until `complete` or `requeue`. `onDrain` sees each batch as it leaves, before the next
   * head is offered to `canSend`, so a decision that depends on what was sent (an idempotent
   * producer's window of sequences) counts the batches of this same pass.
   */
  drain(nowMs: number, flushing: boolean, canSend: (topic: string, partition: number, head: ProducerBatch) => boolean, onDrain?: (batch: ProducerBatch) => void): ProducerBatch[] {
    const drained: ProducerBatch[] = [];
    for (const [key, queue] of this.queues) {
      while (this.headIsReady(key, queue, nowMs, flushing) && canSend(queue[0]!.topic, queue[0]!.partition, queue[0]!)) {
        const batch = queue.shift()!;
        batch.closed = true;
        batch.attempts++;
        drained.push(batch);
        onDrain?.(batch);
        this.inFlight++;
        if (this.options.onePerPartitionInFlight) this.inFlightByPartition.set(key, (this.inFlightByPartition.get(key) ?? 0) + 1);
        if (queue.length === 0) this.queues.delete(key);
        if (queue.length === 0) break;
      }
    }
    return drained;
  }

  /**
   * Milliseconds until the next batch of a partition `canSend` accepts may become ready by time
   * alone (linger or backoff expiring); undefined when none is waiting on time.
   */
  nextReadyInMs(nowMs: number, canSend: (topic: string, partition: number, head: ProducerBatch) => boolean = () => true): number | undefined {
    let next: number | undefined;
    for (const [key, queue] of this.queues) {
      const head = queue[0];
      if (head === undefined || this.isMuted(key) || this.held(key, head) || !canSend(head.topic, head.partition, head)) continue;
      const lingerDone = this.isFull(queue, head) || this.options.sendWhileRoom === true ? nowMs : head.createdMs + this.options.lingerMs;
      const at = Math.max(lingerDone, head.notBeforeMs);
      const wait = Math.max(0, at - nowMs);
      if (next === undefined || wait < next) next = wait;
    }
    return next;
  }

  /** A drained batch finished (acknowledged or failed for good): unmute its partition, free its memory. */
  complete(batch: ProducerBatch): void {
    this.inFlight--;
    this.leaveFlight(keyOf(batch.topic, batch.partition));
    this.release(batch.sizeBytes - BATCH_OVERHEAD_BYTES);
  }

  /**
   * A drained batch failed retriably: back into its partition's queue, not before `notBeforeMs`:
   * at the head, or, with a sequence, before the first batch with a higher sequence or none.
   */
  requeue(batch: ProducerBatch, notBeforeMs: number): void {
    this.inFlight--;
    const key = keyOf(batch.topic, batch.partition);
    this.leaveFlight(key);
    batch.notBeforeMs = notBeforeMs;
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = [];
      this.queues.set(key, queue);
    }
    let at = 0;
    if (batch.baseSequence >= 0) {
      while (at < queue.length && queue[at]!.baseSequence >= 0 && queue[at]!.producerEpoch === batch.producerEpoch && queue[at]!.baseSequence < batch.baseSequence) at++;
    }
    queue.splice(at, 0, batch);
  }

  /** Takes a queued (not in-flight) batch out of its queue and frees its memory, for failing it. */
  removeQueued(batch: ProducerBatch): void {
    const key = keyOf(batch.topic, batch.partition);
    const queue = this.queues.get(key);
    const i = queue?.indexOf(batch) ?? -1;
    if (queue === undefined || i < 0) return;
    queue.splice(i, 1);
    if (queue.length === 0) this.queues.delete(key);
    if (this.lastBatch === batch) this.lastBatch = undefined;
    batch.closed = true;
    this.release(batch.sizeBytes - BATCH_OVERHEAD_BYTES);
  }

  /** Queued (not in-flight) batches created at or before `createdByMs`: past their delivery timeout. */
  queuedCreatedBy(createdByMs: number): ProducerBatch[] {
    const found: ProducerBatch[] = [];
    for (const queue of this.queues.values()) for (const batch of queue) if (batch.createdMs <= createdByMs) found.push(batch);
    return found;
  }

  /** The creation time of the oldest queued batch, if any. */
  oldestQueuedMs(): number | undefined {
    let oldest: number | undefined;
    for (const queue of this.queues.values()) for (const batch of queue) if (oldest === undefined || batch.createdMs < oldest) oldest = batch.createdMs;
    return oldest;
  }

  /** The queued (not in-flight) batches of a partition, oldest first (for re-sequencing after an epoch bump). */
  queuedOf(topic: string, partition: number): readonly ProducerBatch[] {
    return this.queues.get(keyOf(topic, partition)) ?? [];
  }

  /**
   * Removes the queued (not in-flight) batches `which` selects (all by default) and frees their
   * memory, for failing them: their topic is gone, or the producer is closing without flushing.
   */
  abortQueued(which: (topic: string, partition: number) => boolean = () => true): ProducerBatch[] {
    const aborted: ProducerBatch[] = [];
    for (const [key, queue] of this.queues) {
      const head = queue[0];
      if (head === undefined || !which(head.topic, head.partition)) continue;
      this.queues.delete(key);
      for (const batch of queue) {
        batch.closed = true;
        this.release(batch.sizeBytes - BATCH_OVERHEAD_BYTES);
        aborted.push(batch);
      }
    }
    return aborted;
  }
}
