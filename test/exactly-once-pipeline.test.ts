// Method: exactly-once end to end with real processes (test/fixtures/eos-rounds, shared with
// `npm run chaos -- --scenario eos`). A consume → transform → produce pipeline
// (test/fixtures/eos-pipeline-process) runs as its own process, one transaction per fetched batch
// holding its output records and its input offsets, and is killed with kill -9 at seeded points while
// a feeder writes its input. On the three-node cluster each pipeline kill is followed by a kill -9
// of a broker: in turn the leader of an input partition, of an output partition, and the transaction
// coordinator's broker (the leader of the pipeline's `__transaction_state` partition). At the end a
// read_committed reader must find every input record exactly once in the output, in input order per
// partition (replication/history-checker's checkExactlyOnce). A failure prints the seed
// (STRATA_SEED=… replays the kill schedule) and the brokers' stderr.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { describeExactlyOnce, exactlyOnceHeld } from '../replication/index.js';
import { ClusterProcesses } from './fixtures/cluster-processes.js';
import { killLeaderOf, topicsReplicated } from './fixtures/eos-broker-faults.js';
import { runEosRounds } from './fixtures/eos-rounds.js';
import { ChildProcesses, startBrokerProcess } from './fixtures/strata-process.js';

const SEED = Number(process.env['STRATA_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const children = new ChildProcesses();
const dirs: string[] = [];
let cluster: ClusterProcesses | undefined;

afterEach(async () => {
  children.killAll();
  await cluster?.close();
  cluster = undefined;
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

it(`delivers every input exactly once across 6 kill -9s of the pipeline on one broker (seed ${SEED})`, async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-eos-'));
  dirs.push(dataDir);
  const broker = await startBrokerProcess(children, dataDir);
  const outcome = await runEosRounds({ bootstrap: () => [`127.0.0.1:${broker.port}`], seed: SEED, rounds: 6, inputRecords: 3000, partitions: 3, replicationFactor: 1 }).catch((error: unknown) => {
    throw new Error(`seed ${SEED}: ${error instanceof Error ? error.message : String(error)}\nbroker stderr:\n${broker.stderr()}`);
  });
  const context = `seed ${SEED}; ${describeExactlyOnce(outcome.verdict)}; pipeline crashes ${outcome.pipelineCrashes} ${JSON.stringify(outcome.crashReasons)}\n${broker.stderr()}`;
  expect(exactlyOnceHeld(outcome.verdict), context).toBe(true);
  expect(outcome.verdict.inputs, context).toBe(3000);
}, 300_000);

it(`delivers every input exactly once while the pipeline, partition leaders and the transaction coordinator are killed on three brokers (seed ${SEED})`, async () => {
  const running = (cluster = await ClusterProcesses.start({ nodes: 3 }));
  const outcome = await runEosRounds({
    bootstrap: () => running.brokers(),
    seed: SEED,
    rounds: 3,
    inputRecords: 2000,
    partitions: 3,
    replicationFactor: 3,
    topicsReady: (topics) => topicsReplicated(running, topics, 3),
    brokerFault: (round) => killLeaderOf(running, round, 3),
  });
  const context = `seed ${SEED}; ${describeExactlyOnce(outcome.verdict)}; pipeline crashes ${outcome.pipelineCrashes} ${JSON.stringify(outcome.crashReasons)}\n${running.describe()}`;
  expect(exactlyOnceHeld(outcome.verdict), context).toBe(true);
  expect(outcome.verdict.inputs, context).toBe(2000);
}, 600_000);
