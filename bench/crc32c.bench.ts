/**
 * CRC-32C, the checksum every batch pays on append and on recovery: the native implementation
 * `log/crc32c.ts` uses (@node-rs/crc32, SSE4.2 / ARMv8 CRC instructions) against table-driven pure
 * JavaScript written here, on 16 KiB buffers (one producer batch) and 1 MiB buffers (a fetch, a
 * recovery scan). Target: native >= 3,000 MB/s at both sizes — a fast NVMe disk's sequential write
 * speed, so that verifying a batch never limits an append.
 *
 * The JavaScript side is the usual reflected CRC with polynomial 0x82F63B78, in two forms: one table
 * lookup per byte (the textbook) and slicing-by-8 (eight tables, eight bytes per step, the fastest
 * portable method). Both are checked against the native result before timing.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { Bench } from 'tinybench';
import { opsPerSecond } from './task-rate.js';
import { crc32c } from '../log/crc32c.js';
import type { BenchContext, Figure } from './run.js';

const SIZES = [16 * 1024, 1024 * 1024] as const;
const TARGET_MB_PER_SECOND = 3000;
const TIME_MS = 1000;

/** TABLES[k][b]: the CRC of byte b followed by k zero bytes; TABLES[0] is the byte-wise table. */
const TABLES: Uint32Array[] = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  const first = tables[0]!;
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    first[b] = c >>> 0;
  }
  for (let k = 1; k < 8; k++) {
    const prev = tables[k - 1]!;
    const table = tables[k]!;
    for (let b = 0; b < 256; b++) table[b] = ((prev[b]! >>> 8) ^ first[prev[b]! & 0xff]!) >>> 0;
  }
  return tables;
})();

function crc32cBytewise(buf: Uint8Array): number {
  const t = TABLES[0]!;
  let crc = 0xffffffff;
  for (let i = 0; i < buf.length; i++) crc = t[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function crc32cSlicing8(buf: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let crc = 0xffffffff;
  let i = 0;
  const end8 = buf.length - (buf.length % 8);
  for (; i < end8; i += 8) {
    const lo = crc ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    crc =
      t7[lo & 0xff]! ^
      t6[(lo >>> 8) & 0xff]! ^
      t5[(lo >>> 16) & 0xff]! ^
      t4[lo >>> 24]! ^
      t3[buf[i + 4]!]! ^
      t2[buf[i + 5]!]! ^
      t1[buf[i + 6]!]! ^
      t0[buf[i + 7]!]!;
  }
  for (; i < buf.length; i++) crc = t0[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}


let sink = 0;

export async function run(context?: BenchContext): Promise<Figure[]> {
  const scale = context?.scale ?? 1;
  const check = Buffer.from('123456789');
  for (const f of [crc32c, crc32cBytewise, crc32cSlicing8]) {
    if (f(check) !== 0xe3069283) throw new Error(`${f.name} fails the CRC-32C check value`);
  }
  console.log(`machine:  ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, node ${process.version}, one core`);
  console.log(`workload: CRC-32C of random 16 KiB and 1 MiB buffers`);
  console.log(`target:   native >= ${TARGET_MB_PER_SECOND.toLocaleString('en-US')} MB/s (fast NVMe sequential write)`);

  const buffers = new Map<number, Buffer>(SIZES.map((size) => [size, randomBytes(size)]));
  const bench = new Bench({ time: Math.max(100, TIME_MS * scale), warmupTime: Math.max(50, 200 * scale) });
  const implementations = { native: crc32c, 'js slicing-by-8': crc32cSlicing8, 'js byte-wise': crc32cBytewise };
  for (const [size, buf] of buffers) {
    const expected = crc32c(buf);
    for (const [name, f] of Object.entries(implementations)) {
      if (f(buf) !== expected) throw new Error(`${name} disagrees with native on ${size} bytes`);
      bench.add(`${name} ${size / 1024} KiB`, () => {
        sink ^= f(buf);
      });
    }
  }
  await bench.run();

  const figures: Figure[] = [];
  const rows = bench.tasks.map((task) => {
    const size = task.name.endsWith('1024 KiB') ? 1024 * 1024 : 16 * 1024;
    const mbps = (opsPerSecond(task) * size) / 1e6;
    const isNative = task.name.startsWith('native');
    if (isNative) {
      figures.push({ name: `native CRC-32C, ${size / 1024} KiB buffers`, value: mbps, unit: 'MB/s', target: `>= ${TARGET_MB_PER_SECOND}`, met: mbps >= TARGET_MB_PER_SECOND });
    }
    return {
      task: task.name,
      'MB/s': Math.round(mbps).toLocaleString('en-US'),
      target: isNative ? `>= ${TARGET_MB_PER_SECOND.toLocaleString('en-US')} MB/s` : '',
      result: isNative ? (mbps >= TARGET_MB_PER_SECOND ? 'PASS' : 'MISS') : '',
    };
  });
  console.table(rows);
  for (const size of SIZES) {
    const label = `${size / 1024} KiB`;
    const native = opsPerSecond(bench.getTask(`native ${label}`));
    const js = opsPerSecond(bench.getTask(`js slicing-by-8 ${label}`));
    console.log(`${label}: native is ${(native / js).toFixed(1)}x the best pure-JS table method`);
  }
  if (sink === 42) console.log('');
  return figures;
}
