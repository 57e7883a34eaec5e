// Method: real processes only: a 3-broker cluster (test/fixtures/cluster-processes) with writers
// producing acks=all to a topic of replication factor 3, every send recorded as invoked → ok / failed /
// unknown (test/fixtures/jepsen-history). The metadata leader (the controller, as every broker's
// /v1/cluster reports it) is killed -9; within a deadline the survivors must elect another, a new
// topic must be created and described through it, and writes must go on, to the old topic and the new
// one. The killed broker is restarted on its ports and data dir and must rejoin: the same controller
// and term as the others, and caught up as a follower. Both topics are read back and judged by
// replication/history-checker: no ok write lost or moved, nothing unexpected, nothing written twice,
// writers in order.
import { afterEach, expect, it } from 'vitest';
import { Client } from '../client/index.js';
import { describeVerdict, WriteHistory } from '../replication/index.js';
import { ClusterProcesses } from './fixtures/cluster-processes.js';
import { readTopic, RecordedProducer } from './fixtures/jepsen-history.js';

const TOPIC = 'steady';
const NEW_TOPIC = 'after-controller';
const PARTITIONS = 3;
const WRITERS = 3;
/** Acknowledged writes before the kill, and again after it. */
const LOAD_BEFORE = 50;
const LOAD_AFTER = 50;
/** Writes to the topic created without the old controller. */
const NEW_TOPIC_WRITES = 20;
/** From the kill: a new controller, a topic created and described through it. */
const CONTROLLER_DEADLINE_MS = 30_000;
const ELECTION_DEADLINE_MS = 30_000;
const CATCH_UP_DEADLINE_MS = 60_000;
const LOAD_DEADLINE_MS = 60_000;
const CLOSE_DEADLINE_MS = 10_000;

let cluster: ClusterProcesses | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

it('a controller killed -9 is replaced: topics are still created and described, writes go on, and it rejoins when restarted', async () => {
  const running = (cluster = await ClusterProcesses.start({ nodes: 3 }));
  const client = new Client({
    brokers: running.brokers(),
    clientId: 'cluster-controller-kill9',
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
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3 }], waitForLeaders: true });
    writers = Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let i = 0; writing; i++) {
          if ((await recorder.send(`w${w}`, (i + w) % PARTITIONS, `w${w}-${i}`)) === 'ok') acknowledged += 1;
        }
      }),
    );
    await running.waitFor(() => acknowledged >= LOAD_BEFORE, LOAD_DEADLINE_MS, `${LOAD_BEFORE} acknowledged writes`);

    const controller = await running.waitFor(() => running.metadataLeader(), ELECTION_DEADLINE_MS, 'the controller');
    const controllerTerm = (await running.clusterView(controller))?.metadataTerm ?? 0;
    const killedAt = Date.now();
    await running.kill9(controller);

    const successor = await running.waitFor(
      async () => {
        const leader = await running.metadataLeader();
        return leader !== undefined && leader !== controller ? leader : undefined;
      },
      CONTROLLER_DEADLINE_MS,
      `a controller other than broker ${controller}, killed`,
    );
    expect((await running.clusterView(successor))?.metadataTerm).toBeGreaterThan(controllerTerm);

    // Replication factor 3 with one broker down: the controller gives the two live brokers the first
    // replicas (they lead) and the dead one the last, to catch up when it returns; each partition's
    // group has a live majority.
    // Attempts that fail retriably (the client still learning the new controller) are retried until
    // the deadline, which counts from the kill.
    let lastError = 'none';
    await running.waitFor(
      async () => {
        try {
          await admin.createTopics({ topics: [{ topic: NEW_TOPIC, numPartitions: PARTITIONS, replicationFactor: 3 }], waitForLeaders: true, timeoutMs: 5000 });
          return true;
        } catch (error) {
          if (typeof error === 'object' && error !== null && 'retriable' in error && error.retriable === true) {
            lastError = String(error);
            return undefined;
          }
          throw error;
        }
      },
      CONTROLLER_DEADLINE_MS - (Date.now() - killedAt),
      `topic ${NEW_TOPIC} created after broker ${controller}, the controller, was killed (last retriable error: ${lastError})`,
    );
    const described = await admin.describeTopics({ topics: [NEW_TOPIC] });
    const partitions = described.topics[0]?.partitions ?? [];
    expect(partitions.map((p) => p.partition).sort()).toEqual([0, 1, 2]);
    for (const p of partitions) {
      expect(p.replicas, `partition ${p.partition} of ${NEW_TOPIC}`).toHaveLength(3);
      expect(p.replicas, `partition ${p.partition} of ${NEW_TOPIC}`).toContain(p.leader);
      expect(p.leader, `partition ${p.partition} of ${NEW_TOPIC}`).not.toBe(controller);
    }
    expect(Date.now() - killedAt).toBeLessThan(CONTROLLER_DEADLINE_MS);

    // Writes go on: to the old topic (its partitions the controller led have new leaders) and the new one.
    const acknowledgedAtKill = acknowledged;
    await running.waitFor(() => acknowledged >= acknowledgedAtKill + LOAD_AFTER, LOAD_DEADLINE_MS, `${LOAD_AFTER} more acknowledged writes after the kill`);
    const newHistory = new WriteHistory();
    const newRecorder = new RecordedProducer(newHistory, producer, NEW_TOPIC);
    const newOutcomes = await Promise.all(Array.from({ length: NEW_TOPIC_WRITES }, (_, i) => newRecorder.send('new', i % PARTITIONS, `new-${i}`)));
    expect(newOutcomes.filter((o) => o !== 'ok'), `sends to ${NEW_TOPIC}: ${JSON.stringify(newRecorder.errorCounts())}`).toEqual([]);

    // The old controller rejoins: it agrees on the controller and its term, and catches up as a follower.
    await running.restart(controller);
    const committed = new Map([...(await running.leaderEntries(TOPIC))].map(([p, { entry }]) => [p, entry.highWatermark]));
    await running.waitFor(
      async () => {
        const [own, leaderView] = await Promise.all([running.clusterView(controller), running.metadataLeader().then((id) => (id === undefined ? undefined : running.clusterView(id)))]);
        if (own === undefined || leaderView === undefined) return false;
        if (own.metadataLeader !== leaderView.metadataLeader || own.metadataTerm !== leaderView.metadataTerm) return false;
        const leaders = await running.leaderEntries(TOPIC);
        return [...committed].every(([p, highWatermark]) => {
          const leader = leaders.get(p);
          if (leader === undefined) return false;
          if (leader.nodeId === controller) return true;
          const follower = leader.entry.followers.find((f) => f.nodeId === controller);
          return follower !== undefined && follower.matchEnd >= highWatermark;
        });
      },
      CATCH_UP_DEADLINE_MS,
      `broker ${controller} rejoining (same controller and term as the others, caught up to ${JSON.stringify(Object.fromEntries(committed))})`,
    );
    await admin.close();

    writing = false;
    await writers;
    await recorder.settled();
    await producer.close();
    for (const [topic, judged, minimum] of [
      [TOPIC, history, LOAD_BEFORE + LOAD_AFTER],
      [NEW_TOPIC, newHistory, NEW_TOPIC_WRITES],
    ] as const) {
      const verdict = judged.check(await readTopic(client, topic, 60_000));
      const context = `${topic}: ${describeVerdict(verdict)}; send errors ${JSON.stringify(recorder.errorCounts())}\n${running.describe()}`;
      expect(verdict.lost, context).toEqual([]);
      expect(verdict.unexpected, context).toEqual([]);
      expect(verdict.reordered, context).toEqual([]);
      expect(verdict.duplicated, context).toEqual([]);
      expect(verdict.ok, context).toBeGreaterThanOrEqual(minimum);
    }
  } finally {
    // After a failure, sends may wait for a leader that never comes: closing is bounded.
    writing = false;
    await Promise.race([client.close(), new Promise((resolve) => setTimeout(resolve, CLOSE_DEADLINE_MS).unref())]);
  }
}, 300_000);
