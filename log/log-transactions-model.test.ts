// Method: fast-check drives a real Log (1 KiB segments, so markers and transactions span segments)
// through random interleavings of transactional and plain batches and commit, abort and stale
// markers from three producers, clean and unclean reopens (a kill-style copy of the directory, its
// .txnindex files and snapshots sometimes deleted) and truncations, and compares
// `firstUnstableOffset`, `ongoingTransactions` and `abortedTransactions` over random ranges with a
// model replayed from the writes the log still holds.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { LogConfig } from './config.js';
import { encodeTxnMarkerBatch } from './control-batch.js';
import { LogError } from './errors.js';
import { CLEAN_SHUTDOWN_FILE, Log } from './log.js';
import { encodeBatch } from './record-batch.js';
import { asOffset, type Offset } from './units.js';

const temps: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-txn-model-'));
  temps.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

const NOW = 1_700_000_000_000;
const CONFIG: Partial<LogConfig> = { flushPolicy: 'never', segmentBytes: 1024, indexIntervalBytes: 128 };
const PAD = { pad: 'x'.repeat(120) };

/** A write the log holds, as the model keeps it. */
type Write =
  | { kind: 'data'; producerId: number; epoch: number; firstSeq: number; records: number; transactional: boolean; firstOffset: number; lastOffset: number }
  | { kind: 'marker'; producerId: number; epoch: number; commit: boolean; firstOffset: number; lastOffset: number };

interface ProducerModel {
  epoch: number;
  nextSeq: number;
  openFrom: number | undefined;
}

/** Replays the writes: per producer its epoch, next sequence and open transaction; the aborted transactions in marker order. */
function replay(writes: readonly Write[]): { producers: Map<number, ProducerModel>; aborted: Array<{ producerId: number; firstOffset: number; lastOffset: number }> } {
  const producers = new Map<number, ProducerModel>();
  const aborted: Array<{ producerId: number; firstOffset: number; lastOffset: number }> = [];
  for (const w of writes) {
    const p = producers.get(w.producerId);
    if (w.kind === 'data') {
      const sameEpoch = p !== undefined && p.epoch === w.epoch;
      producers.set(w.producerId, {
        epoch: w.epoch,
        nextSeq: (sameEpoch || p === undefined ? w.firstSeq : 0) + w.records,
        openFrom: p?.openFrom ?? (w.transactional ? w.firstOffset : undefined),
      });
    } else {
      if (p?.openFrom !== undefined && !w.commit) aborted.push({ producerId: w.producerId, firstOffset: p.openFrom, lastOffset: w.firstOffset });
      producers.set(w.producerId, { epoch: w.epoch, nextSeq: p !== undefined && p.epoch === w.epoch ? p.nextSeq : 0, openFrom: undefined });
    }
  }
  return { producers, aborted };
}

const command = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('txn' as const), producer: fc.integer({ min: 1, max: 3 }), records: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('plain' as const), producer: fc.integer({ min: 1, max: 3 }), records: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('marker' as const), producer: fc.integer({ min: 1, max: 3 }), commit: fc.boolean(), epochChange: fc.constantFrom(0, 0, 0, 1, -1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const), clean: fc.boolean(), dropFiles: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), back: fc.integer({ min: 0, max: 12 }) }) },
);

async function rejectsWith(name: string, promise: Promise<unknown>): Promise<void> {
  await expect(promise).rejects.toSatisfy((error: unknown) => error instanceof LogError && error.errorName === name);
}

describe('transactions against a model', () => {
  it('firstUnstableOffset, ongoingTransactions and abortedTransactions follow the writes the log holds', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 40 }), fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 20, maxLength: 20 }), async (commands, ranges) => {
        let dir = tempDir();
        let log = await Log.open(dir, CONFIG, { clock: () => NOW });
        let writes: Write[] = [];
        try {
          for (const c of commands) {
            const { producers } = replay(writes);
            const end = log.logEndOffset;
            if (c.kind === 'txn' || c.kind === 'plain') {
              const p = producers.get(c.producer) ?? { epoch: 0, nextSeq: 0, openFrom: undefined };
              const bytes = encodeBatch(
                Array.from({ length: c.records }, (_, i) => ({ key: `k${i}`, value: `${c.producer}-${p.nextSeq + i}`, timestamp: NOW, headers: PAD })),
                { producerId: c.producer, producerEpoch: p.epoch, baseSequence: p.nextSeq, transactional: c.kind === 'txn' },
              );
              if (c.kind === 'plain' && p.openFrom !== undefined) {
                await rejectsWith('INVALID_TXN_STATE', log.append(bytes));
                expect(log.logEndOffset).toBe(end);
                continue;
              }
              await log.append(bytes);
              writes.push({ kind: 'data', producerId: c.producer, epoch: p.epoch, firstSeq: p.nextSeq, records: c.records, transactional: c.kind === 'txn', firstOffset: end, lastOffset: end + c.records - 1 });
            } else if (c.kind === 'marker') {
              const known = producers.get(c.producer);
              const epoch = (known?.epoch ?? 0) + c.epochChange;
              if (epoch < 0) continue;
              const bytes = encodeTxnMarkerBatch({ producerId: c.producer, producerEpoch: epoch, commit: c.commit, coordinatorEpoch: 0 }, NOW);
              if (known !== undefined && epoch < known.epoch) {
                await rejectsWith('INVALID_PRODUCER_EPOCH', log.append(bytes, { origin: 'coordinator' }));
                expect(log.logEndOffset).toBe(end);
                continue;
              }
              await log.append(bytes, { origin: 'coordinator' });
              writes.push({ kind: 'marker', producerId: c.producer, epoch, commit: c.commit, firstOffset: end, lastOffset: end });
            } else if (c.kind === 'reopen') {
              if (c.clean) {
                await log.close();
              } else {
                const copy = tempDir();
                fs.cpSync(dir, copy, { recursive: true });
                await log.close();
                fs.rmSync(path.join(copy, CLEAN_SHUTDOWN_FILE), { force: true });
                dir = copy;
              }
              if (c.dropFiles && !c.clean) {
                for (const name of fs.readdirSync(dir)) if (name.endsWith('.txnindex') || name.endsWith('.snapshot')) fs.rmSync(path.join(dir, name));
              }
              log = await Log.open(dir, CONFIG, { clock: () => NOW });
            } else {
              const cut = asOffset(Math.max(log.logStartOffset, end - c.back));
              await log.truncateTo(cut);
              writes = writes.filter((w) => w.lastOffset < cut);
              expect(log.logEndOffset).toBe(writes.at(-1) === undefined ? 0 : writes.at(-1)!.lastOffset + 1);
            }
            const model = replay(writes);
            const open = [...model.producers.entries()].filter(([, p]) => p.openFrom !== undefined);
            const first = open.length === 0 ? undefined : Math.min(...open.map(([, p]) => p.openFrom as number));
            expect(log.firstUnstableOffset).toBe(first);
            expect(log.ongoingTransactions().map((t) => [t.producerId, t.producerEpoch, t.firstOffset])).toEqual(
              open.map(([id, p]) => [id, p.epoch, p.openFrom]).sort((a, b) => (a[2] as number) - (b[2] as number)),
            );
            const logEnd = log.logEndOffset + 1;
            for (const [a, b] of [[0, logEnd], ...ranges]) {
              const from = (a as number) % logEnd;
              const upTo = from + ((b as number) % (logEnd - from + 1));
              const expected = model.aborted
                .filter((t) => t.lastOffset >= from && t.firstOffset < upTo)
                .sort((x, y) => x.firstOffset - y.firstOffset)
                .map(({ producerId, firstOffset }) => ({ producerId, firstOffset }));
              expect(log.abortedTransactions(asOffset(from), asOffset(upTo) as Offset)).toEqual(expected);
            }
          }
        } finally {
          await log.close();
        }
      }),
      { numRuns: 100 },
    );
  }, 120_000);
});
