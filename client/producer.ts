/**
 * The producer: `send()` partitions each message, appends it to the record accumulator and resolves
 * once the acks are met; a sender loop drains ready batches and ships them, one Produce request per
 * leader broker carrying every ready partition it leads.
 *
 * Guarantees:
 * - `send` resolves to one `{ topic, partition, offset }` per message, in the order given. With
 *   acks=0 the broker says nothing, so every offset is -1 and the promise resolves once the request
 *   is written to the socket.
 * - Per-partition order: messages of one partition are appended in send order and their batches are
 *   sent in order. Different partitions share requests and pipeline freely.
 * - Idempotent (the default with acks all, as Kafka 3+; `producer-sequences.ts`): the producer gets
 *   an id (InitProducerId) before its first batch; each batch carries the id, an epoch and the
 *   sequence number of its first record, given when it is first drained. Up to `maxInFlight` (≤ 5)
 *   batches per partition are in flight. A retry resends the same bytes; the leader answers a batch
 *   it already has with the original offset, so a retry never duplicates. A batch the leader refused
 *   as out of order because an earlier one is missing is requeued behind that one, in sequence
 *   order, and retries go out only once the partition has nothing in flight, so the log order is
 *   the send order. A sequence error the producer cannot repair bumps the partition's epoch (the
 *   batch that caused it fails, never silently, and `onEpochBump` is told); see
 *   `producer-sequences.ts` for which batches are re-sequenced and which fail.
 * - `idempotent: false`: when batches may be retried (`retries > 0` and acks != 0) at most one batch
 *   per partition is in flight (the accumulator mutes the partition), so a retried batch can never be
 *   overtaken by the next one; at-least-once: a batch that failed with a retriable error (or whose
 *   request was lost with the connection) is sent again, and if the broker had appended it before
 *   the error, it is now in the log twice.
 * - A non-retriable error, or running out of retries, rejects the messages of that batch (and so
 *   their `send` calls) with a StrataError carrying the broker's code.
 * - Transactional (`transactionalId`): sends go through `producer.transaction()`. The producer id
 *   comes from the id's transaction coordinator; a partition's batches leave only once the
 *   coordinator added it to the open transaction, and carry the transactional flag. A batch that
 *   fails for good makes the transaction abortable instead of bumping an epoch locally (the
 *   coordinator owns the epoch); a fencing error is fatal for the producer. `transaction-manager.ts`
 *   holds the transaction's state and does the coordinator requests.
 *
 * Concurrency: single-threaded. `wake()` schedules one sender pass (setImmediate); a pass drains what
 * is ready and arms one timer for the next linger or backoff expiry. A response, a metadata refresh
 * or a new full batch wakes it again.
 */
import { encodeBatchColumns } from '../log/index.js';
import type { Cluster } from './cluster.js';
import type { PartitionInfo, TopicInfo } from './cluster-metadata.js';
import { parseProducerConfig, type ProducerConfig, type ResolvedProducerConfig } from './config.js';
import { createStickyPartitioner, type Partitioner } from './partitioner.js';
import { API_KEYS, ERRORS, StrataError, type ProduceRequest } from './protocol/index.js';
import { ProducerSequences } from './producer-sequences.js';
import { RecordAccumulator, estimateRecordBytes, type ProducerBatch } from './record-accumulator.js';
import { backoffMs, isRetriable } from './retry.js';
import { Transaction } from './transaction.js';
import { TransactionManager } from './transaction-manager.js';


export interface ProducerMessage {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: { readonly [key: string]: Buffer | string | null };
  /** Milliseconds since the epoch; default the time of `send`. */
  timestamp?: number;
  /** Overrides the partitioner. */
  partition?: number;
}

export interface ProducerRecord {
  topic: string;
  messages: readonly ProducerMessage[];
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** The offset the leader assigned; -1 with acks=0. */
  offset: number;
}

export interface ProducerInternals {
  partitioner?: Partitioner;
  now?: () => number;
}

export class Producer {
  readonly config: ResolvedProducerConfig;
  private readonly cluster: Cluster;
  private readonly accumulator: RecordAccumulator;
  private readonly partitioner: Partitioner;
  private readonly now: () => number;
  /** Produce requests awaiting a response, per leader node id. */
  private readonly inFlightByNode = new Map<number, number>();
  private readonly refreshing = new Set<string>();
  private readonly sends = new Set<Promise<unknown>>();
  /** Per topic, the end of the last send's append phase. */
  private readonly appending = new Map<string, Promise<void>>();
  private flushes = 0;
  private idleWaiters: Array<() => void> = [];
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private isClosed = false;
  /** An idempotent producer's id, epochs and sequences; undefined when not idempotent. */
  private readonly sequences: ProducerSequences | undefined;
  /** The InitProducerId in progress, if any. */
  private initializing: Promise<void> | undefined;
  private initFailures = 0;
  /** Partition epoch bumps so far (idempotent producer), for tests and diagnostics. */
  epochBumps = 0;
  /** A transactional producer's transactions; undefined when not transactional. */
  private readonly transactions: TransactionManager | undefined;
  /** The first InitProducerId of a transactional producer, shared by concurrent `transaction()` calls. */
  private transactionalInit: Promise<unknown> | undefined;

  constructor(cluster: Cluster, config: ProducerConfig = {}, internals: ProducerInternals = {}) {
    this.cluster = cluster;
    this.config = parseProducerConfig(config, cluster.config.retry);
    this.partitioner = internals.partitioner ?? createStickyPartitioner();
    this.now = internals.now ?? Date.now;
    this.accumulator = new RecordAccumulator({
      batchSizeBytes: this.config.batchSize,
      lingerMs: this.config.lingerMs,
      bufferMemoryBytes: this.config.bufferMemory,
      onePerPartitionInFlight: this.config.idempotent || (this.config.retries > 0 && this.config.acks !== 0),
      maxInFlightPerPartition: this.config.idempotent ? this.config.maxInFlight : 1,
      sendWhileRoom: this.config.adaptiveBatching,
    });
    this.sequences = this.config.idempotent ? new ProducerSequences(this.config.maxInFlight) : undefined;
    const sequences = this.sequences;
    this.transactions =
      this.config.transactionalId === undefined || sequences === undefined
        ? undefined
        : new TransactionManager(cluster, this.config.transactionalId, this.config.transactionTimeoutMs, {
            wake: () => this.wake(),
            rejectQueued: (which, error) => {
              for (const batch of this.accumulator.abortQueued(which)) {
                batch.reject(error);
                sequences.settled(batch);
              }
              this.notifyIfIdle();
            },
            flush: () => this.flush(),
            resetSequences: (producerId, producerEpoch) => sequences.reset(producerId, producerEpoch),
          }, this.now);
  }

  /**
   * Opens a transaction (transactional producers only; one at a time). The first call gets the
   * producer id from the transaction coordinator, which fences any earlier producer with the same
   * transactionalId and aborts what it left open.
   */
  async transaction(): Promise<Transaction> {
    const transactions = this.transactions;
    if (transactions === undefined) throw new TypeError('producer.transaction() needs a producer created with a transactionalId');
    if (this.closing) throw new StrataError('NETWORK_EXCEPTION', 'The producer is closed.');
    transactions.checkUsable();
    if (!transactions.hasProducerId) {
      const init = (this.transactionalInit ??= transactions.initProducerId().finally(() => {
        this.transactionalInit = undefined;
      }));
      await init;
    }
    transactions.begin();
    return new Transaction({ sendInTransaction: (record) => this.sendInTransaction(record) }, transactions);
  }

  private sendInTransaction(record: ProducerRecord): Promise<RecordMetadata[]> {
    this.transactions!.checkCanSend();
    const sending = this.trackedSend(record);
    this.transactions!.trackSend(sending);
    return sending;
  }

  /** The idempotent producer's id (-1 before the first InitProducerId, or when not idempotent). */
  get producerId(): number {
    return this.sequences?.producerId ?? -1;
  }

  /**
   * Gets a producer id (InitProducerId from any broker, with the client's retries) and wakes the
   * sender. On failure it tries again after a backoff while anything waits to be sent.
   */
  private initProducerId(): void {
    if (this.initializing !== undefined || this.sequences === undefined) return;
    const sequences = this.sequences;
    const obtained =
      this.transactions !== undefined
        ? this.transactions.initProducerId()
        : this.cluster.initProducerId().then(({ producerId, producerEpoch }) => sequences.reset(producerId, producerEpoch));
    this.initializing = obtained
      .then(() => {
        this.initFailures = 0;
      })
      .catch((error: unknown) => {
        // No broker gave an id within the client's retries: fail nothing yet (a broker may come
        // back), but do not spin: the next try waits a backoff.
        this.initFailures += 1;
        const failure = asError(error);
        if (!isRetriable(failure) && !(failure instanceof StrataError && failure.errorName === 'NETWORK_EXCEPTION')) {
          for (const batch of this.accumulator.abortQueued()) batch.reject(failure);
        }
        return new Promise<void>((resolve) => setTimeout(resolve, backoffMs(Math.min(this.initFailures, 10), this.cluster.config.retry)));
      })
      .finally(() => {
        this.initializing = undefined;
        this.wake();
        this.notifyIfIdle();
      });
  }

  /**
   * Carries out the epoch bumps that wait for their partition's in-flight batches to come back:
   * batches doomed by an earlier failure of unknown outcome fail first, then the rest of the
   * partition's unacknowledged batches get new sequences under the new epoch.
   */
  private runPendingBumps(): void {
    const sequences = this.sequences;
    if (sequences === undefined) return;
    for (const { topic, partition } of sequences.pendingBumps()) {
      if (this.accumulator.inFlightOf(topic, partition) > 0) continue;
      for (const batch of [...this.accumulator.queuedOf(topic, partition)]) {
        if (batch.doomed === undefined) continue;
        this.accumulator.removeQueued(batch);
        sequences.settled(batch);
        batch.reject(batch.doomed);
      }
      const epoch = sequences.bumpIfIdle(topic, partition, 0);
      if (epoch === 'new-id') {
        // 32767 bumps of one partition: start over with a new id (every partition at sequence 0).
        sequences.reset(-1, 0);
        this.initProducerId();
        continue;
      }
      if (epoch !== undefined) this.epochBumps += 1;
    }
  }

  private announceBump(batch: ProducerBatch, reason: string): void {
    this.config.onEpochBump({ topic: batch.topic, partition: batch.partition, producerId: batch.producerId, epoch: batch.producerEpoch + 1, reason });
  }

  /**
   * Sends messages to one topic; resolves with their offsets, in the order given, once acked. A
   * transactional producer sends through its transaction (`transaction.send`) only.
   */
  send(record: ProducerRecord): Promise<RecordMetadata[]> {
    if (this.transactions !== undefined) {
      return Promise.reject(
        new TypeError(`producer.send on a transactional producer (transactionalId '${this.transactions.transactionalId}'): send inside a transaction, const tx = await producer.transaction(); await tx.send(...)`),
      );
    }
    return this.trackedSend(record);
  }

  private trackedSend(record: ProducerRecord): Promise<RecordMetadata[]> {
    // The common case appends at once, in this call: no promise chain, nothing to track but the batch.
    const sent = this.sendNow(record);
    if (sent !== undefined) return sent;
    const sending = this.doSend(record);
    this.sends.add(sending);
    const forget = () => this.sends.delete(sending);
    sending.then(forget, forget);
    return sending;
  }

  private async doSend(record: ProducerRecord): Promise<RecordMetadata[]> {
    if (this.closing) throw new StrataError('NETWORK_EXCEPTION', 'The producer is closed.');
    const { topic, messages } = record;
    if (messages.length === 0) return [];
    // Sends to one topic append one after the other, in call order, so that two sends to a
    // partition land in the order they were made even when one waits for metadata or memory.
    const previous = this.appending.get(topic) ?? Promise.resolve();
    const appended = previous.then(() => this.appendAll(topic, messages));
    const done = appended.then(
      () => undefined,
      () => undefined,
    );
    this.appending.set(topic, done);
    void done.then(() => {
      if (this.appending.get(topic) === done) this.appending.delete(topic);
    });
    return this.resultsOf(topic, messages.length, await appended);
  }

  /**
   * Appends a send's messages now, synchronously, when nothing makes it wait: the producer is open,
   * no earlier send to the topic is still appending (order), its metadata is cached and fresh, every
   * message is valid and all of their bytes fit in the buffer at once. Returns the send's promise,
   * or undefined to take the asynchronous path, which checks and waits as before.
   */
  private sendNow(record: ProducerRecord): Promise<RecordMetadata[]> | undefined {
    const { topic, messages } = record;
    if (this.closing || messages.length === 0 || this.appending.has(topic)) return undefined;
    const info = this.cluster.freshTopicMetadata(topic);
    if (info === undefined) return undefined;
    let bytes = 0;
    try {
      for (let i = 0; i < messages.length; i++) {
        checkMessage(messages[i]!, i);
        bytes += estimateRecordBytes(messages[i]!);
      }
    } catch {
      return undefined;
    }
    const numPartitions = info.partitions.length;
    let partitions: number[] | undefined;
    if (messages.length > 1 || !isKeyless(messages[0]!)) {
      try {
        partitions = messages.map((message) => (isKeyless(message) ? -1 : this.partitioner.partition({ topic, key: message.key, partition: message.partition, numPartitions })));
      } catch {
        return undefined;
      }
    }
    if (!this.accumulator.tryReserve(bytes)) return undefined;
    const availablePartitions = this.availableOf(info);
    const nowMs = this.now();
    if (messages.length === 1) {
      const result = this.appendOne(topic, messages[0]!, partitions === undefined ? -1 : partitions[0]!, bytes, nowMs, numPartitions, availablePartitions);
      this.wake();
      return this.resultOf(result.batch, result.index);
    }
    const placed: Array<ProducerBatch | number> = [];
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i]!;
      const result = this.appendOne(topic, message, partitions === undefined ? -1 : partitions[i]!, estimateRecordBytes(message), nowMs, numPartitions, availablePartitions);
      place(placed, result.batch, i, result.index);
      if (result.newBatch && i > 0) this.wake();
    }
    this.wake();
    return this.resultsOf(topic, messages.length, placed);
  }

  /** The one-message sends of each batch, and of the batch the last one went to. */
  private readonly oneSends = new WeakMap<ProducerBatch, OneSends>();
  private lastOneSends: OneSends | undefined;

  /**
   * The promise of a send of one message, appended at `index` of `batch`: its batch's promise with a
   * handler shared by the batch's one-message sends, not a closure per send (a queued send's closure
   * and its context outlive a scavenge or two, and copying them was a good part of a send's cost).
   */
  private resultOf(batch: ProducerBatch, index: number): Promise<RecordMetadata[]> {
    let sends = this.lastOneSends;
    if (sends === undefined || sends.batch !== batch) {
      sends = this.oneSends.get(batch);
      if (sends === undefined) this.oneSends.set(batch, (sends = new OneSends(batch)));
      this.lastOneSends = sends;
    }
    sends.indexes.push(index);
    return batch.result.then(sends.settle);
  }

  /** Per partition list of a topic's metadata, the partitions with a leader: kept while it still says so. */
  private readonly available = new WeakMap<readonly PartitionInfo[], number[]>();

  /** The partitions of `info` that have a leader, without allocating while they stay the same. */
  private availableOf(info: TopicInfo): readonly number[] {
    const partitions = info.partitions;
    const cached = this.available.get(partitions);
    if (cached !== undefined && sameLeaders(partitions, cached)) return cached;
    const fresh = partitions.filter((p) => p.leaderId >= 0).map((p) => p.partition);
    this.available.set(partitions, fresh);
    return fresh;
  }

  /** A keyless record (`partition` -1) goes to the sticky partition, moving on when its batch is full; then it is appended. */
  private appendOne(topic: string, message: ProducerMessage, partition: number, bytes: number, nowMs: number, numPartitions: number, availablePartitions: readonly number[]): import('./record-accumulator.js').AppendResult {
    if (partition === -1) {
      partition = this.partitioner.partition({ topic, key: null, numPartitions, availablePartitions });
      if (this.accumulator.tailIsFull(topic, partition, bytes)) {
        // A keyless record would open a new batch because the sticky partition's is full: move to
        // another partition first, as Kafka's producer does (KIP-480's onNewBatch). Otherwise, while
        // that partition's one batch in flight is answered, every record piles up behind it and the
        // other partitions idle.
        this.partitioner.onBatchSent(topic, partition, numPartitions);
        partition = this.partitioner.partition({ topic, key: null, numPartitions, availablePartitions });
      }
    }
    // Batches opened by one send linger from the same instant, so they tend to leave together.
    const result = this.accumulator.append(topic, partition, message, bytes, nowMs);
    this.transactions?.partitionWritten(topic, partition);
    return result;
  }

  /**
   * A send's results once its batches are acknowledged, from where its messages went (`placed`, as
   * `appendAll` returns it). Waits per batch, not per message: a send of 10,000 messages waits on a
   * handful of promises, and a send of one on its batch's promise alone.
   */
  private resultsOf(topic: string, count: number, placed: Array<ProducerBatch | number>): Promise<RecordMetadata[]> {
    if (placed.length === 4) {
      const batch = placed[0] as ProducerBatch;
      const first = placed[1] as number;
      const index = placed[3] as number;
      return batch.result.then((base) => {
        const results: RecordMetadata[] = new Array<RecordMetadata>(count);
        const partition = batch.partition;
        for (let i = 0; i < count; i++) results[first + i] = { topic, partition, offset: base < 0 ? -1 : base + index + i };
        return results;
      });
    }
    const runs = placed.length / 4;
    return Promise.all(Array.from({ length: runs }, (_, r) => (placed[4 * r] as ProducerBatch).result)).then((bases) => this.collect(topic, count, placed, bases));
  }

  private collect(topic: string, count: number, placed: Array<ProducerBatch | number>, bases: number[]): RecordMetadata[] {
    const results: RecordMetadata[] = new Array<RecordMetadata>(count);
    const runs = placed.length / 4;
    for (let r = 0; r < runs; r++) {
      const batch = placed[4 * r] as ProducerBatch;
      const first = placed[4 * r + 1] as number;
      const end = first + (placed[4 * r + 2] as number);
      const base = bases[r]!;
      let offset = base < 0 ? -1 : base + (placed[4 * r + 3] as number);
      for (let i = first; i < end; i++) {
        results[i] = { topic, partition: batch.partition, offset };
        if (base >= 0) offset++;
      }
    }
    return results;
  }

  /**
   * Appends every message and returns where they went as runs of consecutive messages in one batch,
   * flattened: `[batch, firstMessage, count, indexInBatch, ...]`, four entries a run, so a send of
   * thousands of messages allocates a few entries, not an object per message.
   */
  private async appendAll(topic: string, messages: readonly ProducerMessage[]): Promise<Array<ProducerBatch | number>> {
    const info = await this.cluster.topicMetadata(topic);
    const numPartitions = info.partitions.length;
    const availablePartitions = info.partitions.filter((p) => p.leaderId >= 0).map((p) => p.partition);
    // Check every message and choose every partition first, so that a bad message fails its own
    // call before anything is appended, instead of failing the batch it would share with others.
    messages.forEach(checkMessage);
    // A keyless record's partition is chosen when it is appended (-1 here): it depends on the batches
    // the records before it filled.
    const partitions = messages.map((message) =>
      isKeyless(message) ? -1 : this.partitioner.partition({ topic, key: message.key, partition: message.partition, numPartitions, availablePartitions }),
    );
    const nowMs = this.now();
    const placed: Array<ProducerBatch | number> = [];
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i]!;
      // The message is the record: its key, value, headers and timestamp are read once, into the batch.
      const bytes = estimateRecordBytes(message);
      if (!this.accumulator.tryReserve(bytes)) {
        // The buffer is full: let the sender make room (records may be lingering), then wait in line.
        this.wake();
        await this.accumulator.reserve(bytes);
      }
      const result = this.appendOne(topic, message, partitions[i]!, bytes, nowMs, numPartitions, availablePartitions);
      place(placed, result.batch, i, result.index);
      if (result.newBatch && i > 0) this.wake();
    }
    this.wake();
    return placed;
  }

  /** Sends everything buffered now, without waiting for linger, and resolves when all of it completed. */
  async flush(): Promise<void> {
    this.flushes++;
    try {
      // Sends already made but still appending (waiting for metadata or memory) are part of it.
      await Promise.all([...this.appending.values()]);
      while (this.accumulator.hasPending()) {
        const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
        this.wake();
        await idle;
      }
    } finally {
      this.flushes--;
    }
  }

  /** Waits for sends in progress, flushes, and stops the sender. Later sends reject. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    const transactions = this.transactions;
    if (transactions !== undefined && transactions.isOpen && transactions.fatalError === undefined && !this.closing) {
      // Abort what is open rather than leave it to the coordinator's timeout, which would hold back
      // read_committed consumers of its partitions until then. Best effort: closing goes on anyway.
      await transactions.end(false).catch(() => undefined);
    }
    this.closing = true;
    while (this.sends.size > 0 || this.accumulator.hasPending()) {
      await Promise.race([Promise.allSettled([...this.sends]), this.flush()]);
      await this.flush();
    }
    this.isClosed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.cluster.release(this);
  }

  // -------------------------------------------------------------------------------------------
  // The sender

  private wake(): void {
    if (this.scheduled || this.isClosed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.runOnce();
    });
  }

  private notifyIfIdle(): void {
    if (this.accumulator.hasPending()) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private runOnce(): void {
    const nowMs = this.now();
    this.expireQueued(nowMs);
    const sequences = this.sequences;
    if (sequences !== undefined) {
      if (!sequences.hasProducerId) {
        // No id yet (or no broker gave one): nothing leaves; InitProducerId wakes the sender when it ends.
        if (this.accumulator.hasQueued()) this.initProducerId();
        this.notifyIfIdle();
        return;
      }
      this.runPendingBumps();
    }
    const flushing = this.flushes > 0 || this.closing;
    const metadata = this.cluster.metadata;
    const staleTopics = new Set<string>();
    const room = (nodeId: number) => (this.inFlightByNode.get(nodeId) ?? 0) < this.config.maxInFlight || this.config.acks === 0;
    const transactions = this.transactions;
    const canSend = (topic: string, partition: number, head?: ProducerBatch): boolean => {
      // A transaction's batch waits until the coordinator added its partition to the transaction.
      if (transactions !== undefined && !transactions.isAdded(topic, partition)) return false;
      if (sequences !== undefined && head !== undefined && !sequences.canSend(head)) return false;
      const leader = metadata.leaderOf(topic, partition);
      if (leader === undefined) {
        staleTopics.add(topic);
        return false;
      }
      return room(leader);
    };
    // A batch gets its sequence as it is drained, so the window check of the next one counts it.
    const drained = this.accumulator.drain(nowMs, flushing, canSend, sequences === undefined ? undefined : (batch) => sequences.assign(batch));
    const byNode = new Map<number, ProducerBatch[]>();
    for (const batch of drained) {
      const leader = metadata.leaderOf(batch.topic, batch.partition)!;
      let list = byNode.get(leader);
      if (list === undefined) byNode.set(leader, (list = []));
      list.push(batch);
      this.partitioner.onBatchSent(batch.topic, batch.partition, metadata.partitionCount(batch.topic) ?? 1);
    }
    for (const [nodeId, batches] of byNode) void this.sendTo(nodeId, batches);

    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    // Partitions still queued whose leader is unknown (waiting on a backoff, say) need metadata too,
    // or nothing would wake the sender for them.
    const ready = this.accumulator.nextReadyInMs(this.now(), canSend);
    const oldest = this.accumulator.oldestQueuedMs();
    const expiry = oldest === undefined ? undefined : Math.max(0, oldest + this.config.deliveryTimeoutMs - this.now());
    const next = ready === undefined ? expiry : expiry === undefined ? ready : Math.min(ready, expiry);
    for (const topic of staleTopics) this.refresh(topic);
    if (next !== undefined) this.timer = setTimeout(() => this.wake(), Math.max(1, next));
    this.notifyIfIdle();
  }

  /** Fetches metadata for a topic whose partitions have no known leader, then wakes the sender. */
  private refresh(topic: string): void {
    if (this.refreshing.has(topic)) return;
    this.refreshing.add(topic);
    this.cluster.metadata.invalidate(topic);
    this.cluster
      .topicMetadata(topic)
      .then(
        () => undefined,
        (error: unknown) => {
          // The topic is gone or no broker answers after the client's retries: fail what waits for it.
          const failure = error instanceof Error ? error : new StrataError('UNKNOWN_SERVER_ERROR', String(error));
          for (const batch of this.accumulator.abortQueued((t) => t === topic)) batch.reject(failure);
        },
      )
      .finally(() => {
        this.refreshing.delete(topic);
        // Leaders may still be unknown (an election): come back after a pause, not in a tight loop.
        const stillUnknown = this.cluster.metadata.topic(topic)?.partitions.some((p) => this.cluster.metadata.leaderOf(topic, p.partition) === undefined) ?? false;
        if (stillUnknown) setTimeout(() => this.wake(), this.cluster.config.retry.initialRetryTimeMs);
        else this.wake();
        this.notifyIfIdle();
      });
  }

  private encode(batch: ProducerBatch): Buffer {
    if (batch.encoded === undefined) {
      batch.encoded = encodeBatchColumns(
        batch,
        batch.baseSequence < 0
          ? { compression: this.config.compression }
          : { compression: this.config.compression, producerId: batch.producerId, producerEpoch: batch.producerEpoch, baseSequence: batch.baseSequence, transactional: this.transactions !== undefined },
      );
    }
    return batch.encoded;
  }

  private async sendTo(nodeId: number, batches: ProducerBatch[]): Promise<void> {
    const encoded: Array<{ batch: ProducerBatch; records: Buffer }> = [];
    for (const batch of batches) {
      try {
        encoded.push({ batch, records: this.encode(batch) });
      } catch (error) {
        // MESSAGE_TOO_LARGE or INVALID_RECORD from the encoder: never retriable.
        this.finish(batch, error instanceof Error ? error : new Error(String(error)));
      }
    }
    if (encoded.length === 0) return;
    const requests = buildRequests(this.config.acks, this.config.timeoutMs, encoded);

    this.inFlightByNode.set(nodeId, (this.inFlightByNode.get(nodeId) ?? 0) + 1);
    try {
      let connection;
      try {
        connection = await this.cluster.connectionToNode(nodeId);
      } catch (error) {
        for (const { batch } of encoded) this.fail(batch, asError(error));
        return;
      }
      if (this.config.acks === 0) {
        for (const { body, batches: sent } of requests) {
          try {
            connection.send(API_KEYS.produce, body);
            for (const batch of sent) this.finish(batch, -1);
          } catch (error) {
            for (const batch of sent) this.fail(batch, asError(error));
          }
        }
        return;
      }
      const timeoutMs = Math.max(this.cluster.config.requestTimeoutMs, this.config.timeoutMs + 1000);
      const outcomes = await Promise.allSettled(requests.map(({ body }) => connection.request(API_KEYS.produce, body, { timeoutMs })));
      outcomes.forEach((outcome, i) => {
        const sent = requests[i]!.batches;
        if (outcome.status === 'rejected') {
          // The request may or may not have been appended: retrying is what makes this at-least-once.
          for (const batch of sent) this.fail(batch, asError(outcome.reason));
          return;
        }
        for (const batch of sent) {
          const result = outcome.value.topics.find((t) => t.name === batch.topic)?.partitions.find((p) => p.partition === batch.partition);
          if (result === undefined) {
            this.fail(batch, new StrataError('INVALID_RESPONSE', `No result for ${batch.topic}-${batch.partition}.`));
          } else if (result.errorCode === 0) {
            this.finish(batch, result.baseOffset);
          } else {
            const hint = result.leaderHint >= 0 ? { leaderHint: result.leaderHint } : {};
            this.fail(batch, StrataError.fromCode(result.errorCode, result.errorMessage === '' ? undefined : result.errorMessage, hint));
          }
        }
      });
    } finally {
      this.inFlightByNode.set(nodeId, (this.inFlightByNode.get(nodeId) ?? 1) - 1);
      this.wake();
      this.notifyIfIdle();
    }
  }

  /**
   * Fails the queued batches older than `deliveryTimeoutMs` (Kafka's delivery.timeout.ms): a
   * partition without a leader, or a retry backing off, must not hold its sends forever.
   */
  private expireQueued(nowMs: number): void {
    const timeoutMs = this.config.deliveryTimeoutMs;
    for (const batch of this.accumulator.queuedCreatedBy(nowMs - timeoutMs)) {
      this.accumulator.removeQueued(batch);
      const error = new StrataError(
        'REQUEST_TIMED_OUT',
        `${batch.count} record(s) for ${batch.topic}-${batch.partition} not delivered within deliveryTimeoutMs (${timeoutMs} ms)${batch.attempts === 0 ? ': the partition had no leader, or none could be reached' : ` after ${batch.attempts} attempt(s)`}.`,
      );
      this.failedForGood(batch, error);
      batch.reject(batch.doomed ?? error);
      this.sequences?.settled(batch);
    }
  }

  /**
   * A batch with a sequence failed for good, and its sequence with it: the partition needs a new
   * epoch. A retriable error means its fate is unknown (it may be in the log); the batches sent
   * after it may then be there too, and cannot be re-sequenced without risking a duplicate: they
   * fail too.
   */
  private failedForGood(batch: ProducerBatch, error: Error): void {
    const sequences = this.sequences;
    if (sequences === undefined || batch.baseSequence < 0 || batch.doomed !== undefined) return;
    const unknownOutcome = isRetriable(error);
    if (this.transactions !== undefined) {
      // The coordinator owns a transactional producer's epoch: the transaction fails (its commit
      // will), and the abort that must follow gets the next epoch for every partition.
      this.transactions.sequenceLost();
    }
    if (unknownOutcome) {
      const doom = new StrataError(
        error instanceof StrataError ? error.errorName : 'UNKNOWN_SERVER_ERROR',
        `An earlier batch of ${batch.topic}-${batch.partition} failed with an unknown outcome (${error.message}); this one, sent after it, fails too rather than risk a duplicate or a reordering.`,
      );
      for (const later of sequences.sentAfter(batch)) later.doomed = doom;
    }
    if (this.transactions !== undefined) return;
    this.announceBump(batch, `a batch failed for good (${error.message})${unknownOutcome ? '; the batches sent after it fail too' : '; the batches after it are re-sent under the new epoch'}.`);
    sequences.requestBump(batch.topic, batch.partition);
  }

  /** A batch is done: resolve or reject it and free its memory. */
  private finish(batch: ProducerBatch, outcome: number | Error): void {
    if (typeof outcome === 'number') batch.resolve(outcome);
    else batch.reject(outcome);
    this.sequences?.settled(batch);
    this.accumulator.complete(batch);
  }

  /** A batch failed: retry it if the error allows and attempts remain, else reject it. */
  private fail(batch: ProducerBatch, error: Error): void {
    const code = error instanceof StrataError ? error.code : ERRORS.UNKNOWN_SERVER_ERROR.code;
    if (error instanceof StrataError) this.cluster.onPartitionError(batch.topic, batch.partition, code, error.leaderHint);
    const fatal = this.transactions?.fenced(error);
    if (fatal !== undefined) {
      // Fenced: nothing of this producer will be accepted any more.
      this.finish(batch, fatal);
      for (const queued of this.accumulator.abortQueued()) {
        queued.reject(fatal);
        this.sequences?.settled(queued);
      }
      return;
    }
    const sequences = this.sequences;
    if (sequences !== undefined && batch.baseSequence >= 0) {
      if (batch.doomed !== undefined) {
        this.finish(batch, batch.doomed);
        return;
      }
      const sequenceError = code === ERRORS.OUT_OF_ORDER_SEQUENCE_NUMBER.code || code === ERRORS.UNKNOWN_PRODUCER_ID.code;
      if (sequenceError && !this.cluster.closed && sequences.shouldRetryBehind(batch)) {
        // Refused only because an earlier batch of the partition is missing: it goes again behind that one.
        this.accumulator.requeue(batch, this.now());
        return;
      }
      // (A transactional producer's epoch is the coordinator's: there the batch fails and the transaction must be aborted.)
      if (code === ERRORS.UNKNOWN_PRODUCER_ID.code && !this.cluster.closed && this.transactions === undefined) {
        // The partition forgot this producer (its state expired): nothing of this batch or later
        // ones is in the log, so they all go again under a new epoch from sequence 0 (KIP-360).
        this.announceBump(batch, `${error.message} Re-sending from sequence 0.`);
        sequences.requestBump(batch.topic, batch.partition);
        this.accumulator.requeue(batch, this.now());
        return;
      }
    }
    if (isRetriable(error) && batch.attempts <= this.config.retries && !this.cluster.closed) {
      this.accumulator.requeue(batch, this.now() + backoffMs(batch.attempts - 1, this.cluster.config.retry));
      return;
    }
    this.failedForGood(batch, error);
    this.finish(batch, error);
  }
}

/**
 * Records that message `message` went to record `index` of `batch` in `placed` (runs of
 * [batch, first message, count, first record index]): it extends the last run when it follows it.
 */
function place(placed: Array<ProducerBatch | number>, batch: ProducerBatch, message: number, index: number): void {
  const n = placed.length;
  if (n > 0 && placed[n - 4] === batch && (placed[n - 1] as number) + (placed[n - 2] as number) === index) placed[n - 2] = (placed[n - 2] as number) + 1;
  else placed.push(batch, message, 1, index);
}

/**
 * The one-message sends of a batch: the index of each one's record, in the order the sends were
 * made. Each send's promise is `batch.result.then(settle)`; a promise's reactions run in the order
 * they were added, so the n-th call of `settle` is the n-th send's, and reads the n-th index.
 */
class OneSends {
  readonly batch: ProducerBatch;
  readonly indexes: number[] = [];
  private next = 0;
  readonly settle: (base: number) => RecordMetadata[];

  constructor(batch: ProducerBatch) {
    this.batch = batch;
    this.settle = (base) => {
      const index = this.indexes[this.next++]!;
      return [{ topic: batch.topic, partition: batch.partition, offset: base < 0 ? -1 : base + index }];
    };
  }
}

/** Whether `available` still lists exactly the partitions with a leader, in order. */
function sameLeaders(partitions: readonly PartitionInfo[], available: readonly number[]): boolean {
  let j = 0;
  for (let i = 0; i < partitions.length; i++) {
    const p = partitions[i]!;
    if (p.leaderId < 0) continue;
    if (available[j] !== p.partition) return false;
    j++;
  }
  return j === available.length;
}

/** Neither a key nor a partition: the partitioner's sticky choice places it. */
function isKeyless(message: ProducerMessage): boolean {
  return message.partition === undefined && (message.key === undefined || message.key === null);
}

function isField(field: unknown): boolean {
  return field === null || typeof field === 'string' || Buffer.isBuffer(field);
}

function checkMessage(message: ProducerMessage, i: number): void {
  if (typeof message !== 'object' || message === null) throw new TypeError(`message ${i} is not an object`);
  if (!isField(message.value)) throw new TypeError(`message ${i}: value must be a Buffer, a string or null`);
  if (message.key !== undefined && !isField(message.key)) throw new TypeError(`message ${i}: key must be a Buffer, a string or null`);
  if (message.timestamp !== undefined && !(Number.isSafeInteger(message.timestamp) && message.timestamp >= 0)) {
    throw new RangeError(`message ${i}: timestamp ${message.timestamp} is not a non-negative integer of milliseconds`);
  }
  if (message.headers !== undefined) {
    for (const [key, value] of Object.entries(message.headers)) {
      if (!isField(value)) throw new TypeError(`message ${i}: header '${key}' must be a Buffer, a string or null`);
    }
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new StrataError('UNKNOWN_SERVER_ERROR', String(error));
}

/**
 * The Produce requests for one broker: normally one, carrying every batch. When nothing is muted a
 * partition may have several batches ready; the n-th batch of each partition goes in the n-th
 * request, so each request names a partition once and, as the broker answers a connection's
 * requests in order, the batches append in order.
 */
export function buildRequests(
  acks: number,
  timeoutMs: number,
  encoded: ReadonlyArray<{ batch: ProducerBatch; records: Buffer }>,
): Array<{ body: ProduceRequest; batches: ProducerBatch[] }> {
  const requests: Array<{ body: ProduceRequest; batches: ProducerBatch[] }> = [];
  const rounds = new Map<string, number>();
  for (const { batch, records } of encoded) {
    const key = `${batch.topic}\u0000${batch.partition}`;
    const round = rounds.get(key) ?? 0;
    rounds.set(key, round + 1);
    while (requests.length <= round) requests.push({ body: { acks, timeoutMs, topics: [] }, batches: [] });
    const target = requests[round]!;
    let entry = target.body.topics.find((t) => t.name === batch.topic);
    if (entry === undefined) target.body.topics.push((entry = { name: batch.topic, partitions: [] }));
    entry.partitions.push({ partition: batch.partition, records });
    target.batches.push(batch);
  }
  return requests;
}
