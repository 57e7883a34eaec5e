/**
 * What `producer.transaction()` returns (kafkajs's shape): sends and consumer offsets that become
 * visible together, to read_committed consumers, when `commit()` succeeds, or never, after `abort()`.
 * A handle on the producer's one open transaction; the work is the producer's and its
 * `TransactionManager`'s.
 */
import type { ProducerRecord, RecordMetadata } from './producer.js';
import type { TransactionManager, TransactionOffsets } from './transaction-manager.js';

/** What a transaction needs of its producer. */
export interface TransactionalSender {
  sendInTransaction(record: ProducerRecord): Promise<RecordMetadata[]>;
}

export class Transaction {
  private readonly sender: TransactionalSender;
  private readonly manager: TransactionManager;
  private active = true;

  constructor(sender: TransactionalSender, manager: TransactionManager) {
    this.sender = sender;
    this.manager = manager;
  }

  /** As `producer.send`, inside the transaction. */
  async send(record: ProducerRecord): Promise<RecordMetadata[]> {
    this.checkActive('send');
    return this.sender.sendInTransaction(record);
  }

  /** Several topics at once (kafkajs's `sendBatch`): one send per topic, results in the order given. */
  async sendBatch(batch: { topicMessages: readonly ProducerRecord[] }): Promise<RecordMetadata[]> {
    this.checkActive('sendBatch');
    if (typeof batch !== 'object' || batch === null || !Array.isArray(batch.topicMessages)) throw new TypeError('sendBatch: expected { topicMessages: [{ topic, messages }] }');
    const results = await Promise.all(batch.topicMessages.map((record) => this.sender.sendInTransaction(record)));
    return results.flat();
  }

  /** Commits consumer offsets (the next offset to consume) as part of the transaction. */
  async sendOffsets(offsets: TransactionOffsets): Promise<void> {
    this.checkActive('sendOffsets');
    return this.manager.sendOffsets(offsets);
  }

  /**
   * Waits for every send of the transaction, then commits it. If a send failed, the commit fails and
   * the transaction stays open: abort it.
   */
  async commit(): Promise<void> {
    this.checkActive('commit');
    await this.manager.end(true);
    this.active = false;
  }

  /** Lets the sends in flight settle, then aborts the transaction: nothing of it is ever read committed. */
  async abort(): Promise<void> {
    this.checkActive('abort');
    await this.manager.end(false);
    this.active = false;
  }

  /** Whether the transaction is open: neither committed nor aborted, and its producer not fenced. */
  isActive(): boolean {
    return this.active && this.manager.fatalError === undefined;
  }

  private checkActive(what: string): void {
    this.manager.checkUsable();
    if (!this.active) throw new Error(`transactionalId '${this.manager.transactionalId}': ${what} on a transaction that already ended`);
  }
}
