// Method: Kafka's RangeAssignor examples checked exactly, and fast-check properties over random
// groups (subscriptions, missing topics, member order) against a per-topic recomputation of the
// contiguous ranges the rule defines.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Assignment, AssignmentInput, AssignorMember } from './assignor.js';
import { assignRange } from './range-assignor.js';

const TOPICS = ['orders', 'payments', 'audit'] as const;

function member(memberId: string, subscribedTopics: readonly string[]): AssignorMember {
  return { memberId, subscribedTopics, current: [] };
}

function names(assignment: Assignment): Record<string, string[]> {
  return Object.fromEntries([...assignment].map(([id, list]) => [id, list.map(({ topic, partition }) => `${topic}-${partition}`)]));
}

const groupArbitrary = fc.record({
  counts: fc.tuple(...TOPICS.map(() => fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }))),
  members: fc.uniqueArray(
    fc.record({
      memberId: fc.string({ minLength: 1, maxLength: 4 }),
      subscribedTopics: fc.subarray([...TOPICS, 'missing']),
      current: fc.array(fc.record({ topic: fc.constantFrom(...TOPICS), partition: fc.nat(20) }), { maxLength: 4 }),
    }),
    { selector: (m) => m.memberId, maxLength: 10 },
  ),
});

function inputOf(group: { counts: readonly (number | undefined)[]; members: AssignorMember[] }): AssignmentInput {
  const partitionCounts = new Map<string, number>();
  for (const [t, topic] of TOPICS.entries()) {
    const count = group.counts[t];
    if (count !== undefined) partitionCounts.set(topic, count);
  }
  return { members: group.members, partitionCounts };
}

describe('assignRange', () => {
  it("gives 2 members of a 3-partition topic 0,1 and 2, as Kafka's RangeAssignor", () => {
    const assignment = assignRange({ members: [member('c1', ['t']), member('c0', ['t'])], partitionCounts: new Map([['t', 3]]) });
    expect(names(assignment)).toEqual({ c0: ['t-0', 't-1'], c1: ['t-2'] });
    expect([...assignment.keys()]).toEqual(['c0', 'c1']);
  });

  it("matches the RangeAssignor javadoc: two topics of 3 partitions, the first member gets 4", () => {
    const assignment = assignRange({
      members: [member('C0', ['t0', 't1']), member('C1', ['t0', 't1'])],
      partitionCounts: new Map([['t0', 3], ['t1', 3]]),
    });
    expect(names(assignment)).toEqual({ C0: ['t0-0', 't0-1', 't1-0', 't1-1'], C1: ['t0-2', 't1-2'] });
  });

  it('splits 10 partitions over 3 members as 4, 3, 3 and skips topics that do not exist', () => {
    const assignment = assignRange({
      members: [member('b', ['t', 'gone']), member('a', ['t']), member('c', ['t', 'u']), member('idle', ['gone'])],
      partitionCounts: new Map([['t', 10], ['u', 2]]),
    });
    expect(names(assignment)).toEqual({
      a: ['t-0', 't-1', 't-2', 't-3'],
      b: ['t-4', 't-5', 't-6'],
      c: ['t-7', 't-8', 't-9', 'u-0', 'u-1'],
      idle: [],
    });
  });

  it('assigns every partition of a subscribed topic once, in contiguous ranges by memberId', () => {
    fc.assert(
      fc.property(groupArbitrary, (group) => {
        const input = inputOf(group);
        const assignment = assignRange(input);
        expect(new Set(assignment.keys())).toEqual(new Set(group.members.map((m) => m.memberId)));
        for (const [t, topic] of TOPICS.entries()) {
          const count = group.counts[t] ?? 0;
          const subscribers = group.members
            .filter((m) => m.subscribedTopics.includes(topic) && group.counts[t] !== undefined)
            .map((m) => m.memberId)
            .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
          const got = subscribers.map((id) => assignment.get(id)!.filter((tp) => tp.topic === topic).map((tp) => tp.partition));
          // Concatenated in memberId order they are 0..count-1; the sizes differ by at most one, larger first.
          if (subscribers.length > 0) expect(got.flat()).toEqual(Array.from({ length: count }, (_, p) => p));
          const sizes = got.map((list) => list.length);
          for (let i = 1; i < sizes.length; i++) expect(sizes[i - 1]! - sizes[i]!).toBeGreaterThanOrEqual(0);
          if (sizes.length > 0) expect(sizes[0]! - sizes[sizes.length - 1]!).toBeLessThanOrEqual(1);
          // Nobody else holds the topic.
          for (const m of group.members) {
            if (!subscribers.includes(m.memberId)) expect(assignment.get(m.memberId)!.some((tp) => tp.topic === topic)).toBe(false);
          }
        }
        for (const list of assignment.values()) {
          const sorted = [...list].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
          expect(list).toEqual(sorted);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('gives the same answer whatever the order of members and of their subscriptions', () => {
    fc.assert(
      fc.property(groupArbitrary, fc.infiniteStream(fc.nat()), (group, random) => {
        const input = inputOf(group);
        const shuffled = shuffle(
          group.members.map((m) => ({ ...m, subscribedTopics: shuffle([...m.subscribedTopics, ...m.subscribedTopics], random) })),
          random,
        );
        expect([...assignRange({ ...input, members: shuffled })]).toEqual([...assignRange(input)]);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects duplicate member ids and bad partition counts', () => {
    expect(() => assignRange({ members: [member('a', ['t']), member('a', ['t'])], partitionCounts: new Map([['t', 1]]) })).toThrow(RangeError);
    expect(() => assignRange({ members: [member('a', ['t'])], partitionCounts: new Map([['t', -1]]) })).toThrow(RangeError);
    expect(() => assignRange({ members: [member('a', ['t'])], partitionCounts: new Map([['t', 1.5]]) })).toThrow(RangeError);
  });
});

function shuffle<T>(items: T[], random: Iterator<number>): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = (random.next().value as number) % (i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
