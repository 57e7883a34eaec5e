// Method: mutation testing of the simulation's checks. Each case injects a deliberately broken rule
// through an injection point the code already has (the core's QuorumRule, the node's storage) and asserts that the simulation fails
// within a bounded number of seeds, naming the seed. A checker that cannot fail proves nothing.
import { describe, expect, it } from 'vitest';
import type { Offset } from '../../log/index.js';
import { MemoryStorage } from '../memory-storage.js';
import { MAJORITY, type QuorumRule } from '../quorum.js';
import { runSimulation, SimulationFailure } from './simulation.js';

interface Mutation {
  quorum?: QuorumRule;
  storage?: () => MemoryStorage<number>;
}

const MUTATIONS: Record<string, Mutation> = {
  // The leader commits what it alone holds: a committed entry can live on a minority and be lost.
  'a quorum rule that commits without a majority': { quorum: { ...MAJORITY, committedEnd: (voters, matchEnd) => Math.max(...voters.map(matchEnd)) as Offset } },
  // Any single grant wins: two leaders in one term, or a leader missing committed entries.
  'a quorum rule that wins an election with one vote': { quorum: { ...MAJORITY, voteResult: (_voters, votes) => ([...votes.values()].some(Boolean) ? 'won' : 'pending') } },
  // fsync that does nothing: acknowledged entries and cast votes vanish in a crash.
  'a disk that acknowledges fsync without making writes durable': { storage: () => new LyingDisk() },
};

/** A disk that acknowledges fsync without making anything durable: a crash loses every write. */
class LyingDisk extends MemoryStorage<number> {
  override sync(): void {}
}

function firstFailure(options: Mutation, seeds: number): SimulationFailure | undefined {
  for (let seed = 0; seed < seeds; seed++) {
    try {
      runSimulation({ seed, events: 2_000, ...options });
    } catch (error) {
      if (error instanceof SimulationFailure) return error;
      throw error;
    }
  }
  return undefined;
}

describe('the simulation catches a broken rule', () => {
  for (const [name, mutation] of Object.entries(MUTATIONS)) {
    it(name, () => {
      const failure = firstFailure(mutation, 50);
      expect(failure, `no seed caught "${name}"`).toBeDefined();
      console.log(`"${name}" caught: ${failure?.message.split('\n')[0]}`);
      expect(failure?.message).toMatch(/^seed \d+ failed at event \d+/);
      // The failing seed replays to the same failure.
      const again = firstFailureAt(mutation, (failure as SimulationFailure).seed);
      expect(again?.message).toBe(failure?.message);
    });
  }
});

function firstFailureAt(options: Mutation, seed: number): SimulationFailure | undefined {
  try {
    runSimulation({ seed, events: 2_000, ...options });
  } catch (error) {
    if (error instanceof SimulationFailure) return error;
    throw error;
  }
  return undefined;
}
