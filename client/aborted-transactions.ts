/**
 * A read_committed consumer's filter over one partition's share of one fetch response: which batches
 * belong to aborted transactions and must not be delivered. Kafka's algorithm (the Java consumer's
 * `CompletedFetch`):
 *
 * - The response lists the aborted transactions overlapping the records returned, each as the
 *   producer id and the offset of its first record (`abortedTransactions`); they are taken in order
 *   of that first offset.
 * - Walking the batches in offset order, every listed transaction whose first offset is at or before
 *   the batch's last offset makes its producer "aborted".
 * - A transactional data batch of an aborted producer is skipped; an ABORT marker (a control batch)
 *   of that producer ends its aborted transaction, so its later batches (a new transaction) count
 *   again. A COMMIT marker changes nothing.
 *
 * Why per fetch: the broker lists every aborted transaction that overlaps the fetched range, those
 * that began before the fetch offset included, so no state needs to outlive one response.
 */
import { TXN_ABORT_CONTROL_TYPE } from '../log/index.js';
import type { AbortedTransaction } from './protocol/index.js';

/** What the filter reads of a batch header. */
export interface FilteredBatch {
  /** baseOffset + lastOffsetDelta. */
  readonly lastOffset: number;
  readonly producerId: number;
  readonly transactional: boolean;
}

export class AbortedTransactionFilter {
  private readonly pending: AbortedTransaction[];
  private nextPending = 0;
  private readonly abortedProducers = new Set<number>();

  constructor(abortedTransactions: readonly AbortedTransaction[]) {
    this.pending = [...abortedTransactions].sort((a, b) => a.firstOffset - b.firstOffset);
  }

  /** Whether a data batch belongs to an aborted transaction. Batches must come in offset order. */
  skips(batch: FilteredBatch): boolean {
    this.admitUpTo(batch.lastOffset);
    return batch.transactional && this.abortedProducers.has(batch.producerId);
  }

  /** A control batch (never delivered); an ABORT marker closes its producer's aborted transaction. */
  control(batch: FilteredBatch, controlType: number): void {
    this.admitUpTo(batch.lastOffset);
    if (controlType === TXN_ABORT_CONTROL_TYPE) this.abortedProducers.delete(batch.producerId);
  }

  private admitUpTo(lastOffset: number): void {
    while (this.nextPending < this.pending.length && this.pending[this.nextPending]!.firstOffset <= lastOffset) {
      this.abortedProducers.add(this.pending[this.nextPending]!.producerId);
      this.nextPending++;
    }
  }
}
