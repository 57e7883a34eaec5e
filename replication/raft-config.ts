/**
 * A Raft node's configuration: who it is, the voters (data, so reconfiguration can come later), its
 * timing in ticks, its flow-control limits, and the injected pieces that make it deterministic and
 * generic — the random source for election jitter, the quorum rule, the leader-change payload and
 * the payload size function.
 *
 * `parseRaftConfig` checks ranges and the relations between them (a heartbeat well inside an election
 * timeout) and rejects unknown keys.
 */
import type { Epoch, Offset } from '../log/index.js';
import { invariant } from './invariant.js';
import type { NodeId } from './message.js';
import { MAJORITY, type QuorumRule } from './quorum.js';

/** A source of uniformly distributed integers in [0, bound); seeded in tests and simulations. */
export interface RandomSource {
  nextInt(bound: number): number;
}

export interface RaftConfig<P> {
  readonly id: NodeId;
  readonly voters: readonly NodeId[];
  /** A follower campaigns after a random timeout in [electionTicks, 2 * electionTicks). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Appends in flight per follower (count and bytes). */
  readonly maxInflightAppends: number;
  readonly maxInflightBytes: number;
  /** Upper bound on the entries' bytes of one append (one entry is always sent whole). */
  readonly maxAppendBytes: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly random: RandomSource;
  readonly quorum: QuorumRule;
  /**
   * The payload of the entry a new leader appends at once, at `baseOffset` (a control batch for a
   * partition, stamped with that offset and the term: followers get the bytes before anyone writes them).
   */
  readonly leaderChangePayload: (term: Epoch, leader: NodeId, baseOffset: Offset) => P;
  readonly sizeOf: (payload: P) => number;
}

type Defaults = 'electionTicks' | 'heartbeatTicks' | 'maxInflightAppends' | 'maxInflightBytes' | 'maxAppendBytes' | 'preVote' | 'checkQuorum' | 'quorum';
export type RaftConfigInput<P> = Omit<RaftConfig<P>, Defaults> & Partial<Pick<RaftConfig<P>, Defaults>>;

export const RAFT_CONFIG_DEFAULTS = Object.freeze({
  electionTicks: 10,
  heartbeatTicks: 1,
  maxInflightAppends: 64,
  maxInflightBytes: 32 * 1024 * 1024,
  maxAppendBytes: 1024 * 1024,
  preVote: true,
  checkQuorum: true,
  quorum: MAJORITY,
});

const KEYS = new Set(['id', 'voters', 'random', 'leaderChangePayload', 'sizeOf', ...Object.keys(RAFT_CONFIG_DEFAULTS)]);

export function parseRaftConfig<P>(input: RaftConfigInput<P>): RaftConfig<P> {
  const unknown = Object.keys(input).filter((key) => !KEYS.has(key));
  if (unknown.length > 0) throw new Error(`unknown raft config key(s): ${unknown.join(', ')}`);
  const config: RaftConfig<P> = Object.freeze({ ...RAFT_CONFIG_DEFAULTS, ...input, voters: Object.freeze([...input.voters]) });
  const positive = (name: keyof RaftConfig<P>): void => {
    const value = config[name];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) throw new Error(`raft config ${name} must be a positive integer, got ${String(value)}`);
  };
  positive('electionTicks');
  positive('heartbeatTicks');
  positive('maxInflightAppends');
  positive('maxInflightBytes');
  positive('maxAppendBytes');
  if (config.heartbeatTicks >= config.electionTicks) throw new Error(`raft config heartbeatTicks (${config.heartbeatTicks}) must be below electionTicks (${config.electionTicks})`);
  if (new Set(config.voters).size !== config.voters.length || config.voters.length === 0) throw new Error(`raft config voters must be distinct and non-empty`);
  invariant(Number.isSafeInteger(config.id), `raft node id ${config.id}`);
  return config;
}
