/**
 * Per-log configuration: the type, frozen defaults (Kafka's where Kafka has the setting), and a parser
 * that checks ranges and relations and rejects unknown keys, so a typo in a topic's config is an
 * error and never a silently ignored setting.
 */
import { LogError } from './errors.js';
import {
  INDEX_BYTES_DEFAULT,
  INDEX_INTERVAL_BYTES_DEFAULT,
  MESSAGE_TIMESTAMP_AFTER_MAX_MS_DEFAULT,
  MAX_BATCH_BYTES_CEILING,
  MAX_BATCH_BYTES_DEFAULT,
  OFFSET_INDEX_ENTRY_BYTES,
  SEGMENT_BYTES_DEFAULT,
  SEGMENT_BYTES_MAX,
  SEGMENT_BYTES_MIN,
  TIME_INDEX_ENTRY_BYTES,
} from './limits.js';

/**
 * When appended bytes reach the disk:
 * - `always`: fsync before an append resolves; one fsync covers every append that arrived meanwhile
 *   (group commit). An acknowledged record survives power loss.
 * - `interval`: fsync every `flushIntervalMs`; appends resolve once written to the page cache.
 * - `never`: leave it to the OS (and to replication); segments are still fsynced when they roll.
 */
export type FlushPolicy = 'always' | 'interval' | 'never';

/** What to do with old data: delete whole segments by age/size, compact by key, or both. */
export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';

export interface LogConfig {
  /** Roll to a new segment before one would exceed this (Kafka `segment.bytes`). */
  readonly segmentBytes: number;
  /** Roll a segment whose first batch is older than this (Kafka `segment.ms`). */
  readonly segmentMs: number;
  /** Bytes appended between two sparse index entries (Kafka `index.interval.bytes`). */
  readonly indexIntervalBytes: number;
  /** Ceiling of each index file; a full index rolls the segment (Kafka `segment.index.bytes`). */
  readonly maxIndexBytes: number;
  /** Largest record batch accepted (Kafka `max.message.bytes`). */
  readonly maxBatchBytes: number;
  /** Delete segments whose newest record is older than this; -1 keeps them (Kafka `retention.ms`). */
  readonly retentionMs: number;
  /** Delete oldest segments while the log exceeds this; -1 means no limit (Kafka `retention.bytes`). */
  readonly retentionBytes: number;
  readonly cleanupPolicy: CleanupPolicy;
  /** How long a tombstone survives compaction (Kafka `delete.retention.ms`). */
  readonly deleteRetentionMs: number;
  readonly flushPolicy: FlushPolicy;
  /** Period of the `interval` flush policy. */
  readonly flushIntervalMs: number;
  /**
   * A leader refuses (INVALID_TIMESTAMP) a create-time record older than the broker's clock by more
   * than this (Kafka `message.timestamp.before.max.ms`; default unbounded, as Kafka's).
   */
  readonly messageTimestampBeforeMaxMs: number;
  /**
   * A leader refuses (INVALID_TIMESTAMP) a create-time record newer than the broker's clock by more
   * than this (Kafka `message.timestamp.after.max.ms`; default one hour, Kafka 4.0's).
   */
  readonly messageTimestampAfterMaxMs: number;
  /**
   * A producer id with no batch newer than this (by its batch timestamps) is forgotten by the
   * partition's producer state (Kafka's broker setting `producer.id.expiration.ms`, default one day);
   * its next batch must then start at sequence 0 (UNKNOWN_PRODUCER_ID otherwise).
   */
  readonly producerIdExpirationMs: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export const DEFAULT_LOG_CONFIG: LogConfig = Object.freeze({
  segmentBytes: SEGMENT_BYTES_DEFAULT,
  segmentMs: 7 * DAY_MS,
  indexIntervalBytes: INDEX_INTERVAL_BYTES_DEFAULT,
  maxIndexBytes: INDEX_BYTES_DEFAULT,
  maxBatchBytes: MAX_BATCH_BYTES_DEFAULT,
  retentionMs: 7 * DAY_MS,
  retentionBytes: -1,
  cleanupPolicy: 'delete',
  deleteRetentionMs: DAY_MS,
  flushPolicy: 'always',
  flushIntervalMs: 1000,
  messageTimestampBeforeMaxMs: Number.MAX_SAFE_INTEGER,
  messageTimestampAfterMaxMs: MESSAGE_TIMESTAMP_AFTER_MAX_MS_DEFAULT,
  producerIdExpirationMs: DAY_MS,
});

type Check = (value: unknown) => string | undefined;

const integerIn = (min: number, max: number): Check => (value) =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max
    ? undefined
    : `must be an integer from ${min} to ${max}`;

const oneOf = (...allowed: string[]): Check => (value) =>
  typeof value === 'string' && allowed.includes(value) ? undefined : `must be one of ${allowed.join(', ')}`;

const CHECKS: Readonly<Record<keyof LogConfig, Check>> = {
  segmentBytes: integerIn(SEGMENT_BYTES_MIN, SEGMENT_BYTES_MAX),
  segmentMs: integerIn(1, Number.MAX_SAFE_INTEGER),
  indexIntervalBytes: integerIn(0, SEGMENT_BYTES_MAX),
  maxIndexBytes: integerIn(OFFSET_INDEX_ENTRY_BYTES * TIME_INDEX_ENTRY_BYTES * 4, 2 ** 31 - 1),
  maxBatchBytes: integerIn(61, MAX_BATCH_BYTES_CEILING),
  retentionMs: integerIn(-1, Number.MAX_SAFE_INTEGER),
  retentionBytes: integerIn(-1, Number.MAX_SAFE_INTEGER),
  cleanupPolicy: oneOf('delete', 'compact', 'compact,delete'),
  deleteRetentionMs: integerIn(0, Number.MAX_SAFE_INTEGER),
  flushPolicy: oneOf('always', 'interval', 'never'),
  flushIntervalMs: integerIn(1, Number.MAX_SAFE_INTEGER),
  messageTimestampBeforeMaxMs: integerIn(0, Number.MAX_SAFE_INTEGER),
  messageTimestampAfterMaxMs: integerIn(0, Number.MAX_SAFE_INTEGER),
  producerIdExpirationMs: integerIn(1, Number.MAX_SAFE_INTEGER),
};

/**
 * Builds a config from `overrides` on top of the defaults. Throws `LogError('INVALID_CONFIG')` that
 * names the key and the rule it breaks: unknown key, wrong type or range.
 */
export function parseLogConfig(overrides: unknown = {}): LogConfig {
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    throw new LogError('INVALID_CONFIG', 'log config must be an object');
  }
  const config: Record<string, unknown> = { ...DEFAULT_LOG_CONFIG };
  for (const [key, value] of Object.entries(overrides)) {
    const check = CHECKS[key as keyof LogConfig] as Check | undefined;
    if (check === undefined) {
      throw new LogError('INVALID_CONFIG', `unknown key '${key}'; known keys: ${Object.keys(CHECKS).join(', ')}`);
    }
    const problem = check(value);
    if (problem !== undefined) throw new LogError('INVALID_CONFIG', `'${key}' ${problem}, got ${JSON.stringify(value)}`);
    config[key] = value;
  }
  // A batch larger than segmentBytes is allowed: it gets a segment of its own, as in Kafka.
  const result = config as unknown as LogConfig;
  return Object.freeze(result);
}
