/**
 * The one error table of the wire protocol, shared by broker and client: every error a request can
 * fail with has a stable numeric code, a name, a retriable flag and a message.
 *
 * - Codes below 1000 are Apache Kafka's, with Kafka's names, where Kafka has the error, so logs and
 *   metrics read the same to anyone who knows Kafka. Strata's own codes start at 1001.
 * - The storage engine's `LOG_ERRORS` are included exactly as `log/` defines them (spread in, not
 *   copied), so a `LogError` becomes a wire code without translation.
 * - A code is never reused or renumbered; a retired error keeps its row. `errors.test.ts` checks that
 *   codes are unique, names match keys, and every `LOG_ERRORS` entry is here unchanged.
 *
 * `retriable` means the same request may succeed if sent again later (possibly to another broker,
 * after refreshing metadata); the client's retry loop reads it, nothing else does.
 */
import { LOG_ERRORS, LogError } from '../../log/index.js';

export interface ErrorInfo {
  readonly code: number;
  readonly name: string;
  readonly retriable: boolean;
  readonly message: string;
}

function entry<N extends string>(code: number, name: N, retriable: boolean, message: string) {
  return { code, name, retriable, message } as const satisfies ErrorInfo;
}

export const ERRORS = Object.freeze({
  ...LOG_ERRORS,
  NONE: entry(0, 'NONE', false, 'No error.'),
  UNKNOWN_SERVER_ERROR: entry(-1, 'UNKNOWN_SERVER_ERROR', false,
    'The broker hit an unexpected error while processing the request.'),
  UNKNOWN_TOPIC_OR_PARTITION: entry(3, 'UNKNOWN_TOPIC_OR_PARTITION', true,
    'This broker does not host this topic-partition.'),
  LEADER_NOT_AVAILABLE: entry(5, 'LEADER_NOT_AVAILABLE', true,
    'The partition has no leader right now (an election is in progress).'),
  NOT_LEADER_OR_FOLLOWER: entry(6, 'NOT_LEADER_OR_FOLLOWER', true,
    'This broker is not the leader of the partition; see the leader hint.'),
  REQUEST_TIMED_OUT: entry(7, 'REQUEST_TIMED_OUT', true, 'The request timed out.'),
  OFFSET_METADATA_TOO_LARGE: entry(12, 'OFFSET_METADATA_TOO_LARGE', false,
    'The metadata string of a committed offset is longer than the broker allows.'),
  NETWORK_EXCEPTION: entry(13, 'NETWORK_EXCEPTION', true,
    'The connection was lost or could not be established before a response was read.'),
  COORDINATOR_LOAD_IN_PROGRESS: entry(14, 'COORDINATOR_LOAD_IN_PROGRESS', true,
    'The coordinator is loading the group\'s state from its log; retry shortly.'),
  COORDINATOR_NOT_AVAILABLE: entry(15, 'COORDINATOR_NOT_AVAILABLE', true,
    'The group coordinator is not available (its offsets partition has no leader).'),
  NOT_COORDINATOR: entry(16, 'NOT_COORDINATOR', true,
    'This broker is not the coordinator of the group; find the coordinator again.'),
  INVALID_TOPIC_EXCEPTION: entry(17, 'INVALID_TOPIC_EXCEPTION', false,
    'The topic name is invalid (1-249 characters of [a-zA-Z0-9._-], not "." or "..").'),
  NOT_ENOUGH_REPLICAS: entry(19, 'NOT_ENOUGH_REPLICAS', true,
    'Fewer in-sync replicas than required; the batch was not appended.'),
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: entry(20, 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', true,
    'The batch was appended but fewer in-sync replicas than required acknowledged it.'),
  INVALID_REQUIRED_ACKS: entry(21, 'INVALID_REQUIRED_ACKS', false, 'acks must be 0, 1 or -1 (all).'),
  INVALID_GROUP_ID: entry(24, 'INVALID_GROUP_ID', false,
    'The group id is empty or longer than 249 characters.'),
  UNKNOWN_MEMBER_ID: entry(25, 'UNKNOWN_MEMBER_ID', false,
    'The coordinator does not know this member (it left, or missed its session timeout); join again.'),
  INVALID_SESSION_TIMEOUT: entry(26, 'INVALID_SESSION_TIMEOUT', false,
    'The session timeout is outside the range the broker allows.'),
  UNSUPPORTED_VERSION: entry(35, 'UNSUPPORTED_VERSION', false,
    'The broker does not support this api key or version.'),
  TOPIC_ALREADY_EXISTS: entry(36, 'TOPIC_ALREADY_EXISTS', false, 'The topic already exists.'),
  INVALID_PARTITIONS: entry(37, 'INVALID_PARTITIONS', false, 'The number of partitions is invalid.'),
  INVALID_REPLICATION_FACTOR: entry(38, 'INVALID_REPLICATION_FACTOR', false,
    'The replication factor is invalid or larger than the number of brokers.'),
  NOT_CONTROLLER: entry(41, 'NOT_CONTROLLER', true, 'This broker is not the cluster controller.'),
  INVALID_REQUEST: entry(42, 'INVALID_REQUEST', false,
    'The request is malformed: its header or body could not be decoded.'),
  INVALID_PRODUCER_ID_MAPPING: entry(49, 'INVALID_PRODUCER_ID_MAPPING', false,
    'The producer id is not the one the coordinator holds for this transactional id.'),
  INVALID_TRANSACTION_TIMEOUT: entry(50, 'INVALID_TRANSACTION_TIMEOUT', false,
    'The transaction timeout is outside the range the broker allows.'),
  CONCURRENT_TRANSACTIONS: entry(51, 'CONCURRENT_TRANSACTIONS', true,
    'The coordinator is still completing this producer\'s previous transaction; retry shortly.'),
  TRANSACTION_COORDINATOR_FENCED: entry(52, 'TRANSACTION_COORDINATOR_FENCED', false,
    'The marker comes from a coordinator older than the one the partition has heard from.'),
  NON_EMPTY_GROUP: entry(68, 'NON_EMPTY_GROUP', false,
    'The group has members; stop them first (delete and offset reset need an empty group).'),
  GROUP_ID_NOT_FOUND: entry(69, 'GROUP_ID_NOT_FOUND', false, 'The group does not exist.'),
  GROUP_MAX_SIZE_REACHED: entry(81, 'GROUP_MAX_SIZE_REACHED', false,
    'The group already has as many members as the broker allows.'),
  PRODUCER_FENCED: entry(90, 'PRODUCER_FENCED', false,
    'A newer producer with the same transactional id has taken over; this one must stop.'),
  TRANSACTIONAL_ID_NOT_FOUND: entry(105, 'TRANSACTIONAL_ID_NOT_FOUND', false,
    'The coordinator has no state for this transactional id.'),
  FENCED_MEMBER_EPOCH: entry(110, 'FENCED_MEMBER_EPOCH', false,
    'The member epoch is not the one the coordinator gave; give up all partitions and join again.'),
  UNSUPPORTED_ASSIGNOR: entry(112, 'UNSUPPORTED_ASSIGNOR', false,
    'The server-side assignor is unknown (use "sticky" or "range").'),
  STALE_MEMBER_EPOCH: entry(113, 'STALE_MEMBER_EPOCH', false,
    'The member epoch of the commit is newer than the member\'s; heartbeat first.'),
  // Strata's own. 1001 is the storage engine's LOG_CLOSED (from LOG_ERRORS).
  FRAME_TOO_LARGE: entry(1002, 'FRAME_TOO_LARGE', false,
    'The frame is longer than the receiver\'s maxFrameBytes; the connection is closed.'),
  TOO_MANY_CONNECTIONS: entry(1003, 'TOO_MANY_CONNECTIONS', true,
    'The broker is at its connection limit.'),
  BROKER_SHUTTING_DOWN: entry(1004, 'BROKER_SHUTTING_DOWN', true, 'The broker is shutting down.'),
  INVALID_RESPONSE: entry(1005, 'INVALID_RESPONSE', true,
    'The response is malformed: its header or body could not be decoded; the connection is closed.'),
  PARTITION_NOT_ASSIGNED: entry(1006, 'PARTITION_NOT_ASSIGNED', false,
    'The member does not own this partition in the group\'s assignment; its commit is refused.'),
});

export type ErrorName = keyof typeof ERRORS;

const BY_CODE: ReadonlyMap<number, ErrorInfo> = new Map(Object.values(ERRORS).map((e) => [e.code, e]));

export function errorByCode(code: number): ErrorInfo | undefined {
  return BY_CODE.get(code);
}

export function errorByName(name: string): ErrorInfo | undefined {
  return Object.hasOwn(ERRORS, name) ? ERRORS[name as ErrorName] : undefined;
}

export interface StrataErrorOptions extends ErrorOptions {
  /** For NOT_LEADER_OR_FOLLOWER: the node id the broker believes leads the partition. */
  leaderHint?: number;
}

/**
 * An operating error with a wire code: the broker answers with `code`, the client rejects with this.
 * A code missing from the table (a newer broker) keeps its number and reads as a non-retriable
 * UNKNOWN_SERVER_ERROR.
 */
export class StrataError extends Error {
  readonly code: number;
  readonly errorName: ErrorName;
  readonly retriable: boolean;
  declare readonly leaderHint?: number;

  constructor(name: ErrorName, detail?: string, options?: StrataErrorOptions) {
    const info: ErrorInfo = ERRORS[name];
    super(detail === undefined ? info.message : `${info.message} ${detail}`, options);
    this.name = 'StrataError';
    this.code = info.code;
    this.errorName = name;
    this.retriable = info.retriable;
    if (options?.leaderHint !== undefined) this.leaderHint = options.leaderHint;
  }

  /** The error for a code read off the wire. */
  static fromCode(code: number, detail?: string, options?: StrataErrorOptions): StrataError {
    const info = errorByCode(code);
    if (info !== undefined) return new StrataError(info.name as ErrorName, detail, options);
    const error = new StrataError('UNKNOWN_SERVER_ERROR', `Unknown error code ${code}.${detail === undefined ? '' : ` ${detail}`}`, options);
    (error as { code: number }).code = code;
    return error;
  }
}

/** A frame or message that cannot be decoded or is not allowed; the connection may be closed. */
export class ProtocolError extends StrataError {
  constructor(name: ErrorName, detail?: string, options?: StrataErrorOptions) {
    super(name, detail, options);
    this.name = 'ProtocolError';
  }
}

/** A frame's length is above the receiver's `maxFrameBytes`; thrown before any of it is buffered. */
export class FrameTooLargeError extends ProtocolError {
  readonly frameBytes: number;
  readonly maxFrameBytes: number;

  constructor(frameBytes: number, maxFrameBytes: number) {
    super('FRAME_TOO_LARGE', `Frame of ${frameBytes} bytes, limit ${maxFrameBytes}.`);
    this.name = 'FrameTooLargeError';
    this.frameBytes = frameBytes;
    this.maxFrameBytes = maxFrameBytes;
  }
}

/**
 * The wire code for anything a handler threw: StrataError and LogError carry their own; anything else
 * is a bug and answers UNKNOWN_SERVER_ERROR (the broker should log it).
 */
export function errorCodeOf(error: unknown): number {
  if (error instanceof StrataError || error instanceof LogError) return error.code;
  return ERRORS.UNKNOWN_SERVER_ERROR.code;
}
