/**
 * The dashboard's memory of the last minutes: every `intervalMs` (5 s) it reads each hosted
 * partition's high watermark and the offsets and bytes served to consumers, and each coordinated
 * group's total lag, and keeps per partition the produce and fetch rates since the previous reading
 * and per group the lag, in rings of `capacity` samples (120: ten minutes).
 *
 * Rates are offsets per second (a control batch takes an offset too, so they count records plus the
 * rare leader-change marker) and bytes per second for fetches. The produce rate is the high
 * watermark's growth: what became visible to consumers, the same on the leader and its followers.
 * A partition is keyed by its topic id, so a topic deleted and created again starts a new series;
 * series of partitions and groups no longer present are dropped at the next sample.
 *
 * Concurrency: one thread; `sample()` is synchronous and runs from the injected timer (or a test).
 */
import { SampleRing } from './sample-ring.js';

/** The clock and the periodic timer, injected so tests drive time themselves. */
export interface SamplerTimers {
  now(): number;
  /** Calls `tick` every `ms` until the returned function is called. */
  every(ms: number, tick: () => void): () => void;
}

/** Wall-clock time and an unref'd interval: sampling never keeps a process alive. */
export const REAL_TIMERS: SamplerTimers = Object.freeze({
  now: () => Date.now(),
  every(ms: number, tick: () => void) {
    const timer = setInterval(tick, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
});

export const SAMPLE_INTERVAL_MS = 5000;
/** Ten minutes of samples at the default interval. */
export const SAMPLE_CAPACITY = 120;

export interface PartitionReading {
  readonly topicId: string;
  readonly partition: number;
  readonly highWatermark: number;
  /** Offsets served to consumers so far (only grows). */
  readonly servedOffsets: number;
  readonly servedBytes: number;
}

export interface GroupReading {
  readonly groupId: string;
  /** Sum of the known per-partition lags. */
  readonly lag: number;
}

export interface TrafficSample {
  readonly atMs: number;
  /** High-watermark growth, offsets per second. */
  readonly producedPerSec: number;
  readonly fetchedPerSec: number;
  readonly fetchedBytesPerSec: number;
}

export interface LagSample {
  readonly atMs: number;
  readonly lag: number;
}

export interface TrafficSamplerOptions {
  /** What to sample, read at each tick. */
  readonly read: () => { readonly partitions: readonly PartitionReading[]; readonly groups: readonly GroupReading[] };
  readonly timers: SamplerTimers;
  readonly intervalMs?: number;
  readonly capacity?: number;
}

interface PartitionSeries {
  last: { atMs: number; highWatermark: number; servedOffsets: number; servedBytes: number };
  readonly samples: SampleRing<TrafficSample>;
}

export class TrafficSampler {
  private readonly options: TrafficSamplerOptions;
  private readonly capacity: number;
  private readonly partitions = new Map<string, PartitionSeries>();
  private readonly groups = new Map<string, SampleRing<LagSample>>();
  private stop: (() => void) | undefined;

  constructor(options: TrafficSamplerOptions) {
    this.options = options;
    this.capacity = options.capacity ?? SAMPLE_CAPACITY;
    const intervalMs = options.intervalMs ?? SAMPLE_INTERVAL_MS;
    if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) throw new RangeError(`sample interval must be a positive integer of ms, got ${intervalMs}`);
  }

  /** Takes a first reading (the baseline of the first rates) and samples every interval until `close()`. */
  start(): void {
    if (this.stop !== undefined) return;
    this.sample();
    this.stop = this.options.timers.every(this.options.intervalMs ?? SAMPLE_INTERVAL_MS, () => this.sample());
  }

  sample(): void {
    const atMs = this.options.timers.now();
    const { partitions, groups } = this.options.read();
    const seen = new Set<string>();
    for (const reading of partitions) {
      const key = partitionKey(reading.topicId, reading.partition);
      seen.add(key);
      const now = { atMs, highWatermark: reading.highWatermark, servedOffsets: reading.servedOffsets, servedBytes: reading.servedBytes };
      const series = this.partitions.get(key);
      if (series === undefined) {
        this.partitions.set(key, { last: now, samples: new SampleRing(this.capacity) });
        continue;
      }
      const seconds = (atMs - series.last.atMs) / 1000;
      if (seconds <= 0) continue;
      const rate = (to: number, from: number) => Math.max(0, to - from) / seconds;
      series.samples.push({
        atMs,
        producedPerSec: rate(now.highWatermark, series.last.highWatermark),
        fetchedPerSec: rate(now.servedOffsets, series.last.servedOffsets),
        fetchedBytesPerSec: rate(now.servedBytes, series.last.servedBytes),
      });
      series.last = now;
    }
    for (const key of this.partitions.keys()) if (!seen.has(key)) this.partitions.delete(key);

    const seenGroups = new Set<string>();
    for (const { groupId, lag } of groups) {
      seenGroups.add(groupId);
      let ring = this.groups.get(groupId);
      if (ring === undefined) this.groups.set(groupId, (ring = new SampleRing(this.capacity)));
      ring.push({ atMs, lag });
    }
    for (const groupId of this.groups.keys()) if (!seenGroups.has(groupId)) this.groups.delete(groupId);
  }

  /** The rates of one partition, oldest first; empty before two readings. */
  partitionSeries(topicId: string, partition: number): TrafficSample[] {
    return this.partitions.get(partitionKey(topicId, partition))?.samples.toArray() ?? [];
  }

  /** The total lag of one group over time, oldest first. */
  groupSeries(groupId: string): LagSample[] {
    return this.groups.get(groupId)?.toArray() ?? [];
  }

  close(): void {
    this.stop?.();
    this.stop = undefined;
  }
}

function partitionKey(topicId: string, partition: number): string {
  return `${topicId}/${partition}`;
}
