// Method: Jepsen-style, with real processes only: a 3-broker cluster (test/fixtures/cluster-processes),
// a topic of 3 partitions with replication factor 3, and writers producing with acks=all, every send
// recorded as invoked → ok(offset) / failed / unknown (test/fixtures/jepsen-history). Each of 10 rounds
// (test/fixtures/kill9-rounds, shared with `npm run chaos`) kills -9 the leader of one partition
// (round robin, found through /v1/cluster) after a seeded amount of load, waits for new leaders in a
// newer epoch, restarts the victim on the same ports and data dir, and waits until the leaders report
// it caught up to the high watermarks of the moment it came back. At the end the topic is read back
// and judged by replication/history-checker: no ok write lost or moved, nothing unexpected, each
// writer's ok writes in order, and nothing written twice (the producer is idempotent by default).
// A failure prints the seed (STRATA_SEED=… replays the same load between kills) and the brokers' stderr.
import { afterEach, expect, it } from 'vitest';
import { describeVerdict } from '../replication/index.js';
import { ClusterProcesses } from './fixtures/cluster-processes.js';
import { LOAD_MIN, runKill9Rounds } from './fixtures/kill9-rounds.js';

const ROUNDS = 10;
const SEED = Number(process.env['STRATA_SEED'] ?? Math.floor(Math.random() * 2 ** 31));

let cluster: ClusterProcesses | undefined;

afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

it(`loses no acknowledged write across ${ROUNDS} rounds of kill -9 of a partition leader (seed ${SEED})`, async () => {
  const running = (cluster = await ClusterProcesses.start({ nodes: 3 }));
  const { verdict, errorCounts } = await runKill9Rounds({
    cluster: running,
    seed: SEED,
    rounds: ROUNDS,
    topic: 'kill9',
    partitions: 3,
    replicationFactor: 3,
    writers: 4,
    victims: 'partition-leaders',
  });
  const context = `seed ${SEED}; ${describeVerdict(verdict)}; send errors ${JSON.stringify(errorCounts)}\n${running.describe()}`;
  expect(verdict.lost, context).toEqual([]);
  expect(verdict.unexpected, context).toEqual([]);
  expect(verdict.reordered, context).toEqual([]);
  expect(verdict.duplicated, context).toEqual([]);
  expect(verdict.ok, context).toBeGreaterThanOrEqual(ROUNDS * LOAD_MIN);
}, 600_000);
