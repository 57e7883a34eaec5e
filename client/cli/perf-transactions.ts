/**
 * `strata perf produce --transaction-records N`: the produce benchmark through a transactional
 * producer, every N records one transaction (sent, then committed; one transaction at a time, as a
 * transactional producer runs). The summary gives records/s and MB/s over the whole run, commits
 * included, and the latency of `commit()` alone (EndTxn: prepare recorded, a marker written to every
 * partition of the transaction, all fsynced under the default flush policy), so it reads beside a
 * plain `perf produce` of the same records.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '../client.js';
import type { CommandContext } from './command-context.js';
import { formatLatencies, summarizeLatencies } from './latency-percentiles.js';
import { PERF_SEND_BYTES } from './limits.js';
import { formatByteRate, formatRecordRate, formatSeconds } from './throughput.js';

export interface PerfTransactionsOptions {
  readonly topic: string;
  readonly records: number;
  readonly recordBytes: number;
  readonly payload: Buffer;
  /** Records per transaction. */
  readonly transactionRecords: number;
  /** The first transactions that cover this many records are not measured. */
  readonly warmupRecords: number;
  readonly transactionalId?: string;
}

export async function perfTransactions(client: Client, context: CommandContext, options: PerfTransactionsOptions): Promise<void> {
  const { topic, records, recordBytes, transactionRecords } = options;
  const producer = client.producer({ transactionalId: options.transactionalId ?? `strata-perf-${randomUUID()}` });
  const transactions = Math.ceil(records / transactionRecords);
  const commitMs = new Float64Array(transactions);
  const group = Math.max(1, Math.floor(PERF_SEND_BYTES / Math.max(1, recordBytes)));
  let measuredFromMs = performance.now();
  let measuredTransactions = 0;
  try {
    for (let t = 0, sent = 0; sent < records; t++) {
      if (sent <= options.warmupRecords) measuredFromMs = performance.now();
      const count = Math.min(transactionRecords, records - sent);
      const transaction = await producer.transaction();
      const sends: Array<Promise<unknown>> = [];
      for (let s = 0; s < count; s += group) {
        const n = Math.min(group, count - s);
        sends.push(transaction.send({ topic, messages: Array.from({ length: n }, () => ({ value: options.payload })) }));
      }
      await Promise.all(sends);
      const committingMs = performance.now();
      await transaction.commit();
      if (sent >= options.warmupRecords) commitMs[measuredTransactions++] = performance.now() - committingMs;
      sent += count;
    }
  } finally {
    await producer.close();
  }
  const elapsedMs = performance.now() - measuredFromMs;
  const measured = measuredTransactions * transactionRecords;
  const latency = summarizeLatencies(commitMs.subarray(0, measuredTransactions));
  context.stdout.write(
    `perf produce: ${measured} records of ${recordBytes} B to ${topic} in ${measuredTransactions} transactions of ${transactionRecords}` +
      `${options.warmupRecords === 0 ? '' : ` (after ${options.warmupRecords} warm-up records)`} in ${formatSeconds(elapsedMs)}: ` +
      `${formatRecordRate(measured, elapsedMs)}, ${formatByteRate(measured * recordBytes, elapsedMs)}, commit ${formatLatencies(latency)}\n`,
  );
}
