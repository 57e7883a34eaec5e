/**
 * Valid requests with random fields for every API in the protocol's registry: the fuzzer's
 * starting points, which `frame-mutator.ts` then damages. A mapped type over `ApiKey` makes the
 * compiler refuse a registry without a generator here, so a new API is fuzzed from the day it lands.
 *
 * Names are drawn mostly from what exists (the fuzz target's compacted and normal topics, its
 * groups) so requests reach real state, and partly from names that do not. Requests that destroy
 * state are kept to the fuzzer's own names: DeleteTopics only names `fz-new-*` topics (which
 * CreateTopics makes), DeleteGroups and OffsetCommit only the fuzzer's groups, never the sentinel
 * group whose committed offsets the health check compares. (`frame-mutator.ts` sees that no
 * mutation turns another request into such a delete.)
 */
import {
  API_KEYS,
  COORDINATOR_KEY_TYPE_GROUP,
  LIST_OFFSETS_EARLIEST,
  LIST_OFFSETS_LATEST,
  MEMBER_EPOCH_JOIN,
  MEMBER_EPOCH_LEAVE,
  type ApiKey,
  type RaftWireMessage,
  type RequestOf,
} from '../../client/protocol/index.js';
import { malformedBatch, validBatch, type FuzzBatch } from './batch-mutator.js';
import type { FuzzRandom } from './fuzz-prng.js';

/** What the fuzzer knows about the broker it aims at. */
export interface FuzzTarget {
  readonly compactTopic: string;
  readonly normalTopic: string;
  readonly partitions: number;
  /** Groups the fuzzer may change (commit, join, delete). */
  readonly fuzzGroups: readonly string[];
  /** Timestamps of generated batches are near this (fixed per run, so a seed replays the same bytes). */
  readonly nowMs: number;
}

/** Topics that fuzzed CreateTopics may make and DeleteTopics may remove. */
export const FUZZ_CREATED_TOPICS: readonly string[] = Array.from({ length: 6 }, (_, i) => `fz-new-${i}`);

export interface GeneratedRequest<K extends ApiKey = ApiKey> {
  readonly apiKey: K;
  readonly body: RequestOf<K>;
  /** A batch description when the request carries one (Produce), for the failure report. */
  readonly note: string;
}

type Generators = { readonly [K in ApiKey]: (rng: FuzzRandom, target: FuzzTarget) => { body: RequestOf<K>; note?: string } };

function topicName(rng: FuzzRandom, target: FuzzTarget): string {
  return rng.weighted<() => string>([
    [4, () => target.compactTopic],
    [3, () => target.normalTopic],
    [1, () => rng.pick(FUZZ_CREATED_TOPICS)],
    [1, () => rng.pick(['', '__consumer_offsets', 'no-such-topic', '../escape', 'a'.repeat(300), rng.word(1, 12)])],
  ])();
}

function partition(rng: FuzzRandom, target: FuzzTarget): number {
  return rng.chance(0.9) ? rng.below(target.partitions) : rng.pick([target.partitions, 2 ** 31 - 1, 2 ** 32 - 1, 9999]);
}

function offset(rng: FuzzRandom): number {
  return rng.chance(0.7) ? rng.below(200) : rng.pick([-1, -2, 2 ** 31, 2 ** 53 - 1, -(2 ** 53 - 1)]);
}

function groupId(rng: FuzzRandom, target: FuzzTarget): string {
  return rng.chance(0.85) ? rng.pick(target.fuzzGroups) : rng.pick(['', 'g'.repeat(300), rng.word(1, 10)]);
}

function transactionalId(rng: FuzzRandom): string {
  return rng.chance(0.8) ? rng.pick(['fz-txn-a', 'fz-txn-b']) : rng.pick(['', 't'.repeat(300), rng.word(1, 10)]);
}

/** The transactional id, producer id and epoch every transaction request carries: mostly plausible, sometimes not. */
function txnIdentity(rng: FuzzRandom): { transactionalId: string; producerId: number; producerEpoch: number } {
  return {
    transactionalId: transactionalId(rng),
    producerId: rng.chance(0.5) ? rng.below(4) * 1024 : rng.pick([-1, 2 ** 53 - 1, -(2 ** 53 - 1)]),
    producerEpoch: rng.chance(0.7) ? rng.below(3) : rng.pick([-1, 32_767, 32_768, 2 ** 31 - 1]),
  };
}

function batchFor(rng: FuzzRandom, target: FuzzTarget): FuzzBatch {
  if (rng.chance(0.75)) return malformedBatch(rng, target.nowMs);
  return validBatch(rng, target.nowMs);
}

function list<T>(rng: FuzzRandom, min: number, max: number, item: () => T): T[] {
  return Array.from({ length: rng.between(min, max) }, item);
}

const GENERATORS: Generators = {
  [API_KEYS.produce]: (rng, target) => {
    const notes: string[] = [];
    // Mostly one batch for the compacted topic, the cleaner's input; sometimes several partitions.
    const topics = list(rng, 1, 2, () => ({
      name: rng.chance(0.8) ? target.compactTopic : topicName(rng, target),
      partitions: list(rng, 1, 2, () => {
        const batch = batchFor(rng, target);
        notes.push(batch.description);
        return { partition: partition(rng, target), records: batch.bytes };
      }),
    }));
    return { body: { acks: rng.pick([1, 1, -1, 0, 2, -2]), timeoutMs: rng.pick([0, 100, 5000, 2 ** 31 - 1]), topics }, note: notes.join('; ') };
  },
  [API_KEYS.fetch]: (rng, target) => ({
    body: {
      maxWaitMs: rng.chance(0.9) ? rng.below(100) : rng.pick([500, 2 ** 31 - 1]),
      minBytes: rng.pick([0, 1, 1024, 2 ** 31 - 1]),
      maxBytes: rng.pick([0, 1, 1024, 1024 * 1024, 64 * 1024 * 1024, 2 ** 32 - 1]),
      topics: list(rng, 0, 3, () => ({
        name: topicName(rng, target),
        // Repeating one partition many times asks for the same bytes many times: amplification.
        partitions: list(rng, 1, rng.chance(0.2) ? 64 : 3, () => ({
          partition: partition(rng, target),
          fetchOffset: offset(rng),
          partitionMaxBytes: rng.pick([0, 1, 4096, 1024 * 1024, 2 ** 32 - 1]),
        })),
      })),
    },
  }),
  [API_KEYS.listOffsets]: (rng, target) => ({
    body: {
      topics: list(rng, 0, 3, () => ({
        name: topicName(rng, target),
        partitions: list(rng, 1, 3, () => ({
          partition: partition(rng, target),
          timestamp: rng.pick([LIST_OFFSETS_EARLIEST, LIST_OFFSETS_LATEST, -3, 0, target.nowMs, target.nowMs + 9 * 86_400_000, 2 ** 53 - 1]),
        })),
      })),
    },
  }),
  [API_KEYS.metadata]: (rng, target) => ({
    body: { topics: list(rng, 0, 4, () => topicName(rng, target)), allTopics: rng.chance(0.3) },
  }),
  [API_KEYS.offsetCommit]: (rng, target) => ({
    body: {
      groupId: groupId(rng, target),
      memberId: rng.chance(0.7) ? '' : rng.word(1, 20),
      memberEpoch: rng.pick([-1, 0, 1, 5, 2 ** 31 - 1]),
      topics: list(rng, 0, 3, () => ({
        name: topicName(rng, target),
        partitions: list(rng, 1, 3, () => ({
          partition: partition(rng, target),
          committedOffset: offset(rng),
          committedMetadata: rng.chance(0.9) ? rng.word(0, 10) : 'm'.repeat(rng.pick([1000, 100_000])),
        })),
      })),
    },
  }),
  [API_KEYS.offsetFetch]: (rng, target) => ({
    body: {
      groupId: groupId(rng, target),
      topics: list(rng, 0, 3, () => ({ name: topicName(rng, target), partitions: list(rng, 0, 3, () => partition(rng, target)) })),
      allTopics: rng.chance(0.5),
    },
  }),
  [API_KEYS.findCoordinator]: (rng, target) => ({
    body: { keyType: rng.chance(0.8) ? COORDINATOR_KEY_TYPE_GROUP : rng.pick([1, 2, 255, 2 ** 32 - 1]), keys: list(rng, 0, 4, () => groupId(rng, target)) },
  }),
  [API_KEYS.listGroups]: () => ({ body: {} }),
  [API_KEYS.apiVersions]: () => ({ body: {} }),
  [API_KEYS.createTopics]: (rng) => ({
    body: {
      topics: list(rng, 0, 2, () => ({
        name: rng.chance(0.85) ? rng.pick(FUZZ_CREATED_TOPICS) : rng.pick(['', '..', 'bad/name', 'x'.repeat(300), '__consumer_offsets']),
        partitions: rng.chance(0.9) ? rng.between(1, 2) : rng.pick([0, 2 ** 32 - 1, 10_001]),
        replicationFactor: rng.chance(0.9) ? 1 : rng.pick([0, 3, 2 ** 32 - 1]),
        configs: rng.chance(0.5) ? {} : rng.weighted<() => Record<string, string>>([
          [3, () => ({ 'cleanup.policy': 'compact', 'segment.bytes': String(rng.between(1024, 8192)) })],
          [1, () => ({ 'segment.bytes': rng.pick(['0', '-1', '1023', '99999999999', 'abc']) })],
          [1, () => ({ 'cleanup.policy': rng.pick(['compact,delete', 'nonsense', '']) })],
          [1, () => ({ [rng.word(1, 8)]: rng.word(0, 8) })],
        ])(),
      })),
      timeoutMs: rng.pick([0, 1000, 5000]),
      validateOnly: rng.chance(0.2),
    },
  }),
  [API_KEYS.deleteTopics]: (rng) => ({
    body: { topics: list(rng, 0, 2, () => rng.pick([...FUZZ_CREATED_TOPICS, '', 'no-such-topic'])), timeoutMs: rng.pick([0, 1000, 5000]) },
  }),
  [API_KEYS.initProducerId]: (rng) => ({
    body: {
      transactionalId: rng.chance(0.8) ? '' : rng.word(1, 12),
      transactionTimeoutMs: rng.pick([0, 60_000, -1, 2 ** 31 - 1]),
      producerId: rng.chance(0.6) ? -1 : rng.pick([0, 1024, 2 ** 53 - 1, -2]),
      producerEpoch: rng.chance(0.6) ? -1 : rng.pick([0, 1, 32_767, 32_768, -2]),
    },
  }),
  [API_KEYS.addPartitionsToTxn]: (rng, target) => ({
    body: { ...txnIdentity(rng), topics: list(rng, 0, 3, () => ({ name: topicName(rng, target), partitions: list(rng, 0, 3, () => partition(rng, target)) })) },
  }),
  [API_KEYS.addOffsetsToTxn]: (rng, target) => ({ body: { ...txnIdentity(rng), groupId: groupId(rng, target) } }),
  [API_KEYS.endTxn]: (rng) => ({ body: { ...txnIdentity(rng), committed: rng.chance(0.5) } }),
  // Inter-broker: a client's markers must be refused without touching a partition.
  [API_KEYS.writeTxnMarkers]: (rng, target) => ({
    body: {
      markers: list(rng, 0, 2, () => ({
        ...txnIdentity(rng),
        committed: rng.chance(0.5),
        coordinatorEpoch: rng.pick([0, 1, -1, 2 ** 31 - 1]),
        topics: list(rng, 0, 2, () => ({ name: topicName(rng, target), partitions: list(rng, 0, 3, () => partition(rng, target)) })),
      })),
    },
  }),
  [API_KEYS.txnOffsetCommit]: (rng, target) => ({
    body: {
      ...txnIdentity(rng),
      groupId: groupId(rng, target),
      memberId: rng.chance(0.7) ? '' : rng.word(1, 20),
      memberEpoch: rng.pick([-1, 0, 1, 2 ** 31 - 1]),
      topics: list(rng, 0, 3, () => ({
        name: topicName(rng, target),
        partitions: list(rng, 1, 3, () => ({ partition: partition(rng, target), committedOffset: offset(rng), committedMetadata: rng.word(0, 10) })),
      })),
    },
  }),
  [API_KEYS.describeTransactions]: (rng) => ({ body: { transactionalIds: list(rng, 0, 3, () => transactionalId(rng)) } }),
  [API_KEYS.listTransactions]: (rng) => ({
    body: {
      stateFilters: list(rng, 0, 2, () => rng.pick(['Ongoing', 'Empty', 'CompleteCommit', 'nonsense', ''])),
      producerIdFilters: list(rng, 0, 2, () => rng.pick([0, 1024, -1, 2 ** 53 - 1])),
    },
  }),
  [API_KEYS.describeConfigs]: (rng, target) => ({ body: { topics: list(rng, 0, 4, () => topicName(rng, target)) } }),
  [API_KEYS.deleteGroups]: (rng, target) => ({ body: { groupIds: list(rng, 0, 3, () => groupId(rng, target)) } }),
  [API_KEYS.consumerGroupHeartbeat]: (rng, target) => ({
    body: {
      groupId: groupId(rng, target),
      memberId: rng.chance(0.6) ? '' : rng.word(1, 24),
      memberEpoch: rng.pick([MEMBER_EPOCH_JOIN, MEMBER_EPOCH_JOIN, MEMBER_EPOCH_LEAVE, 1, 2, -2, 2 ** 31 - 1]),
      sessionTimeoutMs: rng.pick([0, 1, 6000, 45_000, 2 ** 32 - 1]),
      subscribedTopicNames: list(rng, 0, 3, () => topicName(rng, target)),
      serverAssignor: rng.pick(['', 'sticky', 'range', 'nonsense']),
      ownedPartitions: list(rng, 0, 2, () => ({ topic: topicName(rng, target), partitions: list(rng, 0, 3, () => partition(rng, target)) })),
      maxWaitMs: rng.chance(0.9) ? rng.below(100) : rng.pick([1000, 2 ** 32 - 1]),
    },
  }),
  [API_KEYS.consumerGroupDescribe]: (rng, target) => ({ body: { groupIds: list(rng, 0, 3, () => groupId(rng, target)) } }),
  // The fuzzed broker hosts no Raft groups: these reach the handler and are dropped (never answered).
  [API_KEYS.raftMessages]: (rng) => ({ body: raftMessages(rng) }),
  // A standalone broker answers NOT_CONTROLLER; nothing may register with it.
  // A standalone broker answers NOT_CONTROLLER; no leader may report to it.
  [API_KEYS.alterPartition]: (rng, target) => ({
    body: {
      brokerId: rng.pick([0, 1, 2 ** 31 - 1, -1]),
      partitions: list(rng, 0, 3, () => ({ topic: topicName(rng, target), topicId: rng.word(0, 36), partition: partition(rng, target), leaderEpoch: rng.pick([0, 1, -1, 2 ** 31 - 1]), isr: list(rng, 0, 4, () => rng.pick([0, 1, 2, 3, -1])) })),
    },
  }),
  [API_KEYS.brokerRegistration]: (rng) => ({
    body: { nodeId: rng.pick([0, 1, 2 ** 31 - 1, -1]), host: rng.word(0, 20), port: rng.pick([0, 7401, 65535, -1]), httpHost: rng.word(0, 20), httpPort: rng.pick([0, 7481]) },
  }),
};

function raftMessages(rng: FuzzRandom): RequestOf<typeof API_KEYS.raftMessages> {
  const group = () => rng.pick(['__cluster_metadata', 'orders-3', '', rng.word(1, 12)]);
  const term = () => rng.pick([0, 1, rng.below(100), 2 ** 31 - 1, -1]);
  const message = (): RaftWireMessage => {
    const head = { group: group(), term: term() };
    return rng.pick<() => RaftWireMessage>([
      () => ({ ...head, preVote: { lastOffset: offset(rng), lastTerm: term() } }),
      () => ({ ...head, vote: { lastOffset: offset(rng), lastTerm: term(), transfer: rng.chance(0.5) } }),
      () => ({ ...head, voteResponse: { granted: rng.chance(0.5) } }),
      () => ({
        ...head,
        append: {
          prevOffset: offset(rng),
          prevTerm: term(),
          entries: list(rng, 0, 3, () => ({ baseOffset: offset(rng), lastOffset: offset(rng), term: term(), payload: rng.bytes(rng.below(64)) })),
          highWatermark: offset(rng),
        },
      }),
      () => ({ ...head, appendResponse: { success: rng.chance(0.5), matchEnd: offset(rng), rejectedOffset: offset(rng), hintOffset: offset(rng), hintTerm: term() } }),
      () => ({ ...head, snapshot: { lastOffset: offset(rng), lastTerm: term(), data: rng.bytes(rng.below(64)) } }),
      () => ({ ...head, timeoutNow: {} }),
      // No body at all: the handler refuses it.
      () => head,
    ])();
  };
  return {
    from: rng.pick([0, 1, 2, -1]),
    to: rng.pick([0, 1, 2, -1]),
    beats: list(rng, 0, 4, () => ({ group: group(), term: term(), highWatermark: offset(rng) })),
    answers: list(rng, 0, 4, () => ({ group: group(), term: term() })),
    messages: list(rng, 0, 3, message),
  };
}

/** A valid request of `apiKey` with random fields. */
export function generateRequest<K extends ApiKey>(rng: FuzzRandom, target: FuzzTarget, apiKey: K): GeneratedRequest<K> {
  const generated = (GENERATORS[apiKey] as (rng: FuzzRandom, target: FuzzTarget) => { body: RequestOf<K>; note?: string })(rng, target);
  return { apiKey, body: generated.body, note: generated.note ?? '' };
}

/**
 * A large Fetch of the normal topic from offset 0, each partition named `repeat` times (one request
 * asking for the same bytes again and again), for a client that sends many and reads none.
 */
export function floodFetch(rng: FuzzRandom, target: FuzzTarget): GeneratedRequest<typeof API_KEYS.fetch> {
  const repeat = rng.between(16, 32);
  const partitions = Array.from({ length: target.partitions * repeat }, (_, i) => ({ partition: i % target.partitions, fetchOffset: 0, partitionMaxBytes: 1024 * 1024 }));
  return {
    apiKey: API_KEYS.fetch,
    body: { maxWaitMs: 0, minBytes: 0, maxBytes: 64 * 1024 * 1024, topics: [{ name: target.normalTopic, partitions }] },
    note: `flood: every partition x${repeat} from offset 0`,
  };
}

