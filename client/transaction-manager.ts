/**
 * A transactional producer's transaction state (Kafka's TransactionManager, the transactional half):
 * its id at the transaction coordinator, the open transaction, the partitions and groups added to it,
 * and the errors that end it or the whole producer. The producer does the sending; this file does
 * every request to the coordinators.
 *
 * - One transaction at a time. `begin()` opens it; the producer reports every partition it appends
 *   to (`partitionWritten`) and sends none of its batches before the coordinator added the partition
 *   (`isAdded`). Partitions reported together go in one AddPartitionsToTxn.
 * - Commit waits for every send of the transaction, then EndTxn(commit). Abort fails the batches not
 *   sent yet (as Kafka's abortTransaction), waits for those in flight, then EndTxn(abort). A send
 *   that failed, a partition that could not be added, offsets that could not be committed make the
 *   transaction *abortable*: commit fails and only `abort()` is left (Kafka's abortable errors). A
 *   transaction that wrote nothing and sent no offsets ends without a request (the coordinator never
 *   heard of it).
 * - Fatal: PRODUCER_FENCED, INVALID_PRODUCER_EPOCH or INVALID_PRODUCER_ID_MAPPING from any request
 *   mean a newer instance of the transactional id took over, or the coordinator aborted the
 *   transaction when it outlived `transactionTimeoutMs` (which bumps the epoch too). Every later call
 *   fails with the same error, worded for the case (`fatalError`).
 * - After an abort that followed a failed send, the producer's sequences may disagree with the
 *   partitions': InitProducerId with the current id and epoch (KIP-360) gets the next epoch, and
 *   every partition starts again at sequence 0.
 */
import type { Cluster } from './cluster.js';
import { GROUP_LANE, GroupCoordinatorClient } from './group-coordinator-client.js';
import { API_KEYS, ERRORS, StrataError } from './protocol/index.js';
import { TransactionCoordinatorClient } from './transaction-coordinator-client.js';
import { toTopicPartitions, topicPartitionKey, type TopicPartition } from './topic-partitions.js';

/** Errors after which the producer instance can do nothing more. */
const FATAL_CODES: ReadonlySet<number> = new Set([
  ERRORS.PRODUCER_FENCED.code,
  ERRORS.INVALID_PRODUCER_EPOCH.code,
  ERRORS.INVALID_PRODUCER_ID_MAPPING.code,
]);

export function isFencingError(error: unknown): boolean {
  return error instanceof StrataError && FATAL_CODES.has(error.code);
}

/**
 * What `transaction.sendOffsets` takes (kafkajs's shape); offsets are the next offset to consume.
 * `consumer`, a member of the group (Kafka's `groupMetadata`), makes the coordinator refuse the
 * offsets if that member lost its partitions meanwhile (a zombie); without it any offsets are taken.
 */
export interface TransactionOffsets {
  consumerGroupId: string;
  topics: ReadonlyArray<{ topic: string; partitions: ReadonlyArray<{ partition: number; offset: number | string }> }>;
  consumer?: { groupMetadata(): { groupId: string; memberId: string; memberEpoch: number } | undefined };
}

/** What the transaction manager needs of its producer. */
export interface TransactionHost {
  /** Wake the sender: partitions were added. */
  wake(): void;
  /** Fail the queued (not in flight) batches of some partitions: they could not be added, or the transaction is aborted. */
  rejectQueued(which: (topic: string, partition: number) => boolean, error: Error): void;
  /** Send everything queued and wait until nothing is in flight. */
  flush(): Promise<void>;
  /** A new producer id or epoch: every partition starts again at sequence 0. */
  resetSequences(producerId: number, producerEpoch: number): void;
}

interface OpenTransaction {
  readonly startedMs: number;
  /** Partitions the coordinator added, by `topicPartitionKey`. */
  readonly added: Set<string>;
  /** Partitions written to and not yet asked for. */
  readonly pending: Map<string, TopicPartition>;
  /** The AddPartitionsToTxn in flight. */
  adding: Promise<void> | undefined;
  readonly sends: Set<Promise<unknown>>;
  /** Consumer offsets were added (AddOffsetsToTxn): EndTxn is needed even without partitions. */
  offsetsAdded: boolean;
  /** The first error that leaves abort as the only way out. */
  failure: Error | undefined;
  ending: 'commit' | 'abort' | undefined;
}

export class TransactionManager {
  readonly transactionalId: string;
  readonly transactionTimeoutMs: number;
  private readonly cluster: Cluster;
  private readonly coordinator: TransactionCoordinatorClient;
  private readonly host: TransactionHost;
  private readonly now: () => number;
  private producerId = -1;
  private producerEpoch = -1;
  private current: OpenTransaction | undefined;
  private fatal: Error | undefined;
  /** A send failed for good under the current epoch: the next abort asks for a new one. */
  private sequencesBroken = false;

  constructor(cluster: Cluster, transactionalId: string, transactionTimeoutMs: number, host: TransactionHost, now: () => number = Date.now) {
    this.cluster = cluster;
    this.transactionalId = transactionalId;
    this.transactionTimeoutMs = transactionTimeoutMs;
    this.host = host;
    this.now = now;
    this.coordinator = new TransactionCoordinatorClient(cluster, transactionalId);
  }

  get hasProducerId(): boolean {
    return this.producerId >= 0;
  }

  /** The fatal error, if the producer was fenced. */
  get fatalError(): Error | undefined {
    return this.fatal;
  }

  /** Whether a transaction is open (begun, not yet committed or aborted). */
  get isOpen(): boolean {
    return this.current !== undefined;
  }

  /** Throws the fatal error, if any. */
  checkUsable(): void {
    if (this.fatal !== undefined) throw this.fatal;
  }

  /**
   * The producer id and epoch for this transactional id from its coordinator (InitProducerId; the
   * coordinator aborts a transaction a previous instance left open and fences that instance). With
   * `bump`, the current id asks for its next epoch.
   */
  async initProducerId(bump = false): Promise<{ producerId: number; producerEpoch: number }> {
    this.checkUsable();
    const answer = await this.guard(() =>
      this.coordinator.request(
        API_KEYS.initProducerId,
        {
          transactionalId: this.transactionalId,
          transactionTimeoutMs: this.transactionTimeoutMs,
          producerId: bump ? this.producerId : -1,
          producerEpoch: bump ? this.producerEpoch : -1,
        },
        (r) => ({ code: r.errorCode, message: r.errorMessage }),
      ),
    );
    this.producerId = answer.producerId;
    this.producerEpoch = answer.producerEpoch;
    this.sequencesBroken = false;
    this.host.resetSequences(answer.producerId, answer.producerEpoch);
    return { producerId: answer.producerId, producerEpoch: answer.producerEpoch };
  }

  /** Opens a transaction; the producer must have its id. */
  begin(): void {
    this.checkUsable();
    if (this.current !== undefined) {
      throw new Error(`transactionalId '${this.transactionalId}': a transaction is already open; commit or abort it before starting another`);
    }
    this.current = { startedMs: this.now(), added: new Set(), pending: new Map(), adding: undefined, sends: new Set(), offsetsAdded: false, failure: undefined, ending: undefined };
  }

  /** Throws unless a transaction is open and can take more sends or offsets. */
  private open(what: string): OpenTransaction {
    this.checkUsable();
    const txn = this.current;
    if (txn === undefined) throw new Error(`transactionalId '${this.transactionalId}': ${what} needs an open transaction (producer.transaction())`);
    if (txn.ending !== undefined) throw new Error(`transactionalId '${this.transactionalId}': ${what} after the transaction began to ${txn.ending}`);
    if (txn.failure !== undefined) throw new Error(`transactionalId '${this.transactionalId}': the transaction failed (${txn.failure.message}); abort it`, { cause: txn.failure });
    return txn;
  }

  /** Checks that a send may join the open transaction. */
  checkCanSend(): void {
    this.open('send');
  }

  /** A send of the open transaction: commit waits for it, and its failure makes the transaction abortable. */
  trackSend(sending: Promise<unknown>): void {
    const txn = this.current;
    if (txn === undefined) return;
    txn.sends.add(sending);
    sending.then(
      () => txn.sends.delete(sending),
      (error: unknown) => {
        txn.sends.delete(sending);
        this.markFailed(txn, error);
      },
    );
  }

  /** A batch of a send of the transaction failed for good: its partition's sequences need a new epoch. */
  sequenceLost(): void {
    this.sequencesBroken = true;
  }

  /** The producer appended to a partition: make sure it is added before its batches leave. */
  partitionWritten(topic: string, partition: number): void {
    const txn = this.current;
    if (txn === undefined) return;
    const key = topicPartitionKey(topic, partition);
    if (txn.added.has(key) || txn.pending.has(key)) return;
    txn.pending.set(key, { topic, partition });
    if (txn.adding === undefined) txn.adding = this.addPending(txn);
  }

  isAdded(topic: string, partition: number): boolean {
    return this.current?.added.has(topicPartitionKey(topic, partition)) === true;
  }

  /**
   * Sends AddPartitionsToTxn for the pending partitions, in rounds while more arrive; the first round
   * waits one turn of the event loop so that the partitions of one send go together.
   */
  private async addPending(txn: OpenTransaction): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (txn.pending.size > 0 && this.current === txn) {
      const partitions = [...txn.pending.values()];
      txn.pending.clear();
      const keys = new Set(partitions.map((p) => topicPartitionKey(p.topic, p.partition)));
      try {
        await this.guard(() =>
          this.coordinator.request(
            API_KEYS.addPartitionsToTxn,
            {
              transactionalId: this.transactionalId,
              producerId: this.producerId,
              producerEpoch: this.producerEpoch,
              topics: toTopicPartitions(partitions).map(({ topic, partitions: list }) => ({ name: topic, partitions: list })),
            },
            (r) => firstPartitionError(r.errorCode, r.errorMessage, r.topics),
          ),
        );
        for (const key of keys) txn.added.add(key);
        this.host.wake();
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error));
        this.markFailed(txn, failure);
        this.host.rejectQueued((topic, partition) => keys.has(topicPartitionKey(topic, partition)), failure);
      }
    }
    txn.adding = undefined;
  }

  /**
   * Commits consumer offsets inside the transaction: AddOffsetsToTxn to the transaction coordinator,
   * then TxnOffsetCommit to the group's coordinator. They become the group's committed offsets when
   * the transaction commits, and are discarded if it aborts.
   */
  async sendOffsets(offsets: TransactionOffsets): Promise<void> {
    const txn = this.open('sendOffsets');
    const { groupId, topics } = checkOffsets(offsets);
    const member = memberOf(offsets, groupId);
    const group = new GroupCoordinatorClient(this.cluster, groupId);
    try {
      // The group's coordinator first: finding it creates __consumer_offsets on a new cluster, which
      // AddOffsetsToTxn needs (it adds the group's offsets partition to the transaction).
      await group.coordinator();
      await this.guard(() =>
        this.coordinator.request(
          API_KEYS.addOffsetsToTxn,
          { transactionalId: this.transactionalId, producerId: this.producerId, producerEpoch: this.producerEpoch, groupId },
          (r) => ({ code: r.errorCode, message: r.errorMessage }),
        ),
      );
      txn.offsetsAdded = true;
      await this.guard(() =>
        group.withCoordinatorRetry(async () => {
          const connection = await group.connection(GROUP_LANE);
          const response = await connection.request(API_KEYS.txnOffsetCommit, {
            transactionalId: this.transactionalId,
            groupId,
            producerId: this.producerId,
            producerEpoch: this.producerEpoch,
            memberId: member.memberId,
            memberEpoch: member.memberEpoch,
            topics,
          });
          const { code, message } = firstPartitionError(response.errorCode, response.errorMessage, response.topics);
          if (code !== 0) throw StrataError.fromCode(code, `TxnOffsetCommit of group '${groupId}': ${message}`);
        }),
      );
    } catch (error) {
      this.markFailed(txn, error);
      throw error;
    }
  }

  /**
   * Commits (`commit` true) or aborts the open transaction. Commit first waits for every send of it
   * and fails, leaving the transaction open for `abort()`, if one failed. Abort lets the sends in
   * flight settle first.
   */
  async end(commit: boolean): Promise<void> {
    this.checkUsable();
    const txn = this.current;
    if (txn === undefined) throw new Error(`transactionalId '${this.transactionalId}': no open transaction to ${commit ? 'commit' : 'abort'}`);
    if (txn.ending !== undefined) throw new Error(`transactionalId '${this.transactionalId}': the transaction is already being ${txn.ending === 'commit' ? 'committed' : 'aborted'}`);
    if (commit && txn.failure !== undefined) throw new Error(`transactionalId '${this.transactionalId}': cannot commit, the transaction failed (${txn.failure.message}); abort it`, { cause: txn.failure });
    txn.ending = commit ? 'commit' : 'abort';
    try {
      // As Kafka's abortTransaction: batches not sent yet never leave; those in flight are answered first.
      if (!commit) this.host.rejectQueued(() => true, new Error(`transactionalId '${this.transactionalId}': the transaction was aborted before this send left`));
      await this.settle(txn);
      this.checkUsable();
      if (commit && txn.failure !== undefined) {
        txn.ending = undefined;
        throw new Error(`transactionalId '${this.transactionalId}': cannot commit, a send of the transaction failed (${txn.failure.message}); abort it`, { cause: txn.failure });
      }
      if (txn.added.size > 0 || txn.offsetsAdded) {
        await this.guard(() =>
          this.coordinator.request(
            API_KEYS.endTxn,
            { transactionalId: this.transactionalId, producerId: this.producerId, producerEpoch: this.producerEpoch, committed: commit },
            (r) => ({ code: r.errorCode, message: r.errorMessage }),
          ),
        );
      }
      this.current = undefined;
      if (!commit && this.sequencesBroken) await this.initProducerId(true);
    } catch (error) {
      if (txn.ending !== undefined && this.fatal === undefined) txn.ending = undefined;
      if (this.fatal !== undefined) this.current = undefined;
      throw error;
    }
  }

  /** Every send of the transaction answered, and every AddPartitionsToTxn. */
  private async settle(txn: OpenTransaction): Promise<void> {
    for (;;) {
      await this.host.flush();
      await Promise.allSettled([...txn.sends]);
      if (txn.adding !== undefined) await txn.adding;
      if (txn.sends.size === 0 && txn.adding === undefined) return;
    }
  }

  private markFailed(txn: OpenTransaction, error: unknown): void {
    txn.failure ??= error instanceof Error ? error : new Error(String(error));
  }

  /**
   * Runs a request; a fencing error becomes the producer's fatal error, worded for what happened: the
   * open transaction outlived its timeout (the coordinator aborted it), or another instance took over.
   */
  private async guard<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw this.fenced(error) ?? error;
    }
  }

  /** For a fencing error, the producer's fatal error (recorded once); undefined for any other error. */
  fenced(error: unknown): Error | undefined {
    if (!isFencingError(error)) return undefined;
    if (this.fatal !== undefined) return this.fatal;
    const cause = error as StrataError;
    const txn = this.current;
    const timedOut = txn !== undefined && this.now() - txn.startedMs >= this.transactionTimeoutMs;
    const detail = timedOut
      ? `transactionalId '${this.transactionalId}': the transaction timed out and was aborted (it was open longer than transactionTimeoutMs, ${this.transactionTimeoutMs} ms); this producer can do nothing more, create a new one.`
      : `transactionalId '${this.transactionalId}': another producer with transactionalId '${this.transactionalId}' took over; this producer can do nothing more.`;
    this.fatal = new StrataError(cause.errorName, detail, { cause });
    return this.fatal;
  }
}

/** The first error of a response with a top-level error and per-partition ones. */
function firstPartitionError(
  errorCode: number,
  errorMessage: string,
  topics: ReadonlyArray<{ name: string; partitions: ReadonlyArray<{ partition: number; errorCode: number; errorMessage: string }> }>,
): { code: number; message: string } {
  if (errorCode !== 0) return { code: errorCode, message: errorMessage };
  for (const topic of topics) {
    for (const p of topic.partitions) if (p.errorCode !== 0) return { code: p.errorCode, message: `${topic.name}-${p.partition}${p.errorMessage === '' ? '' : `: ${p.errorMessage}`}` };
  }
  return { code: 0, message: '' };
}

/** The member fencing of `sendOffsets`: the consumer's id and epoch now, or none ('' and -1). */
function memberOf(offsets: TransactionOffsets, groupId: string): { memberId: string; memberEpoch: number } {
  const consumer = offsets.consumer;
  if (consumer === undefined) return { memberId: '', memberEpoch: -1 };
  if (typeof consumer !== 'object' || consumer === null || typeof consumer.groupMetadata !== 'function') throw new TypeError('sendOffsets: consumer must be a Consumer');
  const metadata = consumer.groupMetadata();
  if (metadata === undefined) throw new StrataError('UNKNOWN_MEMBER_ID', `sendOffsets: the consumer is not a member of group '${groupId}' now (not subscribed, joining, or fenced).`);
  if (metadata.groupId !== groupId) throw new TypeError(`sendOffsets: the consumer is in group '${metadata.groupId}', not '${groupId}'`);
  return { memberId: metadata.memberId, memberEpoch: metadata.memberEpoch };
}

function checkOffsets(offsets: TransactionOffsets): {
  groupId: string;
  topics: Array<{ name: string; partitions: Array<{ partition: number; committedOffset: number; committedMetadata: string }> }>;
} {
  if (typeof offsets !== 'object' || offsets === null) throw new TypeError('sendOffsets: expected { consumerGroupId, topics }');
  const groupId = offsets.consumerGroupId;
  if (typeof groupId !== 'string' || groupId === '') throw new TypeError('sendOffsets: consumerGroupId must be a non-empty string');
  if (!Array.isArray(offsets.topics) || offsets.topics.length === 0) throw new TypeError('sendOffsets: topics must list at least one { topic, partitions }');
  const topics = offsets.topics.map(({ topic, partitions }) => {
    if (typeof topic !== 'string' || topic === '') throw new TypeError('sendOffsets: each topic needs a name');
    if (!Array.isArray(partitions) || partitions.length === 0) throw new TypeError(`sendOffsets: topic '${topic}' lists no partitions`);
    return {
      name: topic,
      partitions: partitions.map(({ partition, offset }) => {
        if (!Number.isSafeInteger(partition) || partition < 0) throw new RangeError(`sendOffsets: ${topic}: partition ${String(partition)} is not a partition number`);
        const value = typeof offset === 'string' && /^\d+$/.test(offset) ? Number(offset) : offset;
        if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
          throw new RangeError(`sendOffsets: ${topic}-${partition}: offset ${String(offset)} is not a non-negative integer (the next offset to consume)`);
        }
        return { partition, committedOffset: value, committedMetadata: '' };
      }),
    };
  });
  return { groupId, topics };
}
