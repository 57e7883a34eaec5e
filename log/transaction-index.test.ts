// Method: fast-check round-trips of the 34-byte `.txnindex` entry over the whole int64-safe range,
// and the file through TransactionIndex: appends survive a reopen, a torn trailing entry (every cut
// length) or an unknown version is dropped, truncation and reset rewrite the file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeAbortedTxns, encodeAbortedTxn, TransactionIndex, TXN_INDEX_ENTRY_BYTES, type AbortedTxn } from './transaction-index.js';
import { asOffset } from './units.js';

const temps: string[] = [];
function tempFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-txnindex-'));
  temps.push(dir);
  return path.join(dir, '00000000000000000000.txnindex');
}
afterAll(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

const offset = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const entry: fc.Arbitrary<AbortedTxn> = fc.record({
  producerId: offset,
  firstOffset: offset.map(asOffset),
  lastOffset: offset.map(asOffset),
  lastStableOffset: offset.map(asOffset),
});

/** Entries as the log writes them: markers in increasing order, each after its transaction's start. */
const orderedEntries = fc.array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 40 })), { maxLength: 20 }).map((steps) => {
  let last = 0;
  return steps.map(([producerId, gap, span]): AbortedTxn => {
    last += gap;
    return { producerId, firstOffset: asOffset(Math.max(0, last - span)), lastOffset: asOffset(last), lastStableOffset: asOffset(last + 1) };
  });
});

describe('the .txnindex entry', () => {
  it('is 34 bytes, version 0, and round-trips', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 20 }), (entries) => {
        const bytes = Buffer.concat(entries.map(encodeAbortedTxn));
        expect(bytes.length).toBe(entries.length * TXN_INDEX_ENTRY_BYTES);
        for (let i = 0; i < entries.length; i++) expect(bytes.readInt16BE(i * TXN_INDEX_ENTRY_BYTES)).toBe(0);
        expect(decodeAbortedTxns(bytes)).toEqual(entries);
      }),
    );
  });

  it('drops a partial trailing entry and everything from an unknown version on', () => {
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 10 }), fc.integer({ min: 1, max: TXN_INDEX_ENTRY_BYTES - 1 }), (entries, cut) => {
        const bytes = Buffer.concat(entries.map(encodeAbortedTxn));
        expect(decodeAbortedTxns(bytes.subarray(0, bytes.length - cut))).toEqual(entries.slice(0, -1));
        const foreign = Buffer.from(bytes);
        foreign.writeInt16BE(1, 0);
        expect(decodeAbortedTxns(foreign)).toEqual([]);
      }),
    );
  });
});

describe('TransactionIndex', () => {
  it('keeps what it appended across a reopen, cuts a torn tail off the file, truncates and resets', () => {
    fc.assert(
      fc.property(orderedEntries, fc.integer({ min: 0, max: TXN_INDEX_ENTRY_BYTES - 1 }), fc.integer({ min: 0, max: 1100 }), (entries, torn, cutAt) => {
        const file = tempFile();
        const index = TransactionIndex.create(file);
        for (const e of entries) index.append(e);
        expect(fs.existsSync(file)).toBe(entries.length > 0);
        if (torn > 0 && entries.length > 0) fs.appendFileSync(file, encodeAbortedTxn(entries[0]!).subarray(0, torn));
        const reopened = TransactionIndex.open(file);
        expect(reopened.entries).toEqual(entries);
        if (entries.length > 0) expect(fs.statSync(file).size).toBe(entries.length * TXN_INDEX_ENTRY_BYTES);
        reopened.truncateTo(asOffset(cutAt));
        const kept = entries.filter((e) => e.lastOffset < cutAt);
        expect(reopened.entries).toEqual(kept);
        expect(TransactionIndex.open(file).entries).toEqual(kept);
        reopened.reset();
        expect(fs.existsSync(file)).toBe(false);
        expect(TransactionIndex.open(file).entries).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });
});
