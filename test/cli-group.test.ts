// Method: starts a broker in-process on a free port and runs the real `strata` command (broker/cli.ts
// through tsx) as child processes against it, checking the stdout, one-line stderr and exit codes of
// `group list | describe | delete | reset-offsets` and of `consume --group`, whose commits are read
// back with `group describe`. Members that must stay put are joined by hand with raw heartbeats.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../client/index.js';
import { cliTestBroker, expectOneLineError, lines } from './fixtures/strata-process.js';
import { API_KEYS, MEMBER_EPOCH_JOIN, MEMBER_EPOCH_LEAVE } from '../client/protocol/index.js';

const entry = path.resolve(import.meta.dirname, '..', 'broker', 'cli.ts');
/** A child that has not finished by then is killed, so a hang fails the test instead of the suite. */
const CHILD_TIMEOUT_MS = 45_000;
/** Longer than any test here, within the broker's default maximum (5 min). */
const HAND_SESSION_TIMEOUT_MS = 120_000;
/** Each command is a Node process starting tsx (a second or two on a busy machine), and these run a dozen. */
const SLOW_TEST_MS = 180_000;
const cli = cliTestBroker('cli-group');
const strata = cli.strata;
type Run = Awaited<ReturnType<typeof strata>>;
let client: Client;

beforeAll(() => {
  client = new Client({ brokers: [cli.bootstrap()] });
});

afterAll(async () => {
  await client.close();
});

async function ok(args: readonly string[], input?: string): Promise<Run> {
  const run = await strata(args, input);
  expect(run.status, `strata ${args.join(' ')}: ${run.stderr}`).toBe(0);
  return run;
}

/** `count` lines `v0`… to one partition. */
async function produceTo(topic: string, partition: number, count: number, prefix = 'v'): Promise<void> {
  await ok(['produce', topic, '--partition', String(partition)], Array.from({ length: count }, (_, i) => `${prefix}${i}\n`).join(''));
}

interface DescribeJson {
  group: string;
  state: string;
  members: Array<{ memberId: string; clientId: string; clientHost: string; memberEpoch: number; assignment: Array<{ topic: string; partition: number }> }>;
  partitions: Array<{ topic: string; partition: number; member: string | null; committedOffset: number; logEndOffset: number; lag: number }>;
}

async function describeJson(groupId: string): Promise<DescribeJson> {
  return JSON.parse((await ok(['group', 'describe', groupId, '--format', 'json'])).stdout) as DescribeJson;
}

/**
 * A member made by hand with one raw heartbeat (one broker: it coordinates every group). Its session
 * outlasts the test, so it stays without heartbeating; call the result to leave.
 */
async function joinByHand(groupId: string, topics: string[]): Promise<() => Promise<void>> {
  const base = { groupId, sessionTimeoutMs: HAND_SESSION_TIMEOUT_MS, subscribedTopicNames: topics, serverAssignor: '', ownedPartitions: [], maxWaitMs: 0 };
  const joined = await client.cluster.requestAny(API_KEYS.consumerGroupHeartbeat, { ...base, memberId: '', memberEpoch: MEMBER_EPOCH_JOIN });
  expect(joined.errorCode, joined.errorMessage).toBe(0);
  return async () => {
    const left = await client.cluster.requestAny(API_KEYS.consumerGroupHeartbeat, { ...base, memberId: joined.memberId, memberEpoch: MEMBER_EPOCH_LEAVE });
    expect(left.errorCode, left.errorMessage).toBe(0);
  };
}

describe('strata group', () => {
  it('plans and executes reset-offsets, describes lag (table and json), lists and deletes', async () => {
    await ok(['topic', 'create', 'cli-g-orders', '--partitions', '2']);
    await Promise.all([produceTo('cli-g-orders', 0, 5), produceTo('cli-g-orders', 1, 3)]);

    const plan = await ok(['group', 'reset-offsets', 'cli-g1', '--topic', 'cli-g-orders', '--to-offset', '2']);
    expect(lines(plan.stdout)).toEqual([
      'group cli-g1: plan to reset offsets of cli-g-orders (not executed; add --execute to commit it)',
      'TOPIC         PARTITION  CURRENT  NEW',
      'cli-g-orders  0          -        2',
      'cli-g-orders  1          -        2',
    ]);
    // The plan committed nothing: the next plan still starts from nothing.
    expect(lines((await ok(['group', 'reset-offsets', 'cli-g1', '--topic', 'cli-g-orders', '--to-earliest'])).stdout)[2]).toMatch(/^cli-g-orders\s+0\s+-\s+0$/);

    const executed = await ok(['group', 'reset-offsets', 'cli-g1', '--topic', 'cli-g-orders', '--to-offset', '2', '--execute']);
    expect(lines(executed.stdout)[0]).toBe('group cli-g1: reset offsets of cli-g-orders');

    const [described, table] = await Promise.all([describeJson('cli-g1'), ok(['group', 'describe', 'cli-g1']).then((run) => lines(run.stdout))]);
    // toEqual: every field of the contract, and nothing else.
    expect(described).toEqual({
      group: 'cli-g1',
      state: 'Empty',
      members: [],
      partitions: [
        { topic: 'cli-g-orders', partition: 0, member: null, committedOffset: 2, logEndOffset: 5, lag: 3 },
        { topic: 'cli-g-orders', partition: 1, member: null, committedOffset: 2, logEndOffset: 3, lag: 1 },
      ],
    });
    expect(table[0]).toMatch(/^group cli-g1: Empty, 0 members/);
    expect(table[1]).toMatch(/^TOPIC\s+PARTITION\s+MEMBER\s+COMMITTED\s+END\s+LAG$/);
    expect(table.slice(2).map((l) => l.split(/\s+/))).toEqual([
      ['cli-g-orders', '0', '-', '2', '5', '3'],
      ['cli-g-orders', '1', '-', '2', '3', '1'],
    ]);

    const latest = await ok(['group', 'reset-offsets', 'cli-g1', '--topic', 'cli-g-orders', '--to-latest', '--execute']);
    expect(lines(latest.stdout).slice(2).map((l) => l.split(/\s+/))).toEqual([
      ['cli-g-orders', '0', '2', '5'],
      ['cli-g-orders', '1', '2', '3'],
    ]);
    const [atLatest, future] = await Promise.all([
      describeJson('cli-g1'),
      ok(['group', 'reset-offsets', 'cli-g1', '--topic', 'cli-g-orders', '--to-datetime', '2999-01-01T00:00:00Z']),
    ]);
    expect(atLatest.partitions.map((p) => p.lag)).toEqual([0, 0]);
    expect(lines(future.stdout).slice(2).map((l) => l.split(/\s+/)[3])).toEqual(['5', '3']);

    const [list, listJson] = await Promise.all([ok(['group', 'list']), ok(['group', 'list', '--format', 'json'])]);
    expect(lines(list.stdout)[0]).toMatch(/^GROUP\s+STATE\s+MEMBERS$/);
    expect(lines(list.stdout).map((l) => l.split(/\s+/))).toContainEqual(['cli-g1', 'Empty', '0']);
    expect(JSON.parse(listJson.stdout)).toContainEqual({ groupId: 'cli-g1', state: 'Empty', members: 0 });

    expect((await ok(['group', 'delete', 'cli-g1'])).stdout).toBe('deleted group cli-g1\n');
    const [gone, listAfter] = await Promise.all([strata(['group', 'describe', 'cli-g1']), ok(['group', 'list', '--format', 'json'])]);
    expectOneLineError(gone, /^strata: GROUP_ID_NOT_FOUND: .*cli-g1/);
    expect(JSON.parse(listAfter.stdout)).not.toContainEqual(expect.objectContaining({ groupId: 'cli-g1' }));
  }, SLOW_TEST_MS);

  it('refuses to delete or reset a group that has members, but still prints the plan', async () => {
    await ok(['topic', 'create', 'cli-g-busy']);
    await produceTo('cli-g-busy', 0, 4);
    await ok(['group', 'reset-offsets', 'cli-g2', '--topic', 'cli-g-busy', '--to-offset', '1', '--execute']);
    const leave = await joinByHand('cli-g2', ['cli-g-busy']);
    try {
      const [deleted, reset, plan, described] = await Promise.all([
        strata(['group', 'delete', 'cli-g2']),
        strata(['group', 'reset-offsets', 'cli-g2', '--topic', 'cli-g-busy', '--to-earliest', '--execute']),
        strata(['group', 'reset-offsets', 'cli-g2', '--topic', 'cli-g-busy', '--to-earliest']),
        strata(['group', 'describe', 'cli-g2', '--format', 'json']),
      ]);
      expectOneLineError(deleted, /^strata: NON_EMPTY_GROUP: .*cli-g2/);
      expectOneLineError(reset, /^strata: NON_EMPTY_GROUP: .*cli-g2/);
      expect(plan.status, plan.stderr).toBe(0);
      expect(lines(plan.stdout)[2]!.split(/\s+/)).toEqual(['cli-g-busy', '0', '1', '0']);
      const group = JSON.parse(described.stdout) as DescribeJson;
      expect(group.state).not.toBe('Empty');
      expect(group.members).toHaveLength(1);
      expect(group.partitions).toEqual([{ topic: 'cli-g-busy', partition: 0, member: group.members[0]!.memberId, committedOffset: 1, logEndOffset: 4, lag: 3 }]);
      expect(lines((await ok(['group', 'list'])).stdout).map((l) => l.split(/\s+/))).toContainEqual(['cli-g2', group.state, '1']);
    } finally {
      await leave();
    }
    await ok(['group', 'delete', 'cli-g2']);
  }, SLOW_TEST_MS);

  it('answers bad usage and unknown groups with one line', async () => {
    const [frob, noTarget, twoTargets, noTopic, unknown, unknownDelete, partitionWithGroup, offsetWithGroup, help] = await Promise.all([
      strata(['group', 'frob']),
      strata(['group', 'reset-offsets', 'g', '--topic', 't']),
      strata(['group', 'reset-offsets', 'g', '--topic', 't', '--to-earliest', '--to-offset', '3']),
      strata(['group', 'reset-offsets', 'g', '--to-latest']),
      strata(['group', 'describe', 'cli-never']),
      strata(['group', 'delete', 'cli-never']),
      strata(['consume', 't', '--group', 'g', '--partition', '0']),
      strata(['consume', 't', '--group', 'g', '--offset', '3']),
      strata(['--help']),
    ]);
    expectOneLineError(frob, /^strata: unknown command 'group frob'/);
    expectOneLineError(noTarget, /^strata: reset-offsets needs exactly one of --to-earliest/);
    expectOneLineError(twoTargets, /^strata: reset-offsets needs exactly one of/);
    expectOneLineError(noTopic, /^strata: reset-offsets needs --topic T/);
    expectOneLineError(unknown, /^strata: GROUP_ID_NOT_FOUND: /);
    expectOneLineError(unknownDelete, /^strata: GROUP_ID_NOT_FOUND: /);
    expectOneLineError(partitionWithGroup, /^strata: --partition does not go with --group/);
    expectOneLineError(offsetWithGroup, /^strata: a numeric --offset does not go with --group/);
    for (const command of ['group list', 'group describe G', 'group delete G', 'group reset-offsets G', 'consume TOPIC --group G']) {
      expect(help.stdout).toContain(`strata ${command}`);
    }
  }, SLOW_TEST_MS);
});

describe('strata consume --group', () => {
  it('commits what it printed and leaves on --max-messages and --timeout-ms; the next run continues there', async () => {
    await ok(['topic', 'create', 'cli-g-stream', '--partitions', '3']);
    await Promise.all([0, 1, 2].map((partition) => produceTo('cli-g-stream', partition, 10, `p${partition}-`)));

    const first = await ok(['consume', 'cli-g-stream', '--group', 'cli-g3', '--offset', 'earliest', '--max-messages', '7', '--format', 'json', '--session-timeout-ms', '6000']);
    const printed = lines(first.stdout).map((l) => JSON.parse(l) as { partition: number; offset: number; value: string });
    expect(printed).toHaveLength(7);
    expect(first.stderr).toMatch(/^consumed 7 records from cli-g-stream in .*; committed and left group cli-g3\n$/);
    // Committed: exactly one past the last printed record of each partition. With no members left
    // (no subscriptions), describe shows just the committed partitions.
    const next = new Map<number, number>();
    for (const r of printed) next.set(r.partition, Math.max(next.get(r.partition) ?? 0, r.offset + 1));
    const afterFirst = await describeJson('cli-g3');
    expect(afterFirst).toMatchObject({ state: 'Empty', members: [] });
    expect(afterFirst.partitions.map((p) => [p.partition, p.member, p.committedOffset, p.logEndOffset, p.lag])).toEqual(
      [...next].sort(([a], [b]) => a - b).map(([partition, offset]) => [partition, null, offset, 10, 10 - offset]),
    );

    // The second run starts where the first committed; --offset earliest applies only to the
    // partitions the group never committed. Nothing is printed twice, nothing is skipped.
    const second = await ok(['consume', 'cli-g-stream', '--group', 'cli-g3', '--offset', 'earliest', '--timeout-ms', '3000', '--format', 'json']);
    const rest = lines(second.stdout).map((l) => JSON.parse(l) as { partition: number; offset: number; value: string });
    expect(second.stderr).toMatch(/^consumed 23 records from cli-g-stream in .*; committed and left group cli-g3\n$/);
    for (const [partition, offset] of next) expect(rest.find((r) => r.partition === partition)?.offset).toBe(offset === 10 ? undefined : offset);
    const all = [...printed, ...rest].map((r) => `${r.partition}:${r.offset}`).sort();
    expect(all).toEqual([0, 1, 2].flatMap((p) => Array.from({ length: 10 }, (_, i) => `${p}:${i}`)).sort());
    expect((await describeJson('cli-g3')).partitions.map((p) => [p.committedOffset, p.lag])).toEqual([[10, 0], [10, 0], [10, 0]]);
  }, SLOW_TEST_MS);

  it('commits and leaves on SIGTERM', async () => {
    await ok(['topic', 'create', 'cli-g-term', '--partitions', '2']);
    await Promise.all([produceTo('cli-g-term', 0, 5), produceTo('cli-g-term', 1, 5)]);
    const child = spawn(process.execPath, ['--import', 'tsx', entry, 'consume', 'cli-g-term', '--group', 'cli-g4', '--offset', 'earliest', '--bootstrap', cli.bootstrap()], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
    const killer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    while (lines(stdout).length < 10) await new Promise((resolve) => setTimeout(resolve, 100));
    // While it runs, the group has a member that owns both partitions.
    const running = await describeJson('cli-g4');
    expect(running.members).toHaveLength(1);
    expect(running.partitions.map((p) => p.member)).toEqual([running.members[0]!.memberId, running.members[0]!.memberId]);
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    clearTimeout(killer);
    expect(stderr).toMatch(/^consumed 10 records from cli-g-term in .*; committed and left group cli-g4\n$/);
    const stopped = await describeJson('cli-g4');
    expect(stopped).toMatchObject({ state: 'Empty', members: [] });
    expect(stopped.partitions.map((p) => [p.partition, p.member, p.committedOffset, p.lag])).toEqual([[0, null, 5, 0], [1, null, 5, 0]]);
  }, SLOW_TEST_MS);
});
