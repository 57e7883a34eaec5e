/**
 * Partition assignment: the group coordinator's sticky assignor (the default) on a small group, 12
 * partitions over 4 members, and a large one, 10,000 partitions (10 topics of 1,000) over 1,000
 * members. The coordinator computes an assignment on every join, leave and subscription change, on
 * its own event loop, so the aims are < 50 µs for the small group (unnoticeable next to the
 * heartbeat round trip) and < 100 ms for the large one (a rebalance of a thousand consumers must not
 * stall every other group on the broker for longer than a tenth of a second).
 *
 * Each size is timed three ways: a new group (every `current` empty), a member joining a group the
 * assignor balanced (the common rebalance, which must keep all but the new member's share), and the
 * same group recomputed with nothing changed (the fixed point a heartbeat-driven recomputation hits).
 * Side by side, for scale: the range assignor on the new group (it ignores `current` and balances
 * nothing across topics, so it is the floor of the work), and the sticky assignor with two
 * overlapping subscriptions, which takes its greedy path instead of the per-quota one.
 *
 * The inputs are built once, before timing; each sample is one whole assignment.
 */
import os from 'node:os';
import { Bench } from 'tinybench';
import type { AssignmentInput, AssignorMember } from '../broker/group/assignor.js';
import { assignRange } from '../broker/group/range-assignor.js';
import { assignSticky } from '../broker/group/sticky-assignor.js';
import type { BenchContext, Figure } from './run.js';

interface Size {
  label: string;
  topics: number;
  partitionsPerTopic: number;
  members: number;
  /** Median target for the sticky assignor on this size, in ms. */
  targetMs: number;
}

const SMALL: Size = { label: '12 partitions x 4 members', topics: 1, partitionsPerTopic: 12, members: 4, targetMs: 0.05 };
const LARGE: Size = { label: '10,000 partitions x 1,000 members', topics: 10, partitionsPerTopic: 1000, members: 1000, targetMs: 100 };

/** Written into so the JIT cannot drop assignments whose results go unused. */
let sink = 0;

export async function run(context?: BenchContext): Promise<Figure[]> {
  const scale = context?.scale ?? 1;
  const figures: Figure[] = [];
  console.log(`${machine()}`);
  for (const size of [SMALL, LARGE]) {
    const small = size === SMALL;
    const bench = new Bench({ name: `assignor, ${size.label}`, time: (small ? 500 : 2000) * scale, warmupTime: (small ? 200 : 500) * scale });
    const fixture = buildFixture(size);
    bench.add(`sticky, new group, ${size.label}`, () => {
      sink += assignSticky(fixture.fresh).size;
    });
    bench.add(`sticky, a member joins, ${size.label}`, () => {
      sink += assignSticky(fixture.join).size;
    });
    bench.add(`sticky, nothing changed, ${size.label}`, () => {
      sink += assignSticky(fixture.stable).size;
    });
    bench.add(`(comparison) range, new group, ${size.label}`, () => {
      sink += assignRange(fixture.fresh).size;
    });
    if (!small) {
      bench.add(`(comparison) sticky, two overlapping subscriptions, ${size.label}`, () => {
        sink += assignSticky(fixture.overlapping).size;
      });
    }
    await bench.run();
    printReport(bench, size);
    for (const task of bench.tasks) {
      if (!task.name.startsWith('sticky, new group') && !task.name.startsWith('sticky, a member joins')) continue;
      const ms = task.result.state === 'completed' ? task.result.latency.p50 : Number.NaN;
      const [value, unit, target] = small ? [ms * 1000, 'µs', `< ${size.targetMs * 1000} µs`] : [ms, 'ms', `< ${size.targetMs} ms`];
      figures.push({ name: `median ${task.name}`, value, unit, target, met: ms < size.targetMs });
    }
  }
  if (sink === 0.5) console.log(sink); // never true; keeps `sink` observable
  return figures;
}

interface Fixture {
  fresh: AssignmentInput;
  join: AssignmentInput;
  stable: AssignmentInput;
  overlapping: AssignmentInput;
}

function buildFixture(size: Size): Fixture {
  const topics = Array.from({ length: size.topics }, (_, t) => `topic-${t}`);
  const partitionCounts = new Map(topics.map((topic) => [topic, size.partitionsPerTopic]));
  const width = String(size.members).length;
  const members: AssignorMember[] = Array.from({ length: size.members }, (_, i) => ({
    memberId: `member-${String(i).padStart(width, '0')}`,
    subscribedTopics: topics,
    current: [],
  }));
  const fresh = { members, partitionCounts };
  const balanced = assignSticky(fresh);
  const settled = members.map((m) => ({ ...m, current: balanced.get(m.memberId) ?? [] }));
  const newcomer: AssignorMember = { memberId: 'member-new', subscribedTopics: topics, current: [] };
  // Half the members read the first 70% of the topics, half the last 70%.
  const cut = Math.ceil(topics.length * 0.7);
  const overlappingMembers = members.map((m, i) => ({ ...m, subscribedTopics: i % 2 === 0 ? topics.slice(0, cut) : topics.slice(-cut) }));
  return {
    fresh,
    join: { members: [...settled, newcomer], partitionCounts },
    stable: { members: settled, partitionCounts },
    overlapping: { members: overlappingMembers, partitionCounts },
  };
}

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `assignor: Node ${process.version}, ${os.platform()} ${os.arch()}, ${cpu} x${os.cpus().length}`;
}

function printReport(bench: Bench, size: Size): void {
  const target = size === SMALL ? `${size.targetMs * 1000} µs` : `${size.targetMs} ms`;
  console.log(`${bench.name}: target median of the sticky assignor (new group, a member joins) < ${target}`);
  const rows = bench.tasks.map((task) => {
    const result = task.result;
    if (result.state !== 'completed') {
      return { task: task.name, 'median µs': result.state === 'errored' ? result.error.message : result.state, 'p99 µs': '', samples: 0 };
    }
    return {
      task: task.name,
      'median µs': (result.latency.p50 * 1000).toFixed(1),
      'p99 µs': (result.latency.p99 * 1000).toFixed(1),
      samples: result.latency.samplesCount,
    };
  });
  console.table(rows);
}
