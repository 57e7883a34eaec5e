/**
 * Retry policy shared by the client's parts: how many times to retry a retriable failure and how
 * long to wait before each attempt. Exponential backoff with jitter, as kafkajs does it: attempt n
 * waits `initialRetryTimeMs * 2^n`, capped at `maxRetryTimeMs`, then spread by ±20% so that many
 * clients that failed together do not come back together.
 */

export interface RetryOptions {
  /** Retries after the first attempt. */
  retries: number;
  initialRetryTimeMs: number;
  maxRetryTimeMs: number;
}

export const DEFAULT_RETRY: Readonly<RetryOptions> = Object.freeze({ retries: 5, initialRetryTimeMs: 100, maxRetryTimeMs: 30_000 });

const JITTER = 0.2;

/** The wait before retry number `attempt` (0 for the first retry). `random` in [0, 1). */
export function backoffMs(attempt: number, options: RetryOptions, random: () => number = Math.random): number {
  const exponential = Math.min(options.maxRetryTimeMs, options.initialRetryTimeMs * 2 ** Math.min(attempt, 30));
  const spread = 1 - JITTER + 2 * JITTER * random();
  return Math.max(0, Math.round(Math.min(options.maxRetryTimeMs, exponential * spread)));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether an error says the same call may succeed later. Anything without the flag is not retriable. */
export function isRetriable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retriable?: unknown }).retriable === true;
}

/**
 * Runs `fn` until it succeeds, fails with an error that is not retriable, or runs out of retries.
 * `beforeRetry` runs between attempts (a metadata refresh, typically); its failures are ignored so
 * that the next attempt reports the real error.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions,
  beforeRetry?: (error: unknown, attempt: number) => Promise<void> | void,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!isRetriable(error) || attempt >= options.retries) throw error;
      await sleep(backoffMs(attempt, options));
      try {
        await beforeRetry?.(error, attempt);
      } catch {
        // The next attempt fails again and reports it.
      }
    }
  }
}
