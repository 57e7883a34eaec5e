// Method: the producer-state rules as pure functions (a table of Kafka's cases, then a fast-check
// model: random retries, duplicates, gaps and epoch bumps of several producers against a reference
// that keeps every batch a producer ever wrote), the snapshot codec (round trip, every flipped byte
// refused), expiry and the truncation predicate.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LogError } from './errors.js';
import {
  applyProducerBatch,
  checkProducerBatch,
  decodeProducerSnapshot,
  encodeProducerSnapshot,
  PRODUCER_BATCHES_KEPT,
  ProducerStateManager,
  sequenceAfter,
  applyTxnMarker,
  checkTxnMarker,
  type ProducerBatch,
  type ProducerEntry,
  type TxnMarkerWrite,
} from './producer-state.js';
import { asOffset } from './units.js';

function batch(producerId: number, epoch: number, firstSeq: number, records: number, firstOffset: number, timestamp = 1000): ProducerBatch {
  return { producerId, epoch, firstSeq, lastOffsetDelta: records - 1, firstOffset: asOffset(firstOffset), timestamp, transactional: false };
}

function txn(producerId: number, epoch: number, firstSeq: number, records: number, firstOffset: number, timestamp = 1000): ProducerBatch {
  return { ...batch(producerId, epoch, firstSeq, records, firstOffset, timestamp), transactional: true };
}

function endTxn(producerId: number, epoch: number, offset: number, commit: boolean, timestamp = 2000): TxnMarkerWrite {
  return { producerId, epoch, offset: asOffset(offset), timestamp, commit };
}

function errorName(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    if (error instanceof LogError) return error.errorName;
    throw error;
  }
}

describe('checkProducerBatch', () => {
  const entry: ProducerEntry = applyProducerBatch(applyProducerBatch(undefined, batch(7, 2, 0, 10, 100)), batch(7, 2, 10, 5, 110));

  it.each([
    ['a new producer at sequence 0 appends', undefined, batch(7, 0, 0, 3, 0), 'append'],
    ['a new producer past sequence 0 is UNKNOWN_PRODUCER_ID', undefined, batch(7, 0, 5, 3, 0), 'UNKNOWN_PRODUCER_ID'],
    ['the next sequence appends', entry, batch(7, 2, 15, 1, 200), 'append'],
    ['a gap is OUT_OF_ORDER_SEQUENCE_NUMBER', entry, batch(7, 2, 16, 1, 200), 'OUT_OF_ORDER_SEQUENCE_NUMBER'],
    ['an overlap that is no cached batch is OUT_OF_ORDER_SEQUENCE_NUMBER', entry, batch(7, 2, 12, 3, 200), 'OUT_OF_ORDER_SEQUENCE_NUMBER'],
    ['an older epoch is INVALID_PRODUCER_EPOCH', entry, batch(7, 1, 15, 1, 200), 'INVALID_PRODUCER_EPOCH'],
    ['a newer epoch at sequence 0 appends', entry, batch(7, 3, 0, 1, 200), 'append'],
    ['a newer epoch past sequence 0 is OUT_OF_ORDER_SEQUENCE_NUMBER', entry, batch(7, 3, 15, 1, 200), 'OUT_OF_ORDER_SEQUENCE_NUMBER'],
  ] as const)('%s', (_, current, incoming, expected) => {
    const name = errorName(() => checkProducerBatch(current, incoming));
    if (expected === 'append') {
      expect(name).toBeUndefined();
      expect(checkProducerBatch(current, incoming).kind).toBe('append');
    } else {
      expect(name).toBe(expected);
    }
  });

  it('answers a retry of a cached batch with its offsets', () => {
    const check = checkProducerBatch(entry, batch(7, 2, 0, 10, 999));
    expect(check).toEqual({ kind: 'duplicate', batch: expect.objectContaining({ firstSeq: 0, lastSeq: 9, firstOffset: 100, lastOffset: 109 }) });
  });

  it('wraps sequences past 2^31 - 1 to 0', () => {
    expect(sequenceAfter(2 ** 31 - 2, 3)).toBe(1);
    const wrapped = applyProducerBatch(undefined, batch(1, 0, 2 ** 31 - 3, 3, 0));
    expect(wrapped.batches[0]!.lastSeq).toBe(2 ** 31 - 1);
    expect(checkProducerBatch(wrapped, batch(1, 0, 0, 1, 3)).kind).toBe('append');
  });
});

describe('transactions in producer state', () => {
  it('a transactional batch opens the transaction at its first offset; later ones leave it there', () => {
    const first = applyProducerBatch(undefined, txn(7, 0, 0, 2, 10));
    expect(first.currentTxnFirstOffset).toBe(10);
    expect(applyProducerBatch(first, txn(7, 0, 2, 1, 15)).currentTxnFirstOffset).toBe(10);
    expect(applyProducerBatch(undefined, batch(7, 0, 0, 2, 10)).currentTxnFirstOffset).toBeUndefined();
  });

  it('refuses a non-transactional batch while the transaction is open, but answers its duplicates', () => {
    const open = applyProducerBatch(applyProducerBatch(undefined, batch(7, 0, 0, 2, 0)), txn(7, 0, 2, 1, 2));
    expect(errorName(() => checkProducerBatch(open, batch(7, 0, 3, 1, 3)))).toBe('INVALID_TXN_STATE');
    expect(checkProducerBatch(open, batch(7, 0, 0, 2, 3)).kind).toBe('duplicate');
    expect(checkProducerBatch(open, txn(7, 0, 3, 1, 3)).kind).toBe('append');
  });

  it('a marker ends the transaction, reports it, and moves the epoch; a stale one is INVALID_PRODUCER_EPOCH', () => {
    const open = applyProducerBatch(undefined, txn(7, 2, 0, 3, 40));
    expect(errorName(() => checkTxnMarker(open, endTxn(7, 1, 43, false)))).toBe('INVALID_PRODUCER_EPOCH');
    expect(errorName(() => checkTxnMarker(open, endTxn(7, 2, 43, false)))).toBeUndefined();
    const same = applyTxnMarker(open, endTxn(7, 2, 43, false));
    expect(same.completed).toEqual({ producerId: 7, firstOffset: 40, lastOffset: 43, commit: false });
    expect(same.entry).toMatchObject({ epoch: 2, currentTxnFirstOffset: undefined, lastOffset: 43, lastTimestamp: 2000 });
    expect(same.entry.batches).toHaveLength(1);
    const bumped = applyTxnMarker(open, endTxn(7, 3, 43, true));
    expect(bumped.entry).toMatchObject({ epoch: 3, batches: [] });
    // No open transaction: a coordinator's retry; nothing completes.
    expect(applyTxnMarker(same.entry, endTxn(7, 2, 44, false)).completed).toBeUndefined();
  });

  it('an entry a marker made (no batch) takes a higher epoch or sequence 0, fences a lower epoch', () => {
    const { entry } = applyTxnMarker(undefined, endTxn(9, 4, 0, false));
    expect(entry).toMatchObject({ producerId: 9, epoch: 4, batches: [], currentTxnFirstOffset: undefined });
    expect(checkProducerBatch(entry, batch(9, 4, 0, 1, 1)).kind).toBe('append');
    expect(checkProducerBatch(entry, batch(9, 5, 0, 1, 1)).kind).toBe('append');
    expect(errorName(() => checkProducerBatch(entry, batch(9, 4, 3, 1, 1)))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    expect(errorName(() => checkProducerBatch(entry, batch(9, 3, 0, 1, 1)))).toBe('INVALID_PRODUCER_EPOCH');
  });

  it('the manager: first unstable offset, ongoing transactions, no expiry while open, truncation sees markers', () => {
    const state = new ProducerStateManager();
    state.record(txn(1, 0, 0, 2, 0, 100));
    state.record(txn(2, 0, 0, 2, 2, 200));
    state.record(batch(3, 0, 0, 1, 4, 300));
    expect(state.firstUnstableOffset).toBe(0);
    expect(state.ongoingTransactions()).toEqual([
      { producerId: 1, producerEpoch: 0, firstOffset: 0, lastTimestamp: 100 },
      { producerId: 2, producerEpoch: 0, firstOffset: 2, lastTimestamp: 200 },
    ]);
    expect(state.removeExpired(1_000_000, 10)).toBe(1);
    expect(state.recordMarker(endTxn(1, 0, 5, true))).toEqual({ producerId: 1, firstOffset: 0, lastOffset: 5, commit: true });
    expect(state.firstUnstableOffset).toBe(2);
    expect(state.unaffectedByTruncationTo(asOffset(6))).toBe(true);
    expect(state.unaffectedByTruncationTo(asOffset(5))).toBe(false);
    expect(state.recordMarker(endTxn(2, 0, 6, false))).toMatchObject({ firstOffset: 2, commit: false });
    expect(state.firstUnstableOffset).toBeUndefined();
  });

  it('round-trips a snapshot with open transactions and marker-only entries', () => {
    const state = new ProducerStateManager();
    state.record(txn(1, 0, 0, 2, 0));
    state.recordMarker(endTxn(4, 6, 2, false));
    state.record(batch(5, 0, 0, 1, 3));
    const decoded = decodeProducerSnapshot(encodeProducerSnapshot(state.snapshot()));
    expect(decoded).toEqual(state.snapshot());
    const loaded = new ProducerStateManager();
    loaded.load(decoded);
    expect(loaded.firstUnstableOffset).toBe(0);
    expect(loaded.entry(4)).toMatchObject({ epoch: 6, batches: [] });
  });

  it('refuses a version-1 snapshot (before transactions): the log rebuilds from headers instead', () => {
    const bytes = encodeProducerSnapshot(new ProducerStateManager(asOffset(5)).snapshot());
    bytes.writeInt16BE(1, 0);
    expect(errorName(() => decodeProducerSnapshot(bytes))).toBe('CORRUPT_MESSAGE');
  });
});

describe('ProducerStateManager against a model', () => {
  // Commands: a producer sends its next batch, retries one of its earlier batches, skips ahead, or
  // bumps its epoch. The model keeps every batch written; a retry is a duplicate exactly when it is
  // among the producer's last five of its current epoch.
  const command = fc.record({
    producer: fc.integer({ min: 0, max: 2 }),
    kind: fc.constantFrom('next', 'next', 'next', 'retry', 'gap', 'bump'),
    back: fc.integer({ min: 0, max: 8 }),
    records: fc.integer({ min: 1, max: 4 }),
  });

  it('appends in-order batches, answers recent retries with their offsets, refuses the rest', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 80 }), (commands) => {
        const state = new ProducerStateManager();
        const written = new Map<number, Array<{ epoch: number; firstSeq: number; records: number; firstOffset: number }>>();
        const epochs = new Map<number, number>();
        let end = 0;
        for (const c of commands) {
          const pid = 100 + c.producer;
          const mine = written.get(pid) ?? [];
          const epoch = epochs.get(pid) ?? 0;
          const current = mine.filter((b) => b.epoch === epoch);
          const last = current.at(-1);
          const nextSeq = last === undefined ? 0 : last.firstSeq + last.records;
          if (c.kind === 'bump' && mine.length > 0) {
            epochs.set(pid, epoch + 1);
            continue;
          }
          if (c.kind === 'retry' && current.length > 0) {
            const target = current[Math.max(0, current.length - 1 - c.back)]!;
            const check = errorName(() => state.check(batch(pid, epoch, target.firstSeq, target.records, end)));
            const cached = current.length - current.indexOf(target) <= PRODUCER_BATCHES_KEPT;
            if (cached) {
              expect(check).toBeUndefined();
              const result = state.check(batch(pid, epoch, target.firstSeq, target.records, end));
              expect(result).toEqual({ kind: 'duplicate', batch: expect.objectContaining({ firstOffset: target.firstOffset }) });
            } else {
              expect(check).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
            }
            continue;
          }
          const firstSeq = c.kind === 'gap' ? nextSeq + 1 + c.back : nextSeq;
          const incoming = batch(pid, epoch, firstSeq, c.records, end);
          const check = errorName(() => state.check(incoming));
          const knownEpoch = mine.length > 0;
          const expected = c.kind === 'gap' ? (knownEpoch || firstSeq !== 0 ? (knownEpoch ? 'OUT_OF_ORDER_SEQUENCE_NUMBER' : 'UNKNOWN_PRODUCER_ID') : undefined) : undefined;
          expect(check).toBe(expected);
          if (check !== undefined) continue;
          state.record(incoming);
          mine.push({ epoch, firstSeq, records: c.records, firstOffset: end });
          written.set(pid, mine);
          end += c.records;
          expect(state.endOffset).toBe(end);
        }
        // Every producer's entry holds its last (up to) five batches of its last written epoch.
        for (const [pid, mine] of written) {
          const lastEpoch = mine.at(-1)!.epoch;
          const expectedOffsets = mine.filter((b) => b.epoch === lastEpoch).slice(-PRODUCER_BATCHES_KEPT).map((b) => b.firstOffset);
          expect(state.entry(pid)!.batches.map((b) => b.firstOffset)).toEqual(expectedOffsets);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('checks a leader batch against the pending ones before them, and forgets them on discard or write', () => {
    const state = new ProducerStateManager();
    state.record(batch(1, 0, 0, 2, 0));
    state.addPending({ batch: batch(1, 0, 2, 2, 2) });
    // The second in-flight batch follows the first, not yet written.
    expect(state.check(batch(1, 0, 4, 1, 4)).kind).toBe('append');
    expect(state.check(batch(1, 0, 2, 2, 4))).toMatchObject({ kind: 'duplicate', batch: { firstOffset: 2 } });
    state.discardPending();
    expect(errorName(() => state.check(batch(1, 0, 4, 1, 2)))).toBe('OUT_OF_ORDER_SEQUENCE_NUMBER');
    state.addPending({ batch: batch(1, 0, 2, 2, 2) });
    // Another leader's batch lands at offset 2: the proposal is gone.
    state.advance(asOffset(3));
    expect(state.pendingCount).toBe(0);
  });
});

describe('snapshots, expiry, truncation', () => {
  function filled(): ProducerStateManager {
    const state = new ProducerStateManager();
    let offset = 0;
    for (let i = 0; i < 7; i++) {
      state.record(batch(5, 1, i * 3, 3, offset, 1000 + i));
      offset += 3;
    }
    state.record(batch(2 ** 40, 0, 0, 1, offset, 5000));
    return state;
  }

  it('round-trips a snapshot and refuses every damaged byte', () => {
    const state = filled();
    const bytes = encodeProducerSnapshot(state.snapshot());
    const decoded = decodeProducerSnapshot(bytes);
    expect(decoded).toEqual(state.snapshot());
    for (let i = 0; i < bytes.length; i++) {
      const damaged = Buffer.from(bytes);
      damaged[i]! ^= 0x40;
      expect(() => decodeProducerSnapshot(damaged), `byte ${i}`).toThrow(LogError);
    }
    expect(() => decodeProducerSnapshot(bytes.subarray(0, bytes.length - 1))).toThrow(LogError);
  });

  it('expires producers idle for producerIdExpirationMs by their last batch timestamp', () => {
    const state = filled();
    expect(state.removeExpired(5000 + 999, 1000)).toBe(1);
    expect(state.entry(5)).toBeUndefined();
    expect(state.entry(2 ** 40)).toBeDefined();
    expect(state.removeExpired(6000, 1000)).toBe(1);
    expect(state.producerCount).toBe(0);
  });

  it('tells whether a cut removes a cached batch', () => {
    const state = filled();
    expect(state.unaffectedByTruncationTo(asOffset(22))).toBe(true);
    expect(state.unaffectedByTruncationTo(asOffset(21))).toBe(false);
    state.truncateEnd(asOffset(22));
    expect(state.endOffset).toBe(22);
  });
});
