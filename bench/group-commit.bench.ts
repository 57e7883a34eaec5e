/**
 * Group commit under flushPolicy 'always': 8 concurrent appenders, each awaiting its append (which
 * resolves only after an fsync covers it) before sending the next, beside the limit group commit
 * exists to beat: one write + one fdatasync per append. Target: group commit moves >= 4x the bytes
 * per second of fsync-per-append.
 *
 * Batches are small (4 KiB: 4 records of 1 KiB) so that every phase is bound by fsync latency, not by
 * bandwidth: that is where group commit pays off, and where a broker with many producers sending small
 * batches lives.
 *
 * Phases, each for the same fixed time in a fresh file in the same directory, after `sync` so no
 * phase pays for another's writeback:
 *   1. fsync-per-append: a plain loop of fs.writeSync + fs.fdatasyncSync on one file, no Log at all.
 *      Synchronous calls and no Log code make it the best case of the per-append method, so the ratio
 *      is conservative.
 *   2. Log, 1 appender: what the Log's own path costs beside phase 1 (context, no target).
 *   3. Log, 8 appenders: the headline.
 *
 * Fsyncs are counted, not inferred: for phases 2 and 3 `fs.fdatasync` and `fs.fsync` are wrapped with
 * a counter (the segment and its indexes call them through the `fs` module object, so the wrapper sees
 * every call; the directory fsync goes through `fs.fsync`). Batches per fsync = appends / fdatasyncs.
 * Both appenders and the per-append loop use pre-encoded batches (encoding is the producer's work);
 * appenders may share a pooled buffer, since `append` stamps and writes it synchronously.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Log } from '../log/log.js';
import { batchPool } from './log-append.bench.js';
import { syncFilesystems } from './machine.js';
import type { BenchContext, Figure } from './run.js';

const BATCH_BYTES = 4 * 1024;
const RECORD_BYTES = 1024;
const APPENDERS = 8;
const DURATION_MS = 5000;
const POOL_SIZE = 64;
const TARGET_RATIO = 4;

interface PhaseResult {
  appends: number;
  seconds: number;
  fdatasyncs: number;
  fsyncs: number;
}

export async function run(context: BenchContext): Promise<Figure[]> {
  const durationMs = Math.max(300, DURATION_MS * context.scale);
  const pool = batchPool(POOL_SIZE, BATCH_BYTES, RECORD_BYTES);
  const batchBytes = pool[0]?.length ?? 0;
  console.log(`workload: ${batchBytes}-byte batches (${RECORD_BYTES}-byte records), ${(durationMs / 1000).toFixed(1)} s per phase; flushPolicy 'always'`);
  console.log(`limit:    write + fdatasync per append, one appender, no Log`);
  console.log(`target:   Log with ${APPENDERS} appenders >= ${TARGET_RATIO}x the MB/s of fsync-per-append`);

  syncFilesystems();
  const raw = fsyncPerAppend(path.join(context.dir, 'fsync-per-append.log'), pool, durationMs);
  report('fsync per append (1 writer, no Log)', raw, batchBytes);

  syncFilesystems();
  const single = await logPhase(path.join(context.dir, 'log-1'), pool, 1, durationMs);
  report('Log, 1 appender', single, batchBytes);

  syncFilesystems();
  const group = await logPhase(path.join(context.dir, `log-${APPENDERS}`), pool, APPENDERS, durationMs);
  report(`Log, ${APPENDERS} appenders`, group, batchBytes);

  const rawMbps = mbps(raw, batchBytes);
  const groupMbps = mbps(group, batchBytes);
  const ratio = groupMbps / rawMbps;
  const met = ratio >= TARGET_RATIO;
  console.log(`result:   group commit ${groupMbps.toFixed(2)} MB/s vs fsync-per-append ${rawMbps.toFixed(2)} MB/s = ${ratio.toFixed(2)}x (target >= ${TARGET_RATIO}x): ${met ? 'PASS' : 'MISS'}`);
  return [
    {
      name: `${APPENDERS} appenders vs fsync-per-append (${groupMbps.toFixed(1)} / ${rawMbps.toFixed(1)} MB/s, ${(group.appends / group.fdatasyncs).toFixed(1)} batches/fsync)`,
      value: ratio,
      unit: 'x',
      target: `>= ${TARGET_RATIO}x`,
      met,
    },
  ];
}

function fsyncPerAppend(file: string, pool: Buffer[], durationMs: number): PhaseResult {
  const fd = fs.openSync(file, 'w');
  try {
    let position = 0;
    let appends = 0;
    const started = performance.now();
    const deadline = started + durationMs;
    while (performance.now() < deadline) {
      const batch = pool[appends % pool.length] as Buffer;
      position += fs.writeSync(fd, batch, 0, batch.length, position);
      fs.fdatasyncSync(fd);
      appends += 1;
    }
    return { appends, seconds: (performance.now() - started) / 1000, fdatasyncs: appends, fsyncs: 0 };
  } finally {
    fs.closeSync(fd);
  }
}

/** `appenders` loops, each appending and awaiting until the deadline; counts the fsyncs meanwhile. */
async function logPhase(dir: string, pool: Buffer[], appenders: number, durationMs: number): Promise<PhaseResult> {
  const log = await Log.open(dir, { flushPolicy: 'always' });
  const counter = countFsyncs();
  let appends = 0;
  let seconds = 0;
  try {
    const started = performance.now();
    const deadline = started + durationMs;
    const appender = async (id: number): Promise<void> => {
      for (let i = id; performance.now() < deadline; i += appenders) {
        await log.append(pool[i % pool.length] as Buffer);
        appends += 1;
      }
    };
    await Promise.all(Array.from({ length: appenders }, (_, id) => appender(id)));
    seconds = (performance.now() - started) / 1000;
  } finally {
    counter.stop();
    await log.close();
  }
  return { appends, seconds, fdatasyncs: counter.fdatasyncs, fsyncs: counter.fsyncs };
}

interface FsyncCounter {
  readonly fdatasyncs: number;
  readonly fsyncs: number;
  stop(): void;
}

/** Wraps the callback forms of fs.fdatasync and fs.fsync with counters until `stop()`. */
function countFsyncs(): FsyncCounter {
  const mutable = fs as unknown as { fdatasync: typeof fs.fdatasync; fsync: typeof fs.fsync };
  const { fdatasync, fsync } = mutable;
  const counter = {
    fdatasyncs: 0,
    fsyncs: 0,
    stop(): void {
      mutable.fdatasync = fdatasync;
      mutable.fsync = fsync;
    },
  };
  mutable.fdatasync = ((fd: number, callback: fs.NoParamCallback) => {
    counter.fdatasyncs += 1;
    fdatasync(fd, callback);
  }) as typeof fs.fdatasync;
  mutable.fsync = ((fd: number, callback: fs.NoParamCallback) => {
    counter.fsyncs += 1;
    fsync(fd, callback);
  }) as typeof fs.fsync;
  return counter;
}

function report(label: string, result: PhaseResult, batchBytes: number): void {
  const perSecond = result.appends / result.seconds;
  const perFsync = result.fdatasyncs > 0 ? result.appends / result.fdatasyncs : Number.NaN;
  const fsyncMs = result.fdatasyncs > 0 ? (result.seconds * 1000) / result.fdatasyncs : Number.NaN;
  console.log(
    `${label.padEnd(36)} ${mbps(result, batchBytes).toFixed(2).padStart(7)} MB/s, ${Math.round(perSecond).toLocaleString('en-US').padStart(7)} appends/s, ` +
      `${result.fdatasyncs.toLocaleString('en-US')} fdatasyncs (${perFsync.toFixed(2)} batches each, one per ${fsyncMs.toFixed(3)} ms)` +
      (result.fsyncs > 0 ? `, ${result.fsyncs} directory/other fsyncs` : ''),
  );
}

function mbps(result: PhaseResult, batchBytes: number): number {
  return (result.appends * batchBytes) / result.seconds / 1e6;
}
