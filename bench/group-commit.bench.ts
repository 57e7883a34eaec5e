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
 * Three rounds of three phases, each phase for the same fixed time in a fresh file in the same
 * directory, after `sync` so no phase pays for another's writeback:
 *   1. fsync-per-append: a plain loop of fs.writeSync + fs.fdatasyncSync on one file, no Log at all.
 *      Synchronous calls and no Log code make it the best case of the per-append method, so the ratio
 *      is conservative.
 *   2. Log, 8 appenders: the headline.
 *   3. Log, 1 appender: what the Log's own path costs beside phase 1 (context, no target).
 * The figure is the median over the rounds of (phase 2 MB/s / phase 1 MB/s): on a shared disk fsync
 * latency drifts by 2-4x within a minute, and pairing phases that ran seconds apart cancels most of it.
 *
 * Fsyncs are counted, not inferred: while the Log runs, `fs.fdatasync` and `fs.fsync` are wrapped with
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
/** Time of each of the three phases, summed over the rounds. */
const DURATION_MS = 6000;
const ROUNDS = 3;
const POOL_SIZE = 64;
const TARGET_RATIO = 4;

interface PhaseResult {
  appends: number;
  seconds: number;
  fdatasyncs: number;
  fsyncs: number;
}

export async function run(context: BenchContext): Promise<Figure[]> {
  const durationMs = Math.max(200, (DURATION_MS * context.scale) / ROUNDS);
  const pool = batchPool(POOL_SIZE, BATCH_BYTES, RECORD_BYTES);
  const batchBytes = pool[0]?.length ?? 0;
  console.log(`workload: ${batchBytes}-byte batches (${RECORD_BYTES}-byte records); ${ROUNDS} rounds of three ${(durationMs / 1000).toFixed(1)} s phases; flushPolicy 'always'`);
  console.log(`limit:    write + fdatasync per append, one appender, no Log`);
  console.log(`target:   Log with ${APPENDERS} appenders >= ${TARGET_RATIO}x the MB/s of fsync-per-append (median of the rounds' ratios)`);

  const ratios: number[] = [];
  const totals = { raw: emptyResult(), single: emptyResult(), group: emptyResult() };
  for (let round = 1; round <= ROUNDS; round += 1) {
    syncFilesystems();
    const raw = fsyncPerAppend(path.join(context.dir, `fsync-per-append-${round}.log`), pool, durationMs);
    report(round, 'fsync per append (1 writer, no Log)', raw, batchBytes);

    syncFilesystems();
    const group = await logPhase(path.join(context.dir, `log-${APPENDERS}-${round}`), pool, APPENDERS, durationMs);
    report(round, `Log, ${APPENDERS} appenders`, group, batchBytes);

    syncFilesystems();
    const single = await logPhase(path.join(context.dir, `log-1-${round}`), pool, 1, durationMs);
    report(round, 'Log, 1 appender', single, batchBytes);

    ratios.push(mbps(group, batchBytes) / mbps(raw, batchBytes));
    add(totals.raw, raw);
    add(totals.single, single);
    add(totals.group, group);
  }
  const ratio = median(ratios);
  const batchesPerFsync = totals.group.appends / totals.group.fdatasyncs;
  const met = ratio >= TARGET_RATIO;
  console.log(`all rounds: fsync-per-append ${mbps(totals.raw, batchBytes).toFixed(2)} MB/s, Log 1 appender ${mbps(totals.single, batchBytes).toFixed(2)} MB/s, ` +
    `Log ${APPENDERS} appenders ${mbps(totals.group, batchBytes).toFixed(2)} MB/s at ${batchesPerFsync.toFixed(2)} batches per fdatasync`);
  console.log(`result:   group commit / fsync-per-append per round: ${ratios.map((r) => r.toFixed(2)).join(', ')}; median ${ratio.toFixed(2)}x (target >= ${TARGET_RATIO}x): ${met ? 'PASS' : 'MISS'}`);
  return [
    {
      name: `${APPENDERS} appenders vs fsync-per-append (${batchesPerFsync.toFixed(1)} batches/fsync)`,
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

function emptyResult(): PhaseResult {
  return { appends: 0, seconds: 0, fdatasyncs: 0, fsyncs: 0 };
}

function add(total: PhaseResult, result: PhaseResult): void {
  total.appends += result.appends;
  total.seconds += result.seconds;
  total.fdatasyncs += result.fdatasyncs;
  total.fsyncs += result.fsyncs;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function report(round: number, label: string, result: PhaseResult, batchBytes: number): void {
  const perSecond = result.appends / result.seconds;
  const perFsync = result.fdatasyncs > 0 ? result.appends / result.fdatasyncs : Number.NaN;
  const fsyncMs = result.fdatasyncs > 0 ? (result.seconds * 1000) / result.fdatasyncs : Number.NaN;
  console.log(
    `round ${round}: ${label.padEnd(36)} ${mbps(result, batchBytes).toFixed(2).padStart(7)} MB/s, ${Math.round(perSecond).toLocaleString('en-US').padStart(7)} appends/s, ` +
      `${result.fdatasyncs.toLocaleString('en-US')} fdatasyncs (${perFsync.toFixed(2)} batches each, one per ${fsyncMs.toFixed(3)} ms)` +
      (result.fsyncs > 0 ? `, ${result.fsyncs} directory/other fsyncs` : ''),
  );
}

function mbps(result: PhaseResult, batchBytes: number): number {
  return (result.appends * batchBytes) / result.seconds / 1e6;
}
