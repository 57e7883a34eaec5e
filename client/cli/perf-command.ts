/**
 * `strata perf produce | consume`: end-to-end throughput and latency through the client library,
 * like Kafka's `kafka-producer-perf-test.sh` and `kafka-consumer-perf-test.sh`.
 *
 *   strata perf produce --topic T --records N --record-size BYTES [--acks 0|1|all] [--compression lz4|none]
 *                       [--throughput RECORDS_PER_SEC] [--batch-size BYTES] [--linger-ms MS] [--warmup-records W]
 *                       [--idempotent true|false] [--transaction-records N [--transactional-id ID]]
 *   strata perf consume --topic T --records N [--timeout-ms T]
 *
 * perf produce sends N keyless records of BYTES random letters (one payload for all, as Kafka's tool
 * does; lz4 therefore compresses it well). At full speed it hands them to the producer in sends of
 * about `PERF_SEND_BYTES` (one record per send for larger records) — per-record sends cost the
 * client more CPU than the broker needs per record — and keeps at most the send window unacknowledged.
 * The window holds two batches per partition (one in flight, one filling: the producer keeps one
 * batch per partition in flight while it may retry) and never less than `PENDING_BYTES_MAX`.
 *
 * `--throughput R` paces the run like Kafka's `--throughput`: record i is handed over no earlier than
 * i/R seconds after the start, one record per send, so latencies are those of a steady load rather
 * than of a saturated one. When the producer cannot keep up the window fills and the rate falls
 * below R (the summary prints the rate achieved). `--batch-size` and `--linger-ms` set the
 * producer's `batchSize` and `lingerMs` (like Kafka's `--producer-props batch.size=… linger.ms=…`);
 * `--idempotent false` turns the idempotent producer off (on by default with acks all).
 * `--transaction-records N` produces through a transactional producer, N records a transaction, and
 * reports commit latency (`perf-transactions.ts`); `--transactional-id` names it (a fresh id by default).
 * `--warmup-records W` (Kafka's, KIP-1052) sends the first W of the N records as a warm-up — the
 * JIT compiling the hot paths, connections opening, the first batches — and reports rate and
 * latencies of the other N - W only, timed from the send of record W.
 *
 * A record's latency runs from its `send` call to the resolution of that send (the
 * acknowledgement, or with acks=0 the write to the socket), so it includes the time spent in the
 * producer's batches (linger) and requests in flight. Every latency is kept and the percentiles are
 * exact (`latency-percentiles.ts`). MB/s counts value bytes; MB is 10^6 bytes.
 *
 * perf consume reads the topic from the earliest offset of every partition until N records arrived,
 * and fails if `--timeout-ms` (default 10 s) pass without a new record before that.
 *
 * Both first wait for a broker to answer, for at most `--timeout-ms` (perf produce: 30 s by default),
 * and fail naming the broker if none does.
 *
 * While running, a progress line goes to stderr once a second when stderr is a terminal; the summary
 * is one line on stdout.
 */
import { parseArgs } from 'node:util';
import { acksFlag, brokerWaitFlag, choiceFlag, integerFlag, UsageError, withClient, type CommandContext } from './command-context.js';
import { formatLatencies, summarizeLatencies } from './latency-percentiles.js';
import {
  IDLE_TIMEOUT_MS_MAX,
  PENDING_BYTES_MAX,
  PENDING_RECORDS_MAX,
  PERF_BATCH_BYTES_MAX,
  PERF_LINGER_MS_MAX,
  PERF_RECORD_BYTES_MAX,
  PERF_RECORDS_MAX,
  PERF_SEND_BYTES,
  PERF_THROUGHPUT_MAX,
  PERF_WINDOW_BATCHES_PER_PARTITION,
} from './limits.js';
import { perfTransactions } from './perf-transactions.js';
import { SendWindow } from './send-window.js';
import { formatByteRate, formatCount, formatRecordRate, formatSeconds } from './throughput.js';

export const PERF_USAGE = [
  '  strata perf produce --topic T --records N --record-size BYTES [--acks 0|1|all] [--compression lz4|none]',
  '                      [--throughput RECORDS_PER_SEC] [--batch-size BYTES] [--linger-ms MS] [--warmup-records W]',
  '                      [--idempotent true|false] [--transaction-records N [--transactional-id ID]]',
  '                      [--timeout-ms T]',
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
      throughput: { type: 'string' },
      'batch-size': { type: 'string' },
      'linger-ms': { type: 'string' },
      'warmup-records': { type: 'string' },
      idempotent: { type: 'string' },
      'transaction-records': { type: 'string' },
      'transactional-id': { type: 'string' },
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
    const waitMs = brokerWaitFlag(values['timeout-ms']);
    const recordBytes = integerFlag('record-size', values['record-size'], 0, PERF_RECORD_BYTES_MAX);
    if (recordBytes === undefined) throw new UsageError('perf produce needs --record-size');
    const acks = acksFlag(values.acks);
    const compression = choiceFlag('compression', values.compression, ['none', 'lz4'], 'none');
    const throughput = integerFlag('throughput', values.throughput, 1, PERF_THROUGHPUT_MAX);
    const batchSize = integerFlag('batch-size', values['batch-size'], 1, PERF_BATCH_BYTES_MAX);
    const lingerMs = integerFlag('linger-ms', values['linger-ms'], 0, PERF_LINGER_MS_MAX);
    const warmupRecords = integerFlag('warmup-records', values['warmup-records'], 0, records - 1) ?? 0;
    const idempotent = values.idempotent === undefined ? undefined : choiceFlag('idempotent', values.idempotent, ['true', 'false'], 'true') === 'true';
    const transactionRecords = integerFlag('transaction-records', values['transaction-records'], 1, records);
    if (transactionRecords === undefined && values['transactional-id'] !== undefined) throw new UsageError('--transactional-id needs --transaction-records');
    if (transactionRecords !== undefined) {
      for (const flag of ['acks', 'compression', 'throughput', 'batch-size', 'linger-ms', 'idempotent'] as const) {
        if (values[flag] !== undefined) throw new UsageError(`--${flag} does not apply with --transaction-records (a transactional producer: idempotent, acks all, the defaults)`);
      }
      const payload = randomPayload(recordBytes);
      const transactionalId = values['transactional-id'];
      return withClient(context, (client) =>
        perfTransactions(client, context, { topic, records, recordBytes, payload, transactionRecords, warmupRecords, ...(transactionalId === undefined ? {} : { transactionalId }) }),
      waitMs);
    }
    return perfProduce(context, {
      topic,
      records,
      recordBytes,
      acks,
      compression,
      ...(throughput === undefined ? {} : { throughput }),
      ...(batchSize === undefined ? {} : { batchSize }),
      ...(lingerMs === undefined ? {} : { lingerMs }),
      ...(idempotent === undefined ? {} : { idempotent }),
      warmupRecords,
      waitMs,
    });
  }
  for (const flag of ['record-size', 'acks', 'compression', 'throughput', 'batch-size', 'linger-ms', 'warmup-records', 'idempotent', 'transaction-records', 'transactional-id'] as const) {
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
  /** Records per second; unpaced when absent. */
  throughput?: number;
  /** The first records, left out of the summary. */
  warmupRecords: number;
  /** How long to wait for a broker to answer. */
  waitMs: number;
  batchSize?: number;
  lingerMs?: number;
  /** The producer's `idempotent`; its default when absent. */
  idempotent?: boolean;
}

/** The producer's default batch size (client/config.ts), for sizing the window when --batch-size is absent. */
const PRODUCER_BATCH_BYTES_DEFAULT = 16 * 1024;
/** The producer's default buffer memory (client/config.ts). */
const PRODUCER_BUFFER_BYTES_DEFAULT = 32 * 1024 * 1024;

/** Sleeps at least `ms` (timers have a 1 ms granularity). */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function perfProduce(context: CommandContext, options: PerfProduceOptions): Promise<void> {
  const { topic, records, recordBytes, throughput } = options;
  const payload = randomPayload(recordBytes);
  const latencies = new Float64Array(records);
  let acknowledged = 0;
  let acknowledgedLatencyMs = 0;
  await withClient(context, async (client) => {
    const metadata = await client.topicMetadata(topic);
    const batchBytes = options.batchSize ?? PRODUCER_BATCH_BYTES_DEFAULT;
    const windowBytes = Math.max(PENDING_BYTES_MAX, PERF_WINDOW_BATCHES_PER_PARTITION * metadata.partitions.length * batchBytes);
    const windowRecords = Math.max(PENDING_RECORDS_MAX, Math.ceil(windowBytes / Math.max(1, recordBytes)));
    const producer = client.producer({
      acks: options.acks,
      compression: options.compression,
      // The window must fit in the buffer, so that a send never waits for memory the window holds.
      bufferMemory: Math.max(PRODUCER_BUFFER_BYTES_DEFAULT, 2 * windowBytes),
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      ...(options.lingerMs === undefined ? {} : { lingerMs: options.lingerMs }),
      ...(options.idempotent === undefined ? {} : { idempotent: options.idempotent }),
    });
    const window = new SendWindow(windowRecords, windowBytes);
    // Paced runs send one record at a time, as Kafka's tool does, so no record waits for others.
    const group = throughput !== undefined ? 1 : Math.max(1, Math.floor(PERF_SEND_BYTES / Math.max(1, recordBytes)));
    const messages = Array.from({ length: group }, () => ({ value: payload }));
    let sent = 0;
    let last = { atMs: performance.now(), acknowledged: 0, latencyMs: 0 };
    const stopProgress = startProgress(context, () => {
      const now = { atMs: performance.now(), acknowledged, latencyMs: acknowledgedLatencyMs };
      const ms = now.atMs - last.atMs;
      const count = now.acknowledged - last.acknowledged;
      const sum = now.latencyMs - last.latencyMs;
      last = now;
      return `${formatCount(acknowledged)} of ${formatCount(records)} records, ${formatRecordRate(count, ms)}, ${formatByteRate(count * recordBytes, ms)}, avg latency ${count === 0 ? '-' : (sum / count).toFixed(2)} ms`;
    });
    const startedMs = performance.now();
    // When record `warmupRecords` was handed over: the summary's clock starts there.
    let measuredFromMs = startedMs;
    // Records that may be sent by now: all of them unpaced; with --throughput R, record i is due i/R s in.
    const dueBy = (nowMs: number): number =>
      throughput === undefined ? records : Math.min(records, Math.floor(((nowMs - startedMs) * throughput) / 1000) + 1);
    try {
      while (sent < records && window.failure === undefined) {
        let due = dueBy(performance.now());
        if (sent >= due) {
          await sleep(((sent * 1000) / throughput!) - (performance.now() - startedMs));
          continue;
        }
        const count = Math.min(group, due - sent);
        await window.admit(count, count * recordBytes);
        if (window.failure !== undefined) break;
        // Fill the window without awaiting between sends; admit waits only when it is full.
        for (;;) {
          const count = Math.min(group, due - sent, options.warmupRecords > sent ? options.warmupRecords - sent : group);
          const first = sent;
          const sentAtMs = performance.now();
          if (first === options.warmupRecords) measuredFromMs = sentAtMs;
          const sending = producer.send({ topic, messages: count === group ? messages : messages.slice(0, count) });
          sending.then(
            () => {
              const latencyMs = performance.now() - sentAtMs;
              // Indexed by send order, so that the warm-up is exactly the first records.
              latencies.fill(latencyMs, first, first + count);
              acknowledged += count;
              acknowledgedLatencyMs += latencyMs * count;
            },
            () => undefined,
          );
          window.track(sending, count, count * recordBytes);
          sent += count;
          if (sent >= due && throughput !== undefined) due = dueBy(performance.now());
          if (sent >= due) break;
          const next = Math.min(group, due - sent);
          if (!window.hasRoom(next, next * recordBytes)) break;
        }
      }
      await window.settle();
    } finally {
      stopProgress();
    }
    const elapsedMs = performance.now() - measuredFromMs;
    if (window.failure !== undefined) throw window.failure;
    const measured = records - options.warmupRecords;
    const latency = summarizeLatencies(latencies.subarray(options.warmupRecords, records));
    const settings = [
      `acks=${options.acks === -1 ? 'all' : options.acks}`,
      options.compression,
      ...(throughput === undefined ? [] : [`throughput=${throughput}/s`]),
      ...(options.batchSize === undefined ? [] : [`batch-size=${options.batchSize}`]),
      ...(options.lingerMs === undefined ? [] : [`linger-ms=${options.lingerMs}`]),
      ...(options.idempotent === undefined ? [] : [`idempotent=${options.idempotent}`]),
      ...(options.warmupRecords === 0 ? [] : [`after ${options.warmupRecords} warm-up records`]),
    ].join(', ');
    context.stdout.write(
      `perf produce: ${measured} records of ${recordBytes} B to ${topic} (${settings}) in ${formatSeconds(elapsedMs)}: ` +
        `${formatRecordRate(measured, elapsedMs)}, ${formatByteRate(measured * recordBytes, elapsedMs)}, ${formatLatencies(latency)}\n`,
    );
  }, options.waitMs);
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
  }, timeoutMs);
}
