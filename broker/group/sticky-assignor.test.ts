// Method: fast-check properties over random groups — subscriptions that differ or agree, topics that
// are missing, `current` lists with stale, invalid and doubly claimed partitions — each checked
// against the guarantees the assignor states (completeness, exclusivity, balance, determinism, least
// movement recomputed independently), with joins and leaves replayed from the assignor's own output;
// plus worked examples.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Assignment, AssignmentInput, AssignorMember, TopicPartition } from './assignor.js';
import { assignSticky } from './sticky-assignor.js';

const TOPICS = ['orders', 'payments', 'audit', 'clicks'] as const;

interface Group {
  counts: readonly (number | undefined)[];
  members: AssignorMember[];
}

const key = ({ topic, partition }: TopicPartition): string => `${topic}-${partition}`;
const byId = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function inputOf(group: Group): AssignmentInput {
  const partitionCounts = new Map<string, number>();
  for (const [t, topic] of TOPICS.entries()) {
    const count = group.counts[t];
    if (count !== undefined) partitionCounts.set(topic, count);
  }
  return { members: group.members, partitionCounts };
}

const countsArbitrary = fc.tuple(...TOPICS.map(() => fc.option(fc.integer({ min: 0, max: 16 }), { nil: undefined })));
const currentArbitrary = fc.array(
  fc.record({ topic: fc.constantFrom(...TOPICS, 'missing'), partition: fc.integer({ min: -1, max: 17 }) }),
  { maxLength: 10 },
);
const memberIdArbitrary = fc.string({ minLength: 1, maxLength: 3 });

/** Members with their own subscriptions, and `current` lists full of junk and double claims. */
const mixedGroupArbitrary: fc.Arbitrary<Group> = fc.record({
  counts: countsArbitrary,
  members: fc.uniqueArray(
    fc.record({ memberId: memberIdArbitrary, subscribedTopics: fc.subarray([...TOPICS, 'missing']), current: currentArbitrary }),
    { selector: (m) => m.memberId, maxLength: 12 },
  ),
});

/** Members subscribed to the same topics (in any order, with repeats). */
const uniformGroupArbitrary: fc.Arbitrary<Group> = fc
  .record({
    counts: countsArbitrary,
    topics: fc.subarray([...TOPICS, 'missing'], { minLength: 1 }),
    members: fc.uniqueArray(fc.record({ memberId: memberIdArbitrary, current: currentArbitrary, reversed: fc.boolean() }), {
      selector: (m) => m.memberId,
      minLength: 1,
      maxLength: 12,
    }),
  })
  .map(({ counts, topics, members }) => ({
    counts,
    members: members.map(({ memberId, current, reversed }) => ({
      memberId,
      subscribedTopics: reversed ? [...topics].reverse().concat(topics) : topics,
      current,
    })),
  }));

/** Partitions of subscribed existing topics, each a key, in no particular order. */
function partitionsOf(input: AssignmentInput): Map<string, Set<string>> {
  const eligible = new Map<string, Set<string>>();
  for (const m of input.members) {
    for (const topic of m.subscribedTopics) {
      for (let p = 0; p < (input.partitionCounts.get(topic) ?? 0); p++) {
        const k = `${topic}-${p}`;
        if (!eligible.has(k)) eligible.set(k, new Set());
        eligible.get(k)!.add(m.memberId);
      }
    }
  }
  return eligible;
}

/** Completeness, exclusivity, subscription, sorted lists and the balance condition the file states. */
function checkValid(input: AssignmentInput, assignment: Assignment): void {
  expect([...assignment.keys()]).toEqual(input.members.map((m) => m.memberId).sort(byId));
  const eligible = partitionsOf(input);
  const ownerOf = new Map<string, string>();
  const problems: string[] = [];
  for (const [memberId, list] of assignment) {
    const sorted = [...list].sort((a, b) => byId(a.topic, b.topic) || a.partition - b.partition);
    if (sorted.some((tp, i) => tp !== list[i])) problems.push(`${memberId}'s list is not sorted`);
    for (const tp of list) {
      const k = key(tp);
      if (ownerOf.has(k)) problems.push(`${k} assigned twice`);
      ownerOf.set(k, memberId);
      if (eligible.get(k)?.has(memberId) !== true) problems.push(`${k} to ${memberId}, not a subscriber`);
    }
  }
  for (const k of eligible.keys()) if (!ownerOf.has(k)) problems.push(`${k} unassigned`);
  // No single move helps: each owner holds at most one more than any fellow subscriber of the topic.
  for (const [k, owner] of ownerOf) {
    for (const other of eligible.get(k) ?? []) {
      if (assignment.get(owner)!.length - assignment.get(other)!.length > 1) problems.push(`${k}: ${owner} could give it to ${other}`);
    }
  }
  expect(problems).toEqual([]);
}

function spread(assignment: Assignment): number {
  const sizes = [...assignment.values()].map((list) => list.length);
  return sizes.length === 0 ? 0 : Math.max(...sizes) - Math.min(...sizes);
}

/** The input again, each member's `current` being its partitions in `assignment`. */
function withCurrent(members: readonly AssignorMember[], assignment: Assignment): AssignorMember[] {
  return members.map((m) => ({ ...m, current: assignment.get(m.memberId) ?? [] }));
}

function ownerMap(assignment: Assignment): Map<string, string> {
  const owners = new Map<string, string>();
  for (const [memberId, list] of assignment) for (const tp of list) owners.set(key(tp), memberId);
  return owners;
}

function shuffle<T>(items: T[], random: Iterator<number>): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = (random.next().value as number) % (i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

describe('assignSticky', () => {
  it('assigns every partition of a subscribed existing topic once, to a subscriber, balanced', () => {
    fc.assert(
      fc.property(mixedGroupArbitrary, (group) => {
        const input = inputOf(group);
        checkValid(input, assignSticky(input));
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps max - min <= 1 when subscriptions are identical', () => {
    fc.assert(
      fc.property(uniformGroupArbitrary, (group) => {
        const input = inputOf(group);
        const assignment = assignSticky(input);
        checkValid(input, assignment);
        expect(spread(assignment)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 1000 },
    );
  });

  it('gives the same answer whatever the order of members, subscriptions and current lists', () => {
    fc.assert(
      fc.property(mixedGroupArbitrary, fc.infiniteStream(fc.nat()), (group, random) => {
        const input = inputOf(group);
        const members = shuffle(
          group.members.map((m) => ({ ...m, subscribedTopics: shuffle([...m.subscribedTopics], random), current: shuffle([...m.current], random) })),
          random,
        );
        expect([...assignSticky({ ...input, members })]).toEqual([...assignSticky(input)]);
      }),
      { numRuns: 500 },
    );
  });

  it('returns its own output unchanged (a balanced assignment is a fixed point)', () => {
    fc.assert(
      fc.property(mixedGroupArbitrary, (group) => {
        const input = inputOf(group);
        const first = assignSticky(input);
        expect([...assignSticky({ ...input, members: withCurrent(input.members, first) })]).toEqual([...first]);
      }),
      { numRuns: 500 },
    );
  });

  it('moves the fewest partitions any balanced assignment could, with identical subscriptions', () => {
    // Current: an exclusive but arbitrary (unbalanced, partial) assignment of the subscribed topics.
    fc.assert(
      fc.property(uniformGroupArbitrary, fc.infiniteStream(fc.nat()), (group, random) => {
        const base = inputOf(group);
        const ids = group.members.map((m) => m.memberId);
        const current = new Map<string, TopicPartition[]>(ids.map((id) => [id, []]));
        const partitions = [...partitionsOf(base).keys()];
        for (const k of partitions) {
          const choice = (random.next().value as number) % (ids.length + 1);
          if (choice < ids.length) {
            const dash = k.lastIndexOf('-');
            current.get(ids[choice]!)!.push({ topic: k.slice(0, dash), partition: Number(k.slice(dash + 1)) });
          }
        }
        const input = { ...base, members: withCurrent(base.members, current) };
        const assignment = assignSticky(input);
        checkValid(input, assignment);

        const total = partitions.length;
        const quota = Math.floor(total / ids.length);
        const extras = total % ids.length;
        const held = ids.map((id) => current.get(id)!.length);
        const fewestMoves = total - held.reduce((sum, n) => sum + Math.min(n, quota), 0) - Math.min(extras, held.filter((n) => n > quota).length);
        const before = ownerMap(current);
        const after = ownerMap(assignment);
        const moved = partitions.filter((k) => before.get(k) !== after.get(k)).length;
        expect(moved).toBe(fewestMoves);
      }),
      { numRuns: 1000 },
    );
  });

  it('moves only the partitions the new member gets when a member joins a balanced group', () => {
    fc.assert(
      fc.property(uniformGroupArbitrary, memberIdArbitrary, (group, newId) => {
        fc.pre(!group.members.some((m) => m.memberId === newId));
        const input = inputOf(group);
        const before = assignSticky(input);
        const topics = group.members[0]!.subscribedTopics;
        const members = [...withCurrent(input.members, before), { memberId: newId, subscribedTopics: topics, current: [] }];
        const after = assignSticky({ ...input, members });
        checkValid({ ...input, members }, after);

        for (const m of group.members) {
          const kept = new Set(before.get(m.memberId)!.map(key));
          for (const tp of after.get(m.memberId)!) expect(kept.has(key(tp)), `${key(tp)} moved to ${m.memberId}`).toBe(true);
        }
        const total = partitionsOf(input).size;
        const got = after.get(newId)!.length;
        expect(got).toBeGreaterThanOrEqual(Math.floor(total / members.length));
        expect(got).toBeLessThanOrEqual(Math.ceil(total / members.length));
        const ownersBefore = ownerMap(before);
        const ownersAfter = ownerMap(after);
        const moved = [...ownersAfter].filter(([k, owner]) => ownersBefore.get(k) !== owner).map(([k]) => k);
        expect(new Set(moved)).toEqual(new Set(after.get(newId)!.map(key)));
      }),
      { numRuns: 1000 },
    );
  });

  it('moves only the leaving member’s partitions when a member leaves a balanced group', () => {
    fc.assert(
      fc.property(uniformGroupArbitrary, fc.nat(), (group, which) => {
        const input = inputOf(group);
        const before = assignSticky(input);
        const leaving = group.members[which % group.members.length]!.memberId;
        const members = withCurrent(input.members, before).filter((m) => m.memberId !== leaving);
        const after = assignSticky({ ...input, members });
        checkValid({ ...input, members }, after);
        expect(spread(after)).toBeLessThanOrEqual(1);

        // Moved: held by someone else now, or by nobody (the last member left).
        const ownersAfter = ownerMap(after);
        const moved = [...ownerMap(before)].filter(([k, owner]) => ownersAfter.get(k) !== owner).map(([k]) => k);
        expect(new Set(moved)).toEqual(new Set(before.get(leaving)!.map(key)));
      }),
      { numRuns: 1000 },
    );
  });

  it('deals a new group round-robin, so each topic spreads over the members', () => {
    const assignment = assignSticky({
      members: ['m1', 'm0'].map((memberId) => ({ memberId, subscribedTopics: ['t0', 't1'], current: [] })),
      partitionCounts: new Map([['t0', 3], ['t1', 3]]),
    });
    expect(Object.fromEntries([...assignment].map(([id, list]) => [id, list.map(key)]))).toEqual({
      m0: ['t0-0', 't0-2', 't1-1'],
      m1: ['t0-1', 't1-0', 't1-2'],
    });
  });

  it('gives a doubly claimed partition to the smaller memberId and drops stale claims', () => {
    const assignment = assignSticky({
      members: [
        { memberId: 'b', subscribedTopics: ['t'], current: [{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }] },
        { memberId: 'a', subscribedTopics: ['t'], current: [{ topic: 't', partition: 0 }, { topic: 'gone', partition: 0 }, { topic: 't', partition: 9 }] },
      ],
      partitionCounts: new Map([['t', 2]]),
    });
    expect(Object.fromEntries([...assignment].map(([id, list]) => [id, list.map(key)]))).toEqual({ a: ['t-0'], b: ['t-1'] });
  });

  it('balances members with different subscriptions over the topics they share', () => {
    // x alone reads `solo`; x, y and z share `shared`: x already has 4, so y and z split `shared`.
    const assignment = assignSticky({
      members: [
        { memberId: 'x', subscribedTopics: ['solo', 'shared'], current: [] },
        { memberId: 'y', subscribedTopics: ['shared'], current: [] },
        { memberId: 'z', subscribedTopics: ['shared'], current: [] },
      ],
      partitionCounts: new Map([['solo', 4], ['shared', 6]]),
    });
    expect([...assignment].map(([id, list]) => [id, list.length])).toEqual([['x', 4], ['y', 3], ['z', 3]]);
  });

  it('rejects duplicate member ids and bad partition counts', () => {
    const m = { memberId: 'a', subscribedTopics: ['t'], current: [] };
    expect(() => assignSticky({ members: [m, m], partitionCounts: new Map([['t', 1]]) })).toThrow(RangeError);
    expect(() => assignSticky({ members: [m], partitionCounts: new Map([['t', Number.NaN]]) })).toThrow(RangeError);
  });
});
