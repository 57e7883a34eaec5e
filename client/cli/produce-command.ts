/**
 * `strata produce TOPIC`: one record per line of stdin, like Kafka's `kafka-console-producer.sh`.
 *
 *   strata produce TOPIC [--acks 0|1|all] [--key-separator SEP] [--partition P] [--compression lz4|none]
 *                        [--timeout-ms T]
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
 */
import { parseArgs } from 'node:util';
import type { ProducerMessage } from '../index.js';
import { acksFlag, brokerWaitFlag, choiceFlag, expectPositionals, integerFlag, UsageError, withClient, type CommandContext } from './command-context.js';
import { PENDING_BYTES_MAX, PENDING_RECORDS_MAX, PRODUCE_LINE_BYTES_MAX } from './limits.js';
import { readLines } from './line-reader.js';
import { SendWindow } from './send-window.js';
import { formatSummary } from './throughput.js';

export const PRODUCE_USAGE = '  strata produce TOPIC [--acks 0|1|all] [--key-separator SEP] [--partition P] [--compression lz4|none] [--timeout-ms T]';

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
    },
  });
  const [topic] = expectPositionals(positionals, 1, PRODUCE_USAGE.trim());
  const acks = acksFlag(values.acks);
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
    const producer = client.producer({ acks, compression });
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
          window.track(producer.send({ topic: topic!, messages }), messages.length, bytes);
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
    context.stderr.write(`${formatSummary(verb, window.acknowledgedRecords, 'to', topic!, elapsedMs)}\n`);
    const failure = window.failure ?? badLine;
    if (failure !== undefined) throw failure;
  }, waitMs);
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
