/**
 * The broker's logging: pino, one child logger per broker, connection, topic and partition carrying
 * those fields, so `grep '"topic":"orders"'` finds everything about a topic. An error is logged with
 * its numeric wire code and name (`errorCode`, `errorName`) as well as the error itself, so logs and
 * metrics share one vocabulary. Logging inside append and fetch is at trace level only.
 *
 * Notable events are one line each with an `event` field and the facts as fields, never prose to
 * parse: `election_started`, `election_won`, `leader_changed`, `leader_stepped_down`, `segment_rolled`, `retention_deleted`,
 * `log_recovered`, `group_rebalanced` (broker/README.md lists their fields).
 *
 * Two formats: JSON lines (for machines, and the default off a terminal) and `pretty` — pino-pretty,
 * one short coloured line per entry, for a person at a terminal. `chooseLogFormat` decides from the
 * destination and an explicit choice (`--log-format`, `STRATA_LOG_FORMAT`).
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { errorCodeOf, errorByCode } from '../client/protocol/index.js';

export type { Logger } from 'pino';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  level?: string;
  /** Where lines go; stdout by default. */
  destination?: NodeJS.WritableStream;
  /** `json` by default. */
  format?: LogFormat;
}

/**
 * `pretty` when `destination` is a terminal, `json` otherwise; an explicit `choice` (a flag or an
 * environment variable, either may be unset) wins. A choice that is not a format is an error naming
 * the formats.
 */
export function chooseLogFormat(destination: { readonly isTTY?: boolean }, choice: string | undefined): LogFormat {
  if (choice === undefined || choice === '') return destination.isTTY === true ? 'pretty' : 'json';
  if (!(LOG_FORMATS as readonly string[]).includes(choice)) throw new Error(`log format must be ${LOG_FORMATS.join(' or ')}, got '${choice}'`);
  return choice as LogFormat;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const base = { level: options.level ?? 'info', base: { service: 'strata-broker' } };
  if (options.format !== 'pretty') return options.destination === undefined ? pino(base) : pino(base, options.destination);
  const destination = options.destination ?? process.stdout;
  // Synchronous, so a line is out before a crash; the fields every line carries are left out.
  const pretty: DestinationStream = pinoPretty({
    destination,
    sync: true,
    colorize: (destination as { isTTY?: boolean }).isTTY === true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
  });
  return pino(base, pretty);
}

/** A logger that writes nothing (tests, embedded brokers that did not ask for logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export function brokerLogger(parent: Logger, nodeId: number): Logger {
  return parent.child({ nodeId });
}

export function topicLogger(parent: Logger, topic: string): Logger {
  return parent.child({ topic });
}

export function partitionLogger(parent: Logger, topic: string, partition: number): Logger {
  return parent.child({ topic, partition });
}

/** The fields to log with an error: its wire code and name, and the error (pino's `err`). */
export function errorFields(error: unknown): { errorCode: number; errorName: string; err: unknown } {
  const errorCode = errorCodeOf(error);
  return { errorCode, errorName: errorByCode(errorCode)?.name ?? 'UNKNOWN', err: error };
}
