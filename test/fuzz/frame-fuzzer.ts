/**
 * The seeded frame fuzzer: mutated request frames of every API sent over raw sockets to a real
 * broker process, with the broker's health checked after every group of frames.
 *
 * One run:
 * 1. Start the broker (`fuzzed-broker.ts`) with a 200 ms log cleaner period; create a compacted topic
 *    (cleanup.policy=compact, 16 KiB segments, tombstones kept 1 s) and a normal topic; fill the
 *    normal topic's first offsets with 1 MiB per partition (large fetch responses); write keyed
 *    records to both; commit offsets for the fuzzer's groups (state for the group APIs to chew on)
 *    and for a sentinel group the fuzzer never names.
 * 2. For each group of `groupFrames` frames: draw the group's whole plan from the seeded PRNG first
 *    (requests, mutations, and how they are split over connections), so the bytes sent depend on the
 *    seed alone and never on the broker's answers or timing; then send it, up to
 *    `CONCURRENT_CONNECTIONS` connections at a time. A connection carries 1 to 10 frames and is one of:
 *    - pipelined: every frame written at once, responses read until all came, the broker closed the
 *      socket, or nothing came for `QUIET_MS` (a frame whose length lies leaves the broker waiting);
 *    - sequential: one frame, its response (or the same end), the next;
 *    - non-reading: frames written, mostly fetches, nothing read, the socket held open until the
 *      rest of the group is done (a client that never reads must not grow the broker's memory);
 *    - flooding: once per group, `FLOOD_CONNECTIONS` such connections opened together, each with 10
 *      to 20 valid fetches of the normal topic's first megabyte per partition that name each
 *      partition 16 to 32 times (fetch amplification: 64 MiB answers for 3 MiB of data);
 *    - cut: the last frame written only in part, then the socket destroyed.
 *    Then check: the process is alive, its RSS (sampled every 100 ms during the group, while the
 *    non-reading connections are open) stayed under the bound, a normal client is served
 *    (`normal-client-check.ts`).
 * 3. At the end, every partition of every topic is read with the real consumer from log start to its
 *    last record.
 *
 * Any failed check throws `FuzzFailure`, whose message carries the seed, the frame number (the last
 * frame written before the failure was seen; for a crash, the last written before the exit), what
 * broke, the frames written just before, and the tail of the broker's stderr.
 */
import net from 'node:net';
import { API_KEY_LIST, API_KEYS, type ApiKey } from '../../client/protocol/index.js';
import { FuzzRandom } from './fuzz-prng.js';
import { FuzzedBroker } from './fuzzed-broker.js';
import { requestFrame, type FuzzFrame } from './frame-mutator.js';
import { checkEveryPartitionReadable, checkServesNormalClient, commitSentinelOffsets, normalClient, SENTINEL_GROUP, type SentinelOffset } from './normal-client-check.js';
import { floodFetch, generateRequest, type FuzzTarget } from './request-generator.js';

/** Connections in flight at once within a group. */
const CONCURRENT_CONNECTIONS = 8;
/** A connection that has had nothing from the broker for this long is given up. */
const QUIET_MS = 200;
/** Frames remembered for a failure report. */
const RECENT_FRAMES = 12;
/** How often the broker's RSS is read while a group is sent. */
const RSS_SAMPLE_MS = 100;
/** Timestamps of generated batches: a fixed day, so that a seed replays the same bytes on any date. */
const FUZZ_EPOCH_MS = Date.UTC(2026, 0, 1);
const PARTITIONS = 3;
/** Records of this size, this many per partition, fill the normal topic's first offsets. */
const BULK_RECORD_BYTES = 16 * 1024;
const BULK_RECORDS = 64;
/**
 * Each group has one flood wave: this many non-reading connections opened one after the other, each
 * with FLOOD_FRAMES_MIN..MAX amplified fetches (about 15% of a 200-frame group), starting at one of the
 * group's first FLOOD_WAVE_LATEST_CONNECTION + 1 connections.
 */
const FLOOD_CONNECTIONS = 2;
const FLOOD_FRAMES_MIN = 10;
const FLOOD_FRAMES_MAX = 20;
const FLOOD_WAVE_LATEST_CONNECTION = 8;
/** Share of frames sent as generated (valid), not mutated; the rest get one frame mutation. */
const VALID_SHARE = 0.3;

export interface FuzzOptions {
  readonly seed: number;
  readonly frames: number;
  readonly groupFrames: number;
  readonly rssLimitBytes: number;
  /** Called after each group's checks pass. */
  readonly onGroup?: (progress: FuzzProgress) => void;
}

export interface FuzzProgress {
  /** Frames of the groups done so far (written, or skipped after the broker closed their connection). */
  readonly framesDone: number;
  /** Frames actually written to a socket. */
  readonly framesWritten: number;
  readonly connections: number;
  readonly elapsedMs: number;
  /** The broker's peak RSS during the last group. */
  readonly rssBytes: number;
}

export interface FuzzSummary {
  readonly seed: number;
  readonly frames: number;
  readonly framesWritten: number;
  readonly connections: number;
  readonly elapsedMs: number;
  readonly framesPerSecond: number;
  readonly rssStartBytes: number;
  readonly rssMaxBytes: number;
  readonly rssEndBytes: number;
  readonly partitionsRead: number;
  readonly recordsRead: number;
}

export class FuzzFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FuzzFailure';
  }
}

export type ConnectionMode = 'pipelined' | 'sequential' | 'non-reading' | 'flooding' | 'cut';

export interface PlannedConnection {
  readonly mode: ConnectionMode;
  /** Global frame numbers, from 0. */
  readonly first: number;
  readonly frames: readonly FuzzFrame[];
  /** For `cut`: how many bytes of the last frame are written. */
  readonly cutAt: number;
}

const TARGET: FuzzTarget = Object.freeze({
  compactTopic: 'fz-compacted',
  normalTopic: 'fz-normal',
  partitions: PARTITIONS,
  fuzzGroups: Object.freeze(['fz-group-0', 'fz-group-1', 'fz-group-2']),
  nowMs: FUZZ_EPOCH_MS,
});

/** Topics and groups the checks rely on: no frame may be a valid request deleting them. */
const PROTECTED = Object.freeze({ topics: [TARGET.compactTopic, TARGET.normalTopic, '__consumer_offsets'], groups: [SENTINEL_GROUP] });

/** Produce gets a larger share: its batches reach the log and the cleaner. */
function pickApi(rng: FuzzRandom): ApiKey {
  return rng.chance(0.35) ? API_KEYS.produce : rng.pick(API_KEY_LIST);
}

/** The connections and frames of one group, drawn from `rng` alone (so a seed replays them). */
export function planGroup(rng: FuzzRandom, firstFrame: number, frames: number): PlannedConnection[] {
  const plan: PlannedConnection[] = [];
  let next = firstFrame;
  const end = firstFrame + frames;
  // One flood wave per group, early, its connections next to each other so that they are open at once.
  const floodAt = rng.below(FLOOD_WAVE_LATEST_CONNECTION + 1);
  while (next < end) {
    const flood = plan.length >= floodAt && plan.length < floodAt + FLOOD_CONNECTIONS;
    const mode: ConnectionMode = flood ? 'flooding' : rng.weighted<ConnectionMode>([[10, 'pipelined'], [4, 'sequential'], [2, 'non-reading'], [4, 'cut']]);
    const count = Math.min(end - next, flood ? rng.between(FLOOD_FRAMES_MIN, FLOOD_FRAMES_MAX) : rng.between(1, 10));
    const list: FuzzFrame[] = [];
    for (let i = 0; i < count; i++) {
      if (flood) {
        list.push(requestFrame(rng, floodFetch(rng, TARGET), next + i, 1, PROTECTED));
        continue;
      }
      const apiKey = mode === 'non-reading' && rng.chance(0.7) ? API_KEYS.fetch : pickApi(rng);
      list.push(requestFrame(rng, generateRequest(rng, TARGET, apiKey), next + i, VALID_SHARE, PROTECTED));
    }
    const last = list[list.length - 1] as FuzzFrame;
    plan.push({ mode, first: next, frames: list, cutAt: rng.below(last.bytes.length) });
    next += count;
  }
  return plan;
}

/** Counts response frames in what a socket receives (4-byte length, payload), without keeping them. */
class ResponseCounter {
  count = 0;
  private header = Buffer.alloc(0);
  private remaining = 0;

  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - pos);
        this.remaining -= take;
        pos += take;
        if (this.remaining === 0) this.count++;
        continue;
      }
      const need = 4 - this.header.length;
      this.header = Buffer.concat([this.header, chunk.subarray(pos, pos + need)]);
      pos += Math.min(need, chunk.length - pos);
      if (this.header.length === 4) {
        this.remaining = this.header.readUInt32BE(0);
        this.header = Buffer.alloc(0);
        if (this.remaining === 0) this.count++;
      }
    }
  }
}

class Fuzzer {
  /** Highest RSS sampled since `takePeakRss` last ran (sampled every `RSS_SAMPLE_MS` while frames go out). */
  private peakRss = 0;
  /** One past the highest frame number written: where a failure is reported. */
  private frameReached = 0;
  /** Frames written (a sequential connection the broker closed skips the rest of its frames). */
  written = 0;
  private readonly recent: string[] = [];
  private crashedAfterFrame: number | undefined;
  private readonly held: net.Socket[] = [];

  constructor(private readonly broker: FuzzedBroker, private readonly seed: number) {
    broker.child.once('exit', () => {
      this.crashedAfterFrame = this.frameReached - 1;
    });
  }

  private write(socket: net.Socket, frameNumber: number, frame: FuzzFrame, bytes: Buffer = frame.bytes): void {
    this.remember(`#${frameNumber}: ${frame.description}${bytes === frame.bytes ? '' : ` [cut at ${bytes.length} of ${frame.bytes.length} bytes]`}`);
    this.writeQuietly(socket, frameNumber, bytes);
  }

  /** Writes without an entry in the recent frames (a flood is remembered as one line). */
  private writeQuietly(socket: net.Socket, frameNumber: number, bytes: Buffer): void {
    this.frameReached = Math.max(this.frameReached, frameNumber + 1);
    this.written++;
    if (!socket.destroyed) socket.write(bytes, () => undefined);
  }

  private remember(line: string): void {
    this.recent.push(line);
    if (this.recent.length > RECENT_FRAMES) this.recent.shift();
  }

  /** The highest RSS seen since the last call (the current one included), and starts over. */
  takePeakRss(): number {
    const peak = Math.max(this.peakRss, this.broker.rssBytes() ?? 0);
    this.peakRss = 0;
    return peak;
  }

  async runGroup(plan: readonly PlannedConnection[]): Promise<void> {
    // Non-reading connections are destroyed at the group's end, which frees what the broker queued
    // for them: the peak is sampled while they are open.
    const sampler = setInterval(() => (this.peakRss = Math.max(this.peakRss, this.broker.rssBytes() ?? 0)), RSS_SAMPLE_MS);
    try {
      await this.sendGroup(plan);
    } finally {
      clearInterval(sampler);
    }
  }

  private async sendGroup(plan: readonly PlannedConnection[]): Promise<void> {
    const queue = [...plan];
    const workers = Array.from({ length: CONCURRENT_CONNECTIONS }, async () => {
      for (let c = queue.shift(); c !== undefined; c = queue.shift()) {
        if (!this.broker.alive) return;
        await this.runConnection(c);
      }
    });
    await Promise.all(workers);
    this.peakRss = Math.max(this.peakRss, this.broker.rssBytes() ?? 0);
    for (const socket of this.held.splice(0)) socket.destroy();
  }

  private async runConnection(planned: PlannedConnection): Promise<void> {
    const socket = net.connect({ host: '127.0.0.1', port: this.broker.port });
    socket.on('error', () => undefined);
    const counter = new ResponseCounter();
    let closed = false;
    let wake: (() => void) | undefined;
    socket.on('close', () => {
      closed = true;
      wake?.();
    });
    const connected = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('close', () => resolve(false));
    });
    if (!connected) return;
    if (planned.mode !== 'non-reading' && planned.mode !== 'flooding') {
      socket.on('data', (chunk: Buffer) => {
        counter.push(chunk);
        wake?.();
      });
    }
    // Resolves when `count` responses came, the socket closed, or the broker was quiet for QUIET_MS.
    const awaitResponses = async (count: number) => {
      while (!closed && counter.count < count) {
        const before = counter.count;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, QUIET_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
        if (counter.count === before && !closed) return;
      }
    };
    const { frames, first } = planned;
    switch (planned.mode) {
      case 'pipelined':
        frames.forEach((frame, i) => this.write(socket, first + i, frame));
        await awaitResponses(frames.length);
        break;
      case 'sequential':
        for (let i = 0; i < frames.length && !closed; i++) {
          this.write(socket, first + i, frames[i] as FuzzFrame);
          await awaitResponses(i + 1);
        }
        break;
      case 'non-reading':
        socket.pause();
        frames.forEach((frame, i) => this.write(socket, first + i, frame));
        this.held.push(socket);
        return;
      case 'flooding':
        socket.pause();
        this.remember(`#${first}..#${first + frames.length - 1}: ${frames.length} flood fetches on one connection that never reads`);
        frames.forEach((frame, i) => this.writeQuietly(socket, first + i, frame.bytes));
        this.held.push(socket);
        return;
      case 'cut': {
        frames.slice(0, -1).forEach((frame, i) => this.write(socket, first + i, frame));
        const last = frames[frames.length - 1] as FuzzFrame;
        this.write(socket, first + frames.length - 1, last, last.bytes.subarray(0, planned.cutAt));
        await new Promise<void>((resolve) => socket.write(Buffer.alloc(0), () => resolve()));
        break;
      }
    }
    socket.destroy();
  }

  /** A failure report: seed, frame, what broke, the frames before, the broker's stderr. */
  failure(what: string, detail: unknown): FuzzFailure {
    const frame = this.crashedAfterFrame ?? this.frameReached - 1;
    const exit = this.broker.exit;
    const lines = [
      `frame fuzzer, seed ${this.seed}: ${what} after frame #${frame}${exit === undefined ? '' : ` (broker exited: code ${exit.code}, signal ${exit.signal})`}`,
      `  ${detail instanceof Error ? detail.message : String(detail)}`,
      `  replay: npm run fuzz -- --seed ${this.seed} --frames ${frame + 1}`,
      '  last frames written:',
      ...this.recent.map((r) => `    ${r}`),
      // Prefixed with '|' so that test runners do not take the broker's stack lines for this error's.
      '  broker stderr (tail):',
      ...(this.broker.stderrTail() || '(empty)').split('\n').map((l) => `    | ${l}`),
    ];
    return new FuzzFailure(lines.join('\n'));
  }
}

/** Topics, records and group state for the fuzzer to work on. */
async function prepare(port: number): Promise<SentinelOffset[]> {
  const client = normalClient(port);
  try {
    const admin = client.admin();
    await admin.createTopics({
      topics: [
        { topic: TARGET.compactTopic, numPartitions: PARTITIONS, configs: { 'cleanup.policy': 'compact', 'segment.bytes': String(16 * 1024), 'delete.retention.ms': '1000' } },
        { topic: TARGET.normalTopic, numPartitions: PARTITIONS, configs: { 'segment.bytes': String(64 * 1024) } },
      ],
      waitForLeaders: true,
    });
    const producer = client.producer({ acks: -1 });
    // 1 MiB per partition of the normal topic at its first offsets, where fuzzed fetches mostly
    // point: enough for large fetch responses (and for a non-reading client to pile them up).
    const bulk = Buffer.alloc(BULK_RECORD_BYTES, 0x61);
    for (let partition = 0; partition < PARTITIONS; partition++) {
      for (let batch = 0; batch < BULK_RECORDS / 16; batch++) {
        await producer.send({ topic: TARGET.normalTopic, messages: Array.from({ length: 16 }, () => ({ value: bulk, partition })) });
      }
    }
    for (const topic of [TARGET.compactTopic, TARGET.normalTopic]) {
      for (let partition = 0; partition < PARTITIONS; partition++) {
        await producer.send({ topic, messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 16}`, value: `seed-${i}`, partition })) });
      }
    }
    await producer.close();
    const sentinel: SentinelOffset[] = [];
    for (const topic of [TARGET.compactTopic, TARGET.normalTopic]) {
      for (let partition = 0; partition < PARTITIONS; partition++) sentinel.push({ topic, partition, committedOffset: 5 + partition });
    }
    await commitSentinelOffsets(client, sentinel);
    for (const groupId of TARGET.fuzzGroups) {
      await client.cluster.requestAny(API_KEYS.offsetCommit, {
        groupId,
        memberId: '',
        memberEpoch: -1,
        topics: [{ name: TARGET.compactTopic, partitions: [{ partition: 0, committedOffset: 3, committedMetadata: '' }] }],
      });
    }
    return sentinel;
  } finally {
    await client.close();
  }
}

/** Runs the fuzzer; resolves with a summary, or rejects with a `FuzzFailure` naming seed and frame. */
export async function runFrameFuzz(options: FuzzOptions): Promise<FuzzSummary> {
  const { seed, frames, groupFrames, rssLimitBytes } = options;
  const broker = await FuzzedBroker.start({ logCleanupIntervalMs: 200 });
  const fuzzer = new Fuzzer(broker, seed);
  try {
    const sentinel = await prepare(broker.port).catch((error: unknown) => {
      throw fuzzer.failure('setting up topics and groups failed', error);
    });
    const rng = new FuzzRandom(seed);
    const rssStartBytes = broker.rssBytes() ?? 0;
    let rssMaxBytes = rssStartBytes;
    let connections = 0;
    const started = Date.now();
    const check = (round: number) => {
      if (!broker.alive) throw fuzzer.failure('broker died', 'the process is gone');
      const rss = fuzzer.takePeakRss();
      rssMaxBytes = Math.max(rssMaxBytes, rss);
      if (rss > rssLimitBytes) {
        throw fuzzer.failure('broker memory over the bound', `RSS peaked at ${mib(rss)} MiB > ${mib(rssLimitBytes)} MiB during the group (${mib(rssStartBytes)} MiB at start)`);
      }
      return checkServesNormalClient(broker.port, [TARGET.compactTopic, TARGET.normalTopic], PARTITIONS, round, sentinel)
        .catch((error: unknown) => {
          throw fuzzer.failure(broker.alive ? 'normal client not served' : 'broker died', error);
        })
        .then(() => {
          if (!broker.alive) throw fuzzer.failure('broker died', 'the process exited during the check');
          return rss;
        });
    };
    for (let first = 0, round = 0; first < frames; first += groupFrames, round++) {
      const plan = planGroup(rng, first, Math.min(groupFrames, frames - first));
      connections += plan.length;
      await fuzzer.runGroup(plan);
      const rss = await check(round);
      options.onGroup?.({ framesDone: first + plan.reduce((n, c) => n + c.frames.length, 0), framesWritten: fuzzer.written, connections, elapsedMs: Date.now() - started, rssBytes: rss });
    }
    const elapsedMs = Date.now() - started;
    const readable = await checkEveryPartitionReadable(broker.port).catch((error: unknown) => {
      throw fuzzer.failure(broker.alive ? 'a partition is not readable' : 'broker died', error);
    });
    if (!broker.alive) throw fuzzer.failure('broker died', 'the process exited during the final read');
    const rssEndBytes = broker.rssBytes() ?? 0;
    rssMaxBytes = Math.max(rssMaxBytes, rssEndBytes);
    if (rssEndBytes > rssLimitBytes) throw fuzzer.failure('broker memory over the bound', `RSS ${mib(rssEndBytes)} MiB > ${mib(rssLimitBytes)} MiB at the end`);
    return {
      seed,
      frames,
      framesWritten: fuzzer.written,
      connections,
      elapsedMs,
      framesPerSecond: Math.round((frames / Math.max(1, elapsedMs)) * 1000),
      rssStartBytes,
      rssMaxBytes,
      rssEndBytes,
      partitionsRead: readable.partitions,
      recordsRead: readable.records,
    };
  } finally {
    await broker.stop();
  }
}

export function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}
