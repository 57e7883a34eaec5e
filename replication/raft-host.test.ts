// Method: three RaftHosts of 50 groups each (RaftDriver over MemoryStorage, seeded jitter) joined by an
// in-memory PeerTransport that holds every batch for one round; one manual timer ticks all hosts, and
// each round delivers the previous round's batches, so the run is deterministic and counts batches
// per round exactly. Waits are for conditions within a bounded number of rounds (no wall clock).
import { describe, expect, it } from 'vitest';
import type { Epoch } from '../log/index.js';
import { MemoryStorage } from './memory-storage.js';
import type { Message, NodeId } from './message.js';
import { Prng } from './prng.js';
import { RaftDriver } from './raft-driver.js';
import { RaftHost, type RaftBatch } from './raft-host.js';
import { RaftNode } from './raft-node.js';

class ManualTimers {
  private readonly callbacks = new Set<() => void>();
  every(_ms: number, callback: () => void): { cancel(): void } {
    const entry = () => callback();
    this.callbacks.add(entry);
    return { cancel: () => this.callbacks.delete(entry) };
  }
  fire(): void {
    for (const callback of [...this.callbacks]) callback();
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function cluster(options: { groups: number; ids?: NodeId[]; seed?: number; heartbeatTicks?: number; groupHeartbeatTicks?: number }) {
  const ids = options.ids ?? [1, 2, 3];
  const prng = new Prng(options.seed ?? 11);
  const timers = new ManualTimers();
  const hosts = new Map<NodeId, RaftHost>();
  const drivers = new Map<string, Map<NodeId, RaftDriver<Buffer>>>();
  const unknown: Array<{ host: NodeId; group: string; message: Message<Buffer> }> = [];
  let inFlight: RaftBatch[] = [];
  let sentThisRound: RaftBatch[] = [];
  for (const id of ids) {
    const transport = {
      send: (to: NodeId, batch: RaftBatch) => {
        expect(batch.to).toBe(to);
        sentThisRound.push(batch);
      },
    };
    hosts.set(
      id,
      new RaftHost({ nodeId: id, transport, timers, tickMs: 10, heartbeatTicks: options.heartbeatTicks ?? 1, onUnknownGroup: (group, message) => unknown.push({ host: id, group, message }) }),
    );
  }
  const groupNames = Array.from({ length: options.groups }, (_, i) => `orders-${i}`);
  for (const group of groupNames) {
    const members = new Map<NodeId, RaftDriver<Buffer>>();
    drivers.set(group, members);
    for (const id of ids) {
      const host = hosts.get(id) as RaftHost;
      const storage = new MemoryStorage<Buffer>();
      const node = new RaftNode<Buffer>(
        { id, voters: ids, heartbeatTicks: options.groupHeartbeatTicks ?? host.heartbeatTicks, random: prng.fork(), leaderChangePayload: (term: Epoch, leader: NodeId) => Buffer.from(`leader-change ${term} ${leader}`), sizeOf: (p) => p.length },
        storage,
      );
      const driver = new RaftDriver<Buffer>({ node, storage, transport: host.transportFor(group) });
      host.addGroup(group, driver);
      members.set(id, driver);
    }
  }
  for (const host of hosts.values()) host.start();

  /** One tick: every host ticks, last round's batches arrive, and this round's leave. Returns them. */
  const round = async (): Promise<RaftBatch[]> => {
    const arriving = inFlight;
    sentThisRound = [];
    timers.fire();
    for (const batch of arriving) hosts.get(batch.to)?.deliver(batch);
    for (let i = 0; i < 3; i++) await nextTurn();
    inFlight = sentThisRound;
    return sentThisRound;
  };
  const until = async (condition: () => boolean, rounds = 300): Promise<void> => {
    for (let i = 0; i < rounds && !condition(); i++) await round();
    expect(condition()).toBe(true);
  };
  const leaderOf = (group: string): RaftDriver<Buffer> | undefined => {
    const leaders = [...(drivers.get(group) as Map<NodeId, RaftDriver<Buffer>>).values()].filter((d) => d.node.role === 'leader');
    return leaders.length === 1 ? leaders[0] : undefined;
  };
  const settledLeaders = () =>
    groupNames.every((group) => {
      const leader = leaderOf(group);
      return leader !== undefined && [...(drivers.get(group) as Map<NodeId, RaftDriver<Buffer>>).values()].every((d) => d.node.leader === leader.node.id);
    });
  return { ids, hosts, drivers, groupNames, unknown, round, until, leaderOf, settledLeaders };
}

describe('RaftHost', () => {
  it('runs 50 groups on 3 brokers: every group elects a leader, proposals commit, and idle traffic is one batch per peer pair per tick', async () => {
    const c = cluster({ groups: 50 });
    await c.until(c.settledLeaders);

    const proposals = c.groupNames.map((group) => (c.leaderOf(group) as RaftDriver<Buffer>).propose(Buffer.from(`hello ${group}`)));
    let committed = 0;
    for (const proposal of proposals) void proposal.then(() => committed++);
    await c.until(() => committed === proposals.length);
    const results = await Promise.all(proposals);
    await c.until(() =>
      c.groupNames.every((group, i) => [...(c.drivers.get(group) as Map<NodeId, RaftDriver<Buffer>>).values()].every((d) => d.node.highWatermark > (results[i] as { lastOffset: number }).lastOffset)),
    );

    // Let the last appends' answers settle, then count: idle means heartbeats and their answers only.
    for (let i = 0; i < 5; i++) await c.round();
    const leadersOn = new Map<NodeId, number>(c.ids.map((id) => [id, 0]));
    for (const group of c.groupNames) {
      const leader = (c.leaderOf(group) as RaftDriver<Buffer>).node.id;
      leadersOn.set(leader, (leadersOn.get(leader) ?? 0) + 1);
    }
    // a -> b carries a's heartbeats if a leads a group, and b's heartbeat answers if b leads one.
    const expectedPairs = c.ids
      .flatMap((a) => c.ids.filter((b) => b !== a).map((b) => [a, b] as const))
      .filter(([a, b]) => (leadersOn.get(a) ?? 0) > 0 || (leadersOn.get(b) ?? 0) > 0)
      .map(([a, b]) => `${a}>${b}`)
      .sort();
    for (let i = 0; i < 10; i++) {
      const batches = await c.round();
      expect(batches.map((b) => `${b.from}>${b.to}`).sort()).toEqual(expectedPairs);
      expect(batches.every((b) => b.messages.length === 0)).toBe(true);
      // Every leader heartbeats both followers every tick (heartbeatTicks 1): 50 groups x 2 followers.
      expect(batches.reduce((n, b) => n + b.heartbeats.beats.length, 0)).toBe(100);
      expect(batches.reduce((n, b) => n + b.heartbeats.answers.length, 0)).toBe(100);
    }
    expect(c.unknown).toEqual([]);
  });

  it('with heartbeatTicks 3, sends each peer one batch per heartbeat interval and none between, though the groups heartbeat at different phases', async () => {
    const c = cluster({ groups: 50, seed: 7, heartbeatTicks: 3 });
    await c.until(c.settledLeaders);
    for (let i = 0; i < 6; i++) await c.round();
    // The groups were elected on different ticks, so their own heartbeat counts are out of phase.
    const leaders = c.groupNames.map((group) => c.leaderOf(group) as RaftDriver<Buffer>);
    expect(new Set(leaders.map((l) => l.node.id)).size).toBe(3);
    const perRound: string[][] = [];
    let beats = 0;
    let answers = 0;
    for (let i = 0; i < 12; i++) {
      const batches = await c.round();
      expect(batches.every((b) => b.messages.length === 0)).toBe(true);
      perRound.push(batches.map((b) => `${b.from}>${b.to}`).sort());
      beats += batches.reduce((n, b) => n + b.heartbeats.beats.length, 0);
      answers += batches.reduce((n, b) => n + b.heartbeats.answers.length, 0);
    }
    const allPairs = ['1>2', '1>3', '2>1', '2>3', '3>1', '3>2'];
    // The hosts tick in lockstep: every third round each host writes once to each peer, else nothing.
    const busy = perRound.filter((pairs) => pairs.length > 0);
    expect(busy.length).toBe(4);
    for (const pairs of busy) expect(pairs).toEqual(allPairs);
    const first = perRound.findIndex((pairs) => pairs.length > 0);
    perRound.forEach((pairs, i) => expect(pairs.length > 0).toBe((i - first) % 3 === 0));
    // Every leader heartbeats both followers once per interval, and every heartbeat is answered.
    expect(beats).toBe(4 * 50 * 2);
    expect(answers).toBe(4 * 50 * 2);
    expect(c.settledLeaders()).toBe(true);
  });

  it('holds heartbeats of groups that beat every tick to the host interval, the latest per group', async () => {
    const c = cluster({ groups: 10, seed: 9, heartbeatTicks: 4, groupHeartbeatTicks: 1 });
    await c.until(c.settledLeaders);
    for (let i = 0; i < 8; i++) await c.round();
    const sent: RaftBatch[][] = [];
    for (let i = 0; i < 8; i++) sent.push(await c.round());
    expect(sent.filter((batches) => batches.length > 0).length).toBe(2);
    for (const batch of sent.flat()) {
      // One heartbeat and one answer per group at most, whatever the group queued meanwhile.
      expect(new Set(batch.heartbeats.beats.map((b) => b.group)).size).toBe(batch.heartbeats.beats.length);
      expect(new Set(batch.heartbeats.answers.map((a) => a.group)).size).toBe(batch.heartbeats.answers.length);
    }
    expect(sent.flat().reduce((n, b) => n + b.heartbeats.beats.length, 0)).toBe(2 * 10 * 2);
    expect(c.settledLeaders()).toBe(true);
  });

  it('sends appends at once, carrying the heartbeats and answers held for their peer', async () => {
    const c = cluster({ groups: 12, seed: 13, heartbeatTicks: 5 });
    await c.until(c.settledLeaders);
    expect(new Set(c.groupNames.map((group) => c.leaderOf(group)?.node.id)).size).toBe(3);
    // Run past the elections' appends, then to just after a heartbeat tick, so the next ones are held.
    for (let i = 0; i < 10; i++) await c.round();
    while ((await c.round()).length === 0);
    await c.round();
    const leader = c.leaderOf('orders-0') as RaftDriver<Buffer>;
    const committed = leader.propose(Buffer.from('now'));
    const batches = await c.round();
    const fromLeader = batches.filter((b) => b.from === leader.node.id);
    expect(fromLeader.length).toBe(2);
    for (const batch of fromLeader) {
      expect(batch.messages.map((m) => `${m.group} ${m.message.type}`)).toEqual(['orders-0 append']);
      // The leader answered its peer's heartbeats of the last heartbeat tick; those answers ride along.
      const ledByPeer = c.groupNames.filter((group) => c.leaderOf(group)?.node.id === batch.to).length;
      expect(batch.heartbeats.answers.length).toBe(ledByPeer);
    }
    // Committed within two rounds: the appends' answers are urgent too, not held to the next beat.
    await c.round();
    await c.round();
    let done = false;
    void committed.then(() => (done = true));
    await nextTurn();
    expect(done).toBe(true);
  });

  it('puts appends and heartbeats of many groups to one peer into one batch', async () => {
    const c = cluster({ groups: 5, seed: 3 });
    await c.until(c.settledLeaders);
    for (let i = 0; i < 3; i++) await c.round();
    const leaders = c.groupNames.map((group) => c.leaderOf(group) as RaftDriver<Buffer>);
    for (const leader of leaders) void leader.propose(Buffer.from('x'));
    const batches = await c.round();
    const pairs = batches.map((b) => `${b.from}>${b.to}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    const appends = batches.flatMap((b) => b.messages.filter((m) => m.message.type === 'append'));
    expect(appends.length).toBe(10);
    expect(new Set(appends.map((m) => m.group))).toEqual(new Set(c.groupNames));
  });

  it('hands a message of a group it does not host to onUnknownGroup, and stops ticking a removed group', async () => {
    const c = cluster({ groups: 2, seed: 5 });
    await c.until(c.settledLeaders);
    const host1 = c.hosts.get(1) as RaftHost;
    expect(host1.groups().sort()).toEqual(['orders-0', 'orders-1']);
    const beat = { group: 'orders-9', term: 4 as Epoch, highWatermark: 0 as never };
    host1.deliver({ from: 2, to: 1, heartbeats: { beats: [beat], answers: [] }, messages: [] });
    expect(c.unknown).toEqual([{ host: 1, group: 'orders-9', message: { type: 'heartbeat', from: 2, to: 1, term: 4, highWatermark: 0 } }]);

    expect(host1.removeGroup('orders-1')).toBe(true);
    expect(host1.removeGroup('orders-1')).toBe(false);
    expect(host1.groups()).toEqual(['orders-0']);
    const removed = c.drivers.get('orders-1')?.get(1) as RaftDriver<Buffer>;
    const term = removed.node.term;
    for (let i = 0; i < 60; i++) await c.round();
    // Never ticked again, and whatever the others sent it went to onUnknownGroup.
    expect(removed.node.term).toBe(term);
    expect(c.unknown.some((u) => u.host === 1 && u.group === 'orders-1')).toBe(true);
    // The two remaining replicas still have a leader.
    expect([2, 3].some((id) => c.drivers.get('orders-1')?.get(id)?.node.role === 'leader')).toBe(true);
  });

  it('drops the held heartbeats of a group it stops hosting, and sends the others at the beat', () => {
    const timers = new ManualTimers();
    const sent: RaftBatch[] = [];
    const host = new RaftHost({ nodeId: 1, transport: { send: (_to, batch) => sent.push(batch) }, timers, tickMs: 10, heartbeatTicks: 2, defer: () => {} });
    for (const group of ['kept', 'removed']) {
      const storage = new MemoryStorage<Buffer>();
      const node = new RaftNode<Buffer>({ id: 1, voters: [1, 2], random: new Prng(1), leaderChangePayload: () => Buffer.alloc(0), sizeOf: (p) => p.length }, storage);
      host.addGroup(group, new RaftDriver({ node, storage, transport: host.transportFor(group) }));
      host.transportFor(group).send([{ type: 'heartbeat', from: 1, to: 2, term: 1 as Epoch, highWatermark: 0 as never }]);
    }
    host.start();
    timers.fire();
    expect(sent).toEqual([]);
    host.removeGroup('removed');
    timers.fire();
    expect(sent.map((b) => b.heartbeats.beats.map((beat) => beat.group))).toEqual([['kept']]);
  });

  it('rejects bad input with a clear error', () => {
    const host = new RaftHost({ nodeId: 1, transport: { send: () => {} }, timers: new ManualTimers(), tickMs: 10 });
    expect(() => host.deliver({ from: 2, to: 3, heartbeats: { beats: [], answers: [] }, messages: [] })).toThrow('raft batch for node 3 delivered to node 1');
    const message = { type: 'timeout-now', from: 3, to: 1, term: 1 } as Message<Buffer>;
    expect(() => host.deliver({ from: 2, to: 1, heartbeats: { beats: [], answers: [] }, messages: [{ group: 'g', message }] })).toThrow('holds a message 3->1');
    expect(() => new RaftHost({ nodeId: 1, transport: { send: () => {} }, timers: new ManualTimers(), tickMs: 0 })).toThrow('tickMs');
    expect(() => new RaftHost({ nodeId: 1, transport: { send: () => {} }, timers: new ManualTimers(), tickMs: 10, heartbeatTicks: 0 })).toThrow('heartbeatTicks');
    const storage = new MemoryStorage<Buffer>();
    const node = new RaftNode<Buffer>({ id: 2, voters: [1, 2], random: new Prng(1), leaderChangePayload: () => Buffer.alloc(0), sizeOf: (p) => p.length }, storage);
    expect(() => host.addGroup('g', new RaftDriver({ node, storage, transport: host.transportFor('g') }))).toThrow('its node is 2, this host is node 1');
  });
});
