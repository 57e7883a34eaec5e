/**
 * An N-broker cluster inside one process, for an application's own tests of how it rides through
 * failover: `startCluster({ nodes: 3 })` from `strata/broker`, then `killBroker(id)`,
 * `restartBroker(id)` and `partitionBroker(id)` / `healBroker(id)`.
 *
 * Each broker is a real `startBroker` with its own data dir under one temporary directory (removed
 * by `close()` unless `dataDir` was given), listening on 127.0.0.1. The voters must know each
 * other's ports before any starts, so free ports are found first by binding port 0 and releasing it
 * (another process could take one in between; a clash fails the start loudly, never silently).
 *
 * - `killBroker(id)` stops a broker without handing its leaderships on: to its peers it vanishes,
 *   as after `kill -9` (what was written stays: in one process there is no page cache to lose).
 * - `partitionBroker(id)` drops every Raft message to and from it while it keeps serving clients: a
 *   network split between brokers. A leader cut off this way steps down within an election timeout
 *   (check-quorum) and stops acknowledging `acks=all`.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startBroker, type Broker, type BrokerOptions } from '../broker.js';
import type { PeerAddress } from '../config.js';

export interface EmbeddedClusterOptions {
  /** Brokers, node ids 1..nodes. Default 3. */
  readonly nodes?: number;
  /** Parent of the brokers' data dirs (`node-<id>`); default a temporary dir removed by `close()`. */
  readonly dataDir?: string;
  /** Options every broker starts with (a logger, topic defaults, timeouts...). */
  readonly brokerOptions?: Omit<BrokerOptions, 'nodeId' | 'peers' | 'listen' | 'dataDir'>;
}

export interface EmbeddedCluster {
  /** `host:port` of every broker, for a client's `brokers`. */
  readonly bootstrap: readonly string[];
  readonly nodeIds: readonly number[];
  /** The running broker with this id, or undefined while it is killed. */
  broker(id: number): Broker | undefined;
  /** Resolves with the controller's id once the metadata has a leader and every live broker registered. */
  waitForController(timeoutMs?: number): Promise<number>;
  /** Resolves with the leader of `topic`-`partition` once one is elected (deadline `timeoutMs`). */
  waitForLeader(topic: string, partition: number, timeoutMs?: number): Promise<number>;
  killBroker(id: number): Promise<void>;
  restartBroker(id: number): Promise<Broker>;
  partitionBroker(id: number): void;
  healBroker(id: number): void;
  close(): Promise<void>;
}

export async function startCluster(options: EmbeddedClusterOptions = {}): Promise<EmbeddedCluster> {
  const count = options.nodes ?? 3;
  if (!Number.isSafeInteger(count) || count < 1 || count > 9) throw new Error(`nodes must be from 1 to 9, got ${count}`);
  const temporary = options.dataDir === undefined;
  const root = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'strata-cluster-'));
  const ports = await freePorts(count);
  const peers: PeerAddress[] = ports.map((port, i) => ({ nodeId: i + 1, host: '127.0.0.1', port }));
  const running = new Map<number, Broker>();
  const start = (peer: PeerAddress): Promise<Broker> =>
    startBroker({
      http: null,
      ...options.brokerOptions,
      nodeId: peer.nodeId,
      peers,
      listen: { host: peer.host, port: peer.port },
      dataDir: path.join(root, `node-${peer.nodeId}`),
    });
  try {
    const brokers = await Promise.all(peers.map(start));
    for (const broker of brokers) running.set(broker.nodeId, broker);
  } catch (error) {
    await Promise.allSettled([...running.values()].map((b) => b.close({ handOff: false })));
    if (temporary) fs.rmSync(root, { recursive: true, force: true });
    throw error;
  }
  const peerOf = (id: number): PeerAddress => {
    const peer = peers.find((p) => p.nodeId === id);
    if (peer === undefined) throw new Error(`no broker ${id}; the cluster has ${peers.map((p) => p.nodeId).join(', ')}`);
    return peer;
  };
  const live = (): Broker[] => [...running.values()];
  return {
    bootstrap: peers.map((p) => `${p.host}:${p.port}`),
    nodeIds: peers.map((p) => p.nodeId),
    broker: (id) => running.get(id),
    waitForController: (timeoutMs = 30_000) =>
      waitFor(timeoutMs, 'a controller with every live broker registered', () => {
        const brokers = live();
        for (const broker of brokers) {
          const status = broker.cluster?.status();
          if (status === undefined || status.metadataLeader === null) continue;
          const registered = new Set(status.brokers.map((b) => b.nodeId));
          if (brokers.every((b) => registered.has(b.nodeId))) return status.metadataLeader;
        }
        return undefined;
      }),
    waitForLeader: (topic, partition, timeoutMs = 30_000) =>
      waitFor(timeoutMs, `a leader of ${topic}-${partition}`, () => {
        for (const broker of live()) {
          const hosted = broker.partitions.partition(topic, partition);
          if (hosted?.isLeader === true) return broker.nodeId;
        }
        return undefined;
      }),
    killBroker: async (id) => {
      peerOf(id);
      const broker = running.get(id);
      if (broker === undefined) return;
      running.delete(id);
      await broker.close({ handOff: false });
    },
    restartBroker: async (id) => {
      const peer = peerOf(id);
      const old = running.get(id);
      if (old !== undefined) {
        running.delete(id);
        await old.close();
      }
      const broker = await start(peer);
      running.set(id, broker);
      return broker;
    },
    partitionBroker: (id) => {
      peerOf(id);
      running.get(id)?.cluster?.cutOff(true);
    },
    healBroker: (id) => {
      peerOf(id);
      running.get(id)?.cluster?.cutOff(false);
    },
    close: async () => {
      await Promise.allSettled(live().map((b) => b.close()));
      running.clear();
      if (temporary) fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Ports free right now on 127.0.0.1: bound at port 0 all at once (so distinct), then released. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<net.Server>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

async function waitFor<T>(timeoutMs: number, what: string, probe: () => T | undefined): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
