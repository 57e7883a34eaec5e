/**
 * What the broker counts, for the HTTP `/metrics` endpoint (`broker-metrics.ts`) and for tests:
 * requests and errors (per error code) per api key, bytes in and out (per topic too), connections,
 * and the latency histograms (requests per api, log fsyncs) and Raft event counters.
 *
 * The plain numbers are incremented on the request path and read synchronously (`snapshot()`); no
 * allocation per request beyond the first of each api key (and the first of each error code). The
 * histograms and the Raft counters are prom-client metrics created here unregistered: a broker's
 * `BrokerMetrics` registers them in its own registry, so brokers sharing a process never share a
 * series. Concurrency: one thread; every method is synchronous.
 */
import { Counter, Histogram } from 'prom-client';
import { API_REGISTRY, isApiKey } from '../client/protocol/index.js';

/** The counters of requests whose api key this broker does not serve. */
export const UNKNOWN_API_KEY = -1;

/**
 * Upper bounds, in seconds, of the request latency buckets: from half a millisecond (an in-memory
 * answer) to 10 s (beyond any fetch wait a client should ask for, but long polls can reach it).
 */
export const REQUEST_DURATION_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/**
 * Upper bounds, in seconds, of the fsync latency buckets: from 50 µs (a write cache that lies, or
 * tmpfs) through a good SSD's few hundred µs to a second (a disk in trouble).
 */
export const FSYNC_DURATION_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
]);

/**
 * The `group` label of the Raft counters: the metadata group, or every partition replica together
 * (a label per partition would multiply series by partitions for counters read as rates).
 */
export type RaftGroupKind = 'metadata' | 'partition';

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
}

interface ApiStats extends ApiCounters {
  readonly errorsByCode: Map<number, number>;
  /** The api's series of `requestDurations`, looked up once. */
  readonly durations: { observe(seconds: number): void };
}

/** The `api` label: the protocol's name for a served api key, `unknown` for the shared counter of the others. */
export function apiLabel(apiKey: number): string {
  return isApiKey(apiKey) ? API_REGISTRY[apiKey].name : 'unknown';
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
  /** Record batch bytes appended by produce requests and returned by fetches, per topic. */
  private readonly topicBytesIn = new Map<string, number>();
  private readonly topicBytesOut = new Map<string, number>();
  /** Handling time per api (label `api`, the protocol's name); observed by the connection handler. */
  readonly requestDurations = new Histogram<'api'>({
    name: 'strata_request_duration_seconds',
    help: 'Time from reading a request to its answer being ready, per api.',
    labelNames: ['api'],
    buckets: [...REQUEST_DURATION_BUCKETS_SECONDS],
    registers: [],
  });
  /** One fsync round of a partition log's group commit (data, indexes, directory). */
  readonly fsyncDurations = new Histogram({
    name: 'strata_log_fsync_duration_seconds',
    help: 'Time one group-commit fsync of a partition log took.',
    buckets: [...FSYNC_DURATION_BUCKETS_SECONDS],
    registers: [],
  });
  /** This replica started an election (became a candidate), per group kind. */
  readonly raftElectionsStarted = new Counter<'group'>({
    name: 'strata_raft_elections_started_total',
    help: 'Elections this broker started as a candidate (after a won pre-vote, or a leadership transfer).',
    labelNames: ['group'],
    registers: [],
  });
  /** This replica moved to a higher term. */
  readonly raftTermChanges = new Counter<'group'>({
    name: 'strata_raft_term_changes_total',
    help: 'Times a replica on this broker moved to a higher Raft term.',
    labelNames: ['group'],
    registers: [],
  });
  /** This replica learned of a new leader (itself included). */
  readonly raftLeaderChanges = new Counter<'group'>({
    name: 'strata_raft_leader_changes_total',
    help: 'Times a replica on this broker learned of a new leader (itself included).',
    labelNames: ['group'],
    registers: [],
  });
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
      counters = { requests: 0, errors: 0, totalTimeMs: 0, errorsByCode: new Map(), durations: this.requestDurations.labels({ api: apiLabel(apiKey) }) };
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

  recordProduced(topic: string, bytes: number): void {
    this.producedBytes += bytes;
    this.topicBytesIn.set(topic, (this.topicBytesIn.get(topic) ?? 0) + bytes);
  }

  recordFetched(topic: string, bytes: number): void {
    this.fetchedBytes += bytes;
    this.topicBytesOut.set(topic, (this.topicBytesOut.get(topic) ?? 0) + bytes);
  }

  /** Record batch bytes in and out per topic; a deleted topic's counts are dropped with `forgetTopic`. */
  topicBytes(): ReadonlyMap<string, { readonly in: number; readonly out: number }> {
    const topics = new Map<string, { in: number; out: number }>();
    for (const [topic, bytes] of this.topicBytesIn) topics.set(topic, { in: bytes, out: 0 });
    for (const [topic, bytes] of this.topicBytesOut) topics.set(topic, { in: topics.get(topic)?.in ?? 0, out: bytes });
    return topics;
  }

  /** A deleted topic's byte counts go with it (a topic created again under its name starts at zero). */
  forgetTopic(topic: string): void {
    this.topicBytesIn.delete(topic);
    this.topicBytesOut.delete(topic);
  }

  snapshot(): BrokerStatsSnapshot {
    const apis: Record<number, ApiStatsSnapshot> = {};
    for (const [key, counters] of this.apis) {
      apis[key] = {
        requests: counters.requests,
        errors: counters.errors,
        totalTimeMs: counters.totalTimeMs,
        errorsByCode: Object.fromEntries(counters.errorsByCode),
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
