/**
 * Consumer groups end to end, through the client library and an embedded broker on 127.0.0.1 (the
 * default `always` flush policy on `__consumer_offsets`, so every commit is fsynced):
 *
 * 1. Rebalance time: a group of 3 members (default settings: 10 s sessions, 1 s heartbeats,
 *    sticky assignor) owns a 12-partition topic; a 4th member subscribes. The time runs from its
 *    `subscribe()` call until every member owns exactly its target again — the coordinator shows the
 *    group Stable with 4 members and all 12 partitions owned — polled every 2 ms on the broker object.
 *    Then the 4th member leaves and the group settles before the next round. Target: < 1 s (median).
 *    The limit: the members' revocation round trip (held heartbeat answered, commit fsynced,
 *    heartbeat back) and the new owner's offset fetch; nothing waits for a heartbeat interval.
 * 2. Commit throughput from one client: one member commits explicit offsets of its partitions, a
 *    window of `COMMIT_WINDOW` commits in flight (each one OffsetCommit request, one partition),
 *    for a fixed time. Target: >= 20,000 commits/s. The limit: fsyncs (group commit batches the
 *    appends of all commits in flight) and the request path of one connection. The client keeps 64
 *    requests in flight and merges the commits queued behind them into one request (each partition's
 *    newest offset), so the run also prints how many OffsetCommit requests carried them.
 * 3. OffsetCommit requests without the client: a raw connection keeps `RAW_WINDOW` requests of one
 *    partition each in flight from outside the group (member id ''), and each must be appended and
 *    fsynced before its answer. This is the broker's own commit rate, with no merging (context, no target).
 */
import { performance } from 'node:perf_hooks';
import { silentLogger, startBroker, type Broker } from '../broker/index.js';
import { Client, type Consumer } from '../client/index.js';
import { API_KEYS, Connection } from '../client/protocol/index.js';
import type { BenchContext, Figure } from './run.js';

const TOPIC = 'bench-group';
const PARTITIONS = 12;
const ROUNDS = 7;
const POLL_MS = 2;
const COMMIT_WINDOW = 256;
const COMMIT_DURATION_MS = 5000;
const RAW_WINDOW = 64;
const REBALANCE_TARGET_MS = 1000;
const COMMITS_TARGET = 20_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface GroupView {
  state: string;
  members: Array<{ assignment: Array<{ partitions: number[] }> }>;
}

async function describe(broker: Broker, groupId: string): Promise<GroupView | undefined> {
  const group = (await broker.groups.describeGroups([groupId])).groups[0];
  return group === undefined || group.errorCode !== 0 ? undefined : group;
}

function owned(view: GroupView): number {
  return view.members.reduce((n, m) => n + m.assignment.reduce((k, tp) => k + tp.partitions.length, 0), 0);
}

async function settled(broker: Broker, groupId: string, members: number, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const view = await describe(broker, groupId);
    if (view !== undefined && view.state === 'Stable' && view.members.length === members && owned(view) === PARTITIONS) return;
    if (performance.now() > deadline) throw new Error(`group ${groupId} did not settle with ${members} members`);
    await sleep(POLL_MS);
  }
}

/** A member that reads its partitions in the background (so revocations have a loop to finish). */
function member(client: Client, groupId: string): { consumer: Consumer; running: Promise<void> } {
  const consumer = client.consumer({ groupId });
  return { consumer, running: consumer.run({ eachMessage: () => undefined }).catch(() => undefined) };
}

export async function run(context: BenchContext): Promise<Figure[]> {
  const broker = await startBroker({ dataDir: context.dir, listen: { host: '127.0.0.1', port: 0 }, http: null, logger: silentLogger() });
  const bootstrap = [`${broker.address.host}:${broker.address.port}`];
  const clients: Client[] = [];
  const newClient = () => {
    const client = new Client({ brokers: bootstrap, clientId: 'bench' });
    clients.push(client);
    return client;
  };
  try {
    await newClient().admin().createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
    const rounds = Math.max(2, Math.round(ROUNDS * Math.min(1, context.scale * 4)));
    console.log(`workload: a 4th member joins a group of 3 on ${PARTITIONS} partitions (default sessions, sticky); ${rounds} rounds`);
    console.log(`target:   median time from subscribe() to a Stable group with every partition owned < ${REBALANCE_TARGET_MS} ms`);

    const members = [0, 1, 2].map(() => member(newClient(), 'rebalance'));
    for (const m of members) await m.consumer.subscribe({ topics: TOPIC });
    await settled(broker, 'rebalance', 3);
    const times: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const joiner = member(newClient(), 'rebalance');
      const started = performance.now();
      await joiner.consumer.subscribe({ topics: TOPIC });
      await settled(broker, 'rebalance', 4);
      times.push(performance.now() - started);
      await joiner.consumer.close();
      await joiner.running;
      await settled(broker, 'rebalance', 3);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    console.log(`rebalance: median ${median.toFixed(1)} ms, min ${times[0]!.toFixed(1)} ms, max ${times[times.length - 1]!.toFixed(1)} ms`);
    for (const m of members) await m.consumer.close();

    const durationMs = Math.max(500, COMMIT_DURATION_MS * context.scale);
    console.log(`workload: one member commits explicit offsets, ${COMMIT_WINDOW} commits in flight, ${(durationMs / 1000).toFixed(1)} s, flush.policy always`);
    console.log(`target:   >= ${COMMITS_TARGET.toLocaleString('en-US')} commits/s`);
    const committer = member(newClient(), 'commits');
    await committer.consumer.subscribe({ topics: TOPIC });
    await settled(broker, 'commits', 1);
    const requestsBefore = broker.stats.snapshot().apis[API_KEYS.offsetCommit]?.requests ?? 0;
    let commits = 0;
    let offset = 0;
    const end = performance.now() + durationMs;
    const started = performance.now();
    const lanes = Array.from({ length: COMMIT_WINDOW }, async () => {
      while (performance.now() < end) {
        const partition = offset % PARTITIONS;
        await committer.consumer.commit([{ topic: TOPIC, partition, offset: ++offset }]);
        commits++;
      }
    });
    await Promise.all(lanes);
    const seconds = (performance.now() - started) / 1000;
    const rate = commits / seconds;
    const requests = (broker.stats.snapshot().apis[API_KEYS.offsetCommit]?.requests ?? 0) - requestsBefore;
    console.log(`commits:  ${commits.toLocaleString('en-US')} in ${seconds.toFixed(2)} s = ${Math.round(rate).toLocaleString('en-US')} commits/s`);
    // Commits queued behind the client's in-flight bound travel merged: say how many requests that was.
    console.log(`requests: ${requests.toLocaleString('en-US')} OffsetCommit requests = ${Math.round(requests / seconds).toLocaleString('en-US')}/s, ${(commits / Math.max(1, requests)).toFixed(1)} commits each`);
    await committer.consumer.close();
    await committer.running;

    const raw = await rawCommitRate(broker, durationMs);
    console.log(`raw:      ${Math.round(raw).toLocaleString('en-US')} OffsetCommit requests/s (one partition each, ${RAW_WINDOW} in flight on one connection, no client)`);
    return [
      { name: 'rebalance on join (3 -> 4 members, 12 partitions), median', value: median, unit: 'ms', target: `< ${REBALANCE_TARGET_MS} ms`, met: median < REBALANCE_TARGET_MS },
      { name: 'offset commits from one client', value: rate, unit: 'commits/s', target: `>= ${COMMITS_TARGET}`, met: rate >= COMMITS_TARGET },
    ];
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()));
    await broker.close();
  }
}

/** OffsetCommit requests answered per second on one raw connection, `RAW_WINDOW` in flight. */
async function rawCommitRate(broker: Broker, durationMs: number): Promise<number> {
  const connection = await Connection.connect({ host: broker.address.host, port: broker.address.port, clientId: 'bench-raw' });
  try {
    let answered = 0;
    let offset = 0;
    const end = performance.now() + durationMs;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: RAW_WINDOW }, async () => {
        while (performance.now() < end) {
          const committedOffset = ++offset;
          const response = await connection.request(API_KEYS.offsetCommit, {
            groupId: 'raw-commits', memberId: '', memberEpoch: -1,
            topics: [{ name: TOPIC, partitions: [{ partition: committedOffset % PARTITIONS, committedOffset, committedMetadata: '' }] }],
          });
          if (response.errorCode !== 0) throw new Error(`OffsetCommit failed: ${response.errorMessage}`);
          answered++;
        }
      }),
    );
    return answered / ((performance.now() - started) / 1000);
  } finally {
    await connection.close();
  }
}
