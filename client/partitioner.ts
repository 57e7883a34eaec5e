/**
 * Which partition a produced record goes to. Pure functions plus one small piece of state (the
 * sticky choice per topic), as Kafka's Java producer does it since 2.4:
 *
 * - an explicit `partition` wins;
 * - a keyed record goes to `(murmur2(keyBytes) & 0x7fffffff) % numPartitions`, byte for byte what
 *   Kafka's Java client and kafkajs's `DefaultPartitioner` (formerly `JavaCompatiblePartitioner`)
 *   compute, so a Strata producer and a Kafka producer put the same key on the same partition;
 * - a record without a key sticks to one partition per topic until a batch for that partition is
 *   sent, then moves to another one chosen at random (KIP-480): batches fill up instead of each
 *   keyless record opening a batch of its own on a different partition.
 *
 * Keys given as strings hash over their UTF-8 bytes (kafkajs does the same).
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const R = 24;

/**
 * MurmurHash2, 32 bit, as Kafka's `Utils.murmur2`: the result is a signed int32. `Math.imul` gives
 * exactly Java's wrapping 32-bit multiplication, and `>>>` is Java's `>>>`.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  // The tail: Java's switch falls through from case 3 to case 1.
  const tail = length & ~3;
  const rest = length % 4;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not the absolute value). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

export function keyBytes(key: Buffer | string): Buffer {
  return typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
}

/** The partition of a keyed record. */
export function partitionForKey(key: Buffer | string, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions < 1) throw new RangeError(`numPartitions ${numPartitions}`);
  return toPositive(murmur2(keyBytes(key))) % numPartitions;
}

export interface PartitionerInput {
  topic: string;
  key?: Buffer | string | null | undefined;
  partition?: number | undefined;
  numPartitions: number;
  /** Partitions that have a leader; keyless records prefer them. Default: all. */
  availablePartitions?: readonly number[];
}

export interface Partitioner {
  /** The partition for one record. */
  partition(input: PartitionerInput): number;
  /**
   * The producer calls this when it sends a batch for `partition` of `topic`, and when a keyless
   * record would open a new batch there (the sticky batch is full: Kafka's `onNewBatch`): if keyless
   * records were sticking to that partition, they move to another one.
   */
  onBatchSent(topic: string, partition: number, numPartitions: number): void;
}

export interface StickyPartitionerOptions {
  /** A number in [0, 1); injected so tests are deterministic. Default Math.random. */
  random?: () => number;
}

/** The default partitioner: explicit partition, else murmur2 of the key, else sticky (KIP-480). */
export function createStickyPartitioner(options: StickyPartitionerOptions = {}): Partitioner {
  const random = options.random ?? Math.random;
  const sticky = new Map<string, number>();

  function choose(topic: string, numPartitions: number, available: readonly number[] | undefined, previous: number | undefined): number {
    const candidates = available !== undefined && available.length > 0 ? available : undefined;
    const count = candidates?.length ?? numPartitions;
    let choice: number;
    if (count === 1) {
      choice = candidates?.[0] ?? 0;
    } else {
      // Never pick the partition just sent to again when there is another choice (as Kafka).
      do {
        const i = Math.floor(random() * count);
        choice = candidates?.[i] ?? i;
      } while (choice === previous);
    }
    sticky.set(topic, choice);
    return choice;
  }

  return {
    partition(input) {
      const { topic, numPartitions } = input;
      if (input.partition !== undefined) {
        if (!Number.isInteger(input.partition) || input.partition < 0 || input.partition >= numPartitions) {
          throw new RangeError(`partition ${input.partition} of topic ${topic} does not exist (${numPartitions} partitions)`);
        }
        return input.partition;
      }
      if (input.key !== undefined && input.key !== null) return partitionForKey(input.key, numPartitions);
      const current = sticky.get(topic);
      if (current !== undefined && current < numPartitions) return current;
      return choose(topic, numPartitions, input.availablePartitions, undefined);
    },
    onBatchSent(topic, partition, numPartitions) {
      if (sticky.get(topic) === partition) choose(topic, numPartitions, undefined, partition);
    },
  };
}
