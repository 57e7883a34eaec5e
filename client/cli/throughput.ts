/**
 * How the commands print amounts, durations and rates: `1.8 s`, `55,000 records/s`, `5.2 MB/s`.
 * MB is 10^6 bytes. Pure functions.
 */
const COUNT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatCount(n: number): string {
  return COUNT.format(n);
}

/** Seconds with two decimals under ten seconds, one above. */
export function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
}

/** `55,000 records/s` (0 when no time passed). */
export function formatRecordRate(records: number, ms: number): string {
  return `${formatCount(ms > 0 ? (records * 1000) / ms : 0)} records/s`;
}

/** `5.24 MB/s`. */
export function formatByteRate(bytes: number, ms: number): string {
  const mbPerSecond = ms > 0 ? bytes / 1e6 / (ms / 1000) : 0;
  return `${mbPerSecond.toFixed(mbPerSecond < 10 ? 2 : 1)} MB/s`;
}

/** `produced 100000 records to orders in 1.82 s (55,000 records/s)`. */
export function formatSummary(verb: string, records: number, preposition: string, topic: string, ms: number): string {
  return `${verb} ${records} record${records === 1 ? '' : 's'} ${preposition} ${topic} in ${formatSeconds(ms)} (${formatRecordRate(records, ms)})`;
}
