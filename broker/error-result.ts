/**
 * How a handler turns a failure into the fields of a per-partition (or per-topic) result. Operating
 * errors (StrataError, LogError) keep their own code and are logged at debug; anything else is a bug
 * somewhere, answers UNKNOWN_SERVER_ERROR and is logged at error level with its code. A broken
 * invariant is rethrown: the process must stop rather than carry on (ARCHITECTURE.md).
 */
import { InvariantViolation, LogError } from '../log/index.js';
import { ERRORS, StrataError, type ErrorName } from '../client/protocol/index.js';
import { errorFields, type Logger } from './logger.js';

export interface ErrorResult {
  readonly errorCode: number;
  readonly errorMessage: string;
  readonly leaderHint: number;
}

export function errorResult(error: unknown, logger: Logger, what: string): ErrorResult {
  if (error instanceof InvariantViolation) throw error;
  if (error instanceof StrataError || error instanceof LogError) {
    logger.debug(errorFields(error), `${what} failed`);
    const leaderHint = error instanceof StrataError ? (error.leaderHint ?? -1) : -1;
    return { errorCode: error.code, errorMessage: error.message, leaderHint };
  }
  logger.error(errorFields(error), `${what} failed unexpectedly`);
  return { errorCode: ERRORS.UNKNOWN_SERVER_ERROR.code, errorMessage: ERRORS.UNKNOWN_SERVER_ERROR.message, leaderHint: -1 };
}

/** The result fields of a named error, for answers that are decided without throwing. */
export function namedError(name: ErrorName, detail?: string): ErrorResult {
  const info = ERRORS[name];
  return { errorCode: info.code, errorMessage: detail === undefined ? info.message : `${info.message} ${detail}`, leaderHint: -1 };
}
