// Method: a FetchBuffer fed synthesized partition logs — transactional batches of several producers
// interleaved, commit and abort markers, non-transactional batches between them — cut into fetch
// responses that list the aborted transactions overlapping them, as the broker answers a
// read_committed fetch. Examples pin the cases by name; a fast-check property checks random logs and
// random cuts against a model (a record is delivered iff its batch is not transactional or its
// transaction committed) and that the position always ends at the log's end.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c, encodeBatch, TXN_ABORT_CONTROL_TYPE } from '../log/index.js';
import { newPartitionState } from './consumer-partition.js';
import { FetchBuffer } from './fetch-buffer.js';
import type { AbortedTransaction } from './protocol/index.js';

const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;
const COMMIT = 1;

/** Sets attribute bits of an encoded batch and recomputes its CRC (attributes..end). */
function withAttributes(batch: Buffer, bits: number): Buffer {
  batch.writeInt16BE(batch.readInt16BE(21) | bits, 21);
  batch.writeUInt32BE(crc32c(batch.subarray(21)), 17);
  return batch;
}

function dataBatch(baseOffset: number, count: number, producerId: number, transactional: boolean): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({ value: `v${baseOffset + i}`, timestamp: 1 }));
  const batch = encodeBatch(records, producerId < 0 ? { baseOffset } : { baseOffset, producerId, producerEpoch: 0, baseSequence: 0 });
  return transactional ? withAttributes(batch, TRANSACTIONAL) : batch;
}

function marker(offset: number, producerId: number, type: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(type, 2);
  const value = Buffer.alloc(6);
  return withAttributes(encodeBatch([{ key, value, timestamp: 1 }], { baseOffset: offset, producerId, producerEpoch: 0 }), TRANSACTIONAL | CONTROL);
}

interface Fetched {
  fromOffset: number;
  records: Buffer;
  aborted: AbortedTransaction[] | undefined;
}

/** Feeds the fetches in order, takes every message, and returns the delivered offsets and the end position. */
function consume(fetches: readonly Fetched[], useBatches = false): { offsets: number[]; position: number | undefined } {
  const buffer = new FetchBuffer({ isAssigned: () => true, surface: (_state, error) => { throw error; }, consumed: () => undefined });
  const state = newPartitionState('t', 0, fetches[0]?.fromOffset ?? 0);
  const offsets: number[] = [];
  for (const fetch of fetches) {
    buffer.add(state, fetch.fromOffset, 1e9, fetch.records, fetch.aborted);
    for (;;) {
      if (useBatches) {
        const batch = buffer.takeBatch(1);
        if (batch === undefined) break;
        offsets.push(...batch.messages.map((m) => m.offset));
      } else {
        const message = buffer.takeMessage();
        if (message === undefined) break;
        offsets.push(message.offset);
      }
    }
  }
  return { offsets, position: state.position };
}

describe('read_committed filtering (FetchBuffer + AbortedTransactionFilter)', () => {
  it('drops an aborted transaction interleaved with a committed one and with plain batches', () => {
    // 0-1 p1 txn, 2 plain, 3-4 p2 txn, 5 p1 abort, 6 p2 txn, 7 p2 commit, 8 plain
    const log = Buffer.concat([
      dataBatch(0, 2, 1, true), dataBatch(2, 1, -1, false), dataBatch(3, 2, 2, true), marker(5, 1, TXN_ABORT_CONTROL_TYPE),
      dataBatch(6, 1, 2, true), marker(7, 2, COMMIT), dataBatch(8, 1, -1, false),
    ]);
    const read = consume([{ fromOffset: 0, records: log, aborted: [{ producerId: 1, firstOffset: 0 }] }]);
    expect(read.offsets).toEqual([2, 3, 4, 6, 8]);
    expect(read.position).toBe(9);
  });

  it('read_uncommitted delivers the aborted records too, never the markers', () => {
    const log = Buffer.concat([dataBatch(0, 2, 1, true), marker(2, 1, TXN_ABORT_CONTROL_TYPE), dataBatch(3, 1, 1, true), marker(4, 1, COMMIT)]);
    expect(consume([{ fromOffset: 0, records: log, aborted: undefined }])).toEqual({ offsets: [0, 1, 3], position: 5 });
  });

  it('keeps a producer aborted across fetches when its transaction began before the fetch offset', () => {
    // p1 aborts a transaction spanning offsets 0..4; p2 commits in between.
    const first = Buffer.concat([dataBatch(0, 1, 1, true), dataBatch(1, 1, 2, true)]);
    const second = Buffer.concat([dataBatch(2, 2, 1, true), marker(4, 1, TXN_ABORT_CONTROL_TYPE), marker(5, 2, COMMIT)]);
    const read = consume([
      { fromOffset: 0, records: first, aborted: [{ producerId: 1, firstOffset: 0 }] },
      { fromOffset: 2, records: second, aborted: [{ producerId: 1, firstOffset: 0 }] },
    ]);
    expect(read).toEqual({ offsets: [1], position: 6 });
  });

  it('delivers a producer\'s next transaction after its abort marker', () => {
    const log = Buffer.concat([dataBatch(0, 1, 1, true), marker(1, 1, TXN_ABORT_CONTROL_TYPE), dataBatch(2, 1, 1, true), marker(3, 1, COMMIT)]);
    expect(consume([{ fromOffset: 0, records: log, aborted: [{ producerId: 1, firstOffset: 0 }] }]).offsets).toEqual([2]);
  });

  it('moves the position past a fetch that holds only aborted records and markers', () => {
    const log = Buffer.concat([dataBatch(10, 3, 7, true), marker(13, 7, TXN_ABORT_CONTROL_TYPE)]);
    expect(consume([{ fromOffset: 10, records: log, aborted: [{ producerId: 7, firstOffset: 10 }] }])).toEqual({ offsets: [], position: 14 });
  });

  it('matches the model on random logs cut into random fetches', () => {
    const action = fc.oneof(
      fc.record({ kind: fc.constant('data' as const), producer: fc.integer({ min: 1, max: 3 }), count: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('end' as const), producer: fc.integer({ min: 1, max: 3 }), commit: fc.boolean() }),
      fc.record({ kind: fc.constant('plain' as const), count: fc.integer({ min: 1, max: 2 }), idempotentId: fc.constantFrom(-1, 1, 2) }),
    );
    fc.assert(
      fc.property(fc.array(action, { minLength: 1, maxLength: 40 }), fc.array(fc.boolean(), { maxLength: 60 }), fc.boolean(), fc.boolean(), (actions, cuts, useBatches, shuffle) => {
        const batches: Array<{ bytes: Buffer; baseOffset: number; lastOffset: number }> = [];
        const expected: number[] = [];
        const aborted: Array<{ producerId: number; firstOffset: number; markerOffset: number }> = [];
        const open = new Map<number, { firstOffset: number; offsets: number[] }>();
        let next = 0;
        const end = (producer: number, commit: boolean) => {
          const txn = open.get(producer);
          if (txn === undefined) return;
          open.delete(producer);
          if (commit) expected.push(...txn.offsets);
          else aborted.push({ producerId: producer, firstOffset: txn.firstOffset, markerOffset: next });
          batches.push({ bytes: marker(next, producer, commit ? COMMIT : TXN_ABORT_CONTROL_TYPE), baseOffset: next, lastOffset: next });
          next += 1;
        };
        for (const a of actions) {
          if (a.kind === 'end') {
            end(a.producer, a.commit);
            continue;
          }
          const count = a.count;
          const offsets = Array.from({ length: count }, (_, i) => next + i);
          if (a.kind === 'plain') {
            // A non-transactional batch, possibly of an idempotent producer whose id a transactional one also uses.
            batches.push({ bytes: dataBatch(next, count, a.idempotentId, false), baseOffset: next, lastOffset: next + count - 1 });
            expected.push(...offsets);
          } else {
            const txn = open.get(a.producer) ?? { firstOffset: next, offsets: [] };
            open.set(a.producer, txn);
            txn.offsets.push(...offsets);
            batches.push({ bytes: dataBatch(next, count, a.producer, true), baseOffset: next, lastOffset: next + count - 1 });
          }
          next += count;
        }
        // A read_committed fetch stops at the last stable offset: close what is open.
        for (const producer of [...open.keys()]) end(producer, false);
        expected.sort((x, y) => x - y);

        // Cut the log into fetches after the batches `cuts` marks; each lists the aborted
        // transactions it overlaps (begun at or before its last offset, ended at or after its first).
        const fetches: Fetched[] = [];
        let start = 0;
        for (let i = 0; i < batches.length; i++) {
          if (i === batches.length - 1 || cuts[i] === true) {
            const slice = batches.slice(start, i + 1);
            const first = slice[0]!.baseOffset;
            const last = slice[slice.length - 1]!.lastOffset;
            const overlapping = aborted.filter((t) => t.firstOffset <= last && t.markerOffset >= first).map(({ producerId, firstOffset }) => ({ producerId, firstOffset }));
            if (shuffle) overlapping.reverse();
            fetches.push({ fromOffset: first, records: Buffer.concat(slice.map((b) => b.bytes)), aborted: overlapping });
            start = i + 1;
          }
        }
        const read = consume(fetches, useBatches);
        expect(read.offsets).toEqual(expected);
        expect(read.position).toBe(next);
      }),
      { numRuns: 300 },
    );
  });
});
