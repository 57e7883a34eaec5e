/**
 * What every `strata` client command is given: the bootstrap brokers, the three standard streams, and
 * the rules for reading flags. Commands take their streams from here instead of `process`, so the
 * same code runs under the real command and in-process.
 *
 * Bad input throws `UsageError`; `main.ts` turns it, like any other error, into one line on stderr
 * and a non-zero exit.
 *
 * Every client command first reaches a broker (`reachBroker`): it tries the bootstrap brokers until
 * one answers ApiVersions, for at most the command's `--timeout-ms` (30 s unless told), and then fails
 * with one line naming the addresses it could not reach. Without that the client's retries (per
 * request, per metadata refresh, per reconnect) add up to minutes of silence.
 */
import { Client, StrataError } from '../index.js';
import { API_KEYS } from '../protocol/index.js';
import { BROKER_WAIT_MS_DEFAULT, BROKER_WAIT_MS_MAX } from './limits.js';

export interface CommandContext {
  /** Bootstrap brokers, `host:port` each (`--bootstrap`, `STRATA_BOOTSTRAP`, or 127.0.0.1:7401). */
  readonly brokers: readonly string[];
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export const DEFAULT_BOOTSTRAP = '127.0.0.1:7401';

/** The exit code of a command stopped by SIGINT before it had anything to finish (128 + SIGINT). */
export const INTERRUPTED_EXIT_CODE = 130;

/** A command that failed and says with which exit code (1 unless told). */
export class CommandFailure extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CommandFailure';
    this.exitCode = exitCode;
  }
}

/** Bad flags or arguments: the user's mistake, reported without a stack. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parses `HOST:PORT[,HOST:PORT...]`. */
export function parseBootstrap(value: string): string[] {
  const brokers = value.split(',').map((b) => b.trim()).filter((b) => b.length > 0);
  if (brokers.length === 0) throw new UsageError(`--bootstrap needs at least one HOST:PORT, got '${value}'`);
  for (const broker of brokers) {
    const match = /^(?:\[[^\]]+\]|[^:]+):(\d+)$/.exec(broker);
    if (match === null || Number(match[1]) < 1 || Number(match[1]) > 65535) throw new UsageError(`--bootstrap: '${broker}' is not HOST:PORT`);
  }
  return brokers;
}

/** A connect attempt gives up after this long (or the command's wait, if shorter). */
const CONNECT_TIMEOUT_MS = 5000;

/** A client for one command; the command closes it. The CLI gives up sooner than a service would. */
export function createClient(context: CommandContext, waitMs = BROKER_WAIT_MS_DEFAULT): Client {
  return new Client({ brokers: [...context.brokers], clientId: 'strata-cli', connectTimeoutMs: Math.min(CONNECT_TIMEOUT_MS, waitMs) });
}

/** Why a connect failed, shortly: `connect ECONNREFUSED 127.0.0.1:7401`, not the wire error's prose. */
function connectFailure(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Waits until some bootstrap broker answers (ApiVersions), for at most `waitMs`; then fails with a
 * `CommandFailure` naming the brokers. A broker that answers with an error is reached: that error is
 * the command's. The pool's reconnect backoff paces the attempts. An abort of `interrupt` (the
 * command's SIGINT/SIGTERM handler) ends the wait at once with a `CommandFailure` exiting 130.
 */
export async function reachBroker(client: Client, brokers: readonly string[], waitMs: number, interrupt?: AbortSignal): Promise<void> {
  let lastError: unknown;
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  const attempts = (async () => {
    while (!done) {
      try {
        await client.cluster.requestAnyOnce(API_KEYS.apiVersions, {});
        return;
      } catch (error) {
        if (!(error instanceof StrataError) || error.errorName !== 'NETWORK_EXCEPTION') throw error;
        lastError = error;
      }
    }
  })();
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const which = brokers.length === 1 ? `broker ${brokers[0]}` : `any broker of ${brokers.join(', ')}`;
      const why = lastError === undefined ? 'no answer' : connectFailure(lastError);
      reject(new CommandFailure(`cannot reach ${which} within ${waitMs} ms (${why})`));
    }, waitMs);
  });
  let onAbort: (() => void) | undefined;
  const interrupted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new CommandFailure(`interrupted while waiting for ${brokers.length === 1 ? `broker ${brokers[0]}` : 'a broker'}`, INTERRUPTED_EXIT_CODE));
    if (interrupt?.aborted === true) onAbort();
    else interrupt?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([attempts, deadline, interrupted]);
  } finally {
    done = true;
    clearTimeout(timer);
    if (onAbort !== undefined) interrupt?.removeEventListener('abort', onAbort);
    interrupted.catch(() => undefined);
    // The attempt still running ends with the client's close; nobody waits for it.
    attempts.catch(() => undefined);
  }
}

/** Runs `body` with a client that reached a broker within `waitMs`, and always closes it. */
export async function withClient<T>(context: CommandContext, body: (client: Client) => Promise<T>, waitMs = BROKER_WAIT_MS_DEFAULT): Promise<T> {
  const client = createClient(context, waitMs);
  try {
    await reachBroker(client, context.brokers, waitMs);
    return await body(client);
  } finally {
    await client.close();
  }
}

/** `--timeout-ms` of a command that has no other use for it: how long to wait for a broker. */
export function brokerWaitFlag(value: string | undefined): number {
  return integerFlag('timeout-ms', value, 1, BROKER_WAIT_MS_MAX) ?? BROKER_WAIT_MS_DEFAULT;
}

/** An integer flag in [min, max]; undefined when the flag was not given. */
export function integerFlag(name: string, value: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer${max === Number.MAX_SAFE_INTEGER ? ` of at least ${min}` : ` from ${min} to ${max}`}, got '${value}'`);
  }
  return n;
}

/** A flag that must be one of `choices`. */
export function choiceFlag<T extends string>(name: string, value: string | undefined, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`--${name} must be ${choices.join(' or ')}, got '${value}'`);
  return value as T;
}

/** `--acks 0|1|all` (and -1, Kafka's spelling of all). */
export function acksFlag(value: string | undefined): 0 | 1 | -1 {
  const acks = choiceFlag('acks', value, ['0', '1', 'all', '-1'], 'all');
  return acks === '0' ? 0 : acks === '1' ? 1 : -1;
}

/** Exactly `count` positionals after the command words, or a one-line UsageError quoting the usage. */
export function expectPositionals(positionals: readonly string[], count: number, usage: string): string[] {
  if (positionals.length !== count) {
    const got = positionals.length === 0 ? 'nothing' : `'${positionals.join(' ')}'`;
    throw new UsageError(`usage: ${usage} (got ${got})`);
  }
  return [...positionals];
}
