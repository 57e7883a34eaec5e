/**
 * `npm run chaos -- [--scenario writes|eos|eos-cluster] [--rounds N] [--seed S] [--partitions P] [--writers W]`.
 *
 * `--scenario eos` (default 20 rounds): an exactly-once pipeline (consume → transform → produce in
 * transactions, `test/fixtures/eos-rounds.ts`) killed with kill -9 each round while its input flows,
 * on one broker; `eos-cluster` does the same on three brokers and, after each pipeline kill, kills -9
 * in turn the leader of an input partition, of an output partition and the transaction
 * coordinator's broker. Both judge that every input record is in the output exactly once, in order.
 *
 * `--scenario writes` (the default): many rounds of kill -9
 * under acks=all load against a 3-broker cluster of real processes (`test/fixtures/kill9-rounds.ts`,
 * the rounds `test/cluster-kill9.test.ts` runs, with each round's victim any broker drawn from the
 * seeded PRNG). Prints the seed first (without `--seed` a fresh one is drawn; `--seed S` replays the
 * same victims and load between kills), a line per round, then the history checker's summary.
 * Exits 0 when no acknowledged write was lost, moved or reordered and nothing unexpected was read,
 * 1 otherwise (or when a wait passed its deadline), with the brokers' last stderr lines.
 */
import { parseArgs } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeExactlyOnce, describeVerdict, exactlyOnceHeld } from '../../replication/index.js';
import { ClusterProcesses } from '../fixtures/cluster-processes.js';
import { killLeaderOf, topicsReplicated } from '../fixtures/eos-broker-faults.js';
import { runEosRounds } from '../fixtures/eos-rounds.js';
import { ChildProcesses, startBrokerProcess, type BrokerProcess } from '../fixtures/strata-process.js';
import { runKill9Rounds } from '../fixtures/kill9-rounds.js';

const USAGE = 'usage: npm run chaos -- [--scenario writes|eos|eos-cluster] [--rounds N] [--seed S] [--partitions P] [--writers W]';

function integerFlag(value: string | undefined, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be an integer of at least ${min}, got ${JSON.stringify(value)}\n${USAGE}`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string' },
      seed: { type: 'string' },
      partitions: { type: 'string' },
      writers: { type: 'string' },
      scenario: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  const scenario = values.scenario ?? 'writes';
  if (!['writes', 'eos', 'eos-cluster'].includes(scenario)) throw new Error(`--scenario must be writes, eos or eos-cluster, got ${JSON.stringify(scenario)}\n${USAGE}`);
  const rounds = integerFlag(values.rounds, 'rounds', scenario === 'writes' ? 10 : 20, 1);
  const seed = integerFlag(values.seed, 'seed', Math.floor(Math.random() * 2 ** 31), 0) >>> 0;
  const partitions = integerFlag(values.partitions, 'partitions', 3, 1);
  if (scenario !== 'writes') return runEos(scenario === 'eos-cluster', rounds, seed, partitions);
  const writers = integerFlag(values.writers, 'writers', 4, 1);
  console.log(`chaos: seed ${seed}, ${rounds} rounds of kill -9 of a random broker of 3, ${partitions} partitions, ${writers} writers (replay: npm run chaos -- --seed ${seed} --rounds ${rounds})`);

  const startedMs = Date.now();
  const failovers: number[] = [];
  let cluster: ClusterProcesses | undefined;
  const interrupted = () => {
    // Brokers are children of this process: kill them rather than leave them running.
    void cluster?.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  try {
    cluster = await ClusterProcesses.start({ nodes: 3 });
    const { verdict, errorCounts } = await runKill9Rounds({
      cluster,
      seed,
      rounds,
      topic: 'chaos',
      partitions,
      replicationFactor: 3,
      writers,
      victims: 'random',
      onRound: (r) => {
        if (r.ledPartitions.length > 0) failovers.push(r.failoverMs);
        const led = r.ledPartitions.length === 0 ? 'a follower only' : `leader of ${r.ledPartitions.join(', ')}, first write acknowledged on a new leader after ${r.failoverMs} ms`;
        console.log(`  round ${r.round + 1}/${rounds}: killed broker ${r.victim} (${led}), restarted, caught up; ${r.acknowledged} writes acknowledged, ${((Date.now() - startedMs) / 1000).toFixed(0)} s`);
      },
    });
    if (failovers.length > 0) {
      const sorted = [...failovers].sort((a, b) => a - b);
      console.log(`failover (kill -9 of a leader → first acks=all write acknowledged by its successor), ${sorted.length} rounds: min ${sorted[0]} ms, median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms`);
    }
    const passed = verdict.lost.length === 0 && verdict.unexpected.length === 0 && verdict.reordered.length === 0 && verdict.duplicated.length === 0;
    console.log(`${passed ? 'passed' : 'FAILED'}: seed ${seed}, ${rounds} rounds in ${((Date.now() - startedMs) / 1000).toFixed(1)} s; ${describeVerdict(verdict)}; send errors ${JSON.stringify(errorCounts)}`);
    if (!passed) console.error(cluster.describe());
    return passed ? 0 : 1;
  } catch (error) {
    console.error(`FAILED: seed ${seed}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    process.off('SIGINT', interrupted);
    await cluster?.close();
  }
}

/** The exactly-once scenarios: a pipeline killed `rounds` times (and, on a cluster, brokers too). */
async function runEos(clustered: boolean, rounds: number, seed: number, partitions: number): Promise<number> {
  const scenario = clustered ? 'eos-cluster' : 'eos';
  console.log(`chaos: seed ${seed}, ${rounds} rounds of kill -9 of an exactly-once pipeline${clustered ? ' and of a broker of 3' : ' on one broker'}, ${partitions} partitions (replay: npm run chaos -- --scenario ${scenario} --seed ${seed} --rounds ${rounds})`);
  const startedMs = Date.now();
  const children = new ChildProcesses();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-chaos-eos-'));
  let cluster: ClusterProcesses | undefined;
  let broker: BrokerProcess | undefined;
  const interrupted = () => {
    children.killAll();
    void cluster?.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  try {
    if (clustered) cluster = await ClusterProcesses.start({ nodes: 3 });
    else broker = await startBrokerProcess(children, dataDir);
    const running = cluster;
    const outcome = await runEosRounds({
      bootstrap: () => (running !== undefined ? running.brokers() : [`127.0.0.1:${broker!.port}`]),
      seed,
      rounds,
      inputRecords: 500 * (rounds + 1),
      partitions,
      replicationFactor: clustered ? 3 : 1,
      onRound: (line) => console.log(`${line}, ${((Date.now() - startedMs) / 1000).toFixed(0)} s`),
      ...(running === undefined ? {} : { topicsReady: (topics) => topicsReplicated(running, topics, partitions), brokerFault: (round) => killLeaderOf(running, round, partitions) }),
    });
    const passed = exactlyOnceHeld(outcome.verdict);
    console.log(`${passed ? 'passed' : 'FAILED'}: seed ${seed}, ${rounds} rounds in ${((Date.now() - startedMs) / 1000).toFixed(1)} s; ${describeExactlyOnce(outcome.verdict)}; pipelines that exited by themselves ${outcome.pipelineCrashes}`);
    if (!passed) console.error(cluster?.describe() ?? broker?.stderr() ?? '');
    return passed ? 0 : 1;
  } catch (error) {
    console.error(`FAILED: seed ${seed}: ${error instanceof Error ? error.message : String(error)}`);
    console.error(cluster?.describe() ?? broker?.stderr() ?? '');
    return 1;
  } finally {
    process.off('SIGINT', interrupted);
    children.killAll();
    await cluster?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

process.exit(
  await main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }),
);
