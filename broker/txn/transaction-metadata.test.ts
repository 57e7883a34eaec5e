import { describe, expect, it } from 'vitest';
import { ERRORS, StrataError } from '../../client/protocol/index.js';
import { InvariantViolation } from '../../log/index.js';
import { PRODUCER_EPOCH_MAX } from '../producer-id-manager.js';
import {
  addPartitions,
  completeEnd,
  endTransaction,
  fenceAndAbort,
  hasTimedOut,
  initProducer,
  newTransactionalId,
  type TransactionMetadata,
} from './transaction-metadata.js';

const T0 = 1_000_000;
const empty = newTransactionalId('tx', 5, 60_000, T0);
const tp = (topic: string, partition: number) => ({ topic, partition });
const noNewId = () => {
  throw new Error('no new producer id expected');
};

function refusal(work: () => unknown): string {
  try {
    work();
  } catch (error) {
    if (error instanceof StrataError) return error.errorName;
    throw error;
  }
  throw new Error('expected a refusal');
}

function ongoing(): TransactionMetadata {
  return addPartitions(empty, 5, 0, [tp('b', 1), tp('a', 0)], T0 + 1);
}

describe('transaction metadata', () => {
  it('a new id is Empty at epoch 0 with no transaction', () => {
    expect(empty).toMatchObject({ producerId: 5, producerEpoch: 0, state: 'Empty', partitions: [], transactionStartTimeMs: -1 });
  });

  it('AddPartitions opens a transaction (start time now), merges and sorts partitions, and is a no-op for known ones', () => {
    const open = ongoing();
    expect(open).toMatchObject({ state: 'Ongoing', transactionStartTimeMs: T0 + 1, partitions: [tp('a', 0), tp('b', 1)] });
    const more = addPartitions(open, 5, 0, [tp('a', 0), tp('a', 2)], T0 + 2);
    expect(more.partitions).toEqual([tp('a', 0), tp('a', 2), tp('b', 1)]);
    expect(more.transactionStartTimeMs).toBe(T0 + 1);
    expect(addPartitions(more, 5, 0, [tp('a', 2)], T0 + 3)).toBe(more);
  });

  it('AddPartitions from Complete* opens a new transaction with only the new partitions', () => {
    const done = completeEnd(endOutcomeNext(ongoing(), true), T0 + 5);
    const next = addPartitions(done, 5, 0, [tp('c', 0)], T0 + 6);
    expect(next).toMatchObject({ state: 'Ongoing', partitions: [tp('c', 0)], transactionStartTimeMs: T0 + 6 });
  });

  it('refuses a wrong producer id, an older or newer epoch, and AddPartitions while Prepare*', () => {
    expect(refusal(() => addPartitions(empty, 6, 0, [tp('a', 0)], T0))).toBe('INVALID_PRODUCER_ID_MAPPING');
    const bumped = initProducer(empty, { transactionTimeoutMs: 1000, producerId: -1, producerEpoch: -1 }, T0, noNewId);
    expect(refusal(() => addPartitions(bumped.next, 5, 0, [tp('a', 0)], T0))).toBe('PRODUCER_FENCED');
    expect(refusal(() => addPartitions(empty, 5, 3, [tp('a', 0)], T0))).toBe('PRODUCER_FENCED');
    const preparing = endOutcomeNext(ongoing(), true);
    expect(refusal(() => addPartitions(preparing, 5, 0, [tp('z', 0)], T0))).toBe('CONCURRENT_TRANSACTIONS');
  });

  it('EndTxn: Ongoing prepares; the same outcome while preparing waits; a retry after completion succeeds; the other way is INVALID_TXN_STATE', () => {
    const prepareCommit = endOutcomeNext(ongoing(), true);
    expect(prepareCommit).toMatchObject({ state: 'PrepareCommit', producerEpoch: 0, partitions: [tp('a', 0), tp('b', 1)] });
    expect(endTransaction(prepareCommit, 5, 0, true, T0)).toEqual({ kind: 'completing' });
    expect(refusal(() => endTransaction(prepareCommit, 5, 0, false, T0))).toBe('INVALID_TXN_STATE');
    const completed = completeEnd(prepareCommit, T0 + 9);
    expect(completed).toMatchObject({ state: 'CompleteCommit', partitions: [], transactionStartTimeMs: -1, lastUpdateTimeMs: T0 + 9 });
    expect(endTransaction(completed, 5, 0, true, T0)).toEqual({ kind: 'completed' });
    expect(refusal(() => endTransaction(completed, 5, 0, false, T0))).toBe('INVALID_TXN_STATE');

    const prepareAbort = endOutcomeNext(ongoing(), false);
    expect(prepareAbort).toMatchObject({ state: 'PrepareAbort', producerEpoch: 0 });
    expect(completeEnd(prepareAbort, T0).state).toBe('CompleteAbort');
    expect(endTransaction(completeEnd(prepareAbort, T0), 5, 0, false, T0)).toEqual({ kind: 'completed' });
  });

  it('EndTxn without an open transaction is INVALID_TXN_STATE; with a wrong id or epoch it is refused as such', () => {
    expect(refusal(() => endTransaction(empty, 5, 0, true, T0))).toBe('INVALID_TXN_STATE');
    expect(refusal(() => endTransaction(ongoing(), 9, 0, true, T0))).toBe('INVALID_PRODUCER_ID_MAPPING');
    expect(refusal(() => endTransaction(ongoing(), 5, 1, true, T0))).toBe('PRODUCER_FENCED');
  });

  it('InitProducerId bumps the epoch from Empty and Complete*, takes a new id at the maximum epoch, and updates the timeout', () => {
    const once = initProducer(empty, { transactionTimeoutMs: 1234, producerId: -1, producerEpoch: -1 }, T0 + 1, noNewId);
    expect(once).toMatchObject({ kind: 'bumped', next: { producerId: 5, producerEpoch: 1, state: 'Empty', transactionTimeoutMs: 1234 } });
    const completed = completeEnd(endOutcomeNext(ongoing(), false), T0);
    expect(initProducer(completed, { transactionTimeoutMs: 1000, producerId: 5, producerEpoch: 0 }, T0, noNewId).next).toMatchObject({ producerEpoch: 1, state: 'Empty' });
    const atMax: TransactionMetadata = { ...empty, producerEpoch: PRODUCER_EPOCH_MAX };
    expect(initProducer(atMax, { transactionTimeoutMs: 1000, producerId: -1, producerEpoch: -1 }, T0, () => 77).next).toMatchObject({ producerId: 77, producerEpoch: 0 });
  });

  it('InitProducerId with an open transaction aborts it first with the epoch bumped; while Prepare* it is CONCURRENT_TRANSACTIONS', () => {
    const outcome = initProducer(ongoing(), { transactionTimeoutMs: 1000, producerId: -1, producerEpoch: -1 }, T0 + 4, noNewId);
    expect(outcome).toMatchObject({ kind: 'abort-first', next: { state: 'PrepareAbort', producerEpoch: 1, partitions: [tp('a', 0), tp('b', 1)] } });
    const aborted = completeEnd(outcome.next, T0 + 5);
    // The new instance gets epoch + 2.
    expect(initProducer(aborted, { transactionTimeoutMs: 1000, producerId: -1, producerEpoch: -1 }, T0 + 6, noNewId).next.producerEpoch).toBe(2);
    expect(refusal(() => initProducer(outcome.next, { transactionTimeoutMs: 1000, producerId: -1, producerEpoch: -1 }, T0, noNewId))).toBe('CONCURRENT_TRANSACTIONS');
    expect(refusal(() => initProducer(ongoing(), { transactionTimeoutMs: 1000, producerId: 8, producerEpoch: 0 }, T0, noNewId))).toBe('INVALID_PRODUCER_ID_MAPPING');
  });

  it('a timed-out transaction is fenced: PrepareAbort at epoch + 1, after which the old epoch is PRODUCER_FENCED', () => {
    const open = ongoing();
    expect(hasTimedOut(open, T0 + 1 + 60_000)).toBe(false);
    expect(hasTimedOut(open, T0 + 2 + 60_000)).toBe(true);
    expect(hasTimedOut(empty, T0 + 10 ** 9)).toBe(false);
    const fenced = fenceAndAbort(open, T0 + 70_000);
    expect(fenced).toMatchObject({ state: 'PrepareAbort', producerEpoch: 1 });
    expect(refusal(() => endTransaction(completeEnd(fenced, T0), 5, 0, false, T0))).toBe('PRODUCER_FENCED');
    expect(fenceAndAbort({ ...open, producerEpoch: PRODUCER_EPOCH_MAX }, T0).producerEpoch).toBe(PRODUCER_EPOCH_MAX);
  });

  it('asserts the transition table: completing or fencing from the wrong state is a broken invariant', () => {
    expect(() => completeEnd(empty, T0)).toThrow(InvariantViolation);
    expect(() => completeEnd(ongoing(), T0)).toThrow(InvariantViolation);
    expect(() => fenceAndAbort(empty, T0)).toThrow(InvariantViolation);
  });

  it('error codes are the protocol\'s', () => {
    expect(ERRORS.PRODUCER_FENCED.code).toBe(90);
    expect(ERRORS.INVALID_TXN_STATE.code).toBe(48);
  });
});

function endOutcomeNext(metadata: TransactionMetadata, commit: boolean): TransactionMetadata {
  const outcome = endTransaction(metadata, metadata.producerId, metadata.producerEpoch, commit, T0 + 3);
  if (outcome.kind !== 'prepare') throw new Error(`expected prepare, got ${outcome.kind}`);
  return outcome.next;
}
