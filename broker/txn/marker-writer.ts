/**
 * What the transaction coordinator needs from whoever writes its markers: a commit or abort marker
 * for one producer on every partition of a transaction, retried until each is written. The broker's
 * implementation (`partition-markers.ts`) appends to the partitions this broker leads and sends
 * WriteTxnMarkers to the leaders of the others; tests inject their own.
 */
import type { TxnPartition } from './transaction-metadata.js';

export interface TxnMarkerSpec {
  readonly producerId: number;
  readonly producerEpoch: number;
  /** true: a commit marker; false: an abort marker. */
  readonly commit: boolean;
  /** The leader epoch of the coordinator's `__transaction_state` partition. */
  readonly coordinatorEpoch: number;
}

export interface MarkerWriter {
  /**
   * Writes `marker` to every partition in `partitions`, retrying retriable failures (a leader
   * moving, a broker unreachable) with backoff. Resolves once each partition holds the marker, or
   * no longer exists, or refused it for good (a newer epoch: logged, nothing left to do). Rejects
   * only when `signal` aborts (the coordinator stopped coordinating this transaction).
   */
  write(marker: TxnMarkerSpec, partitions: readonly TxnPartition[], signal: AbortSignal): Promise<void>;
}
