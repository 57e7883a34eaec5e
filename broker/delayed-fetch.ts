/**
 * Long-poll fetches (Kafka's fetch purgatory). A fetch that found fewer than `min_bytes` parks here
 * until one of:
 *
 * - enough bytes became visible on its partitions (`satisfied`) — woken by high-watermark
 *   notifications from the partition manager, never by polling timers;
 * - one of its partitions was deleted (`changed`): it answers at once, with the error;
 * - `max_wait_ms` passed (`timeout`), the one timer a parked fetch owns;
 * - its connection closed (`aborted`) or the broker began shutting down (`shutdown`).
 *
 * The handler then reads again and answers with whatever is there. Bytes are counted from the
 * notifications (what each append made visible), not by re-reading, so a wake-up costs a few
 * additions per waiting fetch.
 *
 * Bounded: at most `maxPending` fetches park at once across the broker; beyond that `park` returns
 * undefined and the fetch answers at once with what it has (the client simply fetches again).
 *
 * Concurrency: one thread; a fetch completes exactly once (its `finish` unregisters it everywhere).
 */
import type { Partition } from './partition.js';
import type { PartitionListener } from './partition-manager.js';

export type FetchWakeReason = 'satisfied' | 'changed' | 'timeout' | 'aborted' | 'shutdown';

export interface ParkRequest {
  readonly partitions: readonly Partition[];
  /** Bytes needed in total, and how many the first read already found. */
  readonly minBytes: number;
  readonly bytesSoFar: number;
  readonly maxWaitMs: number;
  readonly signal?: AbortSignal;
  /**
   * A read_committed fetch reads below the last stable offset: appends inside an open transaction
   * give it nothing, so it wakes only when a partition's last stable offset moves.
   */
  readonly readCommitted?: boolean;
}

interface DelayedFetch {
  readonly partitions: readonly Partition[];
  readonly minBytes: number;
  bytes: number;
  /** read_committed: each partition's last stable offset when the fetch parked; undefined otherwise. */
  readonly stableAtPark: Map<Partition, number> | undefined;
  finish(reason: FetchWakeReason): void;
}

export class FetchPurgatory implements PartitionListener {
  readonly maxPending: number;
  private readonly byPartition = new Map<Partition, Set<DelayedFetch>>();
  private readonly all = new Set<DelayedFetch>();
  private closed = false;

  constructor(maxPending: number) {
    this.maxPending = maxPending;
  }

  /** Fetches parked now (for metrics). */
  get pending(): number {
    return this.all.size;
  }

  /**
   * Parks a fetch. Resolves with why it woke; returns undefined (and parks nothing) when the
   * purgatory is full or shutting down, so the caller answers at once.
   */
  park(request: ParkRequest): Promise<FetchWakeReason> | undefined {
    if (this.closed || this.all.size >= this.maxPending) return undefined;
    if (request.signal?.aborted === true) return Promise.resolve('aborted');
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => fetch.finish('aborted');
      const fetch: DelayedFetch = {
        partitions: request.partitions,
        minBytes: request.minBytes,
        bytes: request.bytesSoFar,
        stableAtPark: request.readCommitted === true ? new Map(request.partitions.map((p) => [p, p.lastStableOffset])) : undefined,
        finish: (reason) => {
          if (!this.all.delete(fetch)) return;
          if (timer !== undefined) clearTimeout(timer);
          request.signal?.removeEventListener('abort', onAbort);
          for (const partition of fetch.partitions) {
            const set = this.byPartition.get(partition);
            set?.delete(fetch);
            if (set?.size === 0) this.byPartition.delete(partition);
          }
          resolve(reason);
        },
      };
      this.all.add(fetch);
      for (const partition of request.partitions) {
        let set = this.byPartition.get(partition);
        if (set === undefined) this.byPartition.set(partition, (set = new Set()));
        set.add(fetch);
      }
      timer = setTimeout(() => fetch.finish('timeout'), request.maxWaitMs);
      request.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  highWatermarkAdvanced(partition: Partition, visibleBytes: number): void {
    const waiting = this.byPartition.get(partition);
    if (waiting === undefined) return;
    for (const fetch of [...waiting]) {
      if (fetch.stableAtPark !== undefined) {
        if (partition.lastStableOffset > (fetch.stableAtPark.get(partition) ?? 0)) fetch.finish('satisfied');
        continue;
      }
      fetch.bytes += visibleBytes;
      if (fetch.bytes >= fetch.minBytes) fetch.finish('satisfied');
    }
  }

  partitionRemoved(partition: Partition): void {
    const waiting = this.byPartition.get(partition);
    if (waiting === undefined) return;
    for (const fetch of [...waiting]) fetch.finish('changed');
  }

  /** Wakes every parked fetch and parks no more: the broker is shutting down. */
  close(): void {
    this.closed = true;
    for (const fetch of [...this.all]) fetch.finish('shutdown');
  }
}
