/**
 * The client side of the `strata` command (everything but `strata broker …`, which `broker/cli.ts`
 * runs before it hands the rest here). One file per command group does the work; this one reads the
 * global options, picks the group and turns failures into the command's contract:
 *
 * - exit 0 on success;
 * - on bad input or a failed request, one line on stderr — `strata: MESSAGE`, or `strata: ERROR_NAME:
 *   MESSAGE` for a StrataError — and exit 1 (or the exit code a `CommandFailure` names).
 *
 * No client command hangs on a broker it cannot reach: each waits at most its `--timeout-ms` (30 s
 * by default) for a broker to answer, then fails with one line naming it (`command-context.ts`).
 *
 * Global options, accepted anywhere on the line: `--bootstrap HOST:PORT[,HOST:PORT...]` (else the
 * environment's STRATA_BOOTSTRAP, else 127.0.0.1:7401) and `--help`.
 */
import { StrataError } from '../index.js';
import { exitQuietlyOnBrokenPipe } from './backpressure.js';
import { CLUSTER_USAGE, runClusterCommand } from './cluster-command.js';
import { CommandFailure, DEFAULT_BOOTSTRAP, parseBootstrap, UsageError, type CommandContext } from './command-context.js';
import { CONSUME_USAGE, runConsumeCommand } from './consume-command.js';
import { GROUP_USAGE, runGroupCommand } from './group-command.js';
import { LOG_USAGE, runLogCommand } from './log-command.js';
import { PERF_USAGE, runPerfCommand } from './perf-command.js';
import { PRODUCE_USAGE, runProduceCommand } from './produce-command.js';
import { runTopicCommand, TOPIC_USAGE } from './topic-command.js';
import { runTransactionCommand, TRANSACTION_USAGE } from './transaction-command.js';

export const CLIENT_USAGE = [
  TOPIC_USAGE,
  PRODUCE_USAGE,
  '                       (one record per stdin line; with --key-separator, key<SEP>value; default acks all)',
  CONSUME_USAGE,
  GROUP_USAGE,
  TRANSACTION_USAGE,
  PERF_USAGE,
  LOG_USAGE,
  CLUSTER_USAGE,
  `  (client commands take --bootstrap HOST:PORT[,HOST:PORT...], else $STRATA_BOOTSTRAP, else ${DEFAULT_BOOTSTRAP})`,
  '  (client commands take --timeout-ms T: how long to wait for a broker before failing, 30 s by default;',
  '   for consume it is also how long without a new record before stopping)',
].join('\n');
const USAGE = `usage:\n${CLIENT_USAGE}`;

/** How long a finished command waits for stray handles before it exits anyway. */
const EXIT_GRACE_MS = 2000;

/** Takes the global options out of `argv`, wherever they are (up to a `--`). */
export function splitGlobalOptions(argv: readonly string[], env: NodeJS.ProcessEnv): { brokers: string[]; help: boolean; rest: string[] } {
  let bootstrap: string | undefined;
  let help = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg === '--help' || arg === '-h') help = true;
    else if (arg === '--bootstrap') {
      bootstrap = argv[++i];
      if (bootstrap === undefined) throw new UsageError('--bootstrap needs HOST:PORT[,HOST:PORT...]');
    } else if (arg.startsWith('--bootstrap=')) bootstrap = arg.slice('--bootstrap='.length);
    else rest.push(arg);
  }
  const fromEnv = env['STRATA_BOOTSTRAP'];
  const brokers = parseBootstrap(bootstrap ?? (fromEnv !== undefined && fromEnv.trim() !== '' ? fromEnv : DEFAULT_BOOTSTRAP));
  return { brokers, help, rest };
}

async function run(argv: readonly string[]): Promise<void> {
  const { brokers, help, rest } = splitGlobalOptions(argv, process.env);
  if (help) return void process.stdout.write(`${USAGE}\n`);
  const context: CommandContext = { brokers, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
  const [group, ...args] = rest;
  switch (group) {
    case 'topic':
      return runTopicCommand(args, context);
    case 'produce':
      return runProduceCommand(args, context);
    case 'consume':
      return runConsumeCommand(args, context);
    case 'group':
      return runGroupCommand(args, context);
    case 'transaction':
      return runTransactionCommand(args, context);
    case 'perf':
      return runPerfCommand(args, context);
    case 'log':
      return runLogCommand(args, context);
    case 'cluster':
      return runClusterCommand(args, context);
    default:
      throw new UsageError(`unknown command '${rest.join(' ')}'; see strata --help`);
  }
}

/** The one line a failure prints, without `strata: `. */
export function describeFailure(error: unknown): string {
  let line: string;
  if (error instanceof StrataError) line = `${error.errorName}: ${error.message}`;
  else if (error instanceof Error) line = error.message;
  else line = String(error);
  return line.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * Runs one client command. On success the process exits 0 once nothing is left to do (or after a
 * short grace, should a handle linger); on failure it prints one line and exits at once.
 */
export async function runClientCommand(argv: string[]): Promise<void> {
  exitQuietlyOnBrokenPipe(process.stdout);
  try {
    await run(argv);
    process.exitCode = 0;
    setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
  } catch (error) {
    process.stderr.write(`strata: ${describeFailure(error)}\n`);
    process.exit(error instanceof CommandFailure ? error.exitCode : 1);
  }
}
