// Method: runs the group command's and consume's argument parsers and the group printers on plain
// data, without a broker: every accepted form, every rejected one with its one-line message, and the
// exact table and JSON shapes (test/cli-group.test.ts runs the real command against a broker).
import { describe, expect, it } from 'vitest';
import type { GroupDescription } from '../index.js';
import { UsageError } from './command-context.js';
import { parseConsumeArgs } from './consume-command.js';
import { describeGroupJson, describeGroupTable, listTable, parseGroupCommand, resetTable } from './group-command.js';

function usageError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return (error as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('parseGroupCommand', () => {
  it('reads list, describe and delete', () => {
    expect(parseGroupCommand(['list'])).toEqual({ verb: 'list', format: 'table', waitMs: 30_000 });
    expect(parseGroupCommand(['list', '--format', 'json'])).toEqual({ verb: 'list', format: 'json', waitMs: 30_000 });
    expect(parseGroupCommand(['describe', 'g1'])).toEqual({ verb: 'describe', groupId: 'g1', format: 'table', waitMs: 30_000 });
    expect(parseGroupCommand(['describe', '--format=json', 'g1'])).toEqual({ verb: 'describe', groupId: 'g1', format: 'json', waitMs: 30_000 });
    expect(parseGroupCommand(['delete', 'g1'])).toEqual({ verb: 'delete', groupId: 'g1', waitMs: 30_000 });
  });

  it('reads each reset target, with and without --execute', () => {
    const base = ['reset-offsets', 'g1', '--topic', 't'];
    expect(parseGroupCommand([...base, '--to-earliest'])).toEqual({ verb: 'reset-offsets', groupId: 'g1', topic: 't', to: { earliest: true }, execute: false, waitMs: 30_000 });
    expect(parseGroupCommand([...base, '--to-latest', '--execute'])).toMatchObject({ to: { latest: true }, execute: true });
    expect(parseGroupCommand([...base, '--to-offset', '42'])).toMatchObject({ to: { offset: 42 } });
    expect(parseGroupCommand([...base, '--to-datetime', '2024-05-01T12:00:00Z'])).toMatchObject({ to: { timestamp: Date.UTC(2024, 4, 1, 12) } });
    expect(parseGroupCommand([...base, '--to-datetime', '1700000000000'])).toMatchObject({ to: { timestamp: 1_700_000_000_000 } });
  });

  it('rejects bad usage with one line naming the problem', () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /unknown command 'group '/],
      [['frob'], /unknown command 'group frob'/],
      [['describe'], /usage: strata group describe G/],
      [['describe', 'a', 'b'], /usage: strata group describe G.*got 'a b'/],
      [['describe', ''], /group id must not be empty/],
      [['delete'], /usage: strata group delete G/],
      [['list', 'extra'], /usage: strata group list/],
      [['list', '--format', 'xml'], /--format must be table or json/],
      [['delete', 'g', '--format', 'json'], /--format does not apply to 'group delete'/],
      [['describe', 'g', '--execute'], /--execute does not apply to 'group describe'/],
      [['list', '--topic', 't'], /--topic does not apply to 'group list'/],
      [['reset-offsets', 'g', '--to-earliest'], /needs --topic T/],
      [['reset-offsets', 'g', '--topic', 't'], /exactly one of --to-earliest.*\(got 0\)/],
      [['reset-offsets', 'g', '--topic', 't', '--to-earliest', '--to-latest'], /exactly one of .*\(got 2\)/],
      [['reset-offsets', 'g', '--topic', 't', '--to-offset=-1'], /--to-offset must be an integer of at least 0/],
      [['reset-offsets', 'g', '--topic', 't', '--to-offset', 'x'], /--to-offset must be an integer/],
      [['reset-offsets', 'g', '--topic', 't', '--to-datetime', 'yesterday'], /--to-datetime must be an ISO 8601 time/],
      [['reset-offsets', '--topic', 't', '--to-earliest'], /usage: strata group reset-offsets G/],
      [['list', '--bogus'], /--bogus/],
    ];
    for (const [argv, pattern] of cases) {
      const message = usageError(() => parseGroupCommand(argv));
      expect(message, argv.join(' ')).toMatch(pattern);
      expect(message).not.toContain('\n');
    }
    expect(() => parseGroupCommand(['frob'])).toThrow(UsageError);
  });
});

describe('parseConsumeArgs with --group', () => {
  it('reads the group, the session timeout and --offset earliest|latest', () => {
    expect(parseConsumeArgs(['t', '--group', 'g', '--offset', 'earliest', '--session-timeout-ms', '3000', '--max-messages', '5'])).toEqual({
      topic: 't',
      partition: undefined,
      start: { kind: 'offset', offset: 'earliest' },
      maxMessages: 5,
      timeoutMs: undefined,
      format: 'value',
      isolation: 'read_committed',
      group: { groupId: 'g', sessionTimeoutMs: 3000 },
    });
    expect(parseConsumeArgs(['t', '--group', 'g'])).toMatchObject({ start: { kind: 'offset', offset: 'latest' }, group: { groupId: 'g', sessionTimeoutMs: undefined } });
    // Without --group nothing changes.
    expect(parseConsumeArgs(['t', '--partition', '1', '--offset', '7'])).toMatchObject({ partition: 1, start: { kind: 'offset', offset: 7 }, group: undefined });
  });

  it('rejects what a group does not allow', () => {
    const cases: Array<[string[], RegExp]> = [
      [['t', '--group', 'g', '--partition', '0'], /--partition does not go with --group/],
      [['t', '--group', 'g', '--offset', '5'], /numeric --offset does not go with --group/],
      [['t', '--group', 'g', '--from-time', '1000'], /--from-time does not go with --group/],
      [['t', '--group', ''], /--group needs a group id/],
      [['t', '--session-timeout-ms', '1000'], /--session-timeout-ms needs --group/],
      [['t', '--group', 'g', '--session-timeout-ms', '0'], /--session-timeout-ms must be an integer/],
    ];
    for (const [argv, pattern] of cases) expect(usageError(() => parseConsumeArgs(argv)), argv.join(' ')).toMatch(pattern);
  });
});

const GROUP: GroupDescription = {
  group: 'billing',
  state: 'Stable',
  assignor: 'sticky',
  members: [
    {
      memberId: 'member-a',
      clientId: 'strata-cli',
      clientHost: '/127.0.0.1',
      memberEpoch: 3,
      subscribedTopics: ['orders'],
      assignment: [{ topic: 'orders', partition: 0 }],
      targetAssignment: [{ topic: 'orders', partition: 0 }],
    },
  ],
  partitions: [
    { topic: 'orders', partition: 0, member: 'member-a', committedOffset: 5, logEndOffset: 12, lag: 7 },
    { topic: 'orders', partition: 1, member: null, committedOffset: -1, logEndOffset: 4, lag: 4 },
    { topic: 'gone', partition: 0, member: null, committedOffset: 3, logEndOffset: -1, lag: -1 },
  ],
};

describe('group printers', () => {
  it('prints describe as the JSON contract, nothing more', () => {
    expect(describeGroupJson(GROUP)).toEqual({
      group: 'billing',
      state: 'Stable',
      members: [{ memberId: 'member-a', clientId: 'strata-cli', clientHost: '/127.0.0.1', memberEpoch: 3, assignment: [{ topic: 'orders', partition: 0 }] }],
      partitions: [
        { topic: 'orders', partition: 0, member: 'member-a', committedOffset: 5, logEndOffset: 12, lag: 7 },
        { topic: 'orders', partition: 1, member: null, committedOffset: -1, logEndOffset: 4, lag: 4 },
        { topic: 'gone', partition: 0, member: null, committedOffset: 3, logEndOffset: -1, lag: -1 },
      ],
    });
  });

  it('prints describe as aligned columns, with - for no value', () => {
    expect(describeGroupTable(GROUP).split('\n')).toEqual([
      'group billing: Stable, 1 member, assignor sticky',
      'TOPIC   PARTITION  MEMBER    COMMITTED  END  LAG',
      'orders  0          member-a  5          12   7',
      'orders  1          -         -          4    4',
      'gone    0          -         3          -    -',
    ]);
  });

  it('prints list and reset plans', () => {
    expect(listTable([{ groupId: 'billing', state: 'Stable', members: 2 }, { groupId: 'audit', state: 'Empty', members: 0 }]).split('\n')).toEqual([
      'GROUP    STATE   MEMBERS',
      'billing  Stable  2',
      'audit    Empty   0',
    ]);
    expect(listTable([])).toBe('GROUP  STATE  MEMBERS');
    const plan = [
      { topic: 'orders', partition: 0, currentOffset: 5, newOffset: 0 },
      { topic: 'orders', partition: 1, currentOffset: -1, newOffset: 0 },
    ];
    expect(resetTable('billing', 'orders', plan, false).split('\n')).toEqual([
      'group billing: plan to reset offsets of orders (not executed; add --execute to commit it)',
      'TOPIC   PARTITION  CURRENT  NEW',
      'orders  0          5        0',
      'orders  1          -        0',
    ]);
    expect(resetTable('billing', 'orders', plan, true).split('\n')[0]).toBe('group billing: reset offsets of orders');
  });
});
