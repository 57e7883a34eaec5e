// Method: drives the accumulator with an explicit clock and checks when batches become ready (linger,
// size, flush, retry backoff), that a muted partition keeps one batch in flight and a requeued batch
// goes first, and that buffer memory makes reservations wait in order.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BATCH_OVERHEAD_BYTES, RecordAccumulator, estimateRecordBytes } from './record-accumulator.js';

const all = (): boolean => true;

/** Reserves the record's bytes (there is room in these tests, so at once) and appends it. */
function put(acc: RecordAccumulator, topic: string, partition: number, value: string, bytes: number, nowMs: number) {
  void acc.reserve(bytes);
  return acc.append(topic, partition, { value }, bytes, nowMs);
}

function accumulator(overrides: Partial<ConstructorParameters<typeof RecordAccumulator>[0]> = {}): RecordAccumulator {
  return new RecordAccumulator({ batchSizeBytes: 1000, lingerMs: 5, bufferMemoryBytes: 100_000, onePerPartitionInFlight: true, ...overrides });
}

describe('RecordAccumulator', () => {
  it('says when the open tail batch of a partition has no room for a record (the sticky partitioner moves on)', () => {
    const acc = accumulator({ batchSizeBytes: 300 }); // a batch's 61-byte header counts
    expect(acc.tailIsFull('t', 0, 50)).toBe(false); // no batch yet
    put(acc, 't', 0, 'a', 100, 0);
    expect(acc.tailIsFull('t', 0, 50)).toBe(false);
    put(acc, 't', 1, 'b', 100, 0);
    expect(acc.tailIsFull('t', 0, 50)).toBe(false); // looked up by queue, not only the last batch appended to
    expect(acc.tailIsFull('t', 0, 150)).toBe(true);
    acc.drain(0, true, all);
    expect(acc.tailIsFull('t', 0, 150)).toBe(false); // drained: a new batch would open anyway
  });

  it('holds a batch for lingerMs, then drains it', () => {
    const acc = accumulator();
    put(acc, 't', 0, 'a', 30, 100);
    put(acc, 't', 0, 'b', 30, 102);
    expect(acc.drain(104, false, all)).toEqual([]);
    expect(acc.nextReadyInMs(104)).toBe(1);
    const [batch, ...rest] = acc.drain(105, false, all);
    expect(rest).toEqual([]);
    expect(batch!.values).toEqual(['a', 'b']);
    expect(batch!.attempts).toBe(1);
    expect(acc.hasQueued()).toBe(false);
    expect(acc.hasPending()).toBe(true);
  });

  it('drains at once when flushing', () => {
    const acc = accumulator({ lingerMs: 10_000 });
    put(acc, 't', 0, 'a', 30, 0);
    expect(acc.drain(1, false, all)).toHaveLength(0);
    expect(acc.drain(1, true, all)).toHaveLength(1);
  });

  it('closes a batch at batchSize and sends a full one without waiting for linger', () => {
    const acc = accumulator({ lingerMs: 10_000, batchSizeBytes: BATCH_OVERHEAD_BYTES + 100 });
    const results = [0, 1, 2, 3, 4].map((i) => put(acc, 't', 0, String(i), 40, 0));
    // 40 + 40 fit in 100, the third does not.
    expect(results.map((r) => [r.index, r.newBatch])).toEqual([
      [0, true], [1, false], [0, true], [1, false], [0, true],
    ]);
    expect(acc.nextReadyInMs(0)).toBe(0);
    const first = acc.drain(0, false, all);
    expect(first.map((b) => b.recordCount)).toEqual([2]); // muted: one per partition in flight
    acc.complete(first[0]!);
    expect(acc.drain(0, false, all).map((b) => b.recordCount)).toEqual([2]);
  });

  it('sends a record larger than batchSize alone', () => {
    const acc = accumulator({ batchSizeBytes: 100, lingerMs: 1000 });
    put(acc, 't', 0, 'x', 10, 0);
    const big = put(acc, 't', 0, 'y', 500, 0);
    expect(big.newBatch).toBe(true);
    const small = put(acc, 't', 0, 'z', 10, 0);
    expect(small.newBatch).toBe(true);
    expect(small.batch).not.toBe(big.batch);
  });

  it('without muting, drains every ready batch of a partition in order', () => {
    const acc = accumulator({ onePerPartitionInFlight: false, batchSizeBytes: BATCH_OVERHEAD_BYTES + 50 });
    for (let i = 0; i < 6; i++) put(acc, 't', 0, String(i), 40, 0);
    const drained = acc.drain(5, false, all);
    expect(drained.flatMap((b) => b.values)).toEqual(['0', '1', '2', '3', '4', '5']);
  });

  it('puts a retried batch back first and respects its backoff', () => {
    const acc = accumulator();
    put(acc, 't', 0, 'first', 30, 0);
    const [first] = acc.drain(10, false, all);
    put(acc, 't', 0, 'second', 30, 10);
    // Muted while `first` is in flight, even once `second` has lingered.
    expect(acc.drain(100, false, all)).toEqual([]);
    acc.requeue(first!, 150);
    expect(acc.drain(149, false, all)).toEqual([]);
    expect(acc.nextReadyInMs(149)).toBe(1);
    const [again] = acc.drain(150, false, all);
    expect(again).toBe(first);
    expect(again!.attempts).toBe(2);
    acc.complete(again!);
    expect(acc.drain(150, false, all)[0]!.values[0]).toBe('second');
  });

  it('drains only partitions whose leader can take them, each partition independently', () => {
    const acc = accumulator();
    put(acc, 't', 0, 'a', 30, 0);
    put(acc, 't', 1, 'b', 30, 0);
    put(acc, 'u', 0, 'c', 30, 0);
    const drained = acc.drain(10, false, (topic, partition) => topic === 't' && partition === 1);
    expect(drained.map((b) => `${b.topic}-${b.partition}`)).toEqual(['t-1']);
    expect(acc.drain(10, false, all).map((b) => `${b.topic}-${b.partition}`).sort()).toEqual(['t-0', 'u-0']);
  });

  it('makes reservations wait, in order, while the buffer is full', async () => {
    const acc = accumulator({ bufferMemoryBytes: 1000, batchSizeBytes: 1000 });
    put(acc, 't', 0, 'a', 600, 0);
    const order: string[] = [];
    const big = acc.reserve(500).then(() => order.push('big'));
    const small = acc.reserve(100).then(() => order.push('small'));
    await Promise.resolve();
    expect(order).toEqual([]);
    const [batch] = acc.drain(0, true, all);
    acc.complete(batch!);
    await Promise.all([big, small]);
    expect(order).toEqual(['big', 'small']);
    expect(acc.bufferedBytesNow).toBe(600);
    await expect(acc.reserve(1001)).rejects.toThrow(RangeError);
  });

  it('keeps each partition in append order whatever the sizes (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 400 })), { maxLength: 200 }), (appends) => {
        const acc = accumulator({ batchSizeBytes: 500, bufferMemoryBytes: 10_000_000 });
        appends.forEach(([partition, bytes], i) => put(acc, 't', partition, String(i), bytes, 0));
        const seen = new Map<number, string[]>();
        for (;;) {
          const drained = acc.drain(0, true, all);
          if (drained.length === 0) break;
          for (const batch of drained) {
            expect(batch.sizeBytes - BATCH_OVERHEAD_BYTES <= 500 || batch.recordCount === 1).toBe(true);
            seen.set(batch.partition, [...(seen.get(batch.partition) ?? []), ...(batch.values as string[])]);
            acc.complete(batch);
          }
        }
        for (const partition of [0, 1, 2]) {
          const expected = appends.flatMap(([p], i) => (p === partition ? [String(i)] : []));
          expect(seen.get(partition) ?? []).toEqual(expected);
        }
      }),
    );
  });

  it('estimates record bytes from key, value and headers', () => {
    expect(estimateRecordBytes({ value: null })).toBeLessThan(estimateRecordBytes({ key: 'k', value: 'vvvv' }));
    expect(estimateRecordBytes({ value: 'v', headers: { h: 'x' } })).toBeGreaterThan(estimateRecordBytes({ value: 'v' }));
    expect(estimateRecordBytes({ value: 'v', headers: [{ key: 'h', value: Buffer.from('x') }] })).toBe(
      estimateRecordBytes({ value: 'v', headers: { h: 'x' } }),
    );
  });
});
