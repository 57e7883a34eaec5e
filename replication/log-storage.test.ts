// Method: three RaftNodes, each over a LogStorage over a real Log in a temp dir, driven in process:
// every Ready is persisted (snapshot, entries, hard state, sync) before its after-persist messages
// leave, messages are delivered from one queue (dropped to and from nodes that are down or cut off),
// and nodes tick only when the cluster is otherwise quiet. Each scenario waits for a condition with a
// deadline, then compares the bytes `Log.read` returns on every replica.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { asOffset, encodeBatch, encodeLeaderChangeBatch, Log, type LogConfig, type LogTimers, type Offset } from '../log/index.js';
import { LogStorage } from './log-storage.js';
import type { Message, NodeId } from './message.js';
import { Prng } from './prng.js';
import { RaftDriver } from './raft-driver.js';
import { RaftNode } from './raft-node.js';
import { RAFT_STATE_FILE } from './raft-state-file.js';
import { mustPersist } from './ready.js';

const NOW = 1_700_000_000_000;
const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

interface Replica {
  readonly id: NodeId;
  readonly dir: string;
  log: Log | undefined;
  storage: LogStorage | undefined;
  node: RaftNode<Buffer> | undefined;
  loads: number;
}

interface ClusterOptions {
  config?: Partial<LogConfig>;
  tailCacheBytes?: number;
  readBytes?: number;
}

/** A checkpoint timer the test fires by hand. */
class ManualTimers implements LogTimers {
  private readonly callbacks = new Set<() => void>();
  every(_ms: number, callback: () => void): () => void {
    this.callbacks.add(callback);
    return () => this.callbacks.delete(callback);
  }
  fire(): void {
    for (const callback of this.callbacks) callback();
  }
}

class Cluster {
  readonly replicas: Replica[];
  readonly timers = new ManualTimers();
  private queue: Message<Buffer>[] = [];
  private readonly cut = new Set<NodeId>();
  private readonly prng = new Prng(7);

  constructor(private readonly options: ClusterOptions = {}) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-log-storage-'));
    temps.push(root);
    this.replicas = [1, 2, 3].map((id) => ({ id, dir: path.join(root, `node-${id}`), log: undefined, storage: undefined, node: undefined, loads: 0 }));
  }

  replica(id: NodeId): Replica {
    return this.replicas[id - 1] as Replica;
  }

  node(id: NodeId): RaftNode<Buffer> {
    const node = this.replica(id).node;
    if (node === undefined) throw new Error(`node ${id} is down`);
    return node;
  }

  async start(id: NodeId): Promise<void> {
    const replica = this.replica(id);
    const log = await Log.open(replica.dir, { flushPolicy: 'never', segmentBytes: 64 * 1024, ...this.options.config }, { clock: () => NOW });
    replica.log = log;
    const storage = await LogStorage.open(log, {
      timers: this.timers,
      ...(this.options.tailCacheBytes === undefined ? {} : { tailCacheBytes: this.options.tailCacheBytes }),
      ...(this.options.readBytes === undefined ? {} : { readBytes: this.options.readBytes }),
      onEntriesLoaded: () => {
        replica.loads++;
        replica.node?.entriesLoaded();
      },
    });
    replica.storage = storage;
    replica.node = new RaftNode<Buffer>(
      {
        id,
        voters: [1, 2, 3],
        random: this.prng.fork(),
        maxAppendBytes: 64 * 1024,
        leaderChangePayload: (term, leader, baseOffset) => encodeLeaderChangeBatch(term, leader, baseOffset, NOW),
        sizeOf: (payload) => payload.length,
      },
      storage,
    );
  }

  /** A clean stop: the storage checkpoints, the log closes. */
  async stop(id: NodeId): Promise<void> {
    const replica = this.replica(id);
    replica.node = undefined;
    await replica.storage?.close();
    await replica.log?.close();
    replica.storage = undefined;
    replica.log = undefined;
  }

  isolate(id: NodeId): void {
    this.cut.add(id);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Processes Readies and delivers messages until `done()` holds; ticks every node when quiet. */
  async until(done: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const busy = await this.round();
      if (done()) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      if (!busy) {
        for (const replica of this.replicas) replica.node?.tick();
        // Let a pending read from disk land.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  private async round(): Promise<boolean> {
    let busy = false;
    for (const replica of this.replicas) {
      for (let node = replica.node; node !== undefined && node === replica.node && node.hasReady(); ) {
        busy = true;
        const ready = node.ready();
        this.send(ready.messages);
        if (mustPersist(ready)) {
          const storage = replica.storage as LogStorage;
          if (ready.snapshot !== undefined) storage.applySnapshot(ready.snapshot);
          storage.append(ready.entries);
          if (ready.hardState !== undefined) storage.setHardState(ready.hardState);
          await storage.sync();
        }
        this.send(ready.messagesAfterPersist);
        node.advance(ready);
      }
    }
    const queue = this.queue;
    this.queue = [];
    for (const m of queue) {
      const node = this.replica(m.to).node;
      if (node === undefined || this.cut.has(m.to) || this.cut.has(m.from)) continue;
      busy = true;
      node.step(m);
    }
    return busy;
  }

  private send(messages: readonly Message<Buffer>[]): void {
    for (const m of messages) this.queue.push(m);
  }

  async elect(id: NodeId): Promise<RaftNode<Buffer>> {
    this.node(id).campaign();
    await this.until(() => this.node(id).role === 'leader', `node ${id} to lead`);
    return this.node(id);
  }

  /** A producer's batch (or several), stamped by the leader's log as proposed, then proposed. */
  propose(leaderId: NodeId, values: readonly string[][]): Offset {
    const leader = this.node(leaderId);
    const batches = Buffer.concat(values.map((records) => encodeBatch(records.map((value) => ({ value, timestamp: NOW })))));
    const log = this.replica(leaderId).log as Log;
    const prepared = log.prepareLeaderAppend(batches, { baseOffset: leader.log.endOffset, leaderEpoch: leader.term });
    const result = leader.propose(batches, prepared.records);
    if (!result.ok) throw new Error(`proposal refused: ${result.reason}`);
    expect(result.lastOffset).toBe(prepared.lastOffset);
    return result.lastOffset;
  }

  async commit(leaderId: NodeId, count: number, recordsPerBatch = 1, valueBytes = 100): Promise<Offset> {
    let last = asOffset(0);
    for (let i = 0; i < count; i++) {
      const value = `${i}`.padEnd(valueBytes, 'x');
      last = this.propose(leaderId, [Array.from({ length: recordsPerBatch }, () => value)]);
    }
    await this.until(() => this.node(leaderId).highWatermark > last, `offset ${last} to commit`);
    return last;
  }

  /** Every node up has persisted all it knows, and holds the leader's log end and high watermark. */
  async converged(leaderId: NodeId): Promise<void> {
    const leader = this.node(leaderId);
    await this.until(
      () =>
        this.replicas.every(
          (r) =>
            r.node === undefined ||
            (!r.node.hasReady() && r.node.highWatermark === leader.highWatermark && (r.log as Log).logEndOffset === (this.replica(leaderId).log as Log).logEndOffset),
        ),
      'every replica to hold the leader log',
    );
  }
}

async function readAll(log: Log, from: Offset, to: Offset): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let at = from; at < to; ) {
    const { bytes, nextOffset } = await log.read(at, { maxBytes: 1 << 20, maxOffset: to });
    if (bytes.length === 0) break;
    chunks.push(bytes);
    at = nextOffset;
  }
  return Buffer.concat(chunks);
}

async function expectSameBytes(cluster: Cluster, from: Offset, ids: readonly NodeId[] = [1, 2, 3]): Promise<Buffer> {
  const reference = cluster.replica(ids[0] as NodeId);
  const to = (reference.log as Log).logEndOffset;
  const bytes = await readAll(reference.log as Log, from, to);
  expect(bytes.length).toBeGreaterThan(0);
  for (const id of ids.slice(1)) {
    const log = cluster.replica(id).log as Log;
    expect(log.logEndOffset).toBe(to);
    expect((await readAll(log, from, to)).equals(bytes)).toBe(true);
  }
  return bytes;
}

async function stopAll(cluster: Cluster): Promise<void> {
  for (const replica of cluster.replicas) if (replica.log !== undefined) await cluster.stop(replica.id);
}

describe('LogStorage: a Raft group over three real logs', () => {
  it('elects, commits stamped batches (multi-batch proposals included) and every log reads the same bytes', async () => {
    const cluster = new Cluster({ config: { flushPolicy: 'always' } });
    for (const id of [1, 2, 3]) await cluster.start(id);
    await cluster.elect(1);
    await cluster.commit(1, 20);
    cluster.propose(1, [['a', 'b'], ['c'], ['d', 'e', 'f']]);
    await cluster.commit(1, 5, 3);
    await cluster.converged(1);
    await expectSameBytes(cluster, asOffset(0));
    // The leader-change control batch opens the term, at offset 0.
    expect((cluster.replica(2).log as Log).leaderEpochs).toEqual([{ epoch: cluster.node(1).term, startOffset: 0 }]);
    await stopAll(cluster);
  });

  it('keeps term, vote and high watermark across a reopen', async () => {
    const cluster = new Cluster();
    for (const id of [1, 2, 3]) await cluster.start(id);
    const leader = await cluster.elect(1);
    await cluster.commit(1, 10);
    await cluster.converged(1);
    const before = { term: cluster.node(2).term, vote: cluster.node(2).vote, highWatermark: cluster.node(2).highWatermark };
    await cluster.stop(2);
    await cluster.start(2);
    const storage = cluster.replica(2).storage as LogStorage;
    expect(storage.hardState()).toEqual(before);
    expect(cluster.node(2).highWatermark).toBe(before.highWatermark);
    expect(storage.termAt(asOffset(0))).toBe(leader.term);
    await stopAll(cluster);
  });

  it('a follower stopped and restarted from disk catches up', async () => {
    const cluster = new Cluster();
    for (const id of [1, 2, 3]) await cluster.start(id);
    await cluster.elect(1);
    await cluster.commit(1, 10);
    await cluster.stop(3);
    await cluster.commit(1, 30);
    await cluster.start(3);
    await cluster.commit(1, 5);
    await cluster.converged(1);
    await expectSameBytes(cluster, asOffset(0));
    await stopAll(cluster);
  });

  it("truncates a deposed leader's uncommitted tail", async () => {
    const cluster = new Cluster();
    for (const id of [1, 2, 3]) await cluster.start(id);
    await cluster.elect(1);
    const committed = await cluster.commit(1, 5);
    cluster.isolate(1);
    for (let i = 0; i < 4; i++) cluster.propose(1, [[`lost-${i}`]]);
    await cluster.until(() => (cluster.replica(1).log as Log).logEndOffset === committed + 5, 'the old leader to write its tail');
    await cluster.until(() => [2, 3].some((id) => cluster.node(id).role === 'leader'), 'a new leader among 2 and 3');
    const newLeader = [2, 3].find((id) => cluster.node(id).role === 'leader') as NodeId;
    await cluster.commit(newLeader, 8);
    cluster.heal();
    await cluster.converged(newLeader);
    const bytes = await expectSameBytes(cluster, asOffset(0));
    expect(bytes.includes(Buffer.from('lost-0'))).toBe(false);
    await stopAll(cluster);
  });

  it('a follower behind more than the tail cache catches up through reads from disk', async () => {
    const cluster = new Cluster({ tailCacheBytes: 16 * 1024, readBytes: 24 * 1024 });
    for (const id of [1, 2, 3]) await cluster.start(id);
    await cluster.elect(1);
    await cluster.stop(3);
    await cluster.commit(1, 120, 1, 1000);
    await cluster.start(3);
    await cluster.converged(1);
    expect(cluster.replica(1).loads).toBeGreaterThan(3);
    await expectSameBytes(cluster, asOffset(0));
    await stopAll(cluster);
  });

  it("a follower behind the leader's log start is reset to it, and keeps the term below it", async () => {
    const cluster = new Cluster({ tailCacheBytes: 16 * 1024 });
    for (const id of [1, 2, 3]) await cluster.start(id);
    const leader = await cluster.elect(1);
    await cluster.commit(1, 5);
    await cluster.stop(3);
    await cluster.commit(1, 60, 1, 1000);
    const leaderLog = cluster.replica(1).log as Log;
    // A batch boundary below the high watermark: the base of the batch holding offset 40.
    const { bytes } = await leaderLog.read(asOffset(40), { maxBytes: 1 });
    const start = asOffset(Number(bytes.readBigInt64BE(0)));
    await leaderLog.deleteRecordsBefore(start);
    await cluster.start(3);
    await cluster.commit(1, 3);
    await cluster.converged(1);
    const followerLog = cluster.replica(3).log as Log;
    expect(followerLog.logStartOffset).toBe(start);
    await expectSameBytes(cluster, start, [1, 3]);
    expect((cluster.replica(3).storage as LogStorage).termAt(asOffset(start - 1))).toBe(leader.term);
    await cluster.stop(3);
    await cluster.start(3);
    expect((cluster.replica(3).storage as LogStorage).termAt(asOffset(start - 1))).toBe(leader.term);
    expect((cluster.replica(3).storage as LogStorage).snapshot().lastOffset).toBe(start - 1);
    await stopAll(cluster);
  });

  it('does not rewrite raft-state per commit; the checkpoint timer and close do', async () => {
    const cluster = new Cluster();
    for (const id of [1, 2, 3]) await cluster.start(id);
    await cluster.elect(1);
    await cluster.commit(1, 1);
    await cluster.converged(1);
    const writes = cluster.replicas.map((r) => (r.storage as LogStorage).stateFileWrites);
    for (let i = 0; i < 30; i++) await cluster.commit(1, 1);
    await cluster.converged(1);
    expect(cluster.replicas.map((r) => (r.storage as LogStorage).stateFileWrites)).toEqual(writes);
    const highWatermark = cluster.node(2).highWatermark;
    cluster.timers.fire();
    expect(cluster.replicas.map((r) => (r.storage as LogStorage).stateFileWrites)).toEqual(writes.map((n) => n + 1));
    const file = JSON.parse(fs.readFileSync(path.join(cluster.replica(2).dir, RAFT_STATE_FILE), 'utf8')) as { highWatermark: number; term: number };
    expect(file.highWatermark).toBe(highWatermark);
    expect(file.term).toBe(cluster.node(2).term);
    cluster.timers.fire();
    expect(cluster.replicas.map((r) => (r.storage as LogStorage).stateFileWrites)).toEqual(writes.map((n) => n + 1));
    await stopAll(cluster);
  });

  it('after a kill, restarts from the last high watermark checkpoint, never above the log end', async () => {
    const cluster = new Cluster();
    for (const id of [1, 2, 3]) await cluster.start(id);
    await cluster.elect(1);
    await cluster.commit(1, 5);
    await cluster.converged(1);
    cluster.timers.fire();
    const checkpointed = cluster.node(2).highWatermark;
    await cluster.commit(1, 10);
    await cluster.converged(1);
    expect(cluster.node(2).highWatermark).toBeGreaterThan(checkpointed);
    // A kill: the directory as it is on disk now, without a clean close.
    const copy = `${cluster.replica(2).dir}-killed`;
    fs.cpSync(cluster.replica(2).dir, copy, { recursive: true });
    const log = await Log.open(copy, { flushPolicy: 'never' }, { clock: () => NOW });
    const storage = await LogStorage.open(log, { onEntriesLoaded: () => undefined });
    expect(storage.hardState()).toEqual({ term: cluster.node(2).term, vote: cluster.node(2).vote, highWatermark: checkpointed });
    expect(storage.endOffset()).toBe(log.logEndOffset);
    const node = new RaftNode<Buffer>({ id: 2, voters: [1, 2, 3], random: new Prng(1), leaderChangePayload: () => Buffer.alloc(0), sizeOf: (p) => p.length }, storage);
    expect(node.highWatermark).toBe(checkpointed);
    await storage.close();
    await log.close();
    await stopAll(cluster);
  });

  it('refuses an entry whose bytes are not stamped with its offset and term', async () => {
    const cluster = new Cluster();
    await cluster.start(1);
    const storage = cluster.replica(1).storage as LogStorage;
    const unstamped = encodeBatch([{ value: 'v', timestamp: NOW }]);
    expect(() => storage.append([{ baseOffset: asOffset(0), lastOffset: asOffset(0), term: 1 as never, payload: unstamped, sizeBytes: unstamped.length }])).toThrow(/stamped/);
    await stopAll(cluster);
  });

  it('refuses a raft-state file it cannot read', async () => {
    const cluster = new Cluster();
    await cluster.start(1);
    await cluster.stop(1);
    fs.writeFileSync(path.join(cluster.replica(1).dir, RAFT_STATE_FILE), '{"version":1,"term":');
    await expect(cluster.start(1)).rejects.toThrow(/may have voted/);
    await (cluster.replica(1).log as Log | undefined)?.close();
  });

  it('runs under RaftDriver: acks=all proposals resolve, and a follower behind the tail catches up from disk', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-log-storage-driver-'));
    temps.push(root);
    const ids: NodeId[] = [1, 2, 3];
    const down = new Set<NodeId>([3]);
    const loads = [0, 0, 0];
    const stops: unknown[] = [];
    const logs = await Promise.all(ids.map((id) => Log.open(path.join(root, `node-${id}`), { flushPolicy: 'never' }, { clock: () => NOW })));
    const drivers: RaftDriver<Buffer>[] = [];
    const storages = await Promise.all(
      logs.map((log, i) =>
        LogStorage.open(log, {
          tailCacheBytes: 8 * 1024,
          readBytes: 16 * 1024,
          onEntriesLoaded: () => {
            loads[i] = (loads[i] as number) + 1;
            drivers[i]?.entriesLoaded();
          },
        }),
      ),
    );
    const prng = new Prng(3);
    for (const id of ids) {
      const storage = storages[id - 1] as LogStorage;
      const node = new RaftNode<Buffer>(
        { id, voters: ids, random: prng.fork(), leaderChangePayload: (term, leader, baseOffset) => encodeLeaderChangeBatch(term, leader, baseOffset, NOW), sizeOf: (p) => p.length },
        storage,
      );
      const transport = {
        send: (messages: readonly Message<Buffer>[]): void => {
          for (const m of messages) {
            setImmediate(() => {
              if (!down.has(m.to) && !down.has(m.from)) drivers[m.to - 1]?.step(m);
            });
          }
        },
      };
      drivers.push(new RaftDriver<Buffer>({ node, storage, transport, onStopped: (error) => stops.push(error) }));
    }
    const leader = drivers[0] as RaftDriver<Buffer>;
    const waitFor = async (done: () => boolean, what: string): Promise<void> => {
      const deadline = Date.now() + 20_000;
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        for (const driver of drivers) if (!down.has(driver.node.id)) driver.tick();
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    leader.node.campaign();
    leader.tick();
    await waitFor(() => leader.node.role === 'leader', 'node 1 to lead');
    const proposals: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      const batch = encodeBatch([{ value: `${i}`.padEnd(1000, 'y'), timestamp: NOW }]);
      const prepared = (logs[0] as Log).prepareLeaderAppend(batch, { baseOffset: leader.node.log.endOffset, leaderEpoch: leader.node.term });
      proposals.push(leader.propose(batch, prepared.records));
    }
    await Promise.all(proposals);
    down.delete(3);
    const leaderLog = logs[0] as Log;
    await waitFor(() => (logs[2] as Log).logEndOffset === leaderLog.logEndOffset, 'node 3 to catch up');
    expect(loads[0]).toBeGreaterThan(0);
    const bytes = await readAll(leaderLog, asOffset(0), leaderLog.logEndOffset);
    expect((await readAll(logs[2] as Log, asOffset(0), leaderLog.logEndOffset)).equals(bytes)).toBe(true);
    for (const driver of drivers) await driver.settled();
    expect(stops).toEqual([]);
    for (const storage of storages) await storage.close();
    for (const log of logs) await log.close();
  });
});
