/**
 * `strata consume TOPIC`: prints records, like Kafka's `kafka-console-consumer.sh`.
 *
 *   strata consume TOPIC [--partition P] [--offset N|earliest|latest] [--from-time ISO8601|EPOCH_MS]
 *                        [--max-messages N] [--timeout-ms T] [--format value|json]
 *                        [--isolation read_committed|read_uncommitted]
 *   strata consume TOPIC --group G [--session-timeout-ms T] [--offset earliest|latest]
 *                        [--max-messages N] [--timeout-ms T] [--format value|json]
 *                        [--isolation read_committed|read_uncommitted]
 *
 * Without `--partition` it reads every partition of the topic. It starts at `--offset`, by default
 * `latest` — only records produced from now on, as kafka-console-consumer without --from-beginning;
 * `--offset earliest` is --from-beginning. A numeric offset needs `--partition`. `--from-time` starts
 * each partition at its first record whose timestamp is at or after the time.
 *
 * It stops after `--max-messages` records, or once `--timeout-ms` pass without a new record, or on
 * SIGINT/SIGTERM; otherwise it follows the topic forever. Before it starts, it waits for a broker to
 * answer for at most `--timeout-ms` (30 s without it) and fails naming the broker if none does; a
 * SIGINT or SIGTERM during that wait ends it at once (`strata: interrupted …`, exit 130: nothing was
 * read, so nothing is summed up or committed). Then it prints `consumed N records from
 * TOPIC ...` on stderr and exits 0.
 *
 * `--isolation` (both modes) is the consumer's: read_committed (the default, as kafkajs's) prints only
 * records of committed transactions and non-transactional ones, and stops short of an open
 * transaction until it ends; read_uncommitted prints every record, aborted ones included. 'latest' is
 * the last stable offset under read_committed. Transaction markers are never printed.
 *
 * `--format value` (default) prints each value as a line (`null` for none); `--format json` prints
 * one object per record, `{ topic, partition, offset, timestamp, key, value, headers }`, with key,
 * value and header values as UTF-8 strings (null when absent).
 *
 * Output keeps pace with its reader: each fetched batch is written with one write, and when stdout's
 * buffer is full the consumer waits for it to drain before taking the next batch (the client then
 * stops fetching, its buffer being bounded). The idle timer does not run while it waits. A reader
 * that goes away (`| head`) ends the command quietly with exit 0 (`backpressure.ts`).
 *
 * With `--group G` it reads as a member of consumer group G: the group's coordinator gives it some
 * (or all) of the topic's partitions, each starting at the group's committed offset, or — for a
 * partition the group never committed — at `--offset earliest|latest` (default latest). A record
 * counts as finished once it is written to stdout (after waiting for 'drain' if the buffer is full);
 * the next record is taken only then, and the consumer's auto-commit commits only finished records.
 * On the way out (`--max-messages`, `--timeout-ms`, SIGINT, SIGTERM) it commits what it printed and
 * leaves the group, so another member takes its partitions at once and continues exactly after the
 * last printed record; the summary on stderr says `…; committed and left group G`. `--partition`, a
 * numeric `--offset` and `--from-time` position by hand, which a group does not allow (usage error).
 * `--session-timeout-ms` sets how long the coordinator waits for a member that stopped heartbeating
 * (a `kill -9`) before moving its partitions; the broker's default (10 s) otherwise.
 */
import { parseArgs } from 'node:util';
import type { Consumer, ConsumerMessage, Isolation } from '../index.js';
import { drained, write } from './backpressure.js';
import { choiceFlag, createClient, expectPositionals, INTERRUPTED_EXIT_CODE, integerFlag, reachBroker, UsageError, type CommandContext } from './command-context.js';
import { SESSION_TIMEOUT_MS_MAX, SESSION_TIMEOUT_MS_MIN } from '../limits.js';
import { BROKER_WAIT_MS_DEFAULT, IDLE_TIMEOUT_MS_MAX } from './limits.js';
import { formatSummary } from './throughput.js';

export const CONSUME_USAGE = [
  '  strata consume TOPIC [--partition P] [--offset N|earliest|latest] [--from-time ISO8601|EPOCH_MS]',
  '                       [--max-messages N] [--timeout-ms T] [--format value|json]',
  '                       (default --offset latest: only new records; --offset earliest reads from the start)',
  '  strata consume TOPIC --group G [--session-timeout-ms T] [--offset earliest|latest] [--max-messages N]',
  '                       [--timeout-ms T] [--format value|json]',
  '                       (starts at the group\'s committed offsets; commits what it printed and leaves on exit)',
  '                       (both: [--isolation read_committed|read_uncommitted], default read_committed: no aborted records)',
].join('\n');

const USAGE_LINE = 'strata consume TOPIC [--group G] [--partition P] [--offset N|earliest|latest] [--from-time T] [--max-messages N] [--timeout-ms T] [--format value|json] [--isolation read_committed|read_uncommitted]';

type Start = { kind: 'offset'; offset: number | 'earliest' | 'latest' } | { kind: 'time'; timestamp: number };

export interface ConsumeOptions {
  topic: string;
  partition: number | undefined;
  start: Start;
  maxMessages: number | undefined;
  timeoutMs: number | undefined;
  format: 'value' | 'json';
  isolation: Isolation;
  /** With `--group`: the group and the member's session timeout (undefined: the broker's default). */
  group: { groupId: string; sessionTimeoutMs: number | undefined } | undefined;
}

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

/** Reads `strata consume`'s arguments; throws UsageError for anything it does not accept. */
export function parseConsumeArgs(argv: readonly string[]): ConsumeOptions {
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
      group: { type: 'string' },
      'session-timeout-ms': { type: 'string' },
      isolation: { type: 'string' },
    },
  });
  const [topic] = expectPositionals(positionals, 1, USAGE_LINE);
  const partition = integerFlag('partition', values.partition, 0);
  const maxMessages = integerFlag('max-messages', values['max-messages'], 1);
  const timeoutMs = integerFlag('timeout-ms', values['timeout-ms'], 1, IDLE_TIMEOUT_MS_MAX);
  const format = choiceFlag('format', values.format, ['value', 'json'], 'value');
  const isolation = choiceFlag('isolation', values.isolation, ['read_committed', 'read_uncommitted'], 'read_committed');
  if (values.offset !== undefined && values['from-time'] !== undefined) throw new UsageError('give --offset or --from-time, not both');
  let group: ConsumeOptions['group'];
  if (values.group !== undefined) {
    if (values.group.trim() === '') throw new UsageError('--group needs a group id');
    if (values.partition !== undefined) throw new UsageError('--partition does not go with --group: the group assigns the partitions');
    if (values['from-time'] !== undefined) throw new UsageError('--from-time does not go with --group: the group starts at its committed offsets');
    if (values.offset !== undefined && values.offset !== 'earliest' && values.offset !== 'latest') {
      throw new UsageError('a numeric --offset does not go with --group (use strata group reset-offsets); --offset earliest|latest applies where the group committed nothing');
    }
    group = { groupId: values.group, sessionTimeoutMs: integerFlag('session-timeout-ms', values['session-timeout-ms'], SESSION_TIMEOUT_MS_MIN, SESSION_TIMEOUT_MS_MAX) };
  } else if (values['session-timeout-ms'] !== undefined) {
    throw new UsageError('--session-timeout-ms needs --group');
  }
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
  return { topic: topic!, partition, start, maxMessages, timeoutMs, format, isolation, group };
}

export async function runConsumeCommand(argv: readonly string[], context: CommandContext): Promise<void> {
  const options = parseConsumeArgs(argv);
  if (options.group !== undefined) return consumeInGroup(options, options.group, context);
  const { topic, partition, start, maxMessages, format } = options;
  const waitMs = options.timeoutMs ?? BROKER_WAIT_MS_DEFAULT;
  const client = createClient(context, waitMs);
  const consumer = client.consumer({ initialOffset: start.kind === 'offset' && start.offset === 'earliest' ? 'earliest' : 'latest', isolation: options.isolation });
  const session = new ConsumeSession(consumer, options, context);
  try {
    await reachBroker(client, context.brokers, waitMs, session.interrupt);
    await consumer.assign(partition === undefined ? { topic } : [{ topic, partition }]);
    for (const tp of consumer.assignment()) {
      if (start.kind === 'time') consumer.seekToTimestamp({ ...tp, timestamp: start.timestamp });
      else if (typeof start.offset === 'number') consumer.seek({ ...tp, offset: start.offset });
    }
    session.armIdleTimer();
    if (!session.stopped) {
      await consumer.run({
        eachBatch: async ({ batch }) => {
          if (session.stopped) return;
          await session.print(maxMessages === undefined ? batch.messages : batch.messages.slice(0, maxMessages - session.consumed), format);
        },
      });
    }
    await session.drainStdout();
    context.stderr.write(`${formatSummary('consumed', session.consumed, 'from', topic, performance.now() - session.startedMs)}\n`);
  } finally {
    session.dispose();
    await client.close();
  }
}

/**
 * `consume --group`: one record at a time, each written (and drained) before the next is taken, so
 * the consumer's finished offsets — which auto-commit and `close()` commit — never pass what stdout
 * has. On the way out: commit, leave the group, then the summary.
 */
async function consumeInGroup(options: ConsumeOptions, group: NonNullable<ConsumeOptions['group']>, context: CommandContext): Promise<void> {
  const { topic, format } = options;
  const waitMs = options.timeoutMs ?? BROKER_WAIT_MS_DEFAULT;
  const client = createClient(context, waitMs);
  const consumer = client.consumer({
    groupId: group.groupId,
    isolation: options.isolation,
    ...(group.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: group.sessionTimeoutMs }),
  });
  const session = new ConsumeSession(consumer, options, context);
  try {
    await reachBroker(client, context.brokers, waitMs, session.interrupt);
    // A group may subscribe to a topic that is yet to be created; a command on a mistyped name must
    // say so instead of waiting in silence for records that never come.
    await client.topicMetadata(topic);
    await consumer.subscribe({ topics: [topic], fromBeginning: options.start.kind === 'offset' && options.start.offset === 'earliest' });
    session.armIdleTimer();
    if (!session.stopped) {
      // After stop() the consumer hands out nothing more; a record it did hand is printed, never dropped.
      await consumer.run({ eachMessage: ({ message }) => session.print([message], format) });
    }
    await session.drainStdout();
    // Commit here, where a failure is reported; close() then leaves the group.
    await consumer.commit();
    await consumer.close();
    context.stderr.write(`${formatSummary('consumed', session.consumed, 'from', topic, performance.now() - session.startedMs)}; committed and left group ${group.groupId}\n`);
  } finally {
    session.dispose();
    await client.close();
  }
}

/**
 * The stop rules of both modes: after `--max-messages`, after `--timeout-ms` without a new record
 * (time spent waiting for the reader of stdout does not count), or on SIGINT/SIGTERM; a second
 * signal while stopping exits at once (130), without committing.
 */
class ConsumeSession {
  readonly startedMs = performance.now();
  consumed = 0;
  stopped = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly interrupter = new AbortController();
  private readonly onSignal = () => {
    if (this.stopped) process.exit(INTERRUPTED_EXIT_CODE);
    this.interrupter.abort();
    this.stop();
  };

  /** Aborted by the first signal: ends a wait for a broker, which `stop()` alone would not. */
  get interrupt(): AbortSignal {
    return this.interrupter.signal;
  }

  constructor(
    private readonly consumer: Consumer,
    private readonly options: Pick<ConsumeOptions, 'maxMessages' | 'timeoutMs'>,
    private readonly context: CommandContext,
  ) {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  stop(): void {
    this.stopped = true;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    void this.consumer.stop();
  }

  armIdleTimer(): void {
    if (this.options.timeoutMs === undefined || this.stopped) return;
    if (this.idleTimer === undefined) this.idleTimer = setTimeout(() => this.stop(), this.options.timeoutMs);
    else this.idleTimer.refresh();
  }

  /** Writes the messages to stdout and waits while its reader is behind. */
  async print(messages: readonly ConsumerMessage[], format: ConsumeOptions['format']): Promise<void> {
    this.consumed += messages.length;
    const { maxMessages } = this.options;
    if (maxMessages !== undefined && this.consumed >= maxMessages) this.stop();
    let text = '';
    for (const message of messages) text += formatMessage(message, format);
    const waiting = write(this.context.stdout, text);
    if (waiting !== undefined) {
      // A cleared timer cannot be refreshed: arm a new one after the wait.
      if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
      await waiting;
    }
    this.armIdleTimer();
  }

  async drainStdout(): Promise<void> {
    const stdout = this.context.stdout as NodeJS.WritableStream & { writableLength?: number };
    if ((stdout.writableLength ?? 0) > 0) await drained(stdout);
  }

  dispose(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
