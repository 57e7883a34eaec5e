// Method: issue 4's tests with real processes: a broker child process, a producer in this process
// sending keyed records without pause (every acknowledged value recorded), and consumers that are
// `strata consume --group` child processes printing JSON. Members join, leave (SIGTERM), die
// (`kill -9`) and the broker is killed and restarted while records flow; afterwards every
// acknowledged record must have been printed at least once, with duplicates only where a member died
// after its last commit, and the coordinator must never have shown one partition in two members.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Client, type Producer } from '../client/index.js';
import { ChildProcesses, ConsumeProcess, runStrata, startBrokerProcess, stopProcess, type JsonRecord } from './fixtures/strata-process.js';

const TOPIC = 'orders';
const GROUP = 'billing';
const PARTITIONS = 6;
const SESSION_TIMEOUT_MS = 5000;

let dir: string;
const children = new ChildProcesses();
const clients: Client[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-group-processes-'));
});

afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  children.killAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends keyed records (`k<i>` → `<prefix><i>`) in small sends until stopped; remembers what was acknowledged. */
class RunningProducer {
  readonly acked = new Set<string>();
  private stopped = false;
  private readonly loop: Promise<void>;
  private next = 0;

  constructor(producer: Producer, prefix = 'v', perSend = 50, pauseMs = 20) {
    this.loop = (async () => {
      while (!this.stopped) {
        const messages = Array.from({ length: perSend }, () => {
          const i = this.next++;
          return { key: `k${i}`, value: `${prefix}${i}` };
        });
        try {
          await producer.send({ topic: TOPIC, messages });
          for (const m of messages) this.acked.add(m.value);
        } catch {
          // Not acknowledged (the broker is down): these records promise nothing.
        }
        await sleep(pauseMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

function consumer(port: number, extra: readonly string[] = []): ConsumeProcess {
  return new ConsumeProcess(children, port, [TOPIC, '--group', GROUP, '--offset', 'earliest', '--session-timeout-ms', String(SESSION_TIMEOUT_MS), ...extra]);
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Values printed by the consumers, and those printed more than once. */
function tally(consumers: readonly ConsumeProcess[]): { printed: Set<string>; duplicates: JsonRecord[] } {
  const printed = new Set<string>();
  const seen = new Set<string>();
  const duplicates: JsonRecord[] = [];
  for (const c of consumers) {
    for (const record of c.records) {
      const id = `${record.partition}:${record.offset}`;
      if (seen.has(id)) duplicates.push(record);
      seen.add(id);
      printed.add(record.value!);
    }
  }
  return { printed, duplicates };
}

/** Within one process, each partition's records come in offset order, each once. */
function expectOrderedPerProcess(consumers: readonly ConsumeProcess[]): void {
  for (const c of consumers) {
    const last = new Map<number, number>();
    for (const record of c.records) {
      expect(record.offset, `partition ${record.partition}`).toBeGreaterThan(last.get(record.partition) ?? -1);
      last.set(record.partition, record.offset);
    }
  }
}

async function setUp(): Promise<{ port: number; broker: Awaited<ReturnType<typeof startBrokerProcess>>; client: Client }> {
  const broker = await startBrokerProcess(children, dir);
  const created = await runStrata(children, broker.port, ['topic', 'create', TOPIC, '--partitions', String(PARTITIONS)]);
  expect(created.status, created.stderr).toBe(0);
  const client = new Client({ brokers: [`127.0.0.1:${broker.port}`], clientId: 'group-processes-test' });
  clients.push(client);
  return { port: broker.port, broker, client };
}

describe('consumer groups with real processes (issue 4)', () => {
  it('shares a topic among members that join and leave while a producer runs, processing every record once', async () => {
    const { port, client } = await setUp();
    const producer = new RunningProducer(client.producer({ lingerMs: 2 }));
    const admin = client.admin();
    // Sampled all along: the coordinator never shows a partition in two members.
    let sampling = true;
    let samples = 0;
    const sampler = (async () => {
      while (sampling) {
        const group = await admin.describeGroup(GROUP).catch(() => undefined);
        if (group !== undefined) {
          const owners = new Map<string, string>();
          for (const member of group.members) {
            for (const tp of member.assignment) {
              const key = `${tp.topic}-${tp.partition}`;
              expect(owners.get(key), `${key} in two members`).toBeUndefined();
              owners.set(key, member.memberId);
            }
          }
          samples++;
        }
        await sleep(100);
      }
    })();

    const first = consumer(port);
    const second = consumer(port);
    await waitFor('two members to print', () => first.records.length > 0 && second.records.length > 0);
    const third = consumer(port);
    await waitFor('the third member to print', () => third.records.length > 0);
    await sleep(1000);
    // `strata group describe` while the producer and the group run: every partition owned, its lag
    // the distance from the committed offset to the end, never beyond what is in the log.
    const during = await runStrata(children, port, ['group', 'describe', GROUP, '--format', 'json']);
    expect(during.status, during.stderr).toBe(0);
    const view = JSON.parse(during.stdout) as { members: unknown[]; partitions: Array<{ member: string | null; committedOffset: number; logEndOffset: number; lag: number }> };
    expect(view.members).toHaveLength(3);
    expect(view.partitions).toHaveLength(PARTITIONS);
    const ends = await admin.listOffsets({ topic: TOPIC });
    for (const [i, p] of view.partitions.entries()) {
      expect(p.member).not.toBeNull();
      expect(p.lag).toBe(p.logEndOffset - (p.committedOffset >= 0 ? p.committedOffset : 0));
      expect(p.lag).toBeGreaterThanOrEqual(0);
      expect(p.logEndOffset).toBeLessThanOrEqual(ends.find((e) => e.partition === i)!.offset);
    }
    expect(await stopProcess(first.child, 'SIGTERM')).toBe(0);
    expect(first.stderr).toMatch(/consumed \d+ records/);
    await sleep(2000);
    await producer.stop();
    const all = [first, second, third];
    await waitFor('every acknowledged record to be printed', () => {
      const { printed } = tally(all);
      return [...producer.acked].every((v) => printed.has(v));
    });
    sampling = false;
    await sampler;
    expect(samples).toBeGreaterThan(10);
    await Promise.all([stopProcess(second.child, 'SIGTERM'), stopProcess(third.child, 'SIGTERM')]);

    // Graceful hand-overs commit before they revoke: nothing is printed twice.
    const { duplicates } = tally(all);
    expect(duplicates).toEqual([]);
    expectOrderedPerProcess(all);
    expect(producer.acked.size).toBeGreaterThan(1000);
    const described = await admin.describeGroup(GROUP);
    expect(described.members).toEqual([]);
    for (const p of described.partitions) expect(p.lag).toBe(0);
  }, 120_000);

  it('moves the partitions of a member killed with kill -9 within the session timeout, from its last commit', async () => {
    const { port, client } = await setUp();
    const producer = new RunningProducer(client.producer({ lingerMs: 2 }));
    const victim = consumer(port);
    const survivor = consumer(port);
    await waitFor('both members to print', () => victim.records.length > 50 && survivor.records.length > 50);
    // Let an auto-commit (every 5 s) happen, then print some more past it.
    await sleep(6500);
    expect(await stopProcess(victim.child, 'SIGKILL')).toBe('SIGKILL');
    const killedAt = Date.now();
    // What the victim owned when it died: the partitions where it printed the newest offset (records
    // flow into every partition all the time, and a hand-over never goes back in offsets).
    const newest = (c: ConsumeProcess, partition: number) => Math.max(-1, ...c.records.filter((r) => r.partition === partition).map((r) => r.offset));
    const victimPartitions = new Set([...new Set(victim.records.map((r) => r.partition))].filter((p) => newest(victim, p) > newest(survivor, p)));
    expect(victimPartitions.size).toBeGreaterThan(0);
    await waitFor('the survivor to print from the dead member\'s partitions', () =>
      [...victimPartitions].every((p) => survivor.records.some((r) => r.readAtMs > killedAt && r.partition === p)));
    const movedAfterMs = Math.min(...survivor.records.filter((r) => r.readAtMs > killedAt && victimPartitions.has(r.partition)).map((r) => r.readAtMs)) - killedAt;
    // The session timeout plus the time to fetch: generous, so a loaded machine does not fail it.
    expect(movedAfterMs).toBeLessThan(SESSION_TIMEOUT_MS + 7000);
    await sleep(1000);
    await producer.stop();
    await waitFor('every acknowledged record to be printed', () => {
      const { printed } = tally([victim, survivor]);
      return [...producer.acked].every((v) => printed.has(v));
    });
    await stopProcess(survivor.child, 'SIGTERM');

    // Duplicates only in the dead member's partitions, only of records it had printed, and the
    // survivor resumed at a committed offset: at or before the first record the victim did not print.
    const { duplicates } = tally([victim, survivor]);
    const printedByVictim = new Set(victim.records.map((r) => `${r.partition}:${r.offset}`));
    for (const d of duplicates) {
      expect(victimPartitions.has(d.partition), `duplicate ${d.partition}:${d.offset}`).toBe(true);
      expect(printedByVictim.has(`${d.partition}:${d.offset}`)).toBe(true);
    }
    for (const partition of victimPartitions) {
      const lastByVictim = Math.max(...victim.records.filter((r) => r.partition === partition).map((r) => r.offset));
      const resumed = survivor.records.find((r) => r.partition === partition && r.readAtMs > killedAt);
      expect(resumed!.offset).toBeLessThanOrEqual(lastByVictim + 1);
    }
    // An auto-commit happened before the kill, so not everything the victim printed came back.
    expect(duplicates.length).toBeLessThan(victim.records.length);
    expectOrderedPerProcess([victim, survivor]);
  }, 120_000);

  it('resumes a running group from its committed offsets after a broker kill -9, and replays from reset offsets', async () => {
    const setup = await setUp();
    const port = setup.port;
    const first = new RunningProducer(setup.client.producer({ lingerMs: 2 }));
    const live = consumer(port);
    await sleep(1500);
    await first.stop();
    await waitFor('the first records to be printed and committed', async () => {
      const printed = tally([live]).printed;
      if (![...first.acked].every((v) => printed.has(v))) return false;
      const group = await setup.client.admin().describeGroup(GROUP).catch(() => undefined);
      return group !== undefined && group.partitions.length === PARTITIONS && group.partitions.every((p) => p.lag === 0);
    });

    // The broker dies with the member in the group; it comes back on the same port and data dir.
    await stopProcess(setup.broker.child, 'SIGKILL');
    await startBrokerProcess(children, dir, ['--listen', `127.0.0.1:${port}`]);
    // Membership is not persisted: the member learns it was dropped and joins again. Records it read
    // before it knew would be read again from the last commit (at-least-once), so the new records
    // come once it is back in a stable group.
    await waitFor('the member to join the restarted broker\'s group again', async () => {
      const group = await setup.client.admin().describeGroup(GROUP).catch(() => undefined);
      return group !== undefined && group.state === 'Stable' && group.members.length === 1;
    });
    const second = new RunningProducer(setup.client.producer({ lingerMs: 2 }), 'after-restart-');
    // Records acknowledged by the restarted broker, however long its restart and the reconnect take.
    await waitFor('records acknowledged by the restarted broker', () => second.acked.size >= 200);
    await second.stop();
    await waitFor('the member to rejoin and print the new records', () => {
      const printed = tally([live]).printed;
      return [...second.acked].every((v) => printed.has(v));
    });
    expect(await stopProcess(live.child, 'SIGTERM')).toBe(0);
    // Everything before the crash was committed: the member resumed exactly there.
    expect(tally([live]).duplicates).toEqual([]);
    expectOrderedPerProcess([live]);
    const total = first.acked.size + second.acked.size;

    const describe = await runStrata(children, port, ['group', 'describe', GROUP, '--format', 'json']);
    expect(describe.status, describe.stderr).toBe(0);
    const partitions = (JSON.parse(describe.stdout) as { partitions: Array<{ lag: number; committedOffset: number }> }).partitions;
    expect(partitions).toHaveLength(PARTITIONS);
    expect(partitions.reduce((n, p) => n + p.committedOffset, 0)).toBe(live.records.length);
    expect(partitions.every((p) => p.lag === 0)).toBe(true);

    // Reset to the earliest offsets: the plan changes nothing; --execute does; the group replays all.
    const plan = await runStrata(children, port, ['group', 'reset-offsets', GROUP, '--topic', TOPIC, '--to-earliest']);
    expect(plan.status, plan.stderr).toBe(0);
    const unchanged = await runStrata(children, port, ['group', 'describe', GROUP, '--format', 'json']);
    expect((JSON.parse(unchanged.stdout) as { partitions: Array<{ lag: number }> }).partitions.every((p) => p.lag === 0)).toBe(true);
    const reset = await runStrata(children, port, ['group', 'reset-offsets', GROUP, '--topic', TOPIC, '--to-earliest', '--execute']);
    expect(reset.status, reset.stderr).toBe(0);
    const replay = consumer(port, ['--timeout-ms', '3000']);
    expect(await new Promise((resolve) => replay.child.on('exit', resolve))).toBe(0);
    expect(replay.records.length).toBe(live.records.length);
    expect(new Set(replay.records.map((r) => r.value)).size).toBe(total);
  }, 120_000);
});
