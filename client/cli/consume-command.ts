/**
 * `strata consume TOPIC`: prints records, like Kafka's `kafka-console-consumer.sh`.
 *
 *   strata consume TOPIC [--partition P] [--offset N|earliest|latest] [--from-time ISO8601|EPOCH_MS]
 *                        [--max-messages N] [--timeout-ms T] [--format value|json]
 *
 * Without `--partition` it reads every partition of the topic. It starts at `--offset`, by default
 * `latest` — only records produced from now on, as kafka-console-consumer without --from-beginning;
 * `--offset earliest` is --from-beginning. A numeric offset needs `--partition`. `--from-time` starts
 * each partition at its first record whose timestamp is at or after the time.
 *
 * It stops after `--max-messages` records, or once `--timeout-ms` pass without a new record, or on
 * SIGINT/SIGTERM; otherwise it follows the topic forever. Then it prints `consumed N records from
 * TOPIC ...` on stderr and exits 0.
 *
 * `--format value` (default) prints each value as a line (`null` for none); `--format json` prints
 * one object per record, `{ topic, partition, offset, timestamp, key, value, headers }`, with key,
 * value and header values as UTF-8 strings (null when absent).
 *
 * Output keeps pace with its reader: each fetched batch is written with one write, and when stdout's
 * buffer is full the consumer waits for it to drain before taking the next batch (the client then
 * stops fetching, its buffer being bounded). The idle timer does not run while it waits. A reader
 * that goes away (`| head`) ends the command quietly with exit 0 (`backpressure.ts`).
 */
import { parseArgs } from 'node:util';
import type { ConsumerMessage } from '../index.js';
import { drained, write } from './backpressure.js';
import { choiceFlag, createClient, expectPositionals, integerFlag, UsageError, type CommandContext } from './command-context.js';
import { IDLE_TIMEOUT_MS_MAX } from './limits.js';
import { formatSummary } from './throughput.js';

export const CONSUME_USAGE = [
  '  strata consume TOPIC [--partition P] [--offset N|earliest|latest] [--from-time ISO8601|EPOCH_MS]',
  '                       [--max-messages N] [--timeout-ms T] [--format value|json]',
  '                       (default --offset latest: only new records; --offset earliest reads from the start)',
].join('\n');

type Start = { kind: 'offset'; offset: number | 'earliest' | 'latest' } | { kind: 'time'; timestamp: number };

/** `--from-time`: epoch milliseconds, or an ISO 8601 date-time. */
export function parseFromTime(value: string): number {
  const timestamp = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new UsageError(`--from-time must be an ISO 8601 time or epoch milliseconds, got '${value}'`);
  return timestamp;
}

export function formatMessage(message: ConsumerMessage, format: 'value' | 'json'): string {
  if (format === 'value') return `${message.value === null ? 'null' : message.value.toString('utf8')}\n`;
  const headers: Record<string, string | null> = {};
  for (const [key, value] of Object.entries(message.headers)) headers[key] = value === null ? null : value.toString('utf8');
  return `${JSON.stringify({
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    timestamp: message.timestamp,
    key: message.key === null ? null : message.key.toString('utf8'),
    value: message.value === null ? null : message.value.toString('utf8'),
    headers,
  })}\n`;
}

export async function runConsumeCommand(argv: readonly string[], context: CommandContext): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      partition: { type: 'string' },
      offset: { type: 'string' },
      'from-time': { type: 'string' },
      'max-messages': { type: 'string' },
      'timeout-ms': { type: 'string' },
      format: { type: 'string' },
    },
  });
  const [topic] = expectPositionals(positionals, 1, 'strata consume TOPIC [--partition P] [--offset N|earliest|latest] [--from-time T] [--max-messages N] [--timeout-ms T] [--format value|json]');
  const partition = integerFlag('partition', values.partition, 0);
  const maxMessages = integerFlag('max-messages', values['max-messages'], 1);
  const timeoutMs = integerFlag('timeout-ms', values['timeout-ms'], 1, IDLE_TIMEOUT_MS_MAX);
  const format = choiceFlag('format', values.format, ['value', 'json'], 'value');
  if (values.offset !== undefined && values['from-time'] !== undefined) throw new UsageError('give --offset or --from-time, not both');
  let start: Start;
  if (values['from-time'] !== undefined) {
    start = { kind: 'time', timestamp: parseFromTime(values['from-time']) };
  } else if (values.offset === undefined || values.offset === 'latest' || values.offset === 'earliest') {
    start = { kind: 'offset', offset: values.offset ?? 'latest' };
  } else {
    const offset = integerFlag('offset', values.offset, 0)!;
    if (partition === undefined) throw new UsageError('a numeric --offset needs --partition');
    start = { kind: 'offset', offset };
  }

  const client = createClient(context);
  let consumed = 0;
  const startedMs = performance.now();
  let stopped = false;
  let idleTimer: NodeJS.Timeout | undefined;
  const consumer = client.consumer({ initialOffset: start.kind === 'offset' && start.offset === 'earliest' ? 'earliest' : 'latest' });
  const stop = () => {
    stopped = true;
    if (idleTimer !== undefined) clearTimeout(idleTimer);
    void consumer.stop();
  };
  const armIdleTimer = () => {
    if (timeoutMs === undefined || stopped) return;
    if (idleTimer === undefined) idleTimer = setTimeout(stop, timeoutMs);
    else idleTimer.refresh();
  };
  // A second signal while stopping means "now".
  const onSignal = () => {
    if (stopped) process.exit(130);
    stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await consumer.assign(partition === undefined ? { topic: topic! } : [{ topic: topic!, partition }]);
    for (const tp of consumer.assignment()) {
      if (start.kind === 'time') consumer.seekToTimestamp({ ...tp, timestamp: start.timestamp });
      else if (typeof start.offset === 'number') consumer.seek({ ...tp, offset: start.offset });
    }
    armIdleTimer();
    if (!stopped) {
      await consumer.run({
        eachBatch: async ({ batch }) => {
          if (stopped) return;
          const messages = maxMessages === undefined ? batch.messages : batch.messages.slice(0, maxMessages - consumed);
          consumed += messages.length;
          let text = '';
          for (const message of messages) text += formatMessage(message, format);
          if (maxMessages !== undefined && consumed >= maxMessages) stop();
          const waiting = write(context.stdout, text);
          if (waiting !== undefined) {
            // Time spent waiting for the reader is not idle time. (A cleared timer cannot be refreshed.)
            if (idleTimer !== undefined) clearTimeout(idleTimer);
            idleTimer = undefined;
            await waiting;
          }
          armIdleTimer();
        },
      });
    }
    const stdout = context.stdout as NodeJS.WritableStream & { writableLength?: number };
    if ((stdout.writableLength ?? 0) > 0) await drained(stdout);
    context.stderr.write(`${formatSummary('consumed', consumed, 'from', topic!, performance.now() - startedMs)}\n`);
  } finally {
    if (idleTimer !== undefined) clearTimeout(idleTimer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await client.close();
  }
}
