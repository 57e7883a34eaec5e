/**
 * Counters a metrics module (the HTTP `/metrics` endpoint, later) reads: requests and errors per api
 * key, bytes in and out, connections. Plain numbers incremented on the request path; no allocation
 * per request beyond the first of each api key. Reading is a snapshot copy.
 */
/** The counters of requests whose api key this broker does not serve. */
export const UNKNOWN_API_KEY = -1;

export interface ApiCounters {
  requests: number;
  /** Requests answered with a non-zero code in the response header. */
  errors: number;
  /** Sum of handling times in milliseconds (for a mean; histograms come with the metrics module). */
  totalTimeMs: number;
}

export interface BrokerStatsSnapshot {
  readonly apis: Readonly<Record<number, Readonly<ApiCounters>>>;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly connectionsOpen: number;
  readonly connectionsAccepted: number;
  readonly connectionsRefused: number;
  /** Connections closed by the broker for a bad or oversized frame. */
  readonly connectionsClosedForProtocolErrors: number;
  readonly producedBytes: number;
  readonly fetchedBytes: number;
}

export class BrokerStats {
  private readonly apis = new Map<number, ApiCounters>();
  bytesIn = 0;
  bytesOut = 0;
  connectionsOpen = 0;
  connectionsAccepted = 0;
  connectionsRefused = 0;
  connectionsClosedForProtocolErrors = 0;
  producedBytes = 0;
  fetchedBytes = 0;

  recordRequest(apiKey: number, errorCode: number, timeMs: number): void {
    let counters = this.apis.get(apiKey);
    if (counters === undefined) this.apis.set(apiKey, (counters = { requests: 0, errors: 0, totalTimeMs: 0 }));
    counters.requests += 1;
    if (errorCode !== 0) counters.errors += 1;
    counters.totalTimeMs += timeMs;
  }

  snapshot(): BrokerStatsSnapshot {
    const apis: Record<number, ApiCounters> = {};
    for (const [key, counters] of this.apis) apis[key] = { ...counters };
    return {
      apis,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      connectionsOpen: this.connectionsOpen,
      connectionsAccepted: this.connectionsAccepted,
      connectionsRefused: this.connectionsRefused,
      connectionsClosedForProtocolErrors: this.connectionsClosedForProtocolErrors,
      producedBytes: this.producedBytes,
      fetchedBytes: this.fetchedBytes,
    };
  }
}
