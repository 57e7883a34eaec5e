/**
 * `npm run fuzz -- --frames N [--seed S] [--group-frames G] [--rss-limit-mib M]`: a long run of the
 * frame fuzzer (`frame-fuzzer.ts`) against a real broker process, printing the seed first, then
 * progress after each group of frames (frames, frames/second, connections, broker RSS), then a
 * summary. Without `--seed` a fresh one is drawn and printed; `--seed S` replays a run's frames.
 * Exits 0 when every check passed, 1 with the failure report (seed, frame, what broke, stderr).
 */
import { parseArgs } from 'node:util';
import { freshSeed } from './fuzz-prng.js';
import { FuzzFailure, mib, runFrameFuzz } from './frame-fuzzer.js';

const USAGE = 'usage: npm run fuzz -- --frames N [--seed S] [--group-frames G] [--rss-limit-mib M]';

function positiveInteger(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}\n${USAGE}`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      frames: { type: 'string' },
      seed: { type: 'string' },
      'group-frames': { type: 'string' },
      'rss-limit-mib': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  const frames = positiveInteger(values.frames, 'frames', 10_000);
  const seed = positiveInteger(values.seed, 'seed', freshSeed()) >>> 0;
  const groupFrames = Math.max(1, positiveInteger(values['group-frames'], 'group-frames', 200));
  const rssLimitMib = positiveInteger(values['rss-limit-mib'], 'rss-limit-mib', 256);
  console.log(`frame fuzzer: seed ${seed}, ${frames} frames in groups of ${groupFrames}, RSS bound ${rssLimitMib} MiB (replay: npm run fuzz -- --seed ${seed} --frames ${frames})`);
  let lastPrint = 0;
  try {
    const summary = await runFrameFuzz({
      seed,
      frames,
      groupFrames,
      rssLimitBytes: rssLimitMib * 1024 * 1024,
      onGroup: (p) => {
        if (p.elapsedMs - lastPrint < 5000 && p.framesDone < frames) return;
        lastPrint = p.elapsedMs;
        const fps = Math.round((p.framesDone / Math.max(1, p.elapsedMs)) * 1000);
        console.log(`  ${p.framesDone}/${frames} frames (${p.framesWritten} written), ${fps} frames/s, ${p.connections} connections, broker RSS peak ${mib(p.rssBytes)} MiB, ${(p.elapsedMs / 1000).toFixed(0)} s`);
      },
    });
    console.log(`passed: seed ${summary.seed}, ${summary.frames} frames (${summary.framesWritten} written, the rest after the broker closed their connection) over ${summary.connections} connections in ${(summary.elapsedMs / 1000).toFixed(1)} s ` +
      `(${summary.framesPerSecond} frames/s); broker RSS ${mib(summary.rssStartBytes)} MiB at start, ${mib(summary.rssMaxBytes)} MiB max, ${mib(summary.rssEndBytes)} MiB at end; ` +
      `${summary.partitionsRead} partitions read from log start to end, ${summary.recordsRead} records decoded`);
    return 0;
  } catch (error) {
    console.error(error instanceof FuzzFailure ? error.message : error);
    return 1;
  }
}

process.exitCode = await main();
