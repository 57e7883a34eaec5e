// Method: fast-check pushes arbitrary sequences into rings of arbitrary capacity and compares with the
// tail of the same sequence kept in a plain array.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SampleRing } from './sample-ring.js';

describe('SampleRing', () => {
  it('holds the last `capacity` values pushed, oldest first', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.integer(), { maxLength: 100 }), (capacity, values) => {
        const ring = new SampleRing<number>(capacity);
        values.forEach((v, i) => {
          ring.push(v);
          expect(ring.size).toBe(Math.min(i + 1, capacity));
        });
        expect(ring.toArray()).toEqual(values.slice(Math.max(0, values.length - capacity)));
      }),
    );
  });

  it('refuses a capacity below 1', () => {
    expect(() => new SampleRing(0)).toThrow(/at least 1 sample, got capacity 0/);
    expect(() => new SampleRing(1.5)).toThrow(RangeError);
  });
});
