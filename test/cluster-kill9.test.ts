// Method: Jepsen-style, with real processes only: a 3-broker cluster (test/fixtures/cluster-processes),
// a topic of 3 partitions with replication factor 3, and writers producing with acks=all, every send
// recorded as invoked → ok(offset) / failed / unknown (test/fixtures/jepsen-history). Each of 10 rounds
// kills -9 the leader of one partition (round robin, found through /v1/cluster) after a seeded amount
// of load, waits for a new leader with a higher epoch, restarts the victim on the same ports and data
// dir, and waits until the leaders report it caught up to the high watermarks of the moment it came
// back. At the end the topic is read back and judged by replication/history-checker: no ok write lost
// or moved, nothing unexpected, each writer's ok writes in order. Duplicates are tolerated: the
// producer is not idempotent, so a retried send whose first attempt was written lands twice.
// A failure prints the seed (STRATA_SEED=… replays the same load between kills) and the brokers' stderr.
import { afterEach, expect, it } from 'vitest';
import { Client } from '../client/index.js';
import { describeVerdict, WriteHistory } from '../replication/index.js';
import { ClusterProcesses } from './fixtures/cluster-processes.js';
import { readTopic, RecordedProducer } from './fixtures/jepsen-history.js';
import { prng } from './fixtures/prng.js';

const TOPIC = 'kill9';
const PARTITIONS = 3;
const REPLICATION_FACTOR = 3;
const ROUNDS = 10;
const WRITERS = 4;
/** Acknowledged writes between finding a leader and killing it: at least this many, plus up to `LOAD_SPREAD`. */
const LOAD_MIN = 20;
const LOAD_SPREAD = 100;
/** Election after a kill, catch-up after a restart, load progress: each bounded. */
const ELECTION_DEADLINE_MS = 30_000;
const CATCH_UP_DEADLINE_MS = 60_000;
const LOAD_DEADLINE_MS = 30_000;
const CLOSE_DEADLINE_MS = 10_000;
const SEED = Number(process.env['STRATA_SEED'] ?? Math.floor(Math.random() * 2 ** 31));

let cluster: ClusterProcesses | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

it(`loses no acknowledged write across ${ROUNDS} rounds of kill -9 of a partition leader (seed ${SEED})`, async () => {
  const random = prng(SEED);
  const running = (cluster = await ClusterProcesses.start({ nodes: 3 }));
  const client = new Client({
    brokers: running.brokers(),
    clientId: 'cluster-kill9',
    requestTimeoutMs: 5000,
    connectTimeoutMs: 2000,
    retry: { retries: 10, initialRetryTimeMs: 100, maxRetryTimeMs: 1000 },
  });
  const history = new WriteHistory();
  const producer = client.producer({ acks: 'all', lingerMs: 1 });
  const recorder = new RecordedProducer(history, producer, TOPIC);
  let writing = true;
  let acknowledged = 0;
  let writers: Promise<unknown> = Promise.resolve();
  try {
    const admin = client.admin();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: REPLICATION_FACTOR }], waitForLeaders: true });
    await admin.close();
    // Replication running everywhere before the first kill: every leader hears from both followers.
    await running.waitFor(
      async () => {
        const leaders = await running.leaderEntries(TOPIC);
        return leaders.size === PARTITIONS && [...leaders.values()].every(({ entry }) => entry.followers.length === REPLICATION_FACTOR - 1);
      },
      ELECTION_DEADLINE_MS,
      `a leader with ${REPLICATION_FACTOR - 1} followers for each of ${PARTITIONS} partitions`,
    );

    // One send in flight per writer, so each writer's ok offsets in a partition must rise.
    writers = Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let i = 0; writing; i++) {
          if ((await recorder.send(`w${w}`, (i + w) % PARTITIONS, `w${w}-${i}`)) === 'ok') acknowledged += 1;
        }
      }),
    );

    for (let round = 0; round < ROUNDS; round++) {
      const partition = round % PARTITIONS;
      const victim = await running.waitFor(() => running.partitionLeader(TOPIC, partition), ELECTION_DEADLINE_MS, `a leader of partition ${partition} (round ${round})`);
      const target = acknowledged + LOAD_MIN + Math.floor(random() * LOAD_SPREAD);
      await running.waitFor(() => acknowledged >= target, LOAD_DEADLINE_MS, `${target} acknowledged writes (round ${round}, ${acknowledged} so far)`);

      await running.kill9(victim.nodeId);
      // A new leader of this partition in a newer epoch, and a leader for every other partition the
      // victim led too.
      const leaders = await running.waitFor(
        async () => {
          const now = await running.leaderEntries(TOPIC);
          const next = now.get(partition);
          const settled = now.size === PARTITIONS && [...now.values()].every((l) => l.nodeId !== victim.nodeId);
          return settled && next !== undefined && next.entry.leaderEpoch > victim.leaderEpoch ? now : undefined;
        },
        ELECTION_DEADLINE_MS,
        `new leaders after broker ${victim.nodeId}, leader of partition ${partition} in epoch ${victim.leaderEpoch}, was killed (round ${round})`,
      );

      // What was committed when the victim comes back is what it must catch up to.
      const committed = new Map([...leaders].map(([p, { entry }]) => [p, entry.highWatermark]));
      await running.restart(victim.nodeId);
      await running.waitFor(
        async () => {
          const leaders = await running.leaderEntries(TOPIC);
          return [...committed].every(([p, highWatermark]) => {
            const leader = leaders.get(p);
            if (leader === undefined) return false;
            if (leader.nodeId === victim.nodeId) return true;
            const follower = leader.entry.followers.find((f) => f.nodeId === victim.nodeId);
            return follower !== undefined && follower.matchEnd >= highWatermark;
          });
        },
        CATCH_UP_DEADLINE_MS,
        `broker ${victim.nodeId} catching up to ${JSON.stringify(Object.fromEntries(committed))} after its restart (round ${round})`,
      );
    }

    writing = false;
    await writers;
    await recorder.settled();
    await producer.close();

    const reads = await readTopic(client, TOPIC, 60_000);
    const verdict = history.check(reads);
    const context = `seed ${SEED}; ${describeVerdict(verdict)}; send errors ${JSON.stringify(recorder.errorCounts())}\n${running.describe()}`;
    expect(verdict.lost, context).toEqual([]);
    expect(verdict.unexpected, context).toEqual([]);
    expect(verdict.reordered, context).toEqual([]);
    expect(verdict.ok, context).toBeGreaterThanOrEqual(ROUNDS * LOAD_MIN);
  } finally {
    // After a failure, sends may be waiting for a leader that never comes, and closing the client
    // waits for them: bounded, so the failure is reported (and afterEach kills the brokers).
    writing = false;
    await Promise.race([client.close(), new Promise((resolve) => setTimeout(resolve, CLOSE_DEADLINE_MS).unref())]);
  }
}, 600_000);
