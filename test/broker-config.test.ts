// Method: checks the broker's pure parsers and its metadata file directly — property tests
// (fast-check) for the topic name rule, examples for the broker and topic config parsers and the
// command line, and a temp data dir for topics.json's atomic replacement and orphan sweeping.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerConfigError, isValidTopicName, parseBrokerConfig, parseTopicConfigs, silentLogger, startBroker, toLogConfig } from '../broker/index.js';
import { configFromArgs } from '../broker/main.js';
import { TopicStore } from '../broker/topic-store.js';
import { StrataError } from '../client/protocol/index.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-broker-config-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('topic names', () => {
  const legal = fc.constantFrom(...'abcxyzABCXYZ0129._-'.split(''));

  it('accepts 1-249 legal characters except . and ..', () => {
    fc.assert(
      fc.property(fc.array(legal, { minLength: 1, maxLength: 249 }), (chars) => {
        const name = chars.join('');
        expect(isValidTopicName(name)).toBe(name !== '.' && name !== '..');
      }),
    );
  });

  it('rejects names with any other character, or too long', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 0, maxLength: 20 }), fc.string({ minLength: 1, maxLength: 1 }).filter((c) => !/[a-zA-Z0-9._-]/.test(c)), (prefix, bad) => {
        expect(isValidTopicName(prefix + bad)).toBe(false);
      }),
    );
    expect(isValidTopicName('a'.repeat(249))).toBe(true);
    expect(isValidTopicName('a'.repeat(250))).toBe(false);
    expect(isValidTopicName('')).toBe(false);
  });
});

describe('topic configs', () => {
  it('maps Kafka names to the log config', () => {
    const config = toLogConfig({
      'segment.bytes': '2048',
      'segment.ms': '60000',
      'retention.ms': '-1',
      'retention.bytes': '1000000',
      'cleanup.policy': 'delete,compact',
      'max.message.bytes': '4096',
      'flush.policy': 'interval',
      'flush.interval.ms': '250',
      'index.interval.bytes': '512',
      'delete.retention.ms': '1000',
      'message.timestamp.before.max.ms': '604800000',
      'message.timestamp.after.max.ms': '0',
    });
    expect(config).toMatchObject({
      segmentBytes: 2048,
      segmentMs: 60000,
      retentionMs: -1,
      retentionBytes: 1000000,
      cleanupPolicy: 'compact,delete',
      maxBatchBytes: 4096,
      flushPolicy: 'interval',
      flushIntervalMs: 250,
      indexIntervalBytes: 512,
      deleteRetentionMs: 1000,
      messageTimestampBeforeMaxMs: 604800000,
      messageTimestampAfterMaxMs: 0,
    });
    // Kafka's defaults: no bound on old timestamps, one hour into the future.
    expect(toLogConfig({})).toMatchObject({ messageTimestampBeforeMaxMs: Number.MAX_SAFE_INTEGER, messageTimestampAfterMaxMs: 3_600_000 });
  });

  it('lets a topic override the broker defaults', () => {
    expect(toLogConfig({ 'retention.ms': '5' }, { 'retention.ms': '7', 'flush.policy': 'never' })).toMatchObject({ retentionMs: 5, flushPolicy: 'never' });
  });

  it.each([
    [{ 'retention.msec': '1' }, 'retention.msec'],
    [{ 'segment.bytes': '12abc' }, 'segment.bytes'],
    [{ 'segment.bytes': '10' }, 'segment.bytes'],
    [{ 'flush.policy': 'sometimes' }, 'flush.policy'],
    [{ 'cleanup.policy': 'shred' }, 'cleanup.policy'],
    [{ 'max.message.bytes': '99999999999999999999' }, 'max.message.bytes'],
    [{ 'retention.ms': 5 as unknown as string }, 'retention.ms'],
    [{ 'message.timestamp.after.max.ms': '-1' }, 'message.timestamp.after.max.ms'],
    [{ 'message.timestamp.before.max.ms': '1.5' }, 'message.timestamp.before.max.ms'],
  ])('rejects %j with INVALID_CONFIG naming the key', (configs, key) => {
    let thrown: unknown;
    try {
      parseTopicConfigs(configs);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StrataError);
    expect((thrown as StrataError).errorName).toBe('INVALID_CONFIG');
    expect((thrown as StrataError).message).toContain(`'${key}'`);
  });
});

describe('broker config', () => {
  it('fills defaults and parses addresses', () => {
    const config = parseBrokerConfig({ dataDir: '/tmp/x', listen: '0.0.0.0:9000', http: { host: 'localhost', port: 0 } });
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 9000 });
    expect(config.http).toEqual({ host: 'localhost', port: 0 });
    expect(config.nodeId).toBe(0);
    expect(config.raftHeartbeatTicks).toBe(3);
    expect(parseBrokerConfig({ dataDir: '/tmp/x', raftHeartbeatTicks: 5 }).raftHeartbeatTicks).toBe(5);
    expect(parseBrokerConfig({ dataDir: '/tmp/x' }).listen).toEqual({ host: '127.0.0.1', port: 7401 });
    expect(parseBrokerConfig({ dataDir: '/tmp/x' }).http).toEqual({ host: '127.0.0.1', port: 7481 });
    expect(parseBrokerConfig({ dataDir: '/tmp/x', listen: '[::1]:7' }).listen).toEqual({ host: '::1', port: 7 });
  });

  it.each([
    [{ dataDir: '/d', colour: 'blue' }, /unknown key 'colour'/],
    [{}, /'dataDir' is required/],
    [{ dataDir: '/d', nodeId: -1 }, /'nodeId' must be an integer/],
    [{ dataDir: '/d', listen: 'nowhere' }, /'listen' must look like HOST:PORT/],
    [{ dataDir: '/d', listen: 'h:70000' }, /listen.port/],
    [{ dataDir: '/d', maxConnections: 0 }, /'maxConnections'/],
    [{ dataDir: '/d', maxFrameBytes: 10 }, /'maxFrameBytes'/],
    [{ dataDir: '/d', raftHeartbeatTicks: 0 }, /'raftHeartbeatTicks'/],
    [{ dataDir: '/d', raftHeartbeatTicks: 6 }, /'raftHeartbeatTicks'/],
    [{ dataDir: '/d', defaultTopicConfigs: { 'retention.ms': 'never' } }, /'defaultTopicConfigs'.*'retention.ms'/],
  ])('rejects %j', (input, message) => {
    expect(() => parseBrokerConfig(input)).toThrow(BrokerConfigError);
    expect(() => parseBrokerConfig(input)).toThrow(message);
  });

  it('reads the command line and a config file, flags winning', () => {
    const dir = tempDir();
    const file = path.join(dir, 'broker.json');
    fs.writeFileSync(file, JSON.stringify({ nodeId: 3, dataDir: 'data', listen: '127.0.0.1:9001', maxConnections: 10 }));
    const { config } = configFromArgs(['broker', 'start', '--config', file, '--listen', '127.0.0.1:9002', '--http', '127.0.0.1:9003']);
    expect(config).toMatchObject({ nodeId: 3, dataDir: path.join(dir, 'data'), listen: { port: 9002 }, http: { port: 9003 }, maxConnections: 10 });
    expect(configFromArgs(['start', '--data', dir, '--node-id', '4']).config).toMatchObject({ nodeId: 4, dataDir: dir });
    expect(() => configFromArgs(['start'])).toThrow(/data directory is required/);
    expect(() => configFromArgs(['stop', '--data', dir])).toThrow(/unknown command/);
    expect(() => configFromArgs(['start', '--data', dir, '--node-id', 'x'])).toThrow(/--node-id/);
    expect(() => configFromArgs(['start', '--data', dir, '--bogus'])).toThrow();
  });
});

describe('topics.json', () => {
  it('is replaced atomically and read back', () => {
    const dir = tempDir();
    const store = TopicStore.load(dir);
    expect(store.existed).toBe(false);
    store.put(TopicStore.newTopic('a', 2, { 'retention.ms': '10' }, 1));
    store.put(TopicStore.newTopic('b', 1, {}, 2));
    store.remove('a');
    // An interrupted write leaves a .tmp, which the next load discards.
    fs.writeFileSync(path.join(dir, 'topics.json.tmp'), '{"version":1,"topics":[{"name":"garbage"');
    const again = TopicStore.load(dir);
    expect(again.existed).toBe(true);
    expect(again.list().map((t) => [t.name, t.partitions])).toEqual([['b', 1]]);
    expect(fs.existsSync(path.join(dir, 'topics.json.tmp'))).toBe(false);
  });

  it('refuses a damaged file rather than forget topics', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'topics.json'), '{"version":1,"topics":[{"name":"x"');
    expect(() => TopicStore.load(dir)).toThrow(/not valid JSON/);
    fs.writeFileSync(path.join(dir, 'topics.json'), JSON.stringify({ version: 1, topics: [{ name: '..', topicId: 'x', partitions: 1, configs: {} }] }));
    expect(() => TopicStore.load(dir)).toThrow(/invalid name/);
  });

  it('sweeps the directories of a deletion that committed before its files went', async () => {
    const dataDir = tempDir();
    const first = await startBroker({ dataDir, listen: { host: '127.0.0.1', port: 0 }, logger: silentLogger() });
    await first.partitions.createTopic({ name: 'keep', partitions: 1, replicationFactor: 1, configs: {} });
    await first.partitions.createTopic({ name: 'gone', partitions: 2, replicationFactor: 1, configs: {} });
    await first.close();
    // Simulate the crash: topics.json no longer lists 'gone', its directories remain.
    const store = TopicStore.load(dataDir);
    store.remove('gone');
    fs.mkdirSync(path.join(dataDir, 'not-a-partition'));
    const second = await startBroker({ dataDir, listen: { host: '127.0.0.1', port: 0 }, logger: silentLogger() });
    expect(second.partitions.topics().map((t) => t.name)).toEqual(['keep']);
    expect(fs.existsSync(path.join(dataDir, 'gone-0'))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'gone-1'))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'keep-0'))).toBe(true);
    expect(fs.existsSync(path.join(dataDir, 'not-a-partition'))).toBe(true);
    await second.close();
    // Without topics.json, partition directories are a reason to refuse, never to delete.
    fs.rmSync(path.join(dataDir, 'topics.json'));
    await expect(startBroker({ dataDir, listen: { host: '127.0.0.1', port: 0 }, logger: silentLogger() })).rejects.toThrow(/refusing to start/);
    expect(fs.existsSync(path.join(dataDir, 'keep-0'))).toBe(true);
  });
});
