/**
 * Sequential read throughput from the page cache: `log.read(offset, { maxBytes: 1 MiB })` in a loop
 * over 512 MiB of 16 KiB batches, as a consumer catching up fetches. Target: >= 1 GB/s.
 *
 * The limit it aims at is what the kernel can copy out of the page cache, measured in the same run
 * with `dd if=<the segment file> of=/dev/null bs=1M` on the same bytes; the ratio is printed too.
 *
 * Why this is fair: the log is written with flushPolicy 'never' and then flushed (fsync), so every
 * page is clean and cached before either reader starts (24 GiB of memory hold 512 MiB easily; nothing
 * is evicted). Both read the same file front to back in 1 MiB requests; dd into one reused buffer, the
 * log into a fresh buffer per read, as it hands it to the caller. What the log adds: locating the
 * batch (index lookup and a header read), the async read through libuv's thread pool, and walking
 * the batch headers to cut the result at a whole batch. Each side runs twice and the better pass
 * counts.
 */
import path from 'node:path';
import { Log } from '../log/log.js';
import { LOG_SUFFIX, segmentFileName } from '../log/segment.js';
import { asOffset } from '../log/units.js';
import { batchPool } from './log-append.bench.js';
import { ddRead } from './machine.js';
import type { BenchContext, Figure } from './run.js';

const BATCH_BYTES = 16 * 1024;
const RECORD_BYTES = 1024;
const TOTAL_BYTES = 512 * 1024 * 1024;
const READ_BYTES = 1024 * 1024;
const POOL_SIZE = 64;
const PASSES = 2;
const TARGET_MB_PER_SECOND = 1000;

export async function run(context: BenchContext): Promise<Figure[]> {
  const count = Math.max(64, Math.round((TOTAL_BYTES * context.scale) / BATCH_BYTES));
  const pool = batchPool(POOL_SIZE, BATCH_BYTES, RECORD_BYTES);
  const dir = path.join(context.dir, 'log');
  const log = await Log.open(dir, { flushPolicy: 'never' });
  try {
    for (let i = 0; i < count; i += 1) await log.append(pool[i % pool.length] as Buffer);
    await log.flush();
    const bytes = log.sizeBytes;
    const segmentFiles = log.segmentBaseOffsets.map((base) => segmentFileName(dir, base, LOG_SUFFIX));
    console.log(`workload: ${(bytes / 2 ** 20).toFixed(0)} MiB in ${segmentFiles.length} segment(s), ${count.toLocaleString('en-US')} batches of ${pool[0]?.length} bytes, all in the page cache`);
    console.log(`limit:    dd if=<segment> of=/dev/null bs=1M`);
    console.log(`target:   log.read with maxBytes 1 MiB >= ${TARGET_MB_PER_SECOND} MB/s`);

    let bestDd = 0;
    let bestLog = 0;
    for (let pass = 1; pass <= PASSES; pass += 1) {
      let ddBytes = 0;
      let ddSeconds = 0;
      for (const file of segmentFiles) {
        const dd = ddRead(file, READ_BYTES);
        ddBytes += dd.bytes;
        ddSeconds += dd.seconds;
      }
      const ddMbps = ddBytes / ddSeconds / 1e6;
      bestDd = Math.max(bestDd, ddMbps);
      console.log(`pass ${pass}: dd   ${ddMbps.toFixed(0).padStart(6)} MB/s (${(ddBytes / 2 ** 20).toFixed(0)} MiB in ${ddSeconds.toFixed(3)} s)`);

      const { bytesRead, reads, seconds } = await readAll(log);
      if (bytesRead !== bytes) throw new Error(`read ${bytesRead} bytes back, wrote ${bytes}`);
      const logMbps = bytesRead / seconds / 1e6;
      bestLog = Math.max(bestLog, logMbps);
      console.log(`pass ${pass}: log  ${logMbps.toFixed(0).padStart(6)} MB/s (${reads.toLocaleString('en-US')} reads in ${seconds.toFixed(3)} s, ${((seconds / reads) * 1e6).toFixed(1)} µs per read)`);
    }
    const met = bestLog >= TARGET_MB_PER_SECOND;
    console.log(`result:   log ${bestLog.toFixed(0)} MB/s (${((bestLog / bestDd) * 100).toFixed(0)}% of dd's ${bestDd.toFixed(0)} MB/s; target >= ${TARGET_MB_PER_SECOND} MB/s): ${met ? 'PASS' : 'MISS'}`);
    return [
      {
        name: `sequential read, 1 MiB per read (dd: ${bestDd.toFixed(0)} MB/s)`,
        value: bestLog,
        unit: 'MB/s',
        target: `>= ${TARGET_MB_PER_SECOND} MB/s`,
        met,
      },
    ];
  } finally {
    await log.close();
  }
}

/** Reads the whole log from its start, 1 MiB at a time. */
async function readAll(log: Log): Promise<{ bytesRead: number; reads: number; seconds: number }> {
  let offset = log.logStartOffset;
  const end = log.logEndOffset;
  let bytesRead = 0;
  let reads = 0;
  const started = performance.now();
  while (offset < end) {
    const result = await log.read(asOffset(offset), { maxBytes: READ_BYTES });
    bytesRead += result.bytes.length;
    reads += 1;
    offset = result.nextOffset;
  }
  return { bytesRead, reads, seconds: (performance.now() - started) / 1000 };
}
