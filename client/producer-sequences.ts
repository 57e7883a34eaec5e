/**
 * An idempotent producer's bookkeeping (Kafka's TransactionManager, the idempotent half): its
 * producer id, and per partition the epoch it writes with, the next sequence number, and the window of
 * batches sent with a sequence from the oldest unsettled one on. Plain state; the producer asks
 * it what to do and does the I/O.
 *
 * - Sequences are given when a batch is first drained, in drain order, so a partition's batches carry
 *   consecutive ranges; a retry resends the same bytes (same sequence).
 * - The window: a new batch is sent only while fewer than `maxInFlight` (≤ 5) batches were sent
 *   since the oldest unsettled one. Counting in-flight requests is not enough: when the answer to
 *   batch n is lost (a timeout) while n+1.. are answered, the leader may append many more before n
 *   is retried, and n would have left the five batches it remembers.
 * - An error is *in order* when an earlier batch of the partition is still unacknowledged: the leader
 *   refused this one as out of order (or as from an unknown producer) only because that one is
 *   missing; it is retried after it (`shouldRetryBehind`).
 * - Otherwise a sequence error is the partition's own: its epoch is bumped (Kafka's
 *   bumpIdempotentEpoch, done locally: the broker accepts any higher epoch starting at sequence 0),
 *   once nothing of the partition is in flight, and its unacknowledged batches are given new
 *   sequences under the new epoch. A batch whose fate is unknown (its retries ran out on a timeout)
 *   cannot be re-sequenced without risking a duplicate, so it and every later batch already sent
 *   fail instead (`failSentAfter`): a send fails visibly rather than landing twice or out of order.
 *
 * Epochs are per partition here: each partition only ever compares a producer's epochs among its
 * own batches, so a bump need not stop the other partitions. At epoch 32767 the producer asks for a
 * new id (InitProducerId) and every partition starts over.
 */
import type { ProducerBatch } from './record-accumulator.js';

export const PRODUCER_EPOCH_MAX = 32_767;

interface PartitionSequence {
  epoch: number;
  nextSequence: number;
  /**
   * The batches sent with a sequence from the oldest one not yet settled onwards, in sequence order
   * (settled ones after it stay until it settles). At most `windowBatches` long: the leader keeps a
   * producer's last five batches, so a retry of the oldest unsettled one is always recognised, even
   * when the answers of the batches behind it arrived first.
   */
  window: ProducerBatch[];
  settled: Set<ProducerBatch>;
  /** A bump waits for the partition's in-flight batches to come back. */
  bumpPending: boolean;
}

export class ProducerSequences {
  producerId = -1;
  private readonly windowBatches: number;
  /** Every partition's epoch starts here (0 for a fresh id). */
  private baseEpoch = 0;
  private readonly partitions = new Map<string, PartitionSequence>();

  constructor(windowBatches: number) {
    this.windowBatches = windowBatches;
  }

  private state(topic: string, partition: number): PartitionSequence {
    const key = `${topic}\u0000${partition}`;
    let state = this.partitions.get(key);
    if (state === undefined) {
      state = { epoch: this.baseEpoch, nextSequence: 0, window: [], settled: new Set(), bumpPending: false };
      this.partitions.set(key, state);
    }
    return state;
  }

  /** A new producer id: every partition starts again at its epoch and sequence 0. */
  reset(producerId: number, epoch: number): void {
    this.producerId = producerId;
    this.baseEpoch = epoch;
    this.partitions.clear();
  }

  get hasProducerId(): boolean {
    return this.producerId >= 0;
  }

  /**
   * Whether `batch` may be sent now: no epoch bump waits, and it is a retry (already in the window)
   * or the window has room for it.
   */
  canSend(batch: ProducerBatch): boolean {
    const state = this.partitions.get(`${batch.topic}\u0000${batch.partition}`);
    if (state === undefined) return true;
    if (state.bumpPending) return false;
    return (batch.baseSequence >= 0 && batch.producerId === this.producerId) || state.window.length < this.windowBatches;
  }

  /** Gives a drained batch its sequence and epoch if it has none yet. */
  assign(batch: ProducerBatch): void {
    if (batch.baseSequence >= 0 && batch.producerId === this.producerId) return;
    const state = this.state(batch.topic, batch.partition);
    batch.producerId = this.producerId;
    batch.producerEpoch = state.epoch;
    batch.baseSequence = state.nextSequence;
    batch.encoded = undefined;
    state.nextSequence = (state.nextSequence + batch.count) % 2 ** 31;
    state.window.push(batch);
  }

  /** The batch is done (acknowledged or failed for good): it no longer holds back the ones after it. */
  settled(batch: ProducerBatch): void {
    if (batch.baseSequence < 0) return;
    const state = this.state(batch.topic, batch.partition);
    if (!state.window.includes(batch)) return;
    state.settled.add(batch);
    while (state.window.length > 0 && state.settled.has(state.window[0]!)) state.settled.delete(state.window.shift()!);
  }

  /** An earlier batch of the partition is still unacknowledged: this one's sequence error is its predecessor's doing. */
  shouldRetryBehind(batch: ProducerBatch): boolean {
    const state = this.state(batch.topic, batch.partition);
    const i = state.window.indexOf(batch);
    return state.window.slice(0, Math.max(0, i)).some((earlier) => !state.settled.has(earlier));
  }

  /** Asks for an epoch bump of the partition, done by `bumpIfIdle` once nothing of it is in flight. */
  requestBump(topic: string, partition: number): void {
    this.state(topic, partition).bumpPending = true;
  }

  /**
   * Bumps the partition's epoch if one is pending and `inFlight` is 0: sequences restart at 0 and
   * every unacknowledged batch (all queued now) gets a new sequence when next drained. Returns the
   * new epoch, or undefined when nothing was done; 'new-id' when the epoch is at its maximum and the
   * producer must get a new id first.
   */
  bumpIfIdle(topic: string, partition: number, inFlight: number): number | 'new-id' | undefined {
    const state = this.state(topic, partition);
    if (!state.bumpPending || inFlight > 0) return undefined;
    if (state.epoch >= PRODUCER_EPOCH_MAX) return 'new-id';
    state.epoch += 1;
    state.nextSequence = 0;
    state.bumpPending = false;
    for (const batch of state.window) {
      if (state.settled.has(batch)) continue;
      batch.baseSequence = -1;
      batch.producerEpoch = -1;
      batch.encoded = undefined;
    }
    state.window = [];
    state.settled.clear();
    return state.epoch;
  }

  /** The batches sent after `batch` (higher sequences) that are not yet settled, for failing them with it. */
  sentAfter(batch: ProducerBatch): ProducerBatch[] {
    const state = this.state(batch.topic, batch.partition);
    const i = state.window.indexOf(batch);
    return i < 0 ? [] : state.window.slice(i + 1).filter((later) => !state.settled.has(later));
  }

  /** Partitions with a bump pending. */
  pendingBumps(): Array<{ topic: string; partition: number }> {
    const pending: Array<{ topic: string; partition: number }> = [];
    for (const [key, state] of this.partitions) {
      if (!state.bumpPending) continue;
      const [topic, partition] = key.split('\u0000') as [string, string];
      pending.push({ topic, partition: Number(partition) });
    }
    return pending;
  }
}
