/**
 * What every `strata` client command is given: the bootstrap brokers, the three standard streams, and
 * the rules for reading flags. Commands take their streams from here instead of `process`, so the
 * same code runs under the real command and in-process.
 *
 * Bad input throws `UsageError`; `main.ts` turns it, like any other error, into one line on stderr
 * and a non-zero exit.
 */
import { Client } from '../index.js';

export interface CommandContext {
  /** Bootstrap brokers, `host:port` each (`--bootstrap`, `STRATA_BOOTSTRAP`, or 127.0.0.1:7401). */
  readonly brokers: readonly string[];
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export const DEFAULT_BOOTSTRAP = '127.0.0.1:7401';

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

/** A client for one command; the command closes it. The CLI gives up sooner than a service would. */
export function createClient(context: CommandContext): Client {
  return new Client({ brokers: [...context.brokers], clientId: 'strata-cli', connectTimeoutMs: 5000 });
}

/** Runs `body` with a client and always closes it. */
export async function withClient<T>(context: CommandContext, body: (client: Client) => Promise<T>): Promise<T> {
  const client = createClient(context);
  try {
    return await body(client);
  } finally {
    await client.close();
  }
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
