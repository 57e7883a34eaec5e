/**
 * The Raft core's replication throughput: three RaftNodes in one process, an in-memory transport,
 * 16 KiB entries (one record batch each), and MB/s *committed* (the leader's high watermark passing
 * them, i.e. acknowledged with acks=all). The issue's target is >= 500 MB/s of 16 KiB batches with
 * real logs: above that the Raft core is not what limits a partition, the disk and the network are.
 *
 * Two storages side by side, each sample one round of 64 proposals (1 MiB) driven to commit:
 * - memory: `MemoryStorage` (durable vs volatile bookkeeping, no bytes copied): the core's own cost;
 * - log/: `LogStorage` over a real `Log` per node (flushPolicy never, so no fsync: the issue's
 *   setting), the path a broker runs: the leader validates and stamps each producer batch
 *   (`Log.prepareLeaderAppend`, client rules), and every replica, the leader included, writes it with
 *   `appendAsFollower` (replica rules: CRC, header, a walk over the records).
 *
 * Beside them, the limit: the same batches appended to three logs with no Raft (all three nodes share
 * one process and one core here, so three logs' appends are what a round costs at least).
 *
 * Then the deterministic simulation's speed: events per second over 200 seeds of 3,000 events.
 */
import path from 'node:path';
import { Bench } from 'tinybench';
import { asEpoch, asOffset, encodeBatch, encodeLeaderChangeBatch, Log, stampBatch } from '../log/index.js';
import { LogStorage, MemoryStorage, mustPersist, Prng, RaftNode, type Message, type RaftStorage } from '../replication/index.js';
import { runSimulation } from '../replication/sim/simulation.js';
import type { BenchContext, Figure } from './run.js';

const ENTRY_BYTES = 16 * 1024;
const ROUND_ENTRIES = 64;
const ROUND_BYTES = ENTRY_BYTES * ROUND_ENTRIES;
const TARGET_MBPS = 500;

interface Cluster {
  nodes: RaftNode<Buffer>[];
  storages: RaftStorage<Buffer>[];
  queue: Message<Buffer>[];
  /** The real logs, when the storages are `LogStorage`s: the leader stamps its proposals with its own. */
  logs: Log[];
}

function makeCluster(storages: RaftStorage<Buffer>[], logs: Log[]): Cluster {
  const ids = storages.map((_, i) => i + 1);
  const prng = new Prng(1);
  const nodes = ids.map(
    (id) =>
      new RaftNode<Buffer>(
        {
          id,
          voters: ids,
          random: prng.fork(),
          maxAppendBytes: 1024 * 1024,
          maxInflightAppends: 64,
          leaderChangePayload: (term, leader, baseOffset) => encodeLeaderChangeBatch(term, leader, baseOffset, 0),
          sizeOf: (p) => p.length,
        },
        storages[id - 1] as RaftStorage<Buffer>,
      ),
  );
  return { nodes, storages, queue: [], logs };
}

/** Processes every Ready and delivers every message until the cluster is quiet. */
async function settle(c: Cluster): Promise<void> {
  for (let busy = true; busy; ) {
    busy = false;
    for (let i = 0; i < c.nodes.length; i++) {
      const node = c.nodes[i] as RaftNode<Buffer>;
      while (node.hasReady()) {
        busy = true;
        const ready = node.ready();
        for (const m of ready.messages) c.queue.push(m);
        if (mustPersist(ready)) {
          const storage = c.storages[i] as RaftStorage<Buffer>;
          if (ready.snapshot !== undefined) await storage.applySnapshot(ready.snapshot);
          await storage.append(ready.entries);
          if (ready.hardState !== undefined) await storage.setHardState(ready.hardState);
          await storage.sync();
        }
        for (const m of ready.messagesAfterPersist) c.queue.push(m);
        node.advance(ready);
      }
    }
    const queue = c.queue;
    c.queue = [];
    for (const m of queue) {
      busy = true;
      (c.nodes[m.to - 1] as RaftNode<Buffer>).step(m);
    }
  }
}

async function elect(c: Cluster): Promise<RaftNode<Buffer>> {
  const leader = c.nodes[0] as RaftNode<Buffer>;
  leader.campaign();
  await settle(c);
  if (leader.role !== 'leader') throw new Error('node 1 did not become leader');
  return leader;
}

/** One round: 64 proposals of 16 KiB, driven until the leader's high watermark passes them all. */
async function round(c: Cluster, leader: RaftNode<Buffer>, template: Buffer): Promise<void> {
  let last = asOffset(0);
  const leaderLog = c.logs[leader.id - 1];
  for (let i = 0; i < ROUND_ENTRIES; i++) {
    let payload = template;
    let records = 1;
    if (leaderLog !== undefined) {
      // A producer's batch arrives in its own buffer; the leader validates and stamps it in place.
      payload = Buffer.from(template);
      records = leaderLog.prepareLeaderAppend(payload, { baseOffset: leader.log.endOffset, leaderEpoch: leader.term }).records;
    }
    const result = leader.propose(payload, records);
    if (!result.ok) throw new Error(`proposal refused: ${result.reason}`);
    last = result.lastOffset;
  }
  await settle(c);
  if (leader.highWatermark <= last) throw new Error(`round not committed: high watermark ${leader.highWatermark}, last ${last}`);
  // Keep memory bounded: every node holds everything below the leader's high watermark.
  const upTo = Math.min(...c.nodes.map((n) => n.highWatermark));
  for (const storage of c.storages) {
    if (storage instanceof MemoryStorage && upTo > storage.startOffset() + ROUND_ENTRIES) storage.compact(asOffset(upTo));
  }
}

export async function run(context?: BenchContext): Promise<Figure[]> {
  const scale = context?.scale ?? 1;
  const template = encodeBatch([{ value: Buffer.alloc(ENTRY_BYTES - 61 - 20, 7) }], { now: () => 0 });
  const figures: Figure[] = [];

  const memory = makeCluster([0, 1, 2].map(() => new MemoryStorage<Buffer>()), []);
  const memoryLeader = await elect(memory);

  const dir = context?.dir;
  const logs = dir === undefined ? [] : await Promise.all([0, 1, 2].map((i) => Log.open(path.join(dir, `node-${i}`), { flushPolicy: 'never' })));
  let nodesOnLogs: RaftNode<Buffer>[] = [];
  const logStorages = await Promise.all(logs.map((log, i) => LogStorage.open(log, { onEntriesLoaded: () => nodesOnLogs[i]?.entriesLoaded() })));
  const onLogs = makeCluster(logStorages, logs);
  nodesOnLogs = onLogs.nodes;
  const logsLeader = logs.length > 0 ? await elect(onLogs) : undefined;

  // The limit beside it: the same batches appended to three logs with no Raft at all.
  const bare = dir === undefined ? [] : await Promise.all([0, 1, 2].map((i) => Log.open(path.join(dir, `bare-${i}`), { flushPolicy: 'never' })));
  let bareOffset = 0;

  const bench = new Bench({ name: 'raft core, 3 nodes, 16 KiB entries', time: 3000 * scale, warmupTime: 500 * scale });
  bench.add('memory storage: 64 x 16 KiB proposed and committed', () => round(memory, memoryLeader, template));
  if (logsLeader !== undefined) bench.add('LogStorage over log/ (flush never): 64 x 16 KiB proposed and committed', () => round(onLogs, logsLeader, template));
  if (bare.length > 0) {
    bench.add('(limit) log/ alone: 64 x 16 KiB appendAsFollower to each of 3 logs, no Raft', async () => {
      const batches: Buffer[] = [];
      for (let i = 0; i < ROUND_ENTRIES; i++) {
        const batch = Buffer.from(template);
        stampBatch(batch, 0, asOffset(bareOffset++), asEpoch(1));
        batches.push(batch);
      }
      const bytes = Buffer.concat(batches);
      for (const log of bare) await log.appendAsFollower(bytes);
    });
  }
  await bench.run();
  for (const task of bench.tasks) {
    const meanMs = task.result.state === 'completed' ? task.result.latency.mean : Number.NaN;
    const mbps = ROUND_BYTES / 1e6 / (meanMs / 1000);
    console.log(`${task.name}: ${mbps.toFixed(0)} MB/s committed (${meanMs.toFixed(2)} ms a round, ${task.result.state === 'completed' ? task.result.latency.samplesCount : 0} rounds)`);
    if (task.name.startsWith('(limit)')) continue;
    figures.push({ name: task.name.startsWith('memory') ? 'raft core, memory storage, 16 KiB entries' : 'raft core + log/ (flush never), 16 KiB entries', value: mbps, unit: 'MB/s', target: `>= ${TARGET_MBPS} MB/s`, met: mbps >= TARGET_MBPS });
  }
  for (const storage of logStorages) await storage.close();
  await Promise.all([...logs, ...bare].map((log) => log.close()));

  const seeds = Math.max(10, Math.round(200 * scale));
  const started = performance.now();
  let events = 0;
  for (let seed = 0; seed < seeds; seed++) events += runSimulation({ seed, events: 3000 }).events;
  const eventsPerSecond = events / ((performance.now() - started) / 1000);
  console.log(`simulation: ${seeds} seeds, ${events} events, ${Math.round(eventsPerSecond).toLocaleString('en-US')} events/s`);
  figures.push({ name: 'raft simulation speed', value: eventsPerSecond, unit: 'events/s', target: '>= 100,000 events/s', met: eventsPerSecond >= 100_000 });
  return figures;
}
