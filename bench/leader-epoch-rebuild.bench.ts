/**
 * Rebuilding the leader-epoch cache from batch headers: the time of a clean `Log.open` on a 1 GiB log
 * whose `leader-epoch-checkpoint` is missing, against the same open with the file present. The
 * difference is the header scan (`log.recovery.leaderEpochBytesScanned` bytes read), which an unclean
 * open also pays over the segments recovery rescans. Target: >= 1,000 MB/s of log, so that the rebuild
 * stays well below the recovery scan it follows (>= 500 MB/s, `recovery.bench.ts`).
 *
 * Three batch sizes, 1, 16 (the recovery bench's) and 64 KiB: the scan reads the files in 1 MiB
 * windows either way, but parses one header per batch. The epoch changes every 4,096 batches;
 * segments are 256 MiB. Each figure is the median of five opens with the
 * file and five without. Page cache: `sync` runs first and the files stay cached, so this measures the
 * code, not the disk; a cold rebuild after a power loss is bounded by the disk's read speed for small
 * batches and by its random-read rate (one read per batch) for large ones.
 *
 * Measured (2 x AMD EPYC, Node 20, load average 12): 0.63 s per GiB of 1 KiB batches, 0.42 s of 16 KiB,
 * 0.28 s of 64 KiB.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LEADER_EPOCH_CHECKPOINT_FILE } from '../log/leader-epoch-cache.js';
import { Log } from '../log/log.js';
import { asEpoch } from '../log/units.js';
import { batchPool } from './log-append.bench.js';
import { syncFilesystems } from './machine.js';
import type { BenchContext, Figure } from './run.js';

const LOG_BYTES = 1024 * 1024 * 1024;
const SEGMENT_BYTES = 256 * 1024 * 1024;
const BATCHES_PER_EPOCH = 4096;
const TARGET_MB_PER_SECOND = 1000;
const ROUNDS = 5;

export async function run(context: BenchContext): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const batchBytes of [1024, 16 * 1024, 64 * 1024]) {
    const logBytes = Math.max(batchBytes * 256, Math.floor(LOG_BYTES * Math.min(context.scale, 1)));
    const dir = path.join(context.dir, `log-${batchBytes}`);
    const config = { flushPolicy: 'never', segmentBytes: SEGMENT_BYTES } as const;
    const pool = batchPool(64, batchBytes, Math.min(batchBytes, 1024));
    const count = Math.floor(logBytes / batchBytes);
    const writer = await Log.open(dir, config);
    for (let i = 0; i < count; i += 1) {
      await writer.append(Buffer.from(pool[i % pool.length] as Buffer), { leaderEpoch: asEpoch(Math.floor(i / BATCHES_PER_EPOCH)) });
    }
    const epochs = writer.leaderEpochs.length;
    await writer.close();
    syncFilesystems();

    // Medians of alternating runs: one open is too short to time alone on a shared machine.
    const withFiles: Opened[] = [];
    const rebuilds: Opened[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      withFiles.push(await timedOpen(dir, config));
      fs.rmSync(path.join(dir, LEADER_EPOCH_CHECKPOINT_FILE));
      rebuilds.push(await timedOpen(dir, config));
    }
    const withFile = median(withFiles);
    const rebuilt = median(rebuilds);
    if (rebuilt.source !== 'rebuilt' || rebuilt.epochs !== epochs || withFile.source !== 'file') {
      throw new Error(`rebuild went wrong: ${JSON.stringify({ withFile, rebuilt, epochs })}`);
    }
    const scanSeconds = Math.max(rebuilt.seconds - withFile.seconds, 1e-6);
    const mbps = logBytes / scanSeconds / 1e6;
    const met = mbps >= TARGET_MB_PER_SECOND;
    console.log(
      `${batchBytes / 1024} KiB batches: ${(logBytes / 2 ** 20).toFixed(0)} MiB, ${count.toLocaleString('en-US')} batches, ${epochs} epochs; ` +
        `open with the file ${withFile.seconds.toFixed(3)} s, without ${rebuilt.seconds.toFixed(3)} s ` +
        `(${(rebuilt.bytesScanned / 2 ** 20).toFixed(0)} MiB read): rebuild ${mbps.toFixed(0)} MB/s of log, ` +
        `${((scanSeconds * LOG_BYTES) / logBytes).toFixed(2)} s per GiB: ${met ? 'PASS' : 'MISS'}`,
    );
    figures.push({
      name: `leader-epoch rebuild, ${batchBytes / 1024} KiB batches (${((scanSeconds * LOG_BYTES) / logBytes).toFixed(2)} s per GiB)`,
      value: mbps,
      unit: 'MB/s',
      target: `>= ${TARGET_MB_PER_SECOND} MB/s`,
      met,
    });
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}

interface Opened {
  seconds: number;
  source: string;
  bytesScanned: number;
  epochs: number;
}

function median(runs: Opened[]): Opened {
  return [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)] as Opened;
}

async function timedOpen(dir: string, config: { flushPolicy: 'never'; segmentBytes: number }): Promise<Opened> {
  const started = performance.now();
  const log = await Log.open(dir, config);
  const seconds = (performance.now() - started) / 1000;
  const result = { seconds, source: log.recovery.leaderEpochCache, bytesScanned: log.recovery.leaderEpochBytesScanned, epochs: log.leaderEpochs.length };
  await log.close();
  return result;
}
