/**
 * The storage engine's errors. Each has a stable numeric code that never changes meaning or number;
 * where Kafka has the same error, the code is Kafka's, so the wire protocol's error table (which
 * includes these) reads the same as Kafka's to anyone who knows it.
 *
 * These are operating errors: the caller gets them, the process survives, and nothing stored is
 * harmed. A broken invariant is not one of these; it is an `assert` and a crash (see `invariant.ts`).
 */
export type LogErrorName =
  | 'OFFSET_OUT_OF_RANGE'
  | 'CORRUPT_MESSAGE'
  | 'MESSAGE_TOO_LARGE'
  | 'INVALID_RECORD'
  | 'INVALID_TIMESTAMP'
  | 'FENCED_LEADER_EPOCH'
  | 'UNSUPPORTED_COMPRESSION_TYPE'
  | 'KAFKA_STORAGE_ERROR'
  | 'LOG_CLOSED'
  | 'INVALID_CONFIG'
  | 'OUT_OF_ORDER_SEQUENCE_NUMBER'
  | 'INVALID_PRODUCER_EPOCH'
  | 'UNKNOWN_PRODUCER_ID'
  | 'INVALID_TXN_STATE';

/** Codes below 1000 are Kafka's own; Strata's additions start at 1000. */
export interface LogErrorInfo {
  readonly code: number;
  readonly name: LogErrorName;
  readonly retriable: boolean;
  readonly message: string;
}


export const LOG_ERRORS: Readonly<Record<LogErrorName, LogErrorInfo>> = Object.freeze({
  OFFSET_OUT_OF_RANGE: {
    code: 1, name: 'OFFSET_OUT_OF_RANGE', retriable: false,
    message: 'The requested offset is outside the range of offsets the log holds.',
  },
  CORRUPT_MESSAGE: {
    code: 2, name: 'CORRUPT_MESSAGE', retriable: true,
    message: 'The record batch failed its CRC or has an invalid size or header.',
  },
  MESSAGE_TOO_LARGE: {
    code: 10, name: 'MESSAGE_TOO_LARGE', retriable: false,
    message: 'The record batch is larger than the configured maximum.',
  },
  INVALID_RECORD: {
    code: 87, name: 'INVALID_RECORD', retriable: false,
    message: 'A record in the batch is malformed.',
  },
  INVALID_TIMESTAMP: {
    code: 32, name: 'INVALID_TIMESTAMP', retriable: false,
    message: 'A record timestamp is outside the range the batch or the topic allows.',
  },
  FENCED_LEADER_EPOCH: {
    code: 74, name: 'FENCED_LEADER_EPOCH', retriable: true,
    message: 'The leader epoch is older than the last one the log has appended.',
  },
  UNSUPPORTED_COMPRESSION_TYPE: {
    code: 76, name: 'UNSUPPORTED_COMPRESSION_TYPE', retriable: false,
    message: 'The batch uses a compression codec this build does not support.',
  },
  KAFKA_STORAGE_ERROR: {
    code: 56, name: 'KAFKA_STORAGE_ERROR', retriable: true,
    message: 'The log could not be read or written on disk.',
  },
  LOG_CLOSED: {
    code: 1001, name: 'LOG_CLOSED', retriable: true,
    message: 'The log is closed.',
  },
  INVALID_CONFIG: {
    code: 40, name: 'INVALID_CONFIG', retriable: false,
    message: 'The log configuration is invalid.',
  },
  OUT_OF_ORDER_SEQUENCE_NUMBER: {
    code: 45, name: 'OUT_OF_ORDER_SEQUENCE_NUMBER', retriable: false,
    message: 'The producer batch does not follow the last sequence number the partition has from this producer; nothing was appended.',
  },
  INVALID_PRODUCER_EPOCH: {
    code: 47, name: 'INVALID_PRODUCER_EPOCH', retriable: false,
    message: 'The producer epoch is older than the one the partition has for this producer id (a fenced instance).',
  },
  UNKNOWN_PRODUCER_ID: {
    code: 59, name: 'UNKNOWN_PRODUCER_ID', retriable: false,
    message: 'The partition has no state for this producer id (expired, or never written) and the batch does not start at sequence 0.',
  },
  INVALID_TXN_STATE: {
    code: 48, name: 'INVALID_TXN_STATE', retriable: false,
    message: 'The request does not fit the state of the producer\'s transaction (none is open, it is ending, or a non-transactional write came in the middle of one).',
  },
});

export class LogError extends Error {
  readonly code: number;
  readonly errorName: LogErrorName;
  readonly retriable: boolean;
  /** What this occurrence adds to the code's generic message, for callers that re-wrap it. */
  readonly detail: string | undefined;

  constructor(name: LogErrorName, detail?: string, options?: ErrorOptions) {
    const info = LOG_ERRORS[name];
    super(detail === undefined ? info.message : `${info.message} ${detail}`, options);
    this.detail = detail;
    this.name = 'LogError';
    this.code = info.code;
    this.errorName = name;
    this.retriable = info.retriable;
  }
}
