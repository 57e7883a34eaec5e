/**
 * The internal topic `__transaction_state`: which of its partitions holds a transactional id, and the
 * record a transaction's state is stored as.
 *
 * A transactional id lives in partition `abs(javaHashCode(transactionalId)) % partitions` (Kafka's
 * `TransactionStateManager.partitionFor`, the same rule as groups), so the leader of that partition
 * is the id's transaction coordinator. The count is read back from the topic, never from the config.
 *
 * One record per state change; the topic is compacted, so it keeps about one per transactional id.
 * JSON, readable with `strata log dump --records`:
 *
 * ```
 * key   [1, transactionalId]                                         (key version, id)
 * value {"version":1,"producerId","producerEpoch","transactionTimeoutMs","state",
 *        "partitions":[[topic, partition], …],"transactionStartTimeMs","lastUpdateTimeMs"}
 * ```
 *
 * A record that does not parse is a TransactionRecordError: the loader logs and skips it, never
 * guesses at it.
 */
import type { RecordInput } from '../../log/index.js';
import { offsetsPartitionFor } from '../group/offsets-topic.js';
import { PRODUCER_EPOCH_MAX } from '../producer-id-manager.js';
import { TRANSACTION_STATES, type TransactionMetadata, type TransactionState, type TxnPartition } from './transaction-metadata.js';

export const TRANSACTION_KEY_VERSION = 1;
export const TRANSACTION_VALUE_VERSION = 1;

/** Topic configs of `__transaction_state` (Kafka's `transaction.state.log.*`: compacted, 100 MiB segments; flush `always` by default). */
export const TRANSACTION_STATE_TOPIC_CONFIGS: Readonly<Record<string, string>> = Object.freeze({
  'cleanup.policy': 'compact',
  'segment.bytes': String(100 * 1024 * 1024),
});

/** The `__transaction_state` partition of a transactional id (the groups' rule over this topic). */
export function transactionStatePartitionFor(transactionalId: string, partitions: number): number {
  return offsetsPartitionFor(transactionalId, partitions);
}

export class TransactionRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransactionRecordError';
  }
}

export function encodeTransactionRecord(metadata: TransactionMetadata): RecordInput & { key: string; value: string } {
  const key = JSON.stringify([TRANSACTION_KEY_VERSION, metadata.transactionalId]);
  const value = JSON.stringify({
    version: TRANSACTION_VALUE_VERSION,
    producerId: metadata.producerId,
    producerEpoch: metadata.producerEpoch,
    transactionTimeoutMs: metadata.transactionTimeoutMs,
    state: metadata.state,
    partitions: metadata.partitions.map(({ topic, partition }) => [topic, partition]),
    transactionStartTimeMs: metadata.transactionStartTimeMs,
    lastUpdateTimeMs: metadata.lastUpdateTimeMs,
  });
  return { key, value };
}

/** The transactional id of a record's key; throws TransactionRecordError for anything else. */
function decodeKey(key: Buffer | null): string {
  if (key === null) throw new TransactionRecordError('record without a key');
  let parsed: unknown;
  try {
    parsed = JSON.parse(key.toString('utf8'));
  } catch {
    throw new TransactionRecordError(`key is not JSON: ${key.toString('utf8').slice(0, 80)}`);
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || parsed[0] !== TRANSACTION_KEY_VERSION || typeof parsed[1] !== 'string' || parsed[1].length === 0) {
    throw new TransactionRecordError(`unknown key ${key.toString('utf8').slice(0, 80)}`);
  }
  return parsed[1];
}

/**
 * Parses a record of `__transaction_state`: the id's state, or `metadata` undefined for a tombstone
 * (the id was removed). Throws TransactionRecordError for anything else.
 */
export function decodeTransactionRecord(key: Buffer | null, value: Buffer | null): { transactionalId: string; metadata: TransactionMetadata | undefined } {
  const transactionalId = decodeKey(key);
  if (value === null) return { transactionalId, metadata: undefined };
  const bad = (what: string) => new TransactionRecordError(`value of ${transactionalId}: ${what}`);
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw bad('not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || parsed['version'] !== TRANSACTION_VALUE_VERSION) throw bad(`unknown version ${JSON.stringify(parsed?.['version'])}`);
  const { producerId, producerEpoch, transactionTimeoutMs, state, partitions, transactionStartTimeMs, lastUpdateTimeMs } = parsed;
  const isInt = (n: unknown, min: number, max = Number.MAX_SAFE_INTEGER): n is number => Number.isSafeInteger(n) && (n as number) >= min && (n as number) <= max;
  if (!isInt(producerId, 0)) throw bad('producerId is not an id');
  if (!isInt(producerEpoch, 0, PRODUCER_EPOCH_MAX)) throw bad('producerEpoch is not an epoch');
  if (!isInt(transactionTimeoutMs, 1, 2 ** 31 - 1)) throw bad('transactionTimeoutMs is not a timeout');
  if (typeof state !== 'string' || !(TRANSACTION_STATES as readonly string[]).includes(state)) throw bad(`unknown state ${JSON.stringify(state)}`);
  if (!isInt(transactionStartTimeMs, -1) || !isInt(lastUpdateTimeMs, 0)) throw bad('times are not times');
  if (!Array.isArray(partitions)) throw bad('partitions is not a list');
  const decoded: TxnPartition[] = partitions.map((entry: unknown) => {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string' || !isInt(entry[1], 0, 2 ** 31 - 1)) throw bad(`partition ${JSON.stringify(entry)}`);
    return { topic: entry[0], partition: entry[1] };
  });
  return {
    transactionalId,
    metadata: {
      transactionalId,
      producerId,
      producerEpoch,
      transactionTimeoutMs,
      state: state as TransactionState,
      partitions: decoded,
      transactionStartTimeMs,
      lastUpdateTimeMs,
    },
  };
}
