/**
 * `strata perf produce | consume`: end-to-end throughput and latency through the client library,
 * like Kafka's `kafka-producer-perf-test.sh` and `kafka-consumer-perf-test.sh`.
 *
 *   strata perf produce --topic T --records N --record-size BYTES [--acks 0|1|all] [--compression lz4|none]
 *   strata perf consume --topic T --records N [--timeout-ms T]
 *
 * perf produce sends N keyless records of BYTES random letters (one payload for all, as Kafka's tool
 * does; lz4 therefore compresses it well). It hands them to the producer in sends of about 4 KiB
 * (`PERF_SEND_BYTES`; one record per send for larger records) — per-record sends cost the client
 * more CPU than the broker needs per record — and keeps at most the send window (`limits.ts`)
 * unacknowledged. A record's latency runs from its `send` call to the resolution of that send (the
 * acknowledgement, or with acks=0 the write to the socket), so it includes the time spent in the
 * producer's batches (linger) and requests in flight. Every latency is kept and the percentiles are
 * exact (`latency-percentiles.ts`). MB/s counts value bytes; MB is 10^6 bytes.
 *
 * perf consume reads the topic from the earliest offset of every partition until N records arrived,
 * and fails if `--timeout-ms` (default 10 s) pass without a new record before that.
 *
 * While running, a progress line goes to stderr once a second when stderr is a terminal; the summary
 * is one line on stdout.
 */
import { parseArgs } from 'node:util';
import { acksFlag, choiceFlag, integerFlag, UsageError, withClient, type CommandContext } from './command-context.js';
import { formatLatencies, summarizeLatencies } from './latency-percentiles.js';
import { IDLE_TIMEOUT_MS_MAX, PENDING_BYTES_MAX, PENDING_RECORDS_MAX, PERF_RECORD_BYTES_MAX, PERF_SEND_BYTES, PERF_RECORDS_MAX } from './limits.js';
import { SendWindow } from './send-window.js';
import { formatByteRate, formatCount, formatRecordRate, formatSeconds } from './throughput.js';

export const PERF_USAGE = [
  '  strata perf produce --topic T --records N --record-size BYTES [--acks 0|1|all] [--compression lz4|none]',
  '  strata perf consume --topic T --records N [--timeout-ms T]',
].join('\n');

const PROGRESS_INTERVAL_MS = 1000;
const PERF_CONSUME_TIMEOUT_MS_DEFAULT = 10_000;

export async function runPerfCommand(argv: readonly string[], context: CommandContext): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      topic: { type: 'string' },
      records: { type: 'string' },
      'record-size': { type: 'string' },
      acks: { type: 'string' },
      compression: { type: 'string' },
      'timeout-ms': { type: 'string' },
    },
  });
  const [verb, ...rest] = positionals;
  if ((verb !== 'produce' && verb !== 'consume') || rest.length > 0) {
    throw new UsageError(`unknown command 'perf ${positionals.join(' ')}'; try perf produce or perf consume`);
  }
  const topic = values.topic;
  if (topic === undefined) throw new UsageError(`perf ${verb} needs --topic`);
  const records = integerFlag('records', values.records, 1, PERF_RECORDS_MAX);
  if (records === undefined) throw new UsageError(`perf ${verb} needs --records`);
  if (verb === 'produce') {
    if (values['timeout-ms'] !== undefined) throw new UsageError('--timeout-ms does not apply to perf produce');
    const recordBytes = integerFlag('record-size', values['record-size'], 0, PERF_RECORD_BYTES_MAX);
    if (recordBytes === undefined) throw new UsageError('perf produce needs --record-size');
    const acks = acksFlag(values.acks);
    const compression = choiceFlag('compression', values.compression, ['none', 'lz4'], 'none');
    return perfProduce(context, { topic, records, recordBytes, acks, compression });
  }
  for (const flag of ['record-size', 'acks', 'compression'] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} does not apply to perf consume`);
  }
  const timeoutMs = integerFlag('timeout-ms', values['timeout-ms'], 1, IDLE_TIMEOUT_MS_MAX) ?? PERF_CONSUME_TIMEOUT_MS_DEFAULT;
  return perfConsume(context, { topic, records, timeoutMs });
}

/** Random capital letters, like Kafka's perf tool, so the records are printable. */
function randomPayload(bytes: number): Buffer {
  const payload = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i++) payload[i] = 65 + Math.floor(Math.random() * 26);
  return payload;
}

/** Prints what happened in each second on stderr, when stderr is a terminal. */
function startProgress(context: CommandContext, line: () => string): () => void {
  if (context.stderr.isTTY !== true) return () => undefined;
  const timer = setInterval(() => context.stderr.write(`${line()}\n`), PROGRESS_INTERVAL_MS);
  return () => clearInterval(timer);
}

interface PerfProduceOptions {
  topic: string;
  records: number;
  recordBytes: number;
  acks: 0 | 1 | -1;
  compression: 'none' | 'lz4';
}

async function perfProduce(context: CommandContext, options: PerfProduceOptions): Promise<void> {
  const { topic, records, recordBytes } = options;
  const payload = randomPayload(recordBytes);
  const latencies = new Float64Array(records);
  let acknowledged = 0;
  await withClient(context, async (client) => {
    await client.topicMetadata(topic);
    const producer = client.producer({ acks: options.acks, compression: options.compression });
    const window = new SendWindow(PENDING_RECORDS_MAX, PENDING_BYTES_MAX);
    const group = Math.max(1, Math.floor(PERF_SEND_BYTES / Math.max(1, recordBytes)));
    const messages = Array.from({ length: group }, () => ({ value: payload }));
    let sent = 0;
    let last = { atMs: performance.now(), acknowledged: 0 };
    const stopProgress = startProgress(context, () => {
      const now = { atMs: performance.now(), acknowledged };
      const ms = now.atMs - last.atMs;
      const count = now.acknowledged - last.acknowledged;
      let sum = 0;
      for (let i = last.acknowledged; i < now.acknowledged; i++) sum += latencies[i]!;
      last = now;
      return `${formatCount(acknowledged)} of ${formatCount(records)} records, ${formatRecordRate(count, ms)}, ${formatByteRate(count * recordBytes, ms)}, avg latency ${count === 0 ? '-' : (sum / count).toFixed(2)} ms`;
    });
    const startedMs = performance.now();
    try {
      while (sent < records && window.failure === undefined) {
        const count = Math.min(group, records - sent);
        await window.admit(count, count * recordBytes);
        if (window.failure !== undefined) break;
        // Fill the window without awaiting between sends; admit waits only when it is full.
        do {
          const count = Math.min(group, records - sent);
          const sentAtMs = performance.now();
          const sending = producer.send({ topic, messages: count === group ? messages : messages.slice(0, count) });
          sending.then(
            () => {
              const latencyMs = performance.now() - sentAtMs;
              latencies.fill(latencyMs, acknowledged, acknowledged + count);
              acknowledged += count;
            },
            () => undefined,
          );
          window.track(sending, count, count * recordBytes);
          sent += count;
        } while (sent < records && window.hasRoom(Math.min(group, records - sent), Math.min(group, records - sent) * recordBytes));
      }
      await window.settle();
    } finally {
      stopProgress();
    }
    const elapsedMs = performance.now() - startedMs;
    if (window.failure !== undefined) throw window.failure;
    const latency = summarizeLatencies(latencies.subarray(0, acknowledged));
    context.stdout.write(
      `perf produce: ${records} records of ${recordBytes} B to ${topic} (acks=${options.acks === -1 ? 'all' : options.acks}, ${options.compression}) in ${formatSeconds(elapsedMs)}: ` +
        `${formatRecordRate(records, elapsedMs)}, ${formatByteRate(records * recordBytes, elapsedMs)}, ${formatLatencies(latency)}\n`,
    );
  });
}

async function perfConsume(context: CommandContext, options: { topic: string; records: number; timeoutMs: number }): Promise<void> {
  const { topic, records, timeoutMs } = options;
  await withClient(context, async (client) => {
    const consumer = client.consumer({ initialOffset: 'earliest' });
    let consumed = 0;
    let bytes = 0;
    let timedOut = false;
    let last = { atMs: performance.now(), consumed: 0, bytes: 0 };
    const stopProgress = startProgress(context, () => {
      const now = { atMs: performance.now(), consumed, bytes };
      const line = `${formatCount(consumed)} of ${formatCount(records)} records, ${formatRecordRate(now.consumed - last.consumed, now.atMs - last.atMs)}, ${formatByteRate(now.bytes - last.bytes, now.atMs - last.atMs)}`;
      last = now;
      return line;
    });
    const startedMs = performance.now();
    let finishedMs = startedMs;
    const idleTimer = setTimeout(() => {
      timedOut = true;
      void consumer.stop();
    }, timeoutMs);
    try {
      await consumer.assign({ topic });
      await consumer.run({
        eachBatch: ({ batch }) => {
          idleTimer.refresh();
          for (const message of batch.messages) {
            if (consumed === records) break;
            consumed++;
            bytes += (message.value?.length ?? 0) + (message.key?.length ?? 0);
          }
          if (consumed === records) {
            finishedMs = performance.now();
            void consumer.stop();
          }
        },
      });
    } finally {
      clearTimeout(idleTimer);
      stopProgress();
    }
    if (timedOut && consumed < records) {
      throw new Error(`perf consume: ${consumed} of ${records} records from ${topic}, then nothing for ${timeoutMs} ms`);
    }
    const elapsedMs = finishedMs - startedMs;
    context.stdout.write(
      `perf consume: ${records} records (${(bytes / 1e6).toFixed(2)} MB) from ${topic} in ${formatSeconds(elapsedMs)}: ` +
        `${formatRecordRate(records, elapsedMs)}, ${formatByteRate(bytes, elapsedMs)}\n`,
    );
  });
}
