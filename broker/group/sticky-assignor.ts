/**
 * The sticky assignor, the group coordinator's default: balanced like Kafka's server-side
 * UniformAssignor and sticky like its CooperativeStickyAssignor, computed from each member's `current`
 * target assignment.
 *
 * Steps (partitions are numbered 0..P-1 in topic then partition order; members 0..M-1 in memberId
 * order, so nothing depends on the input's order):
 * 1. Keep. Each member keeps the partitions of its `current` that are still valid: the topic exists,
 *    the member still subscribes to it, the partition number is below the topic's count. A partition
 *    two members claim goes to the one with the smaller memberId; the other loses it.
 * 2. Split the group into components: members with the same subscription form a class; classes that
 *    share a topic are joined. Components are assigned independently.
 * 3. A component of one class (all its members subscribe to the same topics — the usual group) is
 *    assigned by quota: with P partitions and M members each member holds q = floor(P / M) or q + 1,
 *    and exactly P % M members hold q + 1. Those extra places go first to members that already keep
 *    more than q (in memberId order); a member keeping more than its place releases the excess from
 *    the end of its list. The partitions left over are dealt round-robin to the members below their
 *    place, in memberId order, then one each to the remaining holders of an extra place.
 * 4. A component with different subscriptions is assigned greedily: each unassigned partition goes to
 *    the subscriber of its topic holding the fewest partitions (topics with the fewest subscribers
 *    first); then, topic by topic, a partition moves from its owner to the least loaded subscriber
 *    whenever that one holds at least two fewer, newly placed partitions before kept ones, in passes
 *    until a pass moves nothing. Every move lowers the sum of squared counts, so the passes end.
 *
 * What is guaranteed (and asserted before returning):
 * - completeness and exclusivity: every partition of every existing topic with a subscriber goes to
 *   exactly one member, which subscribes to its topic;
 * - balance: for every partition of topic t held by member a, every member b subscribed to t holds
 *   at least count(a) - 1 partitions, so no single move improves balance. With identical
 *   subscriptions this is max - min <= 1 over the group. With different subscriptions it is Kafka's
 *   `isBalanced` condition, not the best possible spread: moves along a chain (a gives to b which
 *   gives to c, where a and c share no topic) are not searched, so max - min can exceed 1 where only
 *   such a chain would close the gap (a {t1}: 3, b {t1, t2}: 2, c {t2}: 1);
 * - stickiness, in a one-class component: a member keeps min(kept, its place) of its valid partitions,
 *   and extra places go to members that can fill them from what they keep, so the number of partitions
 *   moved is the least any balanced assignment needs (counting from step 1's claims: a double claim
 *   already costs the larger memberId its copy). When a member joins a balanced group, only the
 *   floor(P / M) partitions it receives move; when a member leaves, only its partitions move. In a
 *   component with different subscriptions a kept partition moves only when its owner holds two more
 *   than a fellow subscriber at that point of the passes: sticky, not proven minimal.
 *
 * Cost: O(P + M + the members' `current` and subscription lengths) plus sorting the ids, for
 * one-class components; each greedy pass costs O(P log M + the subscription lengths), and passes
 * converge in a few rounds in practice (the bench measures both paths).
 */
import type { Assignment, AssignmentInput } from './assignor.js';
import { compareStrings, emptyAssignment, existingSubscriptions, readInput } from './assignment-input.js';
import { invariant } from '../invariant.js';

const NO_OWNER = -1;

/** The state shared by the steps, over partition numbers g in [0, P) and member numbers i in [0, M). */
interface State {
  /** Topic number -> its name, in code-unit order. */
  readonly topics: readonly string[];
  /** Topic number -> its first partition number; base[topics.length] = P. */
  readonly base: Int32Array;
  /** Topic number -> its subscribers' member numbers, ascending. */
  readonly subscribers: readonly (readonly number[])[];
  /** Partition number -> member number, or NO_OWNER. */
  readonly owner: Int32Array;
  /** Member number -> how many partitions it holds. */
  readonly counts: Int32Array;
  /** Partition number -> 1 if placed by this computation rather than kept from `current`. */
  readonly placed: Uint8Array;
}

export function assignSticky(input: AssignmentInput): Assignment {
  const members = readInput(input);
  const memberCount = members.length;
  const subscriptions = members.map((member) => existingSubscriptions(member, input.partitionCounts));

  const topicSet = new Set<string>();
  for (const topics of subscriptions) for (const topic of topics) topicSet.add(topic);
  const topics = [...topicSet].sort(compareStrings);
  const topicNumber = new Map<string, number>();
  const base = new Int32Array(topics.length + 1);
  for (const [t, topic] of topics.entries()) {
    topicNumber.set(topic, t);
    base[t + 1] = base[t]! + input.partitionCounts.get(topic)!;
  }
  const partitionCount = base[topics.length]!;

  const subscribers: number[][] = topics.map(() => []);
  const memberTopics: number[][] = subscriptions.map((names, i) =>
    names.map((topic) => {
      const t = topicNumber.get(topic)!;
      subscribers[t]!.push(i);
      return t;
    }),
  );

  const state: State = {
    topics,
    base,
    subscribers,
    owner: new Int32Array(partitionCount).fill(NO_OWNER),
    counts: new Int32Array(memberCount),
    placed: new Uint8Array(partitionCount),
  };

  keepCurrent(state, members.map((member) => member.current), memberTopics, topicNumber);
  for (const component of components(memberTopics, topics.length)) {
    if (component.topics.length === 0) continue;
    if (component.oneClass) assignByQuota(state, component.members, component.topics);
    else assignGreedily(state, component.members, component.topics);
  }
  checkAssignment(state);

  const assignment = emptyAssignment(members);
  const lists = members.map((member) => assignment.get(member.memberId)!);
  for (const [t, topic] of topics.entries()) {
    for (let g = base[t]!; g < base[t + 1]!; g++) lists[state.owner[g]!]!.push({ topic, partition: g - base[t]! });
  }
  return assignment;
}

/** Step 1: each member keeps its valid current partitions; the smaller memberId wins a double claim. */
function keepCurrent(
  state: State,
  current: readonly (readonly { readonly topic: string; readonly partition: number }[])[],
  memberTopics: readonly (readonly number[])[],
  topicNumber: ReadonlyMap<string, number>,
): void {
  const { base, owner, counts } = state;
  for (const [i, partitions] of current.entries()) {
    if (partitions.length === 0) continue;
    const subscribed = new Set(memberTopics[i]);
    for (const { topic, partition } of partitions) {
      const t = topicNumber.get(topic);
      if (t === undefined || !subscribed.has(t)) continue;
      if (!Number.isInteger(partition) || partition < 0 || partition >= base[t + 1]! - base[t]!) continue;
      const g = base[t]! + partition;
      if (owner[g] !== NO_OWNER) continue; // a duplicate in this member's list, or a smaller memberId's claim
      owner[g] = i;
      counts[i]!++;
    }
  }
}

interface Component {
  /** Member numbers, ascending. */
  members: number[];
  /** Topic numbers, ascending. */
  topics: number[];
  /** All members subscribe to exactly `topics`. */
  oneClass: boolean;
}

/** Step 2: classes of identical subscriptions, joined when they share a topic (union-find). */
function components(memberTopics: readonly (readonly number[])[], topicCount: number): Component[] {
  const classOf = new Map<string, number>();
  const classMembers: number[][] = [];
  const classTopics: (readonly number[])[] = [];
  for (const [i, topics] of memberTopics.entries()) {
    const key = topics.join(',');
    let c = classOf.get(key);
    if (c === undefined) {
      c = classMembers.length;
      classOf.set(key, c);
      classMembers.push([]);
      classTopics.push(topics);
    }
    classMembers[c]!.push(i);
  }
  const parent = classMembers.map((_, c) => c);
  const find = (c: number): number => {
    while (parent[c] !== c) {
      parent[c] = parent[parent[c]!]!;
      c = parent[c]!;
    }
    return c;
  };
  const topicClass = new Int32Array(topicCount).fill(-1);
  for (const [c, topics] of classTopics.entries()) {
    for (const t of topics) {
      if (topicClass[t] === -1) topicClass[t] = c;
      else parent[find(c)] = find(topicClass[t]!);
    }
  }
  const byRoot = new Map<number, { classes: number[] }>();
  for (let c = 0; c < classMembers.length; c++) {
    const root = find(c);
    const entry = byRoot.get(root);
    if (entry === undefined) byRoot.set(root, { classes: [c] });
    else entry.classes.push(c);
  }
  return [...byRoot.values()].map(({ classes }) => {
    const topics = new Set<number>();
    for (const c of classes) for (const t of classTopics[c]!) topics.add(t);
    return {
      members: classes.flatMap((c) => classMembers[c]!).sort((a, b) => a - b),
      topics: [...topics].sort((a, b) => a - b),
      oneClass: classes.length === 1,
    };
  });
}

/** Step 3: identical subscriptions; every member ends with q or q + 1, keeping all it can. */
function assignByQuota(state: State, members: readonly number[], topics: readonly number[]): void {
  const { base, owner, counts, placed } = state;
  const memberCount = members.length;
  let partitionCount = 0;
  for (const t of topics) partitionCount += base[t + 1]! - base[t]!;
  const quota = Math.floor(partitionCount / memberCount);
  let extras = partitionCount % memberCount;

  // Who may hold q + 1: those keeping more than q, in memberId order. Any of them keeps q + 1 with the
  // extra place, so which of them gets it does not change how many partitions move.
  const over = members.filter((i) => counts[i]! > quota);
  const place = new Int32Array(counts.length);
  for (const i of members) place[i] = quota;
  for (const i of over.slice(0, extras)) place[i] = quota + 1;
  extras -= Math.min(extras, over.length);

  // Release the excess of those over their place, from the end of their (partition-ordered) lists.
  const excess = new Int32Array(counts.length);
  let anyExcess = false;
  for (const i of over) {
    excess[i] = counts[i]! - place[i]!;
    if (excess[i]! > 0) anyExcess = true;
  }
  if (anyExcess) {
    for (let k = topics.length - 1; k >= 0; k--) {
      const t = topics[k]!;
      for (let g = base[t + 1]! - 1; g >= base[t]!; g--) {
        const i = owner[g]!;
        if (i !== NO_OWNER && excess[i]! > 0) {
          excess[i]!--;
          counts[i]!--;
          owner[g] = NO_OWNER;
        }
      }
    }
  }

  const free: number[] = [];
  for (const t of topics) for (let g = base[t]!; g < base[t + 1]!; g++) if (owner[g] === NO_OWNER) free.push(g);

  // Deal round-robin to members below their place, then the remaining extra places one each.
  let next = 0;
  let needy = members.filter((i) => counts[i]! < place[i]!);
  while (needy.length > 0 && next < free.length) {
    for (const i of needy) {
      const g = free[next++]!;
      owner[g] = i;
      placed[g] = 1;
      counts[i]!++;
    }
    needy = needy.filter((i) => counts[i]! < place[i]!);
  }
  for (let k = 0; k < memberCount && next < free.length; k++) {
    const i = members[k]!;
    if (place[i] !== quota || extras === 0) continue;
    const g = free[next++]!;
    owner[g] = i;
    placed[g] = 1;
    counts[i]!++;
    extras--;
  }
  invariant(next === free.length && extras === 0, () => `quota: ${free.length - next} partitions and ${extras} extra places left over`);
}

/**
 * A binary min-heap of member numbers keyed by (count, member number), with each member's position
 * kept so a count that changes can be restored in O(log M).
 */
interface MemberHeap {
  readonly items: Int32Array;
  size: number;
  /** Member number -> its index in `items` (valid only for members in the heap). */
  readonly position: Int32Array;
  readonly counts: Int32Array;
}

function lighter(heap: MemberHeap, a: number, b: number): boolean {
  const ca = heap.counts[a]!;
  const cb = heap.counts[b]!;
  return ca < cb || (ca === cb && a < b);
}

function swap(heap: MemberHeap, x: number, y: number): void {
  const a = heap.items[x]!;
  const b = heap.items[y]!;
  heap.items[x] = b;
  heap.items[y] = a;
  heap.position[b] = x;
  heap.position[a] = y;
}

function siftUp(heap: MemberHeap, x: number): void {
  while (x > 0) {
    const parent = (x - 1) >> 1;
    if (!lighter(heap, heap.items[x]!, heap.items[parent]!)) return;
    swap(heap, x, parent);
    x = parent;
  }
}

function siftDown(heap: MemberHeap, x: number): void {
  for (;;) {
    const left = 2 * x + 1;
    if (left >= heap.size) return;
    const right = left + 1;
    const child = right < heap.size && lighter(heap, heap.items[right]!, heap.items[left]!) ? right : left;
    if (!lighter(heap, heap.items[child]!, heap.items[x]!)) return;
    swap(heap, x, child);
    x = child;
  }
}

function fillHeap(heap: MemberHeap, members: readonly number[]): void {
  heap.size = members.length;
  for (const [x, i] of members.entries()) {
    heap.items[x] = i;
    heap.position[i] = x;
  }
  for (let x = (heap.size >> 1) - 1; x >= 0; x--) siftDown(heap, x);
}

/** Step 4: different subscriptions; least loaded subscriber first, then single moves until none helps. */
function assignGreedily(state: State, members: readonly number[], topics: readonly number[]): void {
  const { base, subscribers, owner, counts, placed } = state;
  const heap: MemberHeap = { items: new Int32Array(members.length), size: 0, position: new Int32Array(counts.length), counts };
  // The most constrained topics first: they have the fewest members to spread over.
  const order = [...topics].sort((a, b) => subscribers[a]!.length - subscribers[b]!.length || a - b);

  for (const t of order) {
    fillHeap(heap, subscribers[t]!);
    for (let g = base[t]!; g < base[t + 1]!; g++) {
      if (owner[g] !== NO_OWNER) continue;
      const i = heap.items[0]!;
      owner[g] = i;
      placed[g] = 1;
      counts[i]!++;
      siftDown(heap, 0);
    }
  }

  // Within one topic the least count only grows and owners' counts only shrink, so one sweep per topic
  // and pass finds every move that topic offers; other topics' moves can open new ones, hence passes.
  let moved = true;
  while (moved) {
    moved = false;
    for (const t of order) {
      fillHeap(heap, subscribers[t]!);
      for (const wantPlaced of [1, 0]) {
        for (let g = base[t]!; g < base[t + 1]!; g++) {
          if (placed[g] !== wantPlaced) continue;
          const from = owner[g]!;
          const to = heap.items[0]!;
          if (counts[from]! - counts[to]! < 2) continue;
          owner[g] = to;
          placed[g] = 1;
          counts[to]!++;
          siftDown(heap, 0);
          counts[from]!--;
          siftUp(heap, heap.position[from]!);
          moved = true;
        }
      }
    }
  }
}

/** Completeness, exclusivity, subscription and balance, checked on every result (O(P + subscriptions)). */
function checkAssignment(state: State): void {
  const { topics, base, subscribers, owner, counts } = state;
  const held = new Int32Array(counts.length);
  for (const [t, topic] of topics.entries()) {
    const subs = subscribers[t]!;
    let least = Infinity;
    for (const i of subs) least = Math.min(least, counts[i]!);
    for (let g = base[t]!; g < base[t + 1]!; g++) {
      const i = owner[g]!;
      invariant(i !== NO_OWNER, () => `partition ${g - base[t]!} of ${topic} unassigned`);
      held[i]!++;
      invariant(counts[i]! - least <= 1, () => `partition ${g - base[t]!} of ${topic}: owner holds ${counts[i]}, a subscriber ${least}`);
    }
  }
  for (let i = 0; i < counts.length; i++) invariant(held[i] === counts[i], () => `member ${i} holds ${held[i]}, counted ${counts[i]}`);
}
