/**
 * `npm run sim -- [--seeds N] [--seed S] [--events E]`: runs the Raft simulation over seeds S..S+N-1
 * (default 0..9999, 3000 events each) and prints events per second. `--seed S` alone replays one
 * seed (N = 1); `--trace` prints every event and the nodes' states after it. Exits 1 on the first failure, printing its seed and event number.
 */
import { runSimulation, SimulationFailure } from './simulation.js';

function parse(args: readonly string[]): { seeds: number; seed: number; events: number; trace: boolean } {
  const out = { seeds: 10_000, seed: 0, events: 3_000, trace: false };
  let seedsGiven = false;
  for (let i = 0; i < args.length; i += 2) {
    const name = args[i];
    if (name === '--trace') {
      out.trace = true;
      i--;
      continue;
    }
    const value = Number(args[i + 1]);
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} needs a non-negative integer, got ${args[i + 1]}`);
    if (name === '--seeds') {
      out.seeds = value;
      seedsGiven = true;
    } else if (name === '--seed') {
      out.seed = value;
      if (!seedsGiven) out.seeds = 1;
    } else if (name === '--events') out.events = value;
    else throw new Error(`unknown option ${name}; use --seeds N, --seed S, --events E`);
  }
  return out;
}

const options = parse(process.argv.slice(2));
const started = performance.now();
let events = 0;
let committed = 0;
try {
  for (let seed = options.seed; seed < options.seed + options.seeds; seed++) {
    const result = runSimulation({ seed, events: options.events, ...(options.trace ? { trace: (line: string) => console.log(line) } : {}) });
    events += result.events;
    committed += result.committed;
    if (options.seeds === 1) console.log(result);
  }
} catch (error) {
  if (!(error instanceof SimulationFailure)) throw error;
  console.error(error.message);
  process.exit(1);
}
const seconds = (performance.now() - started) / 1000;
console.log(
  `${options.seeds} seeds x ${options.events} events: ${events} events in ${seconds.toFixed(1)} s, ` +
    `${Math.round(events / seconds).toLocaleString('en-US')} events/s, ${committed} entries committed`,
);
