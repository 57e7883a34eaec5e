/**
 * Frame encoding, the protocol's share of every produce request (client) and fetch response (broker):
 * the single-buffer frame protobufjs writes (`encodeRequestFrame`, which copies each batch into the
 * writer, again for each enclosing length that outgrows its reserved byte, and again in `finish`)
 * against the chunked frame the connections send (`encodeRequestFrameChunks`, batches by reference),
 * with one memcpy of the same bytes beside them as the limit a copying encoder cannot beat.
 *
 * Workloads: a produce request with one 1 MiB batch (`perf produce --batch-size 1000000`), one with
 * three (a request to a leader of three partitions), and a fetch response with three 1 MiB batches.
 * Target: the chunked encoding >= 20,000 MB/s of record bytes, i.e. far above memory bandwidth: its
 * cost must not grow with the batches, so it never limits produce or fetch throughput.
 */
import os from 'node:os';
import { Bench } from 'tinybench';
import { opsPerSecond } from './task-rate.js';
import {
  API_KEYS,
  encodeRequestFrame,
  encodeRequestFrameChunks,
  encodeResponseFrame,
  encodeResponseFrameChunks,
  type FetchResponse,
  type ProduceRequest,
} from '../client/protocol/index.js';
import type { BenchContext, Figure } from './run.js';

const BATCH_BYTES = 1024 * 1024;
const TARGET_MB_PER_SECOND = 20_000;
const TIME_MS = 1000;

function produceRequest(batches: number): ProduceRequest {
  return {
    acks: 1,
    timeoutMs: 30_000,
    topics: [{ name: 'perf', partitions: Array.from({ length: batches }, (_, partition) => ({ partition, records: Buffer.alloc(BATCH_BYTES, partition + 1) })) }],
  };
}

function fetchResponse(batches: number): FetchResponse {
  return {
    topics: [{
      name: 'perf',
      partitions: Array.from({ length: batches }, (_, partition) => ({
        partition, errorCode: 0, highWatermark: 123_456_789, logStartOffset: 0, records: Buffer.alloc(BATCH_BYTES, partition + 1), leaderHint: -1,
        lastStableOffset: 123_456_789, abortedTransactions: [],
      })),
    }],
  };
}

let sink = 0;

export async function run(context?: BenchContext): Promise<Figure[]> {
  const scale = context?.scale ?? 1;
  console.log(`machine:  ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, node ${process.version}, one core`);
  console.log('workload: produce requests with 1 and 3 batches of 1 MiB, a fetch response with 3');
  console.log(`target:   chunked >= ${TARGET_MB_PER_SECOND.toLocaleString('en-US')} MB/s of record bytes (no copy: cost independent of batch size)`);

  const header = { apiVersion: 0, correlationId: 42, clientId: 'strata-perf' };
  const produce1 = produceRequest(1);
  const produce3 = produceRequest(3);
  const fetch3 = fetchResponse(3);
  const workloads = [
    { name: 'produce 1 x 1 MiB', bytes: BATCH_BYTES, single: () => encodeRequestFrame(header, API_KEYS.produce, produce1), chunked: () => encodeRequestFrameChunks(header, API_KEYS.produce, produce1) },
    { name: 'produce 3 x 1 MiB', bytes: 3 * BATCH_BYTES, single: () => encodeRequestFrame(header, API_KEYS.produce, produce3), chunked: () => encodeRequestFrameChunks(header, API_KEYS.produce, produce3) },
    { name: 'fetch 3 x 1 MiB', bytes: 3 * BATCH_BYTES, single: () => encodeResponseFrame({ correlationId: 42, errorCode: 0 }, API_KEYS.fetch, fetch3), chunked: () => encodeResponseFrameChunks({ correlationId: 42, errorCode: 0 }, API_KEYS.fetch, fetch3) },
  ];
  const bench = new Bench({ time: Math.max(100, TIME_MS * scale), warmupTime: Math.max(50, 200 * scale) });
  for (const w of workloads) {
    if (!Buffer.concat(w.chunked()).equals(w.single())) throw new Error(`${w.name}: chunked and single-buffer frames differ`);
    const copyTarget = Buffer.allocUnsafe(w.bytes);
    const source = Buffer.alloc(w.bytes, 7);
    bench.add(`${w.name}: single buffer`, () => {
      sink ^= w.single().length;
    });
    bench.add(`${w.name}: chunked`, () => {
      sink ^= w.chunked().length;
    });
    bench.add(`${w.name}: one memcpy (limit)`, () => {
      sink ^= source.copy(copyTarget);
    });
  }
  await bench.run();

  const figures: Figure[] = [];
  const rows = bench.tasks.map((task) => {
    const workload = workloads.find((w) => task.name.startsWith(`${w.name}:`))!;
    const mbps = (opsPerSecond(task) * workload.bytes) / 1e6;
    const isChunked = task.name.endsWith(': chunked');
    if (isChunked) {
      figures.push({ name: `chunked frame encoding, ${workload.name}`, value: mbps, unit: 'MB/s', target: `>= ${TARGET_MB_PER_SECOND}`, met: mbps >= TARGET_MB_PER_SECOND });
    }
    return {
      task: task.name,
      'MB/s': Math.round(mbps).toLocaleString('en-US'),
      target: isChunked ? `>= ${TARGET_MB_PER_SECOND.toLocaleString('en-US')} MB/s` : '',
      result: isChunked ? (mbps >= TARGET_MB_PER_SECOND ? 'PASS' : 'MISS') : '',
    };
  });
  console.table(rows);
  if (sink === 42) console.log('');
  return figures;
}
