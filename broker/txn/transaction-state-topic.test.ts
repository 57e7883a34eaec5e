import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PRODUCER_EPOCH_MAX } from '../producer-id-manager.js';
import { TRANSACTION_STATES, type TransactionMetadata } from './transaction-metadata.js';
import { decodeTransactionRecord, encodeTransactionRecord, TransactionRecordError, transactionStatePartitionFor } from './transaction-state-topic.js';

const bytes = (text: string | null | undefined): Buffer | null => (text === null || text === undefined ? null : Buffer.from(text, 'utf8'));

const metadata: fc.Arbitrary<TransactionMetadata> = fc.record({
  transactionalId: fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }),
  producerId: fc.maxSafeNat(),
  producerEpoch: fc.integer({ min: 0, max: PRODUCER_EPOCH_MAX }),
  transactionTimeoutMs: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  state: fc.constantFrom(...TRANSACTION_STATES),
  partitions: fc.array(fc.record({ topic: fc.string({ minLength: 1, maxLength: 20 }), partition: fc.integer({ min: 0, max: 2 ** 31 - 1 }) }), { maxLength: 8 }),
  transactionStartTimeMs: fc.integer({ min: -1, max: 2 ** 45 }),
  lastUpdateTimeMs: fc.integer({ min: 0, max: 2 ** 45 }),
});

describe('__transaction_state records', () => {
  it('decode(encode(m)) is m', () => {
    fc.assert(
      fc.property(metadata, (m) => {
        const { key, value } = encodeTransactionRecord(m);
        expect(decodeTransactionRecord(bytes(key as string), bytes(value as string))).toEqual({ transactionalId: m.transactionalId, metadata: m });
      }),
    );
  });

  it('equal ids give equal key bytes (compaction keeps the last state per id)', () => {
    fc.assert(
      fc.property(metadata, metadata, (a, b) => {
        const keyA = encodeTransactionRecord(a).key;
        const keyB = encodeTransactionRecord({ ...b, transactionalId: a.transactionalId }).key;
        expect(keyA).toEqual(keyB);
      }),
    );
  });

  it('a tombstone decodes to no metadata', () => {
    expect(decodeTransactionRecord(bytes('[1,"tx"]'), null)).toEqual({ transactionalId: 'tx', metadata: undefined });
  });

  it('anything else is a TransactionRecordError', () => {
    const value = (over: Record<string, unknown>) =>
      JSON.stringify({ version: 1, producerId: 1, producerEpoch: 0, transactionTimeoutMs: 10, state: 'Empty', partitions: [], transactionStartTimeMs: -1, lastUpdateTimeMs: 0, ...over });
    const bad: Array<[string | null, string | null]> = [
      [null, value({})],
      ['not json', value({})],
      ['["offset","g","t",0]', value({})],
      ['[2,"tx"]', value({})],
      ['[1,""]', value({})],
      ['[1,"tx"]', 'nope'],
      ['[1,"tx"]', value({ version: 2 })],
      ['[1,"tx"]', value({ state: 'Dead' })],
      ['[1,"tx"]', value({ producerId: -1 })],
      ['[1,"tx"]', value({ producerEpoch: 40_000 })],
      ['[1,"tx"]', value({ transactionTimeoutMs: 0 })],
      ['[1,"tx"]', value({ partitions: [['t', -1]] })],
      ['[1,"tx"]', value({ partitions: 'x' })],
      ['[1,"tx"]', 'null'],
    ];
    for (const [key, val] of bad) expect(() => decodeTransactionRecord(bytes(key), bytes(val)), `${key} ${val}`).toThrow(TransactionRecordError);
  });

  it('ids map to partitions as groups do', () => {
    expect(transactionStatePartitionFor('my-txn', 16)).toBeGreaterThanOrEqual(0);
    fc.assert(fc.property(fc.string(), fc.integer({ min: 1, max: 100 }), (id, n) => transactionStatePartitionFor(id, n) < n));
  });
});
