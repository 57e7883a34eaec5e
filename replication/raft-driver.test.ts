// Method: three RaftDrivers over MemoryStorage and an in-process transport that delivers on the next
// macrotask; ticks are driven by the test, and every wait is for a condition with a bounded number of
// rounds (no timing).
import { describe, expect, it } from 'vitest';
import { asEpoch, type Epoch } from '../log/index.js';
import { MemoryStorage } from './memory-storage.js';
import type { Message, NodeId } from './message.js';
import { Prng } from './prng.js';
import { NotLeader, RaftDriver } from './raft-driver.js';
import { RaftNode } from './raft-node.js';

function cluster(size: number) {
  const ids = Array.from({ length: size }, (_, i) => i + 1);
  const prng = new Prng(7);
  const drivers = new Map<NodeId, RaftDriver<string>>();
  const storages = new Map<NodeId, MemoryStorage<string>>();
  for (const id of ids) {
    const storage = new MemoryStorage<string>();
    storages.set(id, storage);
    const node = new RaftNode<string>(
      { id, voters: ids, random: prng.fork(), leaderChangePayload: (term: Epoch) => `leader-change ${term}`, sizeOf: (p) => p.length },
      storage,
    );
    const transport = { send: (messages: readonly Message<string>[]) => setImmediate(() => messages.forEach((m) => drivers.get(m.to)?.step(m))) };
    drivers.set(id, new RaftDriver({ node, storage, transport }));
  }
  const round = async (): Promise<void> => {
    for (const driver of drivers.values()) driver.tick();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
  };
  const until = async (condition: () => boolean, rounds = 200): Promise<void> => {
    for (let i = 0; i < rounds && !condition(); i++) await round();
    expect(condition()).toBe(true);
  };
  const leader = (): RaftDriver<string> | undefined => [...drivers.values()].find((d) => d.node.role === 'leader');
  return { drivers, storages, until, leader };
}

describe('RaftDriver', () => {
  it('elects a leader, and a proposal resolves once committed (acks=all)', async () => {
    const c = cluster(3);
    await c.until(() => c.leader() !== undefined);
    const leader = c.leader() as RaftDriver<string>;
    const proposal = leader.propose('hello');
    let done = false;
    void proposal.then(() => (done = true));
    await c.until(() => done);
    const proposed = await proposal;
    expect(proposed.term).toBe(leader.node.term);
    // Every node holds it durably once the high watermark reached it there.
    await c.until(() => [...c.drivers.values()].every((d) => d.node.highWatermark > proposed.lastOffset));
    for (const storage of c.storages.values()) expect(storage.durableEntries().some((e) => e.payload === 'hello')).toBe(true);
  });

  it('a follower refuses proposals, naming the leader', async () => {
    const c = cluster(3);
    await c.until(() => c.leader() !== undefined);
    await c.until(() => [...c.drivers.values()].every((d) => d.node.leader !== undefined));
    const follower = [...c.drivers.values()].find((d) => d.node.role === 'follower') as RaftDriver<string>;
    await expect(follower.propose('x')).rejects.toBeInstanceOf(NotLeader);
  });

  it('graceful shutdown hands leadership to the most caught-up voter at once', async () => {
    const c = cluster(3);
    await c.until(() => c.leader() !== undefined);
    const old = c.leader() as RaftDriver<string>;
    await old.propose('before');
    const target = old.handOff();
    expect(target).toBeDefined();
    await c.until(() => c.drivers.get(target as NodeId)?.node.role === 'leader', 20);
    expect(c.drivers.get(target as NodeId)?.node.term).toBe(asEpoch(old.node.term));
  });

  it('a full disk stops the driver and fails its waiters', async () => {
    const c = cluster(3);
    await c.until(() => c.leader() !== undefined);
    const leader = c.leader() as RaftDriver<string>;
    (c.storages.get(leader.node.id) as MemoryStorage<string>).diskFull = true;
    await expect(leader.propose('never')).rejects.toThrow('raft driver stopped');
    expect(leader.isStopped).toBe(true);
  });
});
