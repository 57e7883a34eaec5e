// Method: the murmur2 partitioner is cross-checked against kafkajs's Java-compatible partitioner on
// fast-check keys (strings and bytes) and partition counts, and against Kafka's own test vectors
// (`UtilsTest.testMurmur2`); the sticky rule is checked with an injected random source.
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createStickyPartitioner, murmur2, partitionForKey } from './partitioner.js';

const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer | string) => number;

function kafkajsPartition(key: Buffer | string, numPartitions: number): number {
  const partitioner = Partitioners.JavaCompatiblePartitioner();
  const partitionMetadata = Array.from({ length: numPartitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));
  return partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
}

describe('murmur2', () => {
  it("matches Kafka's UtilsTest vectors", () => {
    const vectors: Array<[Buffer, number]> = [
      [Buffer.from('21'), -973932308],
      [Buffer.from('foobar'), -790332482],
      [Buffer.from('a-little-bit-long-string'), -985981536],
      [Buffer.from('a-little-bit-longer-string'), -1486304829],
      [Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'), -58897971],
      [Buffer.from([0x61, 0x62, 0x63]), 479470107],
    ];
    for (const [key, hash] of vectors) {
      expect(murmur2(key)).toBe(hash);
      expect(kafkajsMurmur2(key)).toBe(hash);
    }
  });

  it('matches kafkajs on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const key = Buffer.from(bytes);
        expect(murmur2(key)).toBe(kafkajsMurmur2(key));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('partitionForKey', () => {
  it("puts string keys where kafkajs's JavaCompatiblePartitioner does", () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.integer({ min: 1, max: 300 }), (key, n) => {
        expect(partitionForKey(key, n)).toBe(kafkajsPartition(key, n));
      }),
      { numRuns: 2000 },
    );
  });

  it("puts byte keys where kafkajs's JavaCompatiblePartitioner does", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 300 }), (bytes, n) => {
        const key = Buffer.from(bytes);
        expect(partitionForKey(key, n)).toBe(kafkajsPartition(key, n));
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps a key on one partition in [0, n)', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 1000 }), (key, n) => {
        const p = partitionForKey(key, n);
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThan(n);
        expect(partitionForKey(Buffer.from(key, 'utf8'), n)).toBe(p);
      }),
    );
  });
});

describe('createStickyPartitioner', () => {
  it('honours an explicit partition and rejects one out of range', () => {
    const partitioner = createStickyPartitioner();
    expect(partitioner.partition({ topic: 't', key: 'k', partition: 2, numPartitions: 3 })).toBe(2);
    expect(() => partitioner.partition({ topic: 't', partition: 3, numPartitions: 3 })).toThrow(RangeError);
  });

  it('hashes keys and ignores the sticky choice for them', () => {
    const partitioner = createStickyPartitioner({ random: () => 0 });
    expect(partitioner.partition({ topic: 't', key: 'foobar', numPartitions: 7 })).toBe(partitionForKey('foobar', 7));
  });

  it('sticks keyless records to one partition until a batch for it is sent, then moves', () => {
    const draws = [0.5, 0.5, 0.9];
    const partitioner = createStickyPartitioner({ random: () => draws.shift() ?? 0 });
    const first = partitioner.partition({ topic: 't', numPartitions: 4 });
    expect(first).toBe(2);
    for (let i = 0; i < 10; i++) expect(partitioner.partition({ topic: 't', numPartitions: 4 })).toBe(2);
    // Another partition's batch leaves the sticky choice alone.
    partitioner.onBatchSent('t', 1, 4);
    expect(partitioner.partition({ topic: 't', numPartitions: 4 })).toBe(2);
    // Its own batch moves it, never to the same partition (0.5 → 2 is drawn again and skipped).
    partitioner.onBatchSent('t', 2, 4);
    expect(partitioner.partition({ topic: 't', numPartitions: 4 })).toBe(3);
    // Topics stick independently.
    expect(partitioner.partition({ topic: 'u', numPartitions: 4 })).toBe(0);
  });

  it('prefers partitions that have a leader', () => {
    const partitioner = createStickyPartitioner({ random: () => 0.99 });
    expect(partitioner.partition({ topic: 't', numPartitions: 8, availablePartitions: [1, 5] })).toBe(5);
  });
});
