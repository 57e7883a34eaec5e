/**
 * The producer's own CPU per `send()` of one 100-byte message, as a user who awaits nothing sends:
 * `producer.send({ topic, messages: [{ value }] })` called `SENDS_PER_ROUND` times in a row, every
 * promise kept and awaited together at the end of the round, so thousands of sends are queued at once.
 * A real `client.producer()` with its defaults (idempotent, acks all, adaptive batching) against a
 * real broker over loopback. Two queue depths: 2,000 sends a round and 20,000; the deeper the queue,
 * the longer each send's objects live, and the more of them the scavenger copies and promotes.
 *
 * Fair measure of the client's share: the broker runs as a separate process (`node
 * dist/broker/cli.js broker start`, the topic with `flush.policy=never` so the disk is not the limit),
 * and the figure is this process's own `process.cpuUsage()` (user + system, every thread: the GC's
 * helpers and libuv's included) over a round, divided by the sends in it: everything the client
 * spends on a send, from the call through encoding and the socket write to resolving its promise.
 * `STRATA_BENCH_BOOTSTRAP=host:port` uses a broker already running instead (then this process is
 * the client alone, for whole-process timings).
 *
 * The floor beside it: the same loop, in the same process, calling a function that only creates and
 * resolves a promise per call (the record literal still built), kept and awaited the same way: what
 * any promise-returning API costs this harness per call.
 *
 * Target: < 2 µs of client CPU per send: the mean over every measured round (all rounds are the same
 * size), since a round's figure depends on whether a scavenge fell in it; the median is printed too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Client } from '../client/index.js';
import type { BenchContext, Figure } from './run.js';

const TOPIC = 'bench-send';
const PARTITIONS = 3;
const VALUE_BYTES = 100;
/** Sends queued per round, and rounds: 2,000 (where the producer before this bench took about 5 µs a send) and 20,000. */
const DEPTHS: ReadonlyArray<readonly [number, number]> = [
  [2_000, 60],
  [20_000, 12],
];
const WARMUP_SENDS = 80_000;
const TARGET_US = 2;

interface Broker {
  bootstrap: string;
  stop(): Promise<void>;
}

async function startBrokerProcess(dir: string): Promise<Broker> {
  const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'broker', 'cli.js');
  const child: ChildProcess = spawn(process.execPath, [cli, 'broker', 'start', '--data', dir, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err = (err + chunk).slice(-4096)));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = /listening on \S+:(\d+) /.exec(out);
      if (match !== null) resolve(Number(match[1]));
    });
    child.on('exit', (code, signal) => reject(new Error(`broker exited ${code ?? signal} before listening: ${out} ${err}`)));
  });
  return {
    bootstrap: `127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGINT');
      }),
  };
}

/** CPU microseconds (user + system) of this process so far. */
function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Runs `rounds` rounds of `n` calls of `call`, every promise kept and awaited at the round's end; µs CPU per call, per round. */
async function measure(rounds: number, n: number, call: (i: number) => Promise<unknown>): Promise<number[]> {
  const perCall: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const promises: Array<Promise<unknown>> = new Array(n);
    const started = cpuMicros();
    for (let i = 0; i < n; i++) promises[i] = call(i);
    await Promise.all(promises);
    perCall.push((cpuMicros() - started) / n);
  }
  return perCall;
}

/** Counts GCs and their pause time while `body` runs. */
async function withGcCount<T>(body: () => Promise<T>): Promise<{ result: T; gcs: number; gcMs: number }> {
  let gcs = 0;
  let gcMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcs++;
      gcMs += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  try {
    const result = await body();
    await new Promise((resolve) => setImmediate(resolve));
    return { result, gcs, gcMs };
  } finally {
    observer.disconnect();
  }
}

export async function run(context: BenchContext): Promise<Figure[]> {
  const scale = context.scale;
  const external = process.env.STRATA_BENCH_BOOTSTRAP;
  const broker = external === undefined || external === '' ? await startBrokerProcess(context.dir) : { bootstrap: external, stop: async () => undefined };
  const client = new Client({ brokers: [broker.bootstrap], clientId: 'bench-send' });
  try {
    const admin = client.admin();
    const existing = await admin.listTopics();
    if (!existing.includes(TOPIC)) {
      await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, configs: { 'flush.policy': 'never' } }] });
    }
    const producer = client.producer();
    const value = Buffer.alloc(VALUE_BYTES, 'x');
    console.log(`workload: rounds of N producer.send({ topic, messages: [{ value: ${VALUE_BYTES} B }] }), none awaited until the round ends; producer defaults (idempotent: ${producer.config.idempotent}, acks ${producer.config.acks}); ${PARTITIONS} partitions, broker in its own process${external ? ` (${external})` : ''}, flush.policy never`);
    console.log(`target:   < ${TARGET_US} µs of this process's CPU (user + system) per send, over all the rounds`);

    const send = () => producer.send({ topic: TOPIC, messages: [{ value }] });
    const floorCall = (record: { topic: string; messages: Array<{ value: Buffer }> }) => new Promise<unknown>((resolve) => resolve(record));
    const floor = () => floorCall({ topic: TOPIC, messages: [{ value }] });

    const figures: Figure[] = [];
    for (const [depth, depthRounds] of DEPTHS) {
      const rounds = Math.max(3, Math.round(depthRounds * Math.min(1, scale * 4)));
      const n = Math.max(500, Math.round(depth * Math.min(1, scale * 4)));
      // Warm up on as many sends at every depth, so the JIT has settled before the first measured round.
      const warmups = Math.ceil(WARMUP_SENDS / n);
      await measure(warmups, n, send);
      await measure(warmups, n, floor);
      // Alternate the two so drift on a shared machine falls on both.
      const sends: number[] = [];
      const floors: number[] = [];
      let gcs = 0;
      let gcMs = 0;
      for (let round = 0; round < rounds; round++) {
        const measured = await withGcCount(() => measure(1, n, send));
        sends.push(...measured.result);
        gcs += measured.gcs;
        gcMs += measured.gcMs;
        floors.push(...(await measure(1, n, floor)));
      }
      const sendUs = mean(sends);
      const floorUs = mean(floors);
      const label = `${n.toLocaleString('en-US')} queued`;
      console.log(`${label}: ${rounds} rounds`);
      console.log(`  send:   ${sendUs.toFixed(2)} µs CPU per send (median of rounds ${median(sends).toFixed(2)}, min ${Math.min(...sends).toFixed(2)}, max ${Math.max(...sends).toFixed(2)}); ${((gcs * 1000) / (rounds * n)).toFixed(2)} GCs per 1,000 sends, ${((gcMs * 1000) / (rounds * n)).toFixed(1)} µs GC pause per 1,000 sends`);
      console.log(`  floor:  ${floorUs.toFixed(2)} µs CPU per call of a function that only creates and resolves a promise (median of rounds ${median(floors).toFixed(2)}, min ${Math.min(...floors).toFixed(2)}, max ${Math.max(...floors).toFixed(2)})`);
      console.log(`  ratio:  ${(sendUs / floorUs).toFixed(2)}x the floor; ${sendUs < TARGET_US ? 'PASS' : 'MISS'} (< ${TARGET_US} µs)`);
      figures.push(
        { name: `client CPU per 100-byte send, ${label}`, value: sendUs, unit: 'µs', target: `< ${TARGET_US} µs`, met: sendUs < TARGET_US },
        { name: `floor (a promise per call), ${label}`, value: floorUs, unit: 'µs', target: '(context)', met: true },
      );
    }
    return figures;
  } finally {
    await client.close();
    await broker.stop();
  }
}
