/**
 * `strata produce TOPIC`: one record per line of stdin, like Kafka's `kafka-console-producer.sh`.
 *
 *   strata produce TOPIC [--acks 0|1|all] [--key-separator SEP] [--partition P] [--compression lz4|none]
 *                        [--transactional-id ID] [--timeout-ms T]
 *
 * It first waits up to `--timeout-ms` (30 s by default) for a broker to answer, and fails naming the
 * broker if none does.
 *
 * stdin is read as a stream, never whole: the complete lines of each chunk go to the producer in one
 * `send`, which batches them per partition; sends are not awaited one by one but kept in flight
 * within a bounded window (`send-window.ts`), and reading waits while the window is full. With
 * `--key-separator`, a line is `key<SEP>value` (split at the first SEP; a line without it is an
 * error); otherwise the line is the value and the record has no key. Keyed records go to Kafka's
 * murmur2 partition of their key unless `--partition` says otherwise.
 *
 * At the end it prints one line on stderr, `produced N records to TOPIC in T s (R records/s)`. A
 * failed send stops the reading; what was in flight settles, the summary counts what was
 * acknowledged, and the command fails with the send's error. The default acks is all, as Kafka's.
 * SIGINT or SIGTERM ends the input early: what was read is sent and acknowledged first (exit 0).
 *
 * With `--transactional-id ID` the whole input is ONE transaction of a transactional producer with
 * that id: read_committed consumers see all of it once stdin ends and the transaction commits, or
 * none of it. A failed send, a bad line, a failed commit, SIGINT or SIGTERM abort the transaction
 * and the command fails (exit 1, or 130 for a signal) with one line saying it was aborted. acks is
 * all (a transactional producer is idempotent; another --acks is a usage error).
 */
import { parseArgs } from 'node:util';
import type { ProducerMessage, ProducerRecord, RecordMetadata, Transaction } from '../index.js';
import {
  acksFlag,
  brokerWaitFlag,
  choiceFlag,
  CommandFailure,
  expectPositionals,
  integerFlag,
  INTERRUPTED_EXIT_CODE,
  UsageError,
  withClient,
  type CommandContext,
} from './command-context.js';
import { PENDING_BYTES_MAX, PENDING_RECORDS_MAX, PRODUCE_LINE_BYTES_MAX } from './limits.js';
import { readLines } from './line-reader.js';
import { SendWindow } from './send-window.js';
import { formatSummary } from './throughput.js';

export const PRODUCE_USAGE = [
  '  strata produce TOPIC [--acks 0|1|all] [--key-separator SEP] [--partition P] [--compression lz4|none] [--timeout-ms T]',
  '                       [--transactional-id ID]   (all of stdin as one transaction: committed at EOF, aborted on error or Ctrl-C)',
].join('\n');

export async function runProduceCommand(argv: readonly string[], context: CommandContext): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      acks: { type: 'string' },
      'key-separator': { type: 'string' },
      partition: { type: 'string' },
      compression: { type: 'string' },
      'timeout-ms': { type: 'string' },
      'transactional-id': { type: 'string' },
    },
  });
  const [topic] = expectPositionals(positionals, 1, PRODUCE_USAGE.split('\n')[0]!.trim());
  const acks = acksFlag(values.acks);
  const transactionalId = values['transactional-id'];
  if (transactionalId !== undefined && transactionalId.trim() === '') throw new UsageError('--transactional-id needs an id');
  if (transactionalId !== undefined && acks !== -1) throw new UsageError('--transactional-id needs acks all: a transactional producer is idempotent');
  const compression = choiceFlag('compression', values.compression, ['none', 'lz4'], 'none');
  const partition = integerFlag('partition', values.partition, 0);
  const separator = values['key-separator'];
  if (separator === '') throw new UsageError('--key-separator must not be empty');
  const separatorBytes = separator === undefined ? undefined : Buffer.from(separator, 'utf8');
  const waitMs = brokerWaitFlag(values['timeout-ms']);

  await withClient(context, async (client) => {
    // Fail before reading anything when the topic or the partition does not exist.
    const info = await client.topicMetadata(topic!);
    if (partition !== undefined && partition >= info.partitions.length) {
      throw new UsageError(`--partition ${partition}: topic ${topic} has ${info.partitions.length} partition${info.partitions.length === 1 ? '' : 's'}`);
    }
    const producer = client.producer({ acks, compression, ...(transactionalId === undefined ? {} : { transactionalId }) });
    // A transactional run sends everything inside one transaction.
    const transaction: Transaction | undefined = transactionalId === undefined ? undefined : await producer.transaction();
    const send = (record: ProducerRecord): Promise<RecordMetadata[]> => (transaction === undefined ? producer.send(record) : transaction.send(record));
    const window = new SendWindow(PENDING_RECORDS_MAX, PENDING_BYTES_MAX);
    const startedMs = performance.now();
    let lineNumber = 0;
    let badLine: Error | undefined;
    // SIGINT/SIGTERM end the input: what was read is still sent and acknowledged, as Kafka's console
    // producer flushes on exit. A second signal exits at once.
    let interrupted = false;
    const onSignal = () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      (context.stdin as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      for await (const lines of readLines(context.stdin as AsyncIterable<Buffer>, PRODUCE_LINE_BYTES_MAX)) {
        const messages: ProducerMessage[] = [];
        let bytes = 0;
        for (const line of lines) {
          lineNumber++;
          const message = toMessage(line, separatorBytes, partition);
          if (message === undefined) {
            badLine = new UsageError(`line ${lineNumber} has no key separator '${separator}'`);
            break;
          }
          messages.push(message);
          bytes += line.length;
        }
        if (messages.length > 0) {
          await window.admit(messages.length, bytes);
          if (window.failure !== undefined) break;
          window.track(send({ topic: topic!, messages }), messages.length, bytes);
        }
        if (badLine !== undefined || window.failure !== undefined || interrupted) break;
      }
    } catch (error) {
      // Destroying stdin on a signal ends the iteration with a premature-close error.
      if (!interrupted) throw error;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    await producer.flush().catch(() => undefined);
    await window.settle();
    const elapsedMs = performance.now() - startedMs;
    const verb = acks === 0 ? 'sent (acks=0, unconfirmed)' : 'produced';
    const summary = formatSummary(verb, window.acknowledgedRecords, 'to', topic!, elapsedMs);
    const failure = window.failure ?? badLine;
    if (transaction === undefined) {
      context.stderr.write(`${summary}\n`);
      if (failure !== undefined) throw failure;
      return;
    }
    await endTransaction(transaction, transactionalId!, summary, failure, interrupted, context);
  }, waitMs);
}

/**
 * Commits the one transaction of a `--transactional-id` run, or aborts it after a failure or a
 * signal (or a failed commit), and says which on stderr. Only a commit exits 0.
 */
async function endTransaction(transaction: Transaction, transactionalId: string, summary: string, failure: Error | undefined, interrupted: boolean, context: CommandContext): Promise<void> {
  let cause = failure?.message ?? (interrupted ? 'interrupted' : undefined);
  if (cause === undefined) {
    try {
      await transaction.commit();
      context.stderr.write(`${summary}; committed transaction ${transactionalId}\n`);
      return;
    } catch (error) {
      cause = `commit failed: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  // A fenced producer cannot abort (the coordinator aborted, or the new instance will): say so.
  const aborted = transaction.isActive() ? await transaction.abort().then(() => 'aborted', (error: unknown) => `could not be aborted (${error instanceof Error ? error.message : String(error)})`) : 'was not committed';
  context.stderr.write(`${summary}\n`);
  throw new CommandFailure(`transaction ${transactionalId} ${aborted}, none of its records will be read committed: ${cause}`, interrupted && failure === undefined ? INTERRUPTED_EXIT_CODE : 1);
}

/** A line as a record: `key<SEP>value` with a separator, else the value alone; undefined when SEP is missing. */
function toMessage(line: Buffer, separator: Buffer | undefined, partition: number | undefined): ProducerMessage | undefined {
  const message: ProducerMessage = { value: line };
  if (separator !== undefined) {
    const at = line.indexOf(separator);
    if (at < 0) return undefined;
    message.key = line.subarray(0, at);
    message.value = line.subarray(at + separator.length);
  }
  if (partition !== undefined) message.partition = partition;
  return message;
}
