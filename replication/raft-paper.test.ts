// Method: each test is one sentence of the Raft paper (or of the pre-vote / check-quorum / transfer
// extensions), checked on real RaftNodes stepped by hand in a LocalCluster, as etcd's raft_paper_test.go.
import { describe, expect, it } from 'vitest';
import { asEpoch, asOffset } from '../log/index.js';
import type { AppendResponse, Message, VoteResponse } from './message.js';
import { LocalCluster } from './sim/local-cluster.js';

const ofType = <T extends Message<string>['type']>(messages: readonly Message<string>[], type: T) => messages.filter((m) => m.type === type);

describe('Raft, sentence by sentence', () => {
  it('a follower that receives an append with a stale term rejects it and answers with its term', () => {
    const c = new LocalCluster(3);
    c.elect(1);
    const follower = c.node(2);
    expect(follower.term).toBe(1);
    follower.step({ type: 'append', from: 3, to: 2, term: asEpoch(0), prevOffset: asOffset(0), prevTerm: asEpoch(1), entries: [], highWatermark: asOffset(0) });
    const answer = ofType(follower.ready().messagesAfterPersist, 'append-response')[0] as AppendResponse;
    expect(answer).toMatchObject({ to: 3, term: 1, success: false });
  });

  it('a leader that sees a higher term becomes a follower of that term', () => {
    const c = new LocalCluster(3);
    c.elect(1);
    c.node(1).step({ type: 'heartbeat', from: 2, to: 1, term: asEpoch(5), highWatermark: asOffset(0) });
    expect(c.node(1).role).toBe('follower');
    expect(c.node(1).term).toBe(5);
    expect(c.node(1).leader).toBe(2);
  });

  it('a candidate that receives votes from a majority becomes leader', () => {
    const c = new LocalCluster(5);
    c.drop = (m) => m.to === 4 || m.to === 5;
    c.elect(1);
    expect(c.node(1).role).toBe('leader');
    expect(c.node(1).term).toBe(1);
  });

  it('a candidate refused by a majority returns to follower', () => {
    const c = new LocalCluster(3, { preVote: false, checkQuorum: false });
    c.elect(1);
    c.drop = (m) => m.to === 2;
    c.propose(1, 'b');
    c.deliver();
    c.heal();
    c.node(2).campaign(); // term 2, its log lacks 'b', which nodes 1 and 3 hold
    c.deliver();
    expect(c.node(2).term).toBe(2);
    expect(c.node(2).role).toBe('follower');
  });

  it('each server votes for at most one candidate in a term, first come first served', () => {
    const c = new LocalCluster(3, { preVote: false });
    const voter = c.node(3);
    voter.step({ type: 'vote', from: 1, to: 3, term: asEpoch(1), lastOffset: asOffset(-1), lastTerm: asEpoch(0), transfer: false });
    voter.step({ type: 'vote', from: 2, to: 3, term: asEpoch(1), lastOffset: asOffset(-1), lastTerm: asEpoch(0), transfer: false });
    const answers = ofType(voter.ready().messagesAfterPersist, 'vote-response') as VoteResponse[];
    expect(answers.map((m) => [m.to, m.granted])).toEqual([
      [1, true],
      [2, false],
    ]);
    expect(voter.vote).toBe(1);
  });

  it('a voter denies its vote to a candidate whose log is less up to date', () => {
    const c = new LocalCluster(3);
    c.elect(1);
    c.propose(1, 'a');
    c.deliver();
    const voter = c.node(3);
    voter.step({ type: 'vote', from: 2, to: 3, term: asEpoch(9), lastOffset: asOffset(0), lastTerm: asEpoch(1), transfer: true });
    const answer = ofType(voter.ready().messagesAfterPersist, 'vote-response')[0] as VoteResponse | undefined;
    expect(answer?.granted).toBe(false);
  });

  it('term and vote leave only after they are persisted: vote requests and grants wait for the persist', () => {
    const c = new LocalCluster(3, { preVote: false });
    const candidate = c.node(1);
    candidate.campaign();
    const ready = candidate.ready();
    expect(ready.hardState).toMatchObject({ term: 1, vote: 1 });
    expect(ready.messages).toEqual([]);
    expect(ofType(ready.messagesAfterPersist, 'vote')).toHaveLength(2);
  });

  it('pre-vote: a follower that times out asks first and does not change its term', () => {
    const c = new LocalCluster(3);
    c.drop = () => true;
    c.tick(1, 20);
    expect(c.node(1).role).toBe('pre-candidate');
    expect(c.node(1).term).toBe(0);
    expect(c.storage(1).hardState().term).toBe(0);
  });

  it('pre-vote: a node cut off from the cluster does not raise terms, and rejoining does not depose the leader', () => {
    const c = new LocalCluster(3);
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 100; i++) {
      c.tick(3);
      c.deliver();
    }
    expect(c.node(3).term).toBe(1);
    c.heal();
    c.tick(1);
    c.deliver();
    expect(c.node(1).role).toBe('leader');
    expect(c.node(1).term).toBe(1);
  });

  it('check-quorum: a follower that heard from its leader within an election timeout ignores vote requests', () => {
    const c = new LocalCluster(3, { preVote: false });
    c.elect(1);
    const follower = c.node(2);
    follower.step({ type: 'vote', from: 3, to: 2, term: asEpoch(2), lastOffset: asOffset(10), lastTerm: asEpoch(1), transfer: false });
    expect(follower.term).toBe(1);
    expect(follower.hasReady()).toBe(false);
  });

  it('check-quorum: a leader that hears from no majority for an election timeout steps down', () => {
    const c = new LocalCluster(3);
    c.elect(1);
    c.isolate(1);
    for (let i = 0; i < 10; i++) c.tick(1);
    c.deliver();
    for (let i = 0; i < 10; i++) c.tick(1);
    expect(c.node(1).role).toBe('follower');
    expect(c.node(1).propose('late').ok).toBe(false);
  });

  it('check-quorum: the leader knows which voters it heard from lately, without blinking at a round start', () => {
    const c = new LocalCluster(3);
    c.elect(1);
    expect(c.node(1).activeVoters().sort()).toEqual([1, 2, 3]);
    c.drop = (m) => m.to === 3 || m.from === 3;
    const seen: number[][] = [];
    for (let i = 0; i < 30; i++) {
      c.tick(1);
      seen.push(c.node(1).activeVoters().sort());
      c.deliver();
      seen.push(c.node(1).activeVoters().sort());
    }
    // Node 2 answers every heartbeat, so it never drops out, even at the tick a round resets.
    expect(seen.every((voters) => voters.includes(1) && voters.includes(2))).toBe(true);
    // Node 3 is gone after at most two election timeouts.
    expect(seen.at(-1)).toEqual([1, 2]);
    expect(c.node(2).activeVoters()).toEqual([]);
  });

  it('a follower that knows no leader and is told to expedite campaigns within those ticks; a leader heard meanwhile cancels it', () => {
    const c = new LocalCluster(3);
    c.node(2).expediteElection(2);
    c.tick(2, 2);
    expect(c.node(2).role).not.toBe('follower');
    c.deliver();
    expect(c.node(2).role).toBe('leader');

    const d = new LocalCluster(3);
    d.elect(1);
    d.node(3).expediteElection(2);
    d.tick(3, 2);
    expect(d.node(3).role).toBe('follower');
  });

  it('a new leader counts a voter as active only once it has answered', () => {
    const c = new LocalCluster(3);
    c.drop = (m) => m.to === 3 || m.from === 3;
    c.elect(1);
    expect(c.node(1).activeVoters().sort()).toEqual([1, 2]);
  });

  it('a new leader appends an entry of its own term at once (the leader-change entry)', () => {
    const c = new LocalCluster(3);
    c.elect(2);
    expect(c.payloads(2)).toEqual(['leader-change(1,2)']);
    expect(c.node(2).log.termAt(asOffset(0))).toBe(1);
  });

  it('the leader commits an entry once a majority holds it, and followers learn the high watermark', () => {
    const c = new LocalCluster(3);
    c.elect(1);
    c.drop = (m) => m.to === 3;
    c.propose(1, 'a');
    c.deliver();
    expect(c.node(1).highWatermark).toBe(2);
    c.heal();
    c.heartbeats(1);
    expect(c.node(2).highWatermark).toBe(2);
    expect(c.node(3).highWatermark).toBe(2);
  });

  it('entries are batches: a proposal of n records takes n offsets', () => {
    const c = new LocalCluster(3);
    c.elect(1);
    const result = c.node(1).propose('batch', 5);
    expect(result).toMatchObject({ ok: true, baseOffset: 1, lastOffset: 5 });
    c.deliver();
    expect(c.node(3).log.endOffset).toBe(6);
    expect(c.node(3).highWatermark).toBe(6);
  });

  it('a follower rejects an append unless it holds the previous entry with the same term, and then appends nothing', () => {
    const c = new LocalCluster(3);
    c.elect(1);
    const follower = c.node(2);
    const entry = { baseOffset: asOffset(1), lastOffset: asOffset(1), term: asEpoch(2), payload: 'x', sizeBytes: 1 };
    follower.step({ type: 'append', from: 1, to: 2, term: asEpoch(2), prevOffset: asOffset(0), prevTerm: asEpoch(2), entries: [entry], highWatermark: asOffset(0) });
    const answer = ofType(follower.ready().messagesAfterPersist, 'append-response')[0] as AppendResponse;
    expect(answer).toMatchObject({ success: false, rejectedOffset: 0, hintOffset: 0, hintTerm: 1 });
    expect(follower.log.endOffset).toBe(1);
  });

  it('a follower rejects an append whose previous entry does not match, with a hint, and the leader jumps back a term at once', () => {
    const c = new LocalCluster(3);
    c.elect(1);
    // Node 1 writes 20 entries of term 1 that nobody else sees, then is cut off.
    c.isolate(1);
    for (let i = 0; i < 20; i++) c.propose(1, `old${i}`);
    c.deliver();
    let leader = 0;
    for (let i = 0; i < 40 && leader === 0; i++) {
      c.tick(2);
      c.tick(3);
      c.deliver();
      leader = c.ids.find((id) => id !== 1 && c.node(id).role === 'leader') ?? 0;
    }
    expect(leader).not.toBe(0);
    for (let i = 0; i < 20; i++) c.propose(leader, `new${i}`);
    c.deliver();
    // A third term, whose leader starts probing node 1 at its log end.
    const other = leader === 2 ? 3 : 2;
    c.node(leader).transferLeadership(other);
    c.heartbeats(leader);
    expect(c.node(other).role).toBe('leader');
    leader = other;
    // Node 1 comes back as a follower of the new term and is probed at the leader's log end.
    c.heal();
    const sent: Message<string>[] = [];
    c.drop = (m) => (sent.push(m), false);
    c.heartbeats(leader);
    const rejections = sent.filter((m): m is AppendResponse => m.type === 'append-response' && m.from === 1 && !m.success);
    expect(rejections).toHaveLength(1);
    expect(rejections[0]).toMatchObject({ hintTerm: 1 });
    expect(c.payloads(1)).toEqual(c.payloads(leader));
    expect(c.payloads(1)).not.toContain('old0');
  });

  it('a follower drops a conflicting uncommitted tail and takes the leader’s entries', () => {
    const c = new LocalCluster(3);
    c.elect(1);
    c.isolate(1);
    c.propose(1, 'lost-1');
    c.propose(1, 'lost-2');
    c.deliver();
    c.heal();
    c.crash(1);
    for (let i = 0; i < 30 && c.leader() === undefined; i++) {
      c.tick(2);
      c.tick(3);
      c.deliver();
    }
    const leader = c.leader();
    expect(leader).toBeDefined();
    c.propose(leader!.id, 'kept');
    c.deliver();
    c.restart(1);
    c.heartbeats(leader!.id);
    expect(c.payloads(1)).toEqual(c.payloads(leader!.id));
    expect(c.payloads(1)).not.toContain('lost-1');
  });

  it('Figure 8: a leader does not commit an earlier term’s entry by counting replicas, only through an entry of its own term', () => {
    const c = new LocalCluster(3, { checkQuorum: false });
    c.elect(1);
    // 'x' (term 1) reaches node 2, but node 1 never learns it: it is on a majority, uncommitted.
    c.drop = (m) => m.to === 3 || m.from === 3 || (m.type === 'append-response' && m.from === 2);
    c.propose(1, 'x');
    c.deliver();
    expect(c.node(1).highWatermark).toBe(1);
    // Node 2 becomes leader of term 2; node 3's answers are held back.
    c.drop = (m) => m.from === 1 || m.to === 1 || (m.type === 'append-response' && m.from === 3);
    c.elect(2);
    const leader = c.node(2);
    expect(leader.role).toBe('leader');
    expect(leader.term).toBe(2);
    expect(c.payloads(2)).toEqual(['leader-change(1,1)', 'x', 'leader-change(2,2)']);
    // Node 3 now holds 'x' (term 1): a majority holds it, yet it must not commit by counting.
    leader.step({ type: 'append-response', from: 3, to: 2, term: asEpoch(2), success: true, matchEnd: asOffset(2), rejectedOffset: asOffset(-1), hintOffset: asOffset(-1), hintTerm: asEpoch(0) });
    expect(leader.highWatermark).toBe(1);
    // Once node 3 holds the term-2 entry, everything up to it commits, 'x' included.
    leader.step({ type: 'append-response', from: 3, to: 2, term: asEpoch(2), success: true, matchEnd: asOffset(3), rejectedOffset: asOffset(-1), hintOffset: asOffset(-1), hintTerm: asEpoch(0) });
    expect(leader.highWatermark).toBe(3);
  });

  it('a follower behind the leader’s log start is reset to it', () => {
    const c = new LocalCluster(3);
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 10; i++) c.propose(1, `e${i}`);
    c.deliver();
    const hw = c.node(1).highWatermark;
    c.storage(1).compact(asOffset(hw - 1));
    c.heal();
    c.heartbeats(1);
    expect(c.node(3).log.startOffset).toBe(hw - 1);
    expect(c.node(3).log.endOffset).toBe(c.node(1).log.endOffset);
    expect(c.node(3).highWatermark).toBe(hw);
  });

  it('leadership transfer: the target is caught up, gets timeout-now and wins at once, ignoring the lease', () => {
    const c = new LocalCluster(3);
    c.elect(1);
    c.drop = (m) => m.to === 3;
    c.propose(1, 'a');
    c.deliver();
    c.heal();
    expect(c.node(1).transferLeadership(3)).toBe(true);
    expect(c.node(1).propose('during').ok).toBe(false);
    c.heartbeats(1);
    expect(c.node(3).role).toBe('leader');
    expect(c.node(3).term).toBe(2);
    expect(c.node(1).role).toBe('follower');
    expect(c.payloads(3)).toContain('a');
  });

  it('an idle group costs no I/O: followers and leader produce a Ready only for heartbeats, never a persist', () => {
    const c = new LocalCluster(3);
    c.elect(1);
    c.deliver();
    const follower = c.node(2);
    for (let i = 0; i < 5; i++) {
      follower.tick();
      expect(follower.hasReady()).toBe(false);
    }
    c.node(1).tick();
    const ready = c.node(1).ready();
    expect(ready.hardState).toBeUndefined();
    expect(ready.entries).toEqual([]);
    expect(ofType(ready.messages, 'heartbeat')).toHaveLength(2);
  });

  it('the leader pipelines appends, bounded by the in-flight window', () => {
    const c = new LocalCluster(3, { maxInflightAppends: 4 });
    c.elect(1);
    c.deliver();
    for (let i = 0; i < 10; i++) c.node(1).propose(`p${i}`);
    const appends = ofType(c.node(1).ready().messages, 'append').filter((m) => m.to === 2);
    expect(appends).toHaveLength(4);
  });
});
