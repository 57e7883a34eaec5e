/**
 * The broker's logging: pino, JSON lines, one child logger per broker, connection, topic and
 * partition carrying those fields, so `grep '"topic":"orders"'` finds everything about a topic. An
 * error is logged with its numeric wire code and name (`errorCode`, `errorName`) as well as the
 * error itself, so logs and metrics share one vocabulary. Logging inside append and fetch is at
 * trace level only.
 */
import { pino, type Logger } from 'pino';
import { errorCodeOf, errorByCode } from '../client/protocol/index.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level?: string;
  /** Where JSON lines go; stdout by default. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const base = { level: options.level ?? 'info', base: { service: 'strata-broker' } };
  return options.destination === undefined ? pino(base) : pino(base, options.destination);
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
