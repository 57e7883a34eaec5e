// Method: the idempotent producer's bookkeeping, driven by hand together with a real accumulator
// (five in flight per partition): sequences given in drain order, the window bounded from the oldest
// unsettled batch even when later ones settle first, retries requeued in sequence order and held
// until the partition has nothing in flight, and an epoch bump re-sequencing what is left.
import { describe, expect, it } from 'vitest';
import { ProducerSequences } from './producer-sequences.js';
import { RecordAccumulator, type ProducerBatch } from './record-accumulator.js';

function setup(): { acc: RecordAccumulator; seq: ProducerSequences; drain: () => ProducerBatch[] } {
  const acc = new RecordAccumulator({ batchSizeBytes: 200, lingerMs: 0, bufferMemoryBytes: 1_000_000, onePerPartitionInFlight: true, maxInFlightPerPartition: 5 });
  const seq = new ProducerSequences(5);
  seq.reset(42, 0);
  // As the producer does: each batch gets its sequence as it leaves, before the next is offered.
  const drain = () => acc.drain(0, true, (_t, _p, head) => seq.canSend(head), (batch) => seq.assign(batch));
  return { acc, seq, drain };
}

/** Appends `n` batches of two records each to t-0 (each batch fills up at two 60-byte records). */
function fill(acc: RecordAccumulator, n: number): void {
  for (let i = 0; i < 2 * n; i++) {
    void acc.reserve(60);
    acc.append('t', 0, { value: `v${i}` }, 60, 0);
  }
}

describe('ProducerSequences with the accumulator', () => {
  it('counts the batches of one drain pass against the window, though in-flight room is larger', () => {
    const { acc, seq, drain } = setup();
    fill(acc, 4);
    const first = drain();
    expect(first).toHaveLength(4);
    // The oldest is unanswered; the three after it are answered: one in flight, a window of four.
    for (const batch of first.slice(1)) {
      seq.settled(batch);
      acc.complete(batch);
    }
    fill(acc, 6);
    // Four more could be in flight, but the leader keeps five batches: a retry of the oldest must
    // still find itself among them, so only one more may go.
    expect(drain().map((b) => b.baseSequence)).toEqual([8]);
    expect(drain()).toEqual([]);
  });

  it('gives consecutive sequences and keeps at most five batches after the oldest unsettled one', () => {
    const { acc, seq, drain } = setup();
    fill(acc, 8);
    const first = drain();
    expect(first.map((b) => b.baseSequence)).toEqual([0, 2, 4, 6, 8]);
    expect(first.every((b) => b.producerId === 42 && b.producerEpoch === 0)).toBe(true);
    // Batches 2..5 are answered, the first is not: nothing more may go.
    for (const batch of first.slice(1)) {
      seq.settled(batch);
      acc.complete(batch);
    }
    expect(drain()).toEqual([]);
    // The first times out: it goes back, and is resent (alone, nothing else in flight).
    acc.requeue(first[0]!, 0);
    const retry = drain();
    expect(retry).toEqual([first[0]]);
    expect(retry[0]!.baseSequence).toBe(0);
    seq.settled(retry[0]!);
    acc.complete(retry[0]!);
    expect(drain().map((b) => b.baseSequence)).toEqual([10, 12, 14]);
  });

  it('requeues refused batches in sequence order and holds retries until the partition has nothing in flight', () => {
    const { acc, seq, drain } = setup();
    fill(acc, 6);
    const sent = drain();
    expect(sent).toHaveLength(5);
    // The leader lost batch 0; 1 and 2 come back out of order, 3 and 4 are still in flight.
    expect(seq.shouldRetryBehind(sent[2]!)).toBe(true);
    acc.requeue(sent[2]!, 0);
    acc.requeue(sent[0]!, 0);
    acc.requeue(sent[1]!, 0);
    expect(acc.queuedOf('t', 0).map((b) => b.baseSequence)).toEqual([0, 2, 4, -1]);
    expect(drain()).toEqual([]); // 3 and 4 still in flight
    acc.requeue(sent[3]!, 0);
    acc.requeue(sent[4]!, 0);
    // Nothing in flight: the retries go one at a time, in order.
    expect(drain().map((b) => b.baseSequence)).toEqual([0]);
    expect(seq.shouldRetryBehind(sent[0]!)).toBe(false);
  });

  it('bumps the epoch once nothing is in flight, re-sequencing the unsettled batches', () => {
    const { acc, seq, drain } = setup();
    fill(acc, 3);
    const sent = drain();
    seq.settled(sent[0]!);
    acc.complete(sent[0]!);
    seq.requestBump('t', 0);
    expect(seq.canSend(sent[1]!)).toBe(false);
    expect(seq.bumpIfIdle('t', 0, 2)).toBeUndefined();
    acc.requeue(sent[1]!, 0);
    acc.requeue(sent[2]!, 0);
    expect(seq.sentAfter(sent[1]!)).toEqual([sent[2]]);
    expect(seq.bumpIfIdle('t', 0, 0)).toBe(1);
    const again = drain();
    expect(again.map((b) => [b.producerEpoch, b.baseSequence])).toEqual([[1, 0], [1, 2]]);
  });
});
