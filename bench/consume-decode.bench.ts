/**
 * The consumer's decoding of a fetch on one core: a 1 MiB partition response (4 batches of 2,400
 * records with 100-byte values, what `perf produce --batch-size 262144` writes) turned into
 * consumer messages `{ topic, partition, offset, timestamp, key, value, headers }`, side by side:
 *
 * - `decodeBatches + copy`: the consumer before issue 3's consume work — every batch decoded to
 *   `Record`s, each copied into a message with a new `headers` object, the whole fetch at once;
 * - `decodeBatchInto`: what `client/consumer.ts` does now — batch by batch, each record built
 *   straight into its message by a factory, records without headers sharing one frozen object.
 *
 * Target: >= 4,000,000 records/s for `decodeBatchInto`, so decoding takes at most half of the
 * 500 ns a record that `strata perf consume` at 2,000,000 records/s leaves for the whole consumer.
 * Both include the CRC-32C over each batch (`crc32c.bench.ts`).
 */
import os from 'node:os';
import { Bench } from 'tinybench';
import { opsPerSecond } from './task-rate.js';
import { decodeBatchInto, decodeBatches, encodeBatch, type RecordFactory } from '../log/record-batch.js';
import type { BenchContext, Figure } from './run.js';
import type { ConsumerMessage } from '../client/index.js';

const BATCHES = 4;
const RECORDS_PER_BATCH = 2400;
const VALUE_BYTES = 100;
const TIME_MS = 1500;
const TARGET = 4_000_000;

type Message = ConsumerMessage;

const NO_HEADERS: { readonly [key: string]: Buffer | null } = Object.freeze({});

const toMessage: RecordFactory<Message> = (offset, timestamp, key, value, recordHeaders) => {
  let headers = NO_HEADERS as { [key: string]: Buffer | null };
  if (recordHeaders.length > 0) {
    headers = {};
    for (const h of recordHeaders) headers[h.key] = h.value;
  }
  return { topic: 'bench', partition: 0, offset, timestamp, key, value, headers };
};

function fetchResponse(): Buffer {
  const now = Date.now();
  const value = Buffer.alloc(VALUE_BYTES, 'x');
  const batches = Array.from({ length: BATCHES }, (_, b) =>
    encodeBatch(
      Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({ key: null, value, timestamp: now + i })),
      { baseOffset: b * RECORDS_PER_BATCH },
    ),
  );
  return Buffer.concat(batches);
}

/** Keeps results alive so the JIT cannot drop the work. */
let sink = 0;

export async function run(context?: BenchContext): Promise<Figure[]> {
  const scale = context?.scale ?? 1;
  const fetched = fetchResponse();
  const records = BATCHES * RECORDS_PER_BATCH;
  console.log(`machine:  ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, node ${process.version}, one core`);
  console.log(`workload: one fetch of ${fetched.length} bytes, ${BATCHES} batches x ${RECORDS_PER_BATCH} records x ${VALUE_BYTES}-byte values`);
  console.log(`target:   decodeBatchInto >= ${TARGET.toLocaleString('en-US')} records/s`);

  const bench = new Bench({ time: Math.max(100, TIME_MS * scale), warmupTime: Math.max(50, 300 * scale) });
  bench
    .add('decodeBatches + copy', () => {
      const messages: Message[] = [];
      for (const { records: decoded } of decodeBatches(fetched)) {
        for (const r of decoded) {
          const headers: { [key: string]: Buffer | null } = {};
          for (const h of r.headers) headers[h.key] = h.value;
          messages.push({ topic: 'bench', partition: 0, offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers });
        }
      }
      sink += messages.length;
    })
    .add('decodeBatchInto', () => {
      let pos = 0;
      while (pos < fetched.length) {
        const messages: Message[] = [];
        pos += decodeBatchInto(fetched, pos, toMessage, messages).sizeBytes;
        sink += messages.length;
      }
    });
  await bench.run();

  const rows = bench.tasks.map((task) => ({
    task: task.name,
    'records/s': Math.round(opsPerSecond(task) * records).toLocaleString('en-US'),
    'ns/record': (1e9 / (opsPerSecond(task) * records)).toFixed(0),
  }));
  console.table(rows);
  if (sink === 42) console.log('');

  const rate = opsPerSecond(bench.getTask('decodeBatchInto')) * records;
  return [{ name: 'fetch to messages, 100-byte values', value: rate, unit: 'records/s', target: `>= ${TARGET.toLocaleString('en-US')}`, met: rate >= TARGET }];
}
