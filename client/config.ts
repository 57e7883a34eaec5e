/**
 * The client library's options: their types, frozen defaults, and parsers that check ranges and
 * reject unknown keys with a clear message (a misspelt `lingerMS` must not silently mean 5 ms).
 */
import type { TopicPartition } from './topic-partitions.js';
import {
  AUTO_COMMIT_INTERVAL_MS_MAX,
  BATCH_SIZE_BYTES_MAX,
  FETCH_MAX_BYTES_MAX,
  GROUP_ID_MAX_CHARS,
  INT32_MAX,
  LINGER_MS_MAX,
  IDEMPOTENT_MAX_IN_FLIGHT_MAX,
  PRODUCER_MAX_IN_FLIGHT_MAX,
  REBALANCE_TIMEOUT_MS_MAX,
  RETRIES_MAX,
  SESSION_TIMEOUT_MS_MAX,
  SESSION_TIMEOUT_MS_MIN,
  UINT32_MAX,
} from './limits.js';
import { DEFAULT_RETRY, type RetryOptions } from './retry.js';

export interface ClientConfig {
  /** Bootstrap brokers, `host:port`. Any one reachable broker is enough; metadata names the rest. */
  brokers: readonly string[];
  clientId?: string;
  /** Default 30 s. */
  requestTimeoutMs?: number;
  /** Default 10 s. */
  connectTimeoutMs?: number;
  /** How long cached metadata is trusted without an error saying otherwise. Default 5 min (Kafka's). */
  metadataMaxAgeMs?: number;
  retry?: Partial<RetryOptions>;
}

export type Acks = 0 | 1 | -1 | 'all';

export interface ProducerConfig {
  /** Default -1 (all in-sync replicas). */
  acks?: Acks;
  /**
   * How long a batch waits for more records. Default: 5 ms, except for an idempotent producer,
   * which batches adaptively when `lingerMs` is not given: a partition's batch leaves at once while
   * fewer than `maxInFlight` of its batches are in flight, and records accumulate behind them once
   * that many are (`adaptiveBatching` in the resolved config).
   */
  lingerMs?: number;
  /** A batch is sent once it holds this many (uncompressed, estimated) bytes. Default 16 KiB. */
  batchSize?: number;
  compression?: 'none' | 'lz4';
  /** Produce requests in flight per broker connection. Default 5. */
  maxInFlight?: number;
  /** Retries of a batch that failed retriably. Default: the client's `retry.retries`. */
  retries?: number;
  /** Bytes of records waiting or in flight; `send` waits when full. Default 32 MiB. */
  bufferMemory?: number;
  /** The broker's wait for acks before it answers with REQUEST_TIMED_OUT. Default 30 s. */
  timeoutMs?: number;
  /**
   * Idempotent producer (Kafka's `enable.idempotence`): batches carry a producer id, epoch and
   * sequence numbers, the partition leader drops a retry it already has, and up to `maxInFlight`
   * (at most 5) batches per partition travel at once, still in order. Default: on when acks is
   * all (-1) and `maxInFlight` ≤ 5, as in Kafka 3+; `true` with acks 0 or 1, or with `maxInFlight`
   * above 5, is a configuration error; `false` keeps one batch per partition in flight, and a
   * retry may then duplicate a batch.
   */
  idempotent?: boolean;
  /**
   * How long a batch may take from its first record's `send` to its answer, retries included, before
   * its sends fail with REQUEST_TIMED_OUT (Kafka's `delivery.timeout.ms`, default 2 minutes). Applies
   * to batches waiting in the producer (no leader known, backing off before a retry); a request in
   * flight ends by its own timeout first.
   */
  deliveryTimeoutMs?: number;
  /**
   * Told when an idempotent producer bumps a partition's epoch after a sequence error it cannot
   * repair (the batch that caused it fails, and is named in `reason`). Default: a Node process
   * warning (`process.emitWarning`, code STRATA_PRODUCER_EPOCH_BUMP).
   */
  onEpochBump?: (event: EpochBump) => void;
  /**
   * Makes the producer transactional (Kafka's `transactional.id`): its sends go inside
   * `producer.transaction()` and become visible to read_committed consumers together on commit. One
   * live producer per id: a new one fences the previous (`transaction-manager.ts`). Needs idempotence
   * (`idempotent: false` is refused).
   */
  transactionalId?: string;
  /** How long a transaction may stay open before the coordinator aborts it. Default 60 s (kafkajs's). */
  transactionTimeoutMs?: number;
}

export interface EpochBump {
  topic: string;
  partition: number;
  producerId: number;
  epoch: number;
  reason: string;
}

export interface ConsumerConfig {
  /** Bytes of one fetch response. Default 50 MiB (Kafka's fetch.max.bytes). */
  maxBytes?: number;
  /** Bytes per partition in one fetch. Default 1 MiB. */
  maxBytesPerPartition?: number;
  /** Long-poll wait of a fetch. Default 500 ms. */
  maxWaitMs?: number;
  /** Bytes the broker waits for before answering early. Default 1. */
  minBytes?: number;
  /** Where an assigned partition without a `seek` starts. Default 'latest' (Kafka's). */
  initialOffset?: 'earliest' | 'latest';
  /**
   * 'read_committed' (the default, as kafkajs's): only records of committed transactions and
   * non-transactional ones, fetched up to the last stable offset, and 'latest' is that offset.
   * 'read_uncommitted': every record up to the high watermark, aborted transactions included.
   * Transaction markers are never delivered either way.
   */
  isolation?: Isolation;
  /** The consumer group; required by `subscribe`, `commit` and the options below. */
  groupId?: string;
  /** Commit finished offsets every `autoCommitIntervalMs`, on revoke and on close. Default true. */
  autoCommit?: boolean;
  /** Default 5 s. */
  autoCommitIntervalMs?: number;
  /** The coordinator removes a member it has not heard from for this long. Default 10 s. */
  sessionTimeoutMs?: number;
  /** Heartbeat long-poll interval. Default: what the coordinator answers. Used up to a third of `sessionTimeoutMs`. */
  heartbeatIntervalMs?: number;
  /** How long a revocation waits for the application to finish the message in hand. Default 30 s. */
  rebalanceTimeoutMs?: number;
  /** Server-side assignor; the first member to name one sets the group's. Default: the group's (sticky). */
  assignor?: 'sticky' | 'range';
  /** Called once newly assigned partitions are positioned (before their records are handed out). */
  onAssigned?: (partitions: TopicPartition[]) => void | Promise<void>;
  /**
   * Called when partitions are given up: 'revoked' (a rebalance or close; their finished offsets are
   * committed first when `autoCommit`, and `consumer.commit()` still works inside the callback), or
   * 'lost' (fenced or past the session timeout: another member may own them already; nothing can be
   * committed).
   */
  onRevoked?: (partitions: TopicPartition[], reason: 'revoked' | 'lost') => void | Promise<void>;
}

export type Isolation = 'read_committed' | 'read_uncommitted';

export interface ResolvedClientConfig {
  brokers: ReadonlyArray<{ host: string; port: number }>;
  clientId: string;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  metadataMaxAgeMs: number;
  retry: RetryOptions;
}

export interface ResolvedProducerConfig {
  acks: 0 | 1 | -1;
  lingerMs: number;
  batchSize: number;
  compression: 'none' | 'lz4';
  maxInFlight: number;
  retries: number;
  bufferMemory: number;
  timeoutMs: number;
  idempotent: boolean;
  onEpochBump: (event: EpochBump) => void;
  deliveryTimeoutMs: number;
  /** Idempotent without a `lingerMs`: batches leave at once while their partition has room in flight. */
  adaptiveBatching: boolean;
  /** undefined: not transactional. */
  transactionalId: string | undefined;
  transactionTimeoutMs: number;
}

export interface ResolvedConsumerConfig {
  maxBytes: number;
  maxBytesPerPartition: number;
  maxWaitMs: number;
  minBytes: number;
  initialOffset: 'earliest' | 'latest';
  isolation: Isolation;
  groupId: string | undefined;
  autoCommit: boolean;
  autoCommitIntervalMs: number;
  sessionTimeoutMs: number;
  /** undefined: the coordinator's. */
  heartbeatIntervalMs: number | undefined;
  rebalanceTimeoutMs: number;
  /** undefined: the group's current assignor ('' on the wire). */
  assignor: 'sticky' | 'range' | undefined;
  onAssigned: ((partitions: TopicPartition[]) => void | Promise<void>) | undefined;
  onRevoked: ((partitions: TopicPartition[], reason: 'revoked' | 'lost') => void | Promise<void>) | undefined;
}

export const PRODUCER_DEFAULTS = Object.freeze({
  acks: -1,
  lingerMs: 5,
  batchSize: 16 * 1024,
  compression: 'none',
  maxInFlight: 5,
  bufferMemory: 32 * 1024 * 1024,
  timeoutMs: 30_000,
  deliveryTimeoutMs: 120_000,
  transactionTimeoutMs: 60_000,
} as const);

export const CONSUMER_DEFAULTS: Readonly<ResolvedConsumerConfig> = Object.freeze({
  maxBytes: 50 * 1024 * 1024,
  maxBytesPerPartition: 1024 * 1024,
  maxWaitMs: 500,
  minBytes: 1,
  initialOffset: 'latest',
  isolation: 'read_committed',
  groupId: undefined,
  autoCommit: true,
  autoCommitIntervalMs: 5000,
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: undefined,
  rebalanceTimeoutMs: 30_000,
  assignor: undefined,
  onAssigned: undefined,
  onRevoked: undefined,
});

const CONSUMER_OPTIONS = [
  'maxBytes', 'maxBytesPerPartition', 'maxWaitMs', 'minBytes', 'initialOffset', 'isolation',
  'groupId', 'autoCommit', 'autoCommitIntervalMs', 'sessionTimeoutMs', 'heartbeatIntervalMs', 'rebalanceTimeoutMs',
  'assignor', 'onAssigned', 'onRevoked',
] as const;
const GROUP_ONLY_OPTIONS = CONSUMER_OPTIONS.slice(CONSUMER_OPTIONS.indexOf('autoCommit'));

function rejectUnknown(what: string, config: object, known: readonly string[]): void {
  const unknown = Object.keys(config).filter((key) => !known.includes(key));
  if (unknown.length > 0) throw new TypeError(`${what}: unknown option ${unknown.map((k) => `'${k}'`).join(', ')}; known: ${known.join(', ')}`);
}

function int(what: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

export function parseAddress(address: string): { host: string; port: number } {
  const match = /^(.*):(\d+)$/.exec(address);
  if (match === null || match[1] === '') throw new TypeError(`broker address '${address}' is not host:port`);
  const host = match[1]!.replace(/^\[(.*)\]$/, '$1');
  return { host, port: int(`port of '${address}'`, Number(match[2]), 1, 65535) };
}

export function parseClientConfig(config: ClientConfig): ResolvedClientConfig {
  rejectUnknown('Client', config, ['brokers', 'clientId', 'requestTimeoutMs', 'connectTimeoutMs', 'metadataMaxAgeMs', 'retry']);
  if (!Array.isArray(config.brokers) || config.brokers.length === 0) throw new TypeError('Client: brokers must list at least one host:port');
  const retry = { ...DEFAULT_RETRY, ...(config.retry ?? {}) };
  rejectUnknown('Client retry', retry, ['retries', 'initialRetryTimeMs', 'maxRetryTimeMs']);
  int('retry.retries', retry.retries, 0, RETRIES_MAX);
  int('retry.initialRetryTimeMs', retry.initialRetryTimeMs, 0);
  int('retry.maxRetryTimeMs', retry.maxRetryTimeMs, retry.initialRetryTimeMs);
  return {
    brokers: config.brokers.map(parseAddress),
    clientId: config.clientId ?? 'strata',
    requestTimeoutMs: int('requestTimeoutMs', config.requestTimeoutMs ?? 30_000, 1),
    connectTimeoutMs: int('connectTimeoutMs', config.connectTimeoutMs ?? 10_000, 1),
    metadataMaxAgeMs: int('metadataMaxAgeMs', config.metadataMaxAgeMs ?? 5 * 60_000, 0),
    retry,
  };
}

export function parseProducerConfig(config: ProducerConfig, retry: RetryOptions): ResolvedProducerConfig {
  rejectUnknown('producer', config, ['acks', 'lingerMs', 'batchSize', 'compression', 'maxInFlight', 'retries', 'bufferMemory', 'timeoutMs', 'idempotent', 'onEpochBump', 'deliveryTimeoutMs', 'transactionalId', 'transactionTimeoutMs']);
  const transactionalId = config.transactionalId;
  if (transactionalId !== undefined && (typeof transactionalId !== 'string' || transactionalId === '')) throw new TypeError('producer: transactionalId must be a non-empty string');
  if (transactionalId !== undefined && config.idempotent === false) {
    throw new RangeError(`producer: a transactional producer (transactionalId '${transactionalId}') is idempotent; idempotent: false cannot go with a transactionalId`);
  }
  if (transactionalId === undefined && config.transactionTimeoutMs !== undefined) throw new TypeError("producer: 'transactionTimeoutMs' needs a transactionalId");
  const acks = config.acks ?? PRODUCER_DEFAULTS.acks;
  if (acks !== 0 && acks !== 1 && acks !== -1 && acks !== 'all') throw new RangeError(`producer: acks must be 0, 1, -1 or 'all', got ${String(acks)}`);
  const compression = config.compression ?? PRODUCER_DEFAULTS.compression;
  if (compression !== 'none' && compression !== 'lz4') throw new RangeError(`producer: compression must be 'none' or 'lz4', got ${String(compression)}`);
  const batchSize = int('producer batchSize', config.batchSize ?? PRODUCER_DEFAULTS.batchSize, 1, BATCH_SIZE_BYTES_MAX);
  const resolvedAcks = acks === 'all' ? -1 : acks;
  const maxInFlight = int('producer maxInFlight', config.maxInFlight ?? PRODUCER_DEFAULTS.maxInFlight, 1, PRODUCER_MAX_IN_FLIGHT_MAX);
  if (config.idempotent !== undefined && typeof config.idempotent !== 'boolean') throw new TypeError(`producer: idempotent must be a boolean, got ${String(config.idempotent)}`);
  const mustBeIdempotent = config.idempotent === true || transactionalId !== undefined;
  if (mustBeIdempotent && resolvedAcks !== -1) {
    throw new RangeError(`producer: idempotent needs acks 'all' (-1), got acks ${String(acks)}; set idempotent: false to use acks 0 or 1`);
  }
  if (mustBeIdempotent && maxInFlight > IDEMPOTENT_MAX_IN_FLIGHT_MAX) {
    throw new RangeError(`producer: an idempotent producer keeps at most ${IDEMPOTENT_MAX_IN_FLIGHT_MAX} batches in flight per partition, got maxInFlight ${maxInFlight}`);
  }
  const idempotent = mustBeIdempotent || (config.idempotent ?? (resolvedAcks === -1 && maxInFlight <= IDEMPOTENT_MAX_IN_FLIGHT_MAX));
  return {
    acks: resolvedAcks,
    lingerMs: int('producer lingerMs', config.lingerMs ?? PRODUCER_DEFAULTS.lingerMs, 0, LINGER_MS_MAX),
    batchSize,
    compression,
    maxInFlight,
    retries: int('producer retries', config.retries ?? retry.retries, 0, RETRIES_MAX),
    bufferMemory: int('producer bufferMemory', config.bufferMemory ?? PRODUCER_DEFAULTS.bufferMemory, batchSize),
    timeoutMs: int('producer timeoutMs', config.timeoutMs ?? PRODUCER_DEFAULTS.timeoutMs, 1, UINT32_MAX),
    idempotent,
    onEpochBump: optionalFunction('producer onEpochBump', config.onEpochBump) ?? warnEpochBump,
    deliveryTimeoutMs: int('producer deliveryTimeoutMs', config.deliveryTimeoutMs ?? PRODUCER_DEFAULTS.deliveryTimeoutMs, 1, UINT32_MAX),
    adaptiveBatching: idempotent && config.lingerMs === undefined,
    transactionalId,
    transactionTimeoutMs: int('producer transactionTimeoutMs', config.transactionTimeoutMs ?? PRODUCER_DEFAULTS.transactionTimeoutMs, 1, INT32_MAX),
  };
}

function warnEpochBump(event: EpochBump): void {
  process.emitWarning(`producer ${event.producerId}: ${event.topic}-${event.partition} moved to epoch ${event.epoch}: ${event.reason}`, { code: 'STRATA_PRODUCER_EPOCH_BUMP' });
}

function optionalFunction<F>(what: string, value: F | undefined): F | undefined {
  if (value !== undefined && typeof value !== 'function') throw new TypeError(`${what} must be a function`);
  return value;
}

export function parseConsumerConfig(config: ConsumerConfig): ResolvedConsumerConfig {
  rejectUnknown('consumer', config, CONSUMER_OPTIONS);
  const groupId = config.groupId;
  if (groupId !== undefined && (typeof groupId !== 'string' || groupId.length === 0 || groupId.length > GROUP_ID_MAX_CHARS)) {
    throw new RangeError(`consumer: groupId must be a string of 1 to ${GROUP_ID_MAX_CHARS} characters`);
  }
  if (groupId === undefined) {
    const groupOnly = GROUP_ONLY_OPTIONS.filter((key) => config[key] !== undefined);
    if (groupOnly.length > 0) throw new TypeError(`consumer: ${groupOnly.map((k) => `'${k}'`).join(', ')} need a groupId`);
  }
  if (config.autoCommit !== undefined && typeof config.autoCommit !== 'boolean') throw new TypeError('consumer: autoCommit must be a boolean');
  const assignor = config.assignor;
  if (assignor !== undefined && assignor !== 'sticky' && assignor !== 'range') throw new RangeError(`consumer: assignor must be 'sticky' or 'range'`);
  const sessionTimeoutMs = int('consumer sessionTimeoutMs', config.sessionTimeoutMs ?? CONSUMER_DEFAULTS.sessionTimeoutMs, SESSION_TIMEOUT_MS_MIN, SESSION_TIMEOUT_MS_MAX);
  const heartbeatIntervalMs = config.heartbeatIntervalMs === undefined
    ? undefined
    : int('consumer heartbeatIntervalMs (below sessionTimeoutMs)', config.heartbeatIntervalMs, 1, sessionTimeoutMs - 1);
  const initialOffset = config.initialOffset ?? CONSUMER_DEFAULTS.initialOffset;
  if (initialOffset !== 'earliest' && initialOffset !== 'latest') throw new RangeError(`consumer: initialOffset must be 'earliest' or 'latest'`);
  const isolation = config.isolation ?? CONSUMER_DEFAULTS.isolation;
  if (isolation !== 'read_committed' && isolation !== 'read_uncommitted') throw new RangeError(`consumer: isolation must be 'read_committed' or 'read_uncommitted', got ${String(isolation)}`);
  const maxBytes = int('consumer maxBytes', config.maxBytes ?? CONSUMER_DEFAULTS.maxBytes, 1, FETCH_MAX_BYTES_MAX);
  return {
    maxBytes,
    maxBytesPerPartition: int('consumer maxBytesPerPartition', config.maxBytesPerPartition ?? CONSUMER_DEFAULTS.maxBytesPerPartition, 1, FETCH_MAX_BYTES_MAX),
    maxWaitMs: int('consumer maxWaitMs', config.maxWaitMs ?? CONSUMER_DEFAULTS.maxWaitMs, 0, UINT32_MAX),
    minBytes: int('consumer minBytes', config.minBytes ?? CONSUMER_DEFAULTS.minBytes, 0, UINT32_MAX),
    initialOffset,
    isolation,
    groupId,
    autoCommit: config.autoCommit ?? CONSUMER_DEFAULTS.autoCommit,
    autoCommitIntervalMs: int('consumer autoCommitIntervalMs', config.autoCommitIntervalMs ?? CONSUMER_DEFAULTS.autoCommitIntervalMs, 1, AUTO_COMMIT_INTERVAL_MS_MAX),
    sessionTimeoutMs,
    heartbeatIntervalMs,
    rebalanceTimeoutMs: int('consumer rebalanceTimeoutMs', config.rebalanceTimeoutMs ?? CONSUMER_DEFAULTS.rebalanceTimeoutMs, 0, REBALANCE_TIMEOUT_MS_MAX),
    assignor,
    onAssigned: optionalFunction('consumer onAssigned', config.onAssigned),
    onRevoked: optionalFunction('consumer onRevoked', config.onRevoked),
  };
}
