// Method: drives the sampler with a hand-made clock and timer and scripted readings, and checks the
// rates, the bound on samples, and that vanished partitions and groups lose their series.
import { describe, expect, it } from 'vitest';
import { TrafficSampler, type GroupReading, type PartitionReading, type SamplerTimers } from './traffic-sampler.js';

function manualTimers() {
  let nowMs = 1_000_000;
  const ticks: { ms: number; tick: () => void }[] = [];
  const timers: SamplerTimers = {
    now: () => nowMs,
    every(ms, tick) {
      const entry = { ms, tick };
      ticks.push(entry);
      return () => ticks.splice(ticks.indexOf(entry), 1);
    },
  };
  return {
    timers,
    ticks,
    advance(ms: number) {
      nowMs += ms;
      for (const entry of [...ticks]) entry.tick();
    },
  };
}

describe('TrafficSampler', () => {
  it('turns readings into per-second rates and lag samples on each tick', () => {
    const clock = manualTimers();
    let partitions: PartitionReading[] = [{ topicId: 't1', partition: 0, highWatermark: 0, servedOffsets: 0, servedBytes: 0 }];
    let groups: GroupReading[] = [{ groupId: 'g', lag: 0 }];
    const sampler = new TrafficSampler({ read: () => ({ partitions, groups }), timers: clock.timers, intervalMs: 5000 });
    sampler.start();
    expect(clock.ticks.map((t) => t.ms)).toEqual([5000]);
    expect(sampler.partitionSeries('t1', 0)).toEqual([]);

    partitions = [{ topicId: 't1', partition: 0, highWatermark: 50, servedOffsets: 25, servedBytes: 5000 }];
    groups = [{ groupId: 'g', lag: 25 }];
    clock.advance(5000);
    expect(sampler.partitionSeries('t1', 0)).toEqual([{ atMs: 1_005_000, producedPerSec: 10, fetchedPerSec: 5, fetchedBytesPerSec: 1000 }]);
    expect(sampler.groupSeries('g')).toEqual([
      { atMs: 1_000_000, lag: 0 },
      { atMs: 1_005_000, lag: 25 },
    ]);

    // The topic re-created (a new id) and the group gone: the old series are dropped.
    partitions = [{ topicId: 't2', partition: 0, highWatermark: 3, servedOffsets: 0, servedBytes: 0 }];
    groups = [];
    clock.advance(5000);
    expect(sampler.partitionSeries('t1', 0)).toEqual([]);
    expect(sampler.partitionSeries('t2', 0)).toEqual([]);
    expect(sampler.groupSeries('g')).toEqual([]);

    sampler.close();
    expect(clock.ticks).toEqual([]);
  });

  it('keeps at most `capacity` samples per series', () => {
    const clock = manualTimers();
    let hw = 0;
    const sampler = new TrafficSampler({
      read: () => ({ partitions: [{ topicId: 't', partition: 1, highWatermark: (hw += 10), servedOffsets: 0, servedBytes: 0 }], groups: [{ groupId: 'g', lag: hw }] }),
      timers: clock.timers,
      intervalMs: 1000,
      capacity: 3,
    });
    sampler.start();
    for (let i = 0; i < 10; i++) clock.advance(1000);
    const series = sampler.partitionSeries('t', 1);
    expect(series.map((s) => s.producedPerSec)).toEqual([10, 10, 10]);
    expect(series.at(-1)?.atMs).toBe(1_010_000);
    expect(sampler.groupSeries('g').map((s) => s.lag)).toEqual([90, 100, 110]);
    sampler.close();
  });

  it('refuses a bad interval', () => {
    const clock = manualTimers();
    expect(() => new TrafficSampler({ read: () => ({ partitions: [], groups: [] }), timers: clock.timers, intervalMs: 0 })).toThrow(/positive integer of ms, got 0/);
  });
});
