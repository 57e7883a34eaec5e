/**
 * What validating every record costs the append path (`log/record-validator.ts`): MB/s of batch
 * bytes through `validateRecordBatch` (CRC, header, and a walk over every record's framing; lz4
 * decompressed into the shared scratch), side by side with the CRC-and-header-only `validateBatch`
 * it replaced and with `decodeBatch` (what building record objects would cost), for ~16 KiB batches
 * (Kafka's default `batch.size`) of 100-byte and 1 KiB records, uncompressed and lz4, on one core.
 *
 * The limit it aims at is the disk: an append is a buffered write of the same bytes, so the figure
 * that matters is the time validation adds per MB next to the time writing that MB takes. The run
 * measures `dd if=/dev/zero bs=16384` into the bench directory (buffered, no fsync, as log-append
 * does) and prints validation's cost as a fraction of it.
 * Target: validating uncompressed 100-byte records (the most records per MB, so the most work)
 * costs at most 25% of a buffered write of the same bytes.
 *
 * Workload: keyless records with explicit timestamps and no headers; values are words from a small
 * vocabulary, so lz4 sees text that compresses about 3:1 (as in batch-codec).
 */
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { Bench } from 'tinybench';
import { ddWrite, syncFilesystems } from './machine.js';
import { opsPerSecond } from './task-rate.js';
import { validateBatch } from '../log/batch-header.js';
import { MAX_BATCH_BYTES_CEILING, MAX_BATCH_BYTES_DEFAULT } from '../log/limits.js';
import { decodeBatch, encodeBatch, type RecordInput } from '../log/record-batch.js';
import { validateRecordBatch, type ValidationRules } from '../log/record-validator.js';
import type { BenchContext, Figure } from './run.js';

const BATCH_TARGET_BYTES = 16 * 1024;
const TIME_MS = 1000;
const DD_BYTES = 256 * 1024 * 1024;
const TARGET_FRACTION = 0.25;
const DD_ROUNDS = 3;

const WORDS = ['order', 'user', 'id', 'amount', 'status', 'paid', 'shipped', 'eu-west', 'sku', '{', '}', ':', ','];

/** A deterministic value of exactly `bytes` bytes of word soup. */
function value(seed: number, bytes: number): Buffer {
  let text = '';
  let x = seed * 2654435761;
  while (text.length < bytes) {
    x = (x * 1103515245 + 12345) >>> 0;
    text += WORDS[x % WORDS.length] + ' ';
  }
  return Buffer.from(text.slice(0, bytes));
}

function records(valueBytes: number, now: number): RecordInput[] {
  const count = Math.max(1, Math.floor(BATCH_TARGET_BYTES / (valueBytes + 8)));
  return Array.from({ length: count }, (_, i) => ({ key: null, value: value(i, valueBytes), timestamp: now + i }));
}

/** Keeps results alive so the JIT cannot drop the work. */
let sink = 0;

export async function run(context: BenchContext): Promise<Figure[]> {
  const now = Date.now();
  const rules: ValidationRules = {
    origin: 'client',
    maxBatchBytes: MAX_BATCH_BYTES_DEFAULT,
    now: now + 1000,
    messageTimestampBeforeMaxMs: Number.MAX_SAFE_INTEGER,
    messageTimestampAfterMaxMs: 60 * 60 * 1000,
  };
  const workloads = [100, 1024].flatMap((valueBytes) =>
    (['none', 'lz4'] as const).map((compression) => {
      const input = records(valueBytes, now);
      return { label: `${valueBytes === 100 ? '100 B' : '1 KiB'} ${compression}`, count: input.length, batch: encodeBatch(input, { compression }) };
    }),
  );
  console.log(`machine:  ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, node ${process.version}, one core`);
  for (const w of workloads) console.log(`workload: ${w.label.padEnd(10)} ${w.count} records, batch ${w.batch.length} bytes`);

  const bench = new Bench({ time: Math.max(100, TIME_MS * context.scale), warmupTime: Math.max(50, 200 * context.scale) });
  for (const w of workloads) {
    const batch = w.batch;
    bench
      .add(`crc-only ${w.label}`, () => {
        sink += validateBatch(batch, 0, batch.length, MAX_BATCH_BYTES_CEILING, true).recordsCount;
      })
      .add(`validate ${w.label}`, () => {
        sink += validateRecordBatch(batch, 0, batch.length, rules).recordsCount;
      })
      .add(`decode ${w.label}`, () => {
        sink += decodeBatch(batch).records.length;
      });
  }
  await bench.run();

  // dd three times, the median: page-cache write speed on a shared machine drifts from run to run.
  const ddFile = path.join(context.dir, 'dd.out');
  const ddRuns: number[] = [];
  for (let round = 0; round < DD_ROUNDS; round++) {
    syncFilesystems();
    ddRuns.push(ddWrite(ddFile, BATCH_TARGET_BYTES, Math.max(256, Math.round((DD_BYTES * context.scale) / BATCH_TARGET_BYTES))).mbPerSecond);
    fs.rmSync(ddFile, { force: true });
  }
  const dd = { mbPerSecond: ddRuns.sort((a, b) => a - b)[Math.floor(DD_ROUNDS / 2)] as number };
  console.log(`limit:    dd if=/dev/zero bs=${BATCH_TARGET_BYTES} (buffered, no fsync): ${ddRuns.map((r) => r.toFixed(0)).join(', ')} MB/s; median ${dd.mbPerSecond.toFixed(0)} MB/s (${(1e6 / dd.mbPerSecond).toFixed(0)} µs per MB)`);

  const mbps = (name: string, bytes: number): number => (opsPerSecond(bench.getTask(name)) * bytes) / 1e6;
  const rows = workloads.map((w) => {
    const crc = mbps(`crc-only ${w.label}`, w.batch.length);
    const validate = mbps(`validate ${w.label}`, w.batch.length);
    const decode = mbps(`decode ${w.label}`, w.batch.length);
    return {
      workload: w.label,
      'crc-only MB/s': crc.toFixed(0),
      'validate MB/s': validate.toFixed(0),
      'validate µs/MB': (1e6 / validate).toFixed(0),
      'decode MB/s': decode.toFixed(0),
      'validate records/s': Math.round((validate * 1e6 * w.count) / w.batch.length).toLocaleString('en-US'),
      // Time to validate a MB over time to write it: what validation adds to a disk-speed append.
      'validate / disk write': `${((dd.mbPerSecond / validate) * 100).toFixed(0)}%`,
      'walk beyond crc / disk write': `${((dd.mbPerSecond / validate - dd.mbPerSecond / crc) * 100).toFixed(0)}%`,
    };
  });
  console.table(rows);
  if (sink === 42) console.log('');

  const headline = mbps('validate 100 B none', workloads[0]?.batch.length ?? 0);
  const fraction = dd.mbPerSecond / headline;
  return [
    {
      name: `validate 100-byte records, uncompressed (${headline.toFixed(0)} MB/s) vs dd buffered write (${dd.mbPerSecond.toFixed(0)} MB/s)`,
      value: fraction * 100,
      unit: '% of write time',
      target: `<= ${TARGET_FRACTION * 100}%`,
      met: fraction <= TARGET_FRACTION,
    },
  ];
}
