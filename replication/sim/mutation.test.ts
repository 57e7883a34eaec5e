// Method: mutation testing of the simulation's checks. Each case injects a deliberately broken rule
// through the core's own injection point (its QuorumRule) and asserts that the simulation fails
// within a bounded number of seeds, naming the seed. A checker that cannot fail proves nothing.
import { describe, expect, it } from 'vitest';
import type { Offset } from '../../log/index.js';
import { MAJORITY, type QuorumRule } from '../quorum.js';
import { runSimulation, SimulationFailure } from './simulation.js';

const MUTATIONS: Record<string, QuorumRule> = {
  // The leader commits what it alone holds: a committed entry can live on a minority and be lost.
  'commits without a majority': { ...MAJORITY, committedEnd: (voters, matchEnd) => Math.max(...voters.map(matchEnd)) as Offset },
  // Any single grant wins: two leaders in one term, or a leader missing committed entries.
  'wins an election with one vote': { ...MAJORITY, voteResult: (_voters, votes) => ([...votes.values()].some(Boolean) ? 'won' : 'pending') },
};

function firstFailure(quorum: QuorumRule, seeds: number): SimulationFailure | undefined {
  for (let seed = 0; seed < seeds; seed++) {
    try {
      runSimulation({ seed, events: 2_000, quorum });
    } catch (error) {
      if (error instanceof SimulationFailure) return error;
      throw error;
    }
  }
  return undefined;
}

describe('the simulation catches a broken rule', () => {
  for (const [name, quorum] of Object.entries(MUTATIONS)) {
    it(`a quorum rule that ${name}`, () => {
      const failure = firstFailure(quorum, 50);
      expect(failure, `no seed caught "${name}"`).toBeDefined();
      console.log(`"${name}" caught: ${failure?.message.split('\n')[0]}`);
      expect(failure?.message).toMatch(/^seed \d+ failed at event \d+/);
      // The failing seed replays to the same failure.
      const again = firstFailureAt(quorum, (failure as SimulationFailure).seed);
      expect(again?.message).toBe(failure?.message);
    });
  }
});

function firstFailureAt(quorum: QuorumRule, seed: number): SimulationFailure | undefined {
  try {
    runSimulation({ seed, events: 2_000, quorum });
  } catch (error) {
    if (error instanceof SimulationFailure) return error;
    throw error;
  }
  return undefined;
}
