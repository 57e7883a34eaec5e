/**
 * Recovery after an unclean stop: the time of `Log.open` on a log whose tail segment holds 1 GiB of
 * batches that no clean shutdown vouched for, and the scan rate that gives
 * (`log.recovery.bytesScanned` / seconds). Target: >= 500 MB/s.
 *
 * How the unclean stop is made, in one process: a Log with segmentBytes 1 GiB takes 1 GiB of 16 KiB
 * batches (flushPolicy 'never'), and is then dropped without `close()`: no clean-shutdown marker, no
 * persisted index entries (indexes reach their files lazily), a checkpoint whose recovery point is
 * still 0. Its descriptors stay open until the process exits, which is harmless. A new `Log.open` on
 * the directory must then validate every batch (header and CRC-32C) and rebuild both indexes.
 *
 * Page cache state: `sync` runs before the timed open, so the segment is clean and still cached, as
 * after a broker process crash once the kernel has written the pages back. The scan therefore
 * measures the code (reads from the page cache, CRC, index rebuild), not the disk; a cold start after
 * a power loss would be bounded by the disk's read speed instead, and dropping the machine's caches to
 * show it would disturb everyone else on it. The limit beside it is `dd` reading the same file to
 * /dev/null from the page cache. What the timed open includes besides the scan: listing the directory,
 * fsyncing the rebuilt indexes and writing the checkpoint.
 */
import path from 'node:path';
import { Log } from '../log/log.js';
import { LOG_SUFFIX, segmentFileName } from '../log/segment.js';
import type { Offset } from '../log/units.js';
import { batchPool } from './log-append.bench.js';
import { ddRead, syncFilesystems } from './machine.js';
import type { BenchContext, Figure } from './run.js';

const SEGMENT_BYTES = 1024 * 1024 * 1024;
const BATCH_BYTES = 16 * 1024;
const RECORD_BYTES = 1024;
const POOL_SIZE = 64;
const TARGET_MB_PER_SECOND = 500;

export async function run(context: BenchContext): Promise<Figure[]> {
  // The tail segment is filled exactly: batches of 16 KiB tile 1 GiB (or its scaled size).
  const count = Math.max(64, Math.floor((SEGMENT_BYTES * Math.min(context.scale, 1)) / BATCH_BYTES));
  const pool = batchPool(POOL_SIZE, BATCH_BYTES, RECORD_BYTES);
  const dir = path.join(context.dir, 'log');
  const config = { flushPolicy: 'never', segmentBytes: SEGMENT_BYTES } as const;
  console.log(`workload: one segment of ${count.toLocaleString('en-US')} batches of ${pool[0]?.length} bytes (${((count * BATCH_BYTES) / 2 ** 20).toFixed(0)} MiB), left without close()`);
  console.log(`limit:    dd if=<segment> of=/dev/null bs=8M (the scan's read size) from the page cache`);
  console.log(`target:   recovery scan >= ${TARGET_MB_PER_SECOND} MB/s`);

  const written = await writeAndAbandon(dir, config, pool, count);
  const segmentFile = segmentFileName(dir, written.firstSegmentBase, LOG_SUFFIX);
  syncFilesystems();
  const dd = ddRead(segmentFile, 8 * 1024 * 1024);
  console.log(`dd:       ${dd.mbPerSecond.toFixed(0)} MB/s (${(dd.bytes / 2 ** 20).toFixed(0)} MiB in ${dd.seconds.toFixed(3)} s)`);

  const started = performance.now();
  const log = await Log.open(dir, config);
  const seconds = (performance.now() - started) / 1000;
  try {
    const r = log.recovery;
    if (r.clean || log.logEndOffset !== written.logEndOffset || r.bytesTruncated !== 0) {
      throw new Error(`recovery went wrong: ${JSON.stringify(r)}, log end ${log.logEndOffset}, expected ${written.logEndOffset}`);
    }
    const mbps = r.bytesScanned / seconds / 1e6;
    const met = mbps >= TARGET_MB_PER_SECOND;
    console.log(`recovered: ${r.segmentsScanned} segment(s), ${(r.bytesScanned / 2 ** 20).toFixed(0)} MiB scanned, ${log.logEndOffset.toLocaleString('en-US')} records; Log.open took ${seconds.toFixed(3)} s`);
    console.log(`result:   recovery scan ${mbps.toFixed(0)} MB/s (${((mbps / dd.mbPerSecond) * 100).toFixed(0)}% of dd's ${dd.mbPerSecond.toFixed(0)} MB/s; target >= ${TARGET_MB_PER_SECOND} MB/s): ${met ? 'PASS' : 'MISS'}`);
    return [
      {
        name: `unclean open of ${(r.bytesScanned / 2 ** 20).toFixed(0)} MiB tail segment (${seconds.toFixed(2)} s)`,
        value: mbps,
        unit: 'MB/s',
        target: `>= ${TARGET_MB_PER_SECOND} MB/s`,
        met,
      },
    ];
  } finally {
    await log.close();
  }
}

/**
 * Fills a new log and lets it go without close(): the caller's next open sees an unclean stop. Kept
 * in its own function so no reference to the first Log outlives it.
 */
async function writeAndAbandon(
  dir: string,
  config: { flushPolicy: 'never'; segmentBytes: number },
  pool: Buffer[],
  count: number,
): Promise<{ logEndOffset: Offset; firstSegmentBase: Offset }> {
  const log = await Log.open(dir, config);
  for (let i = 0; i < count; i += 1) await log.append(pool[i % pool.length] as Buffer);
  if (log.segmentCount !== 1) throw new Error(`expected one segment, got ${log.segmentCount}`);
  return { logEndOffset: log.logEndOffset, firstSegmentBase: log.segmentBaseOffsets[0] as Offset };
}
