/**
 * `strata cluster up | status`:
 *
 *   strata cluster up [--nodes N] [--data DIR] [--base-port PORT] [--host HOST] [--log-level LEVEL] [--timeout-ms T]
 *   strata cluster status [--http HOST:PORT[,HOST:PORT...]] [--json] [--internal] [--timeout-ms T]
 *
 * `up` runs N brokers (default 3) of one cluster on this machine as child processes of this command
 * (`cluster-supervisor.ts`), broker i as `strata broker start --node-id i --peers 1@…,2@…,…
 * --listen HOST:BASE+i-1 --http HOST:BASE+80+i-1 --data DIR/node-i`, their output passed through
 * under `[node i]`. Once every broker is ready and the cluster has a metadata leader it prints the
 * bootstrap list, the HTTP addresses and the dashboard's address, then runs until SIGINT (Ctrl-C) or SIGTERM, which stop every
 * broker gracefully (exit 0); a second signal kills them at once. A broker that does not come up
 * within `--timeout-ms` (default 60 s) fails the command (exit 1) naming it, after its last stderr
 * lines. `--base-port 0` gives every broker free ports, found before any starts (`free-ports.ts`).
 *
 * `status` asks one broker's HTTP `GET /v1/cluster` (the first of `--http` that answers; default
 * 127.0.0.1:7481, broker 1 of a default `cluster up`), then every broker it lists, and prints the
 * brokers (up or down), the metadata leader and term, and each partition's leader, replicas, in-sync
 * replicas, high watermark and follower lag (`cluster-status.ts`). `--json` prints the same as one
 * object. Partitions of internal topics (`__consumer_offsets`) are left out unless `--internal`, as
 * with `topic list`. A broker that does not answer within `--timeout-ms` (default 2 s) shows as down; when the
 * first cannot be asked either, the command fails with one line naming the addresses. The protocol's `--bootstrap` is not
 * used: the status is served by the HTTP listeners.
 *
 * Parsing is separate from running, so the rules are tested without brokers.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BROKER_ANSWER_TIMEOUT_MS, collectClusterStatus, formatClusterStatus, withoutInternalTopics } from './cluster-status.js';
import { bootstrapList, CLUSTER_NODES_MAX, formatHostPort, HTTP_PORT_OFFSET, planCluster, type ClusterNodePlan } from './cluster-plan.js';
import { ClusterStartError, ClusterSupervisor, indentedTail } from './cluster-supervisor.js';
import { choiceFlag, CommandFailure, expectPositionals, integerFlag, parseBootstrap, UsageError, type CommandContext } from './command-context.js';
import { allocateFreePorts } from './free-ports.js';
import { BROKER_WAIT_MS_MAX } from './limits.js';

export const CLUSTER_USAGE = [
  '  strata cluster up [--nodes N] [--data DIR] [--base-port PORT] [--host HOST] [--log-level LEVEL] [--timeout-ms T]',
  '                    (N brokers of one cluster on this machine until Ctrl-C; --base-port 0: free ports)',
  '  strata cluster status [--http HOST:PORT[,HOST:PORT...]] [--json] [--internal] [--timeout-ms T]',
].join('\n');

const UP_USAGE = 'strata cluster up [--nodes N] [--data DIR] [--base-port PORT] [--host HOST] [--log-level LEVEL] [--timeout-ms T]';
const STATUS_USAGE = 'strata cluster status [--http HOST:PORT[,HOST:PORT...]] [--json] [--internal] [--timeout-ms T]';

export const CLUSTER_UP_DEFAULTS = Object.freeze({
  nodes: 3,
  dataDir: '.strata-data',
  basePort: 7401,
  host: '127.0.0.1',
  logLevel: 'info',
  startTimeoutMs: 60_000,
});
/** Past the brokers' own shutdown grace (10 s), so a graceful stop is never cut short by us. */
const STOP_TIMEOUT_MS = 15_000;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const DEFAULT_STATUS_HTTP = '127.0.0.1:7481';

export type ClusterCommand =
  | { verb: 'up'; nodes: number; dataDir: string; basePort: number; host: string; logLevel: string; startTimeoutMs: number }
  | { verb: 'status'; http: string[]; json: boolean; internal: boolean; answerTimeoutMs: number };

/** Reads `strata cluster …`'s arguments; throws UsageError for anything it does not accept. */
export function parseClusterCommand(argv: readonly string[]): ClusterCommand {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      nodes: { type: 'string' },
      data: { type: 'string' },
      'base-port': { type: 'string' },
      host: { type: 'string' },
      'log-level': { type: 'string' },
      'timeout-ms': { type: 'string' },
      http: { type: 'string' },
      json: { type: 'boolean' },
      internal: { type: 'boolean' },
    },
  });
  const [verb, ...rest] = positionals;
  const onlyFor = (flag: keyof typeof values, forVerb: string) => {
    if (values[flag] !== undefined && verb !== forVerb) throw new UsageError(`--${flag} does not apply to 'cluster ${verb ?? ''}'`);
  };
  for (const flag of ['nodes', 'data', 'base-port', 'host', 'log-level'] as const) onlyFor(flag, 'up');
  for (const flag of ['http', 'json', 'internal'] as const) onlyFor(flag, 'status');
  switch (verb) {
    case 'up': {
      expectPositionals(rest, 0, UP_USAGE);
      const nodes = integerFlag('nodes', values.nodes, 1, CLUSTER_NODES_MAX) ?? CLUSTER_UP_DEFAULTS.nodes;
      const basePort = integerFlag('base-port', values['base-port'], 0, 65535 - HTTP_PORT_OFFSET - (nodes - 1)) ?? CLUSTER_UP_DEFAULTS.basePort;
      const host = values.host ?? CLUSTER_UP_DEFAULTS.host;
      if (host === '' || /[\s,@]/.test(host)) throw new UsageError(`--host must be a host name or address, got '${host}'`);
      const dataDir = values.data ?? CLUSTER_UP_DEFAULTS.dataDir;
      if (dataDir === '') throw new UsageError('--data must not be empty');
      const logLevel = choiceFlag('log-level', values['log-level'], LOG_LEVELS, 'info');
      const startTimeoutMs = integerFlag('timeout-ms', values['timeout-ms'], 1, 24 * 60 * 60 * 1000) ?? CLUSTER_UP_DEFAULTS.startTimeoutMs;
      return { verb, nodes, dataDir: path.resolve(dataDir), basePort, host, logLevel, startTimeoutMs };
    }
    case 'status': {
      expectPositionals(rest, 0, STATUS_USAGE);
      let http: string[];
      try {
        http = parseBootstrap(values.http ?? DEFAULT_STATUS_HTTP);
      } catch {
        throw new UsageError(`--http must be HOST:PORT[,HOST:PORT...], got '${values.http}'`);
      }
      const answerTimeoutMs = integerFlag('timeout-ms', values['timeout-ms'], 1, BROKER_WAIT_MS_MAX) ?? BROKER_ANSWER_TIMEOUT_MS;
      return { verb, http, json: values.json === true, internal: values.internal === true, answerTimeoutMs };
    }
    default:
      throw new UsageError(`unknown command 'cluster ${positionals.join(' ')}'; try up or status`);
  }
}

export async function runClusterCommand(argv: readonly string[], context: CommandContext): Promise<void> {
  const command = parseClusterCommand(argv);
  if (command.verb === 'status') {
    const everything = await collectClusterStatus(command.http, command.answerTimeoutMs);
    const { status, hidden } = command.internal ? { status: everything, hidden: 0 } : withoutInternalTopics(everything);
    context.stdout.write(`${command.json ? JSON.stringify(status) : formatClusterStatus(status, hidden)}\n`);
    return;
  }
  const { nodes, host, basePort, dataDir } = command;
  const freePorts = basePort === 0 ? await allocateFreePorts(host, 2 * nodes) : undefined;
  const plans = planCluster({ nodes, host, basePort, dataDir }, freePorts);
  return runCluster(plans, command.logLevel, command.startTimeoutMs, context);
}

/** The command line that runs this very `strata` (the same node flags, e.g. tsx's loader, and entry). */
function strataCommand(): [string, ...string[]] {
  const entry = process.argv[1];
  if (entry === undefined) throw new Error('cannot tell which script runs strata (process.argv[1] is unset)');
  return [process.execPath, ...process.execArgv, entry];
}

async function runCluster(plans: readonly ClusterNodePlan[], logLevel: string, startTimeoutMs: number, context: CommandContext): Promise<void> {
  const supervisor = new ClusterSupervisor({
    strataCommand: strataCommand(),
    plans,
    logLevel,
    stdout: context.stdout,
    stderr: context.stderr,
    startTimeoutMs,
    stopTimeoutMs: STOP_TIMEOUT_MS,
  });
  // First signal: stop gracefully. Second: kill at once.
  let signals = 0;
  const onSignal = (): void => {
    signals += 1;
    if (signals === 1) {
      context.stderr.write(`[cluster] stopping ${plans.length} brokers\n`);
      void supervisor.stop();
    } else supervisor.kill();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    let started: Awaited<ReturnType<ClusterSupervisor['start']>>;
    try {
      started = await supervisor.start();
    } catch (error) {
      if (!(error instanceof ClusterStartError)) throw error;
      if (error.nodeId !== null) context.stderr.write(`[cluster] broker ${error.nodeId}'s last stderr lines:\n${indentedTail(error.stderrTail)}\n`);
      throw new CommandFailure(`cluster did not come up: ${error.message}`);
    }
    if (started !== 'stopped') {
      context.stdout.write(
        [
          `[cluster] ${plans.length} brokers up, metadata leader ${started.metadataLeader}; Ctrl-C stops them`,
          `[cluster] bootstrap: ${bootstrapList(plans)}`,
          `[cluster] http: ${plans.map((p) => `${p.nodeId}=${formatHostPort(p.http)}`).join(' ')}`,
          `[cluster] dashboard: http://${formatHostPort(plans[0]!.http)}/ (every broker's http address serves it)`,
        ].join('\n') + '\n',
      );
    }
    await supervisor.closed;
    if (signals === 0) throw new CommandFailure('every broker of the cluster exited');
    context.stderr.write('[cluster] stopped\n');
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
