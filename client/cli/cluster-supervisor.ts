/**
 * The brokers of `strata cluster up` as child processes: started together, their output passed
 * through line by line under a `[node i]` prefix, watched until every one is ready and the cluster has
 * a metadata leader, stopped together.
 *
 * Lifecycle: `start()` spawns every broker and resolves once each printed its ready line and one of
 * them reports a metadata leader at `GET /v1/cluster`, or rejects with a `ClusterStartError` naming
 * the broker that did not come up (after stopping the others) when one exits first or the deadline
 * passes. After that, a broker that exits on its own is reported (id, exit code or signal, the tail
 * of its stderr) and the others keep running; `closed` resolves once none is left. `stop()` sends
 * SIGTERM to every broker still running, waits for them up to `stopTimeoutMs`, then SIGKILLs the
 * rest; `kill()` SIGKILLs at once. A stop during `start()` makes it resolve 'stopped'.
 *
 * Concurrency: one event loop; child events only set fields that the start loop and `stop` read.
 * The clock and the sleep between polls are injected.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fetchClusterView } from './cluster-view.js';
import { brokerStartArgs, formatHostPort, type ClusterNodePlan } from './cluster-plan.js';

/** Bytes of each broker's stderr kept for the report of its failure. */
const STDERR_TAIL_BYTES = 16 * 1024;
/** Lines of that tail a report shows. */
const STDERR_TAIL_LINES = 10;
/** How often the start loop looks at the brokers. */
const START_POLL_MS = 100;
/** The wait for one broker's `/v1/cluster` while looking for the metadata leader. */
const LEADER_PROBE_TIMEOUT_MS = 1000;

/** `strata broker start`'s ready line (broker/main.ts). */
const READY_LINE = /^strata broker (\d+) listening on /;

export interface ClusterSupervisorOptions {
  /** How to run `strata`: the program and its first arguments (`[node, ...execArgv, cli.js]`). */
  readonly strataCommand: readonly [string, ...string[]];
  readonly plans: readonly ClusterNodePlan[];
  /** Passed to every broker as `--log-level`. */
  readonly logLevel: string;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** From spawning to "every broker ready and a metadata leader known". */
  readonly startTimeoutMs: number;
  /** From SIGTERM to SIGKILL. */
  readonly stopTimeoutMs: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** A cluster that did not come up; `nodeId` is the broker to blame, when there is one. */
export class ClusterStartError extends Error {
  readonly nodeId: number | null;
  readonly stderrTail: string;
  constructor(message: string, nodeId: number | null, stderrTail: string) {
    super(message);
    this.name = 'ClusterStartError';
    this.nodeId = nodeId;
    this.stderrTail = stderrTail;
  }
}

interface RunningBroker {
  readonly plan: ClusterNodePlan;
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly exited: Promise<void>;
  ready: boolean;
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
  stderrTail: string;
}

export class ClusterSupervisor {
  /** Resolves once no broker is left running, whether stopped or exited on their own. */
  readonly closed: Promise<void>;
  private readonly options: ClusterSupervisorOptions;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly brokers: RunningBroker[] = [];
  private started = false;
  private stopping: Promise<void> | undefined;
  private resolveClosed: () => void = () => undefined;

  constructor(options: ClusterSupervisorOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  /** Starts every broker; see the file header. Resolves with the metadata leader, or 'stopped'. */
  async start(): Promise<{ metadataLeader: number } | 'stopped'> {
    if (this.brokers.length > 0) throw new Error('ClusterSupervisor.start called twice');
    const { plans, logLevel, strataCommand } = this.options;
    // Each broker makes its own data dir (`strata broker start` says in one line why it cannot); a
    // broker that exits fails the start below, which stops the others. No mkdir here: Node's
    // recursive mkdir never returns under /proc, and would block this process's signal handlers.
    for (const plan of plans) this.brokers.push(this.spawnBroker(plan, [...strataCommand.slice(1), ...brokerStartArgs(plan, plans, logLevel)]));
    const deadline = this.now() + this.options.startTimeoutMs;
    let lastProbe = 'no broker asked yet';
    for (;;) {
      if (this.stopping !== undefined) return 'stopped';
      const dead = this.brokers.find((b) => b.exit !== null);
      if (dead !== undefined) return this.failStart(`broker ${dead.plan.nodeId} (${formatHostPort(dead.plan.listen)}) ${describeExit(dead.exit!)} before ${dead.ready ? 'the cluster had a metadata leader' : 'it was ready'}`, dead);
      if (this.brokers.every((b) => b.ready)) {
        const probe = await this.probeMetadataLeader();
        // A broker that died while we asked fails the start on the next turn (it was not reported).
        if (typeof probe === 'number' && this.brokers.every((b) => b.exit === null)) {
          this.started = true;
          return { metadataLeader: probe };
        }
        if (typeof probe === 'string') lastProbe = probe;
      }
      if (this.now() >= deadline) {
        const late = this.brokers.find((b) => !b.ready);
        if (late !== undefined) return this.failStart(`broker ${late.plan.nodeId} (${formatHostPort(late.plan.listen)}) did not print its ready line within ${this.options.startTimeoutMs} ms`, late);
        return this.failStart(`no broker reported a metadata leader within ${this.options.startTimeoutMs} ms (${lastProbe})`, undefined);
      }
      await this.sleep(START_POLL_MS);
    }
  }

  /** SIGTERM to every broker still running, SIGKILL to those still running `stopTimeoutMs` later. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const running = this.brokers.filter((b) => b.exit === null);
      for (const broker of running) broker.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const allExited = Promise.all(running.map((b) => b.exited)).then(() => true);
      const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.options.stopTimeoutMs)));
      const inTime = await Promise.race([allExited, timedOut]);
      clearTimeout(timer);
      if (!inTime) {
        for (const broker of running.filter((b) => b.exit === null)) {
          this.options.stderr.write(`[cluster] broker ${broker.plan.nodeId} did not stop within ${this.options.stopTimeoutMs} ms; killing it\n`);
          broker.child.kill('SIGKILL');
        }
        await allExited;
      }
    })();
    return this.stopping;
  }

  /** The process id of broker `nodeId` while it runs. */
  pidOf(nodeId: number): number | undefined {
    const broker = this.brokers.find((b) => b.plan.nodeId === nodeId);
    return broker === undefined || broker.exit !== null ? undefined : broker.child.pid;
  }

  /** SIGKILL to every broker still running (a second Ctrl-C). */
  kill(): void {
    for (const broker of this.brokers) if (broker.exit === null) broker.child.kill('SIGKILL');
  }

  private spawnBroker(plan: ClusterNodePlan, args: string[]): RunningBroker {
    const child = spawn(this.options.strataCommand[0], args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let markExited: () => void = () => undefined;
    const broker: RunningBroker = { plan, child, exited: new Promise((resolve) => (markExited = resolve)), ready: false, exit: null, stderrTail: '' };
    const prefix = `[node ${plan.nodeId}] `;
    passLines(child.stdout, (line) => {
      const ready = READY_LINE.exec(line);
      if (ready !== null && Number(ready[1]) === plan.nodeId) broker.ready = true;
      this.options.stdout.write(`${prefix}${line}\n`);
    });
    passLines(child.stderr, (line) => {
      broker.stderrTail = `${broker.stderrTail}${line}\n`.slice(-STDERR_TAIL_BYTES);
      this.options.stderr.write(`${prefix}${line}\n`);
    });
    child.on('error', (error) => {
      broker.stderrTail += `spawn failed: ${error.message}\n`;
      if (broker.exit === null) this.onExit(broker, { code: null, signal: null }, markExited);
    });
    // 'close' rather than 'exit': the last stderr lines are in by then.
    child.on('close', (code, signal) => this.onExit(broker, { code, signal }, markExited));
    return broker;
  }

  private onExit(broker: RunningBroker, exit: NonNullable<RunningBroker['exit']>, markExited: () => void): void {
    if (broker.exit !== null) return;
    broker.exit = exit;
    markExited();
    if (this.started && this.stopping === undefined) {
      const left = this.brokers.filter((b) => b.exit === null).length;
      this.options.stderr.write(
        `[cluster] broker ${broker.plan.nodeId} ${describeExit(exit)} unexpectedly; ${left} still running. Its last stderr lines:\n${indentedTail(broker.stderrTail)}\n`,
      );
    }
    if (this.brokers.every((b) => b.exit !== null)) this.resolveClosed();
  }

  /** The metadata leader one ready broker reports once every broker registered, or a description of what they answered. */
  private async probeMetadataLeader(): Promise<number | string> {
    const answers = await Promise.all(
      this.brokers.map(async ({ plan }) => {
        try {
          const view = await fetchClusterView(formatHostPort(plan.http), LEADER_PROBE_TIMEOUT_MS);
          // Up means a leader and every broker registered with it (topics can then be placed on all).
          const registered = view.brokers.length >= this.brokers.length;
          const said = view.metadataLeader === null ? `no leader in term ${view.metadataTerm}` : `${view.brokers.length} of ${this.brokers.length} brokers registered`;
          return { nodeId: plan.nodeId, leader: registered ? view.metadataLeader : null, said: `broker ${plan.nodeId}: ${said}` };
        } catch (error) {
          return { nodeId: plan.nodeId, leader: null, said: `broker ${plan.nodeId}: ${(error as Error).message}` };
        }
      }),
    );
    const known = answers.find((a) => a.leader !== null);
    return known?.leader ?? answers.map((a) => a.said).join('; ');
  }

  private async failStart(message: string, broker: RunningBroker | undefined): Promise<never> {
    await this.stop();
    throw new ClusterStartError(message, broker?.plan.nodeId ?? null, broker?.stderrTail ?? '');
  }
}

/** Calls `onLine` with each complete line of `stream` (and a last one without its newline). */
function passLines(stream: Readable, onLine: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) onLine(line);
  });
  stream.on('end', () => {
    if (partial !== '') onLine(partial);
    partial = '';
  });
}

function describeExit({ code, signal }: NonNullable<RunningBroker['exit']>): string {
  if (signal !== null) return `was killed by ${signal}`;
  if (code !== null) return `exited with code ${code}`;
  return 'could not be started';
}

/** The last lines of a stderr tail, indented, for a report. */
export function indentedTail(stderrTail: string): string {
  const lines = stderrTail.split('\n').filter((l) => l !== '').slice(-STDERR_TAIL_LINES);
  return lines.length === 0 ? '  (nothing on stderr)' : lines.map((l) => `  ${l}`).join('\n');
}
