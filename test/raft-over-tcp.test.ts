// Method: three real brokers (free ports, temp data dirs), each given a RaftHost of 10 groups
// (RaftDriver over MemoryStorage) as its Raft service: each host's batches leave through PeerLinks as
// RaftMessages requests, the peer broker's handler decodes them and delivers them to its host. Ticks
// run on real timers; every wait is for a condition with a deadline. Then one broker stops and
// starts again on its port: its peers drop what they send it meanwhile, and its groups commit again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'vitest';
import { PeerLinks, silentLogger, startBroker, type Broker } from '../broker/index.js';
import type { Epoch } from '../log/index.js';
import { MemoryStorage, Prng, RaftDriver, RaftHost, RaftNode, type NodeId, type PeerTransport } from '../replication/index.js';

const IDS = [1, 2, 3];
const GROUPS = Array.from({ length: 10 }, (_, i) => `orders-${i}`);

const realTimers = {
  every(ms: number, callback: () => void) {
    const timer = setInterval(callback, ms);
    return { cancel: () => clearInterval(timer) };
  },
};

async function waitFor(condition: () => boolean, what: string, deadlineMs = 20_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('Raft groups over PeerLinks and RaftMessages frames', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('elects a leader in every group, commits proposals, and recovers after a broker restarts', async () => {
    const prng = new Prng(21);
    const links = new Map<NodeId, PeerLinks>();
    const hosts = new Map<NodeId, RaftHost>();
    const drivers = new Map<string, Map<NodeId, RaftDriver<Buffer>>>(GROUPS.map((g) => [g, new Map()]));
    for (const id of IDS) {
      // The links need every listener's port, known only once they listen: send through them late.
      const transport: PeerTransport = { send: (to, batch) => links.get(id)?.send(to, batch) };
      const host = new RaftHost({ nodeId: id, transport, timers: realTimers, tickMs: 10 });
      hosts.set(id, host);
      for (const group of GROUPS) {
        const storage = new MemoryStorage<Buffer>();
        const node = new RaftNode<Buffer>(
          { id, voters: IDS, random: prng.fork(), leaderChangePayload: (term: Epoch) => Buffer.from(`leader-change ${term}`), sizeOf: (p) => p.length },
          storage,
        );
        const driver = new RaftDriver<Buffer>({ node, storage, transport: host.transportFor(group) });
        host.addGroup(group, driver);
        drivers.get(group)?.set(id, driver);
      }
    }
    const brokers = new Map<NodeId, Broker>();
    const dataDirs = new Map<NodeId, string>();
    const startOn = async (id: NodeId, port: number): Promise<Broker> => {
      const broker = await startBroker({
        nodeId: id, dataDir: dataDirs.get(id) as string, listen: { host: '127.0.0.1', port }, http: null, logger: silentLogger(), raft: hosts.get(id) as RaftHost,
      });
      brokers.set(id, broker);
      return broker;
    };
    const ports = new Map<NodeId, number>();
    for (const id of IDS) {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `strata-raft-tcp-${id}-`));
      dataDirs.set(id, dataDir);
      cleanup.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
      ports.set(id, (await startOn(id, 0)).address.port);
      cleanup.push(() => brokers.get(id)?.close());
    }
    for (const id of IDS) {
      const peers = new Map(IDS.filter((p) => p !== id).map((p) => [p, { host: '127.0.0.1', port: ports.get(p) as number }]));
      const peerLinks = new PeerLinks({ nodeId: id, peers, logger: silentLogger(), reconnectBackoffMs: 5, reconnectBackoffMaxMs: 50 });
      links.set(id, peerLinks);
      cleanup.push(() => peerLinks.close());
    }
    for (const host of hosts.values()) {
      host.start();
      cleanup.push(() => host.stop());
    }

    const leaderOf = (group: string) => [...(drivers.get(group) as Map<NodeId, RaftDriver<Buffer>>).values()].find((d) => d.node.role === 'leader');
    const everyGroupLed = () => GROUPS.every((g) => leaderOf(g) !== undefined);
    const commitEverywhere = async (label: string) => {
      await waitFor(everyGroupLed, `a leader in every group (${label})`);
      const proposed = await Promise.all(
        GROUPS.map(async (g) => {
          // A leader may be deposed between the look-up and the proposal: try again with the new one.
          for (;;) {
            const leader = leaderOf(g);
            if (leader !== undefined) {
              try {
                return await leader.propose(Buffer.from(`${label} ${g}`));
              } catch {
                // not the leader any more, or the entry was replaced: propose again
              }
            }
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        }),
      );
      await waitFor(
        () => GROUPS.every((g, i) => [...(drivers.get(g) as Map<NodeId, RaftDriver<Buffer>>).values()].every((d) => d.node.highWatermark > (proposed[i]?.lastOffset ?? Infinity))),
        `every replica to commit (${label})`,
      );
    };

    await commitEverywhere('first');

    // Broker 3 stops: its peers drop what they send it, the other two keep a quorum.
    await brokers.get(3)?.close();
    await waitFor(() => [1, 2].every((id) => links.get(id)?.stats().get(3)?.state !== 'up'), 'the links to broker 3 to go down');
    const droppedWhileDown = () => [1, 2].reduce((n, id) => n + (links.get(id)?.stats().get(3)?.droppedBatches ?? 0), 0);
    const dropped = droppedWhileDown();
    await waitFor(() => droppedWhileDown() > dropped + 10, 'batches to broker 3 to be dropped');

    await startOn(3, ports.get(3) as number);
    await waitFor(() => [1, 2].every((id) => (links.get(id)?.stats().get(3)?.connects ?? 0) >= 2), 'the links to broker 3 to reconnect');
    await commitEverywhere('after the restart');
  }, 60_000);
});
