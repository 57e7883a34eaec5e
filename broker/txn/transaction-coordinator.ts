/**
 * The transaction coordinator: every transactional id whose `__transaction_state` partition this
 * broker leads (Kafka's TransactionCoordinator and TransactionStateManager). It serves
 * InitProducerId with a transactional id, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
 * DescribeTransactions and ListTransactions, and aborts transactions that pass their timeout.
 *
 * - **State** is one `TransactionMetadata` per id (`transaction-metadata.ts`, the pure rules), kept as
 *   records of `__transaction_state` (`transaction-state-topic.ts`). Every change is appended (and
 *   durable under the topic's flush policy, `always` by default) before it is adopted and before the
 *   request is answered: what a producer was told survives a coordinator crash.
 * - **Ending** a transaction: PrepareCommit/PrepareAbort is persisted, a marker is written to every
 *   partition of the transaction (`MarkerWriter`), then CompleteCommit/CompleteAbort is persisted.
 *   EndTxn is answered once every marker is written (REQUEST_TIMED_OUT past
 *   TXN_MARKERS_ANSWER_TIMEOUT_MS; the coordinator keeps writing, and a retried EndTxn learns the outcome).
 * - **Failover**: the coordinator follows the leadership of the `__transaction_state` partitions as
 *   the group coordinator follows `__consumer_offsets`. A new leader reads its partition back
 *   (COORDINATOR_LOAD_IN_PROGRESS meanwhile), then completes every transaction it finds in Prepare*
 *   (the decision was durable; only markers may be missing, and writing one twice is harmless: the
 *   partition's producer state ignores a marker of a transaction that is not open). Ongoing ones are
 *   kept; their timeout aborts them if their producer is gone. A replica that loses leadership drops
 *   its ids and stops their marker writes (the new leader redoes them).
 * - **The topic** is created on first use on a standalone broker (`transactionStateTopicPartitions`
 *   partitions, compacted); in a cluster the controller creates it with `__consumer_offsets`.
 *
 * Concurrency: one thread, one request at a time per transactional id (`serialize`), so a check and
 * the persist of its outcome never interleave with another request's. Marker writes run outside that
 * lock, and every request meeting a transaction in Prepare* is answered CONCURRENT_TRANSACTIONS (or,
 * for an EndTxn retry, waits for the same completion).
 */
import { performance } from 'node:perf_hooks';
import { CONTROL_FLAG, decodeBatches, encodeBatch } from '../../log/index.js';
import {
  StrataError,
  type AddOffsetsToTxnRequest,
  type AddPartitionsToTxnRequest,
  type AddPartitionsToTxnResponse,
  type DescribedTransaction,
  type EndTxnRequest,
  type InitProducerIdRequest,
  type ListedTransaction,
  type ListTransactionsRequest,
} from '../../client/protocol/index.js';
import { errorResult, namedError, type ErrorResult } from '../error-result.js';
import { offsetsPartitionFor } from '../group/offsets-topic.js';
import { invariant } from '../invariant.js';
import { isInternalTopic, OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC } from '../internal-topics.js';
import { ADD_PARTITIONS_TO_TXN_MAX, GROUP_ID_MAX_CHARS, TRANSACTIONAL_ID_MAX_CHARS, TXN_MARKERS_ANSWER_TIMEOUT_MS } from '../limits.js';
import { errorFields, type Logger } from '../logger.js';
import type { Partition } from '../partition.js';
import type { PartitionManager } from '../partition-manager.js';
import type { MarkerWriter } from './marker-writer.js';
import {
  addPartitions,
  checkProducer,
  completeEnd,
  endTransaction,
  fenceAndAbort,
  hasTimedOut,
  initProducer,
  isPrepare,
  newTransactionalId,
  TRANSACTION_STATES,
  type TransactionMetadata,
  type TxnPartition,
} from './transaction-metadata.js';
import {
  decodeTransactionRecord,
  encodeTransactionRecord,
  TRANSACTION_STATE_TOPIC_CONFIGS,
  TransactionRecordError,
  transactionStatePartitionFor,
} from './transaction-state-topic.js';

/** Bytes read per step when loading a state partition. */
const LOAD_READ_BYTES = 1024 * 1024;

export interface TransactionCoordinatorSettings {
  /** Partitions of `__transaction_state` when the coordinator creates it. */
  readonly transactionStateTopicPartitions: number;
  /** The longest transaction timeout a producer may ask for (Kafka's `transaction.max.timeout.ms`). */
  readonly transactionMaxTimeoutMs: number;
  /** How often open transactions are checked against their timeout. */
  readonly transactionTimeoutCheckIntervalMs: number;
}

export interface TransactionCoordinatorOptions {
  readonly partitions: PartitionManager;
  readonly markers: MarkerWriter;
  readonly settings: TransactionCoordinatorSettings;
  /** A producer id never handed out before (`producer-id-manager.ts`). */
  readonly newProducerId: () => number;
  readonly logger: Logger;
  /** Milliseconds since the epoch: transaction start times and timeouts. */
  readonly clock?: () => number;
  /** How long EndTxn waits for its markers before REQUEST_TIMED_OUT. */
  readonly markersAnswerTimeoutMs?: number;
}

interface LedPartition {
  readonly partition: Partition;
  /** The leader epoch this broker leads it in: every marker it writes carries it. */
  readonly coordinatorEpoch: number;
  /** Aborted when this broker stops leading the partition: its marker writes stop. */
  readonly stop: AbortController;
  loaded: boolean;
}

export class TransactionCoordinator {
  private readonly partitions: PartitionManager;
  private readonly markers: MarkerWriter;
  private readonly settings: TransactionCoordinatorSettings;
  private readonly newProducerId: () => number;
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly answerTimeoutMs: number;
  private readonly transactions = new Map<string, TransactionMetadata>();
  /** Completions (markers, then Complete*) in flight, by transactional id. */
  private readonly completions = new Map<string, Promise<void>>();
  /** The tail of each id's request chain (`serialize`). */
  private readonly chains = new Map<string, Promise<unknown>>();
  /** State partitions this broker leads, by index. */
  private readonly led = new Map<number, LedPartition>();
  /** State partitions whose load failed; their ids answer COORDINATOR_NOT_AVAILABLE. */
  private readonly unloadable = new Set<number>();
  private topicCreation: Promise<void> | undefined;
  private readonly timeoutTimer: NodeJS.Timeout;
  private unsubscribe: () => void = () => undefined;
  private closed = false;

  private constructor(options: TransactionCoordinatorOptions) {
    this.partitions = options.partitions;
    this.markers = options.markers;
    this.settings = options.settings;
    this.newProducerId = options.newProducerId;
    this.logger = options.logger.child({ component: 'transaction-coordinator' });
    this.clock = options.clock ?? Date.now;
    this.answerTimeoutMs = options.markersAnswerTimeoutMs ?? TXN_MARKERS_ANSWER_TIMEOUT_MS;
    this.timeoutTimer = setInterval(() => this.abortTimedOut(), this.settings.transactionTimeoutCheckIntervalMs);
    this.timeoutTimer.unref();
  }

  /**
   * Starts a coordinator and loads every state partition this broker leads. A partition that cannot
   * be loaded is logged and its ids answer COORDINATOR_NOT_AVAILABLE; the broker serves the rest.
   */
  static async open(options: TransactionCoordinatorOptions): Promise<TransactionCoordinator> {
    const coordinator = new TransactionCoordinator(options);
    coordinator.unsubscribe = coordinator.partitions.subscribe({
      highWatermarkAdvanced: () => undefined,
      partitionRemoved: () => undefined,
      leadershipChanged: (partition) => {
        if (partition.topic === TRANSACTION_STATE_TOPIC) coordinator.leadershipChanged(partition);
      },
    });
    for (const partition of coordinator.partitions.partitionsOf(TRANSACTION_STATE_TOPIC)) {
      if (partition.isLeader) await coordinator.lead(partition);
    }
    return coordinator;
  }

  /** Stops the timeout checks and every marker write; what is in flight ends with the broker. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    clearInterval(this.timeoutTimer);
    for (const led of this.led.values()) led.stop.abort();
  }

  /** Open transactions (Ongoing or ending) this broker coordinates (a gauge). */
  get openTransactions(): number {
    let open = 0;
    for (const metadata of this.transactions.values()) if (metadata.state === 'Ongoing' || isPrepare(metadata.state)) open++;
    return open;
  }

  // -------------------------------------------------------------------------------------------
  // Finding the coordinator

  /**
   * The state partition of `transactionalId`, creating the topic on first use (standalone). Throws
   * INVALID_REQUEST for a bad id, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS, and
   * NOT_COORDINATOR when another broker leads it.
   */
  async statePartition(transactionalId: string): Promise<Partition> {
    checkTransactionalId(transactionalId);
    if (this.closed) throw new StrataError('BROKER_SHUTTING_DOWN');
    await this.ensureStateTopic();
    const count = this.partitions.topic(TRANSACTION_STATE_TOPIC)?.partitions;
    const partition = count === undefined ? undefined : this.partitions.partition(TRANSACTION_STATE_TOPIC, transactionStatePartitionFor(transactionalId, count));
    if (partition === undefined) {
      if (this.partitions.clustered) throw new StrataError('NOT_COORDINATOR', `${transactionalId} is coordinated by another broker.`);
      throw new StrataError('COORDINATOR_NOT_AVAILABLE', `${TRANSACTION_STATE_TOPIC} is not open.`);
    }
    if (!partition.isLeader) throw new StrataError('NOT_COORDINATOR', `${transactionalId} is coordinated by node ${partition.leadership.leaderId}.`);
    if (this.unloadable.has(partition.index)) throw new StrataError('COORDINATOR_NOT_AVAILABLE', `${partition.key} could not be loaded; see the broker's log.`);
    const led = this.led.get(partition.index);
    if (led === undefined || !led.loaded) throw new StrataError('COORDINATOR_LOAD_IN_PROGRESS', `${partition.key}.`);
    return partition;
  }

  private ensureStateTopic(): Promise<void> {
    const topic = this.partitions.topic(TRANSACTION_STATE_TOPIC);
    if (this.partitions.clustered) {
      if (topic === undefined) return Promise.reject(new StrataError('COORDINATOR_NOT_AVAILABLE', `${TRANSACTION_STATE_TOPIC} does not exist yet; the controller creates it once every broker registered.`));
      return Promise.resolve();
    }
    if (topic !== undefined && this.partitions.partitionsOf(TRANSACTION_STATE_TOPIC).length === topic.partitions) return Promise.resolve();
    this.topicCreation ??= this.partitions
      .createTopic({ name: TRANSACTION_STATE_TOPIC, partitions: this.settings.transactionStateTopicPartitions, replicationFactor: 1, configs: TRANSACTION_STATE_TOPIC_CONFIGS }, false, true)
      .then(
        async () => {
          this.logger.info({ partitions: this.settings.transactionStateTopicPartitions }, `created ${TRANSACTION_STATE_TOPIC}`);
          // Standalone, no leadership change announces the new partitions: take them up here.
          for (const partition of this.partitions.partitionsOf(TRANSACTION_STATE_TOPIC)) if (partition.isLeader) await this.lead(partition);
        },
        (error: unknown) => {
          if (!(error instanceof StrataError && error.errorName === 'TOPIC_ALREADY_EXISTS')) throw error;
        },
      )
      .finally(() => {
        this.topicCreation = undefined;
      });
    return this.topicCreation;
  }

  // -------------------------------------------------------------------------------------------
  // The APIs

  /**
   * InitProducerId with a transactional id: a new id gets a fresh producer id at epoch 0, a known one
   * its epoch bumped. An open transaction is aborted first (fencing the previous instance); if that
   * does not finish in time the answer is CONCURRENT_TRANSACTIONS and the producer retries.
   */
  async initProducerId(request: InitProducerIdRequest): Promise<{ producerId: number; producerEpoch: number }> {
    const { transactionalId, transactionTimeoutMs } = request;
    if (!Number.isSafeInteger(transactionTimeoutMs) || transactionTimeoutMs < 1 || transactionTimeoutMs > this.settings.transactionMaxTimeoutMs) {
      throw new StrataError('INVALID_TRANSACTION_TIMEOUT', `${transactionTimeoutMs} ms; allowed 1 to ${this.settings.transactionMaxTimeoutMs} ms (transactionMaxTimeoutMs).`);
    }
    const givenIdentity = request.producerId !== -1 || request.producerEpoch !== -1;
    if (givenIdentity && !(Number.isSafeInteger(request.producerId) && request.producerId >= 0 && Number.isInteger(request.producerEpoch) && request.producerEpoch >= 0)) {
      throw new StrataError('INVALID_REQUEST', `producer id ${request.producerId} with epoch ${request.producerEpoch}: give -1 and -1, or the current id and epoch`);
    }
    const partition = await this.statePartition(transactionalId);
    const abortFirst = await this.serialize(transactionalId, async () => {
      const now = this.clock();
      const current = this.transactions.get(transactionalId);
      if (current === undefined) {
        if (givenIdentity) throw new StrataError('INVALID_PRODUCER_ID_MAPPING', `${transactionalId} is not known to its coordinator; start with producer id -1 and epoch -1.`);
        await this.persist(partition, newTransactionalId(transactionalId, this.newProducerId(), transactionTimeoutMs, now));
        return undefined;
      }
      const outcome = initProducer(current, request, now, this.newProducerId);
      await this.persist(partition, outcome.next);
      if (outcome.kind === 'bumped') return undefined;
      partition.logger.info({ transactionalId, producerId: current.producerId, producerEpoch: outcome.next.producerEpoch }, 'aborting the open transaction of a new producer instance');
      // Wrapped: returning the promise itself would make this request wait for it inside the id's
      // chain, which the completion needs to persist Complete*.
      return { completion: this.startCompletion(partition, outcome.next) };
    });
    if (abortFirst !== undefined) {
      const finished = await withinTime(abortFirst.completion, this.answerTimeoutMs);
      if (!finished) throw new StrataError('CONCURRENT_TRANSACTIONS', `${transactionalId}: the previous instance's transaction is still being aborted; retry.`);
      return this.initProducerId({ ...request, producerId: -1, producerEpoch: -1 });
    }
    const metadata = this.transactions.get(transactionalId);
    invariant(metadata !== undefined, () => `${transactionalId} was persisted`);
    return { producerId: metadata.producerId, producerEpoch: metadata.producerEpoch };
  }

  async addPartitionsToTxn(request: AddPartitionsToTxnRequest): Promise<AddPartitionsToTxnResponse> {
    const named = request.topics.flatMap(({ name, partitions }) => partitions.map((partition) => ({ topic: name, partition })));
    const answer = (whole: ErrorResult | undefined, perPartition: (tp: TxnPartition) => ErrorResult | undefined): AddPartitionsToTxnResponse => ({
      errorCode: whole?.errorCode ?? 0,
      errorMessage: whole?.errorMessage ?? '',
      topics: request.topics.map(({ name, partitions }) => ({
        name,
        partitions: partitions.map((partition) => {
          const result = perPartition({ topic: name, partition }) ?? whole;
          return { partition, errorCode: result?.errorCode ?? 0, errorMessage: result?.errorMessage ?? '' };
        }),
      })),
    });
    const logger = this.logger.child({ transactionalId: request.transactionalId });
    if (named.length > ADD_PARTITIONS_TO_TXN_MAX) return answer(namedError('INVALID_REQUEST', `${named.length} partitions, limit ${ADD_PARTITIONS_TO_TXN_MAX}`), () => undefined);
    // Every partition must exist, or none is added (Kafka's rule): the others carry the first problem.
    const problems = new Map<string, ErrorResult>();
    for (const tp of named) {
      const problem = this.partitionProblem(tp);
      if (problem !== undefined) problems.set(`${tp.topic}-${tp.partition}`, problem);
    }
    const [firstProblem] = problems.values();
    if (firstProblem !== undefined) {
      const notAdded = { ...firstProblem, errorMessage: `${firstProblem.errorMessage} (nothing of this request was added)` };
      return answer(notAdded, (tp) => problems.get(`${tp.topic}-${tp.partition}`));
    }
    try {
      await this.addToTransaction(request, named);
      return answer(undefined, () => undefined);
    } catch (error) {
      return answer(errorResult(error, logger, 'add partitions to transaction'), () => undefined);
    }
  }

  /** AddOffsetsToTxn: the group's `__consumer_offsets` partition joins the transaction. */
  async addOffsetsToTxn(request: AddOffsetsToTxnRequest): Promise<void> {
    if (request.groupId.length === 0 || request.groupId.length > GROUP_ID_MAX_CHARS) throw new StrataError('INVALID_GROUP_ID', `got ${request.groupId.length} characters.`);
    const count = this.partitions.topic(OFFSETS_TOPIC)?.partitions;
    if (count === undefined) throw new StrataError('COORDINATOR_NOT_AVAILABLE', `${OFFSETS_TOPIC} does not exist yet; find the group's coordinator first (it creates it).`);
    await this.addToTransaction(request, [{ topic: OFFSETS_TOPIC, partition: offsetsPartitionFor(request.groupId, count) }]);
  }

  /** EndTxn: resolves once every marker is written (REQUEST_TIMED_OUT if that takes too long). */
  async endTxn(request: EndTxnRequest): Promise<void> {
    const { transactionalId } = request;
    checkProducerFields(request);
    const partition = await this.statePartition(transactionalId);
    const completion = await this.serialize(transactionalId, async () => {
      const current = this.known(transactionalId);
      const outcome = endTransaction(current, request.producerId, request.producerEpoch, request.committed, this.clock());
      if (outcome.kind === 'completed') return undefined;
      // Wrapped, as in initProducerId: the completion needs this id's chain to finish.
      if (outcome.kind === 'completing') return { completion: this.completions.get(transactionalId) ?? Promise.resolve() };
      await this.persist(partition, outcome.next);
      return { completion: this.startCompletion(partition, outcome.next) };
    });
    if (completion === undefined) return;
    if (!(await withinTime(completion.completion, this.answerTimeoutMs))) {
      throw new StrataError('REQUEST_TIMED_OUT', `${transactionalId}: not every marker is written yet; the coordinator goes on writing them (retry EndTxn to learn the outcome).`);
    }
    // The completion ended without completing: this broker stopped coordinating the id meanwhile.
    if (this.transactions.get(transactionalId)?.state !== (request.committed ? 'CompleteCommit' : 'CompleteAbort')) {
      throw new StrataError('NOT_COORDINATOR', `${transactionalId}: this broker stopped coordinating it while the markers were written; find the coordinator again.`);
    }
  }

  /**
   * TxnOffsetCommit's check against the transaction, where this broker coordinates the id (always
   * standalone): the producer must be the id's current one (INVALID_PRODUCER_ID_MAPPING,
   * PRODUCER_FENCED) with an open transaction holding the group's offsets partition
   * (INVALID_TXN_STATE: AddOffsetsToTxn first). Otherwise the offsets partition only knows the
   * epochs its markers carried, and a fenced instance whose epoch no marker reached yet could leave
   * offsets that the next instance's commit would apply. Where another broker coordinates the id
   * there is nothing to check here (the partition's epoch rule still applies; Kafka's KIP-890 would
   * ask the coordinator).
   */
  async checkTxnOffsetCommit(request: { transactionalId: string; producerId: number; producerEpoch: number }, offsetsPartition: number): Promise<void> {
    try {
      await this.statePartition(request.transactionalId);
    } catch (error) {
      if (error instanceof StrataError && error.errorName === 'NOT_COORDINATOR') return;
      throw error;
    }
    const metadata = this.known(request.transactionalId);
    checkProducer(metadata, request.producerId, request.producerEpoch);
    if (metadata.state !== 'Ongoing' || !metadata.partitions.some((p) => p.topic === OFFSETS_TOPIC && p.partition === offsetsPartition)) {
      throw new StrataError('INVALID_TXN_STATE', `${request.transactionalId} has no open transaction holding ${OFFSETS_TOPIC}-${offsetsPartition}; call AddOffsetsToTxn first.`);
    }
  }

  /** DescribeTransactions: each id's state, or its error. */
  async describeTransactions(transactionalIds: readonly string[]): Promise<DescribedTransaction[]> {
    return Promise.all(
      transactionalIds.map(async (transactionalId): Promise<DescribedTransaction> => {
        try {
          await this.statePartition(transactionalId);
          const metadata = this.transactions.get(transactionalId);
          if (metadata === undefined) throw new StrataError('TRANSACTIONAL_ID_NOT_FOUND', `'${transactionalId}'.`);
          return {
            errorCode: 0,
            errorMessage: '',
            transactionalId,
            state: metadata.state,
            transactionTimeoutMs: metadata.transactionTimeoutMs,
            transactionStartTimeMs: metadata.transactionStartTimeMs,
            producerId: metadata.producerId,
            producerEpoch: metadata.producerEpoch,
            topics: byTopic(metadata.partitions),
          };
        } catch (error) {
          const failed = errorResult(error, this.logger.child({ transactionalId }), 'describe transaction');
          return { errorCode: failed.errorCode, errorMessage: failed.errorMessage, transactionalId, state: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1, producerId: -1, producerEpoch: -1, topics: [] };
        }
      }),
    );
  }

  /** ListTransactions: the ids this broker coordinates, filtered. Throws INVALID_REQUEST for an unknown state name. */
  listTransactions(request: ListTransactionsRequest): ListedTransaction[] {
    const unknown = request.stateFilters.find((state) => !(TRANSACTION_STATES as readonly string[]).includes(state));
    if (unknown !== undefined) throw new StrataError('INVALID_REQUEST', `unknown state '${unknown}'; states are ${TRANSACTION_STATES.join(', ')}.`);
    const states = new Set(request.stateFilters);
    const producerIds = new Set(request.producerIdFilters);
    return [...this.transactions.values()]
      .filter((m) => (states.size === 0 || states.has(m.state)) && (producerIds.size === 0 || producerIds.has(m.producerId)))
      .sort((a, b) => (a.transactionalId < b.transactionalId ? -1 : a.transactionalId > b.transactionalId ? 1 : 0))
      .map((m) => ({ transactionalId: m.transactionalId, producerId: m.producerId, state: m.state, transactionStartTimeMs: m.transactionStartTimeMs, transactionTimeoutMs: m.transactionTimeoutMs }));
  }

  // -------------------------------------------------------------------------------------------
  // Changing state

  private async addToTransaction(request: { transactionalId: string; producerId: number; producerEpoch: number }, partitions: readonly TxnPartition[]): Promise<void> {
    checkProducerFields(request);
    const partition = await this.statePartition(request.transactionalId);
    await this.serialize(request.transactionalId, async () => {
      const current = this.known(request.transactionalId);
      const next = addPartitions(current, request.producerId, request.producerEpoch, partitions, this.clock());
      if (next !== current) await this.persist(partition, next);
    });
  }

  /** The state of a known id; an unknown one is INVALID_PRODUCER_ID_MAPPING (it holds no producer id). */
  private known(transactionalId: string): TransactionMetadata {
    const metadata = this.transactions.get(transactionalId);
    if (metadata === undefined) {
      throw new StrataError('INVALID_PRODUCER_ID_MAPPING', `the coordinator knows no transactional id '${transactionalId}'; call InitProducerId with it first.`);
    }
    return metadata;
  }

  /** UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist; internal topics join through AddOffsetsToTxn only. */
  private partitionProblem({ topic, partition }: TxnPartition): ErrorResult | undefined {
    if (isInternalTopic(topic)) return namedError('INVALID_REQUEST', `${topic} is an internal topic; a group's offsets join a transaction through AddOffsetsToTxn`);
    const count = this.partitions.topic(topic)?.partitions;
    if (count === undefined || !Number.isInteger(partition) || partition < 0 || partition >= count) return namedError('UNKNOWN_TOPIC_OR_PARTITION', `${topic}-${partition}`);
    return undefined;
  }

  /** Appends `next` to the id's state partition; adopts it once durable. */
  private async persist(partition: Partition, next: TransactionMetadata): Promise<void> {
    const led = this.led.get(partition.index);
    if (led === undefined || led.partition !== partition || led.stop.signal.aborted) {
      throw new StrataError('NOT_COORDINATOR', `${next.transactionalId}: this broker no longer coordinates ${partition.key}.`);
    }
    const { key, value } = encodeTransactionRecord(next);
    try {
      await partition.appendAsLeader(encodeBatch([{ key, value, timestamp: next.lastUpdateTimeMs }]));
    } catch (error) {
      if (error instanceof StrataError && error.errorName === 'NOT_LEADER_OR_FOLLOWER') {
        throw new StrataError('NOT_COORDINATOR', `${next.transactionalId}: ${error.message}`, { cause: error });
      }
      throw error;
    }
    // Leadership may have moved while the record was written: the new leader owns the state now.
    if (led.stop.signal.aborted) throw new StrataError('NOT_COORDINATOR', `${next.transactionalId}: this broker stopped coordinating ${partition.key}.`);
    this.transactions.set(next.transactionalId, next);
  }

  /**
   * Writes the markers of a transaction in Prepare*, then persists Complete*. Runs in the background;
   * the promise (kept in `completions`) resolves when it is done or was stopped, never rejects.
   */
  private startCompletion(partition: Partition, prepared: TransactionMetadata): Promise<void> {
    invariant(isPrepare(prepared.state), () => `${prepared.transactionalId}: completing from ${prepared.state}`);
    const led = this.led.get(partition.index);
    invariant(led !== undefined, () => `${prepared.transactionalId}: completing on ${partition.key}, which this broker does not lead`);
    const { transactionalId } = prepared;
    const marker = { producerId: prepared.producerId, producerEpoch: prepared.producerEpoch, commit: prepared.state === 'PrepareCommit', coordinatorEpoch: led.coordinatorEpoch };
    const logger = partition.logger.child({ transactionalId, producerId: prepared.producerId, producerEpoch: prepared.producerEpoch });
    const started = performance.now();
    const run = async (): Promise<void> => {
      try {
        await this.markers.write(marker, prepared.partitions, led.stop.signal);
        await this.serialize(transactionalId, async () => {
          if (this.transactions.get(transactionalId) !== prepared) return;
          await this.persist(partition, completeEnd(prepared, this.clock()));
        });
        logger.debug({ commit: marker.commit, partitions: prepared.partitions.length, ms: Math.round(performance.now() - started) }, 'transaction completed');
      } catch (error) {
        // Stopped (leadership moved, broker closing) or the state could not be written: the
        // partition's next leader (or this one after a restart) completes it from Prepare*.
        if (!led.stop.signal.aborted) logger.warn(errorFields(error), 'could not complete the transaction; its next coordinator will');
      }
    };
    const completion: Promise<void> = run().finally(() => {
      if (this.completions.get(transactionalId) === completion) this.completions.delete(transactionalId);
    });
    this.completions.set(transactionalId, completion);
    return completion;
  }

  /** Runs `work` after every earlier piece of work for the same id. */
  private serialize<T>(transactionalId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(transactionalId) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(transactionalId, tail);
    void tail.then(() => {
      if (this.chains.get(transactionalId) === tail) this.chains.delete(transactionalId);
    });
    return run;
  }

  /** The periodic check: every Ongoing transaction past its timeout is aborted with its epoch bumped. */
  private abortTimedOut(): void {
    if (this.closed) return;
    const now = this.clock();
    for (const metadata of [...this.transactions.values()]) {
      if (!hasTimedOut(metadata, now)) continue;
      const { transactionalId } = metadata;
      const led = this.ledPartitionOf(transactionalId);
      if (led === undefined || !led.loaded) continue;
      void this.serialize(transactionalId, async () => {
        const current = this.transactions.get(transactionalId);
        if (current === undefined || !hasTimedOut(current, this.clock())) return;
        const fenced = fenceAndAbort(current, this.clock());
        await this.persist(led.partition, fenced);
        led.partition.logger.info({ transactionalId, producerId: current.producerId, timeoutMs: current.transactionTimeoutMs }, 'aborting a transaction that passed its timeout');
        void this.startCompletion(led.partition, fenced);
      }).catch((error: unknown) => {
        // A background task: logged, and the next check tries again.
        this.logger.warn({ ...errorFields(error), transactionalId }, 'could not abort a timed-out transaction');
      });
    }
  }

  private ledPartitionOf(transactionalId: string): LedPartition | undefined {
    const count = this.partitions.topic(TRANSACTION_STATE_TOPIC)?.partitions;
    return count === undefined ? undefined : this.led.get(transactionStatePartitionFor(transactionalId, count));
  }

  // -------------------------------------------------------------------------------------------
  // Leadership and loading

  /**
   * A replica of a state partition became leader or stopped being it. A new leader loads once its
   * high watermark covers the log it was elected with; one that lost leadership drops its ids and
   * stops their marker writes.
   */
  private leadershipChanged(partition: Partition): void {
    if (this.closed) return;
    const led = this.led.get(partition.index);
    if (!partition.isLeader || (led !== undefined && led.coordinatorEpoch !== partition.leadership.leaderEpoch)) {
      if (led !== undefined) {
        this.forget(partition.index);
        partition.logger.info('no longer coordinating the transactions of this state partition');
      }
      if (!partition.isLeader) return;
    }
    if (this.led.has(partition.index)) return;
    void this.lead(partition);
  }

  /** Takes up a state partition this broker leads: waits for its high watermark, loads, completes what was preparing. */
  private async lead(partition: Partition): Promise<void> {
    if (this.led.has(partition.index) || this.closed) return;
    const led: LedPartition = { partition, coordinatorEpoch: partition.leadership.leaderEpoch, stop: new AbortController(), loaded: false };
    this.led.set(partition.index, led);
    this.unloadable.delete(partition.index);
    const electedEnd = partition.logEndOffset;
    const deadline = performance.now() + 30_000;
    while (partition.highWatermark < electedEnd && !led.stop.signal.aborted && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    if (led.stop.signal.aborted) return;
    try {
      await this.load(partition, led);
    } catch (error) {
      partition.logger.error({ ...errorFields(error), dir: partition.log.dir }, 'could not load transaction state; its transactional ids answer COORDINATOR_NOT_AVAILABLE until a restart');
      this.forget(partition.index);
      this.unloadable.add(partition.index);
    }
  }

  private forget(index: number): void {
    const led = this.led.get(index);
    led?.stop.abort();
    this.led.delete(index);
    const count = this.partitions.topic(TRANSACTION_STATE_TOPIC)?.partitions;
    for (const transactionalId of this.transactions.keys()) {
      if (count === undefined || transactionStatePartitionFor(transactionalId, count) === index) this.transactions.delete(transactionalId);
    }
  }

  /** Reads a state partition from its log start to its high watermark: the last record of each id wins. */
  private async load(partition: Partition, led: LedPartition): Promise<void> {
    const started = performance.now();
    const loaded = new Map<string, TransactionMetadata | undefined>();
    let records = 0;
    let skipped = 0;
    let offset: number = partition.logStartOffset;
    while (offset < partition.highWatermark) {
      const { bytes, nextOffset } = await partition.read(offset, LOAD_READ_BYTES, true);
      if (nextOffset <= offset) break;
      for (const batch of decodeBatches(bytes)) {
        // A replicated partition holds leader-change control batches between the states.
        if ((batch.header.attributes & CONTROL_FLAG) !== 0) continue;
        for (const record of batch.records) {
          if (record.offset < offset) continue;
          try {
            const { transactionalId, metadata } = decodeTransactionRecord(record.key, record.value);
            loaded.set(transactionalId, metadata);
            records++;
          } catch (error) {
            if (!(error instanceof TransactionRecordError)) throw error;
            skipped++;
            partition.logger.warn({ offset: record.offset, reason: error.message }, 'skipping a record that is not a transaction state');
          }
        }
      }
      offset = nextOffset;
    }
    if (led.stop.signal.aborted) return;
    const preparing: TransactionMetadata[] = [];
    for (const [transactionalId, metadata] of loaded) {
      if (metadata === undefined) continue;
      this.transactions.set(transactionalId, metadata);
      if (isPrepare(metadata.state)) preparing.push(metadata);
    }
    led.loaded = true;
    partition.logger.info({ records, skipped, transactionalIds: loaded.size, completing: preparing.length, ms: Math.round(performance.now() - started) }, 'loaded transaction state');
    // The decision of each was durable before this broker took over: finish writing its markers.
    for (const metadata of preparing) void this.startCompletion(partition, metadata);
  }
}

function checkTransactionalId(transactionalId: string): void {
  if (transactionalId.length === 0 || transactionalId.length > TRANSACTIONAL_ID_MAX_CHARS) {
    throw new StrataError('INVALID_REQUEST', `transactional id of ${transactionalId.length} characters; 1 to ${TRANSACTIONAL_ID_MAX_CHARS}.`);
  }
}

function checkProducerFields(request: { producerId: number; producerEpoch: number }): void {
  if (!Number.isSafeInteger(request.producerId) || request.producerId < 0 || !Number.isInteger(request.producerEpoch) || request.producerEpoch < 0) {
    throw new StrataError('INVALID_REQUEST', `producer id ${request.producerId} with epoch ${request.producerEpoch}: a transactional request carries the id and epoch InitProducerId gave.`);
  }
}

/** True if `work` settles within `ms`. */
async function withinTime(work: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([work.then(() => true as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function byTopic(partitions: readonly TxnPartition[]): Array<{ name: string; partitions: number[] }> {
  const topics = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    const list = topics.get(topic);
    if (list === undefined) topics.set(topic, [partition]);
    else list.push(partition);
  }
  return [...topics].map(([name, list]) => ({ name, partitions: list }));
}
