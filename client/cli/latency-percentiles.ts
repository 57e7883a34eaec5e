/**
 * Exact latency percentiles: every latency is kept (8 bytes each, in a Float64Array sized up front),
 * sorted once at the end, and a percentile is the nearest-rank value (the smallest latency that at
 * least p% of all are at or below). No histogram buckets, so no rounding. Pure functions.
 */
export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** Nearest-rank percentile of latencies sorted ascending; NaN for none. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Sorts `latencies` in place and summarises them. */
export function summarizeLatencies(latencies: Float64Array): LatencySummary {
  latencies.sort();
  let sum = 0;
  for (const latency of latencies) sum += latency;
  return {
    count: latencies.length,
    meanMs: latencies.length === 0 ? NaN : sum / latencies.length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    p999Ms: percentile(latencies, 99.9),
    maxMs: latencies.length === 0 ? NaN : latencies[latencies.length - 1]!,
  };
}

export function formatLatencies(summary: LatencySummary): string {
  const ms = (value: number) => (Number.isNaN(value) ? '-' : value < 10 ? value.toFixed(2) : value.toFixed(1));
  return `latency ms avg ${ms(summary.meanMs)} p50 ${ms(summary.p50Ms)} p99 ${ms(summary.p99Ms)} p99.9 ${ms(summary.p999Ms)} max ${ms(summary.maxMs)}`;
}
