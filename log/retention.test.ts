// Method: fast-check properties of the pure retention decision against a direct restatement of the
// rules, plus examples for each rule and for the high-watermark and active-segment guards.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { segmentsToDelete, type SegmentSummary } from './retention.js';
import { asOffset } from './units.js';

function segments(sizes: Array<[records: number, bytes: number, maxTimestamp: number]>): SegmentSummary[] {
  let base = 0;
  return sizes.map(([records, bytes, maxTimestamp]) => {
    const s = { baseOffset: asOffset(base), nextOffset: asOffset(base + records), sizeBytes: bytes, maxTimestamp };
    base += records;
    return s;
  });
}

const noLimits = { retentionMs: -1, retentionBytes: -1, logStartOffset: asOffset(0), maxOffset: asOffset(1e12), now: 1000 };

describe('segmentsToDelete', () => {
  it('deletes nothing without limits', () => {
    expect(segmentsToDelete(segments([[10, 100, 1], [10, 100, 2]]), noLimits).count).toBe(0);
  });

  it('deletes by age from the oldest, stopping at the first young segment', () => {
    const log = segments([[10, 100, 100], [10, 100, 900], [10, 100, 200], [10, 100, 950]]);
    const decision = segmentsToDelete(log, { ...noLimits, retentionMs: 500 });
    expect(decision).toEqual({ count: 1, reasons: ['age'] });
  });

  it('deletes by size while the rest still meets retentionBytes', () => {
    const log = segments([[10, 100, 1], [10, 100, 2], [10, 100, 3], [10, 50, 4]]);
    expect(segmentsToDelete(log, { ...noLimits, retentionBytes: 150 }).count).toBe(2);
    expect(segmentsToDelete(log, { ...noLimits, retentionBytes: 151 }).count).toBe(1);
  });

  it('deletes segments wholly below the log start offset', () => {
    const log = segments([[10, 100, 1], [10, 100, 2], [10, 100, 3]]);
    expect(segmentsToDelete(log, { ...noLimits, logStartOffset: asOffset(15) })).toEqual({ count: 1, reasons: ['log-start-offset'] });
    expect(segmentsToDelete(log, { ...noLimits, logStartOffset: asOffset(20) }).count).toBe(2);
  });

  it('never deletes a segment holding offsets at or above maxOffset', () => {
    const log = segments([[10, 100, 1], [10, 100, 2], [10, 100, 3]]);
    expect(segmentsToDelete(log, { ...noLimits, retentionMs: 0, maxOffset: asOffset(15) }).count).toBe(1);
  });

  it('deletes emptied sealed segments but never the active one', () => {
    const log = segments([[10, 0, -1], [10, 100, 900], [0, 0, -1]]);
    expect(segmentsToDelete(log, { ...noLimits, retentionMs: 10_000 })).toEqual({ count: 1, reasons: ['empty'] });
  });

  it('always deletes a prefix, and every deleted segment breaks a rule', () => {
    const arbitrary = fc.array(fc.tuple(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 0, max: 1000 })), { minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(arbitrary, fc.integer({ min: -1, max: 1000 }), fc.integer({ min: -1, max: 5000 }), (spec, retentionMs, retentionBytes) => {
        const log = segments(spec);
        const policy = { ...noLimits, retentionMs, retentionBytes, now: 1000 };
        const { count } = segmentsToDelete(log, policy);
        let remaining = log.reduce((sum, s) => sum + s.sizeBytes, 0);
        for (const segment of log.slice(0, count)) {
          const old = retentionMs >= 0 && policy.now - segment.maxTimestamp > retentionMs;
          const big = retentionBytes >= 0 && remaining - segment.sizeBytes >= retentionBytes;
          expect(old || big).toBe(true);
          remaining -= segment.sizeBytes;
        }
        const next = log[count];
        if (next !== undefined) {
          const old = retentionMs >= 0 && policy.now - next.maxTimestamp > retentionMs;
          const big = retentionBytes >= 0 && remaining - next.sizeBytes >= retentionBytes;
          expect(old || big).toBe(false);
        }
      }),
    );
  });
});
