/**
 * One consumer group's state on its coordinator: members, the target assignment, which member owns
 * which partition right now, and the committed offsets. Plain state and synchronous methods; the
 * clock comes in as an argument and nothing here does I/O (`group-coordinator.ts` persists offsets,
 * holds long-poll heartbeats and expires sessions). The member protocol it implements is the one
 * documented in `client/protocol/apis/consumer-group-heartbeat.ts` (Kafka's KIP-848 model).
 *
 * Three views of a member's partitions:
 * - `target`: what the assignor wants it to own once the group is stable;
 * - `owned`: what the coordinator believes it may be processing: everything it was given, until it
 *   reports in a heartbeat that it no longer holds a partition (or leaves, or is removed);
 * - the answer of a heartbeat: `target` minus the partitions another member still owns. Partitions
 *   in `owned` but not in `target` are left out of the answer: the member must revoke them.
 *
 * Invariants (asserted after every change):
 * - a partition is owned by at most one member (`ownerOf` is the inverse of every `owned`); a
 *   partition is handed to a member only when no other member owns it, so two members never
 *   process one partition at once;
 * - the group epoch only grows; a member's epoch never passes it;
 * - a committed offset is replaced only by the commit appended after it (`logOffset` grows).
 */
import { randomUUID } from 'node:crypto';
import { StrataError, type DescribedMember } from '../../client/protocol/index.js';
import { invariant } from '../invariant.js';
import { ASSIGNORS, DEFAULT_ASSIGNOR, isAssignorName, type AssignorName, type TopicPartition } from './assignor.js';

/** How the coordinator's settings reach a group. */
export interface GroupSettings {
  readonly sessionTimeoutMsDefault: number;
  readonly sessionTimeoutMsMin: number;
  readonly sessionTimeoutMsMax: number;
  readonly heartbeatIntervalMs: number;
  readonly maxMembers: number;
}

/** The partition count of a topic that exists, else undefined. */
export type PartitionCountOf = (topic: string) => number | undefined;

export interface HeartbeatInput {
  readonly memberId: string;
  readonly memberEpoch: number;
  readonly sessionTimeoutMs: number;
  readonly subscribedTopicNames: readonly string[];
  readonly serverAssignor: string;
  readonly ownedPartitions: ReadonlyArray<{ readonly topic: string; readonly partitions: readonly number[] }>;
  readonly clientId: string;
  readonly clientHost: string;
}

export interface HeartbeatAnswer {
  readonly memberId: string;
  readonly memberEpoch: number;
  readonly heartbeatIntervalMs: number;
  readonly sessionTimeoutMs: number;
  /** Every partition the member may own now, sorted. */
  readonly assignment: TopicPartition[];
  /** True when the member, holding what it reported, has nothing to change (a long poll may wait). */
  readonly settled: boolean;
}

export interface CommittedOffset {
  readonly offset: number;
  readonly metadata: string;
  readonly commitTimestamp: number;
  /** Offset of the `__consumer_offsets` record that holds it (orders concurrent commits). */
  readonly logOffset: number;
}

export type GroupState = 'Empty' | 'Reconciling' | 'Stable';

/** A member as ConsumerGroupDescribe reports it, with its partitions as a list (not grouped by topic). */
export type MemberDescription = Omit<DescribedMember, 'assignment' | 'targetAssignment'> & {
  assignment: TopicPartition[];
  targetAssignment: TopicPartition[];
};

interface Member {
  readonly memberId: string;
  clientId: string;
  clientHost: string;
  memberEpoch: number;
  previousMemberEpoch: number;
  sessionTimeoutMs: number;
  subscribedTopics: string[];
  target: Set<string>;
  owned: Set<string>;
  /** The last answer's assignment, as keys. */
  answered: Set<string>;
  deadlineMs: number;
  /** A long-poll heartbeat is held: the member is alive while it is. */
  held: boolean;
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** The keys of the partitions a member reported holding. */
export function reportedPartitions(reported: HeartbeatInput['ownedPartitions']): Set<string> {
  const holds = new Set<string>();
  for (const { topic, partitions } of reported) for (const p of partitions) holds.add(partitionKey(topic, p));
  return holds;
}

export function parsePartitionKey(key: string): TopicPartition {
  const cut = key.lastIndexOf('\u0000');
  return { topic: key.slice(0, cut), partition: Number(key.slice(cut + 1)) };
}

function sortedPartitions(keys: Iterable<string>): TopicPartition[] {
  return [...keys].map(parsePartitionKey).sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const key of a) if (!b.has(key)) return false;
  return true;
}

export class ConsumerGroup {
  readonly groupId: string;
  private epoch = 0;
  private assignor: AssignorName = DEFAULT_ASSIGNOR;
  private readonly members = new Map<string, Member>();
  private readonly ownerOf = new Map<string, string>();
  private readonly offsets = new Map<string, CommittedOffset>();
  /** Partition counts of the subscribed topics when the target was last computed. */
  private countsSignature = '';

  constructor(groupId: string) {
    this.groupId = groupId;
  }

  get groupEpoch(): number {
    return this.epoch;
  }

  get assignorName(): AssignorName {
    return this.assignor;
  }

  get memberCount(): number {
    return this.members.size;
  }

  get state(): GroupState {
    if (this.members.size === 0) return 'Empty';
    for (const member of this.members.values()) {
      if (!sameSet(member.owned, member.target) || !sameSet(member.answered, member.target)) return 'Reconciling';
    }
    return 'Stable';
  }

  /** A group with neither members nor committed offsets can be forgotten. */
  get isDead(): boolean {
    return this.members.size === 0 && this.offsets.size === 0;
  }

  hasMember(memberId: string): boolean {
    return this.members.has(memberId);
  }

  // -------------------------------------------------------------------------------------------
  // Membership

  /**
   * Serves one heartbeat (join, heartbeat or leave) at `nowMs`. Throws StrataError for the
   * member's errors (UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH, INVALID_SESSION_TIMEOUT,
   * UNSUPPORTED_ASSIGNOR, GROUP_MAX_SIZE_REACHED); nothing changes then, except that a fenced
   * member is removed.
   */
  heartbeat(input: HeartbeatInput, settings: GroupSettings, countOf: PartitionCountOf, nowMs: number): HeartbeatAnswer {
    const sessionTimeoutMs = input.sessionTimeoutMs === 0 ? settings.sessionTimeoutMsDefault : input.sessionTimeoutMs;
    if (sessionTimeoutMs < settings.sessionTimeoutMsMin || sessionTimeoutMs > settings.sessionTimeoutMsMax) {
      throw new StrataError('INVALID_SESSION_TIMEOUT', `${sessionTimeoutMs} ms is outside [${settings.sessionTimeoutMsMin}, ${settings.sessionTimeoutMsMax}].`);
    }
    if (input.serverAssignor !== '' && !isAssignorName(input.serverAssignor)) {
      throw new StrataError('UNSUPPORTED_ASSIGNOR', `'${input.serverAssignor}'.`);
    }
    if (input.memberEpoch === -1) {
      this.removeMember(input.memberId, countOf);
      return { memberId: input.memberId, memberEpoch: -1, heartbeatIntervalMs: 0, sessionTimeoutMs, assignment: [], settled: true };
    }

    const holds = reportedPartitions(input.ownedPartitions);
    let member: Member;
    let changed = false;
    if (input.memberEpoch === 0) {
      if (input.memberId !== '' && this.members.has(input.memberId)) this.removeMember(input.memberId, countOf);
      if (this.members.size >= settings.maxMembers) throw new StrataError('GROUP_MAX_SIZE_REACHED', `${this.groupId} has ${this.members.size} members.`);
      if (this.members.size === 0 && input.serverAssignor !== '') this.assignor = input.serverAssignor as AssignorName;
      member = {
        memberId: input.memberId !== '' ? input.memberId : randomUUID(),
        clientId: input.clientId,
        clientHost: input.clientHost,
        memberEpoch: 0,
        previousMemberEpoch: 0,
        sessionTimeoutMs,
        subscribedTopics: [],
        target: new Set(),
        owned: new Set(),
        answered: new Set(),
        deadlineMs: 0,
        held: false,
      };
      this.members.set(member.memberId, member);
      changed = true;
    } else {
      const found = this.members.get(input.memberId);
      if (found === undefined) throw new StrataError('UNKNOWN_MEMBER_ID', `${input.memberId} in ${this.groupId}.`);
      if (input.memberEpoch !== found.memberEpoch && input.memberEpoch !== found.previousMemberEpoch) {
        this.removeMember(found.memberId, countOf);
        throw new StrataError('FENCED_MEMBER_EPOCH', `${input.memberId} sent epoch ${input.memberEpoch}, its epoch is ${found.memberEpoch}.`);
      }
      member = found;
      this.release(member, holds);
    }
    member.sessionTimeoutMs = sessionTimeoutMs;
    member.deadlineMs = nowMs + sessionTimeoutMs;
    member.clientId = input.clientId;
    member.clientHost = input.clientHost;
    const subscriptions = [...new Set(input.subscribedTopicNames)].sort();
    if (subscriptions.join('\u0000') !== member.subscribedTopics.join('\u0000')) {
      member.subscribedTopics = subscriptions;
      changed = true;
    }
    if (changed || this.countsSignature !== this.signature(countOf)) this.computeTarget(countOf);
    const answer = this.answer(member, holds, settings);
    this.checkInvariants();
    return answer;
  }

  /**
   * The answer a held heartbeat would get now, for a member that still holds `holds` (the keys of
   * what it reported when the heartbeat arrived: `reportedPartitions`). Undefined if it is gone.
   */
  reanswer(memberId: string, holds: ReadonlySet<string>, settings: GroupSettings): HeartbeatAnswer | undefined {
    const member = this.members.get(memberId);
    if (member === undefined) return undefined;
    const answer = this.answer(member, holds, settings);
    this.checkInvariants();
    return answer;
  }

  /** Marks a member's long poll held (alive) or ended (its session runs from `nowMs`). */
  setHeld(memberId: string, held: boolean, nowMs: number): void {
    const member = this.members.get(memberId);
    if (member === undefined) return;
    member.held = held;
    if (!held) member.deadlineMs = nowMs + member.sessionTimeoutMs;
  }

  /** Removes members whose session passed; returns their ids. */
  expire(nowMs: number, countOf: PartitionCountOf): string[] {
    const expired = [...this.members.values()].filter((m) => !m.held && m.deadlineMs <= nowMs).map((m) => m.memberId);
    for (const memberId of expired) this.removeMember(memberId, countOf);
    return expired;
  }

  /** Recomputes the target if a subscribed topic's partition count changed; true if it did. */
  refreshPartitionCounts(countOf: PartitionCountOf): boolean {
    if (this.members.size === 0 || this.countsSignature === this.signature(countOf)) return false;
    this.computeTarget(countOf);
    return true;
  }

  private removeMember(memberId: string, countOf: PartitionCountOf): void {
    const member = this.members.get(memberId);
    if (member === undefined) return;
    for (const key of member.owned) this.ownerOf.delete(key);
    this.members.delete(memberId);
    this.computeTarget(countOf);
    this.checkInvariants();
  }

  /** Forgets ownership of what the member no longer reports holding. */
  private release(member: Member, holds: ReadonlySet<string>): void {
    for (const key of [...member.owned]) {
      if (!holds.has(key)) {
        member.owned.delete(key);
        this.ownerOf.delete(key);
      }
    }
  }

  private answer(member: Member, holds: ReadonlySet<string>, settings: GroupSettings): HeartbeatAnswer {
    const assignment = new Set<string>();
    for (const key of member.target) {
      const owner = this.ownerOf.get(key);
      if (owner === undefined || owner === member.memberId) assignment.add(key);
    }
    for (const key of assignment) {
      member.owned.add(key);
      this.ownerOf.set(key, member.memberId);
    }
    if (!sameSet(assignment, member.answered) || member.memberEpoch === 0) {
      member.previousMemberEpoch = member.memberEpoch;
      member.memberEpoch = this.epoch;
      member.answered = assignment;
    }
    return {
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: Math.min(settings.heartbeatIntervalMs, Math.floor(member.sessionTimeoutMs / 3)),
      sessionTimeoutMs: member.sessionTimeoutMs,
      assignment: sortedPartitions(assignment),
      settled: sameSet(assignment, holds),
    };
  }

  private signature(countOf: PartitionCountOf): string {
    const topics = new Set<string>();
    for (const member of this.members.values()) for (const topic of member.subscribedTopics) topics.add(topic);
    return [...topics].sort().map((topic) => `${topic}:${countOf(topic) ?? -1}`).join(',');
  }

  /** Runs the assignor over the members and bumps the group epoch. */
  private computeTarget(countOf: PartitionCountOf): void {
    this.epoch++;
    this.countsSignature = this.signature(countOf);
    const partitionCounts = new Map<string, number>();
    for (const member of this.members.values()) {
      for (const topic of member.subscribedTopics) {
        const count = countOf(topic);
        if (count !== undefined) partitionCounts.set(topic, count);
      }
    }
    const assignment = ASSIGNORS[this.assignor]({
      members: [...this.members.values()].map((m) => ({ memberId: m.memberId, subscribedTopics: m.subscribedTopics, current: sortedPartitions(m.target) })),
      partitionCounts,
    });
    for (const member of this.members.values()) {
      member.target = new Set((assignment.get(member.memberId) ?? []).map((tp) => partitionKey(tp.topic, tp.partition)));
    }
  }

  private checkInvariants(): void {
    let owned = 0;
    for (const member of this.members.values()) {
      invariant(member.memberEpoch <= this.epoch, () => `${this.groupId}: member epoch ${member.memberEpoch} above group epoch ${this.epoch}`);
      for (const key of member.owned) {
        invariant(this.ownerOf.get(key) === member.memberId, () => `${this.groupId}: ${key} owned by ${member.memberId} but recorded for ${this.ownerOf.get(key)}`);
        owned++;
      }
    }
    invariant(owned === this.ownerOf.size, () => `${this.groupId}: ${this.ownerOf.size} owners recorded for ${owned} owned partitions`);
  }

  // -------------------------------------------------------------------------------------------
  // Offsets

  /**
   * Checks that `memberId` at `memberEpoch` may commit `partitions` now. Returns, per partition,
   * undefined (allowed) or the error to answer; throws for whole-request errors.
   */
  checkCommit(memberId: string, memberEpoch: number, partitions: readonly TopicPartition[]): Array<StrataError | undefined> {
    if (memberId === '') {
      if (this.members.size > 0) throw new StrataError('NON_EMPTY_GROUP', `${this.groupId} has ${this.members.size} members; only they may commit.`);
      return partitions.map(() => undefined);
    }
    const member = this.members.get(memberId);
    if (member === undefined) throw new StrataError('UNKNOWN_MEMBER_ID', `${memberId} in ${this.groupId}.`);
    if (memberEpoch > member.memberEpoch || memberEpoch < member.previousMemberEpoch) {
      throw new StrataError('STALE_MEMBER_EPOCH', `${memberId} committed with epoch ${memberEpoch}, its epoch is ${member.memberEpoch}.`);
    }
    return partitions.map(({ topic, partition }) =>
      member.owned.has(partitionKey(topic, partition)) ? undefined : new StrataError('PARTITION_NOT_ASSIGNED', `${topic}-${partition} is not owned by ${memberId}.`));
  }

  /** Applies a committed offset (or, with `undefined`, its deletion) read from or written to the log. */
  applyOffset(topic: string, partition: number, committed: CommittedOffset | undefined, logOffset: number): void {
    const key = partitionKey(topic, partition);
    const current = this.offsets.get(key);
    if (current !== undefined && current.logOffset > logOffset) return;
    if (committed === undefined) this.offsets.delete(key);
    else this.offsets.set(key, committed);
  }

  committed(topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(partitionKey(topic, partition));
  }

  /** Every committed offset, sorted by topic and partition. */
  allCommitted(): Array<TopicPartition & CommittedOffset> {
    return sortedPartitions(this.offsets.keys()).map((tp) => ({ ...tp, ...this.offsets.get(partitionKey(tp.topic, tp.partition))! }));
  }

  // -------------------------------------------------------------------------------------------
  // Description

  describeMembers(): MemberDescription[] {
    return [...this.members.values()]
      .sort((a, b) => (a.memberId < b.memberId ? -1 : 1))
      .map((m) => ({
        memberId: m.memberId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberEpoch: m.memberEpoch,
        sessionTimeoutMs: m.sessionTimeoutMs,
        subscribedTopicNames: [...m.subscribedTopics],
        assignment: sortedPartitions(m.owned),
        targetAssignment: sortedPartitions(m.target),
      }));
  }
}
