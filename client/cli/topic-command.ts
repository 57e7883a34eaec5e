/**
 * `strata topic create | list | describe | delete`, like Kafka's `kafka-topics.sh`:
 *
 *   strata topic create NAME [--partitions N] [--replication-factor R] [--config key=value]...
 *   strata topic list [--internal] [--format table|json]
 *   strata topic describe NAME [--format table|json]
 *   strata topic delete NAME
 *
 * Every verb takes `--timeout-ms T`: how long to wait for a broker to answer (default 30 s) before
 * failing with one line naming it.
 *
 * Without `--replication-factor` the broker's default applies (3 in a cluster of three brokers, 1 on
 * a standalone broker), as with Kafka's `kafka-topics.sh`.
 *
 * Creating a topic that exists is an error here (TOPIC_ALREADY_EXISTS), unlike the library's
 * `createTopics`, which reports it as `false`: a script that creates a topic wants to know. Names and
 * configs are checked by the broker, so the CLI and every other client follow one rule.
 *
 * `describe --format json` prints one object, `{ name, configs: { key: value }, partitions: [{
 * partition, leader, replicas, logStartOffset, highWatermark, logEndOffset }] }`, configs being those
 * the topic was created with (its overrides of the broker's defaults; the table ends with them as
 * `configs: k=v, …`, or `configs: none (the broker's defaults)`). `list` leaves out the broker's
 * internal topics (`__consumer_offsets`) unless `--internal`; `list --format json` prints an array
 * of names.
 */
import { parseArgs } from 'node:util';
import { isInternalTopic, StrataError, type TopicDescription } from '../index.js';
import { brokerWaitFlag, choiceFlag, expectPositionals, integerFlag, UsageError, withClient, type CommandContext } from './command-context.js';
import { columns } from './text-columns.js';

export const TOPIC_USAGE = [
  '  strata topic create NAME [--partitions N] [--replication-factor R] [--config key=value]...',
  '  strata topic list [--internal] [--format table|json]   (--internal: __consumer_offsets too)',
  '  strata topic describe NAME [--format table|json]',
  '  strata topic delete NAME',
].join('\n');

/** Without `--replication-factor`: the broker's default (3 in a cluster of three, 1 standalone), as Kafka's -1. */
const REPLICATION_FACTOR_BROKER_DEFAULT = -1;

/** Partitions of one topic, at most; the broker has its own limit too. */
const PARTITIONS_MAX = 10_000;

export async function runTopicCommand(argv: readonly string[], context: CommandContext): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      partitions: { type: 'string' },
      'replication-factor': { type: 'string' },
      config: { type: 'string', multiple: true },
      format: { type: 'string' },
      internal: { type: 'boolean' },
      'timeout-ms': { type: 'string' },
    },
  });
  const [verb, ...rest] = positionals;
  const onlyFor = (flag: string, verbs: readonly string[]) => {
    if ((values as Record<string, unknown>)[flag] !== undefined && !verbs.includes(verb ?? '')) throw new UsageError(`--${flag} does not apply to 'topic ${verb ?? ''}'`);
  };
  onlyFor('partitions', ['create']);
  onlyFor('replication-factor', ['create']);
  onlyFor('config', ['create']);
  onlyFor('format', ['list', 'describe']);
  onlyFor('internal', ['list']);
  const format = choiceFlag('format', values.format, ['table', 'json'], 'table');
  const waitMs = brokerWaitFlag(values['timeout-ms']);
  switch (verb) {
    case 'create': {
      const [name] = expectPositionals(rest, 1, 'strata topic create NAME [--partitions N] [--replication-factor R] [--config key=value]...');
      const numPartitions = integerFlag('partitions', values.partitions, 1, PARTITIONS_MAX) ?? 1;
      const replicationFactor = integerFlag('replication-factor', values['replication-factor'], 1, 2 ** 15 - 1) ?? REPLICATION_FACTOR_BROKER_DEFAULT;
      const configs = parseConfigs(values.config ?? []);
      return createTopic(context, { topic: name!, numPartitions, replicationFactor, configs }, waitMs);
    }
    case 'list':
      expectPositionals(rest, 0, 'strata topic list [--internal] [--format table|json]');
      return listTopics(context, format, values.internal === true, waitMs);
    case 'describe': {
      const [name] = expectPositionals(rest, 1, 'strata topic describe NAME [--format table|json]');
      return describeTopic(context, name!, format, waitMs);
    }
    case 'delete': {
      const [name] = expectPositionals(rest, 1, 'strata topic delete NAME');
      return deleteTopic(context, name!, waitMs);
    }
    default:
      throw new UsageError(`unknown command 'topic ${positionals.join(' ')}'; try create, list, describe or delete`);
  }
}

/** `--config key=value`, repeated. A key given twice is a mistake, not a last-one-wins. */
export function parseConfigs(pairs: readonly string[]): Record<string, string> {
  const configs: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--config must be key=value, got '${pair}'`);
    const key = pair.slice(0, at).trim();
    if (Object.hasOwn(configs, key)) throw new UsageError(`--config ${key} is given twice`);
    configs[key] = pair.slice(at + 1);
  }
  return configs;
}

async function createTopic(context: CommandContext, topic: { topic: string; numPartitions: number; replicationFactor: number; configs: Record<string, string> }, waitMs: number): Promise<void> {
  await withClient(context, async (client) => {
    const created = await client.admin().createTopics({ topics: [topic] });
    if (!created) throw new StrataError('TOPIC_ALREADY_EXISTS', `Topic '${topic.topic}'.`);
  }, waitMs);
  context.stdout.write(`created topic ${topic.topic} with ${topic.numPartitions} partition${topic.numPartitions === 1 ? '' : 's'}\n`);
}

async function listTopics(context: CommandContext, format: 'table' | 'json', internal: boolean, waitMs: number): Promise<void> {
  const all = await withClient(context, (client) => client.admin().listTopics(), waitMs);
  const names = internal ? all : all.filter((name) => !isInternalTopic(name));
  if (format === 'json') context.stdout.write(`${JSON.stringify(names)}\n`);
  else if (names.length > 0) context.stdout.write(`${names.join('\n')}\n`);
}

/** The JSON shape of `describe`: the fields a script needs, without the library's extras. */
export function describeJson(topic: TopicDescription): object {
  return {
    name: topic.name,
    configs: topic.configs,
    partitions: topic.partitions.map((p) => ({
      partition: p.partition,
      leader: p.leader,
      replicas: p.replicas,
      logStartOffset: p.logStartOffset,
      highWatermark: p.highWatermark,
      logEndOffset: p.logEndOffset,
    })),
  };
}

/** Aligned columns, a header first, for people. */
export function describeTable(topic: TopicDescription): string {
  const replicationFactor = topic.partitions[0]?.replicas.length ?? 0;
  const header = ['PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'LOG-START', 'HIGH-WATERMARK', 'LOG-END'];
  const rows = topic.partitions.map((p) => [p.partition, p.leader, p.replicas.join(','), p.isr.join(','), p.logStartOffset, p.highWatermark, p.logEndOffset].map(String));
  const configs = Object.entries(topic.configs).map(([key, value]) => `${key}=${value}`);
  return [
    `topic ${topic.name}: ${topic.partitions.length} partition${topic.partitions.length === 1 ? '' : 's'}, replication factor ${replicationFactor}`,
    ...columns(header, rows),
    `configs: ${configs.length === 0 ? "none (the broker's defaults)" : configs.join(', ')}`,
  ].join('\n');
}

async function describeTopic(context: CommandContext, name: string, format: 'table' | 'json', waitMs: number): Promise<void> {
  const { topics } = await withClient(context, (client) => client.admin().describeTopics({ topics: [name] }), waitMs);
  const topic = topics[0];
  if (topic === undefined) throw new StrataError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}'.`);
  context.stdout.write(`${format === 'json' ? JSON.stringify(describeJson(topic)) : describeTable(topic)}\n`);
}

async function deleteTopic(context: CommandContext, name: string, waitMs: number): Promise<void> {
  await withClient(context, (client) => client.admin().deleteTopics({ topics: [name] }), waitMs);
  context.stdout.write(`deleted topic ${name}\n`);
}
