/**
 * What the fuzzer asks of the broker after each group of frames and at the end, through the real
 * client library (client/index.ts), as an application would use it:
 *
 * - `checkServesNormalClient`: a fresh client produces one record to a partition of each topic, reads
 *   each back at the offset the producer was given (same key and value), and finds the sentinel
 *   group's committed offsets unchanged (the fuzzer never names that group).
 * - `checkEveryPartitionReadable`: for every topic the broker lists and every partition of it, a
 *   record is produced (so the high watermark's last record is one no compaction removes; internal
 *   topics, which refuse produce, are read to their high watermark), then a plain consumer reads
 *   from the log start offset to that record, decoding every record on the way; offsets must rise
 *   strictly and start at or after the log start.
 *
 * Each step has a deadline, so a broker that stops answering fails the check instead of hanging it.
 * A failure throws an Error whose message says what broke; the fuzzer adds seed, frame and stderr.
 */
import { Client, type ConsumerMessage } from '../../client/index.js';
import { API_KEYS } from '../../client/protocol/index.js';

const STEP_TIMEOUT_MS = 30_000;

export const SENTINEL_GROUP = 'fz-sentinel';

export interface SentinelOffset {
  readonly topic: string;
  readonly partition: number;
  readonly committedOffset: number;
}

function withDeadline<T>(what: string, promise: Promise<T>, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export function normalClient(port: number): Client {
  return new Client({
    brokers: [`127.0.0.1:${port}`],
    clientId: 'fuzz-check',
    requestTimeoutMs: 10_000,
    connectTimeoutMs: 5_000,
    retry: { retries: 3, initialRetryTimeMs: 50, maxRetryTimeMs: 1000 },
  });
}

/** Commits the sentinel group's offsets from outside the group (member '', epoch -1). */
export async function commitSentinelOffsets(client: Client, offsets: readonly SentinelOffset[]): Promise<void> {
  const topics = [...new Set(offsets.map((o) => o.topic))].map((name) => ({
    name,
    partitions: offsets.filter((o) => o.topic === name).map((o) => ({ partition: o.partition, committedOffset: o.committedOffset, committedMetadata: 'sentinel' })),
  }));
  const response = await withDeadline('commit sentinel offsets', client.cluster.requestAny(API_KEYS.offsetCommit, { groupId: SENTINEL_GROUP, memberId: '', memberEpoch: -1, topics }));
  const failed = response.topics.flatMap((t) => t.partitions.filter((p) => p.errorCode !== 0).map((p) => `${t.name}-${p.partition}: ${p.errorCode}`));
  if (failed.length > 0) throw new Error(`sentinel commit failed: ${failed.join(', ')}`);
}

/** Reads the next message, or undefined when none comes within `timeoutMs`. */
async function nextMessage(iterator: AsyncIterator<ConsumerMessage>, timeoutMs: number): Promise<ConsumerMessage | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    const next = await Promise.race([iterator.next(), timeout]);
    if (next === undefined || next.done === true) return undefined;
    return next.value;
  } finally {
    clearTimeout(timer);
  }
}

/** One round trip per topic, and the sentinel offsets; `round` makes the keys unique. */
export async function checkServesNormalClient(port: number, topics: readonly string[], partitions: number, round: number, sentinel: readonly SentinelOffset[]): Promise<void> {
  const client = normalClient(port);
  try {
    const producer = client.producer({ acks: -1 });
    const partition = round % partitions;
    const sent = await Promise.all(topics.map(async (topic) => {
      const key = `check-${round}`;
      const value = `${topic}/${round}`;
      const [meta] = await withDeadline(`produce to ${topic}-${partition}`, producer.send({ topic, messages: [{ key, value, partition }] }));
      if (meta === undefined || meta.offset < 0) throw new Error(`produce to ${topic}-${partition} returned no offset`);
      return { topic, offset: meta.offset, key, value };
    }));
    const consumer = client.consumer({ maxWaitMs: 50 });
    try {
      await withDeadline('consumer assign', consumer.assign(sent.map(({ topic }) => ({ topic, partition }))));
      for (const s of sent) consumer.seek({ topic: s.topic, partition, offset: s.offset });
      const iterator = consumer[Symbol.asyncIterator]();
      const pending = new Map(sent.map((s) => [s.topic, s]));
      const deadline = Date.now() + STEP_TIMEOUT_MS;
      while (pending.size > 0) {
        const message = await nextMessage(iterator, Math.max(1, deadline - Date.now()));
        if (message === undefined) throw new Error(`consume: nothing read back from ${[...pending.keys()].join(', ')} (partition ${partition}) within ${STEP_TIMEOUT_MS} ms`);
        const expected = pending.get(message.topic);
        if (expected === undefined) continue;
        if (message.offset !== expected.offset || message.key?.toString() !== expected.key || message.value?.toString() !== expected.value) {
          throw new Error(`consume ${message.topic}-${partition}: read offset ${message.offset} key ${String(message.key)} value ${String(message.value)}, ` +
            `produced offset ${expected.offset} key ${expected.key} value ${expected.value}`);
        }
        pending.delete(message.topic);
      }
    } finally {
      await consumer.close();
    }
    await producer.close();
    const admin = client.admin();
    const committed = await withDeadline('fetch sentinel offsets', admin.fetchOffsets({ groupId: SENTINEL_GROUP }));
    for (const expected of sentinel) {
      const found = committed.find((c) => c.topic === expected.topic && c.partition === expected.partition);
      if (found?.committedOffset !== expected.committedOffset) {
        throw new Error(`sentinel group ${SENTINEL_GROUP} ${expected.topic}-${expected.partition}: committed ${found?.committedOffset ?? 'nothing'}, expected ${expected.committedOffset}`);
      }
    }
  } finally {
    await client.close();
  }
}

export interface ReadabilityReport {
  readonly partitions: number;
  readonly records: number;
}

/** Reads every partition of every topic from its log start to its (freshly produced) last record. */
export async function checkEveryPartitionReadable(port: number): Promise<ReadabilityReport> {
  const client = normalClient(port);
  let partitionsRead = 0;
  let records = 0;
  try {
    const admin = client.admin();
    const topics = await withDeadline('list topics', admin.listTopics());
    const producer = client.producer({ acks: -1 });
    for (const topic of topics.sort()) {
      const starts = await withDeadline(`log start offsets of ${topic}`, admin.listOffsets({ topic, timestamp: 'earliest' }));
      // Internal topics (`__consumer_offsets`) refuse produce: they are read up to what they hold.
      const internal = topic.startsWith('__');
      const ends = internal ? await withDeadline(`end offsets of ${topic}`, admin.listOffsets({ topic, timestamp: 'latest' })) : [];
      for (const { partition, offset: logStartOffset } of starts) {
        let lastOffset: number;
        if (internal) {
          lastOffset = (ends.find((e) => e.partition === partition)?.offset ?? 0) - 1;
          if (lastOffset < logStartOffset) continue;
        } else {
          const [meta] = await withDeadline(`produce the end marker to ${topic}-${partition}`,
            producer.send({ topic, messages: [{ key: `fz-end-${partition}`, value: 'end', partition }] }));
          if (meta === undefined) throw new Error(`end marker to ${topic}-${partition}: no offset`);
          lastOffset = meta.offset;
        }
        records += await readPartition(client, topic, partition, logStartOffset, lastOffset);
        partitionsRead++;
      }
    }
    await producer.close();
  } finally {
    await client.close();
  }
  return { partitions: partitionsRead, records };
}

async function readPartition(client: Client, topic: string, partition: number, logStartOffset: number, lastOffset: number): Promise<number> {
  const consumer = client.consumer({ maxWaitMs: 50, initialOffset: 'earliest' });
  const where = `${topic}-${partition} (log start ${logStartOffset}, last ${lastOffset})`;
  let read = 0;
  try {
    await withDeadline(`assign ${where}`, consumer.assign([{ topic, partition }]));
    consumer.seek({ topic, partition, offset: logStartOffset });
    const iterator = consumer[Symbol.asyncIterator]();
    let previous = logStartOffset - 1;
    const deadline = Date.now() + STEP_TIMEOUT_MS * 2;
    while (previous < lastOffset) {
      let message: ConsumerMessage | undefined;
      try {
        message = await nextMessage(iterator, Math.max(1, deadline - Date.now()));
      } catch (error) {
        throw new Error(`${where} not readable after offset ${previous}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      }
      if (message === undefined) throw new Error(`${where}: reading stalled after offset ${previous}`);
      if (message.offset <= previous) throw new Error(`${where}: offset ${message.offset} after ${previous}`);
      previous = message.offset;
      read++;
    }
  } finally {
    await consumer.close();
  }
  return read;
}
