/**
 * Periodic callbacks that share ONE unref'd Node interval per period. A broker opens a `LogStorage`
 * per replica, each with a high-watermark checkpoint every few seconds; an interval each would wake
 * an idle broker that many times per period at scattered moments, while shared it wakes once and
 * runs them all (each a no-op when nothing moved).
 *
 * Invariants: a callback runs once per firing of its period's interval until its stop function is
 * called, and never after (a `Set` does not visit an entry deleted during its iteration, so a
 * callback stopped by another one of the same firing is skipped); the interval is cleared once its
 * last callback stops. The first firing of a callback comes within one period of `every`, not
 * exactly one period after it.
 */
import type { LogTimers } from '../log/index.js';

interface Period {
  readonly timer: NodeJS.Timeout;
  readonly callbacks: Set<() => void>;
}

export class SharedTimers implements LogTimers {
  private readonly periods = new Map<number, Period>();

  every(ms: number, callback: () => void): () => void {
    let period = this.periods.get(ms);
    if (period === undefined) {
      const callbacks = new Set<() => void>();
      const timer = setInterval(() => {
        for (const each of callbacks) each();
      }, ms);
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
}
