/**
 * Offsets committed inside a transaction (TxnOffsetCommit) that its marker has not settled yet, per
 * `__consumer_offsets` partition and producer id (Kafka's pending transactional offsets). They are in
 * the log already, as a transactional batch, but invisible to OffsetFetch: the commit marker applies
 * them (in log order: a later commit of the same partition still wins), an abort marker drops them.
 * Whatever is still pending at the end of a load belongs to a transaction that is still open.
 */
import type { CommittedOffset } from './consumer-group.js';

export interface PendingTxnOffset {
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  /** Carries the log offset of its record, which orders it against other commits. */
  readonly committed: CommittedOffset;
}

export class PendingTxnOffsets {
  /** Offsets partition index → producer id → offsets in log order. */
  private readonly byPartition = new Map<number, Map<number, PendingTxnOffset[]>>();

  add(offsetsPartition: number, producerId: number, offsets: readonly PendingTxnOffset[]): void {
    let producers = this.byPartition.get(offsetsPartition);
    if (producers === undefined) this.byPartition.set(offsetsPartition, (producers = new Map()));
    const list = producers.get(producerId);
    if (list === undefined) producers.set(producerId, [...offsets]);
    else list.push(...offsets);
  }

  /** Removes and returns the producer's pending offsets in this partition (empty when none). */
  take(offsetsPartition: number, producerId: number): PendingTxnOffset[] {
    const producers = this.byPartition.get(offsetsPartition);
    const list = producers?.get(producerId) ?? [];
    producers?.delete(producerId);
    if (producers?.size === 0) this.byPartition.delete(offsetsPartition);
    return list;
  }

  /** The partition's groups moved to another coordinator (or are reloaded): forget its pending offsets. */
  dropPartition(offsetsPartition: number): void {
    this.byPartition.delete(offsetsPartition);
  }

  /** Producers with offsets pending in this partition (open transactions). */
  producersOf(offsetsPartition: number): number[] {
    return [...(this.byPartition.get(offsetsPartition)?.keys() ?? [])];
  }
}
