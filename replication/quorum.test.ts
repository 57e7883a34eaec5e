// Method: fast-check properties of the majority math and of the in-flight window against a plain
// model (an array), over random voter sets, match ends and operation sequences.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asOffset, type Offset } from '../log/index.js';
import { Inflights } from './inflights.js';
import { majorityCommittedEnd, majorityVoteResult } from './quorum.js';

describe('majority math', () => {
  it('the committed end is the largest offset a strict majority holds below', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1000), { minLength: 1, maxLength: 9 }), (ends) => {
        const voters = ends.map((_, i) => i + 1);
        const end = majorityCommittedEnd(voters, (id) => asOffset(ends[id - 1] as number));
        const majority = Math.floor(voters.length / 2) + 1;
        const holders = (offset: number): number => ends.filter((e) => e >= offset).length;
        expect(holders(end)).toBeGreaterThanOrEqual(majority);
        expect(holders(end + 1)).toBeLessThan(majority);
      }),
    );
  });

  it('an election is won with a strict majority of grants, lost once that is out of reach', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(true, false, undefined), { minLength: 1, maxLength: 9 }), (answers) => {
        const voters = answers.map((_, i) => i + 1);
        const votes = new Map<number, boolean>();
        answers.forEach((a, i) => a !== undefined && votes.set(i + 1, a));
        const granted = answers.filter((a) => a === true).length;
        const open = answers.filter((a) => a === undefined).length;
        const majority = Math.floor(voters.length / 2) + 1;
        const expected = granted >= majority ? 'won' : granted + open >= majority ? 'pending' : 'lost';
        expect(majorityVoteResult(voters, votes)).toBe(expected);
      }),
    );
  });
});

describe('inflights', () => {
  it('behaves as a bounded FIFO of (end, bytes), released by acknowledged end', () => {
    const op = fc.oneof(fc.record({ add: fc.integer({ min: 1, max: 5 }), bytes: fc.integer({ min: 0, max: 40 }) }), fc.record({ free: fc.integer({ min: 0, max: 8 }) }));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 100 }), fc.array(op, { maxLength: 60 }), (maxCount, maxBytes, ops) => {
        const inflights = new Inflights(maxCount, maxBytes);
        let model: { end: number; bytes: number }[] = [];
        let end = 0;
        for (const o of ops) {
          if ('add' in o) {
            if (inflights.full()) continue;
            end += o.add;
            inflights.add(asOffset(end) as Offset, o.bytes);
            model.push({ end, bytes: o.bytes });
          } else {
            const to = end - o.free;
            inflights.freeTo(asOffset(to));
            model = model.filter((m) => m.end > to);
          }
          const bytes = model.reduce((sum, m) => sum + m.bytes, 0);
          expect(inflights.count).toBe(model.length);
          expect(inflights.bytes).toBe(bytes);
          expect(inflights.full()).toBe(model.length === maxCount || (maxBytes > 0 && bytes >= maxBytes));
        }
      }),
    );
  });
});
