// Method: runs `strata transaction`'s parser and printers, and consume's --isolation flag, on plain
// data without a broker: every accepted form, every rejected one with its one-line message, and the
// exact table shapes (test/client-transactions.test.ts runs the real commands against a broker).
import { describe, expect, it } from 'vitest';
import type { TransactionDescription } from '../index.js';
import { parseConsumeArgs } from './consume-command.js';
import { describeTransactionTable, formatAge, parseTransactionCommand, transactionListTable } from './transaction-command.js';

function usageError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('parseTransactionCommand', () => {
  it('reads list and describe', () => {
    expect(parseTransactionCommand(['list'])).toEqual({ verb: 'list', states: [], format: 'table', waitMs: 30_000 });
    expect(parseTransactionCommand(['list', '--state', 'Ongoing,PrepareCommit', '--format', 'json', '--timeout-ms', '500'])).toEqual({
      verb: 'list', states: ['Ongoing', 'PrepareCommit'], format: 'json', waitMs: 500,
    });
    expect(parseTransactionCommand(['describe', 'tx-1'])).toEqual({ verb: 'describe', transactionalId: 'tx-1', format: 'table', waitMs: 30_000 });
  });

  it('rejects bad usage with one line naming the problem', () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /unknown command 'transaction '/],
      [['commit'], /unknown command 'transaction commit'; try list or describe/],
      [['list', 'x'], /usage: strata transaction list/],
      [['list', '--state', 'Open'], /unknown state 'Open'; known: Empty, Ongoing/],
      [['describe'], /usage: strata transaction describe ID/],
      [['describe', ' '], /transactional id must not be empty/],
      [['describe', 'x', '--state', 'Ongoing'], /--state does not apply to 'transaction describe'/],
      [['list', '--format', 'xml'], /--format must be table or json/],
    ];
    for (const [argv, pattern] of cases) expect(usageError(() => parseTransactionCommand(argv)), argv.join(' ')).toMatch(pattern);
  });
});

describe('transaction printers', () => {
  const now = 100_000_000;

  it('ages: - without an open transaction, seconds, minutes, hours', () => {
    expect(formatAge(-1, now)).toBe('-');
    expect(formatAge(now - 1500, now)).toBe('1.5 s');
    expect(formatAge(now - 125_000, now)).toBe('2 min 5 s');
    expect(formatAge(now - 3_720_000, now)).toBe('1 h 2 min');
  });

  it('list: id, state, producer id, age', () => {
    const table = transactionListTable(
      [
        { transactionalId: 'a', state: 'Ongoing', producerId: 1025, transactionStartTimeMs: now - 2000, transactionTimeoutMs: 60000 },
        { transactionalId: 'bb', state: 'CompleteCommit', producerId: 3, transactionStartTimeMs: -1, transactionTimeoutMs: 60000 },
      ],
      now,
    );
    expect(table).toBe(['TRANSACTIONAL_ID  STATE           PRODUCER_ID  AGE', 'a                 Ongoing         1025         2.0 s', 'bb                CompleteCommit  3            -'].join('\n'));
  });

  it('describe: state, epoch, timeout, age, partitions', () => {
    const described: TransactionDescription = {
      transactionalId: 'tx', state: 'Ongoing', producerId: 7, producerEpoch: 2, transactionTimeoutMs: 60000, transactionStartTimeMs: now - 500,
      partitions: [{ topic: 'orders', partition: 0 }, { topic: 'orders', partition: 3 }],
    };
    expect(describeTransactionTable(described, now)).toBe(
      ['transaction tx: Ongoing', 'producer id 7, epoch 2, timeout 60000 ms, open for 0.5 s', 'TOPIC   PARTITION', 'orders  0', 'orders  3'].join('\n'),
    );
    expect(describeTransactionTable({ ...described, state: 'Empty', transactionStartTimeMs: -1, partitions: [] }, now)).toBe(
      ['transaction tx: Empty', 'producer id 7, epoch 2, timeout 60000 ms, open for -', 'no partitions in the transaction'].join('\n'),
    );
  });
});

describe('consume --isolation', () => {
  it('defaults to read_committed, takes read_uncommitted, with or without --group, and nothing else', () => {
    expect(parseConsumeArgs(['t']).isolation).toBe('read_committed');
    expect(parseConsumeArgs(['t', '--isolation', 'read_uncommitted']).isolation).toBe('read_uncommitted');
    expect(parseConsumeArgs(['t', '--group', 'g', '--isolation', 'read_uncommitted']).isolation).toBe('read_uncommitted');
    expect(usageError(() => parseConsumeArgs(['t', '--isolation', 'committed']))).toMatch(/--isolation must be read_committed or read_uncommitted, got 'committed'/);
  });
});
