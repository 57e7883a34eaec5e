/**
 * The Raft state machine (etcd's raft.go), pure: `step(message)`, `tick()`, `propose(...)` and
 * `transferLeadership(to)` change memory only; `ready()` then says what to persist, what to send and
 * how far the high watermark moved, and `advance(ready)` is told once that is durable. No I/O, no
 * clock, no randomness of its own (election jitter comes from the injected `RandomSource`).
 *
 * Roles and transitions:
 *
 *            timeout (pre-vote)          pre-vote quorum            vote quorum
 *   follower ------------------> pre-candidate ------------> candidate ------------> leader
 *      ^  ^                           |                          |                     |
 *      |  +---- higher term, a leader's message, a lost election -+---------------------+
 *      +---- check-quorum: a leader that heard from no quorum for an election timeout steps down
 *
 * - Pre-vote (Raft thesis §9.6): a pre-candidate asks at term + 1 without changing its term; only a
 *   won pre-vote starts a real election, so a node cut off and healed does not depose a working leader.
 * - Check-quorum and the leader lease: a follower that heard from its leader within an election timeout
 *   ignores (pre-)vote requests, unless they come from a leadership transfer; a leader that hears from
 *   no quorum within an election timeout steps down, so an isolated old leader stops acknowledging.
 * - A new leader appends a leader-change entry of its own term at once (a control batch for a
 *   partition); earlier terms' entries commit only once an entry of the leader's term does (Raft §5.4.2,
 *   Figure 8).
 * - Replication is pipelined per follower (probe / replicate / snapshot, see progress.ts); a rejected
 *   append carries a divergence hint so the leader jumps back a term at a time; a follower below the
 *   leader's log start is reset to it by a snapshot message.
 * - Leadership transfer: the leader stops accepting proposals, brings the target up to date, then sends
 *   it `timeout-now`; the target campaigns at once and voters ignore their lease for it.
 *
 * Invariants (asserted): the term never decreases; a node votes at most once per term; the high
 * watermark never decreases and never passes the log end; a committed entry is never overwritten; a
 * leader never sees another leader's append in its own term.
 */
import { asEpoch, asOffset, type Epoch, type Offset } from '../log/index.js';
import type { Entry, HardState, Proposed } from './entry.js';
import { invariant } from './invariant.js';
import type { Append, Heartbeat, InstallSnapshot, Message, NodeId, PreVote, Vote } from './message.js';
import { Progress, STALLED_HEARTBEATS } from './progress.js';
import { parseRaftConfig, type RaftConfig, type RaftConfigInput } from './raft-config.js';
import { RaftLog } from './raft-log.js';
import type { RaftLogReader } from './raft-storage.js';
import type { Ready, Role } from './ready.js';

export type ProposeResult =
  | ({ readonly ok: true } & Proposed)
  | { readonly ok: false; readonly reason: 'not-leader' | 'transfer-in-progress'; readonly leader: NodeId | undefined };

type CampaignKind = 'pre-election' | 'election' | 'transfer';

export class RaftNode<P> {
  readonly id: NodeId;
  readonly config: RaftConfig<P>;
  readonly log: RaftLog<P>;
  private readonly peers: readonly NodeId[];
  private currentTerm: Epoch;
  private votedFor: NodeId | undefined;
  private leaderId: NodeId | undefined = undefined;
  private currentRole: Role = 'follower';
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private readonly votes = new Map<NodeId, boolean>();
  private readonly progress = new Map<NodeId, Progress>();
  private transferee: NodeId | undefined = undefined;
  private messages: Message<P>[] = [];
  private messagesAfterPersist: Message<P>[] = [];
  private lastHardState: HardState;
  private lastSoft: { role: Role; leader: NodeId | undefined };
  private reportedHighWatermark: Offset;
  private awaitingAdvance = false;

  constructor(input: RaftConfigInput<P> | RaftConfig<P>, storage: RaftLogReader<P>) {
    this.config = parseRaftConfig(input);
    this.id = this.config.id;
    this.peers = this.config.voters.filter((id) => id !== this.id);
    const state = storage.hardState();
    this.log = new RaftLog(storage, state.highWatermark);
    this.currentTerm = state.term;
    this.votedFor = state.vote;
    this.lastHardState = state;
    this.reportedHighWatermark = state.highWatermark;
    this.lastSoft = { role: 'follower', leader: undefined };
    this.becomeFollower(this.currentTerm, undefined);
  }

  get term(): Epoch {
    return this.currentTerm;
  }

  get vote(): NodeId | undefined {
    return this.votedFor;
  }

  get role(): Role {
    return this.currentRole;
  }

  get leader(): NodeId | undefined {
    return this.leaderId;
  }

  get highWatermark(): Offset {
    return this.log.highWatermark;
  }

  get leadershipTransferee(): NodeId | undefined {
    return this.transferee;
  }

  /** The leader's view of a follower (undefined elsewhere). */
  progressOf(id: NodeId): Progress | undefined {
    return this.currentRole === 'leader' ? this.progress.get(id) : undefined;
  }

  /** Leader only: itself and the peers it heard from within the last one or two election timeouts. */
  activeVoters(): NodeId[] {
    if (this.currentRole !== 'leader') return [];
    return [this.id, ...[...this.progress].filter(([, pr]) => pr.heardThisRound || pr.heardLastRound).map(([id]) => id)];
  }

  // ---- inputs ----------------------------------------------------------------------------------

  tick(): void {
    if (this.currentRole === 'leader') this.tickLeader();
    else this.tickElection();
  }

  /**
   * A follower that knows no leader campaigns within `ticks` ticks instead of a whole election
   * timeout (a new group's preferred leader: no one has led yet, so waiting only delays the first
   * election). Hearing from a leader meanwhile resets the timer as usual.
   */
  expediteElection(ticks: number): void {
    invariant(Number.isSafeInteger(ticks) && ticks >= 1, `expediteElection(${ticks})`);
    if (this.currentRole === 'leader' || this.leaderId !== undefined) return;
    this.electionElapsed = Math.max(this.electionElapsed, this.randomizedElectionTimeout - ticks);
  }

  /** Starts an election now (pre-vote first when enabled), as an election timeout would. */
  campaign(): void {
    if (this.currentRole !== 'leader') this.hup(this.config.preVote ? 'pre-election' : 'election');
  }

  propose(payload: P, records = 1): ProposeResult {
    invariant(Number.isSafeInteger(records) && records > 0, `a proposal of ${records} records`);
    if (this.currentRole !== 'leader') return { ok: false, reason: 'not-leader', leader: this.leaderId };
    if (this.transferee !== undefined) return { ok: false, reason: 'transfer-in-progress', leader: this.leaderId };
    const entry = this.appendOwn(payload, records);
    for (const peer of this.peers) this.sendAppendsWhileOpen(peer);
    return { ok: true, baseOffset: entry.baseOffset, lastOffset: entry.lastOffset, term: entry.term };
  }

  /**
   * Storage has read entries it answered "not in memory yet" for (an empty `entries`): fill the
   * pipeline of every follower that is not paused. A no-op unless leader.
   */
  entriesLoaded(): void {
    if (this.currentRole !== 'leader') return;
    for (const peer of this.peers) this.sendAppendsWhileOpen(peer);
  }

  /** Hands leadership to `to` once it is caught up; false when this node cannot (not leader, unknown voter). */
  transferLeadership(to: NodeId): boolean {
    if (this.currentRole !== 'leader' || to === this.id || !this.peers.includes(to)) return false;
    if (this.transferee === to) return true;
    this.transferee = to;
    this.electionElapsed = 0;
    const pr = this.progress.get(to) as Progress;
    if (pr.matchEnd === this.log.endOffset) this.sendTimeoutNow(to);
    else this.sendAppend(to, false);
    return true;
  }

  step(m: Message<P>): void {
    invariant(m.to === this.id, () => `message for ${m.to} stepped into ${this.id}`);
    if (m.term > this.currentTerm) {
      if (m.type === 'vote' || m.type === 'pre-vote') {
        const force = m.type === 'vote' && m.transfer;
        const inLease = this.config.checkQuorum && this.leaderId !== undefined && this.electionElapsed < this.config.electionTicks;
        if (!force && inLease) return;
      }
      if (m.type === 'pre-vote' || (m.type === 'pre-vote-response' && m.granted)) {
        // Never change our term for a pre-vote or a granted pre-vote answer (it echoes a future term).
      } else {
        const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
        this.becomeFollower(m.term, fromLeader ? m.from : undefined);
      }
    } else if (m.term < this.currentTerm) {
      if (m.type === 'append' || m.type === 'heartbeat') {
        // Tell a stale leader our term, so it steps down (needed with check-quorum and pre-vote).
        this.respondAppend(m.from, false, asOffset(0), asOffset(-1), asOffset(-1), asEpoch(0));
      } else if (m.type === 'pre-vote') {
        this.send({ type: 'pre-vote-response', from: this.id, to: m.from, term: this.currentTerm, granted: false });
      }
      return;
    }

    if (m.type === 'vote' || m.type === 'pre-vote') {
      this.handleVoteRequest(m);
      return;
    }
    if (this.currentRole === 'leader') this.stepLeader(m);
    else if (this.currentRole === 'follower') this.stepFollower(m);
    else this.stepCandidate(m);
  }

  // ---- ready / advance -------------------------------------------------------------------------

  hasReady(): boolean {
    if (this.awaitingAdvance) return false;
    return (
      this.messages.length > 0 ||
      this.messagesAfterPersist.length > 0 ||
      this.log.unstable.entries.length > 0 ||
      this.log.unstable.snapshot !== undefined ||
      this.log.highWatermark !== this.reportedHighWatermark ||
      this.hardStateChanged() ||
      this.lastSoft.role !== this.currentRole ||
      this.lastSoft.leader !== this.leaderId
    );
  }

  ready(): Ready<P> {
    invariant(!this.awaitingAdvance, 'ready() before the previous Ready was advanced');
    const hardState = this.hardStateChanged() ? { term: this.currentTerm, vote: this.votedFor, highWatermark: this.log.highWatermark } : undefined;
    const softChanged = this.lastSoft.role !== this.currentRole || this.lastSoft.leader !== this.leaderId;
    const hw = this.log.highWatermark;
    invariant(hw >= this.reportedHighWatermark, () => `high watermark went back from ${this.reportedHighWatermark} to ${hw}`);
    const ready: Ready<P> = {
      hardState,
      snapshot: this.log.unstable.snapshot,
      entries: this.log.unstable.entries.slice(),
      messages: this.messages,
      messagesAfterPersist: this.messagesAfterPersist,
      committed: hw > this.reportedHighWatermark ? { from: this.reportedHighWatermark, to: hw } : undefined,
      soft: softChanged ? { role: this.currentRole, leader: this.leaderId } : undefined,
    };
    if (hardState !== undefined) this.lastHardState = hardState;
    if (softChanged) this.lastSoft = { role: this.currentRole, leader: this.leaderId };
    this.reportedHighWatermark = hw;
    this.messages = [];
    this.messagesAfterPersist = [];
    this.awaitingAdvance = true;
    return ready;
  }

  /** The driver persisted `ready` durably and sent its messages. */
  advance(ready: Ready<P>): void {
    invariant(this.awaitingAdvance, 'advance() without a Ready');
    this.awaitingAdvance = false;
    if (ready.snapshot !== undefined) this.log.unstable.stableSnapshot(ready.snapshot);
    const last = ready.entries.at(-1);
    if (last !== undefined) this.log.unstable.stableTo(asOffset(last.lastOffset + 1), last.term);
    // The leader counts itself only for what is durable: its match may have moved.
    if (this.currentRole === 'leader' && this.maybeCommit()) this.broadcastAppend();
  }

  // ---- roles -----------------------------------------------------------------------------------

  private reset(term: Epoch): void {
    invariant(term >= this.currentTerm, () => `term went back from ${this.currentTerm} to ${term}`);
    if (term !== this.currentTerm) {
      this.currentTerm = term;
      this.votedFor = undefined;
    }
    this.leaderId = undefined;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.config.electionTicks + this.config.random.nextInt(this.config.electionTicks);
    this.transferee = undefined;
    this.votes.clear();
    this.progress.clear();
  }

  private becomeFollower(term: Epoch, leader: NodeId | undefined): void {
    this.reset(term);
    this.currentRole = 'follower';
    this.leaderId = leader;
  }

  private becomePreCandidate(): void {
    invariant(this.currentRole !== 'leader', 'a leader cannot become a pre-candidate');
    // Like etcd: the term and vote stay, the leader is forgotten, the timer restarts.
    this.votes.clear();
    this.progress.clear();
    this.electionElapsed = 0;
    this.randomizedElectionTimeout = this.config.electionTicks + this.config.random.nextInt(this.config.electionTicks);
    this.leaderId = undefined;
    this.currentRole = 'pre-candidate';
  }

  private becomeCandidate(): void {
    invariant(this.currentRole !== 'leader', 'a leader cannot become a candidate');
    this.reset(asEpoch(this.currentTerm + 1));
    this.votedFor = this.id;
    this.currentRole = 'candidate';
  }

  private becomeLeader(): void {
    invariant(this.currentRole === 'candidate', () => `${this.currentRole} cannot become leader`);
    this.reset(this.currentTerm);
    this.currentRole = 'leader';
    this.leaderId = this.id;
    const end = this.log.endOffset;
    for (const peer of this.peers) {
      const pr = new Progress(end, this.config.maxInflightAppends, this.config.maxInflightBytes);
      pr.recentActive = true;
      this.progress.set(peer, pr);
    }
    this.appendOwn(this.config.leaderChangePayload(this.currentTerm, this.id, end), 1);
    this.broadcastAppend();
  }

  private hup(kind: CampaignKind): void {
    if (!this.config.voters.includes(this.id)) return;
    if (kind === 'pre-election') this.becomePreCandidate();
    else this.becomeCandidate();
    const term = kind === 'pre-election' ? asEpoch(this.currentTerm + 1) : this.currentTerm;
    this.votes.set(this.id, true);
    if (this.config.quorum.voteResult(this.config.voters, this.votes) === 'won') {
      // A single voter wins at once.
      if (kind === 'pre-election') this.hup('election');
      else this.becomeLeader();
      return;
    }
    const lastOffset = this.log.lastOffset;
    const lastTerm = this.log.lastTerm;
    for (const peer of this.peers) {
      if (kind === 'pre-election') this.send({ type: 'pre-vote', from: this.id, to: peer, term, lastOffset, lastTerm });
      else this.send({ type: 'vote', from: this.id, to: peer, term, lastOffset, lastTerm, transfer: kind === 'transfer' });
    }
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(this.config.preVote ? 'pre-election' : 'election');
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum) {
        if (!this.quorumActive()) {
          this.becomeFollower(this.currentTerm, undefined);
          return;
        }
        for (const pr of this.progress.values()) pr.recentActive = false;
      }
      for (const pr of this.progress.values()) {
        pr.heardLastRound = pr.heardThisRound;
        pr.heardThisRound = false;
      }
      // A transfer that did not finish within an election timeout is abandoned.
      this.transferee = undefined;
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      for (const peer of this.peers) {
        const pr = this.progress.get(peer) as Progress;
        const highWatermark = asOffset(Math.min(this.log.highWatermark, pr.matchEnd));
        this.send({ type: 'heartbeat', from: this.id, to: peer, term: this.currentTerm, highWatermark });
      }
    }
  }

  private quorumActive(): boolean {
    const active = new Map<NodeId, boolean>([[this.id, true]]);
    for (const [id, pr] of this.progress) if (pr.recentActive) active.set(id, true);
    return this.config.quorum.voteResult(this.config.voters, active) === 'won';
  }

  // ---- step by role ----------------------------------------------------------------------------

  private handleVoteRequest(m: PreVote | Vote): void {
    const canVote =
      this.votedFor === m.from ||
      (this.votedFor === undefined && this.leaderId === undefined) ||
      (m.type === 'pre-vote' && m.term > this.currentTerm);
    const type = m.type === 'vote' ? 'vote-response' : 'pre-vote-response';
    if (canVote && this.log.isUpToDate(m.lastOffset, m.lastTerm)) {
      this.send({ type, from: this.id, to: m.from, term: m.term, granted: true });
      if (m.type === 'vote') {
        invariant(this.votedFor === undefined || this.votedFor === m.from, () => `second vote in term ${this.currentTerm}`);
        this.electionElapsed = 0;
        this.votedFor = m.from;
      }
    } else {
      this.send({ type, from: this.id, to: m.from, term: this.currentTerm, granted: false });
    }
  }

  private stepLeader(m: Message<P>): void {
    switch (m.type) {
      case 'append-response': {
        const pr = this.progress.get(m.from);
        if (pr === undefined) return;
        pr.recentActive = true;
        pr.heardThisRound = true;
        if (!m.success) {
          let next = asOffset(m.hintOffset + 1);
          if (m.hintOffset >= this.log.startOffset - 1 && m.hintOffset >= 0) {
            next = asOffset(this.log.findConflictByTerm(m.hintOffset, m.hintTerm).offset + 1);
          }
          if (pr.maybeDecrease(m.rejectedOffset, next)) {
            // entryBase may answer the start of the offset's term (a storage that keeps only its tail
            // in memory); never resend below what the follower is known to match.
            pr.nextOffset = asOffset(Math.max(this.log.entryBase(pr.nextOffset), pr.matchEnd));
            this.sendAppend(m.from, false);
          }
          return;
        }
        const wasPaused = pr.paused();
        if (pr.maybeUpdate(m.matchEnd)) {
          if (pr.state === 'probe') pr.becomeReplicate();
          else if (pr.state === 'snapshot' && pr.matchEnd >= pr.pendingSnapshotEnd) pr.becomeReplicate();
          if (this.maybeCommit()) this.broadcastAppend();
          if (this.transferee === m.from && pr.matchEnd === this.log.endOffset) this.sendTimeoutNow(m.from);
          this.sendAppendsWhileOpen(m.from);
        } else if (wasPaused) {
          this.sendAppendsWhileOpen(m.from);
        }
        return;
      }
      case 'heartbeat-response': {
        const pr = this.progress.get(m.from);
        if (pr === undefined) return;
        pr.recentActive = true;
        pr.heardThisRound = true;
        pr.probeSent = false;
        // A lost reset-to-log-start is retried from the heartbeat, as a lost probe is; lost pipelined
        // appends are presumed after a few heartbeats without progress.
        if (pr.state === 'snapshot') pr.becomeProbe();
        else if (pr.state === 'replicate' && pr.nextOffset > pr.matchEnd && ++pr.stalledHeartbeats >= STALLED_HEARTBEATS) pr.becomeProbe();
        if (pr.matchEnd < this.log.endOffset) this.sendAppend(m.from, false);
        return;
      }
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        invariant(false, () => `leader ${this.id} of term ${this.currentTerm} received a ${m.type} from ${m.from} in the same term`);
        return;
      default:
        return;
    }
  }

  private stepCandidate(m: Message<P>): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // A leader exists in our term (a pre-candidate's term is the leader's): follow it.
        this.becomeFollower(this.currentTerm, m.from);
        this.stepFollower(m);
        return;
      case 'pre-vote-response':
      case 'vote-response': {
        const expected = this.currentRole === 'pre-candidate' ? 'pre-vote-response' : 'vote-response';
        if (m.type !== expected) return;
        if (m.granted && m.term !== (this.currentRole === 'pre-candidate' ? this.currentTerm + 1 : this.currentTerm)) return;
        this.votes.set(m.from, m.granted);
        const result = this.config.quorum.voteResult(this.config.voters, this.votes);
        if (result === 'won') {
          if (this.currentRole === 'pre-candidate') this.hup('election');
          else this.becomeLeader();
        } else if (result === 'lost') {
          this.becomeFollower(this.currentTerm, undefined);
        }
        return;
      }
      default:
        return;
    }
  }

  private stepFollower(m: Message<P>): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleSnapshot(m);
        return;
      case 'timeout-now':
        this.hup('transfer');
        return;
      default:
        return;
    }
  }

  // ---- follower side of replication ------------------------------------------------------------

  private handleAppend(m: Append<P>): void {
    const hw = this.log.highWatermark;
    if (m.prevOffset + 1 < hw) {
      // Everything below our high watermark is committed, hence in the leader's log as it is in ours.
      this.respondAppend(m.from, true, hw, asOffset(-1), asOffset(-1), asEpoch(0));
      return;
    }
    const end = this.log.maybeAppend(m.prevOffset, m.prevTerm, m.entries);
    if (end !== undefined) {
      this.log.commitTo(asOffset(Math.min(m.highWatermark, end)));
      this.respondAppend(m.from, true, end, asOffset(-1), asOffset(-1), asEpoch(0));
      return;
    }
    const hint = this.log.findConflictByTerm(m.prevOffset, m.prevTerm);
    this.respondAppend(m.from, false, asOffset(0), m.prevOffset, hint.offset, hint.term);
  }

  private handleHeartbeat(m: Heartbeat): void {
    this.log.commitTo(m.highWatermark);
    this.send({ type: 'heartbeat-response', from: this.id, to: m.from, term: this.currentTerm });
  }

  private handleSnapshot(m: InstallSnapshot): void {
    const end = asOffset(m.snapshot.lastOffset + 1);
    if (end <= this.log.highWatermark) {
      this.respondAppend(m.from, true, this.log.highWatermark, asOffset(-1), asOffset(-1), asEpoch(0));
    } else if (this.log.matchTerm(m.snapshot.lastOffset, m.snapshot.lastTerm)) {
      // We already hold everything the snapshot covers: only the high watermark moves.
      this.log.commitTo(end);
      this.respondAppend(m.from, true, end, asOffset(-1), asOffset(-1), asEpoch(0));
    } else {
      this.log.restore(m.snapshot);
      this.respondAppend(m.from, true, end, asOffset(-1), asOffset(-1), asEpoch(0));
    }
  }

  private respondAppend(to: NodeId, success: boolean, matchEnd: Offset, rejectedOffset: Offset, hintOffset: Offset, hintTerm: Epoch): void {
    this.send({ type: 'append-response', from: this.id, to, term: this.currentTerm, success, matchEnd, rejectedOffset, hintOffset, hintTerm });
  }

  // ---- leader side of replication --------------------------------------------------------------

  private appendOwn(payload: P, records: number): Entry<P> {
    const base = this.log.endOffset;
    const entry: Entry<P> = {
      baseOffset: base,
      lastOffset: asOffset(base + records - 1),
      term: this.currentTerm,
      payload,
      sizeBytes: this.config.sizeOf(payload),
    };
    this.log.append([entry]);
    return entry;
  }

  /** Commits up to what a quorum holds, but only through an entry of the leader's own term (Figure 8). */
  private maybeCommit(): boolean {
    const selfEnd = this.log.unstable.offset;
    const end = this.config.quorum.committedEnd(this.config.voters, (id) => (id === this.id ? selfEnd : ((this.progress.get(id) as Progress).matchEnd)));
    if (end <= this.log.highWatermark || this.log.termAt(asOffset(end - 1)) !== this.currentTerm) return false;
    return this.log.commitTo(end);
  }

  private broadcastAppend(): void {
    for (const peer of this.peers) {
      this.sendAppend(peer, true);
      this.sendAppendsWhileOpen(peer);
    }
  }

  private sendAppendsWhileOpen(to: NodeId): void {
    while (this.sendAppend(to, false)) {
      // Fill the pipeline: one append per call until the window is full or nothing is left.
    }
  }

  /**
   * Sends the next append to `to`; false when paused, when (unless `sendIfEmpty`) there is nothing to
   * send, or when the entries exist but storage has not got them in memory yet: then nothing is sent
   * and nothing marked in flight, and `entriesLoaded()` tries again once storage has read them.
   */
  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to) as Progress;
    if (pr.paused()) return false;
    const prevOffset = asOffset(pr.nextOffset - 1);
    const prevTerm = this.log.termAt(prevOffset);
    if (prevTerm === undefined || pr.nextOffset < this.log.startOffset) {
      const snapshot = this.log.snapshot();
      this.send({ type: 'snapshot', from: this.id, to, term: this.currentTerm, snapshot });
      pr.becomeSnapshot(asOffset(snapshot.lastOffset + 1));
      return false;
    }
    const behind = pr.nextOffset < this.log.endOffset;
    const entries = behind ? this.log.entriesFrom(pr.nextOffset, this.config.maxAppendBytes) : [];
    if (entries.length === 0 && (behind || !sendIfEmpty)) return false;
    const last = entries.at(-1);
    const end = last === undefined ? pr.nextOffset : asOffset(last.lastOffset + 1);
    let bytes = 0;
    for (const entry of entries) bytes += entry.sizeBytes;
    const highWatermark = asOffset(Math.min(this.log.highWatermark, end));
    this.send({ type: 'append', from: this.id, to, term: this.currentTerm, prevOffset, prevTerm, entries, highWatermark });
    pr.sent(end, bytes, entries.length);
    return entries.length > 0;
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: 'timeout-now', from: this.id, to, term: this.currentTerm });
  }

  private send(m: Message<P>): void {
    // A leader's replication promises nothing about its own disk; everything else waits for the persist.
    if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot' || m.type === 'timeout-now') this.messages.push(m);
    else this.messagesAfterPersist.push(m);
  }

  private hardStateChanged(): boolean {
    const last = this.lastHardState;
    return last.term !== this.currentTerm || last.vote !== this.votedFor || last.highWatermark !== this.log.highWatermark;
  }
}
