/**
 * The producer's per-record path on one core, without the network: records appended to the
 * `RecordAccumulator` (estimate, reserve, append), the batches drained and encoded with
 * `encodeBatchColumns`, their memory released — what `producer.send` costs per record besides its
 * per-send promises. Beside it, the path it replaced: one `RecordInput` object per record, encoded
 * with `encodeBatch`.
 *
 * Target: >= 3,000,000 records/s for 100-byte values, so that a producer reaching the 1,000,000
 * records/s of issue 3 spends a third of a core here and leaves the rest to the socket and its
 * promises (the broker shares the machine's other core).
 *
 * Workload: keyless 100-byte values, 160 records per send (16 KiB, what `strata perf produce` hands
 * over), 256 KiB batches on one partition.
 */
import os from 'node:os';
import { Bench } from 'tinybench';
import { encodeBatch, encodeBatchColumns, type RecordInput } from '../log/index.js';
import { RecordAccumulator, estimateRecordBytes } from '../client/record-accumulator.js';
import { opsPerSecond } from './task-rate.js';
import type { BenchContext, Figure } from './run.js';

const VALUE_BYTES = 100;
const RECORDS_PER_SEND = 160;
const SENDS_PER_ROUND = 64;
const BATCH_BYTES = 256 * 1024;
const TIME_MS = 1500;
const TARGET = 3_000_000;

let sink = 0;

export async function run(context?: BenchContext): Promise<Figure[]> {
  const scale = context?.scale ?? 1;
  const value = Buffer.alloc(VALUE_BYTES, 'x');
  const messages = Array.from({ length: RECORDS_PER_SEND }, () => ({ value }));
  const records = RECORDS_PER_SEND * SENDS_PER_ROUND;
  console.log(`machine:  ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, node ${process.version}, one core`);
  console.log(`workload: ${records} records of ${VALUE_BYTES} B per round, in sends of ${RECORDS_PER_SEND}, batches of ${BATCH_BYTES} B`);
  console.log(`target:   accumulate + encode >= ${TARGET.toLocaleString('en-US')} records/s`);

  const accumulator = new RecordAccumulator({ batchSizeBytes: BATCH_BYTES, lingerMs: 0, bufferMemoryBytes: 64 * 1024 * 1024, onePerPartitionInFlight: false });
  const all = (): boolean => true;
  const bench = new Bench({ time: Math.max(100, TIME_MS * scale), warmupTime: Math.max(50, 300 * scale) });
  bench
    .add('accumulate + encodeBatchColumns', () => {
      const nowMs = Date.now();
      for (let s = 0; s < SENDS_PER_ROUND; s++) {
        for (const message of messages) {
          const bytes = estimateRecordBytes(message);
          accumulator.tryReserve(bytes);
          sink += accumulator.append('t', 0, message, bytes, nowMs).index;
        }
      }
      for (const batch of accumulator.drain(nowMs, true, all)) {
        sink += encodeBatchColumns(batch).length;
        accumulator.complete(batch);
      }
    })
    .add('RecordInput per record + encodeBatch', () => {
      const nowMs = Date.now();
      let batch: RecordInput[] = [];
      let bytesInBatch = 0;
      for (let s = 0; s < SENDS_PER_ROUND; s++) {
        for (const message of messages) {
          const input: RecordInput = { key: null, value: message.value, timestamp: nowMs };
          const bytes = estimateRecordBytes(input);
          if (bytesInBatch + bytes > BATCH_BYTES) {
            sink += encodeBatch(batch).length;
            batch = [];
            bytesInBatch = 0;
          }
          batch.push(input);
          bytesInBatch += bytes;
        }
      }
      if (batch.length > 0) sink += encodeBatch(batch).length;
    });
  await bench.run();

  const rows = bench.tasks.map((task) => ({
    task: task.name,
    'records/s': Math.round(opsPerSecond(task) * records).toLocaleString('en-US'),
    'MB/s (values)': ((opsPerSecond(task) * records * VALUE_BYTES) / 1e6).toFixed(0),
  }));
  console.table(rows);
  if (sink === 42) console.log('');
  const rate = opsPerSecond(bench.getTask('accumulate + encodeBatchColumns')) * records;
  return [{ name: 'accumulate + encode, 100-byte values', value: rate, unit: 'records/s', target: `>= ${TARGET.toLocaleString('en-US')}`, met: rate >= TARGET }];
}
