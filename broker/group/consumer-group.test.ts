// Method: fast-check drives one ConsumerGroup with random interleavings of simulated members that
// follow the heartbeat protocol (join, heartbeat, revoke slowly, leave, miss their session) and of
// partition-count changes; after every step no two members may hold one partition, and after the
// members settle the group must be Stable with every partition held once, by its target owner.
// Example tests pin the errors (fencing, unknown member, commit checks) and the offsets rules.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StrataError } from '../../client/protocol/index.js';
import { ConsumerGroup, partitionKey, type GroupSettings, type HeartbeatAnswer } from './consumer-group.js';

const SETTINGS: GroupSettings = {
  sessionTimeoutMsDefault: 10_000,
  sessionTimeoutMsMin: 1000,
  sessionTimeoutMsMax: 60_000,
  heartbeatIntervalMs: 1000,
  maxMembers: 100,
};

/** A member as its client sees itself: what it holds, and what it was told to give up. */
interface SimMember {
  memberId: string;
  memberEpoch: number;
  subscriptions: string[];
  holds: Set<string>;
  revoking: Set<string>;
  gone: boolean;
}

function owned(member: SimMember) {
  const byTopic = new Map<string, number[]>();
  for (const key of member.holds) {
    const [topic, partition] = key.split('\u0000') as [string, string];
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), Number(partition)]);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

class Sim {
  readonly group = new ConsumerGroup('g');
  readonly members: SimMember[] = [];
  readonly counts = new Map<string, number>([['a', 4], ['b', 3]]);
  nowMs = 0;
  private nextId = 0;

  countOf = (topic: string) => this.counts.get(topic);

  join(subscriptions: string[]): void {
    const member: SimMember = { memberId: `m${this.nextId++}`, memberEpoch: 0, subscriptions, holds: new Set(), revoking: new Set(), gone: false };
    const answer = this.group.heartbeat(this.input(member, 0), SETTINGS, this.countOf, this.nowMs);
    this.members.push(member);
    this.apply(member, answer);
  }

  heartbeat(member: SimMember): void {
    if (member.gone) return;
    try {
      this.apply(member, this.group.heartbeat(this.input(member, member.memberEpoch), SETTINGS, this.countOf, this.nowMs));
    } catch (error) {
      // Removed (session) or fenced: the client gives everything up and stops.
      expect(error).toBeInstanceOf(StrataError);
      expect(['UNKNOWN_MEMBER_ID', 'FENCED_MEMBER_EPOCH']).toContain((error as StrataError).errorName);
      member.gone = true;
      member.holds.clear();
    }
  }

  leave(member: SimMember): void {
    if (member.gone) return;
    this.group.heartbeat(this.input(member, -1), SETTINGS, this.countOf, this.nowMs);
    member.gone = true;
    member.holds.clear();
  }

  finishRevoke(member: SimMember): void {
    for (const key of member.revoking) member.holds.delete(key);
    member.revoking.clear();
  }

  advance(ms: number): void {
    this.nowMs += ms;
    for (const memberId of this.group.expire(this.nowMs, this.countOf)) {
      const member = this.members.find((m) => m.memberId === memberId)!;
      // The coordinator removed it; the real client finds out at its next heartbeat. Until then it
      // may still process its partitions (at-least-once tolerates it; its commits are refused).
      member.gone = true;
      member.holds.clear();
    }
  }

  private input(member: SimMember, memberEpoch: number) {
    return {
      memberId: member.memberId, memberEpoch, sessionTimeoutMs: 0, subscribedTopicNames: member.subscriptions,
      serverAssignor: '', ownedPartitions: owned(member), clientId: 'c', clientHost: 'h',
    };
  }

  private apply(member: SimMember, answer: HeartbeatAnswer): void {
    member.memberEpoch = answer.memberEpoch;
    const assigned = new Set(answer.assignment.map((tp) => partitionKey(tp.topic, tp.partition)));
    for (const key of member.holds) if (!assigned.has(key)) member.revoking.add(key);
    for (const key of assigned) member.holds.add(key);
  }

  live(): SimMember[] {
    return this.members.filter((m) => !m.gone);
  }

  checkDisjoint(): void {
    const holder = new Map<string, string>();
    for (const member of this.live()) {
      for (const key of member.holds) {
        expect(holder.get(key), `${key} held by ${holder.get(key)} and ${member.memberId}`).toBeUndefined();
        holder.set(key, member.memberId);
      }
    }
  }
}

const action = fc.oneof(
  fc.record({ kind: fc.constant('join' as const), topics: fc.subarray(['a', 'b'], { minLength: 1 }) }),
  fc.record({ kind: fc.constantFrom('heartbeat' as const, 'revoke' as const, 'leave' as const), who: fc.nat(20) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 100, max: 6000 }) }),
  fc.record({ kind: fc.constant('grow' as const), topic: fc.constantFrom('a', 'b') }),
);

describe('ConsumerGroup membership', () => {
  it('never lets two members hold one partition, and settles to its target', () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 80 }), (actions) => {
        const sim = new Sim();
        for (const step of actions) {
          const live = sim.live();
          const pick = live.length === 0 || !('who' in step) ? undefined : live[step.who % live.length];
          if (step.kind === 'join') sim.join(step.topics);
          else if (step.kind === 'advance') sim.advance(step.ms);
          else if (step.kind === 'grow') sim.counts.set(step.topic, sim.counts.get(step.topic)! + 1);
          else if (pick !== undefined) {
            if (step.kind === 'heartbeat') sim.heartbeat(pick);
            else if (step.kind === 'revoke') sim.finishRevoke(pick);
            else sim.leave(pick);
          }
          sim.checkDisjoint();
        }
        // Settle: every live member revokes what it was told to and heartbeats, a few rounds.
        for (let round = 0; round < 4; round++) {
          for (const member of sim.live()) {
            sim.finishRevoke(member);
            sim.heartbeat(member);
            sim.checkDisjoint();
          }
        }
        const live = sim.live();
        if (live.length === 0) {
          expect(sim.group.state).toBe('Empty');
          return;
        }
        expect(sim.group.state).toBe('Stable');
        const subscribed = new Set(live.flatMap((m) => m.subscriptions));
        const expected = [...subscribed].flatMap((topic) => Array.from({ length: sim.counts.get(topic)! }, (_, p) => partitionKey(topic, p)));
        const held = live.flatMap((m) => [...m.holds]);
        expect(held.sort()).toEqual(expected.sort());
        const described = sim.group.describeMembers();
        for (const member of live) {
          const target = described.find((d) => d.memberId === member.memberId)!.targetAssignment.map((tp) => partitionKey(tp.topic, tp.partition));
          expect([...member.holds].sort()).toEqual(target.sort());
        }
      }),
      { numRuns: 300 },
    );
  });

  it('hands a partition to a new member only after its owner reports it revoked', () => {
    const sim = new Sim();
    sim.join(['a']);
    const [first] = sim.live();
    expect(first!.holds.size).toBe(4);
    sim.join(['a']);
    const second = sim.live()[1]!;
    expect(second.holds.size).toBe(0);
    expect(sim.group.state).toBe('Reconciling');
    sim.heartbeat(first!);
    expect(first!.revoking.size).toBe(2);
    sim.heartbeat(second);
    expect(second.holds.size).toBe(0);
    sim.finishRevoke(first!);
    sim.heartbeat(first!);
    sim.heartbeat(second);
    expect(second.holds.size).toBe(2);
    expect(sim.group.state).toBe('Stable');
  });

  it('answers unknown members, fences wrong epochs and checks session timeouts and assignors', () => {
    const group = new ConsumerGroup('g');
    const countOf = () => 2;
    const base = { memberId: '', memberEpoch: 0, sessionTimeoutMs: 0, subscribedTopicNames: ['t'], serverAssignor: '', ownedPartitions: [], clientId: 'c', clientHost: 'h' };
    const joined = group.heartbeat(base, SETTINGS, countOf, 0);
    expect(joined.memberId).not.toBe('');
    expect(joined.memberEpoch).toBeGreaterThan(0);
    expect(joined.heartbeatIntervalMs).toBe(1000);
    expect(joined.sessionTimeoutMs).toBe(10_000);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return (error as StrataError).errorName;
      }
      return 'NONE';
    };
    expect(code(() => group.heartbeat({ ...base, memberId: 'nobody', memberEpoch: 3 }, SETTINGS, countOf, 0))).toBe('UNKNOWN_MEMBER_ID');
    expect(code(() => group.heartbeat({ ...base, sessionTimeoutMs: 10 }, SETTINGS, countOf, 0))).toBe('INVALID_SESSION_TIMEOUT');
    expect(code(() => group.heartbeat({ ...base, serverAssignor: 'roundrobin' }, SETTINGS, countOf, 0))).toBe('UNSUPPORTED_ASSIGNOR');
    expect(code(() => group.heartbeat({ ...base, memberId: joined.memberId, memberEpoch: joined.memberEpoch + 5 }, SETTINGS, countOf, 0))).toBe('FENCED_MEMBER_EPOCH');
    // Fencing removed the member.
    expect(group.hasMember(joined.memberId)).toBe(false);
    expect(group.state).toBe('Empty');
  });

  it('removes a member whose session passed, unless its heartbeat is held', () => {
    const group = new ConsumerGroup('g');
    const countOf = () => 1;
    const base = { memberId: '', memberEpoch: 0, sessionTimeoutMs: 2000, subscribedTopicNames: ['t'], serverAssignor: '', ownedPartitions: [], clientId: 'c', clientHost: 'h' };
    const a = group.heartbeat(base, SETTINGS, countOf, 0);
    group.setHeld(a.memberId, true, 0);
    expect(group.expire(5000, countOf)).toEqual([]);
    group.setHeld(a.memberId, false, 5000);
    expect(group.expire(6999, countOf)).toEqual([]);
    expect(group.expire(7000, countOf)).toEqual([a.memberId]);
  });
});

describe('ConsumerGroup offsets', () => {
  it('accepts commits only from members that own the partition, and from outside only when empty', () => {
    const group = new ConsumerGroup('g');
    const countOf = () => 2;
    const joined = group.heartbeat(
      { memberId: '', memberEpoch: 0, sessionTimeoutMs: 0, subscribedTopicNames: ['t'], serverAssignor: '', ownedPartitions: [], clientId: 'c', clientHost: 'h' },
      SETTINGS, countOf, 0,
    );
    const checks = group.checkCommit(joined.memberId, joined.memberEpoch, [{ topic: 't', partition: 0 }, { topic: 'u', partition: 0 }]);
    expect(checks[0]).toBeUndefined();
    expect(checks[1]?.errorName).toBe('PARTITION_NOT_ASSIGNED');
    expect(() => group.checkCommit(joined.memberId, joined.memberEpoch + 1, [])).toThrow(/epoch/);
    expect(() => group.checkCommit('other', 1, [])).toThrow(StrataError);
    expect(() => group.checkCommit('', -1, [])).toThrow(/members/);
    group.heartbeat(
      { memberId: joined.memberId, memberEpoch: -1, sessionTimeoutMs: 0, subscribedTopicNames: [], serverAssignor: '', ownedPartitions: [], clientId: 'c', clientHost: 'h' },
      SETTINGS, countOf, 0,
    );
    expect(group.checkCommit('', -1, [{ topic: 't', partition: 0 }])).toEqual([undefined]);
  });

  it('keeps the commit appended last, whatever order they are applied in', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(1000), { minLength: 1, maxLength: 20 }).chain((offsets) => {
          const commits = offsets.map((offset, logOffset) => ({ offset, logOffset }));
          return fc.tuple(fc.constant(offsets), fc.shuffledSubarray(commits, { minLength: commits.length, maxLength: commits.length }));
        }),
        ([offsets, shuffled]) => {
        const group = new ConsumerGroup('g');
        for (const { offset, logOffset } of shuffled) group.applyOffset('t', 0, { offset, metadata: '', commitTimestamp: 0, logOffset }, logOffset);
        expect(group.committed('t', 0)?.offset).toBe(offsets[offsets.length - 1]);
        },
      ),
    );
  });
});
