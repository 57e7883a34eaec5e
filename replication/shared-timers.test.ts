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

  it('yields to the event loop once a firing ran for a slice, and goes on with the rest in the next turns', () => {
    let clock = 0;
    const timers = new SharedTimers({ now: () => clock, sliceMs: 5 });
    const order: string[] = [];
    // Two slow callbacks (a checkpoint that writes and fsyncs), then two quick ones.
    timers.every(1000, () => {
      order.push('slow-a');
      clock += 8;
    });
    timers.every(1000, () => {
      order.push('slow-b');
      clock += 8;
    });
    timers.every(1000, () => order.push('quick-c'));
    timers.every(1000, () => order.push('quick-d'));
    vi.advanceTimersByTime(1000);
    // The interval's turn ran one slow callback and yielded; each next turn goes on for one slice.
    expect(order).toEqual(['slow-a']);
    vi.advanceTimersToNextTimer();
    expect(order).toEqual(['slow-a', 'slow-b']);
    vi.advanceTimersToNextTimer();
    expect(order).toEqual(['slow-a', 'slow-b', 'quick-c', 'quick-d']);
    // And the next firing starts over.
    vi.advanceTimersByTime(1000);
    expect(order.slice(4, 5)).toEqual(['slow-a']);
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
