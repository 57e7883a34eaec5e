// Method: SharedTimers under vitest's fake timers; counts the calls of each callback and the Node
// intervals behind them per period.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SharedTimers } from './shared-timers.js';

describe('SharedTimers', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs every callback of a period from one interval, and clears it when the last one stops', () => {
    const timers = new SharedTimers();
    const calls = [0, 0, 0];
    const stops = calls.map((_, i) => timers.every(5000, () => calls[i]!++));
    const other = timers.every(1000, () => undefined);
    expect(timers.intervals).toBe(2);
    expect(vi.getTimerCount()).toBe(2);
    vi.advanceTimersByTime(10_000);
    expect(calls).toEqual([2, 2, 2]);
    stops[1]!();
    stops[1]!();
    vi.advanceTimersByTime(5000);
    expect(calls).toEqual([3, 2, 3]);
    stops[0]!();
    stops[2]!();
    other();
    expect(timers.intervals).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('skips a callback stopped by another of the same firing, and counts a callback registered twice twice', () => {
    const timers = new SharedTimers();
    let late = 0;
    let twice = 0;
    const stopLate = (): void => stop();
    timers.every(100, stopLate);
    const stop = timers.every(100, () => late++);
    const count = (): void => {
      twice++;
    };
    timers.every(100, count);
    timers.every(100, count);
    vi.advanceTimersByTime(100);
    expect(late).toBe(0);
    expect(twice).toBe(2);
  });
});
