// Method: starts a real broker in-process on a free port with a temp data dir and drives it through
// the client library and the real `strata` command (child processes). Transactions are committed,
// aborted and left open; read_committed and read_uncommitted consumers read the partition back, and
// each check ends on a committed record written after what must not be seen, so "not delivered" is
// proven by what comes instead of by waiting. Offsets sent in a transaction are read back with
// fetchOffsets after abort and after commit; a second producer with the same transactionalId fences
// the first. The CLI's `produce --transactional-id`, `consume --isolation` and `transaction
// list|describe` run against the same broker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, StrataError, type Consumer, type ConsumerMessage, type Isolation } from '../client/index.js';
import { cliTestBroker, lines, parseRecords } from './fixtures/strata-process.js';
import { waitUntil } from './fixtures/wait-until.js';

const cli = cliTestBroker('txn');
const strata = cli.strata;
let client: Client;

beforeAll(() => {
  client = new Client({ brokers: [cli.bootstrap()], clientId: 'txn-e2e', retry: { retries: 8, initialRetryTimeMs: 50 } });
});

afterAll(async () => {
  await client?.close();
});

let topicCounter = 0;
async function createTopic(numPartitions = 1): Promise<string> {
  const topic = `txn${process.pid}-${++topicCounter}`;
  const admin = client.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions }] });
  await admin.close();
  return topic;
}

/** The values of the first `count` messages of `topic` (all partitions) from the start, with `isolation`. */
async function read(topic: string, isolation: Isolation, count: number, timeoutMs = 30_000): Promise<string[]> {
  const consumer = client.consumer({ initialOffset: 'earliest', isolation, maxWaitMs: 100 });
  try {
    await consumer.assign({ topic });
    return (await take(consumer, count, timeoutMs)).map((m) => m.value!.toString());
  } finally {
    await consumer.close();
  }
}

/** Where a consumer with `isolation` starts at 'latest' on partition 0. */
async function latest(topic: string, isolation: Isolation): Promise<number> {
  const consumer = client.consumer({ initialOffset: 'latest', isolation });
  try {
    await consumer.assign([{ topic, partition: 0 }]);
    await waitUntil(() => consumer.position({ topic, partition: 0 }) !== undefined, `the ${isolation} latest offset of ${topic}`);
    return consumer.position({ topic, partition: 0 })!;
  } finally {
    await consumer.close();
  }
}

async function take(consumer: Consumer, count: number, timeoutMs: number): Promise<ConsumerMessage[]> {
  const messages: ConsumerMessage[] = [];
  const timer = setTimeout(() => void consumer.stop(), timeoutMs);
  try {
    for await (const message of consumer) {
      messages.push(message);
      if (messages.length >= count) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return messages;
}

const values = (...list: string[]) => list.map((value) => ({ value }));

describe('transactions against a broker', () => {
  it('a commit is read committed, an abort is not; read_uncommitted reads both; an open transaction holds read_committed back', async () => {
    const topic = await createTopic();
    const producer = client.producer({ transactionalId: `visible-${topic}` });
    const committed = await producer.transaction();
    await committed.send({ topic, messages: values('a1', 'a2') });
    await committed.commit();
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: values('b1', 'b2') });
    await aborted.abort();
    const after = await producer.transaction();
    await after.send({ topic, messages: values('c1') });
    await after.commit();

    expect(await read(topic, 'read_committed', 3)).toEqual(['a1', 'a2', 'c1']);
    expect(await read(topic, 'read_uncommitted', 5)).toEqual(['a1', 'a2', 'b1', 'b2', 'c1']);

    // An open transaction: its record, and a plain record after it, wait for its end.
    const open = await producer.transaction();
    await open.send({ topic, messages: values('d1') });
    const plain = client.producer();
    await plain.send({ topic, messages: values('e1') });
    expect(await read(topic, 'read_uncommitted', 7)).toEqual(['a1', 'a2', 'b1', 'b2', 'c1', 'd1', 'e1']);
    // 'latest' is the last stable offset under read_committed: d1's offset (a1 a2 commit b1 b2 abort c1 commit d1 e1).
    expect(await latest(topic, 'read_committed')).toBe(8);
    expect(await latest(topic, 'read_uncommitted')).toBe(10);
    const consumer = client.consumer({ initialOffset: 'earliest', isolation: 'read_committed', maxWaitMs: 100 });
    await consumer.assign({ topic });
    expect((await take(consumer, 3, 30_000)).map((m) => m.value!.toString())).toEqual(['a1', 'a2', 'c1']);
    await open.commit();
    expect((await take(consumer, 2, 30_000)).map((m) => m.value!.toString())).toEqual(['d1', 'e1']);
    await consumer.close();
    await plain.close();
    await producer.close();
  });

  it('a transaction over several partitions commits all of them at once', async () => {
    const topic = await createTopic(3);
    const producer = client.producer({ transactionalId: `multi-${topic}` });
    const tx = await producer.transaction();
    await tx.sendBatch({ topicMessages: [0, 1, 2].map((partition) => ({ topic, messages: [{ value: `p${partition}`, partition }] })) });
    await tx.commit();
    expect((await read(topic, 'read_committed', 3)).sort()).toEqual(['p0', 'p1', 'p2']);
    const described = await client.admin().describeTransactions([`multi-${topic}`]);
    expect(described[0]).toMatchObject({ transactionalId: `multi-${topic}`, state: 'CompleteCommit', partitions: [] });
    await producer.close();
  });

  it('offsets sent in a transaction become the group\'s only when it commits', async () => {
    const topic = await createTopic();
    const groupId = `eos-${topic}`;
    const admin = client.admin();
    const committedOffset = async () => (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]!.committedOffset;
    const producer = client.producer({ transactionalId: `offsets-${topic}` });

    const aborted = await producer.transaction();
    await aborted.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition: 0, offset: 5 }] }] });
    await aborted.abort();
    expect(await committedOffset()).toBe(-1);

    const committed = await producer.transaction();
    await committed.send({ topic, messages: values('out') });
    await committed.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition: 0, offset: 7 }] }] });
    await committed.commit();
    expect(await committedOffset()).toBe(7);
    await producer.close();
  });

  it('a second producer with the same transactionalId fences the first', async () => {
    const topic = await createTopic();
    const transactionalId = `fence-${topic}`;
    const first = client.producer({ transactionalId });
    const old = await first.transaction();
    await old.send({ topic, messages: values('old') });

    const second = client.producer({ transactionalId });
    const current = await second.transaction();
    await current.send({ topic, messages: values('new') });

    const failure = await old.commit().then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(StrataError);
    expect((failure as Error).message).toMatch(new RegExp(`another producer with transactionalId '${transactionalId}' took over`));
    await expect(first.transaction()).rejects.toBe(failure);
    expect(old.isActive()).toBe(false);

    await current.commit();
    // The fenced producer's open transaction was aborted by the coordinator.
    expect(await read(topic, 'read_committed', 1)).toEqual(['new']);
    expect(await read(topic, 'read_uncommitted', 2)).toEqual(['old', 'new']);
    await first.close();
    await second.close();
  });

  it('admin lists transactions in their states', async () => {
    const topic = await createTopic();
    const transactionalId = `listed-${topic}`;
    const producer = client.producer({ transactionalId });
    const tx = await producer.transaction();
    await tx.send({ topic, messages: values('x') });
    const ongoing = await client.admin().listTransactions({ states: ['Ongoing'] });
    expect(ongoing.find((t) => t.transactionalId === transactionalId)).toMatchObject({ state: 'Ongoing', producerId: producer.producerId });
    const [described] = await client.admin().describeTransactions([transactionalId]);
    expect(described).toMatchObject({ state: 'Ongoing', partitions: [{ topic, partition: 0 }] });
    expect(described!.transactionStartTimeMs).toBeGreaterThan(0);
    await tx.commit();
    expect((await client.admin().listTransactions({ states: ['Ongoing'] })).some((t) => t.transactionalId === transactionalId)).toBe(false);
    await expect(client.admin().describeTransactions(['no-such-transactional-id'])).rejects.toThrow(/TRANSACTIONAL_ID_NOT_FOUND|no state for this transactional id/);
    await producer.close();
  });
});

describe('strata CLI transactions', () => {
  it('produce --transactional-id commits at EOF, aborts on a bad line; consume --isolation; transaction list and describe', { timeout: 180_000 }, async () => {
    const topic = await createTopic();
    const committedRun = await strata(['produce', topic, '--transactional-id', 'cli-tx'], 'one\ntwo\n');
    expect(committedRun.status, committedRun.stderr).toBe(0);
    expect(committedRun.stderr).toMatch(/produced 2 records to .*; committed transaction cli-tx/);

    // A bad line (no key separator) aborts the transaction: the lines before it were sent, then aborted.
    const abortedRun = await strata(['produce', topic, '--transactional-id', 'cli-tx-2', '--key-separator', ':'], 'k:three\nk:four\nno separator\n');
    expect(abortedRun.status).toBe(1);
    expect(lines(abortedRun.stderr).at(-1)).toMatch(/^strata: transaction cli-tx-2 aborted, none of its records will be read committed: line 3 has no key separator ':'/);

    expect((await strata(['produce', topic, '--transactional-id', 'cli-tx'], 'five\n')).status).toBe(0);

    const committedRead = await strata(['consume', topic, '--offset', 'earliest', '--max-messages', '3', '--format', 'json']);
    expect(committedRead.status, committedRead.stderr).toBe(0);
    expect(parseRecords(committedRead.stdout).map((r) => r.value)).toEqual(['one', 'two', 'five']);
    const uncommittedRead = await strata(['consume', topic, '--offset', 'earliest', '--max-messages', '5', '--isolation', 'read_uncommitted']);
    expect(lines(uncommittedRead.stdout)).toEqual(['one', 'two', 'three', 'four', 'five']);

    const listed = await strata(['transaction', 'list']);
    expect(listed.status, listed.stderr).toBe(0);
    expect(lines(listed.stdout)[0]).toMatch(/^TRANSACTIONAL_ID\s+STATE\s+PRODUCER_ID\s+AGE$/);
    expect(listed.stdout).toMatch(/cli-tx\s+CompleteCommit\s+\d+\s+-/);
    expect(listed.stdout).toMatch(/cli-tx-2\s+CompleteAbort/);
    const json = JSON.parse((await strata(['transaction', 'list', '--state', 'CompleteAbort', '--format', 'json'])).stdout) as Array<{ transactionalId: string }>;
    expect(json.map((t) => t.transactionalId)).toContain('cli-tx-2');
    expect(json.map((t) => t.transactionalId)).not.toContain('cli-tx');

    const described = await strata(['transaction', 'describe', 'cli-tx']);
    expect(described.status, described.stderr).toBe(0);
    expect(lines(described.stdout)[0]).toBe('transaction cli-tx: CompleteCommit');
    expect(lines(described.stdout)[1]).toMatch(/^producer id \d+, epoch \d+, timeout 60000 ms, open for -$/);
    const unknown = await strata(['transaction', 'describe', 'nope']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/^strata: TRANSACTIONAL_ID_NOT_FOUND: /);
  });

  it('SIGTERM during produce --transactional-id aborts the transaction and exits 130', { timeout: 120_000 }, async () => {
    const topic = await createTopic();
    const child = cli.children.spawn(['produce', topic, '--transactional-id', 'cli-tx-signal', '--bootstrap', cli.bootstrap()]);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdin.write('sent-then-aborted\n');
    // Once the line is in the log (read_uncommitted sees it), the signal.
    expect(await read(topic, 'read_uncommitted', 1)).toEqual(['sent-then-aborted']);
    child.kill('SIGTERM');
    expect(await exited).toBe(130);
    expect(lines(stderr).at(-1)).toMatch(/^strata: transaction cli-tx-signal aborted, none of its records will be read committed: interrupted/);
    expect((await strata(['produce', topic], 'after\n')).status).toBe(0);
    expect(await read(topic, 'read_committed', 1)).toEqual(['after']);
  });
});
