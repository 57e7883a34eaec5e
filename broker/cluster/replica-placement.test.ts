// Method: Kafka's own expected assignment (AdminZkClientTest.testReplicaAssignment) as golden output,
// then fast-check properties over any broker set, partition count, replication factor and start:
// replicas distinct and from the set, preferred leaders balanced within 1, replica counts equal
// when the partitions are a multiple of the brokers and within min(rf, partitions mod brokers)
// otherwise.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { placeReplicas } from './replica-placement.js';

const caseArb = fc
  .uniqueArray(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 12 })
  .chain((brokers) =>
    fc.record({
      brokers: fc.constant(brokers),
      partitions: fc.integer({ min: 0, max: 120 }),
      replicationFactor: fc.integer({ min: 1, max: brokers.length }),
      start: fc.integer({ min: 0, max: 10_000 }),
    }),
  );

function countsPerBroker(brokers: readonly number[], lists: readonly number[][]): number[] {
  const counts = new Map(brokers.map((b) => [b, 0]));
  for (const list of lists) for (const b of list) counts.set(b, (counts.get(b) ?? 0) + 1);
  return [...counts.values()];
}

const spread = (counts: number[]): number => Math.max(...counts) - Math.min(...counts);

describe('placeReplicas', () => {
  it('gives Kafka\'s assignment for 5 brokers, 10 partitions, replication factor 3, start 0', () => {
    expect(placeReplicas([0, 1, 2, 3, 4], 10, 3, 0)).toEqual([
      [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 0], [4, 0, 1],
      [0, 2, 3], [1, 3, 4], [2, 4, 0], [3, 0, 1], [4, 1, 2],
    ]);
  });

  it('uses the broker ids it is given, in their order', () => {
    expect(placeReplicas([7, 3, 9], 3, 2, 1)).toEqual([[3, 7], [9, 3], [7, 9]]);
  });

  it('places every partition on replication-factor distinct brokers of the set', () => {
    fc.assert(
      fc.property(caseArb, ({ brokers, partitions, replicationFactor, start }) => {
        const placement = placeReplicas(brokers, partitions, replicationFactor, start);
        expect(placement).toHaveLength(partitions);
        const bad = placement.filter(
          (replicas) => replicas.length !== replicationFactor || new Set(replicas).size !== replicationFactor || !replicas.every((id) => brokers.includes(id)),
        );
        expect(bad).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('balances preferred leaders within one, whatever the counts', () => {
    fc.assert(
      fc.property(caseArb, ({ brokers, partitions, replicationFactor, start }) => {
        const leaders = placeReplicas(brokers, partitions, replicationFactor, start).map((replicas) => [replicas[0] as number]);
        expect(spread(countsPerBroker(brokers, leaders))).toBeLessThanOrEqual(1);
      }),
      { numRuns: 500 },
    );
  });

  it('gives every broker the same number of replicas when the partitions are a multiple of the brokers', () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 0, max: 10 }), ({ brokers, replicationFactor, start }, runs) => {
        const partitions = runs * brokers.length;
        const counts = countsPerBroker(brokers, placeReplicas(brokers, partitions, replicationFactor, start));
        expect(counts.every((c) => c === runs * replicationFactor)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('otherwise keeps replica counts within min(replication factor, partitions mod brokers)', () => {
    fc.assert(
      fc.property(caseArb, ({ brokers, partitions, replicationFactor, start }) => {
        const counts = countsPerBroker(brokers, placeReplicas(brokers, partitions, replicationFactor, start));
        expect(spread(counts)).toBeLessThanOrEqual(Math.min(replicationFactor, partitions % brokers.length));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses impossible requests', () => {
    expect(() => placeReplicas([], 1, 1, 0)).toThrow(/at least one broker/);
    expect(() => placeReplicas([1, 1], 1, 1, 0)).toThrow(/distinct/);
    expect(() => placeReplicas([1, 2], 1, 3, 0)).toThrow(/from 1 to the 2 brokers, got 3/);
    expect(() => placeReplicas([1, 2], 1, 0, 0)).toThrow(RangeError);
    expect(() => placeReplicas([1, 2], -1, 1, 0)).toThrow(RangeError);
    expect(() => placeReplicas([1, 2], 1, 1, -1)).toThrow(RangeError);
  });
});
