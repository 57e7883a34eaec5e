/**
 * The record codec (`log/record-batch.ts`) on one core: encode and decode a batch of 160 records with
 * 100-byte values (about 17 KiB, Kafka's default `batch.size` of 16 KiB), uncompressed and lz4.
 * Targets: encode >= 2,000,000 records/s and decode >= 3,000,000 records/s, uncompressed, so that
 * a producer or consumer spends well under a microsecond per record in Strata's codec.
 *
 * Beside them, what the broker saves by never decoding records on its hot path: `validateBatch`
 * (header checks and a CRC-32C over the batch, what append does) against `decodeBatch` on the same
 * batch. Validation is bound by CRC-32C speed (`crc32c.bench.ts`), decoding by per-record work.
 *
 * Workload: keyless records (a producer's common case) with explicit timestamps and no headers;
 * values are words drawn from a small vocabulary, so lz4 sees text that compresses about 3:1 rather
 * than random bytes (which it would store raw) or zeros (which it would erase).
 */
import os from 'node:os';
import { Bench } from 'tinybench';
import { opsPerSecond } from './task-rate.js';
import { validateBatch } from '../log/batch-header.js';
import { MAX_BATCH_BYTES_CEILING } from '../log/limits.js';
import { decodeBatch, encodeBatch, type RecordInput } from '../log/record-batch.js';
import type { BenchContext, Figure } from './run.js';

const RECORDS_PER_BATCH = 160;
const VALUE_BYTES = 100;
const TIME_MS = 1500;
const ENCODE_TARGET = 2_000_000;
const DECODE_TARGET = 3_000_000;

const WORDS = ['order', 'user', 'id', 'amount', 'status', 'paid', 'shipped', 'eu-west', 'sku', '{', '}', ':', ','];

/** A deterministic value of exactly VALUE_BYTES bytes of word soup. */
function value(seed: number): Buffer {
  let text = '';
  let x = seed * 2654435761;
  while (text.length < VALUE_BYTES) {
    x = (x * 1103515245 + 12345) >>> 0;
    text += WORDS[x % WORDS.length] + ' ';
  }
  return Buffer.from(text.slice(0, VALUE_BYTES));
}

function records(): RecordInput[] {
  const now = Date.now();
  return Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({ key: null, value: value(i), timestamp: now + i }));
}


/** Keeps results alive so the JIT cannot drop the work. */
let sink = 0;

export async function run(context?: BenchContext): Promise<Figure[]> {
  const scale = context?.scale ?? 1;
  const input = records();
  const none = encodeBatch(input, { compression: 'none' });
  const lz4 = encodeBatch(input, { compression: 'lz4' });
  console.log(`machine:  ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, node ${process.version}, one core`);
  console.log(
    `workload: ${RECORDS_PER_BATCH} records x ${VALUE_BYTES}-byte values per batch; batch ${none.length} bytes uncompressed, ${lz4.length} bytes lz4`,
  );
  console.log(`targets:  encode >= ${ENCODE_TARGET.toLocaleString('en-US')} records/s, decode >= ${DECODE_TARGET.toLocaleString('en-US')} records/s (uncompressed)`);

  const bench = new Bench({ time: Math.max(100, TIME_MS * scale), warmupTime: Math.max(50, 300 * scale) });
  bench
    .add('encode none', () => {
      sink += encodeBatch(input, { compression: 'none' }).length;
    })
    .add('decode none', () => {
      sink += decodeBatch(none).records.length;
    })
    .add('encode lz4', () => {
      sink += encodeBatch(input, { compression: 'lz4' }).length;
    })
    .add('decode lz4', () => {
      sink += decodeBatch(lz4).records.length;
    })
    .add('validate none', () => {
      sink += validateBatch(none, 0, none.length, MAX_BATCH_BYTES_CEILING, true).recordsCount;
    })
    .add('validate lz4', () => {
      sink += validateBatch(lz4, 0, lz4.length, MAX_BATCH_BYTES_CEILING, true).recordsCount;
    });
  await bench.run();

  const rate = (name: string): number => opsPerSecond(bench.getTask(name));
  const targets: { [name: string]: number } = { 'encode none': ENCODE_TARGET, 'decode none': DECODE_TARGET };
  const rows = bench.tasks.map((task) => {
    const batches = opsPerSecond(task);
    const bytes = task.name.endsWith('lz4') ? lz4.length : none.length;
    const target = targets[task.name];
    const recordsPerSecond = batches * RECORDS_PER_BATCH;
    return {
      task: task.name,
      'batches/s': Math.round(batches).toLocaleString('en-US'),
      'records/s': Math.round(recordsPerSecond).toLocaleString('en-US'),
      'MB/s (batch bytes)': (batches * bytes / 1e6).toFixed(0),
      target: target === undefined ? '' : `>= ${target.toLocaleString('en-US')} records/s`,
      result: target === undefined ? '' : recordsPerSecond >= target ? 'PASS' : 'MISS',
    };
  });
  console.table(rows);
  const savedNone = rate('validate none') / rate('decode none');
  const savedLz4 = rate('validate lz4') / rate('decode lz4');
  console.log(`validate vs decode, per batch: ${savedNone.toFixed(1)}x faster uncompressed, ${savedLz4.toFixed(1)}x faster lz4 (what the broker saves by not decoding)`);
  if (sink === 42) console.log('');

  const encodeRate = rate('encode none') * RECORDS_PER_BATCH;
  const decodeRate = rate('decode none') * RECORDS_PER_BATCH;
  return [
    { name: 'encode, uncompressed, 100-byte values', value: encodeRate, unit: 'records/s', target: `>= ${ENCODE_TARGET.toLocaleString('en-US')}`, met: encodeRate >= ENCODE_TARGET },
    { name: 'decode, uncompressed, 100-byte values', value: decodeRate, unit: 'records/s', target: `>= ${DECODE_TARGET.toLocaleString('en-US')}`, met: decodeRate >= DECODE_TARGET },
  ];
}
