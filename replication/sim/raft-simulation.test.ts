// Method: the deterministic simulation (simulation.ts) over many seeds — real RaftNodes, a network
// that drops, delays, duplicates, reorders and partitions, crashes losing unsynced writes, full
// disks and retention — with the safety properties checked after every event and liveness after a
// quiet period. A failure names its seed; `npm run sim -- --seed S --events E` replays it.
import { describe, expect, it } from 'vitest';
import { runSimulation } from './simulation.js';

const SEEDS = 2_000;
const EVENTS = 5_000;

describe('Raft simulation', () => {
  it(`keeps every safety property over ${SEEDS} seeds of ${EVENTS} events, and recovers liveness`, () => {
    let committed = 0;
    let leaders = 0;
    let crashes = 0;
    const started = performance.now();
    for (let seed = 0; seed < SEEDS; seed++) {
      const result = runSimulation({ seed, events: EVENTS });
      committed += result.committed;
      leaders += result.leaders;
      crashes += result.crashes;
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`${SEEDS} seeds x ${EVENTS} events in ${seconds.toFixed(1)} s: ${committed} entries committed, ${leaders} leaders, ${crashes} crashes`);
    // The runs must do real work, not pass by standing still.
    expect(committed / SEEDS).toBeGreaterThan(50);
    expect(leaders / SEEDS).toBeGreaterThan(2);
    expect(crashes / SEEDS).toBeGreaterThan(1);
  });

  it('replays a seed exactly', () => {
    expect(runSimulation({ seed: 42, events: EVENTS })).toEqual(runSimulation({ seed: 42, events: EVENTS }));
  });
});
