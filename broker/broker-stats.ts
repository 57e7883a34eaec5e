/**
 * Counters the HTTP `/metrics` endpoint reads (`broker-metrics.ts`): requests, errors (per error
 * code) and a latency histogram per api key, bytes in and out, connections. Plain numbers
 * incremented on the request path; no allocation per request beyond the first of each api key (and
 * the first of each error code). Reading is a snapshot copy.
 */
import { Histogram, type HistogramSnapshot } from './metrics.js';

/** The counters of requests whose api key this broker does not serve. */
export const UNKNOWN_API_KEY = -1;

/**
 * Upper bounds, in seconds, of the request latency buckets: from half a millisecond (an in-memory
 * answer) to 10 s (beyond any fetch wait a client should ask for, but long polls can reach it).
 */
export const REQUEST_DURATION_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

export interface ApiCounters {
  requests: number;
  /** Requests answered with a non-zero code in the response header. */
  errors: number;
  /** Sum of handling times in milliseconds. */
  totalTimeMs: number;
}

export interface ApiStatsSnapshot extends Readonly<ApiCounters> {
  /** Error answers by their (header) error code. */
  readonly errorsByCode: Readonly<Record<number, number>>;
  /** Handling times in seconds, over `REQUEST_DURATION_BUCKETS_SECONDS`. */
  readonly durations: HistogramSnapshot;
}

interface ApiStats extends ApiCounters {
  readonly errorsByCode: Map<number, number>;
  readonly durations: Histogram;
}

export interface BrokerStatsSnapshot {
  readonly apis: Readonly<Record<number, ApiStatsSnapshot>>;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly connectionsOpen: number;
  readonly connectionsAccepted: number;
  /** Every refused connection; the three below by reason. */
  readonly connectionsRefused: number;
  readonly connectionsRefusedConnectionLimit: number;
  readonly connectionsRefusedIpLimit: number;
  readonly connectionsRefusedShuttingDown: number;
  /** Connections closed by the broker for a bad or oversized frame. */
  readonly connectionsClosedForProtocolErrors: number;
  /** Connections closed by a deadline: idle, no valid request in time, a frame not whole in time. */
  readonly connectionsClosedIdle: number;
  readonly connectionsClosedFirstRequestTimeout: number;
  readonly connectionsClosedRequestReadTimeout: number;
  readonly producedBytes: number;
  readonly fetchedBytes: number;
}

export class BrokerStats {
  private readonly apis = new Map<number, ApiStats>();
  bytesIn = 0;
  bytesOut = 0;
  connectionsOpen = 0;
  connectionsAccepted = 0;
  connectionsRefusedConnectionLimit = 0;
  connectionsRefusedIpLimit = 0;
  connectionsRefusedShuttingDown = 0;
  connectionsClosedForProtocolErrors = 0;
  connectionsClosedIdle = 0;
  connectionsClosedFirstRequestTimeout = 0;
  connectionsClosedRequestReadTimeout = 0;
  producedBytes = 0;
  fetchedBytes = 0;

  get connectionsRefused(): number {
    return this.connectionsRefusedConnectionLimit + this.connectionsRefusedIpLimit + this.connectionsRefusedShuttingDown;
  }

  recordRequest(apiKey: number, errorCode: number, timeMs: number): void {
    let counters = this.apis.get(apiKey);
    if (counters === undefined) {
      counters = { requests: 0, errors: 0, totalTimeMs: 0, errorsByCode: new Map(), durations: new Histogram(REQUEST_DURATION_BUCKETS_SECONDS) };
      this.apis.set(apiKey, counters);
    }
    counters.requests += 1;
    if (errorCode !== 0) {
      counters.errors += 1;
      counters.errorsByCode.set(errorCode, (counters.errorsByCode.get(errorCode) ?? 0) + 1);
    }
    counters.totalTimeMs += timeMs;
    counters.durations.observe(timeMs / 1000);
  }

  snapshot(): BrokerStatsSnapshot {
    const apis: Record<number, ApiStatsSnapshot> = {};
    for (const [key, counters] of this.apis) {
      apis[key] = {
        requests: counters.requests,
        errors: counters.errors,
        totalTimeMs: counters.totalTimeMs,
        errorsByCode: Object.fromEntries(counters.errorsByCode),
        durations: counters.durations.snapshot(),
      };
    }
    return {
      apis,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      connectionsOpen: this.connectionsOpen,
      connectionsAccepted: this.connectionsAccepted,
      connectionsRefused: this.connectionsRefused,
      connectionsRefusedConnectionLimit: this.connectionsRefusedConnectionLimit,
      connectionsRefusedIpLimit: this.connectionsRefusedIpLimit,
      connectionsRefusedShuttingDown: this.connectionsRefusedShuttingDown,
      connectionsClosedForProtocolErrors: this.connectionsClosedForProtocolErrors,
      connectionsClosedIdle: this.connectionsClosedIdle,
      connectionsClosedFirstRequestTimeout: this.connectionsClosedFirstRequestTimeout,
      connectionsClosedRequestReadTimeout: this.connectionsClosedRequestReadTimeout,
      producedBytes: this.producedBytes,
      fetchedBytes: this.fetchedBytes,
    };
  }
}
