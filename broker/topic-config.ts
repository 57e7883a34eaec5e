/**
 * A topic's configuration, as Kafka names it: string keys and string values (`retention.ms` =
 * `"86400000"`), translated to the storage engine's `LogConfig`. Unknown keys and bad values are
 * rejected with INVALID_CONFIG naming the key, so a typo is an error and never a silently ignored
 * setting. A topic stores only the keys it overrides; the broker's defaults fill in the rest when
 * its logs open, as in Kafka.
 *
 * `flush.policy` (`always` | `interval` | `never`) is Strata's own: Kafka has only the interval.
 */
import { LogError, parseLogConfig, type LogConfig } from '../log/index.js';
import { StrataError } from '../client/protocol/index.js';

export type TopicConfigs = Readonly<Record<string, string>>;

type Parse = (value: string) => unknown;

const integer: Parse = (value) => {
  if (!/^-?\d+$/.test(value.trim())) throw new Error('must be an integer');
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error('is out of range');
  return n;
};

const word: Parse = (value) => value.trim();

/** Kafka accepts either order of a combined policy; the log knows one spelling. */
const cleanupPolicy: Parse = (value) => {
  const parts = value.split(',').map((p) => p.trim()).filter((p) => p.length > 0).sort();
  return parts.join(',');
};

/** Kafka's name → the log's field and how to read the string. */
const KEYS: Readonly<Record<string, { field: keyof LogConfig; parse: Parse }>> = Object.freeze({
  'segment.bytes': { field: 'segmentBytes', parse: integer },
  'segment.ms': { field: 'segmentMs', parse: integer },
  'segment.index.bytes': { field: 'maxIndexBytes', parse: integer },
  'index.interval.bytes': { field: 'indexIntervalBytes', parse: integer },
  'max.message.bytes': { field: 'maxBatchBytes', parse: integer },
  'retention.ms': { field: 'retentionMs', parse: integer },
  'retention.bytes': { field: 'retentionBytes', parse: integer },
  'cleanup.policy': { field: 'cleanupPolicy', parse: cleanupPolicy },
  'delete.retention.ms': { field: 'deleteRetentionMs', parse: integer },
  'flush.policy': { field: 'flushPolicy', parse: word },
  'flush.interval.ms': { field: 'flushIntervalMs', parse: integer },
  'message.timestamp.before.max.ms': { field: 'messageTimestampBeforeMaxMs', parse: integer },
  'message.timestamp.after.max.ms': { field: 'messageTimestampAfterMaxMs', parse: integer },
  'producer.id.expiration.ms': { field: 'producerIdExpirationMs', parse: integer },
});

export const TOPIC_CONFIG_KEYS: readonly string[] = Object.freeze(Object.keys(KEYS));

function invalid(message: string): StrataError {
  return new StrataError('INVALID_CONFIG', message);
}

/**
 * Checks `configs` (a topic's overrides, or the broker's defaults) and returns them as they will be
 * stored. Throws StrataError INVALID_CONFIG naming the first bad key.
 */
export function parseTopicConfigs(configs: unknown): TopicConfigs {
  if (typeof configs !== 'object' || configs === null || Array.isArray(configs)) throw invalid('topic configs must be an object of strings');
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(configs)) {
    if (!Object.hasOwn(KEYS, key)) throw invalid(`unknown topic config '${key}'; known keys: ${TOPIC_CONFIG_KEYS.join(', ')}`);
    if (typeof value !== 'string') throw invalid(`topic config '${key}' must be a string, got ${JSON.stringify(value)}`);
    result[key] = value;
  }
  toLogConfig(result);
  return Object.freeze(result);
}

/**
 * The log configuration of a topic: the broker's defaults, then the topic's overrides, checked by
 * the log's own parser (ranges). Throws StrataError INVALID_CONFIG naming the Kafka key.
 */
export function toLogConfig(overrides: TopicConfigs, defaults: TopicConfigs = {}): LogConfig {
  const merged = { ...defaults, ...overrides };
  const fields: Record<string, unknown> = {};
  const keyOfField = new Map<string, string>();
  for (const [key, value] of Object.entries(merged)) {
    const spec = KEYS[key];
    if (spec === undefined) throw invalid(`unknown topic config '${key}'; known keys: ${TOPIC_CONFIG_KEYS.join(', ')}`);
    try {
      fields[spec.field] = spec.parse(value);
    } catch (error) {
      throw invalid(`topic config '${key}' ${(error as Error).message}, got ${JSON.stringify(value)}`);
    }
    keyOfField.set(spec.field, key);
  }
  try {
    return parseLogConfig(fields);
  } catch (error) {
    if (!(error instanceof LogError)) throw error;
    // The log names its own field; say it in the topic's words.
    let message = error.detail ?? error.message;
    for (const [field, key] of keyOfField) message = message.replaceAll(`'${field}'`, `topic config '${key}'`);
    throw invalid(message);
  }
}
