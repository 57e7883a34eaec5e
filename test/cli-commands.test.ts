// Method: starts a broker in-process on a free port and runs the real `strata` command (broker/cli.ts
// through tsx) as child processes against it, checking stdout, the one-line stderr and exit codes of
// topic, produce, consume and perf, including stops by SIGTERM and by a reader that goes away.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Client } from '../client/index.js';
import { cliTestBroker, expectOneLineError, lines } from './fixtures/strata-process.js';

const entry = path.resolve(import.meta.dirname, '..', 'broker', 'cli.ts');
const cli = cliTestBroker('cli-commands');
const strata = cli.strata;

describe('strata topic', () => {
  it('creates, lists, describes (table and json, with its configs) and deletes a topic', async () => {
    const created = await strata(['topic', 'create', 'cli-topic', '--partitions', '3', '--config', 'retention.ms=60000', '--config', 'flush.policy=always']);
    expect(created).toMatchObject({ status: 0, stdout: 'created topic cli-topic with 3 partitions\n' });

    const produced = await strata(['produce', 'cli-topic', '--partition', '1'], 'a\nb\nc\nd\ne\n');
    expect(produced.status, produced.stderr).toBe(0);

    // A group commit creates the internal offsets topic, which `list` shows only with --internal.
    const client = new Client({ brokers: [cli.bootstrap()] });
    try {
      await client.admin().resetOffsets({ groupId: 'cli-topic-g', topic: 'cli-topic', to: { earliest: true }, execute: true });
      await client.admin().createTopics({ topics: [{ topic: 'cli-plain', numPartitions: 1 }] });
    } finally {
      await client.close();
    }
    const [table, json, list, listJson, listInternal, listInternalJson, plainTable] = await Promise.all([
      strata(['topic', 'describe', 'cli-topic']),
      strata(['topic', 'describe', 'cli-topic', '--format', 'json']),
      strata(['topic', 'list']),
      strata(['topic', 'list', '--format', 'json']),
      strata(['topic', 'list', '--internal']),
      strata(['topic', 'list', '--internal', '--format', 'json']),
      strata(['topic', 'describe', 'cli-plain']),
    ]);
    expect(list.status).toBe(0);
    expect(lines(list.stdout)).toContain('cli-topic');
    expect(lines(list.stdout)).not.toContain('__consumer_offsets');
    expect(listJson.status).toBe(0);
    expect(JSON.parse(listJson.stdout)).toContain('cli-topic');
    expect(JSON.parse(listJson.stdout)).not.toContain('__consumer_offsets');
    expect(lines(listInternal.stdout)).toEqual(expect.arrayContaining(['cli-topic', '__consumer_offsets']));
    expect(JSON.parse(listInternalJson.stdout)).toEqual(expect.arrayContaining(['cli-topic', '__consumer_offsets']));
    expect(lines(plainTable.stdout)[0]).toBe('topic cli-plain: 1 partition, replication factor 1');
    expect(lines(plainTable.stdout).at(-1)).toBe("configs: none (the broker's defaults)");

    expect(table.status).toBe(0);
    expect(lines(table.stdout)[0]).toBe('topic cli-topic: 3 partitions, replication factor 1');
    expect(lines(table.stdout)[1]).toMatch(/^PARTITION\s+LEADER\s+REPLICAS\s+ISR\s+LOG-START\s+HIGH-WATERMARK\s+LOG-END$/);
    expect(lines(table.stdout)[3]!.split(/\s+/)).toEqual(['1', String(cli.broker().nodeId), String(cli.broker().nodeId), String(cli.broker().nodeId), '0', '5', '5']);
    expect(lines(table.stdout).at(-1)).toBe('configs: flush.policy=always, retention.ms=60000');

    expect(json.status).toBe(0);
    // toEqual: every field of the contract, and nothing else.
    expect(JSON.parse(json.stdout)).toEqual({
      name: 'cli-topic',
      configs: { 'flush.policy': 'always', 'retention.ms': '60000' },
      partitions: [0, 1, 2].map((partition) => ({
        partition,
        leader: cli.broker().nodeId,
        replicas: [cli.broker().nodeId],
        logStartOffset: 0,
        highWatermark: partition === 1 ? 5 : 0,
        logEndOffset: partition === 1 ? 5 : 0,
      })),
    });

    expect(await strata(['topic', 'delete', 'cli-topic'])).toMatchObject({ status: 0, stdout: 'deleted topic cli-topic\n' });
    expect(lines((await strata(['topic', 'list'])).stdout)).not.toContain('cli-topic');
  });

  it('fails with one line and a non-zero exit on bad requests and bad usage', async () => {
    expect((await strata(['topic', 'create', 'cli-dup'])).status).toBe(0);
    const [duplicate, badName, badConfig, badPair, badCount, unknownVerb, unknownFlag, badFormat, badBootstrap] = await Promise.all([
      strata(['topic', 'create', 'cli-dup']),
      strata(['topic', 'create', 'bad/name']),
      strata(['topic', 'create', 'cli-bad-config', '--config', 'no.such.config=1']),
      strata(['topic', 'create', 'cli-bad-pair', '--config', 'retention.ms']),
      strata(['topic', 'create', 'cli-bad-count', '--partitions', '0']),
      strata(['topic', 'frob']),
      strata(['topic', 'list', '--bogus']),
      strata(['topic', 'describe', 'cli-dup', '--format', 'xml']),
      strata(['topic', 'list', '--bootstrap', 'nohost']),
    ]);
    expectOneLineError(duplicate, /^strata: TOPIC_ALREADY_EXISTS: .*cli-dup/);
    expectOneLineError(badName, /^strata: INVALID_TOPIC_EXCEPTION: /);
    expectOneLineError(badConfig, /^strata: INVALID_CONFIG: .*no\.such\.config/);
    // The code's generic text appears once, not once from the broker and again from the client.
    expect(badConfig.stderr.split('The log configuration is invalid.').length).toBe(2);
    expectOneLineError(badPair, /^strata: --config must be key=value/);
    expectOneLineError(badCount, /^strata: --partitions must be an integer/);
    expectOneLineError(unknownVerb, /^strata: unknown command 'topic frob'/);
    expectOneLineError(unknownFlag, /^strata: .*--bogus/);
    expectOneLineError(badFormat, /^strata: --format must be table or json/);
    expectOneLineError(badBootstrap, /^strata: --bootstrap: 'nohost' is not HOST:PORT/);
    // The failed creations left nothing behind.
    const listed = lines((await strata(['topic', 'list'])).stdout);
    expect(listed).toContain('cli-dup');
    expect(listed.filter((name) => name.startsWith('cli-bad'))).toEqual([]);
  });
});

describe('strata produce and consume', () => {
  it('produces with --acks 0 and --compression lz4, and consume --max-messages stops after N', async () => {
    expect((await strata(['topic', 'create', 'cli-lz4'])).status).toBe(0);
    const input = Array.from({ length: 1000 }, (_, i) => `k${i}|value ${i}`).join('\n'); // no final newline: the last line still counts
    const produced = await strata(['produce', 'cli-lz4', '--acks', '0', '--compression', 'lz4', '--key-separator', '|'], input);
    expect(produced.status, produced.stderr).toBe(0);
    expect(produced.stderr).toMatch(/^sent \(acks=0, unconfirmed\) 1000 records to cli-lz4 in [\d.]+ s \([\d,]+ records\/s\)\n$/);

    // acks=0 confirms nothing: wait for the records (up to the timeout) and check them all.
    const all = await strata(['consume', 'cli-lz4', '--offset', 'earliest', '--format', 'json', '--max-messages', '1000', '--timeout-ms', '10000']);
    expect(all.status, all.stderr).toBe(0);
    const records = lines(all.stdout).map((l) => JSON.parse(l) as { topic: string; partition: number; offset: number; timestamp: number; key: string; value: string; headers: object });
    expect(records.map((r) => [r.offset, r.key, r.value])).toEqual(Array.from({ length: 1000 }, (_, i) => [i, `k${i}`, `value ${i}`]));
    expect(Object.keys(records[0]!)).toEqual(['topic', 'partition', 'offset', 'timestamp', 'key', 'value', 'headers']);
    expect(records[0]).toMatchObject({ topic: 'cli-lz4', partition: 0, headers: {} });
    expect(all.stderr).toMatch(/^consumed 1000 records from cli-lz4 in/);

    // The batches on disk are lz4-compressed (read back through `strata log dump`).
    const segment = path.join(cli.broker().dataDir, 'cli-lz4-0', '00000000000000000000.log');
    const dump = await strata(['log', 'dump', segment, '--format', 'json']);
    expect(dump.status).toBe(0);
    const codecs = new Set(lines(dump.stdout).map((l) => (JSON.parse(l) as { compression: string }).compression));
    expect([...codecs]).toEqual(['lz4']);

    const three = await strata(['consume', 'cli-lz4', '--offset', 'earliest', '--max-messages', '3']);
    expect(three).toMatchObject({ status: 0, stdout: 'value 0\nvalue 1\nvalue 2\n' });
    const fromOffset = await strata(['consume', 'cli-lz4', '--partition', '0', '--offset', '997', '--timeout-ms', '1000']);
    expect(fromOffset).toMatchObject({ status: 0, stdout: 'value 997\nvalue 998\nvalue 999\n' });
  });

  it('fails a produce to a missing partition or a line without the separator, and bad consume flags', async () => {
    expect((await strata(['topic', 'create', 'cli-errors', '--partitions', '2'])).status).toBe(0);
    const [badPartition, noSeparator, offsetWithoutPartition, bothStarts, badTime, badAcks] = await Promise.all([
      strata(['produce', 'cli-errors', '--partition', '2'], 'x\n'),
      strata(['produce', 'cli-errors', '--key-separator', ':'], 'k:v\nno separator here\n'),
      strata(['consume', 'cli-errors', '--offset', '5']),
      strata(['consume', 'cli-errors', '--offset', 'earliest', '--from-time', '0']),
      strata(['consume', 'cli-errors', '--from-time', 'yesterday']),
      strata(['produce', 'cli-errors', '--acks', '2'], ''),
    ]);
    expectOneLineError(badPartition, /^strata: --partition 2: topic cli-errors has 2 partitions/);
    expect(noSeparator.status).not.toBe(0);
    expect(noSeparator.stderr).toMatch(/^produced 1 record to cli-errors in .*\nstrata: line 2 has no key separator ':'\n$/);
    expectOneLineError(offsetWithoutPartition, /^strata: a numeric --offset needs --partition/);
    expectOneLineError(bothStarts, /^strata: give --offset or --from-time, not both/);
    expectOneLineError(badTime, /^strata: --from-time must be/);
    expectOneLineError(badAcks, /^strata: --acks must be 0 or 1 or all/);
  });

  it('stops on SIGTERM with exit 0, and exits 0 quietly when its reader goes away', async () => {
    expect((await strata(['topic', 'create', 'cli-follow'])).status).toBe(0);
    const lotsOfLines = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'x'.repeat(100)}`).join('\n');
    expect((await strata(['produce', 'cli-follow'], lotsOfLines)).status).toBe(0);

    // Following from latest: nothing arrives; SIGTERM ends it cleanly. It is signalled once it has
    // connected (its handlers are in place by then), not after a fixed time a loaded machine may need.
    const accepted = cli.broker().stats.connectionsAccepted;
    const follower = spawn(process.execPath, ['--import', 'tsx', entry, 'consume', 'cli-follow', '--bootstrap', cli.bootstrap()], { stdio: ['ignore', 'pipe', 'pipe'] });
    let followerErr = '';
    follower.stderr.setEncoding('utf8').on('data', (chunk: string) => (followerErr += chunk));
    follower.stdout.resume();
    const followerExit = new Promise<number | null>((resolve) => follower.on('close', resolve));
    while (cli.broker().stats.connectionsAccepted === accepted) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 200));
    follower.kill('SIGTERM');
    expect(await followerExit).toBe(0);
    expect(followerErr).toMatch(/^consumed 0 records from cli-follow in/);

    // produce ends its input on SIGTERM, after sending what it read: two lines, stdin still open.
    expect((await strata(['topic', 'create', 'cli-interrupted'])).status).toBe(0);
    const producer = spawn(process.execPath, ['--import', 'tsx', entry, 'produce', 'cli-interrupted', '--bootstrap', cli.bootstrap()], { stdio: ['pipe', 'pipe', 'pipe'] });
    let producerErr = '';
    producer.stderr.setEncoding('utf8').on('data', (chunk: string) => (producerErr += chunk));
    const producerExit = new Promise<number | null>((resolve) => producer.on('close', resolve));
    producer.stdin.write('one\ntwo\n');
    const client = new Client({ brokers: [cli.bootstrap()] });
    try {
      const admin = client.admin();
      while ((await admin.listOffsets({ topic: 'cli-interrupted' }))[0]!.offset < 2) await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.close();
    }
    producer.kill('SIGTERM');
    expect(await producerExit).toBe(0);
    expect(producerErr).toMatch(/^produced 2 records to cli-interrupted in/);

    // A reader that reads one chunk and leaves (like `| head`): EPIPE, exit 0, nothing on stderr.
    const reader = spawn(process.execPath, ['--import', 'tsx', entry, 'consume', 'cli-follow', '--offset', 'earliest', '--bootstrap', cli.bootstrap()], { stdio: ['ignore', 'pipe', 'pipe'] });
    let readerErr = '';
    reader.stderr.setEncoding('utf8').on('data', (chunk: string) => (readerErr += chunk));
    const readerExit = new Promise<number | null>((resolve) => reader.on('close', resolve));
    reader.stdout.once('data', () => reader.stdout.destroy());
    const killer = setTimeout(() => reader.kill('SIGKILL'), 30_000);
    expect(await readerExit).toBe(0);
    clearTimeout(killer);
    expect(readerErr).toBe('');
  });
});

describe('strata perf', () => {
  it('perf produce and perf consume print their summary lines', async () => {
    expect((await strata(['topic', 'create', 'cli-perf', '--partitions', '2'])).status).toBe(0);
    const produce = await strata(['perf', 'produce', '--topic', 'cli-perf', '--records', '3000', '--record-size', '100', '--acks', '1']);
    expect(produce.status, produce.stderr).toBe(0);
    expect(produce.stdout).toMatch(
      /^perf produce: 3000 records of 100 B to cli-perf \(acks=1, none\) in [\d.]+ s: [\d,]+ records\/s, [\d.]+ MB\/s, latency ms avg [\d.]+ p50 [\d.]+ p99 [\d.]+ p99\.9 [\d.]+ max [\d.]+\n$/,
    );
    const lz4 = await strata(['perf', 'produce', '--topic', 'cli-perf', '--records', '1000', '--record-size', '1024', '--compression', 'lz4']);
    expect(lz4.status, lz4.stderr).toBe(0);
    expect(lz4.stdout).toMatch(/^perf produce: 1000 records of 1024 B to cli-perf \(acks=all, lz4\)/);

    const consume = await strata(['perf', 'consume', '--topic', 'cli-perf', '--records', '4000']);
    expect(consume.status, consume.stderr).toBe(0);
    expect(consume.stdout).toMatch(/^perf consume: 4000 records \([\d.]+ MB\) from cli-perf in [\d.]+ s: [\d,]+ records\/s, [\d.]+ MB\/s\n$/);

    const tooMany = await strata(['perf', 'consume', '--topic', 'cli-perf', '--records', '4001', '--timeout-ms', '1000']);
    expectOneLineError(tooMany, /^strata: perf consume: 4000 of 4001 records from cli-perf, then nothing for 1000 ms/);
    expectOneLineError(await strata(['perf', 'produce', '--topic', 'cli-perf', '--records', '10']), /^strata: perf produce needs --record-size/);
  });

  it('lists every command in --help', async () => {
    const help = await strata(['--help']);
    expect(help.status).toBe(0);
    for (const command of ['broker start', 'topic create', 'topic list', 'topic describe', 'topic delete', 'produce TOPIC', 'consume TOPIC', 'transaction list', 'transaction describe', 'perf produce', 'perf consume', 'log dump', 'cluster up', 'cluster status']) {
      expect(help.stdout).toContain(`strata ${command}`);
    }
  });
});
