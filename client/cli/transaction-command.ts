/**
 * `strata transaction list | describe`, like Kafka's `kafka-transactions.sh`:
 *
 *   strata transaction list [--state S[,S...]] [--format table|json]
 *   strata transaction describe ID [--format table|json]
 *
 * `list` asks every broker for the transactional ids it coordinates and prints `TRANSACTIONAL_ID
 * STATE PRODUCER_ID AGE`, AGE being how long the open transaction has been open (`-` with none);
 * `--state` keeps the ids in those states (Kafka's names: Empty, Ongoing, PrepareCommit, PrepareAbort,
 * CompleteCommit, CompleteAbort). `--format json` prints `[{ transactionalId, state, producerId,
 * transactionStartTimeMs, transactionTimeoutMs }]`.
 *
 * `describe` asks the id's coordinator and prints `transaction ID: STATE`, then producer id and
 * epoch, timeout, age, and the partitions of the open transaction as `TOPIC PARTITION` rows;
 * `--format json` prints `{ transactionalId, state, producerId, producerEpoch, transactionTimeoutMs,
 * transactionStartTimeMs, partitions: [{ topic, partition }] }`. An unknown id is
 * TRANSACTIONAL_ID_NOT_FOUND (exit 1).
 *
 * Both take `--timeout-ms T`: how long to wait for a broker (default 30 s). Parsing is separate from
 * running, so the rules are tested without a broker.
 */
import { parseArgs } from 'node:util';
import { TRANSACTION_STATES, type TransactionDescription, type TransactionListing } from '../index.js';
import { brokerWaitFlag, choiceFlag, expectPositionals, UsageError, withClient, type CommandContext } from './command-context.js';
import { columns } from './text-columns.js';

export const TRANSACTION_USAGE = [
  '  strata transaction list [--state S[,S...]] [--format table|json]   (states: Empty, Ongoing, PrepareCommit, ...)',
  '  strata transaction describe ID [--format table|json]',
].join('\n');

export type TransactionCommand = (
  | { verb: 'list'; states: string[]; format: 'table' | 'json' }
  | { verb: 'describe'; transactionalId: string; format: 'table' | 'json' }
) & { waitMs: number };

/** Reads `strata transaction …`'s arguments; throws UsageError for anything it does not accept. */
export function parseTransactionCommand(argv: readonly string[]): TransactionCommand {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: { state: { type: 'string' }, format: { type: 'string' }, 'timeout-ms': { type: 'string' } },
  });
  const [verb, ...rest] = positionals;
  const format = choiceFlag('format', values.format, ['table', 'json'], 'table');
  const waitMs = brokerWaitFlag(values['timeout-ms']);
  switch (verb) {
    case 'list': {
      expectPositionals(rest, 0, 'strata transaction list [--state S[,S...]] [--format table|json]');
      const states = values.state === undefined ? [] : values.state.split(',').map((s) => s.trim());
      for (const state of states) {
        if (!(TRANSACTION_STATES as readonly string[]).includes(state)) throw new UsageError(`--state: unknown state '${state}'; known: ${TRANSACTION_STATES.join(', ')}`);
      }
      return { verb, states, format, waitMs };
    }
    case 'describe': {
      if (values.state !== undefined) throw new UsageError("--state does not apply to 'transaction describe'");
      const [transactionalId] = expectPositionals(rest, 1, 'strata transaction describe ID [--format table|json]');
      if (transactionalId!.trim() === '') throw new UsageError('the transactional id must not be empty');
      return { verb, transactionalId: transactionalId!, format, waitMs };
    }
    default:
      throw new UsageError(`unknown command 'transaction ${positionals.join(' ')}'; try list or describe`);
  }
}

export async function runTransactionCommand(argv: readonly string[], context: CommandContext): Promise<void> {
  const command = parseTransactionCommand(argv);
  switch (command.verb) {
    case 'list': {
      const listed = await withClient(context, (client) => client.admin().listTransactions({ states: command.states }), command.waitMs);
      context.stdout.write(`${command.format === 'json' ? JSON.stringify(listed) : transactionListTable(listed, Date.now())}\n`);
      return;
    }
    case 'describe': {
      const [described] = await withClient(context, (client) => client.admin().describeTransactions([command.transactionalId]), command.waitMs);
      context.stdout.write(`${command.format === 'json' ? JSON.stringify(described) : describeTransactionTable(described!, Date.now())}\n`);
      return;
    }
  }
}

/** How long ago `startMs` was, for people (`-` for -1: no open transaction). */
export function formatAge(startMs: number, nowMs: number): string {
  if (startMs < 0) return '-';
  const seconds = Math.max(0, nowMs - startMs) / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.floor(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

export function transactionListTable(listed: readonly TransactionListing[], nowMs: number): string {
  const rows = listed.map((t) => [t.transactionalId, t.state, String(t.producerId), formatAge(t.transactionStartTimeMs, nowMs)]);
  return columns(['TRANSACTIONAL_ID', 'STATE', 'PRODUCER_ID', 'AGE'], rows).join('\n');
}

export function describeTransactionTable(described: TransactionDescription, nowMs: number): string {
  const lines = [
    `transaction ${described.transactionalId}: ${described.state}`,
    `producer id ${described.producerId}, epoch ${described.producerEpoch}, timeout ${described.transactionTimeoutMs} ms, open for ${formatAge(described.transactionStartTimeMs, nowMs)}`,
  ];
  if (described.partitions.length === 0) return [...lines, 'no partitions in the transaction'].join('\n');
  return [...lines, ...columns(['TOPIC', 'PARTITION'], described.partitions.map((p) => [p.topic, String(p.partition)]))].join('\n');
}
