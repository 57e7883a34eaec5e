/**
 * Majority math as pure functions (etcd's quorum/majority.go). The Raft node takes a `QuorumRule` in
 * its configuration, so the voter set stays data (reconfiguration can later swap in a joint rule) and
 * a simulation can inject a deliberately broken rule to prove its checks catch it.
 *
 * Invariants of `MAJORITY`:
 * - `committedEnd` is the largest offset that a strict majority of voters hold below: sort the match
 *   ends descending and take the one at position floor(n/2);
 * - `voteResult` is 'won' only with more than half of the voters granting, 'lost' once that has
 *   become impossible, 'pending' otherwise.
 */
import type { Offset } from '../log/index.js';
import type { NodeId } from './message.js';

export type VoteResult = 'won' | 'lost' | 'pending';

export interface QuorumRule {
  /** The high watermark the voters' match ends allow: every offset below it is held by a quorum. */
  committedEnd(voters: readonly NodeId[], matchEnd: (id: NodeId) => Offset): Offset;
  /** The outcome of an election given the answers so far (true = granted). */
  voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult;
}

export function majorityCommittedEnd(voters: readonly NodeId[], matchEnd: (id: NodeId) => Offset): Offset {
  const ends = voters.map(matchEnd).sort((a, b) => b - a);
  return ends[Math.floor(voters.length / 2)] as Offset;
}

export function majorityVoteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const needed = Math.floor(voters.length / 2) + 1;
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === undefined) missing++;
    else if (vote) granted++;
  }
  if (granted >= needed) return 'won';
  if (granted + missing >= needed) return 'pending';
  return 'lost';
}

export const MAJORITY: QuorumRule = Object.freeze({ committedEnd: majorityCommittedEnd, voteResult: majorityVoteResult });
