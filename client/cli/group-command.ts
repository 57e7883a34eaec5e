/**
 * `strata group list | describe | delete | reset-offsets`, like Kafka's `kafka-consumer-groups.sh`:
 *
 *   strata group list [--format table|json]
 *   strata group describe G [--format table|json]
 *   strata group delete G
 *   strata group reset-offsets G --topic T (--to-earliest | --to-latest | --to-offset N | --to-datetime ISO8601)
 *                              [--execute]
 *
 * `describe` prints, per partition of every subscribed topic and every partition the group committed,
 * its owner, committed offset, log end offset (the high watermark) and lag; `--format json` prints one
 * object, `{ group, state, members: [{ memberId, clientId, clientHost, memberEpoch, assignment:
 * [{ topic, partition }] }], partitions: [{ topic, partition, member, committedOffset, logEndOffset,
 * lag }] }`, where a missing owner is null and a missing commit -1. `list --format json` prints
 * `[{ groupId, state, members }]`, members being a count.
 *
 * Every verb takes `--timeout-ms T`: how long to wait for a broker to answer (default 30 s) before
 * failing with one line naming it.
 *
 * `reset-offsets` prints the plan (current and new offset of each partition of the topic). Only with
 * `--execute` does it commit it, and the coordinator refuses while the group has members
 * (NON_EMPTY_GROUP): stop the consumers first. `--to-offset` is kept within each partition's log
 * start and high watermark. `delete` too needs an empty group.
 *
 * Parsing (`parseGroupCommand`) is separate from running, so the rules are tested without a broker.
 */
import { parseArgs } from 'node:util';
import type { GroupDescription, GroupListing, OffsetResetPlan, ResetTarget } from '../index.js';
import { brokerWaitFlag, choiceFlag, expectPositionals, integerFlag, UsageError, withClient, type CommandContext } from './command-context.js';
import { parseFromTime } from './consume-command.js';
import { columns } from './text-columns.js';

export const GROUP_USAGE = [
  '  strata group list [--format table|json]',
  '  strata group describe G [--format table|json]',
  '  strata group delete G',
  '  strata group reset-offsets G --topic T (--to-earliest | --to-latest | --to-offset N | --to-datetime ISO8601)',
  '                             [--execute]          (without --execute: print the plan only)',
].join('\n');

const RESET_USAGE = 'strata group reset-offsets G --topic T (--to-earliest | --to-latest | --to-offset N | --to-datetime ISO8601) [--execute]';

/** A parsed `strata group` command; `waitMs` is `--timeout-ms`, how long to wait for a broker. */
export type GroupCommand = (
  | { verb: 'list'; format: 'table' | 'json' }
  | { verb: 'describe'; groupId: string; format: 'table' | 'json' }
  | { verb: 'delete'; groupId: string }
  | { verb: 'reset-offsets'; groupId: string; topic: string; to: ResetTarget; execute: boolean }
) & { waitMs: number };

/** Reads `strata group …`'s arguments; throws UsageError for anything it does not accept. */
export function parseGroupCommand(argv: readonly string[]): GroupCommand {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      format: { type: 'string' },
      topic: { type: 'string' },
      'to-earliest': { type: 'boolean' },
      'to-latest': { type: 'boolean' },
      'to-offset': { type: 'string' },
      'to-datetime': { type: 'string' },
      execute: { type: 'boolean' },
      'timeout-ms': { type: 'string' },
    },
  });
  const [verb, ...rest] = positionals;
  const onlyFor = (flag: keyof typeof values, verbs: readonly string[]) => {
    if (values[flag] !== undefined && !verbs.includes(verb ?? '')) throw new UsageError(`--${flag} does not apply to 'group ${verb ?? ''}'`);
  };
  onlyFor('format', ['list', 'describe']);
  for (const flag of ['topic', 'to-earliest', 'to-latest', 'to-offset', 'to-datetime', 'execute'] as const) onlyFor(flag, ['reset-offsets']);
  const format = choiceFlag('format', values.format, ['table', 'json'], 'table');
  const waitMs = brokerWaitFlag(values['timeout-ms']);
  switch (verb) {
    case 'list':
      expectPositionals(rest, 0, 'strata group list [--format table|json]');
      return { verb, format, waitMs };
    case 'describe': {
      const [groupId] = expectPositionals(rest, 1, 'strata group describe G [--format table|json]');
      return { verb, groupId: groupIdOf(groupId!), format, waitMs };
    }
    case 'delete': {
      const [groupId] = expectPositionals(rest, 1, 'strata group delete G');
      return { verb, groupId: groupIdOf(groupId!), waitMs };
    }
    case 'reset-offsets': {
      const [groupId] = expectPositionals(rest, 1, RESET_USAGE);
      if (values.topic === undefined || values.topic === '') throw new UsageError(`reset-offsets needs --topic T; usage: ${RESET_USAGE}`);
      const targets: ResetTarget[] = [];
      if (values['to-earliest'] === true) targets.push({ earliest: true });
      if (values['to-latest'] === true) targets.push({ latest: true });
      if (values['to-offset'] !== undefined) targets.push({ offset: integerFlag('to-offset', values['to-offset'], 0)! });
      if (values['to-datetime'] !== undefined) targets.push({ timestamp: parseDatetime(values['to-datetime']) });
      if (targets.length !== 1) throw new UsageError(`reset-offsets needs exactly one of --to-earliest, --to-latest, --to-offset N, --to-datetime ISO8601 (got ${targets.length})`);
      return { verb, groupId: groupIdOf(groupId!), topic: values.topic, to: targets[0]!, execute: values.execute === true, waitMs };
    }
    default:
      throw new UsageError(`unknown command 'group ${positionals.join(' ')}'; try list, describe, delete or reset-offsets`);
  }
}

export async function runGroupCommand(argv: readonly string[], context: CommandContext): Promise<void> {
  const command = parseGroupCommand(argv);
  switch (command.verb) {
    case 'list': {
      const groups = await withClient(context, (client) => client.admin().listGroups(), command.waitMs);
      if (command.format === 'json') context.stdout.write(`${JSON.stringify(groups)}\n`);
      else context.stdout.write(`${listTable(groups)}\n`);
      return;
    }
    case 'describe': {
      const group = await withClient(context, (client) => client.admin().describeGroup(command.groupId), command.waitMs);
      context.stdout.write(`${command.format === 'json' ? JSON.stringify(describeGroupJson(group)) : describeGroupTable(group)}\n`);
      return;
    }
    case 'delete':
      await withClient(context, (client) => client.admin().deleteGroups([command.groupId]), command.waitMs);
      context.stdout.write(`deleted group ${command.groupId}\n`);
      return;
    case 'reset-offsets': {
      const { groupId, topic, to, execute } = command;
      const plan = await withClient(context, (client) => client.admin().resetOffsets({ groupId, topic, to, execute }), command.waitMs);
      context.stdout.write(`${resetTable(groupId, topic, plan, execute)}\n`);
      return;
    }
  }
}

/** `--to-datetime`: an ISO 8601 date-time (or epoch milliseconds, as `consume --from-time`). */
export function parseDatetime(value: string): number {
  try {
    return parseFromTime(value);
  } catch {
    throw new UsageError(`--to-datetime must be an ISO 8601 time or epoch milliseconds, got '${value}'`);
  }
}

function groupIdOf(value: string): string {
  if (value.trim() === '') throw new UsageError('the group id must not be empty');
  return value;
}

/** The JSON shape of `describe`: the issue's contract, without the library's extras. */
export function describeGroupJson(group: GroupDescription): object {
  return {
    group: group.group,
    state: group.state,
    members: group.members.map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      memberEpoch: m.memberEpoch,
      assignment: m.assignment.map((tp) => ({ topic: tp.topic, partition: tp.partition })),
    })),
    partitions: group.partitions.map((p) => ({
      topic: p.topic,
      partition: p.partition,
      member: p.member,
      committedOffset: p.committedOffset,
      logEndOffset: p.logEndOffset,
      lag: p.lag,
    })),
  };
}

/** For people: a line about the group, then a row per partition; `-` where there is no value. */
export function describeGroupTable(group: GroupDescription): string {
  const dash = (n: number) => (n < 0 ? '-' : String(n));
  const title = `group ${group.group}: ${group.state}, ${group.members.length} member${group.members.length === 1 ? '' : 's'}${group.assignor === '' ? '' : `, assignor ${group.assignor}`}`;
  const header = ['TOPIC', 'PARTITION', 'MEMBER', 'COMMITTED', 'END', 'LAG'];
  const rows = group.partitions.map((p) => [p.topic, String(p.partition), p.member ?? '-', dash(p.committedOffset), dash(p.logEndOffset), dash(p.lag)]);
  return [title, ...columns(header, rows)].join('\n');
}

export function listTable(groups: readonly GroupListing[]): string {
  return columns(['GROUP', 'STATE', 'MEMBERS'], groups.map((g) => [g.groupId, g.state, String(g.members)])).join('\n');
}

export function resetTable(groupId: string, topic: string, plan: readonly OffsetResetPlan[], executed: boolean): string {
  const title = executed ? `group ${groupId}: reset offsets of ${topic}` : `group ${groupId}: plan to reset offsets of ${topic} (not executed; add --execute to commit it)`;
  const rows = plan.map((p) => [p.topic, String(p.partition), p.currentOffset < 0 ? '-' : String(p.currentOffset), String(p.newOffset)]);
  return [title, ...columns(['TOPIC', 'PARTITION', 'CURRENT', 'NEW'], rows)].join('\n');
}
