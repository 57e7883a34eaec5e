/**
 * Index lookups: OffsetIndex.lookup and TimeIndex.lookup on a full 1 GiB segment's worth of entries
 * (262,144 at the default 4 KiB index interval) and on a 10 MiB segment's (2,621), at random targets.
 * Every fetch and every ListOffsets-by-time pays one lookup, so the aim is well under 1 µs at 262,144
 * entries: a binary search of 18 probes over 2-3 MiB that mostly sits in the CPU's caches.
 *
 * Side by side with the shipped lookups, the alternatives their comments reject, run over the same
 * bytes: the same binary search reading `Buffer#readInt32BE` instead of a DataView, and a time index
 * search decoding its int64 timestamps with `readBigInt64BE` instead of two int32 halves.
 *
 * Each tinybench sample runs LOOKUPS_PER_SAMPLE lookups, so the tens of nanoseconds spent reading the
 * clock do not swamp a sub-microsecond operation; the table divides back to one lookup.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Figure } from './run.js';
import { Bench } from 'tinybench';
import { INDEX_BYTES_DEFAULT } from '../log/limits.js';
import { OffsetIndex } from '../log/offset-index.js';
import { TimeIndex } from '../log/time-index.js';
import { asOffset, asPosition } from '../log/units.js';

const FULL_SEGMENT_ENTRIES = 262_144;
const SMALL_SEGMENT_ENTRIES = 2_621;
const INDEX_INTERVAL_BYTES = 4096;
/** About 40 records of 100 bytes per 4 KiB between entries. */
const OFFSETS_PER_ENTRY = 40;
const MS_PER_ENTRY = 10;
const BASE_OFFSET = 1_000_000_000;
const BASE_TIMESTAMP = 1_700_000_000_000;

const LOOKUPS_PER_SAMPLE = 1024;
/** A power of two, so the target cursor wraps with a mask; too many for the branch predictor to learn. */
const TARGET_COUNT = 1 << 16;

interface Fixture {
  entries: number;
  offsetIndex: OffsetIndex;
  timeIndex: TimeIndex;
  /** The files' bytes, for the rejected alternatives. */
  offsetBytes: Buffer;
  timeBytes: Buffer;
  offsetTargets: Float64Array;
  timestampTargets: Float64Array;
}

/** Written into so the JIT cannot drop lookups whose results go unused. */
let sink = 0;

export async function run(): Promise<Figure[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-'));
  const fixtures: Fixture[] = [];
  try {
    fixtures.push(buildFixture(dir, FULL_SEGMENT_ENTRIES), buildFixture(dir, SMALL_SEGMENT_ENTRIES));
    const bench = new Bench({ name: 'index lookup', time: 500, warmupTime: 200 });
    for (const f of fixtures) addTasks(bench, f);
    await bench.run();
    printReport(bench);
    return headlineFigures(bench);
  } finally {
    for (const f of fixtures) {
      f.offsetIndex.delete();
      f.timeIndex.delete();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Both lookups at a full segment's 262,144 entries, against the well-under-1-µs aim. */
function headlineFigures(bench: Bench): Figure[] {
  if (sink === 0.5) console.log(sink); // never true; keeps `sink` observable
  const full = FULL_SEGMENT_ENTRIES.toLocaleString('en-US');
  return bench.tasks
    .filter((task) => !task.name.startsWith('(rejected)') && task.name.endsWith(`${full} entries`) && task.result.state === 'completed')
    .map((task) => {
      const ns = task.result.state === 'completed' ? (task.result.latency.p50 * 1e6) / LOOKUPS_PER_SAMPLE : Number.NaN;
      return { name: `median ${task.name}`, value: ns, unit: 'ns', target: '< 1000 ns', met: ns < 1000 };
    });
}

function buildFixture(dir: string, entries: number): Fixture {
  const offsetFile = path.join(dir, `${entries}.index`);
  const timeFile = path.join(dir, `${entries}.timeindex`);
  const offsetWriter = OffsetIndex.open(offsetFile, asOffset(BASE_OFFSET), INDEX_BYTES_DEFAULT);
  const timeWriter = TimeIndex.open(timeFile, asOffset(BASE_OFFSET), INDEX_BYTES_DEFAULT);
  for (let i = 0; i < entries; i += 1) {
    offsetWriter.append(asOffset(BASE_OFFSET + i * OFFSETS_PER_ENTRY), asPosition(i * INDEX_INTERVAL_BYTES));
    const lastOffsetOfEntry = BASE_OFFSET + (i + 1) * OFFSETS_PER_ENTRY - 1;
    timeWriter.maybeAppend(BASE_TIMESTAMP + i * MS_PER_ENTRY, asOffset(lastOffsetOfEntry));
  }
  offsetWriter.close();
  timeWriter.close();
  // Measure indexes as a restarted broker has them: loaded from their files.
  const offsetIndex = OffsetIndex.open(offsetFile, asOffset(BASE_OFFSET), INDEX_BYTES_DEFAULT);
  const timeIndex = TimeIndex.open(timeFile, asOffset(BASE_OFFSET), INDEX_BYTES_DEFAULT);

  const offsetTargets = new Float64Array(TARGET_COUNT);
  const timestampTargets = new Float64Array(TARGET_COUNT);
  const offsetSpan = entries * OFFSETS_PER_ENTRY;
  const timeSpan = entries * MS_PER_ENTRY;
  for (let i = 0; i < TARGET_COUNT; i += 1) {
    offsetTargets[i] = BASE_OFFSET + Math.floor(Math.random() * offsetSpan);
    timestampTargets[i] = BASE_TIMESTAMP + Math.floor(Math.random() * timeSpan);
  }
  return {
    entries,
    offsetIndex,
    timeIndex,
    offsetBytes: fs.readFileSync(offsetFile),
    timeBytes: fs.readFileSync(timeFile),
    offsetTargets,
    timestampTargets,
  };
}

function addTasks(bench: Bench, f: Fixture): void {
  const n = f.entries.toLocaleString('en-US');
  let cursor = 0;
  const next = (): number => {
    const i = cursor;
    cursor = (cursor + 1) & (TARGET_COUNT - 1);
    return i;
  };
  bench.add(`OffsetIndex.lookup, ${n} entries`, () => {
    let acc = 0;
    for (let k = 0; k < LOOKUPS_PER_SAMPLE; k += 1) {
      acc += f.offsetIndex.lookup(asOffset(f.offsetTargets[next()]!)).position;
    }
    sink += acc;
  });
  bench.add(`TimeIndex.lookup, ${n} entries`, () => {
    let acc = 0;
    for (let k = 0; k < LOOKUPS_PER_SAMPLE; k += 1) acc += f.timeIndex.lookup(f.timestampTargets[next()]!).offset;
    sink += acc;
  });
  if (f.entries !== FULL_SEGMENT_ENTRIES) return;
  bench.add(`(rejected) offset search with Buffer#readInt32BE, ${n} entries`, () => {
    let acc = 0;
    for (let k = 0; k < LOOKUPS_PER_SAMPLE; k += 1) {
      acc += offsetFloorReadInt32BE(f.offsetBytes, f.entries, f.offsetTargets[next()]! - BASE_OFFSET);
    }
    sink += acc;
  });
  bench.add(`(rejected) time search with readBigInt64BE, ${n} entries`, () => {
    let acc = 0;
    for (let k = 0; k < LOOKUPS_PER_SAMPLE; k += 1) {
      acc += timeFloorBigInt(f.timeBytes, f.entries, BigInt(f.timestampTargets[next()]!));
    }
    sink += acc;
  });
}

/** The shipped search's shape with Buffer's own reader; returns the slot, -1 for none. */
function offsetFloorReadInt32BE(bytes: Buffer, count: number, relative: number): number {
  if (bytes.readInt32BE(0) > relative) return -1;
  let lo = 0;
  let hi = count - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (bytes.readInt32BE(mid * 8) <= relative) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The time search decoding each probed timestamp as a BigInt; returns the slot, -1 for none. */
function timeFloorBigInt(bytes: Buffer, count: number, target: bigint): number {
  if (bytes.readBigInt64BE(0) > target) return -1;
  let lo = 0;
  let hi = count - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (bytes.readBigInt64BE(mid * 12) <= target) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function printReport(bench: Bench): void {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const machine = `Node ${process.version}, ${os.platform()} ${os.arch()}, ${cpu} x${os.cpus().length}`;
  console.log(`${bench.name}: ${machine}`);
  const full = FULL_SEGMENT_ENTRIES.toLocaleString('en-US');
  console.log(`target: median well under 1000 ns per lookup at ${full} entries`);
  const rows = bench.tasks.map((task) => {
    const result = task.result;
    if (result.state !== 'completed') {
      const failure = result.state === 'errored' ? result.error.message : result.state;
      return { task: task.name, 'median ns/lookup': failure, 'lookups/s': '', samples: 0 };
    }
    const nsPerLookup = (result.latency.p50 * 1e6) / LOOKUPS_PER_SAMPLE;
    return {
      task: task.name,
      'median ns/lookup': nsPerLookup.toFixed(1),
      'lookups/s': Math.round(1e9 / nsPerLookup).toLocaleString('en-US'),
      samples: result.latency.samplesCount,
    };
  });
  console.table(rows);
}
