/**
 * Periodic callbacks that share ONE unref'd Node interval per period. A broker opens a `LogStorage`
 * per replica, each with a high-watermark checkpoint every few seconds; an interval each would wake
 * an idle broker that many times per period at scattered moments, while shared it wakes once and
 * runs them all (each a no-op when nothing moved).
 *
 * A callback may block (a checkpoint that did move writes and fsyncs its file synchronously), and
 * under load every storage has moved: run back to back, they would hold the event loop for all of
 * them at once, delaying Raft's ticks and heartbeats by that much. So a firing runs callbacks until
 * `sliceMs` have passed in it, then yields (`setImmediate`) and goes on with the rest in the next
 * turn, after the I/O that waited: no turn blocks much longer than one callback, as with an interval
 * each.
 *
 * Invariants: a callback runs once per firing of its period's interval until its stop function is
 * called, and never after (checked before each call, so one stopped by an earlier callback of the
 * same firing is skipped); the interval is cleared once its last callback stops. The first firing of
 * a callback comes within one period of `every`, not exactly one period after it.
 */
import type { LogTimers } from '../log/index.js';

/** A firing yields to the event loop once its callbacks have run this long. */
export const SHARED_TIMERS_SLICE_MS = 5;

interface Period {
  readonly timer: NodeJS.Timeout;
  readonly callbacks: Set<() => void>;
}

export interface SharedTimersOptions {
  /** Milliseconds from any origin; `performance.now` by default. */
  readonly now?: () => number;
  readonly sliceMs?: number;
}

export class SharedTimers implements LogTimers {
  private readonly periods = new Map<number, Period>();
  private readonly now: () => number;
  private readonly sliceMs: number;

  constructor(options: SharedTimersOptions = {}) {
    this.now = options.now ?? (() => performance.now());
    this.sliceMs = options.sliceMs ?? SHARED_TIMERS_SLICE_MS;
  }

  every(ms: number, callback: () => void): () => void {
    let period = this.periods.get(ms);
    if (period === undefined) {
      const callbacks = new Set<() => void>();
      const timer = setInterval(() => this.run(callbacks, [...callbacks], 0), ms);
      timer.unref();
      period = { timer, callbacks };
      this.periods.set(ms, period);
    }
    const { timer, callbacks } = period;
    // A function of its own per call: the same callback registered twice is two entries.
    const entry = (): void => callback();
    callbacks.add(entry);
    return () => {
      if (!callbacks.delete(entry) || callbacks.size > 0) return;
      clearInterval(timer);
      this.periods.delete(ms);
    };
  }

  /** Intervals running (one per period in use). */
  get intervals(): number {
    return this.periods.size;
  }

  /** Runs `due[from..]` that are still registered, yielding once a slice has passed. */
  private run(callbacks: Set<() => void>, due: readonly (() => void)[], from: number): void {
    const start = this.now();
    for (let i = from; i < due.length; i++) {
      const entry = due[i] as () => void;
      if (callbacks.has(entry)) entry();
      if (i + 1 < due.length && this.now() - start >= this.sliceMs) {
        setImmediate(() => this.run(callbacks, due, i + 1));
        return;
      }
    }
  }
}
